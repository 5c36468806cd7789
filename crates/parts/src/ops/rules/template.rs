//! Alert annotation and label templates: a small hand-written subset of Prometheus's Go
//! templates, enough for the usual `{{ $labels.instance }}`, `{{ $value }}` and
//! `{{ $value | humanizePercentage }}`.
//!
//! Supported: `$value`/`.Value`, `$labels.NAME`/`.Labels.NAME` (a missing label renders
//! an empty string: Prometheus expands rule templates with `missingkey=zero`), pipes to
//! `humanize`, `humanizePercentage`, `humanizeDuration` and `printf "%.Nf"`/`"%f"`/`"%v"`/`"%s"`. An action that is
//! anything else is left in the text unchanged, so the reader sees what was not expanded.

use std::collections::BTreeMap;

/// A value flowing through a template pipeline.
enum Val {
    Num(f64),
    Str(String),
}

impl Val {
    fn render(&self) -> String {
        match self {
            Val::Num(v) => go_float(*v),
            Val::Str(s) => s.clone(),
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Num(v) => Some(*v),
            Val::Str(s) => s.trim().parse().ok(),
        }
    }
}

/// Expands `{{ ... }}` actions in `text` for one alert: its series' labels and value.
pub fn expand(text: &str, labels: &BTreeMap<String, String>, value: f64) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            out.push_str(&rest[open..]);
            return out;
        };
        let action = &after[..close];
        match eval_action(action, labels, value) {
            Some(s) => out.push_str(&s),
            None => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

fn eval_action(action: &str, labels: &BTreeMap<String, String>, value: f64) -> Option<String> {
    let action = action.trim().trim_start_matches('-').trim_end_matches('-').trim();
    let mut stages = action.split('|').map(str::trim);
    let mut head = stages.next()?;
    // The call form `humanize $value` / `printf "%.2f" $value` is the pipe form reversed.
    let mut call = None;
    if let Some((func, arg)) = head.rsplit_once(char::is_whitespace)
        && (func.starts_with("humanize") || func.starts_with("printf"))
    {
        call = Some(func.trim());
        head = arg.trim();
    }
    let mut stages: Vec<&str> = call.into_iter().chain(stages.by_ref()).collect();
    let stages = stages.drain(..);
    let mut val = if head == "$value" || head == ".Value" {
        Val::Num(value)
    } else if let Some(name) = head.strip_prefix("$labels.").or_else(|| head.strip_prefix(".Labels.")) {
        Val::Str(labels.get(name).cloned().unwrap_or_default())
    } else {
        return None;
    };
    for stage in stages {
        val = match stage {
            "humanize" => Val::Str(humanize(val.as_f64()?)),
            "humanizePercentage" => Val::Str(format!("{}%", go_g4(val.as_f64()? * 100.0))),
            "humanizeDuration" => Val::Str(humanize_duration(val.as_f64()?)),
            _ => Val::Str(printf(stage, &val)?),
        };
    }
    Some(val.render())
}

/// `printf "FORMAT"` with one verb: `%.Nf`, `%f`, `%v`, `%s`.
fn printf(stage: &str, val: &Val) -> Option<String> {
    let format = stage.strip_prefix("printf")?.trim();
    let format = format.strip_prefix('"')?.strip_suffix('"')?;
    let start = format.find('%')?;
    let (before, spec) = format.split_at(start);
    let end = spec[1..].find(|c: char| c.is_ascii_alphabetic())? + 1;
    let (verb, after) = spec.split_at(end + 1);
    let body = match (&verb[1..end], &verb[end..]) {
        ("", "v") | ("", "s") => val.render(),
        ("", "f") => format!("{:.6}", val.as_f64()?),
        (p, "f") => format!("{:.*}", p.strip_prefix('.')?.parse::<usize>().ok()?, val.as_f64()?),
        _ => return None,
    };
    Some(format!("{before}{body}{after}"))
}

/// Go's `%v` of a float64 (how a Go template prints `$value`): the shortest
/// representation, in `e` notation when the decimal exponent is below -4 or at least 6
/// (strconv's `'g'` format with the shortest precision), e.g. `1.234567e+06`.
pub(crate) fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        format!("{mantissa}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        format!("{v}")
    }
}

/// Go's `%.4g`: four significant digits, trailing zeros trimmed, `e` notation when the
/// exponent is below -4 or at least 4.
fn go_g4(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{v:.3e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s.to_string() }
    };
    if !(-4..4).contains(&exp) {
        format!("{}e{}{:02}", trim(mantissa), if exp < 0 { '-' } else { '+' }, exp.abs())
    } else {
        trim(&format!("{:.*}", (3 - exp).max(0) as usize, v))
    }
}

/// Prometheus's `humanize`: SI prefixes, four significant digits.
fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g4(v);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", go_g4(v))
}

/// Prometheus's `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with SI prefixes below
/// one second.
fn humanize_duration(v: f64) -> String {
    if !v.is_finite() {
        return go_g4(v);
    }
    if v == 0.0 {
        return format!("{}s", go_g4(v));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        let v = v.abs();
        let d = v as i64;
        let (s, m, h, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
        return if days != 0 {
            format!("{sign}{days}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}s", go_g4(v))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g4(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> BTreeMap<String, String> {
        [("instance".to_string(), "a:80".to_string())].into()
    }

    #[test]
    fn expands_labels_values_and_pipes() {
        let l = labels();
        assert_eq!(expand("{{ $labels.instance }} is down", &l, 1.0), "a:80 is down");
        assert_eq!(expand("{{$labels.job}}", &l, 1.0), "");
        assert_eq!(expand("v={{ $value }}", &l, 0.25), "v=0.25");
        assert_eq!(expand("{{ .Value }}", &l, 1234567.0), "1.234567e+06");
        assert_eq!(expand("{{ $value }}", &l, 100000.0), "100000");
        assert_eq!(expand("{{ $value | humanizePercentage }}", &l, 0.02), "2%");
        assert_eq!(expand("{{ $value | humanizePercentage }}", &l, 0.123456), "12.35%");
        assert_eq!(expand("{{ $value | humanize }}", &l, 1234567.0), "1.235M");
        assert_eq!(expand("{{ $value | humanize }}", &l, 0.0123), "12.3m");
        assert_eq!(expand("{{ $value | humanizeDuration }}", &l, 3725.0), "1h 2m 5s");
        assert_eq!(expand(r#"{{ $value | printf "%.2f" }}s"#, &l, 1.0 / 3.0), "0.33s");
        assert_eq!(expand(r#"{{ printf "%.1f" $value }}"#, &l, 2.25), "2.2");
        assert_eq!(expand("{{ humanize $value }}", &l, 1500.0), "1.5k");
        assert_eq!(expand("{{- $labels.instance -}}", &l, 0.0), "a:80");
        // Unknown actions stay as written.
        assert_eq!(expand("{{ template \"x\" }} {{", &l, 1.0), "{{ template \"x\" }} {{");
    }
}
