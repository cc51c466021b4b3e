//! The reference alone against snnTorch 1.0's own results
//! (`reference/fixtures/`): every recorded case reads into a [`Case`], and
//! the reference's forward values (spikes and every state at every step)
//! equal snnTorch's bit for bit. The gradients are left to the checker's
//! conformance report, which bounds their differences.

use snn_reference_independent::fixtures::{default_dir, Fixtures};
use snn_reference_independent::run;

#[test]
fn the_reference_computes_snntorch_forward_values_bit_for_bit() {
    let fixtures = Fixtures::load(&default_dir()).expect("the committed fixtures load");
    assert_eq!(
        fixtures.index.cases.len(),
        546,
        "every recorded case is read"
    );
    let mut compared = 0;
    for fixture in &fixtures.index.cases {
        let case = fixtures
            .case(fixture)
            .unwrap_or_else(|e| panic!("{}: {e}", fixture.name));
        let n = case.steps * case.elements();
        assert_eq!(case.inputs[0].len(), n, "{}: x", fixture.name);
        let outcome = run(&case);
        let states = case.model.stored_states();
        let ours = std::iter::once(("spikes".to_string(), &outcome.spikes)).chain(
            states
                .iter()
                .zip(&outcome.states)
                .map(|(name, values)| (format!("state.{name}"), values)),
        );
        for (name, values) in ours {
            // snnTorch's f16 cases return some arrays in f32 (its spikes
            // are f32): those are not values of the case's precision
            let promoted = fixture
                .returned_dtypes
                .get(&name)
                .is_some_and(|d| d.iter().any(|t| t != &fixture.dtype));
            if promoted {
                continue;
            }
            let theirs = fixtures
                .array(fixture, &name)
                .unwrap_or_else(|| panic!("{}: no array {name}", fixture.name));
            assert_eq!(values.len(), theirs.len(), "{}: {name}", fixture.name);
            for (i, (a, b)) in values.iter().zip(&theirs).enumerate() {
                assert!(
                    a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(),
                    "{}: {name}[{i}]: reference {a:e}, snnTorch {b:e}",
                    fixture.name
                );
            }
            compared += values.len();
        }
    }
    // as many as the conformance report compares (reference/fixtures/README.md)
    assert_eq!(compared, 96_624, "forward values compared");
}
