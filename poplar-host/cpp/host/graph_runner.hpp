// graph_runner.hpp -- part of snn-ipu (poplar-host/cpp/host/).
//
// Reads the graph description (graph.txt) and data (data.bin) that
// snn_poplar_host::emit writes, builds the same graph through the Poplar
// host API, runs it on a device and returns the outputs; compares outputs
// with the expected values. Used by the emitted host program (host.cpp) and
// by the Rust crate's `poplar` feature (cpp/bridge/bridge.cpp).
// docs/poplar.md describes the format; this parser accepts exactly what
// snn_poplar_host::emit::description::parse accepts, and refuses anything
// else with the line and the problem (std::runtime_error).

#ifndef SNN_GRAPH_RUNNER_HPP
#define SNN_GRAPH_RUNNER_HPP

#include <poplar/CSRFunctions.hpp>
#include <poplar/DeviceManager.hpp>
#include <poplar/Engine.hpp>
#include <poplar/Graph.hpp>
#include <poplar/IPUModel.hpp>
#include <poplar/Program.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace snn_runner {

constexpr const char *kFormat = "snn-ipu-graph";
constexpr unsigned kVersion = 1;
constexpr unsigned kMaxDepth = 200;

enum class Element { Float, Half };

inline std::size_t element_bytes(Element e) { return e == Element::Float ? 4 : 2; }

struct Region {
  std::size_t tensor = 0;
  std::size_t start = 0;
  std::size_t end = 0;
};

struct Interval {
  unsigned tile = 0;
  std::size_t start = 0;
  std::size_t end = 0;
};

struct TensorDesc {
  Element element = Element::Float;
  std::string name;
  std::vector<std::size_t> shape;
  std::size_t len = 1;
  std::vector<Interval> mapping;
};

struct MemberDesc {
  std::string name;
  char type = 'u'; // 'f' float, 'h' half, 'u' unsigned
  std::uint32_t bits = 0;
};

struct VertexDesc {
  std::string type;
  unsigned tile = 0;
  std::vector<std::pair<std::string, Region>> fields;
  std::vector<MemberDesc> members;
};

struct ComputeSetDesc {
  std::string name;
  std::vector<VertexDesc> vertices;
};

struct ProgramNode {
  enum Kind { Sequence, Execute, Repeat, Copy, StreamIn, StreamOut } kind = Sequence;
  std::vector<ProgramNode> children;
  std::size_t compute_set = 0;
  unsigned count = 0;
  Region from, to;
  std::string stream;
};

struct DataEntry {
  enum Kind { Write, Zero, Push, Read, Pop } kind = Write;
  std::size_t tensor = 0;
  std::string stream;
  Element element = Element::Float;
  std::uint64_t count = 0;
  bool has_offset = false;
  std::uint64_t offset = 0;
};

struct Description {
  std::string target_name;
  unsigned tiles = 0;
  unsigned workers = 0;
  std::vector<TensorDesc> tensors;
  std::vector<ComputeSetDesc> compute_sets;
  ProgramNode program;
  std::uint64_t data_bytes = 0;
  std::vector<DataEntry> data;

  /// Tiles the graph uses: one more than the highest tile of any interval
  /// or vertex.
  unsigned tiles_used() const {
    unsigned n = 1;
    for (const auto &t : tensors)
      for (const auto &i : t.mapping)
        n = std::max(n, i.tile + 1);
    for (const auto &cs : compute_sets)
      for (const auto &v : cs.vertices)
        n = std::max(n, v.tile + 1);
    return n;
  }
};

// ---------------------------------------------------------------- parsing

class Tokens {
public:
  explicit Tokens(const std::string &text) {
    std::istringstream in(text);
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      auto hash = line.find('#');
      if (hash != std::string::npos)
        line.resize(hash);
      std::istringstream words(line);
      std::string w;
      while (words >> w)
        tokens_.emplace_back(number, w);
    }
  }

  [[noreturn]] void fail(const std::string &problem) const {
    std::ostringstream m;
    if (at_ < tokens_.size())
      m << "graph description, line " << tokens_[at_].first << ": " << problem;
    else
      m << "graph description, at the end: " << problem;
    throw std::runtime_error(m.str());
  }

  const std::string &next(const std::string &what) {
    if (at_ >= tokens_.size())
      fail("the text ends where " + what + " should be");
    return tokens_[at_++].second;
  }

  void keyword(const std::string &word) {
    const std::string &t = next("`" + word + "`");
    if (t != word) {
      --at_;
      fail("expected `" + word + "`, found `" + t + "`");
    }
  }

  std::uint64_t number(const std::string &what, std::uint64_t max) {
    const std::string &t = next(what);
    std::uint64_t v = 0;
    bool ok = !t.empty() && t.size() <= 20;
    for (char c : t) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
      if (v > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
        ok = false;
        break;
      }
      v = v * 10 + digit;
    }
    if (!ok || v > max) {
      --at_;
      fail(what + ": `" + t + "` is not a number in range");
    }
    return v;
  }

  std::uint32_t hex(const std::string &what, std::uint32_t max) {
    const std::string &t = next(what);
    std::uint64_t v = 0;
    bool ok = t.size() > 2 && t.size() <= 10 && t[0] == '0' && t[1] == 'x';
    for (std::size_t i = 2; ok && i < t.size(); ++i) {
      char c = t[i];
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                           : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0)
        ok = false;
      else
        v = v * 16 + static_cast<std::uint64_t>(d);
    }
    if (!ok || v > max) {
      --at_;
      fail(what + ": `" + t + "` is not 0x and hexadecimal digits in range");
    }
    return static_cast<std::uint32_t>(v);
  }

  Element element() {
    const std::string &t = next("an element type");
    if (t == "float")
      return Element::Float;
    if (t == "half")
      return Element::Half;
    --at_;
    fail("`" + t + "` is not an element type (float, half)");
  }

  bool peek_is(const std::string &word) const {
    return at_ < tokens_.size() && tokens_[at_].second == word;
  }

  void skip() { ++at_; }
  void back() { --at_; }
  bool done() const { return at_ >= tokens_.size(); }

private:
  std::vector<std::pair<std::size_t, std::string>> tokens_;
  std::size_t at_ = 0;
};

class Parser {
public:
  explicit Parser(const std::string &text) : t_(text) {}

  Description parse() {
    Description d;
    t_.keyword(kFormat);
    if (t_.number("the format version", 1u << 30) != kVersion) {
      t_.back();
      t_.fail("unknown format version; this host program reads version 1");
    }
    t_.keyword("target");
    d.target_name = t_.next("the target's name");
    t_.keyword("tiles");
    d.tiles = static_cast<unsigned>(t_.number("tiles", 1u << 20));
    t_.keyword("workers");
    d.workers = static_cast<unsigned>(t_.number("workers", 64));
    t_.keyword("bytes_per_tile");
    t_.number("bytes per tile", std::numeric_limits<std::uint64_t>::max());
    t_.keyword("clock_hz");
    t_.next("the clock"); // for reports only
    if (d.tiles == 0 || d.workers == 0)
      t_.fail("a target needs at least one tile and one worker");

    t_.keyword("tensors");
    std::uint64_t n = t_.number("the number of tensors", 1u << 24);
    for (std::uint64_t k = 0; k < n; ++k)
      d.tensors.push_back(tensor(d));

    t_.keyword("compute_sets");
    n = t_.number("the number of compute sets", 1u << 24);
    for (std::uint64_t k = 0; k < n; ++k) {
      t_.keyword("compute_set");
      ComputeSetDesc cs;
      cs.name = t_.next("a compute set name");
      std::uint64_t vertices = t_.number("the number of vertices", 1u << 28);
      for (std::uint64_t v = 0; v < vertices; ++v)
        cs.vertices.push_back(vertex(d));
      d.compute_sets.push_back(std::move(cs));
    }

    t_.keyword("program");
    d.program = program(d, 1);

    t_.keyword("data");
    d.data_bytes = t_.number("the data file's length", std::numeric_limits<std::uint64_t>::max());
    n = t_.number("the number of data entries", 1u << 28);
    for (std::uint64_t k = 0; k < n; ++k)
      d.data.push_back(entry(d));
    t_.keyword("end");
    if (!t_.done())
      t_.fail("text after `end`");
    return d;
  }

private:
  Tokens t_;

  std::size_t tensor_index(const Description &d) {
    std::uint64_t k = t_.number("a tensor", std::numeric_limits<std::uint64_t>::max());
    if (k >= d.tensors.size()) {
      t_.back();
      t_.fail("tensor " + std::to_string(k) + " does not exist");
    }
    return static_cast<std::size_t>(k);
  }

  Region region(const Description &d) {
    Region r;
    r.tensor = tensor_index(d);
    std::size_t len = d.tensors[r.tensor].len;
    r.start = static_cast<std::size_t>(t_.number("a start element", len));
    r.end = static_cast<std::size_t>(t_.number("an end element", len));
    if (r.start > r.end) {
      t_.back();
      t_.fail("a region ends before it starts");
    }
    return r;
  }

  TensorDesc tensor(const Description &d) {
    t_.keyword("tensor");
    TensorDesc t;
    t.element = t_.element();
    t.name = t_.next("a tensor name");
    std::uint64_t rank = t_.number("a rank", 16);
    for (std::uint64_t i = 0; i < rank; ++i) {
      std::uint64_t dim = t_.number("a dimension", 1ull << 31);
      if (dim != 0 && t.len > (1ull << 31) / dim)
        t_.fail("tensor `" + t.name + "` holds more than 2^31 elements");
      t.shape.push_back(static_cast<std::size_t>(dim));
      t.len *= static_cast<std::size_t>(dim);
    }
    std::uint64_t intervals = t_.number("the number of intervals", 1u << 28);
    for (std::uint64_t i = 0; i < intervals; ++i) {
      t_.keyword("map");
      Interval m;
      m.tile = static_cast<unsigned>(t_.number("a tile", d.tiles - 1));
      m.start = static_cast<std::size_t>(t_.number("a start element", t.len));
      m.end = static_cast<std::size_t>(t_.number("an end element", t.len));
      if (m.start >= m.end) {
        t_.back();
        t_.fail("an interval must hold at least one element");
      }
      t.mapping.push_back(m);
    }
    return t;
  }

  VertexDesc vertex(const Description &d) {
    t_.keyword("vertex");
    VertexDesc v;
    v.type = t_.next("a vertex type");
    v.tile = static_cast<unsigned>(t_.number("a tile", d.tiles - 1));
    std::uint64_t fields = t_.number("the number of fields", 1024);
    std::uint64_t members = t_.number("the number of members", 1024);
    for (std::uint64_t i = 0; i < fields; ++i) {
      t_.keyword("field");
      std::string name = t_.next("a field name");
      v.fields.emplace_back(name, region(d));
    }
    for (std::uint64_t i = 0; i < members; ++i) {
      t_.keyword("member");
      MemberDesc m;
      m.name = t_.next("a member name");
      const std::string &type = t_.next("a member type");
      if (type == "float") {
        m.type = 'f';
        m.bits = t_.hex("float bits", 0xffffffffu);
      } else if (type == "half") {
        m.type = 'h';
        m.bits = t_.hex("half bits", 0xffffu);
      } else if (type == "unsigned") {
        m.type = 'u';
        m.bits = static_cast<std::uint32_t>(t_.number("an unsigned value", 0xffffffffu));
      } else {
        t_.back();
        t_.fail("`" + type + "` is not a member type (float, half, unsigned)");
      }
      v.members.push_back(m);
    }
    return v;
  }

  ProgramNode program(const Description &d, unsigned depth) {
    if (depth > kMaxDepth)
      t_.fail("programs nest more than 200 deep");
    ProgramNode p;
    const std::string word = t_.next("a program");
    if (word == "sequence") {
      p.kind = ProgramNode::Sequence;
      std::uint64_t n = t_.number("a sequence's length", 1u << 28);
      for (std::uint64_t i = 0; i < n; ++i)
        p.children.push_back(program(d, depth + 1));
    } else if (word == "execute") {
      p.kind = ProgramNode::Execute;
      std::uint64_t k = t_.number("a compute set", std::numeric_limits<std::uint64_t>::max());
      if (k >= d.compute_sets.size()) {
        t_.back();
        t_.fail("compute set " + std::to_string(k) + " does not exist");
      }
      p.compute_set = static_cast<std::size_t>(k);
    } else if (word == "repeat") {
      p.kind = ProgramNode::Repeat;
      p.count = static_cast<unsigned>(t_.number("a repeat count", 0xffffffffu));
      p.children.push_back(program(d, depth + 1));
    } else if (word == "copy") {
      p.kind = ProgramNode::Copy;
      p.from = region(d);
      p.to = region(d);
    } else if (word == "stream_in") {
      p.kind = ProgramNode::StreamIn;
      p.stream = t_.next("a stream");
      p.to = region(d);
    } else if (word == "stream_out") {
      p.kind = ProgramNode::StreamOut;
      p.from = region(d);
      p.stream = t_.next("a stream");
    } else {
      t_.back();
      t_.fail("`" + word +
              "` is not a program (sequence, execute, repeat, copy, stream_in, stream_out)");
    }
    return p;
  }

  // offsets and counts are checked against data.bin when it is read
  DataEntry entry(const Description &d) {
    DataEntry e;
    const std::string word = t_.next("a data entry");
    const std::uint64_t any = std::numeric_limits<std::uint64_t>::max();
    auto offset = [&](DataEntry &x) {
      if (t_.peek_is("-")) {
        t_.skip();
        x.has_offset = false;
      } else {
        x.has_offset = true;
        x.offset = t_.number("a byte offset", any);
      }
    };
    if (word == "write" || word == "zero" || word == "read") {
      e.kind = word == "write" ? DataEntry::Write : word == "zero" ? DataEntry::Zero : DataEntry::Read;
      e.tensor = tensor_index(d);
      e.element = d.tensors[e.tensor].element;
      e.count = d.tensors[e.tensor].len;
      if (word == "write") {
        e.has_offset = true;
        e.offset = t_.number("a byte offset", any);
      } else if (word == "read") {
        offset(e);
      }
    } else if (word == "push" || word == "pop") {
      e.kind = word == "push" ? DataEntry::Push : DataEntry::Pop;
      e.stream = t_.next("a stream");
      e.element = t_.element();
      e.count = t_.number("a count", 1ull << 31);
      if (word == "push") {
        e.has_offset = true;
        e.offset = t_.number("a byte offset", any);
      } else {
        offset(e);
      }
    } else {
      t_.back();
      t_.fail("`" + word + "` is not a data entry (write, zero, push, read, pop)");
    }
    return e;
  }
};

inline Description parse_description(const std::string &text) { return Parser(text).parse(); }

/// The bytes of entry `e`'s values in `data` (checked to lie inside it).
inline const unsigned char *entry_bytes(const DataEntry &e, const std::vector<unsigned char> &data) {
  std::uint64_t bytes = e.count * element_bytes(e.element);
  if (!e.has_offset || e.offset > data.size() || bytes > data.size() - e.offset)
    throw std::runtime_error("data.bin: an entry's values lie outside the file (" +
                             std::to_string(data.size()) + " bytes); emit the directory again");
  return data.data() + e.offset;
}

// ---------------------------------------------------------------- numbers

inline float half_to_float(std::uint16_t h) {
  std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1fu;
  std::uint32_t man = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else { // subnormal: normalise
    int e = -1;
    do {
      man <<= 1;
      ++e;
    } while ((man & 0x400u) == 0);
    bits = sign | (static_cast<std::uint32_t>(112 - e) << 23) | ((man & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline double value_at(Element e, const unsigned char *p, std::size_t i) {
  if (e == Element::Float) {
    float f;
    std::memcpy(&f, p + 4 * i, 4);
    return static_cast<double>(f);
  }
  std::uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return static_cast<double>(half_to_float(h));
}

inline std::uint32_t bits_at(Element e, const unsigned char *p, std::size_t i) {
  if (e == Element::Float) {
    std::uint32_t b;
    std::memcpy(&b, p + 4 * i, 4);
    return b;
  }
  std::uint16_t h;
  std::memcpy(&h, p + 2 * i, 2);
  return h;
}

/// How one output compares with the values expected.
struct Comparison {
  std::string what;
  std::size_t count = 0;
  std::size_t differing = 0;
  std::uint64_t max_ulps = 0;
  double max_abs = 0.0;
  std::size_t first = 0; // the first differing element
  bool nan_mismatch = false;
};

/// Bits compared: equal bits, or NaN on both sides, agree. A difference is
/// measured in units in the last place (the distance between the two values
/// in the ordered sequence of the format's values) and absolutely.
inline Comparison compare(Element e, const unsigned char *got, const unsigned char *expected,
                          std::size_t count) {
  Comparison c;
  c.count = count;
  const unsigned width = e == Element::Float ? 32 : 16;
  const std::uint32_t sign = 1u << (width - 1);
  auto ordered = [&](std::uint32_t b) -> std::int64_t {
    return (b & sign) ? -static_cast<std::int64_t>(b & (sign - 1)) : static_cast<std::int64_t>(b);
  };
  for (std::size_t i = 0; i < count; ++i) {
    std::uint32_t a = bits_at(e, got, i), b = bits_at(e, expected, i);
    double x = value_at(e, got, i), y = value_at(e, expected, i);
    if (a == b || (std::isnan(x) && std::isnan(y)))
      continue;
    if (c.differing++ == 0)
      c.first = i;
    if (std::isnan(x) || std::isnan(y)) {
      c.nan_mismatch = true;
      continue;
    }
    std::int64_t d = ordered(a) - ordered(b);
    std::uint64_t ulps = static_cast<std::uint64_t>(d < 0 ? -d : d);
    c.max_ulps = std::max(c.max_ulps, ulps);
    c.max_abs = std::max(c.max_abs, std::fabs(x - y));
  }
  return c;
}

// ---------------------------------------------------------------- devices

/// The first IPU with at least `tiles` tiles that can be attached.
inline poplar::Device attach_ipu(unsigned tiles) {
  auto manager = poplar::DeviceManager::createDeviceManager();
  auto devices = manager.getDevices(poplar::TargetType::IPU, 1);
  if (devices.empty())
    throw std::runtime_error("no IPU found on this machine (try the IPUModel: --model)");
  for (auto &d : devices) {
    if (d.getTarget().getNumTiles() >= tiles && d.attach())
      return std::move(d);
  }
  throw std::runtime_error("no free IPU with at least " + std::to_string(tiles) +
                           " tiles (all are attached by other processes, or smaller)");
}

/// Graphcore's IPUModel with `tiles` tiles of an ipu2 (at most 1472).
inline poplar::Device ipu_model(unsigned tiles) {
  poplar::IPUModel model("ipu2");
  model.numIPUs = 1;
  model.tilesPerIPU = tiles;
  return model.createDevice();
}

// ---------------------------------------------------------------- running

inline poplar::Type poplar_type(Element e) { return e == Element::Float ? poplar::FLOAT : poplar::HALF; }

/// Builds the graph and program of `d` on `graph`.
class Builder {
public:
  Builder(poplar::Graph &graph, const Description &d) : graph_(graph), d_(d) {}

  poplar::program::Sequence build() {
    for (const auto &t : d_.tensors) {
      std::vector<std::size_t> shape = t.shape;
      poplar::Tensor tensor = graph_.addVariable(poplar_type(t.element), shape, t.name);
      poplar::Tensor flat = tensor.flatten();
      for (const auto &m : t.mapping)
        graph_.setTileMapping(flat.slice(m.start, m.end), m.tile);
      tensors_.push_back(flat);
    }
    for (const auto &cs : d_.compute_sets) {
      poplar::ComputeSet set = graph_.addComputeSet(cs.name);
      for (const auto &v : cs.vertices) {
        poplar::VertexRef vertex = graph_.addVertex(set, v.type);
        graph_.setTileMapping(vertex, v.tile);
        for (const auto &f : v.fields)
          graph_.connect(vertex[f.first], slice(f.second));
        for (const auto &m : v.members) {
          if (m.type == 'u') {
            graph_.setInitialValue(vertex[m.name], static_cast<unsigned>(m.bits));
          } else if (m.type == 'f') {
            float f;
            std::memcpy(&f, &m.bits, sizeof f);
            graph_.setInitialValue(vertex[m.name], f);
          } else {
            // a half member set from the float of the same value (exact)
            graph_.setInitialValue(vertex[m.name],
                                   half_to_float(static_cast<std::uint16_t>(m.bits)));
          }
        }
      }
      compute_sets_.push_back(set);
    }
    // every stream's type and length, from its copies (the emitter checked
    // that they agree)
    declare_streams(d_.program);
    poplar::program::Sequence main;
    // The project's floating-point definition (docs/semantics.md), set before
    // any vertex runs: round to nearest even (no stochastic rounding); no
    // exceptions on invalid operations, division by zero or overflow (NaN
    // and infinity follow IEEE 754); nanoo off, so a finite half result too
    // large for binary16 saturates to +-65504 instead of becoming infinity.
    poplar::FloatingPointBehaviour behaviour(false, false, false, false, false);
    poplar::setFloatingPointBehaviour(graph_, main, behaviour);
    poplar::setStochasticRounding(graph_, main, false);
    main.add(program(d_.program));
    for (const auto &e : d_.data) {
      if (e.kind == DataEntry::Write || e.kind == DataEntry::Zero)
        graph_.createHostWrite("write:" + d_.tensors[e.tensor].name, tensors_[e.tensor]);
      else if (e.kind == DataEntry::Read)
        graph_.createHostRead("read:" + d_.tensors[e.tensor].name, tensors_[e.tensor]);
    }
    return main;
  }

private:
  poplar::Graph &graph_;
  const Description &d_;
  std::vector<poplar::Tensor> tensors_;
  std::vector<poplar::ComputeSet> compute_sets_;
  std::map<std::string, poplar::DataStream> streams_;

  poplar::Tensor slice(const Region &r) { return tensors_[r.tensor].slice(r.start, r.end); }

  void declare_streams(const ProgramNode &p) {
    for (const auto &c : p.children)
      declare_streams(c);
    if (p.kind != ProgramNode::StreamIn && p.kind != ProgramNode::StreamOut)
      return;
    if (streams_.count(p.stream))
      return;
    const Region &r = p.kind == ProgramNode::StreamIn ? p.to : p.from;
    poplar::Type type = poplar_type(d_.tensors[r.tensor].element);
    std::size_t n = r.end - r.start;
    streams_.emplace(p.stream, p.kind == ProgramNode::StreamIn
                                   ? graph_.addHostToDeviceFIFO(p.stream, type, n)
                                   : graph_.addDeviceToHostFIFO(p.stream, type, n));
  }

  poplar::program::Program program(const ProgramNode &p) {
    namespace prog = poplar::program;
    switch (p.kind) {
    case ProgramNode::Sequence: {
      prog::Sequence s;
      for (const auto &c : p.children)
        s.add(program(c));
      return s;
    }
    case ProgramNode::Execute:
      return prog::Execute(compute_sets_[p.compute_set]);
    case ProgramNode::Repeat:
      return prog::Repeat(p.count, program(p.children.at(0)));
    case ProgramNode::Copy:
      return prog::Copy(slice(p.from), slice(p.to));
    case ProgramNode::StreamIn:
      return prog::Copy(streams_.at(p.stream), slice(p.to));
    case ProgramNode::StreamOut:
      return prog::Copy(slice(p.from), streams_.at(p.stream));
    }
    throw std::logic_error("unknown program node");
  }
};

/// What one run gave: the values of every `read` and `pop` entry, in the
/// description's order.
struct Outputs {
  std::vector<const DataEntry *> entries;
  std::vector<std::vector<unsigned char>> values;
};

/// Builds `d` on `device` with the codelets of `codelets_path` (a .gp or
/// .cpp file), writes and streams the inputs of `data`, runs, and returns
/// every output.
inline Outputs run(const Description &d, const std::vector<unsigned char> &data,
                   const poplar::Device &device, const std::string &codelets_path) {
  if (data.size() != d.data_bytes)
    throw std::runtime_error("data.bin holds " + std::to_string(data.size()) +
                             " bytes, the description says " + std::to_string(d.data_bytes) +
                             "; copy both files from one emit");
  if (device.getTarget().getNumTiles() < d.tiles_used())
    throw std::runtime_error("the device has " + std::to_string(device.getTarget().getNumTiles()) +
                             " tiles, the graph uses " + std::to_string(d.tiles_used()));
  poplar::Graph graph(device.getTarget());
  if (!graph.addCodelets(codelets_path))
    throw std::runtime_error("cannot add the codelets of " + codelets_path);
  Builder builder(graph, d);
  poplar::program::Sequence main = builder.build();

  // host buffers: each stream's copies one after the other
  std::map<std::string, std::vector<unsigned char>> in, out;
  std::map<std::string, std::size_t> out_at;
  for (const auto &e : d.data) {
    if (e.kind == DataEntry::Push) {
      const unsigned char *p = entry_bytes(e, data);
      auto &buffer = in[e.stream];
      buffer.insert(buffer.end(), p, p + e.count * element_bytes(e.element));
    } else if (e.kind == DataEntry::Pop) {
      out[e.stream].resize(out[e.stream].size() + e.count * element_bytes(e.element));
    }
  }
  poplar::Engine engine(graph, main);
  engine.load(device);
  for (auto *buffers : {&in, &out})
    for (auto &b : *buffers)
      if (!b.second.empty())
        engine.connectStream(b.first, b.second.data(), b.second.data() + b.second.size());
  for (const auto &e : d.data) {
    if (e.kind == DataEntry::Write) {
      const unsigned char *p = entry_bytes(e, data);
      engine.writeTensor("write:" + d.tensors[e.tensor].name, p,
                         p + e.count * element_bytes(e.element));
    } else if (e.kind == DataEntry::Zero) {
      std::vector<unsigned char> zeros(e.count * element_bytes(e.element), 0);
      engine.writeTensor("write:" + d.tensors[e.tensor].name, zeros.data(),
                         zeros.data() + zeros.size());
    }
  }
  engine.run(0);

  Outputs o;
  for (const auto &e : d.data) {
    std::size_t bytes = e.count * element_bytes(e.element);
    if (e.kind == DataEntry::Read) {
      std::vector<unsigned char> v(bytes);
      engine.readTensor("read:" + d.tensors[e.tensor].name, v.data(), v.data() + v.size());
      o.entries.push_back(&e);
      o.values.push_back(std::move(v));
    } else if (e.kind == DataEntry::Pop) {
      std::size_t &at = out_at[e.stream];
      const auto &buffer = out[e.stream];
      o.entries.push_back(&e);
      o.values.emplace_back(buffer.begin() + static_cast<std::ptrdiff_t>(at),
                            buffer.begin() + static_cast<std::ptrdiff_t>(at + bytes));
      at += bytes;
    }
  }
  return o;
}

} // namespace snn_runner

#endif
