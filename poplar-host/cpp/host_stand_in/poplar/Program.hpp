// poplar/Program.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_PROGRAM_HPP
#define SNN_HOST_STAND_IN_PROGRAM_HPP

#include <initializer_list>

#include <poplar/DebugContext.hpp>
#include <poplar/Graph.hpp>
#include <poplar/Tensor.hpp>

namespace poplar {
namespace program {

/// A control program (a handle; the classes below build one).
class Program {
public:
  Program();
  Program(const Program &other);
  Program &operator=(const Program &other);
};

/// Programs run one after the other.
class Sequence : public Program {
public:
  Sequence(const DebugContext &debugContext = {});
  Sequence(std::initializer_list<Program> programs, const DebugContext &debugContext = {});
  void add(const Program &p);
};

/// Runs every vertex of a compute set.
class Execute : public Program {
public:
  explicit Execute(ComputeSet cs, const DebugContext &debugContext = {});
};

/// Runs a program `count` times.
class Repeat : public Program {
public:
  Repeat(unsigned count, const Program &prog, const DebugContext &debugContext = {});
};

/// Copies between tensors, or between a tensor and a host stream.
class Copy : public Program {
public:
  Copy(const Tensor &src, const Tensor &dst, bool dontOutline = false,
       const DebugContext &debugContext = {});
  Copy(const DataStream &stream, const Tensor &dst, bool optimiseMemory = false,
       const DebugContext &debugContext = {});
  Copy(const Tensor &src, const DataStream &stream, bool optimiseMemory = false,
       const DebugContext &debugContext = {});
};

} // namespace program
} // namespace poplar

#endif
