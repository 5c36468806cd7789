//! Renders scenario diagnostics as labelled source snippets with miette.

use std::io::IsTerminal;

use miette::{LabeledSpan, MietteDiagnostic, NamedSource, Report};
use prodsim_scenario::{Diagnostic, ScenarioError, Severity};

/// Sets miette's report style: colours and unicode only when stderr is a terminal.
pub fn install_hook() {
    let tty = std::io::stderr().is_terminal();
    // set_hook fails only if a hook is already installed, which is harmless.
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new().color(tty).unicode(tty).terminal_links(false).context_lines(1).build(),
        )
    }));
}

/// Loads the scenario at `path` and prints its warnings; `None` when it is invalid (its
/// errors are printed).
pub fn load(path: &std::path::Path) -> Option<prodsim_scenario::Loaded> {
    report_loaded(path, prodsim_scenario::load(path))
}

/// Loads scenario `text` (the file at `path` as a partial result recorded it) and prints
/// its warnings; `None` when it is invalid (its errors are printed).
pub fn load_str(path: &std::path::Path, text: &str) -> Option<prodsim_scenario::Loaded> {
    report_loaded(path, prodsim_scenario::load_str(text, path))
}

fn report_loaded(
    path: &std::path::Path,
    result: Result<prodsim_scenario::Loaded, ScenarioError>,
) -> Option<prodsim_scenario::Loaded> {
    let loaded = match result {
        Ok(l) => l,
        Err(e) => {
            print_scenario_error(&e);
            return None;
        }
    };
    let file_name = path.display().to_string();
    for w in &loaded.warnings {
        print(&file_name, &loaded.source_text, w);
    }
    Some(loaded)
}

/// Prints one diagnostic about `path` with the offending line.
pub fn print(path: &str, source_text: &str, d: &Diagnostic) {
    let severity = match d.severity {
        Severity::Error => miette::Severity::Error,
        Severity::Warning => miette::Severity::Warning,
    };
    let label = match d.severity {
        Severity::Error => "here",
        Severity::Warning => "this",
    };
    let mut diag = MietteDiagnostic::new(d.message.clone())
        .with_severity(severity)
        .with_labels([LabeledSpan::at(d.span.clone(), label)]);
    if let Some(help) = &d.help {
        diag = diag.with_help(help.clone());
    }
    let report = Report::new(diag).with_source_code(NamedSource::new(path, source_text.to_string()));
    let kind = if d.severity == Severity::Error { "error" } else { "warning" };
    eprintln!("{path}:{}:{}: {kind}: {}", d.line, d.column, d.message);
    eprintln!("{report:?}");
}

/// Prints a scenario loading error; returns how many errors it held.
pub fn print_scenario_error(e: &ScenarioError) -> usize {
    match e {
        ScenarioError::Io { .. } | ScenarioError::TooLarge { .. } | ScenarioError::NotUtf8 { .. } => {
            eprintln!("error: {e}");
            1
        }
        ScenarioError::Invalid { path, source_text, diagnostics } => {
            let name = path.display().to_string();
            for d in diagnostics {
                print(&name, source_text, d);
            }
            diagnostics.iter().filter(|d| d.severity == Severity::Error).count()
        }
    }
}
