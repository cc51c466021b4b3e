//! A surrogate defined in your own crate gets IPU vertices too: implement
//! `snn_kernels::surrogate::Surrogate` once, and the same Rust runs natively
//! (through `snn_kernels::Layer`) and is traced into C++ by the generator.
//!
//! ```text
//! cargo run -p snn-codelet-gen --example custom_surrogate -- [OUT_DIR]
//! ```

use snn_codelet_gen::{builtin_surrogates, generate, Options, SurrogateDef, VertexKind};
use snn_kernels::surrogate::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use snn_kernels::Real;

/// A rectangular surrogate: `S'(z) = 1/width` for `|z| <= width/2`, else 0.
#[derive(Clone, Copy, Debug)]
struct Rectangle {
    width: f64,
}

impl Surrogate for Rectangle {
    const NAME: &'static str = "rectangle";
    const CONSTANTS: &'static [&'static str] = &["half_width", "height"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.width / 2.0, 1.0 / self.width, 0.0, 0.0]
    }

    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        T::select(z.abs().le(c[0]), c[1] * grad, T::zero())
    }
}

fn main() {
    let mut surrogates = builtin_surrogates();
    surrogates.push(SurrogateDef::of::<Rectangle>());
    let options = Options {
        surrogates,
        ..Options::default()
    };
    let generated = generate(&options);

    let start = generated.cpp.find("struct rectangle {").expect("traced");
    let end = start + generated.cpp[start..].find("};").expect("closed") + 2;
    println!(
        "The surrogate, traced from its Rust `grad`:\n\n{}\n",
        &generated.cpp[start..end]
    );
    let vertices: Vec<&str> = generated
        .vertices
        .iter()
        .filter(|v| {
            v.kind == VertexKind::BackwardSequence && v.surrogate.as_deref() == Some("rectangle")
        })
        .map(|v| v.name.as_str())
        .collect();
    println!("{} backward vertices use it, for example:", vertices.len());
    for name in vertices.iter().take(4) {
        println!("  {name}");
    }
    // and natively: the same `grad`, here at z = 0.1 with width 1
    let surrogate = Rectangle { width: 1.0 };
    let c = surrogate.constants().map(|v| v as f32);
    println!(
        "\nnative: dL/dz at z = 0.1 for dL/dh = 1 is {}",
        Rectangle::grad(0.1f32, 1.0, &c, 0.0)
    );
    if let Some(dir) = std::env::args().nth(1) {
        std::fs::create_dir_all(&dir).expect("create the folder");
        std::fs::write(format!("{dir}/codelets.cpp"), &generated.cpp).expect("write");
        std::fs::write(format!("{dir}/manifest.json"), generated.manifest_json()).expect("write");
        println!("wrote {dir}/codelets.cpp and {dir}/manifest.json");
    }
}
