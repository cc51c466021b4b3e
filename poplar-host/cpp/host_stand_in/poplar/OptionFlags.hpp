// poplar/OptionFlags.hpp -- HOST-API STAND-IN written by the snn-ipu project.
//
// This is NOT Graphcore's header and contains none of its code: it declares,
// in the project's own words, only the Poplar host API that
// poplar-host/cpp/host/graph_runner.hpp and cpp/bridge/bridge.cpp call, with
// the signatures the project expects from the Poplar SDK (3.x), so that a
// test can check that C++ with `-fsyntax-only` on a machine without the
// SDK. Declarations only: nothing here can be linked or run. On a machine
// with the SDK, its own headers are used instead (see docs/poplar.md).

#ifndef SNN_HOST_STAND_IN_OPTIONFLAGS_HPP
#define SNN_HOST_STAND_IN_OPTIONFLAGS_HPP

#include <initializer_list>
#include <string>
#include <utility>

#include <poplar/StringRef.hpp>

namespace poplar {

/// Option names and values for engines and devices.
class OptionFlags {
public:
  OptionFlags();
  OptionFlags(std::initializer_list<std::pair<const std::string, std::string>> options);
  void set(StringRef option, StringRef value);
};

} // namespace poplar

#endif
