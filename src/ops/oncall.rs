//! TEMPORARY compile stub; replaced by the helper's module at merge.
#![allow(missing_docs, dead_code)]
use crate::scenario::delivery::OncallSpec;
use crate::scenario::monitoring::BusinessHours;
use crate::sim::SimRng;
#[derive(Clone, Debug, PartialEq)]
pub struct Page { pub id: u32, pub opened_ns: u64, pub alerts: Vec<String>, pub attempts: Vec<PageAttempt>, pub acknowledged: Option<(u64, String)>, pub closed_ns: Option<u64> }
#[derive(Clone, Debug, PartialEq)]
pub struct PageAttempt { pub responder: String, pub paged_ns: u64, pub missed: bool }
pub struct OnCall { pages: Vec<Page>, open: bool, spec: OncallSpec }
impl OnCall {
    pub fn new(spec: &OncallSpec, _b: BusinessHours, _s: u64, _rng: SimRng) -> OnCall { OnCall { pages: vec![], open: false, spec: spec.clone() } }
    pub fn notify(&mut self, now_ns: u64, alerts: &[String]) -> Option<u32> {
        if self.open { let p = self.pages.last_mut().unwrap(); for a in alerts { if !p.alerts.contains(a) { p.alerts.push(a.clone()) } } return None; }
        self.open = true;
        let id = self.pages.len() as u32;
        let who = self.spec.responders[0].name.clone();
        self.pages.push(Page { id, opened_ns: now_ns, alerts: alerts.to_vec(), attempts: vec![PageAttempt { responder: who.clone(), paged_ns: now_ns, missed: false }], acknowledged: Some((now_ns + 120_000_000_000, who)), closed_ns: None });
        Some(id)
    }
    pub fn open_page(&self) -> Option<&Page> { if self.open { self.pages.last() } else { None } }
    pub fn close(&mut self, now_ns: u64) { if self.open { self.open = false; if let Some(p) = self.pages.last_mut() { p.closed_ns = Some(now_ns) } } }
    pub fn pages(&self) -> &[Page] { &self.pages }
}
