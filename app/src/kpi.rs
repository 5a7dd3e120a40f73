//! KPI progress (RULES.md §8) as one use case for the API, the dashboard and `roster report kpi`:
//! the report as of a business date and as known at a recorded time, against every target set
//! in force (or one), and the target sets in force. The ministry and analysts see the national
//! report; a province sees the report over its own platforms (its own applicants, RULES.md §10) and
//! the national target sets beside its own, never another province's plan. Cities and
//! applicants have no KPI reports.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::actor::{Actor, Role};
use roster_domain::targets::TargetSetView;
use roster_domain::values::Province;
use roster_domain::Refusal;
use roster_projections::kpi::{self, Axes, KpiReport, Loaded, ReportOptions};
use roster_projections::models::kpi::{KpiDoc, TargetSetDoc};

use crate::{refused, App};

/// What a KPI report is asked for.
#[derive(Debug, Clone, Default)]
pub struct KpiQuery {
    /// Business date (default: today in Beijing by the application's clock).
    pub as_of: Option<NaiveDate>,
    /// Ignore everything recorded after this instant.
    pub known_at: Option<DateTime<Utc>>,
    /// Only this target set (it must be in force as known at `known_at`).
    pub target_set: Option<String>,
    /// Only this round in the funnel.
    pub round: Option<String>,
}

/// A report and the province it is restricted to (`None`: national).
pub struct ScopedReport {
    pub report: KpiReport,
    pub province: Option<Province>,
}

/// Which platforms the caller's KPI figures cover: `None` all, `Some(p)` one province's.
pub fn scope(actor: &Actor) -> Result<Option<Province>, Refusal> {
    match actor.role {
        Role::Ministry | Role::Analyst => Ok(None),
        Role::Province => actor
            .jurisdiction
            .as_deref()
            .and_then(Province::parse)
            .map(Some)
            .ok_or_else(|| {
                Refusal::forbidden("a province token without a province").zh("省级用户未指定省份")
            }),
        other => Err(Refusal::forbidden(format!(
            "KPI reports are for the ministry, analysts and provinces, not a {other}"
        ))
        .zh(format!("{}无权查阅指标报告", other.name_zh()))),
    }
}

/// Keeps only the application cycles of `province` (and so only its listed periods and the
/// services dated within them).
fn restrict(docs: &[KpiDoc], province: Province) -> Vec<KpiDoc> {
    docs.iter()
        .filter(|d| d.cycles.iter().any(|c| c.province == province.code()))
        .map(|d| {
            let mut d = d.clone();
            d.cycles.retain(|c| c.province == province.code());
            d
        })
        .collect()
}

/// The target sets the actor may read: a province the national ones and its own, never another
/// province's plan, in any revision (RULES.md §10; review finding L8).
fn visible_sets(actor: &Actor, docs: &[TargetSetDoc]) -> Vec<TargetSetDoc> {
    docs.iter()
        .filter(|d| {
            d.revisions
                .iter()
                .all(|r| roster_domain::targets::target_set_visible(actor, &r.targets))
        })
        .cloned()
        .collect()
}

impl App {
    /// The KPI documents, from the cache while the kpi read model has not moved.
    async fn kpi_documents(&self) -> Result<Arc<Loaded>, Refusal> {
        self.read_your_writes().await;
        self.inner
            .kpi
            .load(self.models().as_ref())
            .await
            .map_err(refused)
    }

    /// The KPI report `actor` may see for `q`.
    pub async fn kpi_report(&self, actor: &Actor, q: KpiQuery) -> Result<ScopedReport, Refusal> {
        let province = scope(actor)?;
        let axes = Axes::new(q.as_of.unwrap_or_else(|| self.today()), q.known_at);
        let opts = ReportOptions {
            target_set: q.target_set,
            round: q.round,
        };
        let loaded = self.kpi_documents().await?;
        let sets = visible_sets(actor, &loaded.target_sets);
        if let Some(id) = &opts.target_set {
            if !kpi::target_sets(&sets, &axes)
                .iter()
                .any(|s| &s.target_set_id == id)
            {
                return Err(Refusal::not_found(format!(
                    "no target set '{id}' in force as known at that time"
                ))
                .at("target_set")
                .zh(format!("当时没有生效的目标集“{id}”")));
            }
        }
        let report = match province {
            Some(p) => {
                // A province's platforms are scored against its own target sets; a national
                // target shows the national figure and status, with the province's share beside
                // it, never the province's few platforms as "behind" the nation's 20.
                let mut own = kpi::report(&restrict(&loaded.platforms, p), &sets, axes, &opts);
                let national = kpi::report(&loaded.platforms, &sets, axes, &opts);
                for t in own.targets.iter_mut().filter(|t| t.scope == "national") {
                    if let Some(n) = national
                        .targets
                        .iter()
                        .find(|n| n.target_set_id == t.target_set_id && n.metric == t.metric)
                    {
                        let share = t.value;
                        *t = n.clone();
                        t.province_value = Some(share);
                    }
                }
                own
            }
            None => kpi::report(&loaded.platforms, &sets, axes, &opts),
        };
        Ok(ScopedReport { report, province })
    }

    /// The target sets in force as known at `known_at` (default: now) that `actor` may read.
    pub async fn target_sets(
        &self,
        actor: &Actor,
        known_at: Option<DateTime<Utc>>,
    ) -> Result<Vec<TargetSetView>, Refusal> {
        scope(actor)?;
        let loaded = self.kpi_documents().await?;
        let sets = visible_sets(actor, &loaded.target_sets);
        Ok(kpi::target_sets(&sets, &Axes::new(self.today(), known_at)))
    }
}

/// The national figures as anyone reads them (RULES.md §13): K-1..K-4 and the progress against
/// the national targets, with the breakdowns by province and domain of the listed platforms.
/// Province plans, the funnel of applications and the known-at axis are not public.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PublicKpi {
    pub as_of: NaiveDate,
    pub values: Vec<kpi::KpiValue>,
    pub targets: Vec<kpi::TargetProgress>,
    pub by_province: Vec<kpi::BreakdownRow>,
    pub by_domain: Vec<kpi::BreakdownRow>,
}

impl App {
    /// The national figures as of `as_of` (default today), for the public.
    pub async fn public_kpi(&self, as_of: Option<NaiveDate>) -> Result<PublicKpi, Refusal> {
        let d = as_of.unwrap_or_else(|| self.today());
        let loaded = self.kpi_documents().await?;
        let national: Vec<TargetSetDoc> = loaded
            .target_sets
            .iter()
            .filter(|s| {
                s.revisions
                    .iter()
                    .all(|r| r.targets.iter().all(|t| t.province.is_none()))
            })
            .cloned()
            .collect();
        let r = kpi::report(
            &loaded.platforms,
            &national,
            Axes::new(d, None),
            &ReportOptions::default(),
        );
        Ok(PublicKpi {
            as_of: r.as_of,
            values: r.values,
            targets: r.targets,
            by_province: r.by_province,
            by_domain: r.by_domain,
        })
    }
}
