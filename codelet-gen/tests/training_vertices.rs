//! The training step's vertices (dense layers, optimisers, readout and
//! loss) are in the manifest with the fields, lengths and members a graph
//! builder binds, and their bodies are the kernels' per-element steps.

use snn_codelet_gen::{generate, Direction, Length, MemberRole, Options, Size, VertexKind};

fn m(role: MemberRole) -> Size {
    Size::Member(role)
}

#[test]
fn the_manifest_lists_the_training_vertices() {
    let g = generate(&Options::default());
    let expected = [
        ("snn::DenseFwd<float>", VertexKind::DenseForward),
        ("snn::DenseBwdInput<float>", VertexKind::DenseGradInput),
        ("snn::DenseBwdWeights<float>", VertexKind::DenseGradWeights),
        ("snn::DenseBwdBias<float>", VertexKind::DenseGradBias),
        ("snn::AdamUpdate<float>", VertexKind::AdamUpdate),
        ("snn::SgdUpdate<float>", VertexKind::SgdUpdate),
        ("snn::PopulationCount<float>", VertexKind::SpikeCount),
        (
            "snn::PopulationCountBwd<float>",
            VertexKind::SpikeCountBackward,
        ),
        (
            "snn::CountCrossEntropy<float>",
            VertexKind::CountCrossEntropy,
        ),
        ("snn::CountLossTotal<float>", VertexKind::CountLossTotal),
    ];
    for (name, kind) in expected {
        let v = g
            .vertices
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("{name} is not in the manifest"));
        assert_eq!(v.kind, kind, "{name}");
        assert!(!kind.is_neuron());
        assert!(g.cpp.contains(&format!(
            "class {}<float> : public poplar::MultiVertex",
            kind.suffix()
        )));
    }
    let forward = g
        .vertices
        .iter()
        .find(|v| v.name == "snn::DenseFwd<float>")
        .unwrap();
    use MemberRole::{Inputs, Outputs, Rows};
    let product = |a, b| Length::Product([a, b, Size::One, Size::One]);
    assert_eq!(
        forward.field("y").unwrap().length,
        product(m(Rows), m(Outputs))
    );
    assert_eq!(forward.field("y").unwrap().direction, Direction::Output);
    assert_eq!(
        forward.field("x").unwrap().length,
        product(m(Rows), m(Inputs))
    );
    assert_eq!(
        forward.field("w").unwrap().length,
        product(m(Outputs), m(Inputs))
    );
    assert_eq!(
        forward.field("b").unwrap().length,
        product(m(Outputs), Size::One)
    );
    let weights = g
        .vertices
        .iter()
        .find(|v| v.name == "snn::DenseBwdWeights<float>")
        .unwrap();
    assert_eq!(weights.field("dw").unwrap().direction, Direction::InOut);
    assert_eq!(
        weights.field("dy").unwrap().length.to_string(),
        "(rows - 1) x outputs + output_count"
    );
    let resolve = |role: MemberRole| match role {
        MemberRole::Rows => Some(3),
        MemberRole::Outputs => Some(5),
        MemberRole::OutputCount => Some(2),
        _ => None,
    };
    assert_eq!(
        weights.field("dy").unwrap().length.resolve(8, &resolve),
        Some(12)
    );
    assert_eq!(
        weights.field("dy").unwrap().length.resolve(8, &|_| Some(0)),
        Some(0),
        "no rows, no values"
    );
    // a length that needs a member the caller does not know is unknown
    assert_eq!(weights.field("dy").unwrap().length.of(8, 1), None);
}

#[test]
fn dense_bodies_are_the_defined_sums() {
    let g = generate(&Options::default());
    let start = g.cpp.find("class DenseFwd<float>").unwrap();
    let class = &g.cpp[start..start + g.cpp[start..].find("};").unwrap()];
    // from -0, one product and one sum per term, then the bias
    assert!(class.contains("float acc = -0x0p+0f;"), "{class}");
    assert!(
        class.contains("for (unsigned k = 0u; k < inputs; ++k)"),
        "{class}"
    );
    assert!(
        class.contains("const float r0 = x[((row * inputs) + k)] * w[((col * inputs) + k)];"),
        "{class}"
    );
    assert!(class.contains("const float r1 = acc + r0;"), "{class}");
    assert!(class.contains("const float r0 = acc + b[col];"), "{class}");
}
