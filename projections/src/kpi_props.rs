//! Cross-check (RULES.md §8: "can be recomputed from the event store alone"): for random histories,
//! the KPIs reported from the `kpi` read model (folded in random batch sizes, as the runner
//! does) equal the KPIs recomputed by a plain fold of the raw event log written here
//! independently, at random as-of dates (past ones included) and as known at random recorded
//! times.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use proptest::prelude::*;
use roster_domain::actor::Actor;
use roster_domain::commands::{DelistReason, ServiceRecord};
use roster_domain::events::{self, encode, PlatformEvent};
use roster_domain::samples::{form_json, sample_city, uscc_with_check};
use roster_domain::store::{EventMetadata, StoredEvent};
use roster_domain::targets::{normalise_product_name, Metric};
use roster_domain::values::{Cny, Domain, Uscc};
use serde_json::Value;
use uuid::Uuid;

use crate::kpi::{self, Axes, ReportOptions};
use crate::runner::Projection;

const PROVINCES: [&str; 3] = ["11", "32", "44"];
const DOMAINS: [&str; 3] = ["enzymes", "biopharma", "chemicals"];
const NAMES: [&str; 6] = ["PHA", "ｐｈａ", " pha ", "PHB", "ＰＨＢ", "透明质酸"];

fn day(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1)
        .unwrap()
        .checked_add_days(Days::new(u64::from(n)))
        .unwrap()
}

fn uscc(n: u8) -> Uscc {
    Uscc::parse(&uscc_with_check(&format!(
        "91440300{:09}",
        700_000_000 + u32::from(n)
    )))
    .unwrap()
}

/// One step of a generated history.
#[derive(Debug, Clone)]
enum Step {
    /// Apply (if not on the roster) and list platform `p` on day `d`.
    List {
        p: u8,
        d: u32,
    },
    Delist {
        p: u8,
        d: u32,
    },
    Served {
        p: u8,
        e: u8,
        d: u32,
    },
    Product {
        p: u8,
        owner: u8,
        name: u8,
        d: u32,
    },
    Industrialized {
        p: u8,
        d: u32,
    },
    SpunOff {
        p: u8,
        e: u8,
        d: u32,
    },
    /// Retract the `n`-th (mod count) record of platform `p`.
    Retract {
        p: u8,
        n: u8,
    },
}

/// Days after 2025-06-01: half of them on a coarse grid, so listings, delistings, services
/// and as-of dates often fall on the same day (the edges of K-1..K-4).
fn days() -> impl Strategy<Value = u32> + Clone {
    prop_oneof![(0u32..30).prop_map(|x| x * 30), 0u32..900]
}

fn step() -> impl Strategy<Value = Step> {
    let p = 0u8..5;
    let d = days();
    prop_oneof![
        2 => (p.clone(), d.clone()).prop_map(|(p, d)| Step::List { p, d }),
        1 => (p.clone(), d.clone()).prop_map(|(p, d)| Step::Delist { p, d }),
        5 => (p.clone(), 0u8..12, d.clone()).prop_map(|(p, e, d)| Step::Served { p, e, d }),
        4 => (p.clone(), 0u8..3, 0u8..6, d.clone())
            .prop_map(|(p, owner, name, d)| Step::Product { p, owner, name, d }),
        1 => (p.clone(), d.clone()).prop_map(|(p, d)| Step::Industrialized { p, d }),
        1 => (p.clone(), 0u8..12, d).prop_map(|(p, e, d)| Step::SpunOff { p, e, d }),
        1 => (p, any::<u8>()).prop_map(|(p, n)| Step::Retract { p, n }),
    ]
}

/// Turns steps into a valid event log (steps the lifecycle would refuse are skipped), with
/// recorded times that advance by the given seconds.
fn history(steps: &[Step], gaps: &[u32]) -> Vec<StoredEvent> {
    let mut log: Vec<StoredEvent> = Vec::new();
    let mut clock = 1_760_000_000i64;
    let mut listed: BTreeMap<u8, bool> = BTreeMap::new();
    let mut cycles: BTreeMap<u8, u32> = BTreeMap::new();
    let mut services: BTreeMap<u8, Vec<Uuid>> = BTreeMap::new();
    let mut next_id = 0u128;
    let mut push = |p: u8, on: NaiveDate, e: PlatformEvent, gap: u32| {
        clock += i64::from(gap);
        let (event_type, schema_version, payload) = encode(&e);
        let stream_id = format!("platform-p{p}");
        let pos = log.len() as i64 + 1;
        let version = log.iter().filter(|x| x.stream_id == stream_id).count() as u64 + 1;
        log.push(StoredEvent {
            global_position: pos,
            transaction_id: 0,
            stream_id,
            version,
            event_id: Uuid::from_u128(pos as u128),
            event_type,
            schema_version,
            payload,
            metadata: EventMetadata {
                actor: Actor::system("prop"),
                command_id: Uuid::from_u128(10_000 + pos as u128),
                correlation_id: Uuid::nil(),
                causation_id: None,
                recorded_at: DateTime::<Utc>::from_timestamp(clock, 0).unwrap(),
                business_date: on,
                backfilled_by: None,
            },
        });
    };
    for (i, s) in steps.iter().enumerate() {
        let gap = gaps.get(i).copied().unwrap_or(60);
        let on_roster = |p: &u8| listed.get(p).copied().unwrap_or(false);
        match s {
            Step::List { p, d } if !on_roster(p) => {
                let cycle = cycles.entry(*p).or_insert(0);
                *cycle += 1;
                let province = PROVINCES[usize::from(*p) % 3];
                let applicant =
                    uscc_with_check(&format!("91{province}0100{:09}", 100 + u32::from(*p)));
                let domains: Vec<&str> = match p % 3 {
                    0 => vec![DOMAINS[0]],
                    1 => vec![DOMAINS[1], DOMAINS[2]],
                    _ => vec![DOMAINS[2]],
                };
                let form = serde_json::from_value(form_json(
                    &applicant,
                    province,
                    sample_city(province),
                    &domains,
                ))
                .unwrap();
                push(
                    *p,
                    day(*d),
                    PlatformEvent::ApplicationSubmitted {
                        round_id: "2025".into(),
                        cycle: *cycle,
                        submitted_on: day(*d),
                        form,
                    },
                    gap,
                );
                push(
                    *p,
                    day(*d),
                    PlatformEvent::PlatformListed { listed_on: day(*d) },
                    1,
                );
                listed.insert(*p, true);
            }
            Step::Delist { p, d } if on_roster(p) => {
                push(
                    *p,
                    day(*d),
                    PlatformEvent::PlatformDelisted {
                        delisted_on: day(*d),
                        reason: DelistReason::Other,
                        area: None,
                        cause: None,
                        details: None,
                    },
                    gap,
                );
                listed.insert(*p, false);
            }
            Step::Retract { p, n } if on_roster(p) => {
                let ids = services.entry(*p).or_default();
                if ids.is_empty() {
                    continue;
                }
                let id = ids.remove(usize::from(*n) % ids.len());
                push(
                    *p,
                    day(0),
                    PlatformEvent::ServiceRetracted {
                        service_id: id,
                        reason: "核查不实".into(),
                    },
                    gap,
                );
            }
            Step::Served { p, d, .. }
            | Step::Product { p, d, .. }
            | Step::Industrialized { p, d }
            | Step::SpunOff { p, d, .. }
                if on_roster(p) =>
            {
                let record = match s {
                    Step::Served { e, .. } => ServiceRecord::EnterpriseServed {
                        enterprise_uscc: uscc(*e),
                        enterprise_name: "企业".into(),
                        contract_cny: Cny(1),
                    },
                    Step::Product { owner, name, .. } => ServiceRecord::ProductIncubated {
                        product_name: NAMES[usize::from(*name)].into(),
                        owner_uscc: uscc(100 + owner),
                        domain: Domain::Enzymes,
                    },
                    Step::Industrialized { .. } => ServiceRecord::ProjectIndustrialized {
                        project: "项目".into(),
                        revenue_cny: Cny(1),
                    },
                    Step::SpunOff { e, .. } => ServiceRecord::EnterpriseSpunOff {
                        enterprise_uscc: uscc(200 + e),
                        enterprise_name: "衍生".into(),
                        valuation_cny: Cny(1),
                    },
                    _ => unreachable!(),
                };
                next_id += 1;
                let id = Uuid::from_u128(900_000 + next_id);
                services.entry(*p).or_default().push(id);
                push(
                    *p,
                    day(*d),
                    PlatformEvent::ServiceRecorded {
                        service_id: id,
                        dated: day(*d),
                        record,
                    },
                    gap,
                );
            }
            _ => {}
        }
    }
    log
}

/// The reference: K-1..K-4 (national and per province) by folding the raw log, event by event,
/// with sets, as RULES.md §8 words them.
fn reference(
    log: &[StoredEvent],
    d: NaiveDate,
    t: Option<DateTime<Utc>>,
) -> BTreeMap<String, [u64; 5]> {
    struct P {
        province: String,
        /// (from, to, province of that cycle)
        periods: Vec<(NaiveDate, Option<NaiveDate>, String)>,
        services: Vec<(Uuid, ServiceRecord, NaiveDate)>,
        retracted: BTreeSet<Uuid>,
    }
    let mut platforms: BTreeMap<String, P> = BTreeMap::new();
    for e in log
        .iter()
        .filter(|e| t.is_none_or(|t| e.metadata.recorded_at <= t))
    {
        let ev = events::decode_platform(&e.event_type, e.schema_version, &e.payload).unwrap();
        let p = platforms.entry(e.stream_id.clone()).or_insert_with(|| P {
            province: String::new(),
            periods: vec![],
            services: vec![],
            retracted: BTreeSet::new(),
        });
        match ev {
            PlatformEvent::ApplicationSubmitted { form, .. } => {
                p.province = form.applicant.province.to_string()
            }
            PlatformEvent::PlatformListed { listed_on } => {
                p.periods.push((listed_on, None, p.province.clone()))
            }
            PlatformEvent::PlatformDelisted { delisted_on, .. } => {
                if let Some(last) = p.periods.last_mut() {
                    last.1 = Some(delisted_on);
                }
            }
            PlatformEvent::ServiceRecorded {
                service_id,
                dated,
                record,
            } => p.services.push((service_id, record, dated)),
            PlatformEvent::ServiceRetracted { service_id, .. } => {
                p.retracted.insert(service_id);
            }
            _ => {}
        }
    }
    let inside = |from: &NaiveDate, to: &Option<NaiveDate>, x: NaiveDate| {
        *from <= x && to.is_none_or(|to| x < to)
    };
    let mut sets: BTreeMap<String, [BTreeSet<String>; 2]> = BTreeMap::new();
    let mut counts: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for p in platforms.values() {
        for (from, to, province) in &p.periods {
            if inside(from, to, d) {
                for g in [province.clone(), "total".into()] {
                    counts.entry(g).or_default()[0] += 1;
                }
            }
        }
        for (id, record, dated) in &p.services {
            if p.retracted.contains(id) || *dated > d {
                continue;
            }
            let Some((_, _, province)) = p.periods.iter().find(|(f, t, _)| inside(f, t, *dated))
            else {
                continue;
            };
            for g in [province.clone(), "total".to_string()] {
                match record {
                    ServiceRecord::EnterpriseServed {
                        enterprise_uscc, ..
                    } => {
                        sets.entry(g).or_default()[0].insert(enterprise_uscc.to_string());
                    }
                    ServiceRecord::ProductIncubated {
                        product_name,
                        owner_uscc,
                        ..
                    } => {
                        sets.entry(g).or_default()[1].insert(format!(
                            "{owner_uscc}/{}",
                            normalise_product_name(product_name)
                        ));
                    }
                    ServiceRecord::ProjectIndustrialized { .. } => {
                        counts.entry(g).or_default()[1] += 1
                    }
                    ServiceRecord::EnterpriseSpunOff { .. } => counts.entry(g).or_default()[2] += 1,
                }
            }
        }
    }
    let mut out: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for g in sets.keys().chain(counts.keys()) {
        let s = sets.get(g);
        let c = counts.get(g).copied().unwrap_or_default();
        out.insert(
            g.clone(),
            [
                c[0],
                s.map_or(0, |s| s[0].len() as u64),
                s.map_or(0, |s| s[1].len() as u64),
                c[1],
                c[2],
            ],
        );
    }
    out.retain(|_, v| v.iter().any(|n| *n > 0));
    out
}

/// The same figures from the read model's report.
fn from_projection(
    log: &[StoredEvent],
    batch: usize,
    d: NaiveDate,
    t: Option<DateTime<Utc>>,
) -> BTreeMap<String, [u64; 5]> {
    let model = crate::models::kpi::model();
    let mut docs: BTreeMap<String, Option<Value>> = BTreeMap::new();
    for chunk in log.chunks(batch) {
        assert!(model.apply_all(chunk, &mut docs).is_empty());
    }
    let (platforms, sets) =
        crate::models::kpi::assemble(docs.into_iter().map(|(k, v)| (k, v.unwrap()))).unwrap();
    let r = kpi::report(
        &platforms,
        &sets,
        Axes::new(d, t),
        &ReportOptions::default(),
    );
    let mut out: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for row in &r.by_province {
        out.insert(row.key.clone(), row.counts.values());
    }
    // The headline values are the deduplicated total.
    let headline: Vec<u64> = Metric::ALL
        .iter()
        .map(|m| r.values.iter().find(|v| v.metric == *m).unwrap().value)
        .collect();
    assert_eq!(headline, out.get("total").copied().unwrap_or_default());
    // The monthly series agrees with the report at each month's end.
    for m in &r.monthly {
        let at = from_total(
            &kpi::facts(&platforms, &Axes::new(m.as_of, t), &Default::default()),
            m.as_of,
        );
        assert_eq!(at, m.counts.values());
    }
    out.retain(|_, v| v.iter().any(|n| *n > 0));
    out
}

fn from_total(f: &kpi::Facts, d: NaiveDate) -> [u64; 5] {
    let v: Vec<u64> = Metric::ALL.iter().map(|m| f.value(*m, d)).collect();
    [v[0], v[1], v[2], v[3], v[4]]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn kpis_from_the_projection_equal_a_fold_of_the_raw_log(
        steps in prop::collection::vec(step(), 1..80),
        gaps in prop::collection::vec(1u32..5000, 80),
        batch in 1usize..40,
        as_of in prop::collection::vec(days(), 4),
        known in prop::collection::vec(prop::option::of(0usize..200), 3),
    ) {
        let log = history(&steps, &gaps);
        let times: Vec<Option<DateTime<Utc>>> = known
            .iter()
            .map(|k| k.and_then(|i| log.get(i % log.len().max(1))).map(|e| e.metadata.recorded_at))
            .collect();
        let mut cache: HashMap<(NaiveDate, Option<DateTime<Utc>>), ()> = HashMap::new();
        for d in as_of.iter().map(|n| day(*n)) {
            for t in &times {
                if cache.insert((d, *t), ()).is_some() {
                    continue;
                }
                prop_assert_eq!(
                    from_projection(&log, batch, d, *t),
                    reference(&log, d, *t),
                    "as of {} known at {:?}", d, t
                );
            }
        }
    }
}
