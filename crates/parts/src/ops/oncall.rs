//! Who gets paged and when they acknowledge. `OnCall` owns the rotation (`[oncall]`), the
//! business hours its responders' `hours` refer to, and every page opened so far.
//!
//! A page's whole escalation is decided when it opens, from the responders on duty at that
//! moment: each one paged either misses the page or acknowledges after a sampled delay; a
//! page not acknowledged within `escalate_after` goes to the next responder on duty, for at
//! most [`MAX_ROUNDS`] rounds through the list. Draws come from the `SimRng` passed in, in a
//! fixed order (per attempt: the miss draw, then the acknowledgement delay when not missed),
//! so the same stream gives the same pages.

use rand::RngExt;

use crate::delivery::{OnCallHours, OncallSpec, ResponderSpec};
use crate::ops::calendar::{BusinessHours, WEEK_S};
use crate::ops::fatigue::FatigueSpec;
use prodsim_kernel::{NS_PER_S, SimRng};

/// Rounds through the on-duty list before a page is left unacknowledged.
pub const MAX_ROUNDS: usize = 3;

/// One page: who was paged when, and who acknowledged.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    /// 0, 1, 2, … in order of opening.
    pub id: u32,
    /// When the first notification arrived, ns.
    pub opened_ns: u64,
    /// Alert names attached to it, in arrival order, without duplicates.
    pub alerts: Vec<String>,
    /// Every responder paged, in order; escalations follow the first.
    pub attempts: Vec<PageAttempt>,
    /// The acknowledgement; `None` when nobody acknowledged.
    pub acknowledged: Option<Acknowledgement>,
    /// When the page was closed, ns; `None` while it is open.
    pub closed_ns: Option<u64>,
}

impl Page {
    /// Time from opening to acknowledgement, ns.
    pub fn ack_delay_ns(&self) -> Option<u64> {
        self.acknowledged.as_ref().map(|a| a.at_ns.saturating_sub(self.opened_ns))
    }

    /// Whether the page went past its first responder.
    pub fn escalated(&self) -> bool {
        self.attempts.len() > 1
    }
}

/// Who acknowledged a page, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Acknowledgement {
    /// When, ns.
    pub at_ns: u64,
    /// The responder's name.
    pub by: String,
}

/// One responder paged.
#[derive(Clone, Debug, PartialEq)]
pub struct PageAttempt {
    /// The responder's name.
    pub responder: String,
    /// When they were paged, ns.
    pub paged_ns: u64,
    /// They missed the page altogether (a slow responder who is escalated past has
    /// `missed == false`).
    pub missed: bool,
    /// Pages this responder had got in the fatigue window when paged (0 without
    /// `[oncall.fatigue]`): what raised their miss probability and acknowledgement delay.
    pub recent_pages: u32,
}

/// The on-call rotation and its pages.
#[derive(Clone, Debug)]
pub struct OnCall {
    responders: Vec<ResponderSpec>,
    escalate_after_ns: u64,
    business: BusinessHours,
    start_time_s: u64,
    rng: SimRng,
    pages: Vec<Page>,
    /// Index into `pages` of the open page.
    open: Option<usize>,
    /// Alert fatigue; `None` (the default) leaves misses and delays as configured.
    fatigue: Option<FatigueSpec>,
}

impl OnCall {
    /// A rotation from `spec`; `business` are the working hours `hours = "business"` and
    /// `"nights"` refer to, `start_time_s` the wall clock at t = 0 (seconds after Monday
    /// 00:00), `rng` the stream every page draws from.
    pub fn new(spec: &OncallSpec, business: BusinessHours, start_time_s: u64, rng: SimRng) -> OnCall {
        OnCall {
            responders: spec.responders.clone(),
            escalate_after_ns: spec.escalate_after_ns,
            business,
            start_time_s,
            rng,
            pages: Vec::new(),
            open: None,
            fatigue: spec.fatigue.clone(),
        }
    }

    /// Turns alert fatigue on: each responder's miss probability and acknowledgement delay
    /// grow with the pages they got in the fatigue window (see [`FatigueSpec`]).
    pub fn with_fatigue(mut self, fatigue: FatigueSpec) -> OnCall {
        self.fatigue = Some(fatigue);
        self
    }

    /// Pages `responder` got in the fatigue window before `now_ns` (0 without fatigue).
    pub fn recent_pages(&self, responder: &str, now_ns: u64) -> u32 {
        let Some(f) = &self.fatigue else { return 0 };
        let n = self
            .pages
            .iter()
            .flat_map(|p| p.attempts.iter())
            .filter(|a| a.responder == responder && a.paged_ns < now_ns && f.in_window(a.paged_ns, now_ns))
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The wall clock at `now_ns`, seconds after Monday 00:00, wrapping weekly.
    pub fn week_s(&self, now_ns: u64) -> u64 {
        (self.start_time_s + now_ns / NS_PER_S) % WEEK_S
    }

    /// Responders on call at `now_ns` (simulated ns since t = 0), in escalation (file) order.
    pub fn on_duty(&self, now_ns: u64) -> Vec<usize> {
        let in_hours = self.business.contains(self.week_s(now_ns));
        self.responders
            .iter()
            .enumerate()
            .filter(|(_, r)| match r.hours {
                OnCallHours::Always => true,
                OnCallHours::Business => in_hours,
                OnCallHours::Nights => !in_hours,
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Whether nobody is on call at `now_ns`: a page then goes to everyone.
    pub fn rota_gap(&self, now_ns: u64) -> bool {
        self.on_duty(now_ns).is_empty()
    }

    /// Notifications about firing `alerts` reached the on-call at `now_ns`. With a page
    /// open, the new alert names are attached to it and `None` is returned; otherwise a page
    /// opens, its escalation is decided (see the module comment) and its id is returned.
    /// During a rota gap everyone is paged, in file order.
    pub fn notify(&mut self, now_ns: u64, alerts: &[String]) -> Option<u32> {
        if let Some(k) = self.open {
            attach(&mut self.pages[k].alerts, alerts);
            return None;
        }
        let mut order = self.on_duty(now_ns);
        if order.is_empty() {
            order = (0..self.responders.len()).collect();
        }
        let id = self.pages.len() as u32;
        let mut page = Page {
            id,
            opened_ns: now_ns,
            alerts: Vec::new(),
            attempts: Vec::new(),
            acknowledged: None,
            closed_ns: None,
        };
        attach(&mut page.alerts, alerts);
        self.escalate(&mut page, &order);
        self.pages.push(page);
        self.open = Some(self.pages.len() - 1);
        Some(id)
    }

    /// Pages `order` round by round from the page's opening until someone acknowledges
    /// within `escalate_after`.
    fn escalate(&mut self, page: &mut Page, order: &[usize]) {
        let mut paged_ns = page.opened_ns;
        for &i in order.iter().cycle().take(order.len() * MAX_ROUNDS) {
            let recent = self.recent_pages(&self.responders[i].name, paged_ns);
            let r = &self.responders[i];
            let miss = self.fatigue.as_ref().map_or(r.miss, |f| f.miss_probability(r.miss, recent));
            let missed = self.rng.random::<f64>() < miss;
            page.attempts.push(PageAttempt { responder: r.name.clone(), paged_ns, missed, recent_pages: recent });
            if !missed {
                let base_ns = r.ack.sample_ns(&mut self.rng);
                let base_ns = self.fatigue.as_ref().map_or(base_ns, |f| f.ack_delay_ns(base_ns, recent));
                // People act on a clock of seconds.
                let delay_ns = base_ns.div_ceil(NS_PER_S) * NS_PER_S;
                if delay_ns <= self.escalate_after_ns {
                    page.acknowledged = Some(Acknowledgement { at_ns: paged_ns + delay_ns, by: r.name.clone() });
                    return;
                }
            }
            paged_ns += self.escalate_after_ns;
        }
    }

    /// A person answers the open page (a game day): the acknowledgement planned when it
    /// opened is dropped, and only [`OnCall::acknowledge`] sets one.
    pub fn drop_planned_acknowledgement(&mut self) {
        if let Some(k) = self.open {
            self.pages[k].acknowledged = None;
        }
    }

    /// `by` acknowledges the open page at `now_ns` (a person at the keyboard, in a game
    /// day): the planned acknowledgement is replaced when it was later or missing. Returns
    /// the page's id, or why there is nothing to acknowledge.
    pub fn acknowledge(&mut self, now_ns: u64, by: &str) -> Result<u32, &'static str> {
        let Some(k) = self.open else { return Err("no page is open") };
        let page = &mut self.pages[k];
        if page.acknowledged.as_ref().is_some_and(|a| a.at_ns <= now_ns) {
            return Err("the open page is already acknowledged");
        }
        page.acknowledged = Some(Acknowledgement { at_ns: now_ns, by: by.to_string() });
        Ok(page.id)
    }

    /// The open page, if any.
    pub fn open_page(&self) -> Option<&Page> {
        self.open.map(|k| &self.pages[k])
    }

    /// Closes the open page at `now_ns` (the caller does this when all its alerts have
    /// resolved). Escalations and an acknowledgement planned after `now_ns` never happen
    /// and are dropped. Does nothing without an open page.
    pub fn close(&mut self, now_ns: u64) {
        let Some(k) = self.open.take() else { return };
        let page = &mut self.pages[k];
        page.closed_ns = Some(now_ns);
        page.attempts.retain(|a| a.paged_ns <= now_ns);
        if page.acknowledged.as_ref().is_some_and(|a| a.at_ns > now_ns) {
            page.acknowledged = None;
        }
    }

    /// Every page so far, in order of opening.
    pub fn pages(&self) -> &[Page] {
        &self.pages
    }
}

/// Appends the names in `new` not yet in `names`.
fn attach(names: &mut Vec<String>, new: &[String]) {
    for a in new {
        if !names.contains(a) {
            names.push(a.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prodsim_kernel::{Dist, stream};

    const MIN: u64 = 60 * NS_PER_S;
    /// Tuesday 03:00.
    const TUE_3AM: u64 = 86_400 + 3 * 3600;
    /// Tuesday 10:00.
    const TUE_10AM: u64 = 86_400 + 10 * 3600;

    fn responder(name: &str, hours: OnCallHours, ack_ns: u64, miss: f64) -> ResponderSpec {
        ResponderSpec { name: name.into(), hours, ack: Dist::constant(ack_ns), miss }
    }

    fn spec(responders: Vec<ResponderSpec>) -> OncallSpec {
        OncallSpec {
            responders,
            escalate_after_ns: 10 * MIN,
            investigate: Dist::constant(5 * MIN),
            receivers: Vec::new(),
            fatigue: None,
        }
    }

    fn oncall(responders: Vec<ResponderSpec>, start_time_s: u64) -> OnCall {
        OnCall::new(&spec(responders), BusinessHours::default(), start_time_s, stream(1, "oncall"))
    }

    #[test]
    fn fatigue_slows_acknowledgement_after_many_pages() {
        let fatigue = FatigueSpec {
            window_ns: FatigueSpec::DEFAULT_WINDOW_NS,
            miss_per_page: 0.0,
            miss_max: 0.0,
            ack_delay_per_page_ns: 30 * NS_PER_S,
        };
        let run = |f: Option<FatigueSpec>| {
            let mut o = oncall(vec![responder("ana", OnCallHours::Always, MIN, 0.0)], TUE_10AM);
            if let Some(f) = f {
                o = o.with_fatigue(f);
            }
            for k in 0..6u64 {
                o.notify(k * 3600 * NS_PER_S, &names(&["noise"]));
                o.close(k * 3600 * NS_PER_S + 2 * MIN);
            }
            o.notify(7 * 3600 * NS_PER_S, &names(&["real"]));
            let last = o.pages().last();
            (last.and_then(Page::ack_delay_ns), last.map(|p| p.attempts[0].recent_pages))
        };
        assert_eq!(run(None), (Some(MIN), Some(0)));
        // Six pages in the last 24 h: 60 s + 6 × 30 s.
        assert_eq!(run(Some(fatigue)), (Some(4 * MIN), Some(6)));
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn business_hours_responder_is_off_at_night() {
        let rs = vec![
            responder("day", OnCallHours::Business, MIN, 0.0),
            responder("night", OnCallHours::Nights, MIN, 0.0),
            responder("any", OnCallHours::Always, MIN, 0.0),
        ];
        let night = oncall(rs.clone(), TUE_3AM);
        assert_eq!(night.on_duty(0), vec![1, 2]);
        // Seven hours later it is Tuesday 10:00.
        assert_eq!(night.on_duty(7 * 3600 * NS_PER_S), vec![0, 2]);
        let day = oncall(rs, TUE_10AM);
        assert_eq!(day.on_duty(0), vec![0, 2]);
        // The clock wraps weekly: a week later it is Tuesday 10:00 again.
        assert_eq!(day.on_duty(WEEK_S * NS_PER_S), vec![0, 2]);
    }

    #[test]
    fn a_miss_escalates_exactly_escalate_after_later() {
        let mut oc = oncall(
            vec![
                responder("alice", OnCallHours::Always, MIN, 1.0),
                responder("bob", OnCallHours::Always, 2 * MIN, 0.0),
            ],
            TUE_10AM,
        );
        let t0 = 5 * MIN;
        assert_eq!(oc.notify(t0, &names(&["HighErrorRate"])), Some(0));
        let page = oc.open_page().unwrap();
        assert_eq!(
            page.attempts,
            vec![
                PageAttempt { responder: "alice".into(), paged_ns: t0, missed: true, recent_pages: 0 },
                PageAttempt { responder: "bob".into(), paged_ns: t0 + 10 * MIN, missed: false, recent_pages: 0 },
            ]
        );
        assert_eq!(page.acknowledged, Some(Acknowledgement { at_ns: t0 + 12 * MIN, by: "bob".into() }));
        assert!(page.escalated());
    }

    #[test]
    fn a_slow_ack_escalates_and_nobody_may_ack() {
        let mut oc = oncall(vec![responder("slow", OnCallHours::Always, 11 * MIN, 0.0)], TUE_10AM);
        oc.notify(0, &names(&["A"]));
        let page = &oc.pages()[0];
        assert_eq!(page.attempts.len(), MAX_ROUNDS);
        assert!(page.attempts.iter().all(|a| !a.missed));
        assert_eq!(page.attempts[2].paged_ns, 20 * MIN);
        assert_eq!(page.acknowledged, None);
    }

    #[test]
    fn a_quick_ack_acks_at_opened_plus_delay() {
        let mut oc = oncall(vec![responder("alice", OnCallHours::Always, 3 * MIN, 0.0)], TUE_10AM);
        oc.notify(MIN, &names(&["A"]));
        let page = oc.open_page().unwrap();
        assert_eq!(page.acknowledged, Some(Acknowledgement { at_ns: 4 * MIN, by: "alice".into() }));
        assert_eq!(page.ack_delay_ns(), Some(3 * MIN));
        assert_eq!(page.attempts.len(), 1);
    }

    #[test]
    fn alerts_attach_to_the_open_page() {
        let mut oc = oncall(vec![responder("alice", OnCallHours::Always, MIN, 0.0)], TUE_10AM);
        assert_eq!(oc.notify(0, &names(&["A", "B"])), Some(0));
        assert_eq!(oc.notify(MIN, &names(&["B", "C", "C"])), None);
        assert_eq!(oc.open_page().unwrap().alerts, names(&["A", "B", "C"]));
        oc.close(2 * MIN);
        assert!(oc.open_page().is_none());
        assert_eq!(oc.pages()[0].closed_ns, Some(2 * MIN));
        assert_eq!(oc.notify(3 * MIN, &names(&["D"])), Some(1));
        assert_eq!(oc.pages().len(), 2);
    }

    #[test]
    fn closing_drops_what_had_not_happened_yet() {
        let mut oc = oncall(
            vec![
                responder("alice", OnCallHours::Always, MIN, 1.0),
                responder("bob", OnCallHours::Always, 5 * MIN, 0.0),
            ],
            TUE_10AM,
        );
        oc.notify(0, &names(&["A"]));
        oc.close(3 * MIN);
        let page = &oc.pages()[0];
        assert_eq!(page.attempts.len(), 1);
        assert_eq!(page.acknowledged, None);
    }

    #[test]
    fn same_stream_same_pages() {
        let ack = Dist::exponential(8.0 * MIN as f64);
        let rs = vec![
            ResponderSpec { name: "a".into(), hours: OnCallHours::Always, ack: ack.clone(), miss: 0.3 },
            ResponderSpec { name: "b".into(), hours: OnCallHours::Always, ack, miss: 0.3 },
        ];
        let run = |seed: u64| {
            let mut oc = OnCall::new(&spec(rs.clone()), BusinessHours::default(), TUE_10AM, stream(seed, "oncall"));
            for k in 0..20 {
                oc.notify(k * 60 * MIN, &names(&["A"]));
                oc.close(k * 60 * MIN + 45 * MIN);
            }
            oc.pages().to_vec()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn a_rota_gap_pages_everyone() {
        let mut oc = oncall(
            vec![
                responder("day1", OnCallHours::Business, 20 * MIN, 0.0),
                responder("day2", OnCallHours::Business, MIN, 0.0),
            ],
            TUE_3AM,
        );
        assert!(oc.rota_gap(0));
        assert!(!oc.rota_gap(7 * 3600 * NS_PER_S));
        oc.notify(0, &names(&["A"]));
        let page = oc.open_page().unwrap();
        let who: Vec<&str> = page.attempts.iter().map(|a| a.responder.as_str()).collect();
        assert_eq!(who, ["day1", "day2"]);
        assert_eq!(page.acknowledged, Some(Acknowledgement { at_ns: 11 * MIN, by: "day2".into() }));
    }

    #[test]
    fn a_person_acknowledges_the_open_page_before_the_plan() {
        let mut oc = oncall(vec![responder("bob", OnCallHours::Always, 20 * MIN, 0.0)], TUE_10AM);
        assert_eq!(oc.acknowledge(MIN, "player"), Err("no page is open"));
        let id = oc.notify(0, &names(&["A"])).unwrap();
        oc.drop_planned_acknowledgement();
        assert_eq!(oc.open_page().unwrap().acknowledged, None);
        assert_eq!(oc.acknowledge(2 * MIN, "player"), Ok(id));
        let page = oc.open_page().unwrap();
        assert_eq!(page.acknowledged, Some(Acknowledgement { at_ns: 2 * MIN, by: "player".into() }));
        assert_eq!(page.ack_delay_ns(), Some(2 * MIN));
        assert_eq!(oc.acknowledge(3 * MIN, "player"), Err("the open page is already acknowledged"));
    }
}
