//! [`F16Storage`]: binary16 storage, binary32 arithmetic (the second
//! half-precision mode, `docs/semantics.md`, "f16-storage").

use core::fmt;
use core::ops::{Add, Div, Mul, Neg, Sub};

use super::{Format, Real, F16};

/// A binary16 value whose layer passes compute in binary32.
///
/// Stored exactly as [`F16`] (a `#[repr(transparent)]` wrapper around
/// [`half::f16`]; slices convert with `bytemuck::cast_slice` or
/// [`F16Storage::from_half_slice`]), but its [`Real::Lane`] is `f32`: the
/// fused passes and the single-step API load every stored value exactly
/// into an `f32`, compute a whole time step in binary32 (every operation
/// rounded to binary32, as `f32` computes it), and round to binary16 once
/// when a value is stored: states, spikes, input and initial-state
/// gradients, and the values that cross from one step to the next in the
/// backward pass (see [`Real::store_lane`]). The rounding is
/// [`F16::from_f32`]'s: to nearest even, finite overflow saturating to
/// ±65504, infinities kept, NaN quiet.
///
/// Its own operators (`+ - * /` on `F16Storage` values, used only outside
/// the passes, for example by the parameter checks of
/// [`Layer::new`](crate::layer::Layer::new)) are [`F16`]'s: the `f32`
/// operation rounded once to binary16.
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct F16Storage(pub half::f16);

impl F16Storage {
    /// The largest finite value, 65504.
    pub const MAX: F16Storage = F16Storage(half::f16::MAX);
    /// Zero.
    pub const ZERO: F16Storage = F16Storage(half::f16::ZERO);
    /// One.
    pub const ONE: F16Storage = F16Storage(half::f16::ONE);

    /// `x` rounded to binary16 as [`F16::from_f32`] rounds it (nearest even,
    /// finite overflow saturating to ±65504).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn from_f32(x: f32) -> F16Storage {
        F16Storage::from(F16::from_f32(x))
    }

    /// `x` rounded directly to binary16, as [`F16::from_f64`].
    #[inline]
    pub fn from_f64(x: f64) -> F16Storage {
        F16Storage::from(F16::from_f64(x))
    }

    /// The exact `f32` value.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn to_f32(self) -> f32 {
        F16::from(self).to_f32()
    }

    /// The exact `f64` value.
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0.to_f64()
    }

    /// The raw bits.
    #[inline]
    pub const fn to_bits(self) -> u16 {
        self.0.to_bits()
    }

    /// The value with these bits.
    #[inline]
    pub const fn from_bits(bits: u16) -> F16Storage {
        F16Storage(half::f16::from_bits(bits))
    }

    /// True for NaN.
    #[inline]
    pub fn is_nan(self) -> bool {
        self.0.is_nan()
    }

    /// Views `half::f16` values as `F16Storage` (no copy).
    pub fn from_half_slice(values: &[half::f16]) -> &[F16Storage] {
        bytemuck::cast_slice(values)
    }

    /// Views `half::f16` values as `F16Storage`, mutably (no copy).
    pub fn from_half_slice_mut(values: &mut [half::f16]) -> &mut [F16Storage] {
        bytemuck::cast_slice_mut(values)
    }

    /// Views `F16Storage` values as `half::f16` (no copy).
    pub fn as_half_slice(values: &[F16Storage]) -> &[half::f16] {
        bytemuck::cast_slice(values)
    }
}

impl From<F16> for F16Storage {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from(value: F16) -> F16Storage {
        F16Storage(value.0)
    }
}

impl From<F16Storage> for F16 {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from(value: F16Storage) -> F16 {
        F16(value.0)
    }
}

macro_rules! binary_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for F16Storage {
            type Output = F16Storage;
            /// [`F16`]'s operation: the `f32` result rounded once to
            /// binary16 (used outside the passes only).
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn $method(self, rhs: F16Storage) -> F16Storage {
                F16Storage::from_f32(self.to_f32() $op rhs.to_f32())
            }
        }
    };
}
binary_op!(Add, add, +);
binary_op!(Sub, sub, -);
binary_op!(Mul, mul, *);
binary_op!(Div, div, /);

impl Neg for F16Storage {
    type Output = F16Storage;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn neg(self) -> F16Storage {
        F16Storage::from_bits(self.to_bits() ^ 0x8000)
    }
}

impl PartialEq for F16Storage {
    /// IEEE equality (`NaN != NaN`, `+0 == -0`).
    fn eq(&self, other: &F16Storage) -> bool {
        self.0 == other.0
    }
}

impl PartialOrd for F16Storage {
    fn partial_cmp(&self, other: &F16Storage) -> Option<core::cmp::Ordering> {
        self.0.partial_cmp(&other.0)
    }
}

impl fmt::Debug for F16Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for F16Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<half::f16> for F16Storage {
    fn from(value: half::f16) -> F16Storage {
        F16Storage(value)
    }
}

impl From<F16Storage> for half::f16 {
    fn from(value: F16Storage) -> half::f16 {
        value.0
    }
}

impl From<F16Storage> for f32 {
    fn from(value: F16Storage) -> f32 {
        value.to_f32()
    }
}

impl From<F16Storage> for f64 {
    fn from(value: F16Storage) -> f64 {
        value.to_f64()
    }
}

impl Real for F16Storage {
    type Mask = bool;
    type Bits = u16;
    type Wide = f32;
    type Lane = f32;
    const FORMAT: Format = Format::BINARY16;
    // the stored binary16 states are not the binary32 values a step computed
    const STORES_EXACT_STEP_RESULTS: bool = false;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn constant(c: f64) -> Self {
        F16Storage::from_f64(c)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lt(self, other: Self) -> bool {
        self.to_f32() < other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn le(self, other: Self) -> bool {
        self.to_f32() <= other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn gt(self, other: Self) -> bool {
        self.to_f32() > other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn ge(self, other: Self) -> bool {
        self.to_f32() >= other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn eq(self, other: Self) -> bool {
        self.to_f32() == other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn select(mask: bool, a: Self, b: Self) -> Self {
        if mask {
            a
        } else {
            b
        }
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn to_bits(self) -> u16 {
        F16Storage::to_bits(self)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_bits(bits: u16) -> Self {
        F16Storage::from_bits(bits)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn narrow(wide: f32) -> Self {
        F16Storage::from_f32(wide)
    }
    /// Exact.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn to_lane(self) -> f32 {
        self.to_f32()
    }
    /// The one rounding to binary16 of this mode (nearest even, finite
    /// overflow saturating to ±65504).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_lane(lane: f32) -> Self {
        F16Storage::from_f32(lane)
    }
    /// `lane` rounded to binary16 and kept as an `f32` (the branch-free
    /// rounding the passes use; the same value as [`F16::from_f32`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn store_lane(lane: f32) -> f32 {
        super::round_to_binary16(lane)
    }
    /// Compiled for several instruction sets (see `layer::simd`): every
    /// load and store converts between binary16 and binary32.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn specialize_fused<M: crate::model::Model, R: crate::model::Specialized>(
        model: M,
        run: R,
    ) -> R::Output {
        crate::layer::specialize_for_cpu(model, run)
    }
}
