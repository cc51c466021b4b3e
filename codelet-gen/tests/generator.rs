//! The generator's own guarantees: the same input gives the same bytes,
//! the C++ follows the Rust kernels (one source), and the output is what the
//! manifest says.

use snn_codelet_gen::vertices::{builtin_models, SurrogateCode};
use snn_codelet_gen::{generate, Options, VertexKind};
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

fn with_surrogate(code: SurrogateCode) -> snn_codelet_gen::Generated {
    let mut models = builtin_models();
    models.truncate(1); // Leaky is enough
    generate(&Options {
        models,
        surrogates: vec![code],
    })
}

#[test]
fn a_user_surrogate_gets_vertices_and_its_code_follows_the_rust() {
    let original = with_surrogate(SurrogateCode::of::<Box2>());
    let edited = with_surrogate(SurrogateCode::of::<Box2Edited>());
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
    assert!(!g.cpp.contains("double"));
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
    // (forward step + forward sequence + 10 backward)
    assert_eq!(count, 42 * 2 * 2 * 12);
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
