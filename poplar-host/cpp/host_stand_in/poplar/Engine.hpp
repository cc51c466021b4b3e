// poplar/Engine.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_ENGINE_HPP
#define SNN_HOST_STAND_IN_ENGINE_HPP

#include <poplar/Device.hpp>
#include <poplar/Graph.hpp>
#include <poplar/OptionFlags.hpp>
#include <poplar/Program.hpp>
#include <poplar/StringRef.hpp>

namespace poplar {

/// A graph and program compiled for a device.
class Engine {
public:
  Engine(const Graph &graph, const program::Program &prog, const OptionFlags &options = {});
  ~Engine();
  void load(const Device &device);
  /// Connects a host stream to the host buffer [begin, end), used as a
  /// circular buffer: each copy takes (or gives) the next values.
  void connectStream(StringRef handle, void *begin, void *end);
  void writeTensor(StringRef handle, const void *buf, const void *bufEnd);
  void readTensor(StringRef handle, void *buf, void *bufEnd);
  void run(unsigned prog = 0);
};

} // namespace poplar

#endif
