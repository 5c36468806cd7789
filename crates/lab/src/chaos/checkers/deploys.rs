//! Deploys: a rollback restores the previous version on every server, and no server is
//! left without a version.
//!
//! The releases are replayed in the order they ended, from the initial version: a
//! completed release installs its version, a rolled-back one must have restored what it
//! replaced. When every release has ended that way, every server must run the resulting
//! version at the end. A release that failed with no way back, or is still under way,
//! legitimately leaves a mixed fleet, so then only the second half is checked.

use super::{Invariant, Violation};
use prodsim_model::outcome::Outcome;
use prodsim_model::outcome::{ReleaseEnd, ReleaseOutcome};

/// Checks the releases of `outcome` (nothing to check without `[pipeline]`/`[[deploys]]`).
pub fn check(outcome: &Outcome) -> Vec<Violation> {
    let Some(d) = outcome.system.delivery.as_ref() else { return Vec::new() };
    let mut found = Vec::new();
    for (i, v) in d.server_versions.iter().enumerate() {
        if v.is_empty() {
            found.push(Violation::new(Invariant::Deploys, format!("server-{i} runs no version at the end")));
        }
    }
    let mut ended: Vec<&ReleaseOutcome> =
        d.releases.iter().filter(|r| r.rollout_start_ns.is_some() || r.outcome == ReleaseEnd::InProgress).collect();
    if ended.iter().any(|r| matches!(r.outcome, ReleaseEnd::Failed | ReleaseEnd::InProgress)) {
        return found;
    }
    ended.sort_by_key(|r| r.end_ns);
    let mut expected = d.initial_version.as_str();
    let mut last_rollback: Option<&ReleaseOutcome> = None;
    for r in ended {
        match r.outcome {
            ReleaseEnd::Completed => {
                expected = &r.version;
                last_rollback = None;
            }
            ReleaseEnd::RolledBack => {
                expected = &r.previous;
                last_rollback = Some(r);
            }
            ReleaseEnd::Failed | ReleaseEnd::InProgress => {}
        }
    }
    let wrong: Vec<String> = d
        .server_versions
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_empty() && v.as_str() != expected)
        .map(|(i, v)| format!("server-{i} runs {v}"))
        .collect();
    if !wrong.is_empty() {
        let why = match last_rollback {
            Some(r) => format!("the rollback of {} should have restored {expected} everywhere", r.version),
            None => format!("every release ended, so every server should run {expected}"),
        };
        found.push(Violation::new(Invariant::Deploys, format!("{why}, but {}", wrong.join(", "))));
    }
    found
}
