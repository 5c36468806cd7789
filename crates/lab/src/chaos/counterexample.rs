//! Writing a counterexample as a runnable scenario file: the original file, with its own
//! `[[faults]]` replaced by the shrunk schedule and its seed set to the case's, so
//! `prodsim run` and `prodsim check --replay` reproduce it exactly.
//!
//! The original text is kept (comments and layout included) where it can be: its
//! `[[faults]]` tables are cut out line by line, `[scenario].seed` is rewritten in place,
//! `[scenario].name` gains a `-counterexample` suffix (so its reports do not overwrite the
//! original's) and the schedule is appended. The result is loaded back and must give exactly the
//! schedule and the seed; if the text surgery cannot achieve that (an unusual layout, such
//! as an inline `faults = [...]` array), the file is rebuilt from its parsed table instead,
//! which loses comments but not meaning.

use std::path::Path;

use toml::{Table, Value};

use super::Schedule;

/// Keys of a `[[faults]]` table in the order a person writes them.
const KEY_ORDER: [&str; 4] = ["kind", "target", "at", "duration"];

/// The scenario text `source` (read from `path`) with `seed` and `schedule`, preceded by
/// `header` (comment lines, each starting with `#`). Errors say why no faithful file could
/// be written.
pub fn scenario_text(
    source: &str,
    path: &Path,
    seed: u64,
    schedule: &Schedule,
    header: &str,
) -> Result<String, String> {
    let faults = faults_text(schedule);
    let surgery = format!("{header}{}\n{faults}", edit_text(source, seed));
    if faithful(&surgery, path, seed, schedule) {
        return Ok(surgery);
    }
    let mut table: Table = toml::from_str(source).map_err(|e| format!("cannot parse {}: {e}", path.display()))?;
    table.remove("faults");
    if let Some(Value::Table(s)) = table.get_mut("scenario") {
        let seed = i64::try_from(seed).map_err(|_| format!("seed {seed} does not fit a TOML integer"))?;
        s.insert("seed".to_string(), Value::Integer(seed));
        if let Some(Value::String(name)) = s.get_mut("name") {
            name.push_str("-counterexample");
        }
    }
    let rebuilt = toml::to_string(&table).map_err(|e| format!("cannot write the scenario: {e}"))?;
    let rebuilt = format!("{header}{rebuilt}\n{faults}");
    if faithful(&rebuilt, path, seed, schedule) {
        Ok(rebuilt)
    } else {
        Err("the written scenario does not load back to the same schedule (this is a prodsim bug)".to_string())
    }
}

/// Whether `text` loads with exactly `seed` and `schedule`'s faults.
fn faithful(text: &str, path: &Path, seed: u64, schedule: &Schedule) -> bool {
    match prodsim_scenario::load_str(text, path) {
        Ok(loaded) => {
            loaded.scenario.seed == seed
                && loaded.scenario.faults == schedule.faults
                && loaded.scenario.name.ends_with("-counterexample")
        }
        Err(_) => false,
    }
}

/// `source` without its `[[faults]]` tables, with `[scenario].seed = seed`.
fn edit_text(source: &str, seed: u64) -> String {
    let mut out = String::with_capacity(source.len());
    let mut section = String::new();
    let mut seed_written = false;
    for line in source.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            if section == "[scenario]" && !seed_written {
                out.push_str(&format!("seed = {seed}\n"));
                seed_written = true;
            }
            section = trimmed.split('#').next().unwrap_or("").trim().to_string();
        }
        if section == "[[faults]]" {
            continue;
        }
        if section == "[scenario]" && is_key(trimmed, "name") {
            if let Some(name) =
                line.split_once('=').and_then(|(_, v)| toml::from_str::<NameOnly>(&format!("v = {v}")).ok())
            {
                out.push_str(&format!("name = {}\n", Value::String(format!("{}-counterexample", name.v))));
                continue;
            }
        }
        if section == "[scenario]" && is_key(trimmed, "seed") {
            out.push_str(&format!("seed = {seed}  # the counterexample's seed\n"));
            seed_written = true;
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if section == "[scenario]" && !seed_written {
        out.push_str(&format!("seed = {seed}\n"));
    }
    out
}

/// The value of a `name = "..."` line (comments after it allowed).
#[derive(serde::Deserialize)]
struct NameOnly {
    v: String,
}

fn is_key(line: &str, key: &str) -> bool {
    line.strip_prefix(key).is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// The schedule as `[[faults]]` tables, keys in [`KEY_ORDER`] then alphabetical.
fn faults_text(schedule: &Schedule) -> String {
    let mut out = String::new();
    for fault in schedule.to_toml() {
        let Value::Table(t) = fault else { continue };
        out.push_str("[[faults]]\n");
        let rest = t.keys().filter(|k| !KEY_ORDER.contains(&k.as_str()));
        for key in KEY_ORDER.iter().copied().chain(rest.map(String::as_str)) {
            if let Some(v) = t.get(key) {
                out.push_str(&format!("{key} = {v}\n"));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_faults_and_rewrites_the_seed() {
        let src = "[scenario]\nname = \"x\" # the name\nseed = 7 # old\n\n[[faults]]\nkind = \"crash\"\ntarget = \"server-0\"\nat = \"1m\"\n\n[servers]\ncount = 2\n";
        let out = edit_text(src, 99);
        assert!(out.contains("seed = 99"), "{out}");
        assert!(out.contains("name = \"x-counterexample\"\n"), "{out}");
        assert!(!out.contains("seed = 7"), "{out}");
        assert!(!out.contains("crash"), "{out}");
        assert!(out.contains("[servers]\ncount = 2"), "{out}");
        let no_seed = edit_text("[scenario]\nname = \"x\"\n[servers]\ncount = 1\n", 5);
        assert!(no_seed.contains("name = \"x-counterexample\"\nseed = 5\n[servers]"), "{no_seed}");
    }
}
