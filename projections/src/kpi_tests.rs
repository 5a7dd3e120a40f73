//! K-1..K-4 at their edges (RULES.md §8), on both time axes: folded through the `kpi` read model
//! exactly as the stores fold it, then reported.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::actor::Actor;
use roster_domain::commands::{DelistReason, ServiceRecord};
use roster_domain::events::{encode, PlatformEvent};
use roster_domain::samples::{date, form_json, uscc_with_check};
use roster_domain::store::{EventMetadata, StoredEvent};
use roster_domain::targets::{Comparator, Metric, Target, TargetSetEvent};
use roster_domain::values::{Cny, Domain, Province, Uscc};
use serde_json::Value;
use uuid::Uuid;

use crate::kpi::{self, Axes, ReportOptions};
use crate::models::kpi::{KpiDoc, TargetSetDoc};
use crate::runner::Projection;

/// An event log whose recorded times the test chooses (seconds after a fixed instant).
#[derive(Default)]
struct Log {
    events: Vec<StoredEvent>,
    /// Recorded time of the next event, seconds.
    clock: i64,
}

const EPOCH: i64 = 1_760_000_000;

fn instant(secs: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(EPOCH + secs, 0).unwrap()
}

impl Log {
    fn push_raw(&mut self, stream: String, on: &str, event_type: String, sv: u32, payload: Value) {
        self.clock += 60;
        let pos = self.events.len() as i64 + 1;
        let version = self.events.iter().filter(|e| e.stream_id == stream).count() as u64 + 1;
        self.events.push(StoredEvent {
            global_position: pos,
            transaction_id: 0,
            stream_id: stream,
            version,
            event_id: Uuid::from_u128(pos as u128),
            event_type,
            schema_version: sv,
            payload,
            metadata: EventMetadata {
                actor: Actor::system("test"),
                command_id: Uuid::from_u128(1000 + pos as u128),
                correlation_id: Uuid::nil(),
                causation_id: None,
                recorded_at: instant(self.clock),
                business_date: date(on),
                backfilled_by: None,
            },
        });
    }

    fn push(&mut self, platform: &str, on: &str, event: PlatformEvent) {
        let (t, sv, payload) = encode(&event);
        self.push_raw(format!("platform-{platform}"), on, t, sv, payload);
    }

    fn push_set(&mut self, id: &str, on: &str, event: TargetSetEvent) {
        let (t, sv, payload) = encode(&event);
        self.push_raw(format!("targetset-{id}"), on, t, sv, payload);
    }

    /// The recorded time of the last event.
    fn now(&self) -> DateTime<Utc> {
        instant(self.clock)
    }

    /// Submits and lists a platform of `province` with `domains` on `listed_on`.
    fn listed(&mut self, platform: &str, province: &str, domains: &[&str], listed_on: &str) {
        let n = self.events.len();
        let uscc = uscc_with_check(&format!("91{province}0100{:09}", 100_000 + n));
        let city = format!("{province}0100");
        let form = serde_json::from_value(form_json(&uscc, province, &city, domains)).unwrap();
        self.push(
            platform,
            "2025-07-01",
            PlatformEvent::ApplicationSubmitted {
                round_id: "2025".into(),
                cycle: 1,
                submitted_on: date("2025-07-01"),
                form,
            },
        );
        self.push(
            platform,
            listed_on,
            PlatformEvent::PlatformListed {
                listed_on: date(listed_on),
            },
        );
    }

    fn delisted(&mut self, platform: &str, on: &str) {
        self.push(
            platform,
            on,
            PlatformEvent::PlatformDelisted {
                delisted_on: date(on),
                reason: DelistReason::ReviewFailed,
                area: None,
                cause: None,
                details: None,
            },
        );
    }

    fn service(&mut self, platform: &str, dated: &str, record: ServiceRecord) -> Uuid {
        let id = Uuid::from_u128(7_000_000 + self.events.len() as u128);
        self.push(
            platform,
            dated,
            PlatformEvent::ServiceRecorded {
                service_id: id,
                dated: date(dated),
                record,
            },
        );
        id
    }

    fn served(&mut self, platform: &str, dated: &str, enterprise: &Uscc) -> Uuid {
        self.service(
            platform,
            dated,
            ServiceRecord::EnterpriseServed {
                enterprise_uscc: enterprise.clone(),
                enterprise_name: "受服务企业".into(),
                contract_cny: Cny(100_000),
            },
        )
    }

    fn product(&mut self, platform: &str, dated: &str, owner: &Uscc, name: &str) -> Uuid {
        self.service(
            platform,
            dated,
            ServiceRecord::ProductIncubated {
                product_name: name.into(),
                owner_uscc: owner.clone(),
                domain: Domain::Enzymes,
            },
        )
    }

    fn retract(&mut self, platform: &str, on: &str, service_id: Uuid) {
        self.push(
            platform,
            on,
            PlatformEvent::ServiceRetracted {
                service_id,
                reason: "重复上报".into(),
            },
        );
    }

    /// Folds the log through the read model in batches of `batch`, as the stores do.
    fn fold(&self, batch: usize) -> (Vec<KpiDoc>, Vec<TargetSetDoc>) {
        let model = crate::models::kpi::model();
        let mut docs: BTreeMap<String, Option<Value>> = BTreeMap::new();
        for chunk in self.events.chunks(batch.max(1)) {
            let dead = model.apply_all(chunk, &mut docs);
            assert!(dead.is_empty(), "{dead:?}");
        }
        crate::models::kpi::assemble(docs.into_iter().map(|(k, v)| (k, v.unwrap()))).unwrap()
    }

    fn report(&self, as_of: &str, known_at: Option<DateTime<Utc>>) -> kpi::KpiReport {
        let (docs, sets) = self.fold(7);
        kpi::report(
            &docs,
            &sets,
            Axes::new(date(as_of), known_at),
            &ReportOptions::default(),
        )
    }

    fn value(&self, m: Metric, as_of: &str) -> u64 {
        value(&self.report(as_of, None), m)
    }
}

fn value(r: &kpi::KpiReport, m: Metric) -> u64 {
    r.values.iter().find(|v| v.metric == m).unwrap().value
}

fn national(r: &kpi::KpiReport, m: Metric) -> &kpi::TargetProgress {
    r.targets
        .iter()
        .find(|t| t.target_set_id == "national-2027" && t.metric == m)
        .unwrap()
}

fn enterprise(n: usize) -> Uscc {
    Uscc::parse(&uscc_with_check(&format!("91440300{:09}", 300_000_000 + n))).unwrap()
}

#[test]
fn k1_counts_from_the_listing_day_and_not_on_the_delisting_day() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    log.listed("b", "32", &["chemicals"], "2025-12-01");
    log.delisted("b", "2026-06-30");
    assert_eq!(log.value(Metric::ListedPlatforms, "2025-11-30"), 0);
    assert_eq!(log.value(Metric::ListedPlatforms, "2025-12-01"), 2);
    assert_eq!(log.value(Metric::ListedPlatforms, "2026-06-29"), 2);
    assert_eq!(log.value(Metric::ListedPlatforms, "2026-06-30"), 1);
}

#[test]
fn k1_an_open_review_keeps_the_platform_listed() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    log.push(
        "a",
        "2026-03-01",
        PlatformEvent::ReviewOpened {
            review_id: "r1".into(),
            trigger: roster_domain::commands::ReviewTrigger::AdHoc,
            due_on: date("2026-06-01"),
        },
    );
    assert_eq!(log.value(Metric::ListedPlatforms, "2026-04-01"), 1);
}

#[test]
fn k1_twenty_platforms_meet_the_target_nineteen_do_not() {
    let mut log = Log::default();
    for i in 0..20 {
        let on = if i < 19 { "2025-12-01" } else { "2026-05-01" };
        log.listed(&format!("p{i}"), "44", &["enzymes"], on);
    }
    let before = log.report("2026-04-30", None);
    assert_eq!(value(&before, Metric::ListedPlatforms), 19);
    assert!(!national(&before, Metric::ListedPlatforms).met);
    assert_eq!(national(&before, Metric::ListedPlatforms).gap, 1);
    let after = log.report("2026-05-01", None);
    assert!(national(&after, Metric::ListedPlatforms).met);
    assert_eq!(national(&after, Metric::ListedPlatforms).gap, 0);
}

#[test]
fn k2_200_enterprises_do_not_meet_more_than_200_and_201_do() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    for n in 0..200 {
        log.served("a", "2026-03-01", &enterprise(n));
    }
    log.served("a", "2026-03-02", &enterprise(200));
    let at200 = log.report("2026-03-01", None);
    assert_eq!(value(&at200, Metric::ServedEnterprises), 200);
    let t = national(&at200, Metric::ServedEnterprises);
    assert_eq!((t.comparator, t.threshold), (">", 200));
    assert!(!t.met, "200 is not more than 200");
    assert_eq!(t.gap, 1);
    let at201 = log.report("2026-03-02", None);
    assert_eq!(value(&at201, Metric::ServedEnterprises), 201);
    assert!(national(&at201, Metric::ServedEnterprises).met);
    assert_eq!(national(&at201, Metric::ServedEnterprises).gap, 0);
}

#[test]
fn k2_the_same_enterprise_served_by_three_platforms_counts_once() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    log.listed("b", "32", &["chemicals"], "2025-12-01");
    log.listed("c", "36", &["biopharma", "enzymes"], "2025-12-01");
    let e = enterprise(1);
    log.served("a", "2026-01-05", &e);
    log.served("b", "2026-02-05", &e);
    log.served("c", "2026-03-05", &e);
    log.served("c", "2026-03-06", &e);
    let r = log.report("2026-06-30", None);
    assert_eq!(value(&r, Metric::ServedEnterprises), 1);
    // Each province counts it once; the total deduplicates.
    let by: BTreeMap<&str, u64> = r
        .by_province
        .iter()
        .map(|row| (row.key.as_str(), row.counts.served_enterprises))
        .collect();
    assert_eq!(by["44"], 1);
    assert_eq!(by["32"], 1);
    assert_eq!(by["36"], 1);
    assert_eq!(by["total"], 1);
    // It counts from its first qualifying date.
    assert_eq!(log.value(Metric::ServedEnterprises, "2026-01-04"), 0);
    assert_eq!(log.value(Metric::ServedEnterprises, "2026-01-05"), 1);
}

#[test]
fn k2_a_service_dated_the_day_before_listing_or_on_the_delisting_day_does_not_count() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    // Recorded once listed, but dated before the listing: outside the listed period.
    log.served("a", "2025-11-30", &enterprise(1));
    log.served("a", "2025-12-01", &enterprise(2));
    log.served("a", "2026-06-29", &enterprise(3));
    log.served("a", "2026-06-30", &enterprise(4));
    log.delisted("a", "2026-06-30");
    assert_eq!(log.value(Metric::ServedEnterprises, "2025-12-01"), 1);
    assert_eq!(log.value(Metric::ServedEnterprises, "2026-06-29"), 2);
    assert_eq!(log.value(Metric::ServedEnterprises, "2026-12-31"), 2);
}

#[test]
fn k2_a_retraction_after_the_as_of_date_repairs_every_as_of_date() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    let wrong = log.served("a", "2026-01-10", &enterprise(1));
    log.served("a", "2026-01-11", &enterprise(2));
    let published_at = log.now();
    assert_eq!(log.value(Metric::ServedEnterprises, "2026-01-31"), 2);
    log.retract("a", "2026-09-01", wrong);
    // As of January, the retracted record no longer counts, though retracted in September.
    assert_eq!(log.value(Metric::ServedEnterprises, "2026-01-31"), 1);
    assert_eq!(log.value(Metric::ServedEnterprises, "2026-01-10"), 0);
    // As known at the publication time, the January figure is reproduced exactly.
    let then = log.report("2026-01-31", Some(published_at));
    assert_eq!(value(&then, Metric::ServedEnterprises), 2);
    assert_eq!(then.known_at, Some(published_at));
}

#[test]
fn k3_the_same_product_from_two_platforms_in_other_width_and_case_counts_once() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    log.listed("b", "32", &["chemicals"], "2025-12-01");
    let owner = enterprise(9);
    log.product("a", "2026-02-01", &owner, "PHA 可降解材料");
    log.product("b", "2026-02-02", &owner, " ｐｈａ　可降解材料 ");
    // Same name, another owner: another product.
    log.product("b", "2026-02-03", &enterprise(10), "PHA 可降解材料");
    assert_eq!(log.value(Metric::IncubatedProducts, "2026-02-02"), 1);
    assert_eq!(log.value(Metric::IncubatedProducts, "2026-02-03"), 2);
}

#[test]
fn k3_400_products_meet_the_target_399_do_not() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    let owner = enterprise(1);
    for n in 0..400 {
        let dated = if n < 399 { "2026-05-01" } else { "2026-05-02" };
        log.product("a", dated, &owner, &format!("产品{n}"));
    }
    let r = log.report("2026-05-01", None);
    assert_eq!(value(&r, Metric::IncubatedProducts), 399);
    assert!(!national(&r, Metric::IncubatedProducts).met);
    assert!(national(&log.report("2026-05-02", None), Metric::IncubatedProducts).met);
}

#[test]
fn k4_counts_records_by_the_same_rules() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    let industrialized = |p: &str| ServiceRecord::ProjectIndustrialized {
        project: p.into(),
        revenue_cny: Cny(5_000_000),
    };
    log.service("a", "2025-11-30", industrialized("早于入库"));
    log.service("a", "2026-02-01", industrialized("A"));
    let b = log.service("a", "2026-02-02", industrialized("B"));
    log.service(
        "a",
        "2026-02-03",
        ServiceRecord::EnterpriseSpunOff {
            enterprise_uscc: enterprise(3),
            enterprise_name: "衍生企业".into(),
            valuation_cny: Cny(30_000_000),
        },
    );
    log.retract("a", "2026-03-01", b);
    assert_eq!(log.value(Metric::IndustrializedResults, "2026-12-31"), 1);
    assert_eq!(log.value(Metric::SpunOffEnterprises, "2026-02-02"), 0);
    assert_eq!(log.value(Metric::SpunOffEnterprises, "2026-02-03"), 1);
}

#[test]
fn known_at_ignores_listings_delistings_and_services_recorded_later() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    log.served("a", "2026-01-10", &enterprise(1));
    let t = log.now();
    log.served("a", "2026-01-05", &enterprise(2)); // backdated, recorded after T
    log.listed("b", "32", &["chemicals"], "2025-12-01");
    log.delisted("a", "2026-01-20");
    let now = log.report("2026-01-31", None);
    assert_eq!(value(&now, Metric::ListedPlatforms), 1);
    assert_eq!(value(&now, Metric::ServedEnterprises), 2);
    let then = log.report("2026-01-31", Some(t));
    assert_eq!(
        value(&then, Metric::ListedPlatforms),
        1,
        "only a, not yet delisted"
    );
    assert_eq!(value(&then, Metric::ServedEnterprises), 1);
    assert_eq!(
        then.by_province
            .iter()
            .map(|r| r.key.as_str())
            .collect::<Vec<_>>(),
        ["44", "total"]
    );
}

#[test]
fn breakdowns_count_a_multi_domain_platform_in_each_domain_and_totals_deduplicate() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes", "biopharma"], "2025-12-01");
    log.listed("b", "44", &["enzymes"], "2025-12-01");
    log.served("a", "2026-01-10", &enterprise(1));
    log.served("b", "2026-01-11", &enterprise(1));
    log.served("b", "2026-01-12", &enterprise(2));
    let r = log.report("2026-06-30", None);
    let by: BTreeMap<&str, (u64, u64)> = r
        .by_domain
        .iter()
        .map(|row| {
            (
                row.key.as_str(),
                (row.counts.listed_platforms, row.counts.served_enterprises),
            )
        })
        .collect();
    assert_eq!(by["enzymes"], (2, 2));
    assert_eq!(by["biopharma"], (1, 1));
    assert_eq!(by["total"], (2, 2));
    let kinds: Vec<&str> = r.by_applicant_kind.iter().map(|k| k.key.as_str()).collect();
    assert_eq!(kinds, ["private", "total"]);
}

#[test]
fn the_forecast_runs_the_trailing_twelve_months_to_the_deadline() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-01-01");
    // 10 enterprises in 2025, then 5 a month through 2026.
    for n in 0..10 {
        log.served("a", "2025-06-01", &enterprise(n));
    }
    let mut n = 10;
    for month in 1..=12 {
        for _ in 0..5 {
            log.served("a", &format!("2026-{month:02}-15"), &enterprise(n));
            n += 1;
        }
    }
    let r = log.report("2026-12-31", None);
    let t = national(&r, Metric::ServedEnterprises);
    assert_eq!(t.value, 70);
    assert_eq!(t.rate_window_from, Some(date("2026-01-01")));
    assert_eq!(t.rate_per_month, 5.0);
    // 70 + 5 × 12 = 130 by 2027-12-31: not more than 200, so behind; needs 131/12 a month.
    assert_eq!(t.forecast_at_deadline, 130.0);
    assert!(!t.forecast_met);
    assert_eq!(t.status, "behind");
    assert_eq!(t.required_per_month, Some(10.9));
    // Monthly series from the first listing's month to D.
    assert_eq!(r.monthly.first().unwrap().month, "2025-01");
    assert_eq!(r.monthly.len(), 24);
    let june = r.monthly.iter().find(|m| m.month == "2026-06").unwrap();
    assert_eq!(
        (june.as_of, june.counts.served_enterprises),
        (date("2026-06-30"), 40)
    );
}

#[test]
fn the_forecast_uses_the_time_since_the_first_listing_when_shorter() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2026-10-01");
    for n in 0..30 {
        log.served("a", "2026-10-20", &enterprise(n));
    }
    let r = log.report("2026-12-31", None);
    let t = national(&r, Metric::ServedEnterprises);
    assert_eq!(t.rate_window_from, Some(date("2026-10-01")));
    // 30 over 92 days (about 3.02 months).
    assert_eq!(t.rate_per_month, 9.9);
    // Before any listing there is no rate.
    let early = log.report("2026-09-30", None);
    let t = national(&early, Metric::ServedEnterprises);
    assert_eq!((t.rate_per_month, t.rate_window_from), (0.0, None));
    assert_eq!(t.status, "behind");
}

#[test]
fn a_passed_deadline_unmet_is_missed_and_needs_no_rate() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    let r = log.report("2028-01-01", None);
    let t = national(&r, Metric::ListedPlatforms);
    assert_eq!((t.status, t.required_per_month), ("missed", None));
}

#[test]
fn analysts_target_sets_filter_by_province_and_follow_the_known_at_axis() {
    let mut log = Log::default();
    log.listed("a", "36", &["enzymes"], "2025-12-01");
    log.listed("b", "44", &["enzymes"], "2025-12-01");
    log.served("a", "2026-01-10", &enterprise(1));
    log.served("b", "2026-01-10", &enterprise(2));
    let before = log.now();
    let target = Target {
        metric: Metric::ServedEnterprises,
        province: Province::parse("36"),
        domain: None,
        applicant_kind: None,
        comparator: Comparator::Ge,
        threshold: 30,
        deadline: date("2027-12-31"),
        label: None,
    };
    log.push_set(
        "jiangxi-2027",
        "2026-02-01",
        TargetSetEvent::TargetSetDefined {
            name: "江西省2027".into(),
            description: None,
            targets: vec![target.clone()],
            revision: 1,
        },
    );
    let r = log.report("2026-06-30", None);
    let jx = r
        .targets
        .iter()
        .find(|t| t.target_set_id == "jiangxi-2027")
        .unwrap();
    assert_eq!(
        (jx.value, jx.gap, jx.scope.as_str()),
        (1, 29, "province=36")
    );
    assert!(!log
        .report("2026-06-30", Some(before))
        .targets
        .iter()
        .any(|t| t.target_set_id == "jiangxi-2027"));
    log.push_set(
        "jiangxi-2027",
        "2026-07-01",
        TargetSetEvent::TargetSetRetired {
            reason: "superseded".into(),
        },
    );
    assert_eq!(log.report("2026-07-31", None).target_sets.len(), 1);

    // Defined again later: as known between the retirement and the new definition the set was
    // retired, as known after it the new revision is in force.
    let retired = log.now();
    log.push_set(
        "jiangxi-2027",
        "2026-08-01",
        TargetSetEvent::TargetSetDefined {
            name: "江西省2027（修订）".into(),
            description: None,
            targets: vec![target],
            revision: 2,
        },
    );
    let between = log.report("2026-08-31", Some(retired));
    assert!(
        !between
            .target_sets
            .iter()
            .any(|s| s.target_set_id == "jiangxi-2027"),
        "as known before it was defined again, the set is retired"
    );
    let now = log.report("2026-08-31", None);
    let set = now
        .target_sets
        .iter()
        .find(|s| s.target_set_id == "jiangxi-2027")
        .expect("in force again");
    assert_eq!((set.revision, set.name.as_str()), (2, "江西省2027（修订）"));
}

#[test]
fn the_funnel_counts_stages_reached_by_d_and_recorded_by_t() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    let t = log.now();
    log.listed("b", "32", &["chemicals"], "2025-12-02");
    let r = log.report("2025-12-01", None);
    let total = r.funnel.iter().find(|f| f.province == "total").unwrap();
    assert_eq!((total.submitted, total.listed), (2, 1));
    let then = log.report("2025-12-31", Some(t));
    let total = then.funnel.iter().find(|f| f.province == "total").unwrap();
    assert_eq!((total.submitted, total.listed), (1, 1));
}

#[test]
fn batch_boundaries_do_not_change_the_documents() {
    let mut log = Log::default();
    log.listed("a", "44", &["enzymes"], "2025-12-01");
    let s = log.served("a", "2026-01-10", &enterprise(1));
    log.retract("a", "2026-01-11", s);
    log.delisted("a", "2026-06-30");
    assert_eq!(log.fold(1), log.fold(1000));
}

#[test]
fn report_dates_are_plain_business_dates() {
    let r = Log::default().report("2026-01-01", None);
    assert_eq!(r.as_of, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
    assert!(r.monthly.is_empty());
    assert_eq!(value(&r, Metric::ListedPlatforms), 0);
}
