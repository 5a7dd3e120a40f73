//! The read side's use cases with their access checks (RULES.md §10, beside the write side's in
//! `roster_domain::access`): the roster as of a date, the funnel, the reviews board, the
//! incident register, a platform and its timeline. Every driving side (API, dashboard, CLI)
//! calls these; rows outside the reader's jurisdiction are left out here, once.

use chrono::NaiveDate;
use roster_domain::access::{can_read, sees};
use roster_domain::actor::{Actor, Role};
use roster_domain::error::{code, Code};
use roster_domain::request::valid_platform_id;

use crate::commands::Loaded;
use roster_domain::store::AuditEntry;
use roster_domain::Refusal;
use roster_projections::models::timeline::{self, TimelineDoc};
use roster_projections::models::{self, incidents::IncidentsDoc, reviews::ReviewsDoc};
use roster_projections::queries::{
    self, FunnelRow, IncidentRow, ReviewRow, RosterQuery, RosterRow,
};
use roster_projections::Catalog;

use crate::{refused, App};

/// Who may read reports at all: every signed-in role but the system's.
pub fn reader(actor: &Actor) -> Result<(), Refusal> {
    match actor.role {
        Role::Ministry | Role::Analyst | Role::Province | Role::City | Role::Applicant => Ok(()),
        Role::System => {
            Err(Refusal::forbidden("the system role does not read reports")
                .zh("系统角色不查阅报表"))
        }
        Role::Anonymous | Role::Public => Err(Refusal::forbidden("sign in first").zh("请先登录")),
    }
}

/// Who may read the operations status: the ministry and analysts.
pub fn operator(actor: &Actor) -> Result<(), Refusal> {
    if matches!(actor.role, Role::Ministry | Role::Analyst) {
        Ok(())
    } else {
        Err(
            Refusal::forbidden("operations status is for the ministry and analysts")
                .zh("运行状态仅供工业和信息化部和分析人员查阅"),
        )
    }
}

/// National rows for the ministry and analysts; a province's (or its cities' and applicants')
/// own province's rows for the others.
fn national_or_own(actor: &Actor, province: &str) -> bool {
    matches!(actor.role, Role::Ministry | Role::Analyst) || sees(actor, "", "", province)
}

/// Whether `actor` sees the row of a platform: by the platform's applicant, city and province
/// (a city its own applicants', an applicant its own), by the row's province for a platform the
/// catalog has not seen yet.
fn visible(actor: &Actor, catalog: &Catalog, platform_id: &str, province: &str) -> bool {
    match catalog.platforms.get(platform_id) {
        Some(p) => sees(actor, &p.uscc, &p.city, &p.province),
        None => {
            national_or_own(actor, province) && !matches!(actor.role, Role::City | Role::Applicant)
        }
    }
}

/// RULES.md §13: who filed an objection on the public face (name, contact, client address),
/// the grounds and the attachment are the ministry's alone; every other reader of the platform
/// reads that an objection was filed, when, and the ministry's decision.
pub fn sees_objectors(actor: &Actor) -> bool {
    actor.role == Role::Ministry
}

/// A member of the public as readers other than the ministry see them: `public`, no address.
pub fn redact_actor(a: &mut Actor) {
    if a.role == Role::Public {
        a.id = "public".into();
    }
}

/// A stored event as readers other than the ministry see it.
pub fn redact_event(e: &mut roster_domain::store::StoredEvent) {
    redact_actor(&mut e.metadata.actor);
    if e.event_type == "ObjectionFiled" {
        if let Some(o) = e.payload.as_object_mut() {
            for k in ["name", "contact", "grounds", "attachment"] {
                o.remove(k);
            }
        }
    }
}

impl App {
    /// Every document of `model`, for a reader: the read models caught up first (read your
    /// writes), an unreadable document an error.
    async fn documents<D: serde::de::DeserializeOwned>(
        &self,
        actor: &Actor,
        model: &models::Documents<D>,
    ) -> Result<Vec<D>, Refusal> {
        reader(actor)?;
        self.read_your_writes().await;
        model.load(self.models().as_ref()).await.map_err(refused)
    }

    /// The roster rows `actor` may see, and the date they are as of (default today).
    pub async fn roster(
        &self,
        actor: &Actor,
        q: &RosterQuery,
    ) -> Result<(NaiveDate, Vec<RosterRow>), Refusal> {
        let all = self.documents(actor, &models::ROSTER).await?;
        let today = self.today();
        let rows = queries::roster(&all, q, today)
            .into_iter()
            .filter(|r| sees(actor, &r.uscc, &r.city, &r.province))
            .collect();
        Ok((q.as_of.unwrap_or(today), rows))
    }

    /// Applications per round and province by stage reached, as of `as_of`.
    pub async fn funnel(
        &self,
        actor: &Actor,
        round: Option<&str>,
        as_of: NaiveDate,
    ) -> Result<Vec<FunnelRow>, Refusal> {
        let mut all = self.documents(actor, &models::FUNNEL).await?;
        // A city counts its own applicants, an applicant its own applications: their province's
        // row is made of theirs alone.
        let own_only = matches!(actor.role, Role::City | Role::Applicant);
        if own_only {
            let catalog = self.catalog().await;
            all.retain(|d| visible(actor, &catalog, &d.platform_id, ""));
        }
        Ok(queries::funnel(&all, round, as_of)
            .into_iter()
            .filter(|r| {
                matches!(actor.role, Role::Ministry | Role::Analyst)
                    || (r.province != "total" && (own_only || national_or_own(actor, &r.province)))
            })
            .collect())
    }

    /// Reviews due, opening within `window_days`, open and overdue, as of `as_of`.
    pub async fn reviews(
        &self,
        actor: &Actor,
        as_of: NaiveDate,
        window_days: u32,
    ) -> Result<Vec<ReviewRow>, Refusal> {
        let all = self.documents(actor, &models::REVIEWS).await?;
        let catalog = self.catalog().await;
        Ok(queries::reviews(&all, as_of, window_days)
            .into_iter()
            .filter(|r| visible(actor, &catalog, &r.platform_id, &r.province))
            .collect())
    }

    /// The major accidents the roster knows of the units `usccs` by `on` (C-4 of the bioreactor
    /// competition): every incident of a platform whose applicant is one of them, by its
    /// assessed class (or the class the reporter stated, while unassessed).
    pub(crate) async fn known_accidents(
        &self,
        usccs: &[&str],
        on: NaiveDate,
    ) -> Result<Vec<roster_domain::challenge::KnownAccident>, Refusal> {
        self.read_your_writes().await;
        let docs = models::INCIDENTS
            .load(self.models().as_ref())
            .await
            .map_err(refused)?;
        let catalog = self.catalog().await;
        let mut out = Vec::new();
        for doc in docs {
            let Some(uscc) = catalog
                .platforms
                .get(&doc.platform_id)
                .map(|p| p.uscc.clone())
                .filter(|u| usccs.iter().any(|x| x.eq_ignore_ascii_case(u)))
            else {
                continue;
            };
            for i in queries::incidents(std::slice::from_ref(&doc), on) {
                if let Some(class) = i.incident.assessed_class.or(i.incident.stated_severity) {
                    out.push(roster_domain::challenge::KnownAccident {
                        uscc: uscc.clone(),
                        occurred_on: i.incident.occurred_on,
                        class,
                        reference: format!("{}/{}", doc.platform_id, i.incident.incident_id),
                    });
                }
            }
        }
        Ok(out)
    }

    /// A call of the bioreactor competition as `actor` may see it (RULES.md §9, §10), from its
    /// stream (tens of bids: read whole, never stale). Every signed-in reader sees the call and
    /// its tasks; the bids are those it may read.
    ///
    /// As of any date on both time axes, like the roster: the acts that took effect by `as_of`
    /// (business date; default today) as they were known at `known_at` (recorded; default now).
    /// The call's stream is read whole, so the answer is exact, never stale.
    pub async fn call(
        &self,
        actor: &Actor,
        call_id: &str,
        as_of: Option<NaiveDate>,
        known_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<roster_domain::challenge::CallView, Refusal> {
        if matches!(actor.role, Role::Anonymous | Role::Public) {
            return Err(Refusal::forbidden("sign in first").zh("请先登录"));
        }
        let as_of = as_of.unwrap_or_else(|| self.today());
        self.call_as_of(call_id, Some(as_of), known_at)
            .await?
            .view_for(actor, as_of)
            .ok_or_else(|| {
                Refusal::not_found(format!("no call {call_id}")).zh(format!("没有揭榜 {call_id}"))
            })
    }

    /// A call folded from the acts that took effect by `as_of` (default today) as known at
    /// `known_at` (default now); a call never opened is an empty `Call`.
    pub(crate) async fn call_as_of(
        &self,
        call_id: &str,
        as_of: Option<NaiveDate>,
        known_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<roster_domain::challenge::Call, Refusal> {
        use roster_domain::challenge::{valid_id, Call};
        if !valid_id(call_id) {
            return Err(
                Refusal::not_found(format!("no call {call_id}")).zh(format!("没有揭榜 {call_id}"))
            );
        }
        let stored = self
            .events()
            .load_stream(&Call::stream_id(call_id), 0)
            .await
            .map_err(roster_domain::error::store_refusal)?;
        let as_of = as_of.unwrap_or_else(|| self.today());
        let mut call = Call::default();
        for e in stored.iter().filter(|e| {
            e.metadata.business_date <= as_of
                && known_at.is_none_or(|k| e.metadata.recorded_at <= k)
        }) {
            let event = roster_domain::events::decode_challenge(
                &e.event_type,
                e.schema_version,
                &e.payload,
            )
            .map_err(|err| Refusal::new(roster_domain::error::code::INTERNAL, err.to_string()))?;
            cqrs_es::Aggregate::apply(&mut call, event);
        }
        Ok(call)
    }

    /// The incident register as of `as_of`.
    pub async fn incidents(
        &self,
        actor: &Actor,
        as_of: NaiveDate,
    ) -> Result<Vec<IncidentRow>, Refusal> {
        let all = self.documents(actor, &models::INCIDENTS).await?;
        let catalog = self.catalog().await;
        Ok(queries::incidents(&all, as_of)
            .into_iter()
            .filter(|r| visible(actor, &catalog, &r.platform_id, &r.province))
            .collect())
    }

    /// A platform `actor` may read, with its history, for the read named `what` (`GET
    /// /api/v1/platforms/x` …). One outside the actor's jurisdiction is audited as what it is
    /// and answered exactly as a platform that does not exist (RULES.md §10: no existence oracle).
    pub async fn readable_platform(
        &self,
        actor: &Actor,
        platform_id: &str,
        what: &str,
    ) -> Result<Loaded<roster_domain::platform::Platform>, Refusal> {
        let missing = || {
            Refusal::not_found(format!("no platform {platform_id}"))
                .zh(format!("没有平台 {platform_id}（或不在本辖区）"))
        };
        if !valid_platform_id(platform_id) {
            // Not an id any platform can have (a NUL, a slash, 60 KB …): never sent to the store.
            return Err(missing());
        }
        let loaded = self.service().load_platform(platform_id).await?;
        if loaded.version == 0 {
            return Err(missing());
        }
        if !can_read(actor, &loaded.state) {
            self.audit_refusal(
                actor.clone(),
                what,
                &code::FORBIDDEN,
                "outside the actor's jurisdiction",
            )
            .await;
            return Err(missing());
        }
        let mut loaded = loaded;
        if !sees_objectors(actor) {
            for o in loaded.state.objections.values_mut() {
                o.name.clear();
                o.contact.clear();
                o.grounds.clear();
                o.attachment = None;
            }
            for e in &mut loaded.events {
                redact_event(e);
            }
        }
        Ok(loaded)
    }

    /// A platform's timeline, for whoever may read the platform.
    pub async fn timeline(
        &self,
        actor: &Actor,
        platform_id: &str,
        what: &str,
    ) -> Result<TimelineDoc, Refusal> {
        self.readable_platform(actor, platform_id, what).await?;
        self.platform_timeline_for(actor, platform_id).await
    }

    /// The timeline of a platform the caller has already been allowed to read, as `actor`
    /// may see it (a member of the public who objected is named to the ministry alone).
    pub async fn platform_timeline_for(
        &self,
        actor: &Actor,
        platform_id: &str,
    ) -> Result<TimelineDoc, Refusal> {
        let mut doc = self.platform_timeline(platform_id).await?;
        if !sees_objectors(actor) {
            for e in &mut doc.entries {
                redact_actor(&mut e.actor);
            }
        }
        Ok(doc)
    }

    /// The timeline of a platform the caller has already been allowed to read.
    pub async fn platform_timeline(&self, platform_id: &str) -> Result<TimelineDoc, Refusal> {
        self.read_your_writes().await;
        timeline::read(self.models().as_ref(), platform_id)
            .await
            .map_err(refused)
    }

    /// The reviews and incidents of a platform the caller has already been allowed to read.
    pub async fn platform_record(
        &self,
        platform_id: &str,
    ) -> Result<(ReviewsDoc, IncidentsDoc), Refusal> {
        self.read_your_writes().await;
        let reviews = models::REVIEWS
            .get(self.models().as_ref(), platform_id)
            .await
            .map_err(refused)?;
        let incidents = models::INCIDENTS
            .get(self.models().as_ref(), platform_id)
            .await
            .map_err(refused)?;
        Ok((reviews, incidents))
    }

    /// Records a refused read in the audit log (a refused command is recorded by the service).
    pub async fn audit_refusal(&self, actor: Actor, what: &str, code: &Code, detail: &str) {
        let entry = AuditEntry {
            recorded_at: self.now(),
            actor,
            command_id: None,
            command_type: what.to_string(),
            target: None,
            outcome: "refused".into(),
            error_code: Some(code.to_string()),
            detail: Some(detail.to_string()),
        };
        if let Err(e) = self.events().record_refusal(entry.bounded()).await {
            tracing::warn!(error = %e, "could not audit a refused request");
        }
    }
}
