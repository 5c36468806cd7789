//! Structured logs, sans-IO: components emit log events, each instance buffers them and
//! ships batches to an external log store ([`Shipper`]); a bounded sample of whole entries
//! is kept for reading ([`Exemplars`]); client-side errors are grouped by fingerprint
//! ([`ErrorTracker`]).
//!
//! The shipper counts entries rather than storing them, so emitting is a few array
//! operations on the request path. Every entry ends in exactly one place:
//!
//! ```text
//! emitted = shipped (visible in the store) + dropped (buffer full) + lost (instance crashed)
//!         + backlog (still in a buffer) + in_transit (shipped, not yet visible)
//! ```
//!
//! Time is `i64` milliseconds of simulated time.

mod exemplars;
mod shipper;

#[cfg(test)]
mod tests;

pub use exemplars::{ErrorGroup, ErrorTracker, Exemplars, LogEntry, OTHER_FINGERPRINT};
pub use shipper::{LogCounts, LogCountsByLevel, Shipper, ShipperConfig};

/// A log entry's severity, ordered from least to most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Detail for developers.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected the component coped with.
    Warn,
    /// Something failed.
    Error,
}

impl Level {
    /// Every level, least severe first (the order of per-level arrays).
    pub const ALL: [Level; 4] = [Level::Debug, Level::Info, Level::Warn, Level::Error];

    /// `debug`, `info`, `warn` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// The level's position in [`Level::ALL`] and in per-level arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Why a shipper configuration is invalid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LogsError {
    /// The batch interval must be positive.
    #[error("the log batch interval must be positive, not {0} ms")]
    BatchInterval(i64),
    /// A batch must hold at least one entry.
    #[error("the log batch size must be at least 1")]
    BatchSize,
    /// Ingestion cannot take negative time.
    #[error("the log ingestion latency cannot be negative ({0} ms)")]
    IngestionLatency(i64),
}
