//! `roster import FILE.jsonl [--backfill --operator NAME]`.

use std::path::Path;

use anyhow::{bail, Context};
use roster::import;
use roster_app::App;

/// The operator of a backfill: as given, or the login name of whoever runs the command on the
/// server host.
pub(crate) fn operator_name(given: Option<String>) -> anyhow::Result<String> {
    let name = given
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .context("name the operator of the backfill: --operator NAME (or ROSTER_OPERATOR)")?;
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        bail!("the operator's name has at most 64 characters and no control characters");
    }
    Ok(name)
}

pub(crate) async fn run(
    app: &App,
    file: &Path,
    backfill: bool,
    operator: Option<String>,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mode = if backfill {
        import::Mode::Backfill {
            operator: operator_name(operator)?,
        }
    } else {
        if operator.is_some() {
            bail!("--operator names who runs a --backfill; this import is not one");
        }
        import::Mode::Live
    };
    let report = import::import(app, &text, true, &mode).await;
    for (line, r) in &report.refused {
        let field = r
            .field
            .as_deref()
            .map(|f| format!(" [{f}]"))
            .unwrap_or_default();
        eprintln!(
            "{}:{line}: refused {}{field}: {}",
            file.display(),
            r.code,
            r.message
        );
    }
    if report.aborted {
        bail!(
            "{} malformed line(s) of {}: nothing was applied",
            report.refused.len(),
            report.lines
        );
    }
    println!(
        "{} lines: {} accepted, {} already applied, {} refused",
        report.lines,
        report.accepted,
        report.duplicates,
        report.refused.len()
    );
    if !report.refused.is_empty() {
        std::process::exit(2);
    }
    Ok(())
}
