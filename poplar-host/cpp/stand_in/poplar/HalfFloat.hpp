// poplar/HalfFloat.hpp -- HOST STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code. It lets the
// codelet C++ that snn-codelet-gen writes compile unchanged with g++ on a CPU
// (popc uses the real header from the Poplar SDK; the host build puts
// poplar-host/cpp/stand_in on the include path instead). It provides only
// what the generated code uses:
//
//   * `half`, in the global namespace as in Poplar: a trivially copyable
//     2-byte type holding IEEE binary16 bits, so that
//     `__builtin_bit_cast(unsigned short, h)` and
//     `__builtin_bit_cast(half, (unsigned short)b)` work.
//   * `half(float)` (implicit): rounds to nearest, ties to even; binary16
//     subnormals are kept (gradual underflow); a finite value whose rounded
//     magnitude exceeds 65504 SATURATES to +-65504, as the IPU does by
//     default; +-infinity stays +-infinity; NaN gives a quiet NaN with the
//     same sign (payload: the top 10 bits of the float's payload). This is
//     bit for bit `snn_kernels::F16::narrow(f32)` (NaN payloads aside).
//   * `float(h)` (explicit): the exact value.
//   * `half(double)` is deleted, so an accidental double promotion in
//     generated code fails to compile.
//
// Deliberately absent: arithmetic and comparison operators, and an implicit
// conversion to float. Generated code writes every f16 operation as
// `half(float(a) + float(b))`, one binary16 rounding per operation; the
// stand-in makes any other form a compile error instead of silently computing
// in float. Literals such as `1.5_h` are not provided either.
//
// The conversions use integer operations on the bits only, so they do not
// depend on the host's rounding mode, flush-to-zero setting or excess
// precision.

#ifndef SNN_POPLAR_STAND_IN_HALF_FLOAT_HPP
#define SNN_POPLAR_STAND_IN_HALF_FLOAT_HPP

#if defined(__IPU__) || defined(__POPC__)
#error "poplar/HalfFloat.hpp: this is snn-ipu's HOST stand-in; IPU builds must use the Poplar SDK's header"
#endif

#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace snn_stand_in_detail {

static_assert(std::numeric_limits<float>::is_iec559 && sizeof(float) == 4,
              "the half stand-in needs float to be IEEE binary32");

inline std::uint32_t float_bits(float value) noexcept {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float float_from_bits(std::uint32_t bits) noexcept {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// binary32 -> binary16: nearest, ties to even; finite overflow saturates.
inline std::uint16_t half_bits_from_float(float value) noexcept {
  const std::uint32_t bits = float_bits(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  const std::uint32_t exponent = magnitude >> 23;  // biased, 0..255
  std::uint32_t result;
  if (exponent == 0xffu) {
    // Infinity stays infinity; NaN becomes quiet, keeping the payload's top.
    result = (magnitude == 0x7f800000u) ? 0x7c00u : (0x7e00u | ((magnitude >> 13) & 0x3ffu));
  } else if (exponent >= 127u - 14u) {
    // Normal binary16 range (|x| >= 2^-14): rebias 127 -> 15 and drop 13
    // fraction bits, rounding to nearest even. Adding 0xfff plus the lowest
    // kept bit rounds; a carry out of the fraction moves into the exponent.
    const std::uint32_t lowest_kept = (magnitude >> 13) & 1u;
    result = (magnitude - ((127u - 15u) << 23) + 0xfffu + lowest_kept) >> 13;
    if (result > 0x7bffu) {
      result = 0x7bffu;  // beyond 65504 after rounding: saturate
    }
  } else if (exponent == 0u) {
    result = 0u;  // zero or a binary32 subnormal (< 2^-126): rounds to zero
  } else {
    // Subnormal binary16 result: the value is significand * 2^(exponent-150)
    // and the binary16 quantum is 2^-24, so the quantum count is the 24-bit
    // significand shifted right by 126 - exponent (at least 14), rounded.
    const std::uint32_t significand = (magnitude & 0x7fffffu) | 0x800000u;
    const std::uint32_t shift = 126u - exponent;
    if (shift > 24u) {
      result = 0u;  // below half the smallest subnormal
    } else {
      const std::uint32_t kept = significand >> shift;
      const std::uint32_t dropped = significand & ((1u << shift) - 1u);
      const std::uint32_t halfway = 1u << (shift - 1u);
      const bool round_up = dropped > halfway || (dropped == halfway && (kept & 1u) != 0u);
      // A carry into 0x400 is the smallest normal, as it should be.
      result = kept + (round_up ? 1u : 0u);
    }
  }
  return static_cast<std::uint16_t>(sign | result);
}

// binary16 -> binary32, exact.
inline float float_from_half_bits(std::uint16_t half_bits) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(half_bits & 0x8000u) << 16;
  const std::uint32_t exponent = (half_bits >> 10) & 0x1fu;
  std::uint32_t fraction = half_bits & 0x3ffu;
  std::uint32_t bits;
  if (exponent == 0x1fu) {
    bits = 0x7f800000u | (fraction << 13);  // infinity, or NaN with its payload
  } else if (exponent != 0u) {
    bits = ((exponent + (127u - 15u)) << 23) | (fraction << 13);
  } else if (fraction == 0u) {
    bits = 0u;
  } else {
    // Subnormal: fraction * 2^-24. Normalise until the leading one reaches
    // bit 10 (the implicit bit), lowering the exponent once per shift.
    std::uint32_t biased = 127u - 14u;
    while ((fraction & 0x400u) == 0u) {
      fraction <<= 1;
      --biased;
    }
    bits = (biased << 23) | ((fraction & 0x3ffu) << 13);
  }
  return float_from_bits(sign | bits);
}

}  // namespace snn_stand_in_detail

class half {
 public:
  // Trivial, like a built-in scalar: a default-constructed half is
  // uninitialised. Copies are trivial too (the type is trivially copyable).
  half() = default;

  // Rounds once to binary16 (see the header comment).
  half(float value) noexcept : bits_(snn_stand_in_detail::half_bits_from_float(value)) {}

  // Generated code never converts from double: a double here means an
  // unsuffixed literal or a promotion slipped in.
  half(double) = delete;
  half(long double) = delete;

  // The exact value.
  explicit operator float() const noexcept {
    return snn_stand_in_detail::float_from_half_bits(bits_);
  }

 private:
  std::uint16_t bits_;
};

static_assert(sizeof(half) == 2, "half must be exactly the binary16 bits");
static_assert(std::is_trivially_copyable<half>::value, "half must be trivially copyable");
static_assert(std::is_trivially_default_constructible<half>::value, "half must be trivial");

#endif  // SNN_POPLAR_STAND_IN_HALF_FLOAT_HPP
