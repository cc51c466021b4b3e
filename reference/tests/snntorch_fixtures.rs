//! The kernels against snnTorch 1.0's own results (reference/fixtures):
//! forward values equal bit for bit, gradients equal or within the bound
//! that reference/fixtures/README.md justifies.

use snn_reference::conformance::report;
use snn_reference::fixtures::default_dir;

#[test]
fn kernels_conform_to_snntorch() {
    let summary = report(&default_dir()).expect("the committed fixtures load");
    assert_eq!(summary.cases.len(), 546, "every recorded case is run");
    for case in &summary.cases {
        assert_eq!(case.error, None, "{}", case.fixture.name);
        assert!(
            case.forward_exact(),
            "{}: forward differs",
            case.fixture.name
        );
        assert!(
            !case.arrays.is_empty(),
            "{}: nothing compared",
            case.fixture.name
        );
    }
    assert_eq!(summary.failures(), 0, "{}", summary.text());
    // the f32 forward values are all compared, none skipped
    for case in summary.cases.iter().filter(|c| c.fixture.dtype == "f32") {
        for array in &case.arrays {
            assert!(
                !array.skipped,
                "{}: {} skipped",
                case.fixture.name, array.name
            );
        }
    }
}
