//! The host harness: C++ that runs the generated vertices on this CPU
//! through `snn-poplar-host`'s stand-in headers. Not part of the IPU build.
//!
//! For vertex `k` (the manifest's order) it exports
//! - its name and its *layout*, a description of the compiled class
//!   (`in initial_mem half span 8;...;member steps unsigned`), which the
//!   Rust side compares with the manifest before it binds anything; a
//!   `static_assert` ties every described field to the compiled class;
//! - a runner that binds field `j` to `fields[j]` (`lengths[j]` elements)
//!   and member `j` to the bits `members[j]`, in declaration order, and
//!   runs `compute` for every worker.

use std::fmt::Write as _;

use super::poplar::{field_type, float_name, member_type, vertex_name};
use crate::build::Codelets;
use crate::manifest;
use crate::vertex::Direction;

const RUNNER_PRELUDE: &str = r#"#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace {

template <typename T> T member(unsigned bits);
template <> [[maybe_unused]] float member<float>(unsigned bits) { float x; std::memcpy(&x, &bits, sizeof x); return x; }
template <> [[maybe_unused]] half member<half>(unsigned bits) {
  const unsigned short b = static_cast<unsigned short>(bits);
  half x;
  std::memcpy(static_cast<void *>(&x), &b, sizeof x);
  return x;
}
template <> [[maybe_unused]] unsigned member<unsigned>(unsigned bits) { return bits; }

// Runs compute for every worker, telling the stand-in which worker runs.
template <typename V> bool run_workers(V &v) {
  bool all = true;
  for (unsigned w = 0; w < poplar::MultiVertex::numWorkers(); ++w) {
    poplar::stand_in::current_worker = w;
    all = v.compute(w) && all;
  }
  return all;
}

} // namespace

"#;

const TABLE_PRELUDE: &str = r#"#include <cstddef>
#include <cstdint>
#include <unordered_map>

namespace {

// The worker-overlap check: which workers wrote each 32-bit word of every
// output field, with words counted from the field's first element (aligned
// on the IPU).
class OverlapLog final : public poplar::stand_in::WriteLog {
 public:
  void write(const void *base, std::size_t offset, std::size_t bytes) override {
    for (std::size_t byte = offset & ~std::size_t(3); byte < offset + bytes; byte += 4) {
      const std::uintptr_t word = reinterpret_cast<std::uintptr_t>(base) + byte;
      words_[word] |= 1u << poplar::stand_in::current_worker;
    }
  }
  unsigned shared_words() const {
    unsigned count = 0;
    for (const auto &entry : words_) {
      const unsigned mask = entry.second;
      if ((mask & (mask - 1u)) != 0u) ++count;
    }
    return count;
  }

 private:
  std::unordered_map<std::uintptr_t, unsigned> words_;
};

using Runner = bool (*)(void *const *, const std::size_t *, const unsigned *);

"#;

const EXPORTS: &str = r#"
} // namespace

extern "C" unsigned snn_host_vertex_count() { return sizeof(entries) / sizeof(entries[0]); }

extern "C" const char *snn_host_vertex_name(unsigned index) {
  return index < snn_host_vertex_count() ? entries[index].name : nullptr;
}

extern "C" const char *snn_host_vertex_layout(unsigned index) {
  return index < snn_host_vertex_count() ? entries[index].layout : nullptr;
}

// Runs vertex `index`: 0 on success, 1 when a worker's compute returned
// false, -1 for an unknown index. With `check_overlap`, `*shared_words`
// receives the number of 32-bit output words that two workers wrote.
extern "C" int snn_host_run(unsigned index, void *const *fields, const std::size_t *lengths,
                            const unsigned *members, int check_overlap, unsigned *shared_words) {
  if (index >= snn_host_vertex_count()) return -1;
  OverlapLog log;
  poplar::stand_in::write_log = check_overlap ? &log : nullptr;
  const bool ok = entries[index].run(fields, lengths, members);
  poplar::stand_in::write_log = nullptr;
  if (shared_words != nullptr) *shared_words = check_overlap ? log.shared_words() : 0u;
  return ok ? 0 : 1;
}
"#;

/// The harness for `codelets` in one file, which includes the codelet
/// file at `codelets_path`.
pub fn host_harness(codelets: &Codelets, codelets_path: &str) -> String {
    let (runners, table) = host_harness_parts(codelets, codelets_path, 1);
    let runners = runners.concat();
    // the table's file without its own include of the codelets
    let table = table
        .split_once(INCLUDE_END)
        .map_or(table.as_str(), |(_, rest)| rest)
        .to_string();
    runners + &table
}

/// Marks the end of a file's header (the codelets' include).
const INCLUDE_END: &str = "// end of header\n";

/// The harness for `codelets` in `parts` files of runners (vertex `k` in
/// file `k % parts`, so that each compiles about as long as another) and
/// one file with the table of vertices and the exported functions; every
/// file includes the codelet file at `codelets_path`.
pub fn host_harness_parts(
    codelets: &Codelets,
    codelets_path: &str,
    parts: usize,
) -> (Vec<String>, String) {
    let parts = parts.max(1);
    let header = format!(
        "// Host harness for the generated codelets. GENERATED by snn-codelet-gen: do not edit.\n// Not part of the IPU build: it runs vertices on this CPU through the stand-in headers.\n#define SNN_HOST_IMPLICIT_INSTANTIATION 1\n#include \"{codelets_path}\"\n{INCLUDE_END}"
    );
    let mut runners: Vec<String> = (0..parts)
        .map(|_| format!("{header}{RUNNER_PRELUDE}"))
        .collect();
    let instances = codelets.instances();
    for (index, instance) in instances.iter().enumerate() {
        let s = &mut runners[index % parts];
        let class = vertex_name(instance).replace(',', ", ");
        let def = instance.def;
        let _ = writeln!(
            s,
            "bool snn_run_{index}([[maybe_unused]] void *const *f, [[maybe_unused]] const std::size_t *len, [[maybe_unused]] const unsigned *m) {{\n  {class} v;"
        );
        for (k, field) in def.fields.iter().enumerate() {
            let element = float_name(field.element);
            let pointer = match field.direction {
                Direction::Input => format!("const {element}"),
                _ => element.to_string(),
            };
            let _ = writeln!(
                s,
                "  static_assert(std::is_same_v<decltype({class}::{}), {}>);\n  v.{}.bind(static_cast<{pointer} *>(f[{k}]), len[{k}]);",
                field.name,
                field_type(def, k),
                field.name
            );
        }
        for (k, member) in def.members.iter().enumerate() {
            let ty = member_type(member.ty);
            let _ = writeln!(
                s,
                "  static_assert(std::is_same_v<decltype({class}::{}), {ty}>);\n  v.{} = member<{ty}>(m[{k}]);",
                member.name, member.name
            );
        }
        s.push_str("  return run_workers(v);\n}\n\n");
    }
    let mut table = header;
    table.push_str("// the runners, defined in the runner files\n");
    for index in 0..instances.len() {
        let _ = writeln!(
            table,
            "bool snn_run_{index}(void *const *, const std::size_t *, const unsigned *);"
        );
    }
    table.push('\n');
    table.push_str(TABLE_PRELUDE);
    table.push_str(
        "\nstruct Entry {\n  const char *name;\n  const char *layout;\n  Runner run;\n};\n\nconst Entry entries[] = {\n",
    );
    for (index, instance) in instances.iter().enumerate() {
        let _ = writeln!(
            table,
            "    {{\"{}\", \"{}\", snn_run_{index}}},",
            vertex_name(instance),
            manifest::entry_with(instance, &codelets.uniform).layout()
        );
    }
    table.push_str("};\n");
    table.push_str(EXPORTS);
    (runners, table)
}
