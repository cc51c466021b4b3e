// poplar/Graph.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_GRAPH_HPP
#define SNN_HOST_STAND_IN_GRAPH_HPP

#include <cstddef>

#include <poplar/ArrayRef.hpp>
#include <poplar/DebugContext.hpp>
#include <poplar/OptionFlags.hpp>
#include <poplar/StringRef.hpp>
#include <poplar/Target.hpp>
#include <poplar/Tensor.hpp>
#include <poplar/Type.hpp>

namespace poplar {

/// A set of vertices that run together.
class ComputeSet {
public:
  ComputeSet(const ComputeSet &other);
};

/// A field or member of a vertex instance.
class FieldRef {
public:
  FieldRef(const FieldRef &other);
};

/// A vertex instance.
class VertexRef {
public:
  VertexRef(const VertexRef &other);
  FieldRef operator[](StringRef name) const;
};

/// A host stream.
class DataStream {
public:
  DataStream(const DataStream &other);
};

enum class CodeletFileType { PreprocessedAsmSource, AsmSource, PreprocessedCSource, CSource,
                             PreprocessedCppSource, CppSource, IntermediateRepresentation,
                             Object, Auto };

/// The graph of one program: tensors, their tile mapping, compute sets.
class Graph {
public:
  explicit Graph(const Target &target);
  const Target &getTarget() const;
  /// Adds codelets from a source or compiled (.gp) file.
  bool addCodelets(StringRef src, CodeletFileType type = CodeletFileType::Auto,
                   StringRef compileFlags = "", StringRef targetName = "");
  Tensor addVariable(const Type &type, ArrayRef<std::size_t> shape,
                     const DebugContext &debugContext = {});
  void setTileMapping(const Tensor &t, unsigned tileNum);
  void setTileMapping(VertexRef v, unsigned tileNum);
  ComputeSet addComputeSet(const DebugContext &debugContext = {});
  VertexRef addVertex(ComputeSet cs, StringRef vertexType);
  void connect(FieldRef field, const Tensor &tensor);
  /// A member's value; its C++ type must be the member's.
  template <typename T> void setInitialValue(const FieldRef &field, T value);
  DataStream addHostToDeviceFIFO(StringRef handle, const Type &elementType,
                                 std::size_t numElements);
  DataStream addDeviceToHostFIFO(StringRef handle, const Type &elementType,
                                 std::size_t numElements, const OptionFlags &options = {});
  /// Lets Engine::writeTensor(handle, ...) write the tensor.
  void createHostWrite(StringRef handle, const Tensor &t, bool rearrangeOnHost = false);
  /// Lets Engine::readTensor(handle, ...) read the tensor.
  void createHostRead(StringRef handle, const Tensor &t, bool rearrangeOnHost = false);
};

} // namespace poplar

#endif
