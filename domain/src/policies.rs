//! The policies of dynamic management (SPEC §7) as pure functions: an event, with the platform
//! as it stands after it, gives the commands the system issues in reply. Each command's id is
//! derived from the triggering event and the policy (UUIDv5), so redelivery, replay, rebuild or
//! a restart between decision and acknowledgement can never act twice: the command service
//! answers a repeated id with its first result. Wiring (consumers, the deadline scheduler)
//! lives outside the domain.

use chrono::{Days, NaiveDate};
use uuid::Uuid;

use crate::commands::{DelistPlatform, DelistReason, OpenReview, PlatformCommand, ReviewTrigger};
use crate::events::PlatformEvent;
use crate::incident::{IncidentClass, IncidentKind, MAJOR_LOSS_THRESHOLD};
use crate::platform::Platform;
use crate::values::Cny;

#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// D-5: direct loss at or above this delists after a strain leak (较大: 10,000,000 CNY).
    pub major_loss_threshold: Cny,
    /// Days from an incident re-review's opening to its due date.
    pub incident_review_days: u64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            major_loss_threshold: MAJOR_LOSS_THRESHOLD,
            incident_review_days: 90,
        }
    }
}

/// A command a policy issues.
#[derive(Debug, Clone, PartialEq)]
pub struct Issued {
    /// The rule id of the policy, e.g. `D-4`.
    pub policy: &'static str,
    pub command_id: Uuid,
    pub platform_id: String,
    pub business_date: NaiveDate,
    /// The triggering event.
    pub causation_id: Uuid,
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
