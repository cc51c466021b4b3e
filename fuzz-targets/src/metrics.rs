//! The reader of `--metrics FILE.csv` (`snn_ipu::report::csv::parse`), run
//! on the metrics file a resumed training run continues.

use snn_ipu::report::csv::{parse, row, HEADER};
use snn_ipu::train::EpochMetrics;

/// The bits of every field (a NaN is written `NaN`, so any NaN is one).
fn key(m: &EpochMetrics) -> [u64; 9] {
    let bits = |x: f64| if x.is_nan() { u64::MAX } else { x.to_bits() };
    let scale = if m.loss_scale.is_nan() {
        u64::MAX
    } else {
        u64::from(m.loss_scale.to_bits())
    };
    [
        m.epoch as u64,
        bits(m.loss),
        bits(m.train_accuracy),
        bits(m.test_loss),
        bits(m.test_accuracy),
        bits(m.samples_per_second),
        bits(m.seconds),
        m.skipped_steps,
        scale,
    ]
}

/// The fuzz target of the metrics reader: `parse` on the input; what it
/// reads must be consistent (a line end after each row, epochs going up,
/// everything read but an unfinished last line) and, written again with
/// `row`, read back the same.
pub fn metrics_csv(data: &[u8]) {
    let Ok(table) = parse(data) else {
        return;
    };
    assert_eq!(table.rows.len(), table.ends.len());
    let mut start = table.header_end;
    for (m, &end) in table.rows.iter().zip(&table.ends) {
        assert!(end > start && data[end - 1] == b'\n', "row end {end}");
        assert!(m.epoch >= 1);
        start = end;
    }
    assert!(table.rows.windows(2).all(|w| w[0].epoch < w[1].epoch));
    assert_eq!(
        table.unfinished,
        start < data.len(),
        "all read but an unfinished line"
    );
    let mut again = format!("{HEADER}\n");
    for m in &table.rows {
        again.push_str(&row(m));
    }
    let reread = parse(again.as_bytes()).expect("written rows are read");
    let keys = |rows: &[EpochMetrics]| rows.iter().map(key).collect::<Vec<_>>();
    assert_eq!(
        keys(&reread.rows),
        keys(&table.rows),
        "row then parse changed a row"
    );
}
