//! The generator's own guarantees: the same input gives the same bytes,
//! the C++ follows the Rust kernels (one source), and the output is what the
//! manifest says.

use snn_codelet_gen::manifest::{from_json, Element};
use snn_codelet_gen::{builtin_models, generate, Length, Options, SurrogateDef, VertexKind};
use snn_kernels::surrogate::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use snn_kernels::Real;

#[test]
fn generation_is_deterministic() {
    let a = generate(&Options::default());
    let b = generate(&Options::default());
    assert_eq!(a.cpp, b.cpp, "same kernels, same bytes");
    assert_eq!(a.manifest_json(), b.manifest_json());
    assert_eq!(
        a.host_harness("codelets.cpp"),
        b.host_harness("codelets.cpp")
    );
}

/// A surrogate defined outside the kernels crate, as a user would.
#[derive(Clone, Copy, Debug)]
struct Box2 {
    width: f64,
}

impl Surrogate for Box2 {
    const NAME: &'static str = "box2";
    const CONSTANTS: &'static [&'static str] = &["half_width", "height"];
    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.width / 2.0, 1.0 / self.width, 0.0, 0.0]
    }
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        // 1/width inside |z| <= width/2
        T::select(z.abs().le(c[0]), c[1] * grad, T::zero())
    }
}

/// The same surrogate with one operation changed (a scratch edit).
#[derive(Clone, Copy, Debug)]
struct Box2Edited;

impl Surrogate for Box2Edited {
    const NAME: &'static str = "box2";
    const CONSTANTS: &'static [&'static str] = &["half_width", "height"];
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        T::select(z.abs().lt(c[0]), grad / c[1], T::zero())
    }
}

fn with_surrogate(code: SurrogateDef) -> snn_codelet_gen::Generated {
    let mut models = builtin_models();
    models.truncate(1); // Leaky is enough
    generate(&Options {
        models,
        surrogates: vec![code],
        ..Options::default()
    })
}

#[test]
fn a_user_surrogate_gets_vertices_and_its_code_follows_the_rust() {
    let original = with_surrogate(SurrogateDef::of::<Box2>());
    let edited = with_surrogate(SurrogateDef::of::<Box2Edited>());
    // vertices named after it, with its constants as members
    let names: Vec<&str> = original
        .vertices
        .iter()
        .filter(|v| v.kind == VertexKind::BackwardSequence)
        .map(|v| v.name.as_str())
        .collect();
    assert!(names.contains(&"snn::LeakyBwdSeq<float,snn::subtract,snn::scalar,snn::box2>"));
    assert!(original.cpp.contains(
        "template class snn::LeakyBwdSeq<half, snn::subtract, snn::per_neuron, snn::box2>;"
    ));
    let v = original
        .vertices
        .iter()
        .find(|v| v.surrogate.as_deref() == Some("box2"))
        .unwrap();
    assert_eq!(v.surrogate_constants, ["half_width", "height"]);
    // the traced operations are the Rust ones: `<=` and `c1 * grad` ...
    let body = |g: &snn_codelet_gen::Generated| {
        let start = g.cpp.find("struct box2 {").unwrap();
        let end = start + g.cpp[start..].find("};").unwrap();
        g.cpp[start..end].to_string()
    };
    let (before, after) = (body(&original), body(&edited));
    assert!(before.contains("<= c0"), "{before}");
    assert!(before.contains("= c1 * grad;"), "{before}");
    // ... and editing the Rust changes the C++ accordingly
    assert!(after.contains("< c0"), "{after}");
    assert!(after.contains("= grad / c1;"), "{after}");
    assert_ne!(before, after);
    // the rest of the file does not depend on the surrogate's body
    assert_eq!(
        original.cpp.replace(&before, ""),
        edited.cpp.replace(&after, "")
    );
}

#[test]
fn half_operations_round_once_per_statement_and_literals_are_float() {
    let g = generate(&Options::default());
    let start = g
        .cpp
        .find("class LeakyFwdSeq<half, subtract, scalar>")
        .unwrap();
    let class = &g.cpp[start..start + g.cpp[start..].find("};").unwrap()];
    assert!(
        class.contains("half(float(s_mem) - float(p_threshold))"),
        "{class}"
    );
    // no double anywhere: every literal carries the f suffix
    for line in g.cpp.lines().filter(|l| l.contains("0x1")) {
        assert!(!line.contains("p+0 ") && !line.contains("p+0)"), "{line}");
    }
    // no double anywhere in the code (the header's comment names the
    // -Wdouble-promotion flag)
    let code: String = g
        .cpp
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect();
    assert!(!code.contains("double"));
}

#[test]
fn every_vertex_is_in_the_manifest_once() {
    let g = generate(&Options::default());
    let mut names: Vec<&str> = g.vertices.iter().map(|v| v.name.as_str()).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count, "names are unique");
    // 42 configurations x 2 precisions x 2 parameter modes x
    // (forward step + forward sequence + 10 backward), and the training
    // step's 10 (dense 4, optimisers 2, readout and loss 4)
    assert_eq!(count, 42 * 2 * 2 * 12 + 10);
    for v in &g.vertices {
        let head = match v.kind {
            VertexKind::BackwardSequence => {
                let (stem, _) = v.name.rsplit_once(',').unwrap();
                format!("{}>", stem.replace("snn::", "").replace(',', ", "))
            }
            _ => v.name.replace("snn::", "").replace(',', ", "),
        };
        let head = head.trim_end_matches('>');
        assert!(g.cpp.contains(head), "{} has no class", v.name);
    }
}

#[test]
fn codelets_take_the_forms_poplar_accepts() {
    let g = generate(&Options::default());
    // bool compute(unsigned workerId) ... return true; in every class
    let classes = g.cpp.matches(" : public poplar::MultiVertex {").count();
    assert_eq!(classes, 42 * 2 * 2 * 3 + 10);
    assert_eq!(
        g.cpp.matches("  bool compute(unsigned workerId) {").count(),
        classes
    );
    assert_eq!(g.cpp.matches("    return true;\n  }\n};").count(), classes);
    assert!(!g.cpp.contains("void compute"));
    // bit casts through memcpy, never __builtin_bit_cast
    assert!(!g.cpp.contains("__builtin_bit_cast"));
    assert!(g.cpp.contains("__builtin_memcpy"));
    // every field declares its 8-byte alignment
    for line in g.cpp.lines().filter(|l| l.contains("poplar::Vector<")) {
        assert!(
            line.contains(", poplar::VectorLayout::SPAN, 8>>")
                || line.contains(", poplar::VectorLayout::ONE_PTR, 8>>"),
            "{line}"
        );
    }
}

#[test]
fn half_vertices_give_each_worker_whole_words() {
    let g = generate(&Options::default());
    for v in &g.vertices {
        assert!(v.fields.iter().all(|f| f.alignment == 8), "{}", v.name);
        match v.precision {
            Element::Half => assert_eq!((v.worker_grain, v.element_multiple), (4, 2), "{}", v.name),
            Element::Float => {
                assert_eq!((v.worker_grain, v.element_multiple), (1, 1), "{}", v.name)
            }
        }
    }
    let start = g
        .cpp
        .find("class LeakyFwdSeq<half, zero, per_neuron>")
        .unwrap();
    let class = &g.cpp[start..start + g.cpp[start..].find("};").unwrap()];
    assert!(
        class.contains("for (unsigned group = workerId; group < groups; group += numWorkers())"),
        "{class}"
    );
    let start = g
        .cpp
        .find("class LeakyFwdSeq<float, zero, per_neuron>")
        .unwrap();
    let class = &g.cpp[start..start + g.cpp[start..].find("};").unwrap()];
    assert!(
        class.contains("for (unsigned i = workerId; i < n; i += numWorkers())"),
        "{class}"
    );
}

#[test]
fn the_manifest_reads_back_as_written_with_typed_lengths() {
    let g = generate(&Options::default());
    let back = from_json(&g.manifest_json()).expect("reads back");
    assert_eq!(back, g.vertices);
    let v = back
        .iter()
        .find(|v| v.name == "snn::LeakyBwdSeq<half,snn::subtract,snn::scalar,snn::atan>")
        .unwrap();
    assert_eq!(
        v.field("x"),
        None,
        "Leaky with reset_delay does not read its inputs backward"
    );
    assert_eq!(v.field("grad_x").unwrap().length, Length::StepsByElements);
    assert_eq!(
        v.field("grad_prepared").unwrap().length,
        Length::RowsByElements(3)
    );
    assert_eq!(v.field("initial_mem").unwrap().length, Length::Elements);
    assert_eq!(v.surrogate_constants, ["half_alpha", "half_pi_alpha"]);
    // a manifest from another format is refused with a message
    let old = g
        .manifest_json()
        .replacen("\"format\": 2", "\"format\": 1", 1);
    assert!(from_json(&old).unwrap_err().contains("format 1"));
    assert!(from_json("{}").is_err());
}
