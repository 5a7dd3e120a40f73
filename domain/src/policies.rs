//! The policies of dynamic management (RULES.md §7) as pure functions: an event, with the platform
//! as it stands after it, gives the commands the system issues in reply. Each command's id is
//! derived from the triggering event and the policy (UUIDv5), so redelivery, replay, rebuild or
//! a restart between decision and acknowledgement can never act twice: the command service
//! answers a repeated id with its first result. Wiring (consumers, the deadline scheduler)
//! lives outside the domain.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::commands::{DelistPlatform, DelistReason, OpenReview, PlatformCommand, ReviewTrigger};
use crate::events::PlatformEvent;
use crate::incident::{IncidentClass, IncidentKind, MAJOR_LOSS_THRESHOLD};
use crate::platform::Platform;
use crate::values::Cny;

/// Settings of the dynamic-management policies (RULES.md §7); the defaults are 10,000,000 CNY and
/// 90 days for each period.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// D-5: direct loss at or above this delists after a strain leak (较大: 10,000,000 CNY).
    pub major_loss_threshold: Cny,
    /// Days from an incident re-review's opening to its due date.
    pub incident_review_days: u64,
    /// D-2: a triennial review opens this many days before it is due.
    pub review_window_days: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            major_loss_threshold: MAJOR_LOSS_THRESHOLD,
            incident_review_days: 90,
            review_window_days: 90,
        }
    }
}

/// A command a policy issues.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    /// The rule id of the policy, e.g. `D-4`.
    pub policy: &'static str,
    /// The command id, derived from the trigger and the policy: a repeat acts once.
    pub command_id: Uuid,
    /// The platform the command acts on.
    pub platform_id: String,
    /// The command's business date: the triggering event's, or a deadline's scheduled opening day.
    pub business_date: NaiveDate,
    /// The triggering event.
    pub causation_id: Uuid,
    /// The command, executed with the system's role.
    pub command: PlatformCommand,
}

/// The command id a policy uses for its reply to an event: the same every time.
pub fn command_id(event_id: Uuid, policy: &str) -> Uuid {
    Uuid::new_v5(&event_id, format!("policy {policy}").as_bytes())
}

/// The review id of an incident's re-review.
pub fn incident_review_id(incident_id: &str) -> String {
    format!("incident-{incident_id}")
}

/// What the policies issue in reply to `event` (id `event_id`, effective `on`) of platform
/// `platform_id`, given the platform as it stands after the event.
pub fn react(
    cfg: &PolicyConfig,
    platform_id: &str,
    event_id: Uuid,
    on: NaiveDate,
    event: &PlatformEvent,
    after: &Platform,
) -> Vec<Issued> {
    let issue = |policy: &'static str, command: PlatformCommand| Issued {
        policy,
        command_id: command_id(event_id, policy),
        platform_id: platform_id.to_string(),
        business_date: on,
        causation_id: event_id,
        command,
    };
    // Only platforms on the roster are reviewed or delisted.
    if !after.status.is_listed() {
        return vec![];
    }
    let incident_id = match event {
        PlatformEvent::IncidentReported { incident_id, .. }
        | PlatformEvent::IncidentAssessed { incident_id, .. } => incident_id,
        _ => return vec![],
    };
    let Some(incident) = after.incidents.get(incident_id) else {
        return vec![];
    };
    let trigger = ReviewTrigger::Incident(incident_id.clone());
    let has_review = after.reviews.values().any(|r| r.trigger == trigger);
    let open_review = |policy| {
        issue(
            policy,
            PlatformCommand::OpenReview(OpenReview {
                review_id: incident_review_id(incident_id),
                trigger: trigger.clone(),
                due_on: on
                    .checked_add_days(Days::new(cfg.incident_review_days))
                    .unwrap_or(on),
            }),
        )
    };
    let mut out = Vec::new();
    match incident.kind {
        IncidentKind::StrainLeak => {
            // D-4: every strain leak of a listed platform opens its re-review, once.
            if matches!(event, PlatformEvent::IncidentReported { .. }) && !has_review {
                out.push(open_review("D-4"));
            }
            // D-5: a strain leak with major loss delists, whichever event brings the loss.
            let loss = match event {
                PlatformEvent::IncidentReported {
                    direct_loss_cny, ..
                } => *direct_loss_cny,
                PlatformEvent::IncidentAssessed {
                    direct_loss_cny, ..
                } => Some(*direct_loss_cny),
                _ => None,
            };
            if let Some(loss) = loss.filter(|l| *l >= cfg.major_loss_threshold) {
                out.push(issue(
                    "D-5",
                    PlatformCommand::DelistPlatform(DelistPlatform {
                        reason: DelistReason::StrainLeakMajorLoss,
                        area: None,
                        cause: Some(event_id),
                        incident_id: Some(incident_id.clone()),
                        details: Some(format!(
                            "strain leak {incident_id}: direct economic loss {loss} reaches the major-loss threshold {} (D-5)",
                            cfg.major_loss_threshold
                        )),
                    }),
                ));
            }
        }
        // D-6: a major (重大 or above) safety or environmental accident opens a review; no
        // automatic delisting.
        IncidentKind::Safety | IncidentKind::Environmental => {
            if incident.class() >= IncidentClass::Major && !has_review {
                out.push(open_review("D-6"));
            }
        }
        IncidentKind::Other => {}
    }
    out
}

/// D-1: the triennial review due dates of a listing: the 3rd, 6th, 9th… anniversary of
/// `listed_on`, each counted from the listing itself so they never drift (a listing on 29
/// February is due on 28 February in common years).
pub fn triennial_due_dates(listed_on: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    (1u32..).map_while(move |k| listed_on.checked_add_months(Months::new(36 * k)))
}

/// A timer the scheduler fires: today only the opening of a triennial review (D-2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    /// `<platform>/triennial/<due date>`: one per platform and due date.
    pub deadline_id: String,
    /// The platform to review.
    pub platform_id: String,
    /// What the deadline does when it fires.
    pub kind: DeadlineKind,
    /// The listing the deadline belongs to (a delisting cancels only its own listing's).
    pub listed_on: NaiveDate,
    /// When the review is due (D-1).
    pub due_on: NaiveDate,
    /// When the scheduler opens it: `review_window_days` before `due_on` (D-2).
    pub fire_on: NaiveDate,
    /// The event that scheduled it (the listing, or the opening of the previous review).
    pub scheduled_by: Uuid,
}

/// What a deadline does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// Opens a triennial review (D-1, D-2).
    TriennialReview,
}

impl DeadlineKind {
    /// The code, as stored (e.g. `triennial_review`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::TriennialReview => "triennial_review",
        }
    }

    /// The kind of a stored code; `None` for an unknown one.
    pub fn parse(s: &str) -> Option<DeadlineKind> {
        match s {
            "triennial_review" => Some(DeadlineKind::TriennialReview),
            _ => None,
        }
    }
}

/// What an event does to the deadline table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeadlineChange {
    /// Insert if absent (scheduling is idempotent: a replayed event inserts nothing new).
    Schedule(Deadline),
    /// The pending deadlines of the platform's last listing are cancelled (D-7: a delisted
    /// platform is not reviewed).
    CancelPending {
        /// The delisted platform.
        platform_id: String,
        /// The listing whose pending deadlines are cancelled.
        listed_on: NaiveDate,
        /// The business date of the delisting.
        on: NaiveDate,
        /// Why, as noted on each cancelled deadline (e.g. `platform delisted (review_failed)`).
        reason: String,
    },
}

/// The deadline of the review due on `due_on` for a listing.
pub fn triennial_deadline(
    cfg: &PolicyConfig,
    platform_id: &str,
    listed_on: NaiveDate,
    due_on: NaiveDate,
    scheduled_by: Uuid,
) -> Deadline {
    Deadline {
        deadline_id: format!("{platform_id}/triennial/{due_on}"),
        platform_id: platform_id.to_string(),
        kind: DeadlineKind::TriennialReview,
        listed_on,
        due_on,
        fire_on: due_on
            .checked_sub_days(Days::new(cfg.review_window_days))
            .unwrap_or(due_on),
        scheduled_by,
    }
}

/// D-1 / D-2 scheduling: a listing schedules its first triennial review; the opening of a
/// triennial review schedules the next anniversary; a delisting cancels what is pending.
pub fn plan_deadlines(
    cfg: &PolicyConfig,
    platform_id: &str,
    event_id: Uuid,
    on: NaiveDate,
    event: &PlatformEvent,
    after: &Platform,
) -> Vec<DeadlineChange> {
    let schedule = |listed_on: NaiveDate, due: NaiveDate| {
        DeadlineChange::Schedule(triennial_deadline(
            cfg,
            platform_id,
            listed_on,
            due,
            event_id,
        ))
    };
    match event {
        PlatformEvent::PlatformListed { listed_on } => triennial_due_dates(*listed_on)
            .next()
            .map(|due| schedule(*listed_on, due))
            .into_iter()
            .collect(),
        PlatformEvent::ReviewOpened {
            trigger: ReviewTrigger::Triennial,
            due_on,
            ..
        } if after.status.is_listed() => after
            .listed_on
            .and_then(|listed_on| {
                triennial_due_dates(listed_on)
                    .find(|d| d > due_on)
                    .map(|due| schedule(listed_on, due))
            })
            .into_iter()
            .collect(),
        PlatformEvent::PlatformDelisted { reason, .. } => after
            .listed_periods
            .last()
            .map(|(listed_on, _)| DeadlineChange::CancelPending {
                platform_id: platform_id.to_string(),
                listed_on: *listed_on,
                on,
                reason: format!("platform delisted ({})", reason.as_str()),
            })
            .into_iter()
            .collect(),
        _ => vec![],
    }
}

/// The command a due deadline issues (D-2). Its id comes from the deadline, and its business
/// date is the scheduled opening day whenever the scheduler gets to it, so two schedulers, a
/// retry after a crash or a late start all issue the identical command: it acts once.
pub fn fire(deadline: &Deadline) -> Issued {
    let review_id = format!("triennial-{}", deadline.due_on);
    Issued {
        policy: "D-2",
        command_id: Uuid::new_v5(
            &DEADLINE_NAMESPACE,
            format!("D-2 {}", deadline.deadline_id).as_bytes(),
        ),
        platform_id: deadline.platform_id.clone(),
        business_date: deadline.fire_on,
        causation_id: deadline.scheduled_by,
        command: PlatformCommand::OpenReview(OpenReview {
            review_id,
            trigger: ReviewTrigger::Triennial,
            due_on: deadline.due_on,
        }),
    }
}

/// Namespace of deadline command ids (a fixed random UUID).
pub const DEADLINE_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a9e_4b7d_4e21_9c55_0d3b_8a7e_41f2);
