// bridge.cpp -- part of snn-ipu (poplar-host/cpp/bridge/).
//
// The C entry point of the `poplar` cargo feature of snn-poplar-host: runs a
// graph description and its data (as snn_poplar_host::emit writes them) on an
// IPU or the IPUModel through graph_runner.hpp, and returns the outputs.
// Compiled by build.rs against the Poplar SDK only when the feature is on.

#include "../host/graph_runner.hpp"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

namespace {

char *copy_message(const std::string &m) {
  char *p = static_cast<char *>(std::malloc(m.size() + 1));
  if (p != nullptr)
    std::memcpy(p, m.c_str(), m.size() + 1);
  return p;
}

} // namespace

extern "C" {

/// Runs the description `text` (`text_len` bytes) with `data` (`data_len`
/// bytes) on the first free IPU (`use_model == 0`) or the IPUModel, with the
/// codelets of `codelets_path`. On success returns 0 and sets `*out` (freed
/// with snn_poplar_bridge_free) to the values of every `read` and `pop`
/// entry, in the description's order, and `*out_len`. On failure returns 1
/// and sets `*error` to a message (freed with snn_poplar_bridge_free).
int snn_poplar_bridge_run(const char *text, std::size_t text_len, const unsigned char *data,
                          std::size_t data_len, const char *codelets_path, int use_model,
                          unsigned char **out, std::size_t *out_len, char **error) {
  *out = nullptr;
  *out_len = 0;
  *error = nullptr;
  try {
    snn_runner::Description d = snn_runner::parse_description(std::string(text, text_len));
    std::vector<unsigned char> bytes(data, data + data_len);
    unsigned tiles = d.tiles_used();
    poplar::Device device = use_model != 0
                                ? snn_runner::ipu_model(std::max(tiles, std::min(d.tiles, 1472u)))
                                : snn_runner::attach_ipu(tiles);
    snn_runner::Outputs o = snn_runner::run(d, bytes, device, codelets_path);
    std::size_t total = 0;
    for (const auto &v : o.values)
      total += v.size();
    unsigned char *p = static_cast<unsigned char *>(std::malloc(total > 0 ? total : 1));
    if (p == nullptr) {
      *error = copy_message("out of memory for the outputs");
      return 1;
    }
    std::size_t at = 0;
    for (const auto &v : o.values) {
      if (!v.empty())
        std::memcpy(p + at, v.data(), v.size());
      at += v.size();
    }
    *out = p;
    *out_len = total;
    return 0;
  } catch (const std::exception &e) {
    *error = copy_message(e.what());
  } catch (...) {
    *error = copy_message("an unknown C++ exception");
  }
  return 1;
}

/// Frees what snn_poplar_bridge_run allocated.
void snn_poplar_bridge_free(void *p) { std::free(p); }

} // extern "C"
