//! What can stop a live run before or while it runs.

/// Why a live run did not start or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// The scenario uses a section live mode does not build yet.
    #[error("not yet: live mode does not support {section}: {why}")]
    Unsupported {
        /// The section, as written in scenario files (`[[faults]]`, `[services.NAME]`, ...).
        section: String,
        /// What is missing, and what to do instead.
        why: String,
    },
    /// The scenario, at the chosen time scale, is more than one process can serve live.
    #[error("too big to run live: {why}")]
    TooBig {
        /// Which limit, and the time scale that would fit (when one would).
        why: String,
    },
    /// A bad option (a time scale that is not a positive number, ...).
    #[error("{0}")]
    Option(String),
    /// A socket or thread could not be set up.
    #[error("live mode could not start: {0}")]
    Io(#[from] std::io::Error),
}
