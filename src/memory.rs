//! How much memory a run needs, how much the machine has, and a refusal
//! that says what to reduce when the first is larger.
//!
//! A command lists every buffer it will allocate ([`Estimate`]) before it
//! allocates any, and calls [`check`] with [`available`]: on Linux the
//! kernel's estimate of the memory a new program can use without swapping
//! (`MemAvailable` in `/proc/meminfo`), of which at most
//! [`USABLE_PERCENT`] % is used; where that cannot be read, the fixed
//! [`FALLBACK_BYTES`].

use std::fmt::Write as _;

/// The share of `MemAvailable` a run may take, in percent: the rest is left
/// to the system and to the other programs (and the page cache) so that a
/// run at the limit does not push the machine into swapping or the kernel's
/// out-of-memory killer.
pub const USABLE_PERCENT: u64 = 80;

/// What a run may take where the available memory is unknown (no
/// `/proc/meminfo`, as on other systems than Linux): 4 GiB, which most
/// machines that run this have free.
pub const FALLBACK_BYTES: u64 = 4 << 30;

/// One buffer a run allocates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// What it holds, for the message.
    pub name: &'static str,
    /// Values.
    pub values: u64,
    /// Bytes per value.
    pub bytes_per_value: u64,
}

/// Every buffer a run allocates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Estimate {
    /// The buffers.
    pub buffers: Vec<Buffer>,
}

impl Estimate {
    /// Adds a buffer of `values` values of `bytes_per_value` bytes.
    pub fn add(&mut self, name: &'static str, values: u64, bytes_per_value: u64) -> &mut Self {
        self.buffers.push(Buffer {
            name,
            values,
            bytes_per_value,
        });
        self
    }

    /// Total bytes (saturating at `u128::MAX`, far beyond any machine).
    pub fn bytes(&self) -> u128 {
        self.buffers.iter().fold(0u128, |total, b| {
            total.saturating_add(u128::from(b.values) * u128::from(b.bytes_per_value))
        })
    }

    /// The buffers, for people: `x 1200 values x 4 B, ...`.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        for (k, b) in self.buffers.iter().enumerate() {
            let _ = write!(
                s,
                "{}{} ({} values x {} B)",
                if k == 0 { "" } else { ", " },
                b.name,
                b.values,
                b.bytes_per_value
            );
        }
        s
    }
}

/// The memory a run may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Available {
    /// [`USABLE_PERCENT`] % of `MemAvailable` (bytes), read from
    /// `/proc/meminfo`.
    MemAvailable(u64),
    /// [`FALLBACK_BYTES`]: the available memory is unknown.
    Fallback,
}

impl Available {
    /// The bytes a run may use.
    pub fn usable_bytes(self) -> u64 {
        match self {
            Available::MemAvailable(bytes) => bytes / 100 * USABLE_PERCENT,
            Available::Fallback => FALLBACK_BYTES,
        }
    }

    /// Where the limit comes from, for the message.
    pub fn describe(self) -> String {
        match self {
            Available::MemAvailable(bytes) => format!(
                "{USABLE_PERCENT}% of the {} this machine has available (MemAvailable in /proc/meminfo)",
                human(u128::from(bytes))
            ),
            Available::Fallback => format!(
                "the fixed limit used where the available memory cannot be read ({})",
                human(u128::from(FALLBACK_BYTES))
            ),
        }
    }
}

/// `MemAvailable` from the text of `/proc/meminfo`, in bytes.
pub fn parse_meminfo(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let mut words = line["MemAvailable:".len()..].split_whitespace();
    let kib: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => kib.checked_mul(1024),
        _ => None,
    }
}

/// The memory this machine has for a run (see the module docs).
pub fn available() -> Available {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .as_deref()
        .and_then(parse_meminfo)
        .map_or(Available::Fallback, Available::MemAvailable)
}

/// Bytes for people: `1.5 GiB`.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `Ok` when `estimate` fits in `available`; else a message with what the
/// run needs, what it may use, and `how_to_reduce` (the command's own
/// advice, for example which options shrink which buffers).
pub fn check(estimate: &Estimate, available: Available, how_to_reduce: &str) -> Result<(), String> {
    let needed = estimate.bytes();
    let usable = available.usable_bytes();
    if needed <= u128::from(usable) {
        return Ok(());
    }
    Err(format!(
        "this run needs {} ({}), more than the {} it may use: {}; {how_to_reduce}",
        human(needed),
        estimate.describe(),
        human(u128::from(usable)),
        available.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_read_in_kib() {
        let text =
            "MemTotal:       24000000 kB\nMemFree:         1000 kB\nMemAvailable:   20000000 kB\n";
        assert_eq!(parse_meminfo(text), Some(20_000_000 * 1024));
        assert_eq!(parse_meminfo("MemTotal: 5 kB\n"), None);
        assert_eq!(parse_meminfo("MemAvailable: lots\n"), None);
        assert_eq!(parse_meminfo("MemAvailable: 5 pages\n"), None);
        assert_eq!(
            parse_meminfo("MemAvailable: 99999999999999999999 kB\n"),
            None
        );
    }

    #[test]
    fn a_run_that_does_not_fit_is_refused_with_what_it_needs() {
        let mut estimate = Estimate::default();
        estimate.add("spikes", 1 << 30, 4).add("mem", 1 << 30, 4);
        let e = check(
            &estimate,
            Available::MemAvailable(4 << 30),
            "reduce --steps",
        )
        .unwrap_err();
        assert!(e.contains("needs 8.0 GiB"), "{e}");
        assert!(e.contains("3.2 GiB it may use"), "{e}");
        assert!(e.contains("MemAvailable"), "{e}");
        assert!(e.ends_with("reduce --steps"), "{e}");
        assert!(check(&estimate, Available::MemAvailable(20 << 30), "").is_ok());
        let e = check(&estimate, Available::Fallback, "").unwrap_err();
        assert!(e.contains("4.0 GiB it may use"), "{e}");
        // no overflow, however large
        estimate.add("huge", u64::MAX, u64::MAX);
        assert!(check(&estimate, Available::MemAvailable(u64::MAX), "").is_err());
    }

    #[test]
    fn available_memory_is_read_or_falls_back() {
        let usable = available().usable_bytes();
        assert!(usable > 0);
        if std::path::Path::new("/proc/meminfo").exists() {
            assert!(matches!(available(), Available::MemAvailable(_)));
        }
    }
}
