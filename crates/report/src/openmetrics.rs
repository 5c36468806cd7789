//! `--metrics FILE`: every sample of the run's time-series store as OpenMetrics text, the
//! format `promtool tsdb create-blocks-from openmetrics` loads. Families come one after the
//! other (`# TYPE`, `# HELP`, then every series of the family, each series' samples in
//! time order), timestamps are seconds of simulated time, and the file ends with `# EOF`.
//! Staleness markers cannot be written (the text format reads `NaN` as an ordinary NaN);
//! [`crate::tsdb_block`] writes a Prometheus block that keeps them.

use std::collections::BTreeMap;
use std::fmt::Write;

use prodsim_parts::ops::catalog::{self, MetricType};
use prodsim_parts::ops::tsdb::{Labels, Sample, Tsdb};

/// The family a series name belongs to, with its type and help.
fn family(name: &str) -> (String, &'static str, &'static str) {
    for m in catalog::METRICS {
        let belongs = match m.kind {
            MetricType::Histogram => ["_bucket", "_sum", "_count"].iter().any(|s| name.strip_suffix(s) == Some(m.name)),
            _ => name == m.name,
        };
        if belongs {
            let family = match m.kind {
                MetricType::Counter => m.name.strip_suffix("_total").unwrap_or(m.name),
                _ => m.name,
            };
            return (family.to_string(), m.kind.as_str(), m.help);
        }
    }
    let help = if name == "ALERTS" || name == "ALERTS_FOR_STATE" {
        "Active alerts, written by the rule engine."
    } else {
        "Written by a recording rule."
    };
    (name.to_string(), "unknown", help)
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn write_series(out: &mut String, labels: &Labels, samples: &[Sample]) {
    let name = labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str());
    let rest: Vec<String> =
        labels.iter().filter(|(k, _)| k != "__name__").map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    let head = if rest.is_empty() { name.to_string() } else { format!("{name}{{{}}}", rest.join(",")) };
    for s in samples.iter().filter(|s| !s.is_stale()) {
        let _ = writeln!(out, "{head} {} {}.{:03}", value(s.v), s.t_ms.div_euclid(1000), s.t_ms.rem_euclid(1000));
    }
}

/// A family's type, help and series (labels and samples, in id order).
type Family<'a> = (&'static str, &'static str, Vec<(&'a Labels, &'a [Sample])>);

/// The whole store as OpenMetrics text.
pub fn render(tsdb: &Tsdb) -> String {
    let mut families: BTreeMap<String, Family<'_>> = BTreeMap::new();
    for (_, labels, samples) in tsdb.series() {
        let name = labels.iter().find(|(k, _)| k == "__name__").map_or("", |(_, v)| v.as_str());
        let (fam, kind, help) = family(name);
        families.entry(fam).or_insert((kind, help, Vec::new())).2.push((labels, samples));
    }
    let mut out = String::new();
    for (name, (kind, help, series)) in &families {
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "# HELP {name} {help}");
        for (labels, samples) in series {
            write_series(&mut out, labels, samples);
        }
    }
    out.push_str("# EOF\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let mut l: Labels = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        l.sort();
        l
    }

    #[test]
    fn families_types_and_eof() {
        let mut db = Tsdb::new();
        let a = db.series_id(labels(&[("__name__", "http_requests_total"), ("code", "200"), ("job", "lb")]));
        let b = db.series_id(labels(&[("__name__", "http_request_duration_seconds_bucket"), ("le", "+Inf")]));
        let c = db.series_id(labels(&[("__name__", "slo:sli_error:ratio_rate5m")]));
        let u = db.series_id(labels(&[("__name__", "up"), ("instance", "server-0"), ("job", "app")]));
        db.append(a, 15_000, 10.0);
        db.append(a, 30_000, 25.0);
        db.append(b, 15_000, 3.0);
        db.append(c, 30_500, 0.25);
        db.append(u, 15_000, 1.0);
        db.mark_stale(u, 30_000);
        let text = render(&db);
        let expected = "\
# TYPE http_request_duration_seconds histogram
# HELP http_request_duration_seconds Time from a request's arrival to its answer, in seconds.
http_request_duration_seconds_bucket{le=\"+Inf\"} 3 15.000
# TYPE http_requests counter
# HELP http_requests Requests answered, by request class and HTTP status code (200, 403, 429, 500, 503, 504).
http_requests_total{code=\"200\",job=\"lb\"} 10 15.000
http_requests_total{code=\"200\",job=\"lb\"} 25 30.000
# TYPE slo:sli_error:ratio_rate5m unknown
# HELP slo:sli_error:ratio_rate5m Written by a recording rule.
slo:sli_error:ratio_rate5m 0.25 30.500
# TYPE up gauge
# HELP up 1 if the last scrape of the instance succeeded, 0 if it was down or unreachable.
up{instance=\"server-0\",job=\"app\"} 1 15.000
# EOF
";
        assert_eq!(text, expected);
    }
}
