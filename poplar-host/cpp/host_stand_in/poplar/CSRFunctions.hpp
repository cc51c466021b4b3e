// poplar/CSRFunctions.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_CSRFUNCTIONS_HPP
#define SNN_HOST_STAND_IN_CSRFUNCTIONS_HPP

#include <poplar/DebugContext.hpp>
#include <poplar/Graph.hpp>
#include <poplar/Program.hpp>

namespace poplar {

/// The floating-point control bits: exceptions on invalid operations
/// (`inv`), division by zero (`div0`) and overflow (`oflo`); stochastic
/// rounding (`esr`); NaN on overflow (`nanoo`, else f16 overflow saturates).
struct FloatingPointBehaviour {
  FloatingPointBehaviour(bool inv = true, bool div0 = true, bool oflo = true,
                         bool esr = false, bool nanoo = true);
  bool inv;
  bool div0;
  bool oflo;
  bool esr;
  bool nanoo;
};

/// Appends to `prog` the setting of every worker's floating-point control.
void setFloatingPointBehaviour(Graph &graph, program::Sequence &prog,
                               const FloatingPointBehaviour &behaviour,
                               const DebugContext &debugContext = {});

/// Appends to `prog` stochastic rounding switched on or off.
void setStochasticRounding(Graph &graph, program::Sequence &prog, bool behaviour,
                           const DebugContext &debugContext = {});

} // namespace poplar

#endif
