// poplar/Vertex.hpp -- HOST STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code. It lets the
// codelet C++ that snn-codelet-gen writes compile unchanged with g++ on a CPU
// (popc uses the real header from the Poplar SDK; the host build puts
// poplar-host/cpp/stand_in on the include path instead). It provides only
// what the generated code uses, with these semantics:
//
//   * `poplar::Vertex`: an empty base class for single-worker vertices.
//   * `poplar::MultiVertex`: an empty base class for vertices whose
//     `bool compute(unsigned workerId)` runs once per worker and returns
//     true; `numWorkers()` is 6, the worker contexts of a GC200/Bow tile.
//     The stand-in does not run anything itself: a host harness calls
//     `compute(w)` for every `w` in `0 .. numWorkers()`, in any order, and
//     the vertex must give the same result for every order.
//   * `poplar::VectorLayout::SPAN` (pointer and size) and `ONE_PTR` (pointer
//     only: the count is passed as a plain member).
//   * Fields `poplar::Input<poplar::Vector<T, L, Align>>`,
//     `poplar::Output<...>` and `poplar::InOut<...>` (`Align`, in bytes,
//     defaults to `alignof(T)` as in Poplar): `f[i]` with an unsigned index
//     gives `const T&` for Input and `T&` for Output and InOut; `f.size()`
//     (an `unsigned`, as size_t is 32 bits on the IPU) exists for SPAN only.
//     Fields are default-constructible, trivially destructible and never
//     allocate. Scalar fields (`Input<float>`) are not provided.
//
// Stand-in extensions, not in Poplar:
//   * `f.bind(data, size)` points a field at `size` elements of host memory
//     (`const T*` for Input, `T*` for Output and InOut); on the IPU, Poplar
//     connects fields to tensors instead. A host harness binds every field
//     before calling compute. The stand-in remembers the size for ONE_PTR
//     fields too, only to check indices: unless NDEBUG is defined, indexing
//     an unbound field or past the bound size fails an assert. (The Rust
//     side checks every length before it calls a vertex, so these asserts
//     are a second line of defence.) The alignment is not checked: host
//     memory is only aligned to its element type.
//   * `poplar::stand_in::write_log` and `current_worker` (thread-local):
//     when a harness sets `write_log`, every element access of an Output or
//     InOut field is reported to it with the worker that made it, which is
//     how the worker-overlap check finds two workers writing halves of one
//     32-bit word (a race on the IPU, where a 16-bit store is a
//     read-modify-write of its word).
//
// Host builds must compute with IEEE semantics per operation (no fast-math,
// no excess precision; the build also passes -ffp-contract=off so that
// `a * b + c` is never fused), which the checks below enforce.

#ifndef SNN_POPLAR_STAND_IN_VERTEX_HPP
#define SNN_POPLAR_STAND_IN_VERTEX_HPP

#if defined(__IPU__) || defined(__POPC__)
#error "poplar/Vertex.hpp: this is snn-ipu's HOST stand-in; IPU builds must use the Poplar SDK's header"
#endif

#if defined(__FAST_MATH__)
#error "poplar/Vertex.hpp (host stand-in): compiled with -ffast-math; host codelets must obey IEEE per operation (use -fno-fast-math -ffp-contract=off)"
#endif

#if defined(__FLT_EVAL_METHOD__) && __FLT_EVAL_METHOD__ != 0
#error "poplar/Vertex.hpp (host stand-in): float expressions are evaluated with excess precision (FLT_EVAL_METHOD != 0, e.g. x87); host codelets must round every float operation to binary32"
#endif

#include <cassert>
#include <cstddef>
#include <limits>

namespace poplar {

class Vertex {};

class MultiVertex {
 public:
  static constexpr unsigned numWorkers() { return 6; }
};

enum class VectorLayout { SPAN, ONE_PTR };

// Only a tag naming the element type, layout and alignment (bytes) of a
// field: it is never instantiated on its own.
template <typename T, VectorLayout L = VectorLayout::SPAN, unsigned Align = alignof(T)>
class Vector;

namespace stand_in {

// Receives the writes of Output and InOut fields (stand-in extension).
class WriteLog {
 public:
  // `bytes` bytes at `byte_offset` from the field's first element `base`.
  virtual void write(const void* base, std::size_t byte_offset, std::size_t bytes) = 0;

 protected:
  ~WriteLog() = default;
};

// Where writes are reported; null (the default) reports nothing.
inline thread_local WriteLog* write_log = nullptr;
// The worker the harness is running.
inline thread_local unsigned current_worker = 0;

}  // namespace stand_in

namespace stand_in_detail {

template <typename F>
struct Unsupported {
  static constexpr bool value = false;
};

// Pointer and count shared by every field; `Elem` is `const T` for Input.
template <typename Elem>
class FieldStorage {
 public:
  // Stand-in extension (see the header comment): point the field at `size`
  // elements at `data`.
  void bind(Elem* data, std::size_t size) noexcept {
    assert(size <= std::numeric_limits<unsigned>::max());
    assert(data != nullptr || size == 0);
    data_ = data;
    count_ = static_cast<unsigned>(size);
  }

 protected:
  Elem& at(unsigned i) const noexcept {
    assert(i < count_);
    return data_[i];
  }

  // An element the vertex may write: reported to the write log, if any.
  Elem& at_for_write(unsigned i) const noexcept {
    assert(i < count_);
    if (stand_in::write_log != nullptr) {
      stand_in::write_log->write(data_, static_cast<std::size_t>(i) * sizeof(Elem), sizeof(Elem));
    }
    return data_[i];
  }

  Elem* data_ = nullptr;
  unsigned count_ = 0;
};

// ONE_PTR: no size().
template <typename Elem, VectorLayout L>
class Field : public FieldStorage<Elem> {};

// SPAN: size() is the bound count.
template <typename Elem>
class Field<Elem, VectorLayout::SPAN> : public FieldStorage<Elem> {
 public:
  unsigned size() const noexcept { return this->count_; }
};

}  // namespace stand_in_detail

template <typename F>
class Input {
  static_assert(stand_in_detail::Unsupported<F>::value,
                "host stand-in: only Input<Vector<T, L>> fields are provided");
};

template <typename F>
class Output {
  static_assert(stand_in_detail::Unsupported<F>::value,
                "host stand-in: only Output<Vector<T, L>> fields are provided");
};

template <typename F>
class InOut {
  static_assert(stand_in_detail::Unsupported<F>::value,
                "host stand-in: only InOut<Vector<T, L>> fields are provided");
};

// Read only: never written by the vertex.
template <typename T, VectorLayout L, unsigned Align>
class Input<Vector<T, L, Align>> : public stand_in_detail::Field<const T, L> {
 public:
  const T& operator[](unsigned i) const noexcept { return this->at(i); }
};

// Written by the vertex; reading an element it has not written is a bug.
template <typename T, VectorLayout L, unsigned Align>
class Output<Vector<T, L, Align>> : public stand_in_detail::Field<T, L> {
 public:
  T& operator[](unsigned i) const noexcept { return this->at_for_write(i); }
};

// Read and written by the vertex (every access counts as a write for the
// write log).
template <typename T, VectorLayout L, unsigned Align>
class InOut<Vector<T, L, Align>> : public stand_in_detail::Field<T, L> {
 public:
  T& operator[](unsigned i) const noexcept { return this->at_for_write(i); }
};

}  // namespace poplar

#endif  // SNN_POPLAR_STAND_IN_VERTEX_HPP
