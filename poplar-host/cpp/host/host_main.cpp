// host.cpp -- written by snn-ipu's emit-poplar (poplar-host/cpp/host/host_main.cpp).
//
// Builds the graph of graph.txt through the Poplar host API, runs it on the
// first IPU with enough tiles (or, with --model, on Graphcore's IPUModel),
// and compares every output with the values data.bin expects, which were
// computed by snn-ipu on the machine that emitted this directory.
//
//   ./host [--model] [--dir DIR] [--codelets FILE] [--ulps N]
//
// Exit code: 0 when every output agrees (bit for bit, or within N ulps with
// --ulps; NaNs of any payload agree), 1 when one differs, 2 when the run
// could not be made (bad arguments or files, no device, a Poplar error).

#include "graph_runner.hpp"

#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <iterator>

namespace {

std::vector<unsigned char> read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + path);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in),
                                    std::istreambuf_iterator<char>());
}

int usage(const std::string &problem) {
  std::cerr << "host: " << problem << "\n"
            << "usage: ./host [--model] [--dir DIR] [--codelets FILE] [--ulps N]\n"
               "  --model          run on Graphcore's IPUModel instead of an IPU\n"
               "  --dir DIR        the emitted directory (default: .)\n"
               "  --codelets FILE  compiled codelets (default: DIR/codelets.gp)\n"
               "  --ulps N         accept differences of up to N ulps (default: 0)\n";
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  bool model = false;
  std::string dir = ".", codelets;
  unsigned long long tolerance = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (a == "--model") {
      model = true;
    } else if (a == "--dir" && has_value) {
      dir = argv[++i];
    } else if (a == "--codelets" && has_value) {
      codelets = argv[++i];
    } else if (a == "--ulps" && has_value) {
      char *end = nullptr;
      std::string v = argv[++i];
      tolerance = std::strtoull(v.c_str(), &end, 10);
      if (v.empty() || *end != '\0' || v[0] == '-')
        return usage("--ulps takes a whole number, not `" + v + "`");
    } else {
      return usage("unknown argument or missing value: `" + a + "`");
    }
  }
  if (codelets.empty())
    codelets = dir + "/codelets.gp";

  try {
    std::vector<unsigned char> text = read_file(dir + "/graph.txt");
    snn_runner::Description d =
        snn_runner::parse_description(std::string(text.begin(), text.end()));
    std::vector<unsigned char> data = read_file(dir + "/data.bin");
    {
      std::ifstream probe(codelets);
      if (!probe)
        throw std::runtime_error("cannot open " + codelets + " (run `make` to compile codelets.cpp)");
    }
    unsigned tiles = d.tiles_used();
    std::cout << "graph: target " << d.target_name << ", " << d.tensors.size() << " tensors, "
              << d.compute_sets.size() << " compute sets, " << tiles << " tiles used\n";
    // the IPUModel gets the described target's tiles (at most an ipu2's)
    poplar::Device device = model
                                ? snn_runner::ipu_model(std::max(tiles, std::min(d.tiles, 1472u)))
                                : snn_runner::attach_ipu(tiles);
    std::cout << "device: " << (model ? "IPUModel (ipu2)" : "IPU") << ", "
              << device.getTarget().getNumTiles() << " tiles\n";

    snn_runner::Outputs out = snn_runner::run(d, data, device, codelets);

    bool agree = true;
    std::size_t compared = 0;
    std::map<std::string, unsigned> pops;
    for (std::size_t k = 0; k < out.entries.size(); ++k) {
      const snn_runner::DataEntry &e = *out.entries[k];
      std::string what = e.kind == snn_runner::DataEntry::Read
                             ? "tensor " + d.tensors[e.tensor].name
                             : "stream " + e.stream + " copy " + std::to_string(pops[e.stream]++);
      if (!e.has_offset)
        continue;
      const unsigned char *expected = snn_runner::entry_bytes(e, data);
      snn_runner::Comparison c =
          snn_runner::compare(e.element, out.values[k].data(), expected, e.count);
      ++compared;
      bool ok = !c.nan_mismatch && c.max_ulps <= tolerance;
      agree = agree && ok;
      std::cout << (ok ? "  ok     " : "  DIFFER ") << what << ": " << c.count << " values";
      if (c.differing > 0) {
        std::cout << ", " << c.differing << " differ (first at element " << c.first
                  << "), largest difference " << c.max_ulps << " ulps, " << c.max_abs
                  << " absolute";
        if (c.nan_mismatch)
          std::cout << ", NaN where a number is expected or the reverse";
      } else {
        std::cout << ", all bit for bit";
      }
      std::cout << "\n";
    }
    if (compared == 0)
      throw std::runtime_error("the data has no expected outputs; nothing was compared");
    std::cout << (agree ? "verdict: AGREE" : "verdict: DIFFER") << " (" << compared
              << " outputs compared"
              << (tolerance ? ", tolerance " + std::to_string(tolerance) + " ulps" : std::string())
              << ")\n";
    return agree ? 0 : 1;
  } catch (const std::exception &e) {
    std::cerr << "host: " << e.what() << "\n";
    return 2;
  }
}
