//! Queries over the read models' documents, as of a business date: the roster with its filters,
//! the funnel per round and province, the reviews board, the incident register; and CSV.

use chrono::{Days, NaiveDate};
use roster_domain::commands::ReviewOutcome;
use roster_domain::platform::Status;
use roster_domain::values::{ApplicantKind, Domain, Province};
use serde::Serialize;

use crate::models::funnel::FunnelDoc;
use crate::models::incidents::IncidentsDoc;
use crate::models::reviews::ReviewsDoc;
use crate::models::roster::{triennial_due_dates, RosterDoc};

#[derive(Debug, Clone, Default)]
pub struct RosterQuery {
    pub as_of: Option<NaiveDate>,
    pub province: Option<Province>,
    pub city: Option<String>,
    pub domain: Option<Domain>,
    /// `None`: platforms on the roster (Listed or UnderReview) at the date. `Some(s)`: platforms
    /// whose status at the date is `s` (any status, e.g. `rejected`).
    pub status: Option<Status>,
    pub stars: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RosterRow {
    pub platform_id: String,
    pub platform_name: String,
    pub applicant_name: String,
    pub uscc: String,
    pub applicant_kind: Option<ApplicantKind>,
    pub province: String,
    pub province_name: String,
    pub city: String,
    pub domains: String,
    pub status: Status,
    pub on_roster: bool,
    pub listed_on: Option<NaiveDate>,
    pub next_review_due: Option<NaiveDate>,
    pub stars: Option<u8>,
    pub stars_year: Option<i32>,
}

pub fn roster(docs: &[RosterDoc], q: &RosterQuery, today: NaiveDate) -> Vec<RosterRow> {
    let d = q.as_of.unwrap_or(today);
    let mut rows: Vec<RosterRow> = docs
        .iter()
        .filter(|doc| !doc.statuses.is_empty())
        .filter_map(|doc| {
            let status = doc.status_at(d);
            let on_roster = doc.listed_at(d);
            let wanted = match q.status {
                None => on_roster,
                Some(s) => status == s,
            };
            if !wanted || status == Status::New {
                return None;
            }
            if q.province.is_some_and(|p| p.to_string() != doc.province)
                || q.city.as_ref().is_some_and(|c| c != &doc.city)
            {
                return None;
            }
            if q.domain.is_some_and(|dm| !doc.domains.contains(&dm)) {
                return None;
            }
            let stars = doc.stars_at(d);
            if q.stars.is_some_and(|s| stars.map(|r| r.stars) != Some(s)) {
                return None;
            }
            Some(RosterRow {
                platform_id: doc.platform_id.clone(),
                platform_name: doc.platform_name.clone(),
                applicant_name: doc.applicant_name.clone(),
                uscc: doc.uscc.clone(),
                applicant_kind: doc.applicant_kind,
                province: doc.province.clone(),
                province_name: Province::parse(&doc.province)
                    .map(|p| p.name_zh())
                    .unwrap_or_default()
                    .to_string(),
                city: doc.city.clone(),
                domains: doc
                    .domains
                    .iter()
                    .map(|d| d.code())
                    .collect::<Vec<_>>()
                    .join(";"),
                status,
                on_roster,
                listed_on: doc.period_at(d).map(|p| p.from),
                next_review_due: doc.next_review_due(d),
                stars: stars.map(|r| r.stars),
                stars_year: stars.map(|r| r.year),
            })
        })
        .collect();
    rows.sort_by(|a, b| (&a.province, &a.platform_id).cmp(&(&b.province, &b.platform_id)));
    rows
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FunnelRow {
    pub round_id: String,
    /// A province code, or `total`.
    pub province: String,
    pub submitted: u32,
    pub endorsed: u32,
    pub recommended: u32,
    pub evaluated_pass: u32,
    pub on_notice: u32,
    pub listed: u32,
    pub rejected: u32,
    pub not_selected: u32,
    pub withdrawn: u32,
}

/// Counts application cycles per round and province, with a total row per round.
#[derive(Default)]
pub(crate) struct FunnelTally(std::collections::BTreeMap<(String, String), FunnelRow>);

impl FunnelTally {
    /// One submitted cycle; `reached`: endorsed, recommended, evaluated_pass, on_notice, listed,
    /// rejected, not_selected, withdrawn.
    pub(crate) fn add(&mut self, round_id: &str, province: &str, reached: [bool; 8]) {
        for province in [province, "total"] {
            let row = self
                .0
                .entry((round_id.to_string(), province.to_string()))
                .or_insert_with(|| FunnelRow {
                    round_id: round_id.to_string(),
                    province: province.to_string(),
                    ..FunnelRow::default()
                });
            let n = reached.map(u32::from);
            row.submitted += 1;
            row.endorsed += n[0];
            row.recommended += n[1];
            row.evaluated_pass += n[2];
            row.on_notice += n[3];
            row.listed += n[4];
            row.rejected += n[5];
            row.not_selected += n[6];
            row.withdrawn += n[7];
        }
    }

    /// Rows by round, provinces first and the total last within each round.
    pub(crate) fn rows(self) -> Vec<FunnelRow> {
        let mut rows: Vec<FunnelRow> = self.0.into_values().collect();
        rows.sort_by(|a, b| {
            (&a.round_id, a.province == "total", &a.province).cmp(&(
                &b.round_id,
                b.province == "total",
                &b.province,
            ))
        });
        rows
    }
}

/// Per round and province, how many applications reached each stage by `as_of`, with a total
/// row per round.
pub fn funnel(docs: &[FunnelDoc], round: Option<&str>, as_of: NaiveDate) -> Vec<FunnelRow> {
    let mut tally = FunnelTally::default();
    let reached = |d: Option<NaiveDate>| d.is_some_and(|d| d <= as_of);
    for cycle in docs.iter().flat_map(|d| &d.cycles) {
        if round.is_some_and(|r| r != cycle.round_id)
            || cycle.stages.submitted.is_none_or(|d| d > as_of)
        {
            continue;
        }
        let s = &cycle.stages;
        tally.add(
            &cycle.round_id,
            &cycle.province,
            [
                reached(s.endorsed),
                reached(s.recommended),
                reached(s.evaluated_pass),
                reached(s.on_notice),
                reached(s.listed),
                reached(s.rejected),
                reached(s.not_selected),
                reached(s.withdrawn),
            ],
        );
    }
    tally.rows()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// A future triennial review, not yet due to open.
    Scheduled,
    /// Its opening date (due date minus the review window) is within 30 days.
    OpeningSoon,
    /// Its opening date has passed but no review was opened (the scheduler of D-2 opens it).
    NotYetOpened,
    Open,
    /// Open past its due date (D-2).
    Overdue,
    Concluded,
    /// Open when the platform was delisted.
    Lapsed,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReviewRow {
    pub platform_id: String,
    pub platform_name: String,
    pub province: String,
    pub review_id: Option<String>,
    pub trigger: String,
    pub opened_on: Option<NaiveDate>,
    pub due_on: NaiveDate,
    pub state: ReviewState,
    pub outcome: Option<ReviewOutcome>,
}

/// The reviews board as of `as_of`: every review opened by then, and for platforms on the
/// roster the next triennial review not yet opened. `window_days`: D-2's review window.
pub fn reviews(docs: &[ReviewsDoc], as_of: NaiveDate, window_days: u32) -> Vec<ReviewRow> {
    let mut rows = Vec::new();
    for doc in docs {
        for r in doc.reviews.iter().filter(|r| r.opened_on <= as_of) {
            let state = if r.concluded_on.is_some_and(|c| c <= as_of) {
                ReviewState::Concluded
            } else if r.lapsed_on.is_some_and(|l| l <= as_of) {
                ReviewState::Lapsed
            } else if r.due_on < as_of {
                ReviewState::Overdue
            } else {
                ReviewState::Open
            };
            rows.push(ReviewRow {
                platform_id: doc.platform_id.clone(),
                platform_name: doc.platform_name.clone(),
                province: doc.province.clone(),
                review_id: Some(r.review_id.clone()),
                trigger: r.trigger.clone(),
                opened_on: Some(r.opened_on),
                due_on: r.due_on,
                state,
                outcome: r.outcome.filter(|_| state == ReviewState::Concluded),
            });
        }
        let Some(period) = doc
            .listed_periods
            .iter()
            .find(|p| p.from <= as_of && p.to.is_none_or(|to| as_of < to))
        else {
            continue;
        };
        let opened: Vec<NaiveDate> = doc
            .reviews
            .iter()
            .filter(|r| r.trigger == "triennial" && r.opened_on <= as_of)
            .map(|r| r.due_on)
            .collect();
        if let Some(due) = triennial_due_dates(period.from).find(|d| !opened.contains(d)) {
            let opens_on = due
                .checked_sub_days(Days::new(u64::from(window_days)))
                .unwrap_or(due);
            let state = if as_of >= opens_on {
                ReviewState::NotYetOpened
            } else if (opens_on - as_of).num_days() <= 30 {
                ReviewState::OpeningSoon
            } else {
                ReviewState::Scheduled
            };
            rows.push(ReviewRow {
                platform_id: doc.platform_id.clone(),
                platform_name: doc.platform_name.clone(),
                province: doc.province.clone(),
                review_id: None,
                trigger: "triennial".into(),
                opened_on: None,
                due_on: due,
                state,
                outcome: None,
            });
        }
    }
    rows.sort_by(|a, b| (a.due_on, &a.platform_id).cmp(&(b.due_on, &b.platform_id)));
    rows
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IncidentRow {
    pub platform_id: String,
    pub platform_name: String,
    pub province: String,
    #[serde(flatten)]
    pub incident: crate::models::incidents::IncidentEntry,
}

/// Incidents reported by `as_of`, with what was assessed by then.
pub fn incidents(docs: &[IncidentsDoc], as_of: NaiveDate) -> Vec<IncidentRow> {
    let mut rows: Vec<IncidentRow> = docs
        .iter()
        .flat_map(|doc| {
            doc.incidents
                .iter()
                .filter(|i| i.reported_on <= as_of)
                .map(move |i| {
                    let mut incident = i.clone();
                    if incident.assessed_on.is_some_and(|a| a > as_of) {
                        incident.assessed_on = None;
                        incident.assessed_loss_cny = None;
                        incident.assessed_class = None;
                        incident.deaths = None;
                        incident.serious_injuries = None;
                        incident.conclusion = None;
                    }
                    IncidentRow {
                        platform_id: doc.platform_id.clone(),
                        platform_name: doc.platform_name.clone(),
                        province: doc.province.clone(),
                        incident,
                    }
                })
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.incident.occurred_on, &a.platform_id).cmp(&(b.incident.occurred_on, &b.platform_id))
    });
    rows
}

/// Rows as CSV with a header line (UTF-8 with BOM, so spreadsheet programs show Chinese), every
/// cell safe to open in a spreadsheet (`export::csv_safe`).
pub fn to_csv<T: Serialize>(rows: &[T]) -> Result<String, csv::Error> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    crate::export::neutralise_csv(&String::from_utf8(bytes).expect("csv writes UTF-8"))
}
