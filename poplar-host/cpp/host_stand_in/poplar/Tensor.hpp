// poplar/Tensor.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_TENSOR_HPP
#define SNN_HOST_STAND_IN_TENSOR_HPP

#include <cstddef>

namespace poplar {

/// A tensor of a graph (a handle: copies refer to the same elements).
class Tensor {
public:
  Tensor();
  /// The same elements as one dimension, in row-major order.
  Tensor flatten() const;
  /// Elements [begin, end) of a one-dimensional tensor.
  Tensor slice(std::size_t begin, std::size_t end) const;
  std::size_t numElements() const;
};

} // namespace poplar

#endif
