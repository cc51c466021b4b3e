//! The kernels against snnTorch 1.0's own results (reference/fixtures):
//! forward values equal bit for bit, gradients equal or within the bound
//! that reference/fixtures/README.md justifies.

use snn_reference::conformance::{report, NotCompared};
use snn_reference::fixtures::default_dir;

#[test]
fn kernels_conform_to_snntorch() {
    let summary = report(&default_dir()).expect("the committed fixtures load");
    assert_eq!(summary.cases.len(), 546, "every recorded case is run");
    for case in &summary.cases {
        assert_eq!(case.error, None, "{}", case.fixture.name);
        // (the 8 f16 cases with nothing comparable are checked below)
        assert!(
            case.forward_exact() || case.compared() == 0,
            "{}: forward differs",
            case.fixture.name
        );
        assert!(
            !case.arrays.is_empty(),
            "{}: no array read",
            case.fixture.name
        );
    }
    assert_eq!(summary.failures(), 0, "{}", summary.text());
    // every array of an f32 case is compared; in the f16 cases exactly the
    // arrays snnTorch computed partly in f32 are not (its f32 spikes)
    let mut not_compared = 0;
    for case in &summary.cases {
        for array in &case.arrays {
            match array.not_compared {
                None => {}
                Some(reason) => {
                    assert_eq!(
                        case.fixture.dtype, "f16",
                        "{}: {} not compared",
                        case.fixture.name, array.name
                    );
                    let expected = if array.name.starts_with("grad") {
                        NotCompared::MixedPrecisionGradient
                    } else {
                        NotCompared::ReturnedF32
                    };
                    assert_eq!(reason, expected, "{}: {}", case.fixture.name, array.name);
                    not_compared += 1;
                }
            }
        }
    }
    assert_eq!(not_compared, 170, "arrays not compared");
    // and the report lists them by array with the reason
    let text = summary.text();
    assert!(text.contains("170 arrays not compared"), "{text}");
    assert!(
        text.contains("| spikes | 24 | snnTorch returned it as f32"),
        "{text}"
    );
    // the f16 cases with nothing left to compare are not counted as exact
    let empty: Vec<&str> = summary
        .cases
        .iter()
        .filter(|c| c.compared() == 0)
        .map(|c| c.fixture.name.as_str())
        .collect();
    assert_eq!(empty.len(), 8, "{empty:?}");
    assert!(empty
        .iter()
        .all(|n| n.starts_with("leaky-") && n.ends_with("-f16") && !n.contains("-none-")));
    for case in summary.cases.iter().filter(|c| c.compared() == 0) {
        assert!(!case.forward_exact() && !case.all_exact());
    }
}
