//! The progress bar within an epoch and the line printed after each epoch.
//!
//! On a terminal, [`Progress::batch`] redraws one line in place (a carriage
//! return, then the bar padded with spaces over what was there), at most
//! once per [`REDRAW`] of the run's clock, and always for the last batch of
//! an epoch:
//!
//! ```text
//! epoch 3 [#####-------]  45/100  1234 samples/s  0:12 elapsed  ETA 0:15
//! ```
//!
//! When the output is not a terminal (a log file, a pipe), there is no bar
//! at all: the lines of [`Progress::line`] (the epoch lines of
//! [`epoch_line`]) are the whole output, one per epoch.
//!
//! The clock is the caller's: `elapsed` is handed in with each batch, so the
//! output is a function of the calls alone (the tests capture it exactly).

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use crate::network::Precision;
use crate::train::EpochMetrics;

/// The shortest time between two redraws of the bar (a few per second: the
/// bar stays readable and costs nothing).
pub const REDRAW: Duration = Duration::from_millis(250);

/// Characters in the bar between its brackets (the whole line stays under
/// 80 characters up to 99 epochs, 999 batches, 99999 samples/s and 10
/// hours, so that a carriage return goes back to its start).
const BAR: usize = 12;

/// The progress display of a run, writing to `W`.
#[derive(Debug)]
pub struct Progress<W: Write> {
    out: W,
    terminal: bool,
    /// The epoch and the `elapsed` of the last redraw.
    last: Option<(usize, Duration)>,
    /// Characters of the bar on the line now (0: no bar shown).
    shown: usize,
}

impl Progress<io::Stderr> {
    /// The display on standard error: a bar if it is a terminal
    /// ([`IsTerminal`]), none otherwise.
    pub fn stderr() -> Progress<io::Stderr> {
        let err = io::stderr();
        let terminal = err.is_terminal();
        Progress::new(err, terminal)
    }
}

impl<W: Write> Progress<W> {
    /// A display writing to `out`; `is_terminal` says whether `out` is a
    /// terminal (a bar redrawn in place) or not (no bar).
    pub fn new(out: W, is_terminal: bool) -> Progress<W> {
        Progress {
            out,
            terminal: is_terminal,
            last: None,
            shown: 0,
        }
    }

    /// Batch `done` of `total` of `epoch` (from 1) is done, `samples`
    /// training rows in, `elapsed` into the epoch. Redraws the bar if the
    /// output is a terminal, this is the epoch's first call or last batch,
    /// or [`REDRAW`] has passed since the last redraw; writes nothing
    /// otherwise.
    pub fn batch(
        &mut self,
        epoch: usize,
        done: usize,
        total: usize,
        samples: usize,
        elapsed: Duration,
    ) -> io::Result<()> {
        if !self.terminal {
            return Ok(());
        }
        let due = match self.last {
            None => true,
            Some((last_epoch, at)) => {
                last_epoch != epoch || done >= total || elapsed < at || elapsed - at >= REDRAW
            }
        };
        if !due {
            return Ok(());
        }
        self.last = Some((epoch, elapsed));
        let text = bar(epoch, done, total, samples, elapsed);
        let width = text.chars().count();
        let pad = self.shown.saturating_sub(width);
        write!(self.out, "\r{text}{:pad$}", "")?;
        self.out.flush()?;
        self.shown = width;
        Ok(())
    }

    /// Removes the bar from the line, if one is shown (before something
    /// else is printed on the same terminal, e.g. on standard output).
    pub fn clear(&mut self) -> io::Result<()> {
        if self.shown > 0 {
            write!(self.out, "\r{:width$}\r", "", width = self.shown)?;
            self.out.flush()?;
            self.shown = 0;
        }
        Ok(())
    }

    /// Writes `text` as a line of its own (the bar, if shown, is cleared
    /// first; the next batch draws it again below).
    pub fn line(&mut self, text: &str) -> io::Result<()> {
        self.clear()?;
        self.last = None;
        writeln!(self.out, "{text}")?;
        self.out.flush()
    }

    /// The output.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The output, given back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// The text of the bar.
fn bar(epoch: usize, done: usize, total: usize, samples: usize, elapsed: Duration) -> String {
    let done = done.min(total);
    let filled = (done * BAR).checked_div(total).unwrap_or(BAR);
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        format!("{:.0}", samples as f64 / seconds)
    } else {
        "-".to_string()
    };
    let eta = if done > 0 {
        clock((seconds * (total - done) as f64 / done as f64) as u64)
    } else {
        "-".to_string()
    };
    let digits = total.to_string().len();
    format!(
        "epoch {epoch} [{}{}] {done:>digits$}/{total}  {rate} samples/s  {} elapsed  ETA {eta}",
        "#".repeat(filled),
        "-".repeat(BAR - filled),
        clock(elapsed.as_secs()),
    )
}

/// Whole seconds as `m:ss`, or `h:mm:ss` from an hour.
fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The line printed after an epoch:
///
/// ```text
/// epoch 3: loss 0.4321, train 91.23%, test loss 0.4012, test 90.12%, 1234 samples/s, 2.3 s
/// ```
///
/// Losses with 4 decimals, accuracies in percent with 2, samples per second
/// whole, seconds with 1 decimal; in f16, then `, loss scale S, N steps
/// skipped` (the scale at the end of the epoch, the steps skipped for
/// overflow in it). A number that is not finite shows as `NaN` or `inf`.
pub fn epoch_line(metrics: &EpochMetrics, precision: Precision) -> String {
    let m = metrics;
    let mut line = format!(
        "epoch {}: loss {:.4}, train {:.2}%, test loss {:.4}, test {:.2}%, {:.0} samples/s, {:.1} s",
        m.epoch,
        m.loss,
        100.0 * m.train_accuracy,
        m.test_loss,
        100.0 * m.test_accuracy,
        m.samples_per_second,
        m.seconds
    );
    if precision == Precision::F16 {
        let steps = if m.skipped_steps == 1 {
            "step"
        } else {
            "steps"
        };
        line.push_str(&format!(
            ", loss scale {}, {} {steps} skipped",
            m.loss_scale, m.skipped_steps
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> EpochMetrics {
        EpochMetrics {
            epoch: 3,
            loss: 0.43214,
            train_accuracy: 0.912345,
            test_loss: 0.40126,
            test_accuracy: 0.90117,
            samples_per_second: 1234.4,
            seconds: 2.345,
            skipped_steps: 2,
            loss_scale: 32768.0,
        }
    }

    #[test]
    fn epoch_line_f32() {
        assert_eq!(
            epoch_line(&metrics(), Precision::F32),
            "epoch 3: loss 0.4321, train 91.23%, test loss 0.4013, test 90.12%, 1234 samples/s, 2.3 s"
        );
    }

    #[test]
    fn epoch_line_f16_shows_the_scale_and_the_skipped_steps() {
        assert_eq!(
            epoch_line(&metrics(), Precision::F16),
            "epoch 3: loss 0.4321, train 91.23%, test loss 0.4013, test 90.12%, 1234 samples/s, 2.3 s, \
             loss scale 32768, 2 steps skipped"
        );
        let one = EpochMetrics {
            skipped_steps: 1,
            loss_scale: 0.5,
            ..metrics()
        };
        assert!(epoch_line(&one, Precision::F16).ends_with(", loss scale 0.5, 1 step skipped"));
    }

    #[test]
    fn epoch_line_says_nan() {
        let diverged = EpochMetrics {
            loss: f64::NAN,
            test_loss: f64::INFINITY,
            ..metrics()
        };
        assert!(epoch_line(&diverged, Precision::F32)
            .starts_with("epoch 3: loss NaN, train 91.23%, test loss inf, "));
    }

    fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn no_bar_when_not_a_terminal() {
        let mut progress = Progress::new(Vec::new(), false);
        for done in 1..=4 {
            progress
                .batch(1, done, 4, 32 * done, ms(300 * done as u64))
                .unwrap();
        }
        progress.line("epoch 1: done").unwrap();
        progress.batch(2, 1, 4, 32, ms(300)).unwrap();
        progress.clear().unwrap();
        progress.line("epoch 2: done").unwrap();
        assert_eq!(
            String::from_utf8(progress.into_inner()).unwrap(),
            "epoch 1: done\nepoch 2: done\n"
        );
    }

    #[test]
    fn bar_on_a_terminal_is_redrawn_in_place_a_few_times_a_second() {
        let mut progress = Progress::new(Vec::new(), true);
        // 10 batches of 32 rows, 100 ms each: drawn at 0.1 s (first), 0.4 s
        // and 0.7 s (250 ms on), and 1.0 s (the last batch).
        for done in 1..=10 {
            progress
                .batch(2, done, 10, 32 * done, ms(100 * done as u64))
                .unwrap();
        }
        progress.line("epoch 2: loss 0.1").unwrap();
        let text = String::from_utf8(progress.into_inner()).unwrap();
        // 1 of 10 after 0.1 s: 320 samples/s, 0.9 s to go (0:00).
        let first = "epoch 2 [#-----------]  1/10  320 samples/s  0:00 elapsed  ETA 0:00";
        let fourth = "epoch 2 [####--------]  4/10  320 samples/s  0:00 elapsed  ETA 0:00";
        let seventh = "epoch 2 [########----]  7/10  320 samples/s  0:00 elapsed  ETA 0:00";
        let last = "epoch 2 [############] 10/10  320 samples/s  0:01 elapsed  ETA 0:00";
        let clear = format!("\r{}\r", " ".repeat(last.len()));
        assert_eq!(
            text,
            format!("\r{first}\r{fourth}\r{seventh}\r{last}{clear}epoch 2: loss 0.1\n")
        );
    }

    #[test]
    fn a_shorter_bar_is_padded_over_the_longer_one() {
        let mut progress = Progress::new(Vec::new(), true);
        // 10000 samples/s, then (a new epoch) 10 samples/s: three
        // characters shorter, three spaces over the end of the longer bar.
        progress.batch(1, 5, 10, 10_000, ms(1000)).unwrap();
        progress.batch(2, 5, 10, 10, ms(1000)).unwrap();
        let text = String::from_utf8(progress.into_inner()).unwrap();
        let long = "epoch 1 [######------]  5/10  10000 samples/s  0:01 elapsed  ETA 0:01";
        let short = "epoch 2 [######------]  5/10  10 samples/s  0:01 elapsed  ETA 0:01";
        assert_eq!(text, format!("\r{long}\r{short}   "));
    }

    #[test]
    fn the_bar_fits_in_80_columns() {
        // Batch 500 of 999 after 9:59:59 at 99999 samples/s: 35927 s to go.
        let text = bar(99, 500, 999, 99_999 * 35_999, Duration::from_secs(35_999));
        assert_eq!(
            text,
            "epoch 99 [######------] 500/999  99999 samples/s  9:59:59 elapsed  ETA 9:58:47"
        );
        assert!(text.len() < 80, "{}", text.len());
    }

    #[test]
    fn bar_edge_cases() {
        // No time yet, no batch yet, no batches at all, done past total.
        assert_eq!(
            bar(1, 0, 5, 0, Duration::ZERO),
            "epoch 1 [------------] 0/5  - samples/s  0:00 elapsed  ETA -"
        );
        assert_eq!(
            bar(1, 0, 0, 0, Duration::ZERO),
            "epoch 1 [############] 0/0  - samples/s  0:00 elapsed  ETA -"
        );
        assert_eq!(
            bar(1, 7, 5, 50, Duration::from_secs(10)),
            "epoch 1 [############] 5/5  5 samples/s  0:10 elapsed  ETA 0:00"
        );
        // Hours: 1 of 3 after 1 h 1 min 1 s, 2 h 2 min 2 s to go.
        assert_eq!(
            bar(1, 1, 3, 3661, Duration::from_secs(3661)),
            "epoch 1 [####--------] 1/3  1 samples/s  1:01:01 elapsed  ETA 2:02:02"
        );
    }
}
