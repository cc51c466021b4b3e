//! `f64` as [`Real`]: used for finite-difference and dual-number checks.

use super::f32::impl_real_for_native_float;
use super::{Format, Real};

impl_real_for_native_float!(f64, u64, Format::BINARY64);
