//! Changing a scenario by dotted key: `servers.count=8`, `balancer.strategy=random`,
//! `workload.rate=450` (every `[[workload]]`), `workload.0.rate=450` (the first one).
//!
//! An override edits the parsed TOML table of the original file, and the edited table goes
//! back through the normal loader, so every override is checked by the same rules as the
//! file itself, and a bad key or value gets the loader's message (which names the allowed
//! keys and values) prefixed with the override that caused it.

use std::path::Path;

use thiserror::Error;
use toml::{Table, Value};

use prodsim_scenario::{Loaded, ScenarioError, Severity, load_str};

/// Longest dotted key accepted, in segments; real keys have at most three.
const MAX_KEY_DEPTH: usize = 8;

/// Why an override could not be applied.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OverrideError {
    /// The argument is not `KEY=VALUE` or `KEY=V1,V2,...`, or the key is malformed.
    #[error("{argument:?}: {message}")]
    Syntax {
        /// The argument as given.
        argument: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// The key runs through something that is not a table or an array of tables.
    #[error("{key}: {message}")]
    Path {
        /// The dotted key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The scenario with the overrides applied does not validate.
    #[error("with {overrides}: {}", messages.join("; "))]
    Invalid {
        /// The overrides, as `key=value` joined by spaces.
        overrides: String,
        /// The loader's errors, each with its suggestion.
        messages: Vec<String>,
    },
}

/// One change to a scenario file: set a key to a value, or remove it.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// Dotted key, e.g. `servers.count` or `workload.0.rate`.
    pub key: String,
    /// The new value; `None` removes the key.
    pub value: Option<Value>,
}

impl Assignment {
    /// Sets `key` to `value`.
    pub fn set(key: impl Into<String>, value: Value) -> Assignment {
        Assignment { key: key.into(), value: Some(value) }
    }

    /// Removes `key` (nothing happens if it is absent).
    pub fn remove(key: impl Into<String>) -> Assignment {
        Assignment { key: key.into(), value: None }
    }

    /// `key=value` as a user would type it (`key=<removed>` for a removal).
    pub fn label(&self) -> String {
        match &self.value {
            Some(v) => format!("{}={}", self.key, value_text(v)),
            None => format!("{}=<removed>", self.key),
        }
    }
}

/// A value as a user would type it on the command line: strings unquoted.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads a command-line value: anything TOML reads as a value (`8`, `0.5`, `true`,
/// `"quoted"`, `[1, 2]`, `{ at = "0s", rate = 5 }`) is that value; anything else
/// (`round_robin`, `exp(20ms)`, `10m`) is a string.
pub fn parse_value(raw: &str) -> Value {
    let raw = raw.trim();
    match format!("v = {raw}").parse::<Table>() {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| Value::String(raw.to_string())),
        Err(_) => Value::String(raw.to_string()),
    }
}

/// Splits `raw` at commas that are not inside parentheses, brackets, braces or quotes, so
/// `exp(20ms),uniform(1ms, 9ms)` gives two values.
pub fn split_list(raw: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in raw.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth <= 0 => {
                out.push(std::mem::take(&mut cur).trim().to_string());
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// A `KEY=TEXT` argument split at its first `=`: the key, its shape checked, and the text
/// after it, trimmed but not yet parsed (a value, a list or a range).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyArgument {
    /// The dotted key, e.g. `servers.count`.
    pub key: String,
    /// What follows the `=`.
    pub text: String,
}

/// A `KEY=V1,V2,...` argument: the key and its values, in order.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyValues {
    /// The dotted key, e.g. `servers.count`.
    pub key: String,
    /// The values, each read as TOML when it is TOML and as a string otherwise.
    pub values: Vec<Value>,
}

/// Splits `KEY=REST` and checks the key's shape. `flag` names the option in messages.
pub fn split_key(argument: &str, flag: &str) -> Result<KeyArgument, OverrideError> {
    let syntax = |message: String| OverrideError::Syntax { argument: argument.to_string(), message };
    let Some((key, rest)) = argument.split_once('=') else {
        return Err(syntax(format!("{flag} expects KEY=VALUE, e.g. servers.count=8")));
    };
    let key = key.trim();
    let segments: Vec<&str> = key.split('.').collect();
    if key.is_empty() || segments.iter().any(|s| s.is_empty()) {
        return Err(syntax(format!("{flag}: `{key}` is not a dotted key such as servers.count or workload.0.rate")));
    }
    if segments.len() > MAX_KEY_DEPTH {
        return Err(syntax(format!("{flag}: `{key}` has more than {MAX_KEY_DEPTH} parts")));
    }
    if let Some(bad) = key.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
        return Err(syntax(format!("{flag}: `{key}` contains `{bad}`; keys use letters, digits, `_`, `-` and `.`")));
    }
    Ok(KeyArgument { key: key.to_string(), text: rest.trim().to_string() })
}

/// Parses `KEY=V1,V2,...` into the key and its values, in order. Values must be non-empty
/// and distinct.
pub fn parse_list(argument: &str, flag: &str) -> Result<KeyValues, OverrideError> {
    let KeyArgument { key, text: rest } = split_key(argument, flag)?;
    let syntax = |message: String| OverrideError::Syntax { argument: argument.to_string(), message };
    let raw = split_list(&rest);
    if raw.iter().any(String::is_empty) {
        return Err(syntax(format!("{flag} expects KEY=V1,V2,... with no empty value")));
    }
    let values: Vec<Value> = raw.iter().map(|r| parse_value(r)).collect();
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(syntax(format!("{flag}: value `{}` is listed twice", value_text(v))));
        }
    }
    Ok(KeyValues { key, values })
}

/// Applies `assignments` in order to the scenario file `source_text` (read from `path`) and
/// validates the result with the normal loader.
pub fn apply(source_text: &str, path: &Path, assignments: &[Assignment]) -> Result<Loaded, OverrideError> {
    if assignments.is_empty() {
        return load_str(source_text, path).map_err(|e| invalid(assignments, &e));
    }
    let mut table: Table = source_text.parse().map_err(|e: toml::de::Error| OverrideError::Invalid {
        overrides: labels(assignments),
        messages: vec![e.message().trim().to_string()],
    })?;
    for a in assignments {
        let segments: Vec<&str> = a.key.split('.').collect();
        set_in_table(&mut table, &segments, &a.key, a.value.as_ref())?;
    }
    // Serialising a table that was just parsed cannot fail; report it as invalid if it does.
    let text = toml::to_string(&table).map_err(|e| OverrideError::Invalid {
        overrides: labels(assignments),
        messages: vec![format!("cannot write the edited scenario: {e}")],
    })?;
    load_str(&text, path).map_err(|e| invalid(assignments, &e))
}

fn labels(assignments: &[Assignment]) -> String {
    assignments.iter().map(Assignment::label).collect::<Vec<_>>().join(" ")
}

fn invalid(assignments: &[Assignment], e: &ScenarioError) -> OverrideError {
    let messages = match e {
        ScenarioError::Invalid { diagnostics, .. } => diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| match &d.help {
                Some(h) => format!("{} ({h})", d.message),
                None => d.message.clone(),
            })
            .collect(),
        other => vec![other.to_string()],
    };
    OverrideError::Invalid { overrides: labels(assignments), messages }
}

fn set_in_table(table: &mut Table, segments: &[&str], key: &str, value: Option<&Value>) -> Result<(), OverrideError> {
    let (first, rest) = segments.split_first().expect("split_key rejects empty keys");
    if rest.is_empty() {
        match value {
            Some(v) => {
                table.insert((*first).to_string(), v.clone());
            }
            None => {
                table.remove(*first);
            }
        }
        return Ok(());
    }
    if !table.contains_key(*first) {
        if value.is_none() {
            return Ok(());
        }
        table.insert((*first).to_string(), Value::Table(Table::new()));
    }
    let entry = table.get_mut(*first).expect("inserted above");
    set_in_value(entry, rest, key, value)
}

fn set_in_value(entry: &mut Value, rest: &[&str], key: &str, value: Option<&Value>) -> Result<(), OverrideError> {
    let path_error = |message: String| OverrideError::Path { key: key.to_string(), message };
    let done = key.len() - rest.iter().map(|s| s.len() + 1).sum::<usize>();
    let here = &key[..done];
    match entry {
        Value::Table(t) => set_in_table(t, rest, key, value),
        Value::Array(items) => {
            if let Ok(i) = rest[0].parse::<usize>() {
                let len = items.len();
                let Some(item) = items.get_mut(i) else {
                    return Err(path_error(format!("`{here}` has {len} entries, numbered from 0; there is no {i}")));
                };
                if rest.len() == 1 {
                    return match value {
                        Some(v) => {
                            *item = v.clone();
                            Ok(())
                        }
                        None => Err(path_error(format!("cannot remove one entry of `{here}`"))),
                    };
                }
                return set_in_value(item, &rest[1..], key, value);
            }
            if items.is_empty() {
                return Err(path_error(format!("the scenario has no `{here}` entries to change")));
            }
            for item in items.iter_mut() {
                match item {
                    Value::Table(t) => set_in_table(t, rest, key, value)?,
                    _ => return Err(path_error(format!("`{here}` is a list of values, not of tables"))),
                }
            }
            Ok(())
        }
        other => Err(path_error(format!(
            "`{here}` is a value ({}), not a table, so `{key}` names nothing",
            other.type_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[scenario]
name = "t"
duration = "10m"

[[workload]]
name = "a"
rate = 5

[[workload]]
name = "b"
rate = 7

[servers]
count = 2
service_time = "exp(100ms)"
"#;

    fn load(assignments: &[Assignment]) -> Result<Loaded, OverrideError> {
        apply(FILE, Path::new("t.toml"), assignments)
    }

    fn set(key: &str, raw: &str) -> Assignment {
        Assignment::set(key, parse_value(raw))
    }

    #[test]
    fn values_are_toml_when_they_can_be_and_strings_otherwise() {
        assert_eq!(parse_value("8"), Value::Integer(8));
        assert_eq!(parse_value("0.5"), Value::Float(0.5));
        assert_eq!(parse_value("true"), Value::Boolean(true));
        assert_eq!(parse_value("round_robin"), Value::String("round_robin".into()));
        assert_eq!(parse_value("exp(20ms)"), Value::String("exp(20ms)".into()));
        assert_eq!(parse_value("\"10m\""), Value::String("10m".into()));
    }

    #[test]
    fn lists_split_at_top_level_commas_only() {
        assert_eq!(split_list("exp(20ms),uniform(1ms, 9ms)"), vec!["exp(20ms)", "uniform(1ms, 9ms)"]);
        assert_eq!(split_list("[1, 2], \"a,b\""), vec!["[1, 2]", "\"a,b\""]);
        assert_eq!(split_list("4"), vec!["4"]);
        let list = parse_list("servers.count=4,6,8", "--vary").expect("parses");
        assert_eq!(list.key, "servers.count");
        assert_eq!(list.values, vec![Value::Integer(4), Value::Integer(6), Value::Integer(8)]);
    }

    #[test]
    fn bad_arguments_are_clear_errors() {
        for (arg, needle) in [
            ("servers.count", "KEY=VALUE"),
            ("=4", "not a dotted key"),
            ("servers..count=4", "not a dotted key"),
            ("servers.count=4,,6", "no empty value"),
            ("servers.count=", "no empty value"),
            ("servers.count=4,4", "listed twice"),
            ("servers count=4", "contains ` `"),
        ] {
            let e = parse_list(arg, "--vary").unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }

    #[test]
    fn keys_set_tables_and_every_or_one_array_entry() {
        let l = load(&[set("servers.count", "8"), set("balancer.strategy", "random")]).expect("valid");
        assert_eq!(l.scenario.servers.count, 8);
        assert_eq!(l.scenario.balancer.strategy, prodsim_parts::Strategy::Random);
        let all = load(&[set("workload.rate", "3")]).expect("valid");
        assert!(all.scenario.workloads.iter().all(|w| w.stages[0].rate == 3.0));
        let one = load(&[set("workload.1.rate", "2.5")]).expect("valid");
        assert_eq!(one.scenario.workloads[0].stages[0].rate, 5.0);
        assert_eq!(one.scenario.workloads[1].stages[0].rate, 2.5);
        let removed = load(&[Assignment::remove("balancer.choices"), Assignment::remove("nothing.here")]);
        assert!(removed.is_ok());
    }

    #[test]
    fn bad_keys_and_values_name_the_key_and_what_is_allowed() {
        let cases: &[(Assignment, &[&str])] = &[
            (set("servers.cout", "4"), &["servers.cout=4", "unknown field `cout`", "did you mean `count`?"]),
            (set("balancer.strategy", "fastest"), &["fastest", "round_robin", "least_connections"]),
            (set("servers.count", "0"), &["servers.count=0", "servers.count must be 1 to 1000, got 0"]),
            (set("server.count", "4"), &["unknown field `server`", "did you mean `servers`?"]),
            (set("servers.service_time", "expo(1s)"), &["unknown distribution `expo`"]),
            (set("workload.7.rate", "1"), &["workload", "has 2 entries", "no 7"]),
            (set("servers.count.x", "1"), &["`servers.count` is a value (integer), not a table"]),
        ];
        for (a, needles) in cases {
            let e = load(std::slice::from_ref(a)).unwrap_err().to_string();
            for n in *needles {
                assert!(e.contains(n), "{}: expected {n:?} in {e}", a.label());
            }
        }
    }
}
