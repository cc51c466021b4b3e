//! The machine a graph is built for: tiles, workers per tile, memory per
//! tile and clock.

use super::GraphError;

/// An IPU target, as Poplar's `Target` describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// A name for reports.
    pub name: String,
    /// Tiles (1472 on one GC200 or Bow IPU).
    pub tiles: u32,
    /// Hardware worker contexts per tile (6).
    pub workers: u32,
    /// Memory per tile, bytes (624 KiB).
    pub bytes_per_tile: u64,
    /// Clock frequency, Hz.
    pub clock_hz: f64,
}

/// SRAM per tile of the Mk2 IPUs: 624 KiB.
const MK2_BYTES_PER_TILE: u64 = 624 * 1024;

impl Target {
    /// One GC200 (Mk2) IPU: 1472 tiles, 6 workers, 624 KiB per tile,
    /// 1.33 GHz.
    pub fn gc200() -> Target {
        Target {
            name: "GC200".into(),
            tiles: 1472,
            workers: 6,
            bytes_per_tile: MK2_BYTES_PER_TILE,
            clock_hz: 1.33e9,
        }
    }

    /// One Bow IPU: the GC200's tiles at 1.85 GHz.
    pub fn bow() -> Target {
        Target {
            name: "Bow".into(),
            clock_hz: 1.85e9,
            ..Target::gc200()
        }
    }

    /// A target of your own (small ones for tests): refused when a count is
    /// zero, the clock is not a positive finite number, or the tiles are
    /// more than 2^20.
    pub fn custom(
        name: &str,
        tiles: u32,
        workers: u32,
        bytes_per_tile: u64,
        clock_hz: f64,
    ) -> Result<Target, GraphError> {
        let problem = if tiles == 0 || tiles > 1 << 20 {
            Some(format!("{tiles} tiles (1 to 2^20)"))
        } else if workers == 0 || workers > 64 {
            Some(format!("{workers} workers per tile (1 to 64)"))
        } else if bytes_per_tile == 0 {
            Some("0 bytes per tile".to_string())
        } else if !(clock_hz.is_finite() && clock_hz > 0.0) {
            Some(format!("a clock of {clock_hz} Hz"))
        } else {
            None
        };
        match problem {
            Some(p) => Err(GraphError::BadTarget(format!("{name}: {p}"))),
            None => Ok(Target {
                name: name.into(),
                tiles,
                workers,
                bytes_per_tile,
                clock_hz,
            }),
        }
    }

    /// The preset named `name` (`gc200`, `bow`), case-insensitive.
    pub fn preset(name: &str) -> Option<Target> {
        match name.to_ascii_lowercase().as_str() {
            "gc200" | "mk2" => Some(Target::gc200()),
            "bow" => Some(Target::bow()),
            _ => None,
        }
    }
}
