//! The page of `prodsim check`: the fault space and the window schedules fall in, the
//! cases and invariants checked, and for a failure the counterexample (as generated and
//! shrunk, its violations), its timeline and the command that replays it.

use std::fmt::Write as _;

use prodsim_kernel::units::format_duration;
use prodsim_lab::chaos::Mode;
use prodsim_lab::check::{CheckOptions, CheckReport, Plan};
use prodsim_model::outcome::Outcome;
use prodsim_scenario::Scenario;

use super::escape::html;
use super::page::{self, Page, placeholder};

/// What the page of a check shows.
pub struct CheckPage<'a> {
    /// The scenario checked.
    pub scenario: &'a Scenario,
    /// Its plan: fault space, window, most faults.
    pub plan: &'a Plan,
    /// The options the check ran with.
    pub options: &'a CheckOptions,
    /// What it found.
    pub report: &'a CheckReport,
    /// The written counterexample and the command that replays it, on a failure.
    pub replay: Option<(String, String)>,
    /// The counterexample's run (its own faults and seed), on a failure.
    pub counterexample_run: Option<&'a Outcome>,
}

fn list(s: &mut String, items: &[String]) {
    list_as(s, items, "schedule");
}

fn list_as(s: &mut String, items: &[String], class: &str) {
    let _ = write!(s, "<ul class=\"{class}\">");
    for i in items {
        let _ = write!(s, "<li><code>{}</code></li>", html(i));
    }
    s.push_str("</ul>");
}

fn space(p: &CheckPage) -> String {
    let w = p.plan.window;
    let mode = match p.options.mode {
        Mode::Recovery => format!(
            "recovery: 1 to {} faults, all over between +{} and +{}; recovered {} after the last one",
            p.options.max_faults,
            format_duration(w.earliest_ns),
            format_duration(w.latest_end_ns),
            format_duration(p.options.recovery_bound_ns)
        ),
        Mode::Safety => format!(
            "safety: 1 to {} faults starting between +{} and +{}, never ending",
            p.options.max_faults,
            format_duration(w.earliest_ns),
            format_duration(w.latest_end_ns)
        ),
    };
    let kinds: Vec<String> = p.plan.space.kinds().iter().map(|k| (*k).to_string()).collect();
    let mut s = format!("<section id=\"space\"><h2>Fault space</h2><p>{}</p><h3>Kinds</h3>", html(&mode));
    list_as(&mut s, &kinds, "chips");
    s.push_str("<h3>Targets</h3>");
    list_as(&mut s, &p.plan.space.targets(), "chips");
    s.push_str("</section>");
    s
}

fn cases(p: &CheckPage) -> String {
    let r = p.report;
    let verdict = if r.counterexample.is_some() { ("bad", "FAILED") } else { ("good", "passed") };
    let mut s = format!(
        "<section id=\"cases\"><h2>Cases</h2><div class=\"cards\"><div class=\"card {}\"><div class=\"card-label\">verdict</div>\
         <div class=\"card-value\">{}</div><div class=\"card-detail\">seed {}</div></div>\
         <div class=\"card\"><div class=\"card-label\">cases run</div><div class=\"card-value\">{}</div><div class=\"card-detail\">of {} asked</div></div>\
         <div class=\"card\"><div class=\"card-label\">simulations</div><div class=\"card-value\">{}</div><div class=\"card-detail\">{} events</div></div></div>\
         <table><tr><th>invariant</th><th>runs checked</th></tr>",
        verdict.0, verdict.1, p.options.seed, r.cases_run, p.options.cases, r.runs, r.events
    );
    for c in &r.checks {
        let _ = write!(s, "<tr><td>{}</td><td>{}</td></tr>", html(c.invariant.name()), c.checked);
    }
    s.push_str("</table></section>");
    s
}

/// The page of a check.
pub fn check_page(p: &CheckPage) -> String {
    let mut body = format!(
        "<header><h1 id=\"scenario-name\">{}</h1><p class=\"description\">{}</p><p class=\"meta\">prodsim check · seed {}</p></header>",
        html(&p.scenario.name),
        html(p.scenario.description.trim()),
        p.options.seed
    );
    body.push_str(&space(p));
    body.push_str(&cases(p));
    let mut nav = vec![("space", "fault space"), ("cases", "cases")];
    let mut charts = Vec::new();
    if let Some(cx) = &p.report.counterexample {
        nav.push(("counterexample", "counterexample"));
        let _ = write!(
            body,
            "<section id=\"counterexample\"><h2>Counterexample</h2><p>Case {} (seed {}) as generated, {} fault(s):</p>",
            cx.case,
            cx.seed,
            cx.found.faults.len()
        );
        list(&mut body, &cx.found.lines());
        let _ = write!(
            body,
            "<p>Shrunk in {} runs to {} fault(s){}:</p>",
            cx.shrink_runs,
            cx.shrunk.schedule.faults.len(),
            if cx.reproduced { "" } else { " (did not reproduce identically)" }
        );
        list(&mut body, &cx.shrunk.schedule.lines());
        body.push_str("<h3>Violations</h3>");
        list(&mut body, &cx.shrunk.violations.iter().map(ToString::to_string).collect::<Vec<_>>());
        if let Some((file, command)) = &p.replay {
            let _ = write!(
                body,
                "<h3>Replay</h3><p>Written to <code>{}</code>. Replay it with:</p><pre class=\"command\">{}</pre>",
                html(file),
                html(command)
            );
        }
        if let Some(o) = p.counterexample_run {
            charts = super::run_timeline::charts(o);
            body.push_str("<h3>Timeline of the counterexample</h3>");
            for c in &charts {
                body.push_str(&placeholder(c));
            }
        }
        body.push_str("</section>");
    }
    page::render(&Page { title: format!("{} — prodsim check", p.scenario.name), kind: "check", nav, body, charts })
}
