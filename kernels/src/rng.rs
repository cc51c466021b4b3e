//! A counter-based random stream: the same numbers on every backend.
//!
//! `u(seed, step, element)` is a pure function of three 32-bit counters,
//! computed with wrapping 32-bit integer arithmetic only, so the native
//! kernels, the generated C++ and the IPU draw identical numbers without
//! sharing any generator state. The mixer is a 32-bit integer hash
//! (xor-shift / multiply, constants `0x7feb352d`, `0x846ca68b`) applied once
//! per counter.

use crate::real::{Real, Word};

/// The 32-bit mixer: `x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15;
/// x *= 0x846ca68b; x ^= x >> 16` (modulo 2^32).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn mix32<W: Word>(x: W) -> W {
    let low32 = W::lit(0xffff_ffff);
    let x = x ^ (x >> 16);
    let x = x.wrapping_mul(W::lit(0x7feb_352d)) & low32;
    let x = x ^ (x >> 15);
    let x = x.wrapping_mul(W::lit(0x846c_a68b)) & low32;
    x ^ (x >> 16)
}

/// 32 random bits for `(seed, step, element)`, in the low half of `W`.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn random_bits<W: Word>(seed: W, step: W, element: W) -> W {
    let low32 = W::lit(0xffff_ffff);
    let h = mix32(seed.wrapping_add(W::lit(0x9e37_79b9)) & low32);
    let h = mix32(h ^ step);
    mix32(h ^ element)
}

/// A number uniform in `[0, 1)` for `(seed, step, element)`, with
/// `min(fraction bits of T, 23)` random bits, so that it is exact in `T`
/// and the same value in `f32` and `f64`.
///
/// Built without integer-to-float conversion: the random bits fill the
/// fraction of a float in `[1, 2)`, then `1` is subtracted (exact).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn uniform_from_counters<T: Real>(
    seed: <T::Wide as Real>::Bits,
    step: <T::Wide as Real>::Bits,
    element: <T::Wide as Real>::Bits,
) -> T {
    let bits = random_bits(seed, step, element);
    let random = T::FORMAT.fraction_bits.min(23);
    let wide_fraction = <T::Wide as Real>::FORMAT.fraction_bits;
    let one = <T::Wide as Real>::Bits::lit(<T::Wide as Real>::FORMAT.one_bits());
    let in_one_two =
        <T::Wide as Real>::from_bits(one | ((bits >> (32 - random)) << (wide_fraction - random)));
    T::narrow(in_one_two - <T::Wide as Real>::one())
}

/// [`uniform_from_counters`] for plain integer counters.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn uniform<T: Real>(seed: u32, step: u32, element: u32) -> T {
    type Bits<T> = <<T as Real>::Wide as Real>::Bits;
    uniform_from_counters::<T>(
        Bits::<T>::lit(seed as u64),
        Bits::<T>::lit(step as u64),
        Bits::<T>::lit(element as u64),
    )
}
