//! Why half vertices give each worker whole 32-bit words: with the split of
//! earlier versions (worker `w` takes elements `w, w + 6, ...`), two workers
//! write the two halves of one word, which races on the IPU (a 16-bit store
//! is a read-modify-write of its word). The emulator's worker-overlap check
//! catches that on every half vertex.
//!
//! The vertices with the old split are generated here and compiled with g++
//! into a small program (the emulator in `snn-poplar-host` holds only the
//! current split, whose every vertex passes the check in `tests/emulator.rs`).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

use snn_codelet_gen::build::{self, Options};
use snn_codelet_gen::ir::Float;
use snn_codelet_gen::vertex::WorkerSplit;
use snn_codelet_gen::{manifest, print, MemberRole, MemberType};

/// A C++ program that runs every vertex of the harness with the overlap
/// check on (`n` elements, `steps` steps) and prints `index status
/// shared_words`. Fields are filled with small values, members with 0.75,
/// `steps` and 1.
fn driver(vertices: &[snn_codelet_gen::VertexInfo], n: usize, steps: usize) -> String {
    let mut table = String::new();
    for v in vertices {
        let bytes = v.precision.bytes();
        let lengths: Vec<String> = v
            .fields
            .iter()
            .map(|f| f.length.of(n, steps).expect("small sizes").to_string())
            .collect();
        let members: Vec<String> = v
            .members
            .iter()
            .map(|m| match (m.ty, m.role) {
                (MemberType::Unsigned, MemberRole::Steps) => format!("{steps}u"),
                (MemberType::Unsigned, _) => "1u".into(),
                (MemberType::Float, _) => "0x3f400000u".into(), // 0.75f
                (MemberType::Half, _) => "0x3a00u".into(),      // 0.75
            })
            .collect();
        let _ = writeln!(
            table,
            "    {{{bytes}u, {{{}}}, {{{}}}}},",
            lengths.join(", "),
            members.join(", ")
        );
    }
    format!(
        r#"#include "host_harness.cpp"
#include <cstdio>
#include <vector>

struct Call {{
  unsigned bytes;
  std::vector<std::size_t> lengths;
  std::vector<unsigned> members;
}};

int main() {{
  const std::vector<Call> calls = {{
{table}  }};
  for (unsigned k = 0; k < calls.size(); ++k) {{
    const Call &call = calls[k];
    std::vector<std::vector<unsigned char>> data;
    std::vector<void *> fields;
    for (std::size_t len : call.lengths) {{
      data.emplace_back(len * call.bytes);
      std::vector<unsigned char> &bytes = data.back();
      // 0.5 in either format, as little-endian bytes
      for (std::size_t i = 0; i < len; ++i) {{
        if (call.bytes == 2) {{ bytes[2 * i] = 0x00; bytes[2 * i + 1] = 0x38; }}
        else {{ bytes[4 * i] = 0; bytes[4 * i + 1] = 0; bytes[4 * i + 2] = 0x00; bytes[4 * i + 3] = 0x3f; }}
      }}
      fields.push_back(bytes.data());
    }}
    unsigned shared = 0;
    const int status = snn_host_run(k, fields.data(), call.lengths.data(), call.members.data(), 1, &shared);
    std::printf("%u %d %u\n", k, status, shared);
  }}
  return 0;
}}
"#
    )
}

#[test]
fn the_per_element_split_of_half_outputs_races_on_every_half_vertex() {
    let options = Options {
        half_split: WorkerSplit {
            grain: 1,
            element_multiple: 1,
        },
        ..Options::default()
    };
    let mut codelets = build::generate(&options);
    codelets
        .classes
        .retain(|def| def.precision == Float::Binary16);
    let vertices = manifest::entries(&codelets);
    assert_eq!(vertices.len(), 1008, "every half vertex");

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("old_worker_split");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("codelets.cpp"),
        print::poplar::codelet_file(&codelets),
    )
    .unwrap();
    std::fs::write(
        dir.join("host_harness.cpp"),
        print::harness::host_harness(&codelets, "codelets.cpp"),
    )
    .unwrap();
    std::fs::write(dir.join("driver.cpp"), driver(&vertices, 12, 3)).unwrap();
    let stand_in = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("cpp/stand_in");
    let program = dir.join("driver");
    let compiled = Command::new("g++")
        .args([
            "-std=c++17",
            "-O0",
            "-ffp-contract=off",
            "-fno-fast-math",
            "-w",
            "-I",
        ])
        .arg(&stand_in)
        .arg(dir.join("driver.cpp"))
        .arg("-o")
        .arg(&program)
        .status()
        .expect("g++ runs (snn-poplar-host needs it to build)");
    assert!(compiled.success(), "the old-split vertices compile");
    let output = Command::new(&program).output().expect("the driver runs");
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), vertices.len());
    for (line, vertex) in lines.iter().zip(&vertices) {
        let fields: Vec<u32> = line.split(' ').map(|x| x.parse().unwrap()).collect();
        assert_eq!(fields[1], 0, "{} ran", vertex.name);
        assert!(
            fields[2] > 0,
            "{}: no word written by two workers with the per-element split",
            vertex.name
        );
    }
}
