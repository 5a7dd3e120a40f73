//! What is due for a user (待办): the acts that wait for them, each with its deadline and the
//! days left (negative when overdue), for the platforms in their jurisdiction (RULES.md §10).
//! A city verifies its applicants (R-3, by its city deadline or the province's), a province
//! recommends or rejects (R-4, by the province deadline), the ministry evaluates, starts the
//! notice, lists, concludes open reviews (D-2, by their due date) and assesses incidents; an
//! applicant sees the reviews open on its platforms. An application act whose deadline has
//! passed is not listed (it can no longer be done); an open review past its due date is, as
//! overdue. Built from the catalog and the reviews and
//! incidents read models, so it is as current as the pages that show the same platforms.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roster_domain::access::sees;
use roster_domain::actor::{Actor, Role};
use roster_domain::challenge::BidStatus;
use roster_domain::platform::Status;
use roster_domain::registry::CommandKind;
use roster_domain::round::Round;
use roster_domain::values::Province;
use roster_domain::Refusal;
use roster_projections::catalog::PlatformSummary;
use roster_projections::models;
use roster_projections::queries::{self, ReviewState};
use serde::Serialize;
use utoipa::ToSchema;

use crate::reads::reader;
use crate::App;

/// One act waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InboxItem {
    /// The platform the act is about.
    pub platform_id: String,
    /// Its name as applied for.
    pub platform_name: String,
    /// The platform's province (GB/T 2260 two-digit code).
    pub province: String,
    /// The platform's city (GB/T 2260 six-digit code).
    pub city: String,
    /// The command that does the act (e.g. `RecommendByProvince`), or for an applicant the
    /// act it waits for (`ConcludeReview` on its platform).
    pub act: String,
    /// The review or incident the act is about, when it is about one.
    pub subject: Option<String>,
    /// The last day for the act, when a rule sets one.
    pub due_on: Option<NaiveDate>,
    /// Days from today to `due_on`; negative when overdue.
    pub days_left: Option<i64>,
    /// Whether the user does the act (`false`: shown for information, e.g. a review open on an
    /// applicant's platform).
    pub mine: bool,
    /// For an act of the bioreactor competition, the call (then `platform_id` names the bid
    /// and `platform_name` its lead and task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
}

impl InboxItem {
    /// Past its deadline.
    pub fn overdue(&self) -> bool {
        self.days_left.is_some_and(|d| d < 0)
    }
}

fn item(
    p: &PlatformSummary,
    act: CommandKind,
    subject: Option<String>,
    due_on: Option<NaiveDate>,
    today: NaiveDate,
    mine: bool,
) -> InboxItem {
    InboxItem {
        platform_id: p.platform_id.clone(),
        platform_name: p.platform_name.clone(),
        province: p.province.clone(),
        city: p.city.clone(),
        act: act.name().to_string(),
        subject,
        due_on,
        days_left: due_on.map(|d| (d - today).num_days()),
        mine,
        call_id: None,
    }
}

/// The application acts of the funnel waiting for `role` on `p`, with their deadlines in the
/// platform's round.
fn application_acts(
    role: Role,
    p: &PlatformSummary,
    round: Option<&Round>,
) -> Vec<(CommandKind, Option<NaiveDate>)> {
    let province = Province::parse(&p.province);
    let endorsement_required = round
        .zip(province)
        .is_some_and(|(r, pr)| r.requires_city_endorsement(pr));
    let act = match (role, p.status) {
        (Role::City, Status::Submitted) => CommandKind::EndorseByCity,
        (Role::Province, Status::Submitted) if !endorsement_required => {
            CommandKind::RecommendByProvince
        }
        (Role::Province, Status::CityEndorsed) => CommandKind::RecommendByProvince,
        (Role::Ministry, Status::Recommended) => CommandKind::RecordExpertEvaluation,
        (Role::Ministry, Status::Evaluated) => CommandKind::StartPublicNotice,
        (Role::Ministry, Status::OnNotice) => CommandKind::ListPlatform,
        _ => return vec![],
    };
    let due = round
        .zip(province)
        .and_then(|(r, pr)| r.deadline_of(act, pr));
    vec![(act, due)]
}

/// A milestone falling due within this many days is on its lead's list.
const MILESTONE_NOTICE_DAYS: i64 = 30;

impl App {
    /// What waits on the bids of the bioreactor competition (RULES.md §9): a province
    /// recommends its leads' bids by the province deadline, the ministry evaluates recommended
    /// bids, a lead reports its milestones (those due within 30 days or overdue), and the
    /// ministry sees the overdue ones (C-8).
    async fn call_acts(&self, actor: &Actor, today: NaiveDate) -> Result<Vec<InboxItem>, Refusal> {
        let streams = self
            .events()
            .stream_ids("call-")
            .await
            .map_err(roster_domain::error::store_refusal)?;
        let mut items = Vec::new();
        for call_id in streams.iter().filter_map(|s| s.strip_prefix("call-")) {
            let Ok(view) = self.call(actor, call_id, None, None).await else {
                continue;
            };
            for b in &view.bids {
                let task = view
                    .call
                    .tasks
                    .iter()
                    .find(|t| t.task_id == b.task_id)
                    .map_or(b.task_id.as_str(), |t| t.name.as_str());
                let act = |kind: CommandKind,
                           subject: Option<String>,
                           due_on: Option<NaiveDate>,
                           mine: bool| InboxItem {
                    platform_id: b.bid_id.clone(),
                    platform_name: format!("{}（{task}）", b.lead.name),
                    province: b.province().code().to_string(),
                    city: String::new(),
                    act: kind.name().to_string(),
                    subject,
                    due_on,
                    days_left: due_on.map(|d| (d - today).num_days()),
                    mine,
                    call_id: Some(call_id.to_string()),
                };
                let lead = actor
                    .jurisdiction
                    .as_deref()
                    .is_some_and(|j| j.eq_ignore_ascii_case(&b.lead.uscc));
                match (actor.role, b.status) {
                    (Role::Province, BidStatus::Submitted)
                        if today <= view.call.province_deadline =>
                    {
                        items.push(act(
                            CommandKind::RecommendBid,
                            None,
                            Some(view.call.province_deadline),
                            true,
                        ));
                    }
                    (Role::Ministry, BidStatus::Recommended) => {
                        items.push(act(CommandKind::EvaluateBid, None, None, true));
                    }
                    (Role::Applicant | Role::Ministry, BidStatus::UnderAgreement) => {
                        for m in b.milestones.iter().filter(|m| m.reported_on.is_none()) {
                            let due = m.milestone.due_on;
                            let shown = if actor.role == Role::Ministry {
                                m.overdue || due < today
                            } else {
                                lead && (due - today).num_days() <= MILESTONE_NOTICE_DAYS
                            };
                            if shown {
                                items.push(act(
                                    CommandKind::ReportMilestone,
                                    Some(m.milestone.milestone_id.clone()),
                                    Some(due),
                                    actor.role == Role::Applicant,
                                ));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(items)
    }

    /// What is due for `actor`, overdue first, then by deadline (undated last), then by
    /// platform.
    pub async fn inbox(&self, actor: &Actor) -> Result<Vec<InboxItem>, Refusal> {
        reader(actor)?;
        self.read_your_writes().await;
        let today = self.today();
        let store = self.models();
        let reviews = models::REVIEWS
            .load(store.as_ref())
            .await
            .map_err(crate::refused)?;
        let incidents = models::INCIDENTS
            .load(store.as_ref())
            .await
            .map_err(crate::refused)?;
        let catalog = self.catalog().await;
        let visible: BTreeMap<&str, &PlatformSummary> = catalog
            .platforms
            .values()
            .filter(|p| sees(actor, &p.uscc, &p.city, &p.province))
            .map(|p| (p.platform_id.as_str(), p))
            .collect();
        let mut items = Vec::new();
        for p in visible.values() {
            let round = p
                .round_id
                .as_ref()
                .and_then(|r| crate::round_of(&catalog, r));
            // After its deadline an application act can no longer be done: it lapses
            // rather than standing overdue.
            for (act, due) in application_acts(actor.role, p, round.as_ref())
                .into_iter()
                .filter(|(_, due)| due.is_none_or(|d| d >= today))
            {
                items.push(item(p, act, None, due, today, true));
            }
        }
        for r in queries::reviews(&reviews, today, 0) {
            let (Some(p), Some(review_id)) = (visible.get(r.platform_id.as_str()), r.review_id)
            else {
                continue;
            };
            if !matches!(r.state, ReviewState::Open | ReviewState::Overdue) {
                continue;
            }
            let mine = actor.role == Role::Ministry;
            if mine || matches!(actor.role, Role::Applicant | Role::Province | Role::City) {
                items.push(item(
                    p,
                    CommandKind::ConcludeReview,
                    Some(review_id),
                    Some(r.due_on),
                    today,
                    mine,
                ));
            }
        }
        // Objections filed by the public wait for the ministry's decision.
        if actor.role == Role::Ministry {
            for p in visible.values() {
                for id in &p.pending_objections {
                    items.push(item(
                        p,
                        CommandKind::RecordNoticeObjection,
                        Some(id.clone()),
                        None,
                        today,
                        true,
                    ));
                }
            }
        }
        // Needs of enterprises wait for the platform's answer (RULES.md §13).
        if actor.role == Role::Applicant {
            for p in visible.values() {
                for id in &p.unanswered_needs {
                    items.push(item(
                        p,
                        CommandKind::RespondToNeed,
                        Some(id.clone()),
                        None,
                        today,
                        true,
                    ));
                }
            }
        }
        if matches!(actor.role, Role::Ministry | Role::Province) {
            for r in queries::incidents(&incidents, today) {
                let Some(p) = visible.get(r.platform_id.as_str()) else {
                    continue;
                };
                if r.incident.assessed_on.is_none() {
                    items.push(item(
                        p,
                        CommandKind::AssessIncident,
                        Some(r.incident.incident_id.clone()),
                        None,
                        today,
                        true,
                    ));
                }
            }
        }
        drop(catalog);
        items.extend(self.call_acts(actor, today).await?);
        items.sort_by_key(|i| {
            (
                !i.overdue(),
                i.due_on.is_none(),
                i.due_on,
                i.platform_id.clone(),
                i.act.clone(),
            )
        });
        Ok(items)
    }
}
