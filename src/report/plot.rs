//! `--plot FILE.png`: the loss and accuracy curves of a run.
//!
//! A [`WIDTH`] x [`HEIGHT`] PNG (8-bit palette) with a title and two panels,
//! one above the other, both against the epoch:
//!
//! - LOSS: the training loss (mean over the epoch's batches) and the test
//!   loss after the epoch;
//! - ACCURACY: training and test accuracy, in percent.
//!
//! Training is blue with filled square markers, test orange with hollow
//! ones (drawn when the points are at least 8 pixels apart); the legend is
//! above each panel, on the right. Each panel has a frame, light grid
//! lines at the ticks, and tick labels: the epochs below (whole numbers,
//! 1, 2 or 5 times a power of ten apart), the values on the left (a range
//! rounded out to such a step, about five ticks, decimals as the step
//! needs, `1.0E6`-style past a million or below a ten thousandth). The
//! first and last epochs are at [`INSET`] pixels inside the frame's left
//! and right edges (a single epoch in the middle), and the lowest and
//! highest ticks as far inside its bottom and top. The points are taken in
//! the order given, and a segment joins two consecutive points whose epochs
//! follow each other.
//!
//! A value that is not finite, or beyond 1e300 in size, is left out (the
//! curve breaks there); a panel without a value to show keeps its frame
//! and a 0-to-1 scale. No metrics at all make a plot with empty panels.
//!
//! The text is drawn with the 5x7 bitmap letters of this module (capitals,
//! digits and a few signs), so the picture is the same on every machine,
//! and the file the same bytes for the same metrics.

use std::path::Path;

use super::FileError;
use crate::train::EpochMetrics;

/// Width of the picture in pixels.
pub const WIDTH: u32 = 960;
/// Height of the picture in pixels.
pub const HEIGHT: u32 = 870;
/// Pixels between a panel's frame and the outermost data points or ticks.
pub const INSET: i32 = 12;

/// The colours (the PNG's palette, in index order).
const PALETTE: [[u8; 3]; 6] = [
    [255, 255, 255], // background
    [0, 0, 0],       // frame, text
    [228, 228, 228], // grid
    [90, 90, 90],    // tick labels
    [31, 119, 180],  // train
    [255, 127, 14],  // test
];
const WHITE: u8 = 0;
const BLACK: u8 = 1;
const GRID: u8 = 2;
const LABEL: u8 = 3;
const TRAIN: u8 = 4;
const TEST: u8 = 5;

/// The colour of the training curves, as RGB.
pub const TRAIN_RGB: [u8; 3] = PALETTE[TRAIN as usize];
/// The colour of the test curves, as RGB.
pub const TEST_RGB: [u8; 3] = PALETTE[TEST as usize];

/// The frames of the two panels: left, top, right, bottom (inclusive).
const LOSS_FRAME: Frame = Frame {
    left: 110,
    top: 80,
    right: 930,
    bottom: 400,
};
const ACCURACY_FRAME: Frame = Frame {
    left: 110,
    top: 472,
    right: 930,
    bottom: 792,
};

/// The PNG of the curves of `metrics` (see the module documentation).
pub fn png(metrics: &[EpochMetrics]) -> Result<Vec<u8>, String> {
    let canvas = render(metrics);
    let mut bytes = Vec::new();
    let mut encoder = ::png::Encoder::new(&mut bytes, WIDTH, HEIGHT);
    encoder.set_color(::png::ColorType::Indexed);
    encoder.set_depth(::png::BitDepth::Eight);
    encoder.set_palette(PALETTE.concat());
    encoder.set_compression(::png::Compression::Balanced);
    encoder.set_filter(::png::Filter::NoFilter);
    let mut writer = encoder
        .write_header()
        .map_err(|e| format!("cannot encode the PNG: {e}"))?;
    writer
        .write_image_data(&canvas.pixels)
        .and_then(|()| writer.finish())
        .map_err(|e| format!("cannot encode the PNG: {e}"))?;
    Ok(bytes)
}

/// Writes the plot of `metrics` to `path` (replacing a file that is there).
pub fn write_png(path: &Path, metrics: &[EpochMetrics]) -> Result<(), FileError> {
    let bytes = png(metrics).map_err(|e| FileError::new(path, e))?;
    std::fs::write(path, bytes).map_err(|e| FileError::io(path, "cannot write the plot", &e))
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    left: i32,
    top: i32,
    right: i32,
    bottom: i32,
}

/// Palette indices, row by row.
struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            pixels: vec![WHITE; (WIDTH * HEIGHT) as usize],
        }
    }

    fn set(&mut self, x: i32, y: i32, colour: u8) {
        if (0..WIDTH as i32).contains(&x) && (0..HEIGHT as i32).contains(&y) {
            self.pixels[y as usize * WIDTH as usize + x as usize] = colour;
        }
    }

    fn rect(&mut self, x0: i32, y0: i32, x1: i32, y1: i32, colour: u8) {
        for y in y0..=y1 {
            for x in x0..=x1 {
                self.set(x, y, colour);
            }
        }
    }

    /// A line two pixels wide from `a` to `b`.
    fn line(&mut self, a: (i32, i32), b: (i32, i32), colour: u8) {
        let (mut x, mut y) = a;
        let (dx, dy) = ((b.0 - x).abs(), -(b.1 - y).abs());
        let (sx, sy) = (if x < b.0 { 1 } else { -1 }, if y < b.1 { 1 } else { -1 });
        let mut error = dx + dy;
        loop {
            self.rect(x, y, x + 1, y + 1, colour);
            if (x, y) == b {
                break;
            }
            let twice = 2 * error;
            if twice >= dy {
                error += dy;
                x += sx;
            }
            if twice <= dx {
                error += dx;
                y += sy;
            }
        }
    }

    /// A marker centred on `at`: a filled square, or a hollow one.
    fn marker(&mut self, at: (i32, i32), colour: u8, filled: bool) {
        let (x, y) = at;
        self.rect(x - 3, y - 3, x + 4, y + 4, colour);
        if !filled {
            self.rect(x - 1, y - 1, x + 2, y + 2, WHITE);
        }
    }

    /// `text` with its top left corner at `(x, y)`, each dot of the letters
    /// `scale` pixels square.
    fn text(&mut self, x: i32, y: i32, text: &str, scale: i32, colour: u8) {
        for (i, c) in text.chars().enumerate() {
            let left = x + i as i32 * 6 * scale;
            for (row, bits) in glyph(c).iter().enumerate() {
                for column in 0..5 {
                    if bits & (0x10 >> column) != 0 {
                        let (px, py) = (left + column * scale, y + row as i32 * scale);
                        self.rect(px, py, px + scale - 1, py + scale - 1, colour);
                    }
                }
            }
        }
    }
}

/// Width in pixels of `text` drawn at `scale`.
fn text_width(text: &str, scale: i32) -> i32 {
    (text.chars().count() as i32 * 6 - 1).max(0) * scale
}

/// The 5x7 letter of `c` (rows top down, the leftmost dot the bit 0x10):
/// capitals (small letters are drawn as capitals), digits, `.%-()+:/,`
/// and space; any other character is a `?`.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
        'B' => [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
        'C' => [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
        'D' => [0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e],
        'E' => [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
        'F' => [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
        'G' => [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
        'H' => [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
        'I' => [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
        'M' => [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
        'P' => [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
        'Q' => [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
        'R' => [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
        'S' => [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
        'T' => [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
        'X' => [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04],
        'Z' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
        '0' => [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
        '1' => [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
        '2' => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
        '3' => [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
        '4' => [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
        '5' => [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
        '6' => [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
        '7' => [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
        '9' => [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c],
        ',' => [0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08],
        '%' => [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
        '-' => [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
        '+' => [0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00],
        '(' => [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
        ')' => [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
        ':' => [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        ' ' => [0; 7],
        _ => [0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
    }
}

/// The largest value shown.
const LIMIT: f64 = 1e300;

/// An axis: the range `lo..=hi` and the step between ticks.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    /// About five ticks 1, 2 or 5 times a power of ten apart, the range
    /// rounded out to them, for values `lo..=hi` (finite, within
    /// [`LIMIT`]); at least `min_step` apart.
    fn new(lo: f64, hi: f64, min_step: f64) -> Axis {
        let (mut lo, mut hi) = (lo, hi);
        // A range too narrow to label: widened around its middle.
        let least = (lo.abs().max(hi.abs()) * 1e-6).max(1e-12);
        if hi - lo < least {
            let middle = lo / 2.0 + hi / 2.0;
            lo = middle - least / 2.0;
            hi = middle + least / 2.0;
        }
        let raw = (hi - lo) / 5.0;
        let power = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * power)
            .find(|&s| s >= raw)
            .unwrap_or(10.0 * power)
            .max(min_step);
        Axis {
            lo: (lo / step).floor() * step,
            hi: (hi / step).ceil() * step,
            step,
        }
    }

    /// The ticks from `lo` to `hi`.
    fn ticks(&self) -> Vec<f64> {
        let first = (self.lo / self.step).round() as i64;
        let last = (self.hi / self.step).round() as i64;
        (first..=last).map(|i| i as f64 * self.step).collect()
    }

    /// The label of the tick `value` (`suffix` appended).
    fn label(&self, value: f64, suffix: &str) -> String {
        let big = self.lo.abs().max(self.hi.abs());
        if big >= 1e6 || self.step < 1e-4 {
            let text = format!("{value:.1e}");
            return format!("{}{suffix}", if value == 0.0 { "0" } else { &text });
        }
        let decimals = (-self.step.log10().floor()).max(0.0) as usize;
        let text = format!("{value:.decimals$}");
        // No "-0".
        let text = if text
            .trim_start_matches('-')
            .chars()
            .all(|c| c == '0' || c == '.')
        {
            text.trim_start_matches('-').to_string()
        } else {
            text
        };
        format!("{text}{suffix}")
    }
}

/// Maps values to pixels along one direction: `lo` to `from`, `hi` to `to`.
/// (An empty range, as epochs past 2^53 make, maps to the middle.)
fn map(value: f64, axis: &Axis, from: i32, to: i32) -> i32 {
    if axis.hi <= axis.lo {
        return (from + to) / 2;
    }
    let t = (value - axis.lo) / (axis.hi - axis.lo);
    (f64::from(from) + t * f64::from(to - from)).round() as i32
}

/// The axis of the values of `curves` (those shown), or `0..=1`.
fn value_axis(curves: &[&[(f64, f64)]]) -> Axis {
    let values = curves.iter().flat_map(|c| c.iter().map(|p| p.1));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        Axis::new(0.0, 1.0, 0.0)
    } else {
        Axis::new(lo, hi, 0.0)
    }
}

/// The points of a curve that are shown.
fn points(metrics: &[EpochMetrics], value: impl Fn(&EpochMetrics) -> f64) -> Vec<(f64, f64)> {
    metrics
        .iter()
        .map(|m| (m.epoch as f64, value(m)))
        .filter(|&(_, v)| v.is_finite() && v.abs() <= LIMIT)
        .collect()
}

/// Draws the plot.
fn render(metrics: &[EpochMetrics]) -> Canvas {
    let mut canvas = Canvas::new();
    let title = "TRAINING: LOSS AND ACCURACY BY EPOCH";
    canvas.text(
        (WIDTH as i32 - text_width(title, 3)) / 2,
        16,
        title,
        3,
        BLACK,
    );
    let first = metrics.iter().map(|m| m.epoch).min().unwrap_or(1) as f64;
    let last = metrics.iter().map(|m| m.epoch).max().unwrap_or(1) as f64;
    // The epochs run from the first to the last (not to rounded ends); a
    // single epoch is in the middle.
    let (lo, hi) = if last > first {
        (first, last)
    } else {
        (first - 0.5, first + 0.5)
    };
    let epochs = Axis {
        lo,
        hi,
        ..Axis::new(lo, hi, 1.0)
    };
    let loss = [
        points(metrics, |m| m.loss),
        points(metrics, |m| m.test_loss),
    ];
    let accuracy = [
        points(metrics, |m| 100.0 * m.train_accuracy),
        points(metrics, |m| 100.0 * m.test_accuracy),
    ];
    panel(&mut canvas, LOSS_FRAME, "LOSS", "", &epochs, &loss);
    panel(
        &mut canvas,
        ACCURACY_FRAME,
        "ACCURACY",
        "%",
        &epochs,
        &accuracy,
    );
    let label = "EPOCH";
    canvas.text(
        (ACCURACY_FRAME.left + ACCURACY_FRAME.right - text_width(label, 2)) / 2,
        ACCURACY_FRAME.bottom + 44,
        label,
        2,
        BLACK,
    );
    canvas
}

/// One panel: frame, grid, ticks, labels, legend and the two curves
/// (train, test).
fn panel(
    canvas: &mut Canvas,
    frame: Frame,
    name: &str,
    suffix: &str,
    epochs: &Axis,
    curves: &[Vec<(f64, f64)>; 2],
) {
    let values = value_axis(&[&curves[0], &curves[1]]);
    let (left, right) = (frame.left + INSET, frame.right - INSET);
    let (bottom, top) = (frame.bottom - INSET, frame.top + INSET);
    let x = |v: f64| map(v, epochs, left, right);
    let y = |v: f64| map(v, &values, bottom, top);

    // Grid and ticks.
    for tick in epochs
        .ticks()
        .into_iter()
        .filter(|&t| t >= epochs.lo && t <= epochs.hi)
    {
        let px = x(tick);
        canvas.rect(px, frame.top + 1, px, frame.bottom - 1, GRID);
        canvas.rect(px, frame.bottom, px, frame.bottom + 5, BLACK);
        let text = epochs.label(tick, "");
        canvas.text(
            px - text_width(&text, 2) / 2,
            frame.bottom + 10,
            &text,
            2,
            LABEL,
        );
    }
    for tick in values.ticks() {
        let py = y(tick);
        canvas.rect(frame.left + 1, py, frame.right - 1, py, GRID);
        canvas.rect(frame.left - 5, py, frame.left, py, BLACK);
        let text = values.label(tick, suffix);
        canvas.text(
            frame.left - 10 - text_width(&text, 2),
            py - 7,
            &text,
            2,
            LABEL,
        );
    }
    // Frame.
    canvas.rect(frame.left, frame.top, frame.right, frame.top, BLACK);
    canvas.rect(frame.left, frame.bottom, frame.right, frame.bottom, BLACK);
    canvas.rect(frame.left, frame.top, frame.left, frame.bottom, BLACK);
    canvas.rect(frame.right, frame.top, frame.right, frame.bottom, BLACK);

    // Name and legend above the frame.
    canvas.text(frame.left, frame.top - 24, name, 2, BLACK);
    let mut at = frame.right;
    for (label, colour, filled) in [("TEST", TEST, false), ("TRAIN", TRAIN, true)] {
        at -= text_width(label, 2);
        canvas.text(at, frame.top - 24, label, 2, BLACK);
        let middle = frame.top - 17;
        canvas.line((at - 40, middle), (at - 12, middle), colour);
        canvas.marker((at - 26, middle), colour, filled);
        at -= 64;
    }

    // Curves: segments between consecutive epochs shown, then the markers.
    let spacing = f64::from(right - left) / (epochs.hi - epochs.lo);
    for (curve, colour, filled) in [(&curves[0], TRAIN, true), (&curves[1], TEST, false)] {
        let pixels: Vec<(i32, i32)> = curve.iter().map(|&(e, v)| (x(e), y(v))).collect();
        for (i, pair) in pixels.windows(2).enumerate() {
            if curve[i + 1].0 - curve[i].0 == 1.0 {
                canvas.line(pair[0], pair[1], colour);
            }
        }
        if spacing >= 8.0 || pixels.len() == 1 {
            for &p in &pixels {
                canvas.marker(p, colour, filled);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(epoch: usize, loss: f64, test_loss: f64, train: f64, test: f64) -> EpochMetrics {
        EpochMetrics {
            epoch,
            loss,
            train_accuracy: train,
            test_loss,
            test_accuracy: test,
            samples_per_second: 1000.0,
            seconds: 1.0,
            skipped_steps: 0,
            loss_scale: 1.0,
        }
    }

    /// The picture as RGB rows, decoded from the PNG.
    struct Decoded {
        width: usize,
        height: usize,
        rgb: Vec<u8>,
    }

    impl Decoded {
        fn new(bytes: &[u8]) -> Decoded {
            let mut decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
            decoder.set_transformations(::png::Transformations::EXPAND);
            let mut reader = decoder.read_info().unwrap();
            let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut rgb).unwrap();
            assert_eq!(info.color_type, ::png::ColorType::Rgb);
            rgb.truncate(info.buffer_size());
            Decoded {
                width: info.width as usize,
                height: info.height as usize,
                rgb,
            }
        }

        fn at(&self, x: i32, y: i32) -> [u8; 3] {
            let i = 3 * (y as usize * self.width + x as usize);
            [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
        }

        /// The frame of the panel whose top edge is the `n`-th black run
        /// of pixels down the middle column below the title: found by
        /// looking, not from the drawing code.
        fn frame(&self, n: usize) -> (i32, i32, i32, i32) {
            let x = self.width as i32 / 2;
            let black: Vec<i32> = (60..self.height as i32)
                .filter(|&y| self.at(x, y) == [0, 0, 0])
                .collect();
            let (top, bottom) = (black[2 * n], black[2 * n + 1]);
            // Just inside the top edge nothing but the frame is black.
            let row: Vec<i32> = (0..self.width as i32)
                .filter(|&x| self.at(x, top + 3) == [0, 0, 0])
                .collect();
            (row[0], top, *row.last().unwrap(), bottom)
        }
    }

    /// Where the value `v` of epoch `e` is drawn, by the rule of the module
    /// documentation: epochs `first..=last` and values `lo..=hi` between
    /// the frame's edges less [`INSET`].
    fn pixel(
        frame: (i32, i32, i32, i32),
        (e, first, last): (f64, f64, f64),
        (v, lo, hi): (f64, f64, f64),
    ) -> (i32, i32) {
        let (left, top, right, bottom) = frame;
        let (l, r) = (f64::from(left + INSET), f64::from(right - INSET));
        let (b, t) = (f64::from(bottom - INSET), f64::from(top + INSET));
        (
            (l + (e - first) / (last - first) * (r - l)).round() as i32,
            (b + (v - lo) / (hi - lo) * (t - b)).round() as i32,
        )
    }

    /// Five epochs: train loss 1, 0.75, 0.5, 0.25, 0 (the axis 0 to 1 in
    /// steps of 0.2); test loss 0.3 flat; train accuracy 20% to 100% (the
    /// axis 20% to 100% in steps of 20); test accuracy 70% flat. No two
    /// markers overlap.
    fn known() -> Vec<EpochMetrics> {
        (1..=5)
            .map(|e| {
                let t = (e - 1) as f64 / 4.0;
                metrics(e, 1.0 - t, 0.3, 0.2 + 0.8 * t, 0.7)
            })
            .collect()
    }

    #[test]
    fn the_points_are_where_the_axes_say() {
        let picture = Decoded::new(&png(&known()).unwrap());
        assert_eq!(
            (picture.width, picture.height),
            (WIDTH as usize, HEIGHT as usize)
        );
        let loss = picture.frame(0);
        let accuracy = picture.frame(1);
        assert!(loss.3 < accuracy.1, "{loss:?} {accuracy:?}");
        let white = [255, 255, 255];
        for e in 1..=5 {
            let t = (e - 1) as f64 / 4.0;
            let epoch = (e as f64, 1.0, 5.0);
            // Train: filled markers.
            let (x, y) = pixel(loss, epoch, (1.0 - t, 0.0, 1.0));
            assert_eq!(picture.at(x, y), TRAIN_RGB, "train loss, epoch {e}");
            let (x, y) = pixel(accuracy, epoch, (20.0 + 80.0 * t, 20.0, 100.0));
            assert_eq!(picture.at(x, y), TRAIN_RGB, "train accuracy, epoch {e}");
            // Test: hollow markers, the outline 3 pixels left and 4 right.
            for (frame, v, lo, hi) in [(loss, 0.3, 0.0, 1.0), (accuracy, 70.0, 20.0, 100.0)] {
                let (x, y) = pixel(frame, epoch, (v, lo, hi));
                assert_eq!(picture.at(x - 3, y), TEST_RGB, "test, epoch {e}");
                assert_eq!(picture.at(x + 4, y), TEST_RGB, "test, epoch {e}");
                assert_eq!(picture.at(x, y), white, "hollow, epoch {e}");
            }
        }
        // The train loss line between epochs 1 and 2 passes through the
        // middle of the two points (a line two pixels wide).
        let a = pixel(loss, (1.0, 1.0, 5.0), (1.0, 0.0, 1.0));
        let b = pixel(loss, (2.0, 1.0, 5.0), (0.75, 0.0, 1.0));
        let (mx, my) = ((a.0 + b.0) / 2, (a.1 + b.1) / 2);
        let near = (-1..=1).any(|d| picture.at(mx, my + d) == TRAIN_RGB);
        assert!(near, "no line at ({mx}, {my})");
        // Where no curve goes (loss 0.9 at epoch 4.5) the panel is blank.
        let (x, y) = pixel(loss, (4.5, 1.0, 5.0), (0.9, 0.0, 1.0));
        assert_eq!(picture.at(x, y), white);
    }

    #[test]
    fn a_value_that_is_not_finite_is_left_out() {
        let mut list = known();
        list[2].loss = f64::NAN;
        list[3].loss = f64::INFINITY;
        list[1].test_accuracy = 1e301;
        let picture = Decoded::new(&png(&list).unwrap());
        let (loss, accuracy) = (picture.frame(0), picture.frame(1));
        let epoch = |e: f64| (e, 1.0, 5.0);
        // The loss axis still 0 to 1 (epochs 1, 2 and 5): no marker at
        // epochs 3 and 4, no line from 2 on; the others in place.
        for (e, v) in [(3.0, 0.5), (4.0, 0.25)] {
            let (x, y) = pixel(loss, epoch(e), (v, 0.0, 1.0));
            assert_ne!(picture.at(x, y), TRAIN_RGB, "epoch {e}");
        }
        let a = pixel(loss, epoch(2.0), (0.75, 0.0, 1.0));
        let b = pixel(loss, epoch(5.0), (0.0, 0.0, 1.0));
        assert_ne!(picture.at((a.0 + b.0) / 2, (a.1 + b.1) / 2), TRAIN_RGB);
        for (e, v) in [(1.0, 1.0), (2.0, 0.75), (5.0, 0.0)] {
            let (x, y) = pixel(loss, epoch(e), (v, 0.0, 1.0));
            assert_eq!(picture.at(x, y), TRAIN_RGB, "epoch {e}");
        }
        // The huge test accuracy is left out: the axis is unchanged.
        let (x, y) = pixel(accuracy, epoch(3.0), (70.0, 20.0, 100.0));
        assert_eq!(picture.at(x - 3, y), TEST_RGB);
    }

    #[test]
    fn the_same_metrics_make_the_same_bytes() {
        let list = known();
        let bytes = png(&list).unwrap();
        assert_eq!(png(&list).unwrap(), bytes);
        let mut other = list.clone();
        other[4].test_loss = 0.4;
        assert_ne!(png(&other).unwrap(), bytes);
    }

    #[test]
    fn any_epochs_make_a_picture() {
        let many: Vec<EpochMetrics> = (1..=2000)
            .map(|e| metrics(e, 1.0 / e as f64, 0.5, 0.5, 0.5))
            .collect();
        let odd = [
            metrics(usize::MAX, 1.0, 1.0, 0.5, 0.5),
            metrics(usize::MAX - 1, -1e300, 1e300, f64::MIN_POSITIVE, 0.0),
        ];
        for list in [&[][..], &known()[..1], &many, &odd] {
            let picture = Decoded::new(&png(list).unwrap());
            assert_eq!(
                (picture.width, picture.height),
                (WIDTH as usize, HEIGHT as usize)
            );
        }
        // A single epoch is in the middle.
        let picture = Decoded::new(&png(&known()[..1]).unwrap());
        let (left, top, right, bottom) = picture.frame(0);
        let x = (left + right) / 2;
        let rows = (top..=bottom)
            .filter(|&y| picture.at(x, y) == TRAIN_RGB)
            .count();
        assert!(rows >= 8, "{rows}");
    }

    #[test]
    fn an_unwritable_path_is_named() {
        let path = std::env::temp_dir()
            .join("snn-ipu no such folder")
            .join("plot.png");
        let error = write_png(&path, &known()).unwrap_err();
        assert_eq!(error.path, path);
        assert!(error
            .to_string()
            .starts_with(&format!("{}: cannot write the plot: ", path.display())));
    }

    #[test]
    fn axes_round_out_to_nice_steps() {
        let axis = Axis::new(0.12, 0.93, 0.0);
        assert_eq!((axis.lo, axis.hi, axis.step), (0.0, 1.0, 0.2));
        assert_eq!(
            axis.ticks(),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(axis.label(0.6000000000000001, "%"), "0.6%");
        let axis = Axis::new(91.3, 98.7, 0.0);
        assert_eq!((axis.lo, axis.hi, axis.step), (90.0, 100.0, 2.0));
        assert_eq!(axis.label(96.0, "%"), "96%");
        let epochs = Axis::new(1.0, 3.0, 1.0);
        assert_eq!(epochs.step, 1.0);
        assert_eq!(Axis::new(1.0, 300.0, 1.0).step, 100.0);
        let flat = Axis::new(0.5, 0.5, 0.0);
        assert!(flat.lo < 0.5 && flat.hi > 0.5);
        assert_eq!(Axis::new(0.0, 2e6, 0.0).label(1e6, ""), "1.0e6");
        assert_eq!(Axis::new(-0.01, 0.01, 0.0).label(-0.0, ""), "0.000");
    }
}
