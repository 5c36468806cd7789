//! The page around the sections: one self-contained HTML document with the styles, the
//! vendored uPlot (MIT, `assets/uPlot-LICENSE`), the page's own script and the data
//! inlined, so it opens from disk with no network. The data is JSON in a
//! `<script type="application/json">` block, escaped so that nothing a scenario says can
//! end the block or run.

use std::fmt::Write as _;

use serde::Serialize;

use super::chart_data::Chart;
use super::escape::{html, json_in_script};

/// uPlot 1.6.32, minified, from the npm package `uplot` (MIT).
const UPLOT_JS: &str = include_str!("../../assets/uPlot.iife.min.js");
/// uPlot's stylesheet.
const UPLOT_CSS: &str = include_str!("../../assets/uPlot.min.css");
/// The page's own styles.
const REPORT_CSS: &str = include_str!("../../assets/report.css");
/// The page's own script: draws the charts from the JSON block, syncs cursors and zoom,
/// shows hover values and marks faulted nodes during their window.
const REPORT_JS: &str = include_str!("../../assets/report.js");

/// What the page's script reads.
#[derive(Serialize)]
struct Data<'a> {
    charts: &'a [Chart],
}

/// A page: its title, the navigation, the sections' markup (already escaped) and the
/// charts the script draws into their placeholders.
pub struct Page {
    /// The document's title.
    pub title: String,
    /// What kind of report: `run`, `compare`, `sweep`, `check`, `blast-radius`, `capacity`.
    pub kind: &'static str,
    /// Links at the top: (anchor, label).
    pub nav: Vec<(&'static str, &'static str)>,
    /// The sections' HTML.
    pub body: String,
    /// The charts.
    pub charts: Vec<Chart>,
}

/// The placeholder a chart is drawn into, with its heading.
pub fn placeholder(c: &Chart) -> String {
    format!(
        "<figure class=\"panel\"><figcaption>{}</figcaption><div class=\"chart\" id=\"chart-{}\" data-key=\"{}\"></div></figure>",
        html(&c.title),
        html(&c.key),
        html(&c.key)
    )
}

/// The whole document.
pub fn render(p: &Page) -> String {
    // Plain structs of numbers and strings always serialise.
    let json = serde_json::to_string(&Data { charts: &p.charts }).expect("chart data serialises");
    let mut s = String::with_capacity(json.len() + UPLOT_JS.len() + p.body.len() + 16_384);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"prodsim\"><title>{}</title>\n<style>{UPLOT_CSS}\n{REPORT_CSS}</style></head>\n\
         <body class=\"report-{}\"><nav>",
        html(&p.title),
        p.kind
    );
    for (anchor, label) in &p.nav {
        let _ = write!(s, "<a href=\"#{anchor}\">{}</a>", html(label));
    }
    s.push_str("</nav><main>\n");
    s.push_str(&p.body);
    s.push_str("\n</main><footer>Written by prodsim. Charts: uPlot (MIT licence). Everything in this file; nothing is fetched.</footer>\n");
    let _ = writeln!(s, "<script type=\"application/json\" id=\"prodsim-data\">{}</script>", json_in_script(&json));
    let _ = write!(s, "<script>{UPLOT_JS}</script>\n<script>{REPORT_JS}</script>\n</body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_inlined_scripts_cannot_end_their_element() {
        for asset in [super::UPLOT_JS, super::REPORT_JS] {
            assert!(!asset.to_ascii_lowercase().contains("</script") && !asset.contains("<!--"));
        }
        assert!(!super::REPORT_CSS.contains("</style") && !super::UPLOT_CSS.contains("</style"));
        assert!(!super::REPORT_CSS.contains("url("), "no web font or image is fetched");
    }
}
