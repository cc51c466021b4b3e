// Exercises the host stand-in for Poplar's vertex API (cpp/stand_in/poplar)
// the way generated codelets use it, and exposes extern "C" entry points for
// the Rust tests in poplar-host/tests/stand_in.rs. Compiled by build.rs with
// the same flags as generated codelets.

#include <poplar/HalfFloat.hpp>
#include <poplar/Vertex.hpp>

#include <type_traits>
#include <utility>

// ---- compile-time checks of the stand-in's contract -----------------------

namespace snn_check {

template <typename T, typename = void>
struct HasSize : std::false_type {};
template <typename T>
struct HasSize<T, std::void_t<decltype(std::declval<const T&>().size())>> : std::true_type {};

template <typename T, typename = void>
struct HasPlus : std::false_type {};
template <typename T>
struct HasPlus<T, std::void_t<decltype(std::declval<T>() + std::declval<T>())>> : std::true_type {};

using poplar::VectorLayout;
using SpanIn = poplar::Input<poplar::Vector<float>>;
using OnePtrIn = poplar::Input<poplar::Vector<float, VectorLayout::ONE_PTR>>;
using SpanOut = poplar::Output<poplar::Vector<half, VectorLayout::SPAN>>;
using OnePtrInOut = poplar::InOut<poplar::Vector<unsigned, VectorLayout::ONE_PTR>>;

static_assert(HasSize<SpanIn>::value && HasSize<SpanOut>::value, "SPAN fields have size()");
static_assert(!HasSize<OnePtrIn>::value && !HasSize<OnePtrInOut>::value,
              "ONE_PTR fields have no size()");
static_assert(std::is_same<decltype(std::declval<SpanIn&>()[0u]), const float&>::value,
              "Input gives const T&");
static_assert(std::is_same<decltype(std::declval<SpanOut&>()[0u]), half&>::value,
              "Output gives T&");
static_assert(std::is_same<decltype(std::declval<OnePtrInOut&>()[0u]), unsigned&>::value,
              "InOut gives T&");
static_assert(std::is_nothrow_default_constructible<SpanIn>::value &&
                  std::is_trivially_destructible<SpanIn>::value &&
                  std::is_trivially_destructible<OnePtrInOut>::value,
              "fields are default-constructible and own nothing");
static_assert(poplar::MultiVertex::numWorkers() == 6, "six workers per tile");

static_assert(sizeof(half) == 2 && std::is_trivially_copyable<half>::value, "half is 2 bytes");
static_assert(std::is_constructible<half, float>::value, "half from float");
static_assert(std::is_convertible<float, half>::value, "implicitly");
static_assert(!std::is_constructible<half, double>::value, "no half from double");
static_assert(std::is_constructible<float, half>::value, "float(h)");
static_assert(!std::is_convertible<half, float>::value, "only explicitly");
static_assert(!HasPlus<half>::value, "no arithmetic on half");

// ---- a MultiVertex as generated code writes one ---------------------------

// out[i] = in[i] * k, and counts how often each element was visited.
// Worker w takes the w-th of numWorkers() contiguous chunks.
class ScaleVertex : public poplar::MultiVertex {
 public:
  poplar::Input<poplar::Vector<float>> in;
  poplar::Output<poplar::Vector<float, poplar::VectorLayout::ONE_PTR>> out;
  poplar::InOut<poplar::Vector<unsigned, poplar::VectorLayout::ONE_PTR>> visits;
  float k;

  bool compute(unsigned workerId) {
    const unsigned n = in.size();
    const unsigned chunk = (n + numWorkers() - 1) / numWorkers();
    const unsigned begin = workerId * chunk < n ? workerId * chunk : n;
    const unsigned end = n - begin < chunk ? n : begin + chunk;
    for (unsigned i = begin; i < end; ++i) {
      out[i] = in[i] * k;
      visits[i] = visits[i] + 1u;
    }
    return true;
  }
};

// The same over binary16, one rounding per operation as generated code does.
class ScaleHalfVertex : public poplar::MultiVertex {
 public:
  poplar::Input<poplar::Vector<half, poplar::VectorLayout::ONE_PTR>> in;
  poplar::Output<poplar::Vector<half>> out;
  float k;

  bool compute(unsigned workerId) {
    const unsigned n = out.size();
    for (unsigned i = workerId; i < n; i += numWorkers()) {
      out[i] = half(float(in[i]) * k);
    }
    return true;
  }
};

}  // namespace snn_check

// ---- entry points for the Rust tests --------------------------------------

extern "C" unsigned short snn_stand_in_half_from_float(float x) {
  return __builtin_bit_cast(unsigned short, half(x));
}

extern "C" float snn_stand_in_float_from_half(unsigned short bits) {
  return float(__builtin_bit_cast(half, bits));
}

// a * b + c written as one expression, so that a compiler allowed to contract
// (-ffp-contract=fast, the GCC default) would fuse it. The function may use
// FMA instructions on x86-64 so that such a contraction is possible, and
// therefore detectable, whatever -march the build has.
#if defined(__x86_64__) && defined(__GNUC__)
#define SNN_CHECK_MAY_USE_FMA __attribute__((target("fma")))
#else
#define SNN_CHECK_MAY_USE_FMA
#endif
extern "C" SNN_CHECK_MAY_USE_FMA float snn_stand_in_mul_add(float a, float b, float c) {
  return a * b + c;
}

extern "C" void snn_stand_in_scale(const float* in, float* out, unsigned* visits, unsigned n,
                                   float k) {
  snn_check::ScaleVertex vertex;
  vertex.in.bind(in, n);
  vertex.out.bind(out, n);
  vertex.visits.bind(visits, n);
  vertex.k = k;
  for (unsigned worker = 0; worker < snn_check::ScaleVertex::numWorkers(); ++worker) {
    if (!vertex.compute(worker)) return;
  }
}

// `in` and `out` hold binary16 bits. Binding them as half is how a host
// harness passes f16 tensors: half is exactly those 2 bytes.
extern "C" void snn_stand_in_scale_half(const unsigned short* in, unsigned short* out, unsigned n,
                                        float k) {
  snn_check::ScaleHalfVertex vertex;
  vertex.in.bind(reinterpret_cast<const half*>(in), n);
  vertex.out.bind(reinterpret_cast<half*>(out), n);
  vertex.k = k;
  // Workers in reverse order: the result must not depend on the order.
  for (unsigned worker = snn_check::ScaleHalfVertex::numWorkers(); worker-- > 0;) {
    if (!vertex.compute(worker)) return;
  }
}
