//! Structured logs inside the run: app servers, services and the database write access
//! lines (`info`, sampled), failed requests (`error`), failed dependency calls (`warn`)
//! and successful ones (`debug`); each instance buffers its entries and ships them to the
//! log store every `batch_interval` (`ops::logs`). A crash loses the buffer; a `log_store`
//! outage builds a backlog. A bounded set of entries is kept for `--logs`, and failed user
//! requests are grouped by fingerprint as a browser error tracker would.

use std::collections::VecDeque;

use rand::RngExt;

use prodsim_kernel::{EventQueue, SimRng, SimTime};
use prodsim_parts::ops::logs::{ErrorTracker, Exemplars, Level, LogCountsByLevel, LogEntry, Shipper, ShipperConfig};
use prodsim_scenario::monitoring::LoggingSpec;

use crate::engine::Engine;
use crate::event::{Event, MonitoringEvent};
use crate::measure::metrics::{CODES, DB_OPS, OUTCOMES};
use crate::measure::recorder::Fate;

/// Most client error fingerprints tracked (more are counted as `other`).
const MAX_FINGERPRINTS: usize = 1000;

/// What logging produced.
#[derive(Clone, Debug)]
pub struct LoggingOutcome {
    /// Emitted, shipped, dropped, lost and backlog counts, per level and in total.
    pub counts: LogCountsByLevel,
    /// Most entries waiting in buffers at once.
    pub max_backlog: u64,
    /// Longest time from an entry's emission to its being searchable, ms.
    pub max_ingestion_delay_ms: i64,
    /// The kept entries, in time order.
    pub entries: Vec<LogEntry>,
    /// Client-side errors by fingerprint.
    pub client_errors: ErrorTracker,
}

/// What a log line says.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Message {
    /// An access line: class, status slot, latency.
    Access(u16, usize, u64),
    /// A request failed: class, status slot.
    Failed(u16, usize),
    /// A dependency call: callee station, outcome slot.
    Call(usize, usize),
    /// A database query slower than `[database] slow_query`: op slot, latency.
    SlowQuery(usize, u64),
    /// A database write refused because the disk is full.
    DiskFull,
}

/// Logging's state in a run.
pub(crate) struct Logs {
    spec: LoggingSpec,
    shipper: Shipper,
    /// First log instance of each station.
    base: Vec<usize>,
    /// Instance names (`server-0`, `payments-1`, ...) and their component.
    names: Vec<(String, String)>,
    class_names: Vec<String>,
    station_names: Vec<String>,
    /// Sampling credit of the access lines.
    credit: f64,
    exemplars: Exemplars,
    /// Draws which entries the exemplar reservoir keeps.
    rng: SimRng,
    /// Failed user requests by fingerprint.
    client: ErrorTracker,
    /// The fingerprint of each (class, status slot).
    fingerprints: Vec<String>,
    /// The newest entries, for a game day's page (kept only in a [`crate::Session`]).
    tail: Option<LogTail>,
}

/// The newest [`TAIL_LINES`] entries written, and how many were written in all (a
/// watcher that saw `n` of them takes the last `written - n`).
#[derive(Clone, Debug, Default)]
pub struct LogTail {
    /// The newest entries, oldest first.
    pub lines: VecDeque<LogEntry>,
    /// Entries written since the start.
    pub written: u64,
}

/// Most entries a [`LogTail`] keeps.
pub const TAIL_LINES: usize = 500;

impl Engine {
    /// Builds logging for `spec` and schedules the first shipment.
    pub(crate) fn build_logging(
        &mut self,
        spec: &LoggingSpec,
        class_names: Vec<String>,
        rng: SimRng,
        queue: &mut EventQueue<Event>,
    ) {
        let mut base = Vec::with_capacity(self.stations.len());
        let mut names = Vec::new();
        for st in &self.stations {
            base.push(names.len());
            let prefix = match st.kind {
                crate::station::StationKind::App => "server",
                _ => st.name.as_str(),
            };
            for i in 0..st.instances.len() {
                names.push((format!("{prefix}-{i}"), st.name.clone()));
            }
        }
        let shipper = Shipper::new(ShipperConfig {
            instances: names.len(),
            buffer_capacity: spec.buffer,
            batch_interval_ms: (spec.batch_interval_ns / 1_000_000) as i64,
            batch_size: spec.batch_size,
            ingestion_latency_ms: (spec.ingestion_latency_ns / 1_000_000) as i64,
        });
        let fingerprints = class_names
            .iter()
            .flat_map(|class| {
                CODES.iter().map(move |code| {
                    let what = match *code {
                        "504" => "Timeout (504)".to_string(),
                        "429" => "Too Many Requests (429)".to_string(),
                        "403" => "Forbidden (403)".to_string(),
                        c => format!("HTTP {c}"),
                    };
                    format!("{what} on {class}")
                })
            })
            .collect();
        self.logs = Some(Box::new(Logs {
            spec: spec.clone(),
            shipper,
            base,
            names,
            station_names: self.stations.iter().map(|s| s.name.clone()).collect(),
            class_names,
            credit: 0.0,
            exemplars: Exemplars::new(spec.exemplars as usize),
            rng,
            client: ErrorTracker::new(MAX_FINGERPRINTS),
            fingerprints,
            tail: None,
        }));
        queue.schedule(SimTime(spec.batch_interval_ns), Event::Monitoring(MonitoringEvent::LogFlush));
    }

    /// Instance `i` of station `s` writes `message` at `level` about request `request`.
    #[inline]
    pub(crate) fn log(&mut self, now: SimTime, s: usize, i: u32, level: Level, message: Message, request: u32) {
        let Some(l) = self.logs.as_deref_mut() else { return };
        if (level as u8) < l.spec.level {
            return;
        }
        if let Message::Access(..) = message {
            l.credit += l.spec.sampling;
            if l.credit < 1.0 {
                return;
            }
            l.credit -= 1.0;
        }
        let Some(instance) = l.base.get(s).map(|b| b + i as usize) else { return };
        let t_ms = (now.as_nanos() / 1_000_000) as i64;
        if !l.shipper.emit(t_ms, instance, level) {
            return; // The buffer was full: the entry never existed anywhere.
        }
        let (names, class_names, station_names) = (&l.names, &l.class_names, &l.station_names);
        let random = l.rng.random::<u64>();
        let make = || {
            let message = match message {
                Message::Access(class, code, ns) => {
                    format!("{} {} {:.1}ms", class_names[usize::from(class)], CODES[code], ns as f64 / 1e6)
                }
                Message::Failed(class, code) => {
                    format!("request failed: {} {}", class_names[usize::from(class)], CODES[code])
                }
                Message::Call(callee, o) => format!("call to {} {}", station_names[callee], OUTCOMES[o]),
                Message::SlowQuery(op, ns) => format!("slow query: {} took {:.1}ms", DB_OPS[op], ns as f64 / 1e6),
                Message::DiskFull => "could not write: no space left on device".to_string(),
            };
            let (instance, component) = names[instance].clone();
            LogEntry {
                t_ms,
                level,
                component,
                instance,
                message,
                request_id: (request != crate::tasks::NONE).then_some(u64::from(request)),
            }
        };
        // The tail draws nothing: a game day's run is the run it replays to.
        if let Some(tail) = l.tail.as_mut() {
            if tail.lines.len() == TAIL_LINES {
                tail.lines.pop_front();
            }
            tail.lines.push_back(make());
            tail.written += 1;
        }
        l.exemplars.offer_with(level, random, make);
    }

    /// Keeps the newest entries for a game day's page (from now on).
    pub(crate) fn keep_log_tail(&mut self) {
        if let Some(l) = self.logs.as_deref_mut() {
            l.tail = Some(LogTail::default());
        }
    }

    /// The newest entries, when they are kept.
    pub(crate) fn log_tail(&self) -> Option<&LogTail> {
        self.logs.as_deref().and_then(|l| l.tail.as_ref())
    }

    /// A user got `fate` for a request of `class` at `answered` (the error tracker).
    #[inline]
    pub(crate) fn track_client(&mut self, answered: SimTime, class: u16, fate: Fate, code: usize) {
        let Some(l) = self.logs.as_deref_mut() else { return };
        if fate == Fate::Completed {
            return;
        }
        let t_ms = (answered.as_nanos() / 1_000_000) as i64;
        l.client.record(t_ms, &l.fingerprints[usize::from(class) * CODES.len() + code]);
    }

    /// Ships every due buffer and schedules the next shipment.
    pub(crate) fn on_log_flush(&mut self, now: SimTime, queue: &mut EventQueue<Event>) {
        let Some(l) = self.logs.as_deref_mut() else { return };
        l.shipper.flush_due((now.as_nanos() / 1_000_000) as i64);
        queue.schedule(now.after(l.spec.batch_interval_ns), Event::Monitoring(MonitoringEvent::LogFlush));
    }

    /// App server `i`'s process died: its buffered entries are lost.
    pub(crate) fn logs_crashed(&mut self, now: SimTime, i: usize) {
        if let Some(l) = self.logs.as_deref_mut() {
            l.shipper.crash((now.as_nanos() / 1_000_000) as i64, l.base[crate::engine::APP as usize] + i);
        }
    }

    /// The log store goes down or comes back.
    pub(crate) fn set_log_store_up(&mut self, now: SimTime, up: bool) {
        if let Some(l) = self.logs.as_deref_mut() {
            l.shipper.set_store_up((now.as_nanos() / 1_000_000) as i64, up);
        }
    }

    /// What logging produced over the run.
    pub(crate) fn logging_outcome(&mut self, end: SimTime) -> Option<LoggingOutcome> {
        let l = self.logs.take()?;
        let mut l = *l;
        l.shipper.flush_due((end.as_nanos() / 1_000_000) as i64);
        Some(LoggingOutcome {
            counts: l.shipper.counts(),
            max_backlog: l.shipper.max_backlog(),
            max_ingestion_delay_ms: l.shipper.max_ingestion_delay_ms(),
            entries: l.exemplars.entries().into_iter().cloned().collect(),
            client_errors: l.client,
        })
    }
}
