// check_parse.cpp -- part of snn-ipu (poplar-host/cpp/host/), for tests only.
//
// Runs the parser and the comparison of graph_runner.hpp without Poplar:
// compiled against the host-API stand-in (nothing that needs Poplar's
// libraries is used, so it links), it reads DIR/graph.txt and DIR/data.bin
// and prints
//   * the description again, one token per line, as the parser read it;
//   * per entry with expected values: `compare <entry> <differing> <max ulps>`
//     of the expected values against themselves with element 0 moved one
//     ulp up (so `1 1` unless that element is a NaN or the largest value).
// Exit code 0, or 2 with a message when a file cannot be read or parsed.

#include "graph_runner.hpp"

#include <fstream>
#include <iostream>
#include <iterator>

namespace {

std::string read_file(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot open " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const char *name(snn_runner::Element e) { return e == snn_runner::Element::Float ? "float" : "half"; }

void region(const snn_runner::Region &r) {
  std::cout << r.tensor << "\n" << r.start << "\n" << r.end << "\n";
}

void program(const snn_runner::ProgramNode &p) {
  using N = snn_runner::ProgramNode;
  switch (p.kind) {
  case N::Sequence:
    std::cout << "sequence\n" << p.children.size() << "\n";
    for (const auto &c : p.children)
      program(c);
    break;
  case N::Execute:
    std::cout << "execute\n" << p.compute_set << "\n";
    break;
  case N::Repeat:
    std::cout << "repeat\n" << p.count << "\n";
    program(p.children.at(0));
    break;
  case N::Copy:
    std::cout << "copy\n";
    region(p.from);
    region(p.to);
    break;
  case N::StreamIn:
    std::cout << "stream_in\n" << p.stream << "\n";
    region(p.to);
    break;
  case N::StreamOut:
    std::cout << "stream_out\n";
    region(p.from);
    std::cout << p.stream << "\n";
    break;
  }
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::cerr << "usage: check_parse DIR\n";
    return 2;
  }
  try {
    std::string dir = argv[1];
    snn_runner::Description d = snn_runner::parse_description(read_file(dir + "/graph.txt"));
    std::string raw = read_file(dir + "/data.bin");
    std::vector<unsigned char> data(raw.begin(), raw.end());
    std::cout << "tiles_used\n" << d.tiles_used() << "\n";
    std::cout << "tensors\n" << d.tensors.size() << "\n";
    for (const auto &t : d.tensors) {
      std::cout << "tensor\n" << name(t.element) << "\n" << t.name << "\n" << t.shape.size() << "\n";
      for (auto s : t.shape)
        std::cout << s << "\n";
      std::cout << t.mapping.size() << "\n";
      for (const auto &m : t.mapping)
        std::cout << "map\n" << m.tile << "\n" << m.start << "\n" << m.end << "\n";
    }
    std::cout << "compute_sets\n" << d.compute_sets.size() << "\n";
    for (const auto &cs : d.compute_sets) {
      std::cout << "compute_set\n" << cs.name << "\n" << cs.vertices.size() << "\n";
      for (const auto &v : cs.vertices) {
        std::cout << "vertex\n" << v.type << "\n" << v.tile << "\n" << v.fields.size() << "\n"
                  << v.members.size() << "\n";
        for (const auto &f : v.fields) {
          std::cout << "field\n" << f.first << "\n";
          region(f.second);
        }
        for (const auto &m : v.members) {
          std::cout << "member\n" << m.name << "\n";
          if (m.type == 'u')
            std::cout << "unsigned\n" << m.bits << "\n";
          else
            std::cout << (m.type == 'f' ? "float" : "half") << "\n" << m.bits << "\n";
        }
      }
    }
    std::cout << "program\n";
    program(d.program);
    std::cout << "data\n" << d.data_bytes << "\n" << d.data.size() << "\n";
    using E = snn_runner::DataEntry;
    for (std::size_t k = 0; k < d.data.size(); ++k) {
      const E &e = d.data[k];
      const char *kinds[] = {"write", "zero", "push", "read", "pop"};
      std::cout << kinds[e.kind] << "\n";
      if (e.kind == E::Push || e.kind == E::Pop)
        std::cout << e.stream << "\n" << name(e.element) << "\n" << e.count << "\n";
      else
        std::cout << e.tensor << "\n";
      if (e.kind != E::Zero)
        std::cout << (e.has_offset ? std::to_string(e.offset) : std::string("-")) << "\n";
    }
    std::cout << "end\n";
    for (std::size_t k = 0; k < d.data.size(); ++k) {
      const E &e = d.data[k];
      if (!(e.kind == E::Read || e.kind == E::Pop) || !e.has_offset)
        continue;
      const unsigned char *expected = snn_runner::entry_bytes(e, data);
      std::size_t bytes = e.count * snn_runner::element_bytes(e.element);
      std::vector<unsigned char> moved(expected, expected + bytes);
      moved[0] = static_cast<unsigned char>(moved[0] + 1); // little-endian: bits + 1
      snn_runner::Comparison c = snn_runner::compare(e.element, moved.data(), expected, e.count);
      std::cout << "compare " << k << " " << c.differing << " " << c.max_ulps << "\n";
    }
    return 0;
  } catch (const std::exception &e) {
    std::cerr << "check_parse: " << e.what() << "\n";
    return 2;
  }
}
