//! `report.html`: one self-contained page per run, comparison, sweep or check (see
//! `docs/report.md`). Each section is its own module; the page around them is `page`.
//! Everything is a pure function of the results, so the same scenario and seed give the
//! same bytes (no timestamps, no hash-map order).

pub mod blast_page;
pub mod capacity_page;
pub mod cards;
pub mod chart_data;
pub mod check_page;
pub mod diagram;
pub mod escape;
pub mod lab;
pub mod ops;
pub mod page;
pub mod run_events;
pub mod run_timeline;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use prodsim_model::outcome::Outcome;
use prodsim_scenario::Scenario;

use super::{ReportError, write_atomic};
use crate::expect::ExpectationResult;
use crate::summary::Summary;
use page::{Page, placeholder};

/// The report's file name.
pub const FILE_NAME: &str = "report.html";

/// The page of one run.
pub fn run_page(scenario: &Scenario, o: &Outcome, verdicts: &[ExpectationResult]) -> String {
    let mut summary = Summary::from_outcome(o);
    summary.expectations = (!verdicts.is_empty()).then(|| verdicts.to_vec());
    let charts = run_timeline::charts(o);
    let mut body = cards::header(scenario, o);
    body.push_str(&cards::cards(&summary, verdicts));
    let _ = write!(
        body,
        "<section id=\"architecture\"><h2>Architecture</h2><div class=\"diagram-box\">{}</div></section>",
        diagram::svg(scenario, o)
    );
    body.push_str(
        "<section id=\"timeline\"><h2>Timeline</h2><p class=\"hint\">Drag to zoom, double-click to reset, \
         <kbd>shift</kbd>+drag or the arrows to pan; click a legend entry to hide its series. Shaded: the warmup (grey) \
         and fault windows (red); an orange band on top: an incident (users hurt). Vertical lines: pages, \
         acknowledgements, actions, releases.</p>\
         <div class=\"pan\"><button data-pan=\"-1\">◀ pan</button><button data-pan=\"1\">pan ▶</button>\
         <button data-reset=\"1\">reset zoom</button></div>",
    );
    for c in &charts {
        body.push_str(&placeholder(c));
    }
    body.push_str("</section>");
    let mut nav = vec![("headline", "headline"), ("architecture", "architecture"), ("timeline", "timeline")];
    if let (Some(a), Some(m)) = (summary.system.alerting.as_ref(), o.system.monitoring.as_deref()) {
        let pm = ops::postmortem_text(o);
        if !a.incidents.is_empty() {
            nav.push(("incidents", "incidents"));
        }
        body.push_str(&ops::incidents(a, pm.as_deref()));
        body.push_str(&ops::quality(a));
        body.push_str(&ops::notifications(m));
        nav.extend([("alert-quality", "alert quality"), ("notifications", "notifications")]);
    }
    if !verdicts.is_empty() {
        nav.push(("expectations", "expectations"));
    }
    body.push_str(&cards::expectations(verdicts));
    body.push_str(&cards::tables(&summary));
    nav.push(("numbers", "numbers"));
    page::render(&Page { title: format!("{} — prodsim run", scenario.name), kind: "run", nav, body, charts })
}

/// Writes `report.html` for one run into `dir` (atomically) and returns its path.
pub fn write_run(
    dir: &Path,
    scenario: &Scenario,
    o: &Outcome,
    verdicts: &[ExpectationResult],
) -> Result<PathBuf, ReportError> {
    write_page(dir, &run_page(scenario, o, verdicts))
}

/// Writes `page` as `report.html` into `dir` (created if needed, atomically) and returns
/// its path.
pub fn write_page(dir: &Path, page: &str) -> Result<PathBuf, ReportError> {
    crate::atomic::ensure_dir(dir)?;
    let path = dir.join(FILE_NAME);
    write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// Writes the page of a comparison into `dir`.
pub fn write_compare(dir: &Path, c: &prodsim_lab::compare::Comparison) -> Result<PathBuf, ReportError> {
    write_page(dir, &lab::compare_page(c))
}

/// Writes the page of a sweep into `dir`.
pub fn write_sweep(dir: &Path, s: &prodsim_lab::sweep::Sweep) -> Result<PathBuf, ReportError> {
    write_page(dir, &lab::sweep_page(s))
}

/// Writes the page of a blast radius into `dir`.
pub fn write_blast(dir: &Path, b: &prodsim_lab::blast::BlastRadius) -> Result<PathBuf, ReportError> {
    write_page(dir, &blast_page::blast_page(b))
}

/// Writes the page of a capacity search into `dir`.
pub fn write_capacity(dir: &Path, c: &prodsim_lab::capacity::Capacity) -> Result<PathBuf, ReportError> {
    write_page(dir, &capacity_page::capacity_page(c))
}

/// Writes the page of a check into `dir`.
pub fn write_check(dir: &Path, p: &check_page::CheckPage) -> Result<PathBuf, ReportError> {
    write_page(dir, &check_page::check_page(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> (Scenario, Outcome) {
        let text = "[scenario]\nname = \"t\"\ndescription = \"a <b>bold</b> claim\"\nduration = \"30s\"\n\
                    report_interval = \"10s\"\n[[workload]]\nname = \"w\"\nrate = 50\n[servers]\ncount = 2\n\
                    workers = 2\nservice_time = \"exp(5ms)\"\n";
        let s = prodsim_scenario::load_str(text, Path::new("t.toml")).expect("loads").scenario;
        let o = prodsim_model::simulate(&s, 1).expect("runs");
        (s, o)
    }

    #[test]
    fn a_plain_run_gets_dashes_not_empty_sections() {
        let (s, o) = tiny();
        let page = run_page(&s, &o, &[]);
        assert!(page.contains("a &lt;b&gt;bold&lt;/b&gt; claim"), "the description is escaped");
        assert!(page.contains("no payments") && page.contains("no [slo] / monitoring"));
        assert!(!page.contains("id=\"incidents\"") && !page.contains("id=\"notifications\""));
        assert!(page.contains("data-name=\"app servers\"") && page.contains("data-name=\"load balancer\""));
        let start = page.find("id=\"prodsim-data\">").expect("the data block") + "id=\"prodsim-data\">".len();
        let end = start + page[start..].find("</script>").expect("its end");
        let data: serde_json::Value = serde_json::from_str(&page[start..end]).expect("JSON");
        let keys: Vec<&str> =
            data["charts"].as_array().expect("charts").iter().filter_map(|c| c["key"].as_str()).collect();
        assert_eq!(keys[..4], ["requests", "errors", "latency", "in_flight"]);
        assert!(!keys.contains(&"events") && !keys.contains(&"retry_queue"), "{keys:?}");
        assert_eq!(page, run_page(&s, &o, &[]), "the same outcome gives the same bytes");
    }
}
