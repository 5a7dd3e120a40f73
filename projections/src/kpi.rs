//! KPIs K-1..K-4 and the progress report against target sets (RULES.md §8), computed from the `kpi`
//! read model's documents on two time axes: as of a business date D, as known at a recorded
//! time T (everything recorded after T ignored, so a published figure can be reproduced).
//!
//! A record counts for K-2..K-4 when it is recorded by T, not retracted by T (a retraction
//! repairs history: the record never counts, at any D), dated ≤ D, and dated within a listed
//! period of its platform as known at T (from the listing day, up to but excluding the
//! delisting day, D-7). The period it falls in gives the platform's province, domains and
//! applicant kind for breakdowns and filtered targets.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use roster_domain::targets::{national_2027, Metric, Target, TargetFilter, TargetSetView};
use roster_domain::values::{ApplicantKind, Domain, Province};
use serde::Serialize;

use crate::models::kpi::{Cycle, KpiDoc, ServiceKind, Stage, TargetSetDoc};
use crate::queries::{FunnelRow, FunnelTally};

/// The two time axes of every report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Axes {
    pub as_of: NaiveDate,
    pub known_at: Option<DateTime<Utc>>,
}

impl Axes {
    pub fn new(as_of: NaiveDate, known_at: Option<DateTime<Utc>>) -> Axes {
        Axes { as_of, known_at }
    }

    /// Whether a fact recorded at `at` (µs) was known at T.
    pub fn knows(&self, at: i64) -> bool {
        self.known_at.is_none_or(|t| at <= t.timestamp_micros())
    }
}

/// A listed period as known at T: `[from, to)`.
#[derive(Debug, Clone, Copy)]
struct Period<'a> {
    from: NaiveDate,
    to: Option<NaiveDate>,
    cycle: &'a Cycle,
}

fn periods<'a>(doc: &'a KpiDoc, axes: &Axes) -> Vec<Period<'a>> {
    doc.cycles
        .iter()
        .filter_map(|c| {
            let l = c.listing.as_ref()?;
            if !axes.knows(l.from.at) {
                return None;
            }
            Some(Period {
                from: l.from.on,
                to: l.to.filter(|t| axes.knows(t.at)).map(|t| t.on),
                cycle: c,
            })
        })
        .collect()
}

pub fn matches(filter: &TargetFilter, c: &Cycle) -> bool {
    filter
        .province
        .is_none_or(|p| p.code() == c.province.as_str())
        && filter.domain.is_none_or(|d| c.domains.contains(&d))
        && filter
            .applicant_kind
            .is_none_or(|k| c.applicant_kind == Some(k))
}

/// The facts behind K-1..K-4 for one set of platforms, as known at T, for every as-of date at
/// once: listed periods, and for each distinct enterprise or product the first date it counts
/// from (so the value at any D is a count of dates ≤ D).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    listings: Vec<(NaiveDate, Option<NaiveDate>)>,
    /// Sorted days (from the common era): K-2 first dates, K-3 first dates, K-4 industrialized
    /// dates, K-4 spun-off dates.
    dates: [Vec<i32>; 4],
}

fn slot(m: Metric) -> Option<usize> {
    match m {
        Metric::ListedPlatforms => None,
        Metric::ServedEnterprises => Some(0),
        Metric::IncubatedProducts => Some(1),
        Metric::IndustrializedResults => Some(2),
        Metric::SpunOffEnterprises => Some(3),
    }
}

impl Facts {
    /// The KPI's value as of `d`.
    pub fn value(&self, m: Metric, d: NaiveDate) -> u64 {
        match slot(m) {
            None => self
                .listings
                .iter()
                .filter(|(from, to)| *from <= d && to.is_none_or(|to| d < to))
                .count() as u64,
            Some(i) => {
                let d = d.num_days_from_ce();
                self.dates[i].partition_point(|x| *x <= d) as u64
            }
        }
    }

    pub fn first_listing(&self) -> Option<NaiveDate> {
        self.listings.iter().map(|(f, _)| *f).min()
    }

    /// The distinct days platforms were listed on in `(from, to]` (the batches of 名单).
    pub fn listing_days(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut days: Vec<NaiveDate> = self
            .listings
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| from < *f && *f <= to)
            .collect();
        days.sort_unstable();
        days.dedup();
        days.len() as u32
    }
}

/// "Not counted in this group."
const NONE: i32 = i32::MAX;

/// Facts per group in one pass over the documents: `groups` names the groups a listed cycle
/// belongs to (a multi-domain platform is in each of its domains). Distinct enterprises and
/// products are interned once; each group keeps, per entity, the first date it counts from.
pub fn grouped_facts(
    docs: &[KpiDoc],
    axes: &Axes,
    groups: impl Fn(&Cycle) -> Vec<String>,
) -> BTreeMap<String, Facts> {
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut listings: Vec<Vec<(NaiveDate, Option<NaiveDate>)>> = Vec::new();
    let mut interned: [HashMap<&str, u32>; 2] = [HashMap::new(), HashMap::new()];
    // [metric][group] → first day per entity id (NONE where not counted).
    let mut first: [Vec<Vec<i32>>; 2] = [Vec::new(), Vec::new()];
    // [metric][group] → the day of every record.
    let mut records: [Vec<Vec<i32>>; 2] = [Vec::new(), Vec::new()];
    for doc in docs {
        let periods = periods(doc, axes);
        if periods.is_empty() {
            continue;
        }
        let period_groups: Vec<Vec<usize>> = periods
            .iter()
            .map(|p| {
                groups(p.cycle)
                    .into_iter()
                    .map(|name| {
                        let next = ids.len();
                        let id = *ids.entry(name).or_insert(next);
                        if id == listings.len() {
                            listings.push(Vec::new());
                            for m in 0..2 {
                                first[m].push(Vec::new());
                                records[m].push(Vec::new());
                            }
                        }
                        id
                    })
                    .collect()
            })
            .collect();
        let bounds: Vec<(i32, i32)> = periods
            .iter()
            .map(|p| {
                (
                    p.from.num_days_from_ce(),
                    p.to.map_or(NONE, |t| t.num_days_from_ce()),
                )
            })
            .collect();
        for (p, gs) in periods.iter().zip(&period_groups) {
            for g in gs {
                listings[*g].push((p.from, p.to));
            }
        }
        for s in doc.services() {
            if !axes.knows(s.at) || s.retracted_at.is_some_and(|r| axes.knows(r)) {
                continue;
            }
            let Some(i) = bounds
                .iter()
                .position(|(from, to)| *from <= s.dated && s.dated < *to)
            else {
                continue;
            };
            let gs = &period_groups[i];
            match s.kind {
                ServiceKind::EnterpriseServed | ServiceKind::ProductIncubated => {
                    let m = usize::from(s.kind == ServiceKind::ProductIncubated);
                    let next = interned[m].len() as u32;
                    let e = *interned[m].entry(s.key).or_insert(next) as usize;
                    for g in gs {
                        let v = &mut first[m][*g];
                        if v.len() <= e {
                            v.resize(e + 1, NONE);
                        }
                        v[e] = v[e].min(s.dated);
                    }
                }
                ServiceKind::ProjectIndustrialized | ServiceKind::EnterpriseSpunOff => {
                    let m = usize::from(s.kind == ServiceKind::EnterpriseSpunOff);
                    for g in gs {
                        records[m][*g].push(s.dated);
                    }
                }
            }
        }
    }
    let [first_e, first_p] = first;
    let [rec_i, rec_s] = records;
    let sorted = |mut v: Vec<i32>| {
        v.retain(|d| *d != NONE);
        v.sort_unstable();
        v
    };
    let mut named: Vec<(String, usize)> = ids.into_iter().collect();
    named.sort_by_key(|(_, id)| *id);
    named
        .into_iter()
        .zip(listings)
        .zip(first_e.into_iter().zip(first_p))
        .zip(rec_i.into_iter().zip(rec_s))
        .map(|((((name, _), listings), (e, p)), (i, s))| {
            let facts = Facts {
                listings,
                dates: [sorted(e), sorted(p), sorted(i), sorted(s)],
            };
            (name, facts)
        })
        .collect()
}

/// Facts of the platforms a filter selects.
pub fn facts(docs: &[KpiDoc], axes: &Axes, filter: &TargetFilter) -> Facts {
    grouped_facts(docs, axes, |c| {
        if matches(filter, c) {
            vec![String::new()]
        } else {
            vec![]
        }
    })
    .remove("")
    .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The report

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiValue {
    pub metric: Metric,
    pub rule: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    pub value: u64,
}

/// Progress towards one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetProgress {
    pub target_set_id: String,
    pub target_set_name: String,
    pub metric: Metric,
    pub rule: &'static str,
    pub name_zh: &'static str,
    pub name_en: &'static str,
    /// `national`, or e.g. `province=36 domain=enzymes`.
    pub scope: String,
    pub comparator: &'static str,
    pub threshold: u64,
    pub deadline: NaiveDate,
    pub value: u64,
    pub met: bool,
    /// How many more are needed (0 when met): for `>` the threshold plus one, minus the value.
    pub gap: u64,
    /// Start of the run-rate window: 12 months before D, or the first listing if later.
    pub rate_window_from: Option<NaiveDate>,
    /// Growth per month over that window.
    pub rate_per_month: f64,
    /// Value at the deadline if the run rate holds.
    pub forecast_at_deadline: f64,
    pub forecast_met: bool,
    /// Growth per month needed from D to meet the target by the deadline (0 when met; `None`
    /// when the deadline has passed unmet).
    pub required_per_month: Option<f64>,
    /// `met`, `on_track`, `behind`, or `missed` (deadline passed unmet).
    pub status: &'static str,
    /// K-1 only: on how many distinct days platforms were listed within the rate window. The
    /// roster grows by batches (名单), so a rate from one or two listing days is a weak basis
    /// for a monthly forecast; the page says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing_days_in_window: Option<u32>,
    /// For a province's view of a national target: the province's own value (its share of the
    /// national figure, which `value` then is); `None` otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province_value: Option<u64>,
}

/// One row of a breakdown: a province, a domain or an applicant kind, or the deduplicated
/// total.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownRow {
    /// `province`, `domain`, `applicant_kind`.
    pub dimension: &'static str,
    /// The code (`44`, `enzymes`, `private`), or `total`.
    pub key: String,
    pub name_zh: String,
    pub name_en: String,
    #[serde(flatten)]
    pub counts: Counts,
}

/// K-1..K-4 of one group at one date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub listed_platforms: u64,
    pub served_enterprises: u64,
    pub incubated_products: u64,
    pub industrialized_results: u64,
    pub spun_off_enterprises: u64,
}

impl Counts {
    pub fn of(f: &Facts, d: NaiveDate) -> Counts {
        Counts {
            listed_platforms: f.value(Metric::ListedPlatforms, d),
            served_enterprises: f.value(Metric::ServedEnterprises, d),
            incubated_products: f.value(Metric::IncubatedProducts, d),
            industrialized_results: f.value(Metric::IndustrializedResults, d),
            spun_off_enterprises: f.value(Metric::SpunOffEnterprises, d),
        }
    }

    pub fn get(&self, m: Metric) -> u64 {
        match m {
            Metric::ListedPlatforms => self.listed_platforms,
            Metric::ServedEnterprises => self.served_enterprises,
            Metric::IncubatedProducts => self.incubated_products,
            Metric::IndustrializedResults => self.industrialized_results,
            Metric::SpunOffEnterprises => self.spun_off_enterprises,
        }
    }

    /// In the order of `Metric::ALL`.
    pub fn values(&self) -> [u64; 5] {
        [
            self.listed_platforms,
            self.served_enterprises,
            self.incubated_products,
            self.industrialized_results,
            self.spun_off_enterprises,
        ]
    }
}

/// The KPIs at one month's end (or at D for D's month).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthRow {
    /// `2026-05`.
    pub month: String,
    pub as_of: NaiveDate,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub as_of: NaiveDate,
    pub known_at: Option<DateTime<Utc>>,
    pub values: Vec<KpiValue>,
    pub target_sets: Vec<TargetSetView>,
    pub targets: Vec<TargetProgress>,
    pub by_province: Vec<BreakdownRow>,
    pub by_domain: Vec<BreakdownRow>,
    pub by_applicant_kind: Vec<BreakdownRow>,
    pub monthly: Vec<MonthRow>,
    pub funnel: Vec<FunnelRow>,
}

/// Average days per month, for rates per month.
const DAYS_PER_MONTH: f64 = 365.2425 / 12.0;

fn months_between(from: NaiveDate, to: NaiveDate) -> f64 {
    (to - from).num_days() as f64 / DAYS_PER_MONTH
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Progress towards `target` as of D from the facts of its platforms: value, met, gap, and a
/// run-rate forecast from the trailing 12 months (or since the first listing, if shorter).
pub fn progress(
    set: &TargetSetView,
    target: &Target,
    facts: &Facts,
    d: NaiveDate,
) -> TargetProgress {
    let m = target.metric;
    let value = facts.value(m, d);
    let met = target.comparator.met(value, target.threshold);
    let gap = target.comparator.gap(value, target.threshold);
    let year_before = d.checked_sub_months(Months::new(12)).unwrap_or(d);
    // The window is (start, D]: growth is value(D) - value(start).
    let window = facts.first_listing().filter(|f| *f <= d).map(|first| {
        let since_listing = first.pred_opt().unwrap_or(first);
        year_before.max(since_listing)
    });
    let rate = match window {
        Some(start) if start < d => {
            let growth = value as f64 - facts.value(m, start) as f64;
            growth / months_between(start, d)
        }
        _ => 0.0,
    };
    let remaining = if target.deadline > d {
        months_between(d, target.deadline)
    } else {
        0.0
    };
    let forecast = value as f64 + rate * remaining;
    let forecast_met = target
        .comparator
        .met(forecast.floor().max(0.0) as u64, target.threshold);
    let required = if gap == 0 {
        Some(0.0)
    } else if remaining > 0.0 {
        Some(round1(gap as f64 / remaining))
    } else {
        None
    };
    let status = if met {
        "met"
    } else if target.deadline <= d {
        "missed"
    } else if forecast_met {
        "on_track"
    } else {
        "behind"
    };
    TargetProgress {
        target_set_id: set.target_set_id.clone(),
        target_set_name: set.name.clone(),
        metric: m,
        rule: m.rule(),
        name_zh: m.name_zh(),
        name_en: m.name_en(),
        scope: target.filter().describe(),
        comparator: target.comparator.symbol(),
        threshold: target.threshold,
        deadline: target.deadline,
        value,
        met,
        gap,
        rate_window_from: window.map(|w| w.succ_opt().unwrap_or(w)),
        rate_per_month: round1(rate),
        forecast_at_deadline: round1(forecast),
        forecast_met,
        required_per_month: required,
        status,
        listing_days_in_window: (m == Metric::ListedPlatforms)
            .then(|| window.map_or(0, |w| facts.listing_days(w, d))),
        province_value: None,
    }
}

/// The target sets in force at T: the built-in national set, then each defined set's latest
/// revision recorded by T, unless a retirement recorded by T retired that revision.
pub fn target_sets(docs: &[TargetSetDoc], axes: &Axes) -> Vec<TargetSetView> {
    let mut sets = vec![national_2027()];
    for doc in docs {
        let Some(r) = doc
            .revisions
            .iter()
            .filter(|r| axes.knows(r.recorded.at))
            .max_by_key(|r| r.revision)
        else {
            continue;
        };
        // A document written before retirements were kept knows only its last one.
        let legacy = doc
            .retired
            .as_ref()
            .filter(|_| doc.retirements.is_empty())
            .map(|(s, _)| (*s, u32::MAX));
        let retired = doc
            .retirements
            .iter()
            .copied()
            .chain(legacy)
            .any(|(s, last)| axes.knows(s.at) && last >= r.revision);
        if !retired {
            sets.push(TargetSetView {
                target_set_id: doc.target_set_id.clone(),
                name: r.name.clone(),
                description: r.description.clone(),
                targets: r.targets.clone(),
                revision: r.revision,
                built_in: false,
            });
        }
    }
    sets
}

fn breakdown(
    dimension: &'static str,
    groups: BTreeMap<String, Facts>,
    total: &Facts,
    d: NaiveDate,
    names: impl Fn(&str) -> (String, String),
) -> Vec<BreakdownRow> {
    let row = |key: String, zh: String, en: String, f: &Facts| BreakdownRow {
        dimension,
        key,
        name_zh: zh,
        name_en: en,
        counts: Counts::of(f, d),
    };
    let mut rows: Vec<BreakdownRow> = groups
        .iter()
        .map(|(k, f)| {
            let (zh, en) = names(k);
            row(k.clone(), zh, en, f)
        })
        // Only groups with a platform listed by D.
        .filter(|r| {
            groups[&r.key]
                .first_listing()
                .is_some_and(|first| first <= d)
        })
        .collect();
    rows.push(row("total".into(), "合计".into(), "total".into(), total));
    rows
}

fn month_end(d: NaiveDate) -> NaiveDate {
    let first_next = if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    };
    first_next
        .and_then(|f| f.pred_opt())
        .expect("a month has an end")
}

/// The KPIs at the end of every month from the first listing's month to D's (the last row at D).
pub fn monthly(facts: &Facts, d: NaiveDate) -> Vec<MonthRow> {
    let Some(first) = facts.first_listing().filter(|f| *f <= d) else {
        return vec![];
    };
    let mut rows = Vec::new();
    let mut month = NaiveDate::from_ymd_opt(first.year(), first.month(), 1).expect("valid");
    while month <= d {
        let at = month_end(month).min(d);
        rows.push(MonthRow {
            month: format!("{:04}-{:02}", month.year(), month.month()),
            as_of: at,
            counts: Counts::of(facts, at),
        });
        month = month
            .checked_add_months(Months::new(1))
            .expect("a month follows");
    }
    rows
}

/// The application funnel per round and province on both axes (a stage counts when it was
/// reached by D and recorded by T), with a total row per round.
pub fn funnel(docs: &[KpiDoc], axes: &Axes, round: Option<&str>) -> Vec<FunnelRow> {
    let mut tally = FunnelTally::default();
    for c in docs.iter().flat_map(|d| &d.cycles) {
        let reached = |s: Stage| {
            c.stages
                .get(&s)
                .is_some_and(|st| st.on <= axes.as_of && axes.knows(st.at))
        };
        if round.is_some_and(|r| r != c.round_id) || !reached(Stage::Submitted) {
            continue;
        }
        tally.add(
            &c.round_id,
            &c.province,
            [
                Stage::Endorsed,
                Stage::Recommended,
                Stage::EvaluatedPass,
                Stage::OnNotice,
                Stage::Listed,
                Stage::Rejected,
                Stage::NotSelected,
                Stage::Withdrawn,
            ]
            .map(reached),
        );
    }
    tally.rows()
}

/// What a report covers besides its axes.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Only this target set (default: every set in force at T).
    pub target_set: Option<String>,
    /// Only this round in the funnel.
    pub round: Option<String>,
}

/// The whole KPI report as of D, as known at T.
pub fn report(
    docs: &[KpiDoc],
    sets: &[TargetSetDoc],
    axes: Axes,
    opts: &ReportOptions,
) -> KpiReport {
    let d = axes.as_of;
    let target_sets: Vec<TargetSetView> = target_sets(sets, &axes)
        .into_iter()
        .filter(|s| {
            opts.target_set
                .as_ref()
                .is_none_or(|id| id == &s.target_set_id)
        })
        .collect();
    let mut filters: Vec<TargetFilter> = Vec::new();
    for t in target_sets.iter().flat_map(|s| &s.targets) {
        if !t.filter().is_national() && !filters.contains(&t.filter()) {
            filters.push(t.filter());
        }
    }
    // One pass over every record: the nation, each province, domain, applicant kind and
    // target filter is a group.
    let mut groups = grouped_facts(docs, &axes, |c| {
        let mut g = vec![
            "n:".to_string(),
            format!("p:{}", c.province),
            format!("k:{}", c.applicant_kind.map_or("unknown", |k| k.code())),
        ];
        g.extend(c.domains.iter().map(|d| format!("d:{}", d.code())));
        g.extend(
            filters
                .iter()
                .enumerate()
                .filter(|(_, f)| matches(f, c))
                .map(|(i, _)| format!("f:{i}")),
        );
        g
    });
    let mut take = |prefix: &str| -> BTreeMap<String, Facts> {
        let keys: Vec<String> = groups
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        keys.into_iter()
            .map(|k| {
                let f = groups.remove(&k).expect("listed");
                (k[prefix.len()..].to_string(), f)
            })
            .collect()
    };
    let national = take("n:").remove("").unwrap_or_default();
    let by_filter = take("f:");
    let values = Metric::ALL
        .into_iter()
        .map(|m| KpiValue {
            metric: m,
            rule: m.rule(),
            name_zh: m.name_zh(),
            name_en: m.name_en(),
            value: national.value(m, d),
        })
        .collect();
    let empty = Facts::default();
    let mut targets = Vec::new();
    for set in &target_sets {
        for t in &set.targets {
            let f = if t.filter().is_national() {
                &national
            } else {
                filters
                    .iter()
                    .position(|f| f == &t.filter())
                    .and_then(|i| by_filter.get(&i.to_string()))
                    .unwrap_or(&empty)
            };
            targets.push(progress(set, t, f, d));
        }
    }
    let by_province = breakdown(
        "province",
        take("p:"),
        &national,
        d,
        |k| match Province::parse(k) {
            Some(p) => (p.name_zh().to_string(), p.name_en().to_string()),
            None => (k.to_string(), k.to_string()),
        },
    );
    let by_domain = breakdown(
        "domain",
        take("d:"),
        &national,
        d,
        |k| match Domain::parse(k) {
            Some(dm) => (dm.name_zh().to_string(), dm.code().to_string()),
            None => (k.to_string(), k.to_string()),
        },
    );
    let by_applicant_kind =
        breakdown(
            "applicant_kind",
            take("k:"),
            &national,
            d,
            |k| match ApplicantKind::parse(k) {
                Some(kind) => (kind.name_zh().to_string(), kind.code().to_string()),
                None => (k.to_string(), k.to_string()),
            },
        );
    KpiReport {
        as_of: d,
        known_at: axes.known_at,
        values,
        target_sets,
        targets,
        by_province,
        by_domain,
        by_applicant_kind,
        monthly: monthly(&national, d),
        funnel: funnel(docs, &axes, opts.round.as_deref()),
    }
}

/// The `kpi` read model's documents: platforms (with their service records) and target sets.
pub async fn load(
    models: &dyn crate::store::ReadModelStore,
) -> Result<(Vec<KpiDoc>, Vec<TargetSetDoc>), roster_domain::store::StoreError> {
    let mut assembler = crate::models::kpi::Assembler::default();
    models
        .scan_each(crate::models::kpi::NAME, "", &mut |key, doc| {
            assembler.push(key, doc)
        })
        .await?;
    assembler
        .finish()
        .map_err(roster_domain::store::StoreError::Other)
}

/// Parses an "as known at" recorded time: RFC 3339 (`2026-03-01T12:00:00+08:00`), or a local
/// Beijing time `2026-03-01 12:00[:00]`, or a date `2026-03-01` (its end, 23:59:59.999999
/// Beijing time: everything recorded that day).
pub fn parse_known_at(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    let beijing = roster_domain::clock::beijing();
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
    ] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(s, f) {
            if let Some(t) = naive.and_local_timezone(beijing).single() {
                return Ok(t.with_timezone(&Utc));
            }
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let end = d
            .and_hms_micro_opt(23, 59, 59, 999_999)
            .expect("valid time")
            .and_local_timezone(beijing)
            .single()
            .expect("fixed offset");
        return Ok(end.with_timezone(&Utc));
    }
    Err(format!(
        "'{s}' is not a recorded time: give RFC 3339 (2026-03-01T12:00:00+08:00), Beijing time (2026-03-01 12:00:00) or a date (2026-03-01, its end)"
    ))
}

/// The `kpi` documents as last loaded, kept while the read model has not moved: a server
/// answering report after report (another as-of date, another view) reads them once. Keyed by
/// the model's checkpoint, applied count and last commit time, read before the documents (a
/// scan is one consistent snapshot at or after that state, so a state seen again unchanged
/// means the documents are the same).
#[derive(Default)]
pub struct Cache {
    slot: tokio::sync::Mutex<Option<(CacheKey, Arc<Loaded>)>>,
}

type CacheKey = (roster_domain::store::Checkpoint, u64, Option<DateTime<Utc>>);

pub struct Loaded {
    pub platforms: Vec<KpiDoc>,
    pub target_sets: Vec<TargetSetDoc>,
}

impl Cache {
    pub async fn load(
        &self,
        models: &dyn crate::store::ReadModelStore,
    ) -> Result<Arc<Loaded>, roster_domain::store::StoreError> {
        let state = models.state(crate::models::kpi::NAME).await?;
        let key = (state.checkpoint, state.applied, state.updated_at);
        // Held while loading: concurrent first requests wait for one load instead of each
        // doing their own.
        let mut slot = self.slot.lock().await;
        if let Some((k, loaded)) = slot.as_ref() {
            if *k == key {
                return Ok(loaded.clone());
            }
        }
        // The old copy goes before the new one is loaded (reports in flight keep theirs).
        *slot = None;
        let (platforms, target_sets) = load(models).await?;
        let loaded = Arc::new(Loaded {
            platforms,
            target_sets,
        });
        *slot = Some((key, loaded.clone()));
        Ok(loaded)
    }
}
