// poplar/IPUModel.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_IPUMODEL_HPP
#define SNN_HOST_STAND_IN_IPUMODEL_HPP

#include <poplar/Device.hpp>

namespace poplar {

/// Graphcore's simulator of an IPU, run on the host CPU.
class IPUModel {
public:
  explicit IPUModel(const char *ipuVersion = "ipu2");
  unsigned numIPUs;
  unsigned tilesPerIPU;
  Device createDevice() const;
};

} // namespace poplar

#endif
