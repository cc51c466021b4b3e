//! Event-driven dense products: a dense layer whose input is mostly zeros
//! (spikes, binary or graded) adds the weights of its active inputs instead
//! of multiplying every input by its weight, and sums its weight gradients
//! over the active inputs only.
//!
//! # The same bits as the defined sums
//!
//! [`Dense::Defined`](super::dense::Dense::Defined) sums every product in
//! order from `-0`, one rounding per operation, no fused multiply-add
//! (`snn_kernels::dense`). The products of an input that is `±0` are `±0`
//! when the other factor is finite, and adding `±0` to a non-zero sum
//! leaves it unchanged, so leaving them out changes nothing but, possibly,
//! the sign of a sum that ends at zero. That sign is defined too: IEEE
//! addition gives `-0` only for `-0 + -0` (an exact zero from non-zero
//! operands is `+0` when rounding to nearest, and a sum of two
//! floating-point numbers never underflows to zero), so a sequential sum
//! from `-0` ends at `-0` exactly when every one of its terms is `-0`, and
//! otherwise at the same value with or without its `±0` terms. Here:
//!
//! - `y = x Wᵀ + b` adds the bias after the sum: a sum that ends at zero
//!   gives `y = b` unless `b` is zero, and `+0` unless `b` is `-0`. Only
//!   where `b` is `-0` and the event sum is `-0` is the element summed
//!   again over every input, as defined.
//! - `dW = dyᵀ x`: an element whose event sum is `-0` is `-0` as defined
//!   exactly when every left-out product `dy[r][o]·x[r][i]` is `-0` too,
//!   that is when the sign of `dy[r][o]` differs from that of the zero
//!   `x[r][i]` on every row where the input is zero. Counts of the rows
//!   whose `dy[r][o]` has its sign bit clear decide it without a pass over
//!   the rows in the usual case (no input is `-0`); an input column with
//!   both `+0` and `-0` is checked row by row.
//! - A product with an infinite or NaN factor is NaN even when the other
//!   factor is zero, so leaving it out would change the result: a block of
//!   outputs whose weights (forward) or output gradients (weight gradients)
//!   are not all finite is computed by the defined loops instead (the same
//!   bits, at their speed). An input that is infinite or NaN is active and
//!   summed as defined.
//!
//! The summation order of every element is the defined one whatever the
//! vector width (the vectors run over outputs, each lane its own sum) and
//! whatever the number of threads: the work is split over rows (forward)
//! or over blocks of outputs (weight gradients), never over a sum.
//!
//! # Layout
//!
//! The forward pass packs `W` into panels of `BLOCK` outputs, `[block][input]
//! [BLOCK]`, so that the weights an active input adds are contiguous, and
//! each row sums its active inputs' panel rows; the weight gradients pack
//! `dy` likewise, `[block][row][BLOCK]`, and each input sums the panel rows
//! of the rows where it is active (the input's active rows, column by
//! column). Padding lanes hold zeros and are never written out.

use std::ops::Range;

/// Lanes of one vector of the inner loops (the sums of `LANES` outputs run
/// side by side).
const LANES: usize = 16;

/// Outputs per panel for layers of at least this many outputs: four
/// vectors, four independent sums in flight per lane group.
const WIDE: usize = 4 * LANES;

/// Rows per unit of work when rows are split over threads.
const ROWS_PER_TASK: usize = 64;

const NEG_ZERO: u32 = 0x8000_0000;

/// True for `±0`.
#[inline(always)]
fn is_zero(v: f32) -> bool {
    v.to_bits() & 0x7fff_ffff == 0
}

/// The active (non-zero) entries of a `[rows][inputs]` input, row by row,
/// with what the choice of a path and the sign rules need.
#[derive(Clone, Debug, Default)]
pub struct Events {
    rows: usize,
    inputs: usize,
    /// `index[start[r]..start[r + 1]]`: row `r`'s active inputs, ascending.
    start: Vec<usize>,
    index: Vec<u32>,
    /// The active values, in the order of `index` (empty when binary).
    value: Vec<f32>,
    /// Every active value is exactly 1.
    binary: bool,
    /// Some entry is `-0`.
    negative_zero: bool,
}

impl Events {
    /// The active entries of `x` (`[rows][inputs]`), scanned on up to
    /// `threads` threads.
    pub fn scan(x: &[f32], rows: usize, inputs: usize, threads: usize) -> Events {
        assert_eq!(x.len(), rows * inputs, "events: input size");
        let tasks = rows.div_ceil(ROWS_PER_TASK).max(1);
        let scan_rows = |range: Range<usize>| {
            let mut part = Part::default();
            for r in range {
                part.scan_row(&x[r * inputs..(r + 1) * inputs]);
                part.ends.push(part.index.len());
            }
            part
        };
        let parts: Vec<Part> = run_tasks(threads, tasks, |t| {
            scan_rows(t * ROWS_PER_TASK..((t + 1) * ROWS_PER_TASK).min(rows))
        });
        let total: usize = parts.iter().map(|p| p.index.len()).sum();
        let binary = parts.iter().all(|p| p.binary);
        let mut events = Events {
            rows,
            inputs,
            start: Vec::with_capacity(rows + 1),
            index: Vec::with_capacity(total),
            value: Vec::with_capacity(if binary { 0 } else { total }),
            binary,
            negative_zero: parts.iter().any(|p| p.negative_zero),
        };
        events.start.push(0);
        for p in &parts {
            let base = events.index.len();
            events.start.extend(p.ends.iter().map(|e| base + e));
            events.index.extend_from_slice(&p.index);
            if !binary {
                events.value.extend_from_slice(&p.value);
            }
        }
        events
    }

    /// Active entries over all entries (0 for an empty input).
    pub fn density(&self) -> f64 {
        let all = self.rows * self.inputs;
        if all == 0 {
            0.0
        } else {
            self.index.len() as f64 / all as f64
        }
    }

    /// True when every active value is exactly 1.
    pub fn binary(&self) -> bool {
        self.binary
    }

    fn row(&self, r: usize) -> Range<usize> {
        self.start[r]..self.start[r + 1]
    }

    /// The active rows of every input, ascending (the transpose).
    fn columns(&self) -> Columns {
        let mut start = vec![0usize; self.inputs + 1];
        for &i in &self.index {
            start[i as usize + 1] += 1;
        }
        for i in 0..self.inputs {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut row = vec![0u32; self.index.len()];
        let mut value = vec![0.0f32; if self.binary { 0 } else { self.index.len() }];
        for r in 0..self.rows {
            for k in self.row(r) {
                let i = self.index[k] as usize;
                row[next[i]] = r as u32;
                if !self.binary {
                    value[next[i]] = self.value[k];
                }
                next[i] += 1;
            }
        }
        Columns { start, row, value }
    }
}

/// One task's share of a scan: its rows' active entries.
struct Part {
    index: Vec<u32>,
    value: Vec<f32>,
    /// The end of each row's entries in `index`.
    ends: Vec<usize>,
    binary: bool,
    negative_zero: bool,
}

impl Default for Part {
    fn default() -> Self {
        Part {
            index: Vec::new(),
            value: Vec::new(),
            ends: Vec::new(),
            binary: true,
            negative_zero: false,
        }
    }
}

impl Part {
    fn scan_row(&mut self, xr: &[f32]) {
        let mut chunks = xr.chunks_exact(LANES);
        let mut base = 0u32;
        let mut not_one = false;
        let mut negative_zero = false;
        for c in chunks.by_ref() {
            let mut mask = 0u32;
            for (l, &v) in c.iter().enumerate() {
                let bits = v.to_bits();
                let active = bits & 0x7fff_ffff != 0;
                mask |= u32::from(active) << l;
                negative_zero |= bits == NEG_ZERO;
                not_one |= active & (bits != 0x3f80_0000);
            }
            while mask != 0 {
                let l = mask.trailing_zeros();
                self.index.push(base + l);
                self.value.push(c[l as usize]);
                mask &= mask - 1;
            }
            base += LANES as u32;
        }
        for (l, &v) in chunks.remainder().iter().enumerate() {
            negative_zero |= v.to_bits() == NEG_ZERO;
            if !is_zero(v) {
                not_one |= v.to_bits() != 0x3f80_0000;
                self.index.push(base + l as u32);
                self.value.push(v);
            }
        }
        self.binary &= !not_one;
        self.negative_zero |= negative_zero;
    }
}

/// The active rows of every input (the events' transpose).
struct Columns {
    start: Vec<usize>,
    row: Vec<u32>,
    value: Vec<f32>,
}

/// Runs `task(0..tasks)` on up to `threads` threads (this thread alone for
/// 1), each task's result in its place. Tasks are handed out in order; the
/// results do not depend on which thread ran which.
fn run_tasks<R: Send>(threads: usize, tasks: usize, task: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if threads <= 1 || tasks <= 1 {
        return (0..tasks).map(task).collect();
    }
    let mut out: Vec<Option<R>> = (0..tasks).map(|_| None).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<&mut Option<R>>> =
        out.iter_mut().map(std::sync::Mutex::new).collect();
    rayon::scope(|s| {
        for _ in 0..threads.min(tasks) {
            s.spawn(|_| loop {
                let t = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if t >= tasks {
                    break;
                }
                let r = task(t);
                **slots[t].lock().expect("a task's slot") = Some(r);
            });
        }
    });
    drop(slots);
    out.into_iter()
        .map(|r| r.expect("every task ran"))
        .collect()
}

/// Runs `work` on disjoint chunks of `data` (`chunk` values each, the last
/// shorter) on up to `threads` threads: `work(k, chunk_k)`.
fn for_chunks<T: Send>(
    threads: usize,
    data: &mut [T],
    chunk: usize,
    work: impl Fn(usize, &mut [T]) + Sync,
) {
    let chunk = chunk.max(1);
    if threads <= 1 || data.len() <= chunk {
        for (k, c) in data.chunks_mut(chunk).enumerate() {
            work(k, c);
        }
        return;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let chunks: Vec<std::sync::Mutex<Option<&mut [T]>>> = data
        .chunks_mut(chunk)
        .map(|c| std::sync::Mutex::new(Some(c)))
        .collect();
    let n = chunks.len();
    rayon::scope(|s| {
        for _ in 0..threads.min(n) {
            s.spawn(|_| loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if k >= n {
                    break;
                }
                let c = chunks[k].lock().expect("a chunk").take().expect("once");
                work(k, c);
            });
        }
    });
}

thread_local! {
    /// Each thread's panel of `dy` (kept: a block's panel is as large as
    /// 64 outputs of every row, and new memory costs page faults).
    static PANEL: std::cell::RefCell<Vec<[f32; LANES]>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Outputs per panel for a layer of `outputs` outputs.
fn block_width(outputs: usize) -> usize {
    if outputs >= WIDE {
        WIDE
    } else {
        LANES
    }
}

/// `W` (`[outputs][inputs]`) packed in panels of `width` outputs:
/// `[block][input][width]`, zeros in the padding lanes.
struct Packed {
    width: usize,
    /// `[block][input][width / LANES]` vectors.
    data: Vec<[f32; LANES]>,
    /// Per block: every weight is finite.
    finite: Vec<bool>,
}

fn pack_weights(w: &[f32], inputs: usize, outputs: usize, threads: usize) -> Packed {
    let width = block_width(outputs);
    let blocks = outputs.div_ceil(width);
    let vectors = width / LANES;
    let mut data = vec![[0.0f32; LANES]; blocks * inputs * vectors];
    let mut finite = vec![true; blocks];
    let panel = (inputs * vectors).max(1);
    let flags: Vec<std::sync::atomic::AtomicBool> = (0..blocks)
        .map(|_| std::sync::atomic::AtomicBool::new(true))
        .collect();
    for_chunks(threads, &mut data, panel, |blk, p| {
        let o0 = blk * width;
        let lanes = width.min(outputs - o0);
        let mut ok = true;
        for l in 0..lanes {
            let wo = &w[(o0 + l) * inputs..(o0 + l + 1) * inputs];
            for (i, &v) in wo.iter().enumerate() {
                p[i * vectors + l / LANES][l % LANES] = v;
                ok &= v.is_finite();
            }
        }
        flags[blk].store(ok, std::sync::atomic::Ordering::Relaxed);
    });
    for (f, a) in finite.iter_mut().zip(&flags) {
        *f = a.load(std::sync::atomic::Ordering::Relaxed);
    }
    Packed {
        width,
        data,
        finite,
    }
}

/// `sum_i x[i]·w[i]` from `-0`, `i` ascending: the defined dot product.
fn defined_dot(x: &[f32], w: &[f32]) -> f32 {
    x.iter().zip(w).fold(-0.0f32, |acc, (&a, &b)| acc + a * b)
}

/// `y = x Wᵀ + b` over the active entries of `x`, the same bits as the
/// defined sums (see the module docs). `x` is the input the events were
/// scanned from.
#[allow(clippy::too_many_arguments)]
pub fn forward(
    events: &Events,
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
    outputs: usize,
    threads: usize,
) {
    let (rows, inputs) = (events.rows, events.inputs);
    assert_eq!(x.len(), rows * inputs, "events: input size");
    assert_eq!(w.len(), outputs * inputs, "events: weight size");
    assert_eq!(b.len(), outputs, "events: bias size");
    assert_eq!(y.len(), rows * outputs, "events: output size");
    if rows == 0 || outputs == 0 {
        return;
    }
    let packed = pack_weights(w, inputs, outputs, threads);
    let job = Forward {
        events,
        x,
        w,
        b,
        outputs,
        packed: &packed,
    };
    for_chunks(threads, y, ROWS_PER_TASK * outputs, |k, yc| {
        let r0 = k * ROWS_PER_TASK;
        job.rows(r0, yc);
    });
}

struct Forward<'a> {
    events: &'a Events,
    x: &'a [f32],
    w: &'a [f32],
    b: &'a [f32],
    outputs: usize,
    packed: &'a Packed,
}

impl Forward<'_> {
    /// Rows `r0..` into `y` (whole rows).
    fn rows(&self, r0: usize, y: &mut [f32]) {
        let width = self.packed.width;
        let inputs = self.events.inputs;
        for (blk, &finite) in self.packed.finite.iter().enumerate() {
            let o0 = blk * width;
            let lanes = width.min(self.outputs - o0);
            if !finite {
                // a non-finite weight: every product counts (0·inf = NaN)
                for (k, yr) in y.chunks_exact_mut(self.outputs).enumerate() {
                    let xr = &self.x[(r0 + k) * inputs..(r0 + k + 1) * inputs];
                    for (o, v) in yr.iter_mut().enumerate().skip(o0).take(lanes) {
                        let wo = &self.w[o * inputs..(o + 1) * inputs];
                        *v = defined_dot(xr, wo) + self.b[o];
                    }
                }
                continue;
            }
            let vectors = width / LANES;
            let panel = &self.packed.data[blk * inputs * vectors..(blk + 1) * inputs * vectors];
            let block = Block {
                panel,
                o0,
                lanes,
                r0,
            };
            match (width, self.events.binary) {
                (WIDE, true) => simd::forward_block::<4, true>(self, &block, y),
                (WIDE, false) => simd::forward_block::<4, false>(self, &block, y),
                (_, true) => simd::forward_block::<1, true>(self, &block, y),
                (_, false) => simd::forward_block::<1, false>(self, &block, y),
            }
        }
    }

    /// Writes `sum + b[o]` for row `r` (of the whole input) into `yr`, and
    /// sums again, as defined, an element whose sum is `-0` where `b` is
    /// `-0` (see the module docs).
    #[inline(always)]
    fn finish(&self, r: usize, o: usize, sum: f32, yr: &mut [f32]) {
        let bo = self.b[o];
        let v = sum + bo;
        yr[o] = if v.to_bits() == NEG_ZERO && bo.to_bits() == NEG_ZERO {
            self.defined(r, o)
        } else {
            v
        };
    }

    /// Element `(r, o)` summed over every input, as defined.
    #[cold]
    fn defined(&self, r: usize, o: usize) -> f32 {
        let inputs = self.events.inputs;
        let xr = &self.x[r * inputs..(r + 1) * inputs];
        defined_dot(xr, &self.w[o * inputs..(o + 1) * inputs]) + self.b[o]
    }
}

/// One panel of outputs for a range of rows.
struct Block<'a> {
    /// `[input][width / LANES]` vectors.
    panel: &'a [[f32; LANES]],
    o0: usize,
    lanes: usize,
    r0: usize,
}

/// `dw = dyᵀ x` and `db = sum over rows of dy` over the active entries of
/// `x`, overwriting both, the same bits as the defined sums (see the
/// module docs).
#[allow(clippy::too_many_arguments)]
pub fn backward_weights(
    events: &Events,
    x: &[f32],
    dy: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    outputs: usize,
    threads: usize,
) {
    let (rows, inputs) = (events.rows, events.inputs);
    assert_eq!(x.len(), rows * inputs, "events: input size");
    assert_eq!(dy.len(), rows * outputs, "events: gradient size");
    assert_eq!(dw.len(), outputs * inputs, "events: weight gradient size");
    assert_eq!(db.len(), outputs, "events: bias gradient size");
    if outputs == 0 {
        return;
    }
    if inputs == 0 {
        db.fill(-0.0);
        for dyr in dy.chunks_exact(outputs) {
            for (d, &g) in db.iter_mut().zip(dyr) {
                *d += g;
            }
        }
        return;
    }
    let columns = events.columns();
    let width = block_width(outputs);
    let job = WeightGrads {
        events,
        columns: &columns,
        x,
        dy,
        outputs,
        width,
    };
    // each block of outputs: its rows of dw and its values of db
    let mut blocks: Vec<(&mut [f32], &mut [f32])> = dw
        .chunks_mut(width * inputs)
        .zip(db.chunks_mut(width))
        .collect();
    for_chunks(threads, &mut blocks, 1, |blk, pair| {
        let (dwb, dbb) = &mut pair[0];
        job.block(blk, dwb, dbb);
    });
}

struct WeightGrads<'a> {
    events: &'a Events,
    columns: &'a Columns,
    x: &'a [f32],
    dy: &'a [f32],
    outputs: usize,
    width: usize,
}

impl WeightGrads<'_> {
    /// Outputs `blk·width..` of `dw` (their rows, `[lanes][inputs]`) and
    /// `db`.
    fn block(&self, blk: usize, dw: &mut [f32], db: &mut [f32]) {
        let (rows, vectors) = (self.events.rows, self.width / LANES);
        PANEL.with_borrow_mut(|panel| {
            panel.clear();
            panel.resize(rows * vectors, [0.0f32; LANES]);
            self.block_in(blk, dw, db, panel);
        });
    }

    /// [`WeightGrads::block`] with `panel` (`rows x width` zeros) to pack
    /// `dy` into.
    fn block_in(&self, blk: usize, dw: &mut [f32], db: &mut [f32], panel: &mut [[f32; LANES]]) {
        let (rows, inputs, width) = (self.events.rows, self.events.inputs, self.width);
        let o0 = blk * width;
        let lanes = db.len();
        let vectors = width / LANES;
        // the block's dy, packed [row][width] with zero padding; db summed
        // as defined; the rows whose dy has its sign bit clear, counted
        let mut positive = vec![0u32; lanes];
        db.fill(-0.0);
        let mut finite = true;
        for (r, pr) in panel.chunks_exact_mut(vectors).enumerate() {
            let d = &self.dy[r * self.outputs + o0..r * self.outputs + o0 + lanes];
            pr.as_flattened_mut()[..lanes].copy_from_slice(d);
            for ((s, p), &g) in db.iter_mut().zip(positive.iter_mut()).zip(d) {
                *s += g;
                *p += u32::from(g.to_bits() >> 31 == 0);
                finite &= g.is_finite();
            }
        }
        if !finite {
            // a non-finite gradient: every product counts (inf·0 = NaN)
            for l in 0..lanes {
                let dwo = &mut dw[l * inputs..(l + 1) * inputs];
                dwo.fill(-0.0);
                for r in 0..rows {
                    let g = self.dy[r * self.outputs + o0 + l];
                    let xr = &self.x[r * inputs..(r + 1) * inputs];
                    for (d, &xv) in dwo.iter_mut().zip(xr) {
                        *d += g * xv;
                    }
                }
            }
            return;
        }
        let block = GradBlock {
            panel,
            positive: &positive,
            lanes,
        };
        match (width, self.events.binary) {
            (WIDE, true) => simd::weight_block::<4, true>(self, &block, dw),
            (WIDE, false) => simd::weight_block::<4, false>(self, &block, dw),
            (_, true) => simd::weight_block::<1, true>(self, &block, dw),
            (_, false) => simd::weight_block::<1, false>(self, &block, dw),
        }
    }

    /// Writes input `i`'s sums into `dw` (`[lanes][inputs]`), settling the
    /// sign of those that are `-0` as the defined sums would.
    #[inline(always)]
    fn finish(&self, block: &GradBlock<'_>, i: usize, l: usize, sum: f32, dw: &mut [f32]) {
        dw[l * self.events.inputs + i] =
            if sum.to_bits() == NEG_ZERO && !self.all_negative_zero(block, i, l) {
                0.0
            } else {
                sum
            };
    }

    /// Whether every product `dy[r][o]·x[r][i]` of a row where `x[r][i]` is
    /// zero is `-0`, for an element whose active products are all `-0`.
    #[cold]
    fn all_negative_zero(&self, block: &GradBlock<'_>, i: usize, l: usize) -> bool {
        let (rows, inputs, width) = (self.events.rows, self.events.inputs, self.width);
        let active = &self.columns.row[self.columns.start[i]..self.columns.start[i + 1]];
        let skipped = rows - active.len();
        if skipped == 0 {
            return true;
        }
        let vectors = width / LANES;
        let sign_clear =
            |r: usize| block.panel[r * vectors + l / LANES][l % LANES].to_bits() >> 31 == 0;
        if !self.events.negative_zero {
            // every left-out x is +0: its product is -0 when dy is negative
            let positive = block.positive[l] as usize;
            if positive > active.len() {
                return false;
            }
            let among_active = active.iter().filter(|&&r| sign_clear(r as usize)).count();
            return positive == among_active;
        }
        // some input is -0: row by row
        (0..rows).all(|r| {
            let xv = self.x[r * inputs + i];
            !is_zero(xv) || (xv.to_bits() >> 31 == 0) != sign_clear(r)
        })
    }
}

struct GradBlock<'a> {
    /// `[row][width / LANES]` vectors.
    panel: &'a [[f32; LANES]],
    /// Per lane: rows whose `dy` has its sign bit clear.
    positive: &'a [u32],
    lanes: usize,
}

/// `dx = dy W` with the defined order (`o` ascending from `-0`, no fused
/// multiply-add), vectorised over the inputs: the same bits as
/// `snn_kernels::dense::backward_input`.
pub fn backward_input(
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
    rows: usize,
    inputs: usize,
    outputs: usize,
    threads: usize,
) {
    assert_eq!(dy.len(), rows * outputs, "events: gradient size");
    assert_eq!(w.len(), outputs * inputs, "events: weight size");
    assert_eq!(dx.len(), rows * inputs, "events: input gradient size");
    if rows == 0 || inputs == 0 {
        return;
    }
    for_chunks(threads, dx, ROWS_PER_TASK * inputs, |k, dxc| {
        let r0 = k * ROWS_PER_TASK;
        for (j, dxr) in dxc.chunks_exact_mut(inputs).enumerate() {
            let r = r0 + j;
            let dyr = &dy[r * outputs..(r + 1) * outputs];
            simd::input_row(dyr, w, dxr, inputs);
        }
    });
}

/// The inner loops, compiled for AVX-512 and AVX2 where the CPU has them
/// (chosen at run time) and for the baseline target otherwise. Every
/// version computes the same bits: the vectors run over outputs (or
/// inputs), each lane its own sequential sum, and Rust never fuses a
/// multiplication and an addition.
#[allow(clippy::needless_range_loop)] // fixed-size index loops vectorise
mod simd {
    use super::{Block, Forward, GradBlock, WeightGrads, LANES};

    /// The instruction sets the loops are compiled for.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Level {
        Avx512,
        Avx2,
        Baseline,
    }

    fn level() -> Level {
        #[cfg(target_arch = "x86_64")]
        {
            use std::sync::OnceLock;
            static LEVEL: OnceLock<u8> = OnceLock::new();
            let l = *LEVEL.get_or_init(|| {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    0
                } else if std::arch::is_x86_feature_detected!("avx2") {
                    1
                } else {
                    2
                }
            });
            match l {
                0 => Level::Avx512,
                1 => Level::Avx2,
                _ => Level::Baseline,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            Level::Baseline
        }
    }

    /// Defines `$name` calling `$body` with the instruction set of the CPU.
    macro_rules! dispatch {
        ($(#[$m:meta])* fn $name:ident<$(const $c:ident: $ct:ty),*>($($a:ident: $t:ty),*) => $body:ident) => {
            $(#[$m])*
            pub(super) fn $name<$(const $c: $ct),*>($($a: $t),*) {
                #[cfg(target_arch = "x86_64")]
                {
                    #[target_feature(enable = "avx512f")]
                    unsafe fn avx512<$(const $c: $ct),*>($($a: $t),*) {
                        $body::<$($c),*>($($a),*)
                    }
                    #[target_feature(enable = "avx2")]
                    unsafe fn avx2<$(const $c: $ct),*>($($a: $t),*) {
                        $body::<$($c),*>($($a),*)
                    }
                    match level() {
                        // SAFETY: the CPU has the instruction set (checked
                        // at run time by `level`).
                        Level::Avx512 => return unsafe { avx512::<$($c),*>($($a),*) },
                        Level::Avx2 => return unsafe { avx2::<$($c),*>($($a),*) },
                        Level::Baseline => {}
                    }
                }
                $body::<$($c),*>($($a),*)
            }
        };
    }

    dispatch!(
        /// One panel of outputs for the rows of `y`.
        fn forward_block<const V: usize, const BINARY: bool>(
            job: &Forward<'_>, block: &Block<'_>, y: &mut [f32]) => forward_body
    );
    dispatch!(
        /// One panel of outputs' weight gradients.
        fn weight_block<const V: usize, const BINARY: bool>(
            job: &WeightGrads<'_>, block: &GradBlock<'_>, dw: &mut [f32]) => weight_body
    );
    dispatch!(
        /// One row of `dx`.
        fn input_row<>(dy: &[f32], w: &[f32], dx: &mut [f32], inputs: usize) => input_body
    );

    /// The `V` vectors at `at` of a panel, as a fixed-size array (the
    /// loops over it then vectorise, with one bounds check).
    #[inline(always)]
    fn vectors<const V: usize>(panel: &[[f32; LANES]], at: usize) -> &[[f32; LANES]; V] {
        <&[[f32; LANES]; V]>::try_from(&panel[at * V..at * V + V]).expect("V vectors")
    }

    #[inline(always)]
    fn forward_body<const V: usize, const BINARY: bool>(
        job: &Forward<'_>,
        block: &Block<'_>,
        y: &mut [f32],
    ) {
        let events = job.events;
        for (k, yr) in y.chunks_exact_mut(job.outputs).enumerate() {
            let r = block.r0 + k;
            let mut acc = [[-0.0f32; LANES]; V];
            let range = events.row(r);
            let index = &events.index[range.clone()];
            if BINARY {
                for &i in index {
                    let w = vectors::<V>(block.panel, i as usize);
                    for v in 0..V {
                        for l in 0..LANES {
                            acc[v][l] += w[v][l];
                        }
                    }
                }
            } else {
                let values = &events.value[range];
                for (&i, &s) in index.iter().zip(values) {
                    let w = vectors::<V>(block.panel, i as usize);
                    for v in 0..V {
                        for l in 0..LANES {
                            acc[v][l] += s * w[v][l];
                        }
                    }
                }
            }
            // (kept apart from the loop above, whose sums then stay in
            // vector registers)
            let acc = std::hint::black_box(acc);
            for v in 0..V {
                for l in 0..LANES {
                    let lane = v * LANES + l;
                    if lane < block.lanes {
                        job.finish(r, block.o0 + lane, acc[v][l], yr);
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn weight_body<const V: usize, const BINARY: bool>(
        job: &WeightGrads<'_>,
        block: &GradBlock<'_>,
        dw: &mut [f32],
    ) {
        let columns = job.columns;
        for i in 0..job.events.inputs {
            let range = columns.start[i]..columns.start[i + 1];
            let mut acc = [[-0.0f32; LANES]; V];
            let rows = &columns.row[range.clone()];
            if BINARY {
                for &r in rows {
                    let d = vectors::<V>(block.panel, r as usize);
                    for v in 0..V {
                        for l in 0..LANES {
                            acc[v][l] += d[v][l];
                        }
                    }
                }
            } else {
                let values = &columns.value[range];
                for (&r, &s) in rows.iter().zip(values) {
                    let d = vectors::<V>(block.panel, r as usize);
                    for v in 0..V {
                        for l in 0..LANES {
                            acc[v][l] += d[v][l] * s;
                        }
                    }
                }
            }
            // (kept apart from the loop above, whose sums then stay in
            // vector registers)
            let acc = std::hint::black_box(acc);
            for v in 0..V {
                for l in 0..LANES {
                    let lane = v * LANES + l;
                    if lane < block.lanes {
                        job.finish(block, i, lane, acc[v][l], dw);
                    }
                }
            }
        }
    }

    #[inline(always)]
    fn input_body(dy: &[f32], w: &[f32], dx: &mut [f32], inputs: usize) {
        const W: usize = 4 * LANES;
        let full = inputs / W * W;
        for i0 in (0..full).step_by(W) {
            let mut acc = [-0.0f32; W];
            for (o, &g) in dy.iter().enumerate() {
                let wo = &w[o * inputs + i0..o * inputs + i0 + W];
                for l in 0..W {
                    acc[l] += g * wo[l];
                }
            }
            dx[i0..i0 + W].copy_from_slice(&acc);
        }
        for (i, d) in dx.iter_mut().enumerate().skip(full) {
            *d = dy
                .iter()
                .enumerate()
                .fold(-0.0f32, |acc, (o, &g)| acc + g * w[o * inputs + i]);
        }
    }
}
