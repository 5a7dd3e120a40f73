//! `roster import FILE.jsonl`: one command envelope per line, the JSON of `POST /api/v1/commands`
//! plus the `actor` it acts as. All lines are parsed first: if any line is malformed, nothing is
//! applied. Then each command goes through the same command service as the API, atomically; a
//! refused line appends nothing and is reported with its line number. Re-running a file is
//! safe: command ids already applied return their first result.
//!
//! Without `--backfill` the lines are acts happening now (RULES.md §12: an applicant's, city's or
//! province's act takes effect today). `--backfill` migrates history (the first list of
//! December 2025, an older spreadsheet): lines keep their past business dates, every event is
//! marked as backfilled by the operator, and the audit log names the operator. It exists only
//! here, on the server host: no HTTP route reaches it.

use roster_app::App;
use roster_domain::actor::Actor;
use roster_domain::request::CommandRequest;
use roster_domain::Refusal;

#[derive(Debug, Default)]
pub struct ImportReport {
    pub lines: usize,
    pub accepted: usize,
    pub duplicates: usize,
    /// (line number, refusal) for every refused or malformed line.
    pub refused: Vec<(usize, Refusal)>,
    /// True when a malformed line stopped the import before anything was applied.
    pub aborted: bool,
}

pub fn parse_line(line: &str) -> Result<(Actor, CommandRequest), Refusal> {
    let mut obj = roster_http::json_object(line.as_bytes(), "each line must be a JSON object")?;
    let actor = obj.remove("actor").ok_or_else(|| {
        Refusal::invalid("actor", "missing field `actor` (who the command acts as)")
    })?;
    let actor: Actor = serde_json::from_value(actor)
        .map_err(|e| Refusal::invalid("actor", format!("invalid actor: {e}")))?;
    let request = roster_http::parse_envelope(obj)?;
    Ok((actor, request))
}

/// How the lines are entered: as acts happening now, or as history an operator migrates.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    Live,
    Backfill { operator: String },
}

pub async fn import(app: &App, text: &str, progress: bool, mode: &Mode) -> ImportReport {
    let mut report = ImportReport::default();
    let mut parsed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        report.lines += 1;
        match parse_line(trimmed) {
            Ok(p) => parsed.push((i + 1, p)),
            Err(r) => report.refused.push((i + 1, r)),
        }
    }
    if !report.refused.is_empty() {
        report.aborted = true;
        return report;
    }
    let service = app.service();
    let bar = if progress {
        indicatif::ProgressBar::new(parsed.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} commands ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (line_no, (actor, request)) in parsed {
        let outcome = match mode {
            Mode::Live => service.execute(&actor, request).await,
            Mode::Backfill { operator } => service.backfill(operator, &actor, request).await,
        };
        match outcome {
            Ok(o) if o.duplicate => report.duplicates += 1,
            Ok(_) => report.accepted += 1,
            Err(r) => report.refused.push((line_no, r)),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    report
}
