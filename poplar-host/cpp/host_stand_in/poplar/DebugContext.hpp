// poplar/DebugContext.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_DEBUGCONTEXT_HPP
#define SNN_HOST_STAND_IN_DEBUGCONTEXT_HPP

#include <string>

namespace poplar {

/// A name for profiles and error messages.
class DebugContext {
public:
  DebugContext();
  DebugContext(const char *name);
  DebugContext(const std::string &name);
};

} // namespace poplar

#endif
