//! The roster as the public reads it (RULES.md §13): the platforms on the roster at a date, by
//! batch, with 序号, unit, platform, domains, province, star rating and listing date, and
//! nothing else (no code, no status history, no review, no incident).
//!
//! A batch (批次) is the round the platform was listed from, numbered by the first listing day
//! of the round (the 2025 round's list of December 2025 is 第一批). 序号 runs from 1 within the
//! batch in the order of the published lists: by province in the order of GB/T 2260, then by
//! unit and platform name. It is given before any search or filter, so a platform keeps its 序号
//! whatever the reader looks for.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use roster_domain::values::{Domain, Province};
use serde::Serialize;

use crate::models::roster::RosterDoc;

/// What the public asks of the roster.
#[derive(Debug, Clone, Default)]
pub struct PublicQuery {
    /// The roster as it stood at the end of this day (default today).
    pub as_of: Option<NaiveDate>,
    /// Words in the unit's or the platform's name (all of them, any case).
    pub search: Option<String>,
    pub province: Option<Province>,
    pub domain: Option<Domain>,
    /// A batch number (1 = 第一批).
    pub batch: Option<u32>,
}

/// A line of the published roster.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicEntry {
    /// The batch number, from 1.
    pub batch: u32,
    /// Its name, e.g. 第一批.
    pub batch_name: String,
    /// 序号 within the batch, from 1.
    pub serial: u32,
    pub platform_id: String,
    /// 平台名称.
    pub platform_name: String,
    /// 依托单位.
    pub unit_name: String,
    /// 申报类别, codes.
    #[schema(value_type = Vec<String>)]
    pub domains: Vec<Domain>,
    /// The same, by their Chinese names.
    pub domain_names: Vec<String>,
    /// The province code (GB/T 2260) or `XPCC`.
    pub province: String,
    pub province_name: String,
    /// The first day of the listed period in force.
    pub listed_on: NaiveDate,
    /// The star rating in force (D-8), and the year it rates.
    pub stars: Option<u8>,
    pub stars_year: Option<i32>,
}

/// 第一批, 第二批 … (up to 99; beyond, 第100批).
pub fn batch_name_zh(n: u32) -> String {
    const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let number = match n {
        0..=9 => DIGITS[n as usize].to_string(),
        10..=19 => format!(
            "十{}",
            if n == 10 {
                ""
            } else {
                DIGITS[(n - 10) as usize]
            }
        ),
        20..=99 => format!(
            "{}十{}",
            DIGITS[(n / 10) as usize],
            if n % 10 == 0 {
                ""
            } else {
                DIGITS[(n % 10) as usize]
            }
        ),
        _ => n.to_string(),
    };
    format!("第{number}批")
}

fn province_rank(code: &str) -> usize {
    Province::all()
        .position(|p| p.code() == code)
        .unwrap_or(usize::MAX)
}

/// The batch of every round that has listed a platform, by the round's first listing day.
fn batches(docs: &[RosterDoc]) -> BTreeMap<String, u32> {
    let mut first: BTreeMap<String, NaiveDate> = BTreeMap::new();
    for d in docs {
        let (Some(round), Some(p)) = (&d.round_id, d.listed_periods.first()) else {
            continue;
        };
        let e = first.entry(round.clone()).or_insert(p.from);
        *e = (*e).min(p.from);
    }
    let mut rounds: Vec<(NaiveDate, String)> = first.into_iter().map(|(r, d)| (d, r)).collect();
    rounds.sort();
    rounds
        .into_iter()
        .enumerate()
        .map(|(n, (_, r))| (r, n as u32 + 1))
        .collect()
}

/// The roster as published at the query's date, in batch and 序号 order.
pub fn roster(docs: &[RosterDoc], q: &PublicQuery, today: NaiveDate) -> Vec<PublicEntry> {
    let d = q.as_of.unwrap_or(today);
    let batch_of = batches(docs);
    let mut rows: Vec<PublicEntry> = docs
        .iter()
        .filter(|doc| doc.listed_at(d))
        .filter_map(|doc| {
            let period = doc.period_at(d)?;
            let stars = doc.stars_at(d);
            Some(PublicEntry {
                batch: doc
                    .round_id
                    .as_ref()
                    .and_then(|r| batch_of.get(r).copied())
                    .unwrap_or(0),
                batch_name: String::new(),
                serial: 0,
                platform_id: doc.platform_id.clone(),
                platform_name: doc.platform_name.clone(),
                unit_name: doc.applicant_name.clone(),
                domains: doc.domains.clone(),
                domain_names: doc
                    .domains
                    .iter()
                    .map(|x| x.name_zh().to_string())
                    .collect(),
                province: doc.province.clone(),
                province_name: Province::parse(&doc.province)
                    .map(|p| p.name_zh())
                    .unwrap_or_default()
                    .to_string(),
                listed_on: period.from,
                stars: stars.map(|r| r.stars),
                stars_year: stars.map(|r| r.year),
            })
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            a.batch,
            province_rank(&a.province),
            &a.unit_name,
            &a.platform_name,
            &a.platform_id,
        )
            .cmp(&(
                b.batch,
                province_rank(&b.province),
                &b.unit_name,
                &b.platform_name,
                &b.platform_id,
            ))
    });
    let mut serial = 0;
    let mut batch = None;
    for r in &mut rows {
        if batch != Some(r.batch) {
            batch = Some(r.batch);
            serial = 0;
        }
        serial += 1;
        r.serial = serial;
        r.batch_name = batch_name_zh(r.batch);
    }
    let words: Vec<String> = q
        .search
        .as_deref()
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    rows.retain(|r| {
        let text = format!("{} {}", r.unit_name, r.platform_name).to_lowercase();
        words.iter().all(|w| text.contains(w.as_str()))
            && q.province.is_none_or(|p| p.code() == r.province)
            && q.domain.is_none_or(|dm| r.domains.contains(&dm))
            && q.batch.is_none_or(|b| b == r.batch)
    });
    rows
}

/// A listed platform as the public reads it (RULES.md §13): its line of the roster, and from
/// its application form what an enterprise looking for pilot services needs — domains, scale,
/// equipment, main business, contact. Eligibility, evidence, staffing, finances, reviews and
/// incidents are not public.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicProfile {
    #[serde(flatten)]
    pub entry: PublicEntry,
    /// Star ratings by year (D-8), known at the date.
    pub star_ratings: Vec<PublicRating>,
    /// 平台主营业务范围.
    pub main_business: Option<String>,
    /// 平台运行时间, years.
    pub years_in_operation: Option<u32>,
    /// 用房面积, m².
    pub site_area_m2: Option<f64>,
    /// Fermentation, enzyme-catalysis and parallel bioreactor vessels.
    pub vessels: Vec<PublicVessel>,
    /// Purification, testing and other instruments, and digital software, by name.
    pub instruments: Vec<PublicInstrument>,
    /// 通讯地址.
    pub address: Option<String>,
    /// The contact the unit gave (name, phone, e-mail).
    pub contact: Option<PublicContact>,
    /// The pilot services it offers (codes), as it last stated them …
    #[schema(value_type = Vec<String>)]
    pub services: Vec<roster_domain::commands::PilotService>,
    /// … by their Chinese names …
    pub service_names: Vec<String>,
    /// … in its own words, whether it takes orders now, and since when.
    pub service_description: Option<String>,
    pub accepting_orders: Option<bool>,
    pub offer_updated_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicRating {
    pub year: i32,
    pub stars: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicVessel {
    /// `fermentation`, `enzyme_catalysis` or `parallel_bioreactor`.
    pub kind: String,
    pub kind_name: String,
    pub name: String,
    /// Single-tank working volume, litres.
    pub volume_l: f64,
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicInstrument {
    /// `purification`, `testing`, `other` or `software`.
    pub group: String,
    pub name: String,
    pub brand: Option<String>,
    pub model: Option<String>,
    pub count: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicContact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// The public profile of the roster line `entry`, from the platform's (amended) application
/// form, with the ratings known at `d`.
pub fn profile(
    entry: PublicEntry,
    doc: &RosterDoc,
    form: Option<&roster_domain::form::ApplicationForm>,
    offer: Option<&roster_domain::platform::ServiceOffer>,
    d: NaiveDate,
) -> PublicProfile {
    let offer = offer.filter(|o| o.updated_on <= d);
    let services = offer.map(|o| o.services.clone()).unwrap_or_default();
    let service_names = services.iter().map(|s| s.name_zh().to_string()).collect();
    let service_description = offer.and_then(|o| o.description.clone());
    let accepting_orders = offer.map(|o| o.accepting_orders);
    let offer_updated_on = offer.map(|o| o.updated_on);
    let star_ratings = doc
        .star_ratings
        .iter()
        .filter(|r| r.on <= d)
        .map(|r| PublicRating {
            year: r.year,
            stars: r.stars,
        })
        .collect();
    let Some(f) = form else {
        return PublicProfile {
            entry,
            star_ratings,
            main_business: None,
            years_in_operation: None,
            site_area_m2: None,
            vessels: vec![],
            instruments: vec![],
            address: None,
            contact: None,
            services,
            service_names,
            service_description,
            accepting_orders,
            offer_updated_on,
        };
    };
    let vessels = f
        .equipment
        .vessels
        .iter()
        .filter(|v| v.count > 0)
        .map(|v| PublicVessel {
            kind: serde_json::to_value(v.kind)
                .ok()
                .and_then(|k| k.as_str().map(String::from))
                .unwrap_or_default(),
            kind_name: v.kind.name_zh().to_string(),
            name: v.name.clone(),
            volume_l: v.volume_l.0,
            count: v.count,
        })
        .collect();
    let mut instruments = Vec::new();
    for (group, list) in [
        ("purification", &f.equipment.purification),
        ("testing", &f.equipment.testing),
        ("other", &f.equipment.other),
    ] {
        instruments.extend(list.iter().map(|i| PublicInstrument {
            group: group.into(),
            name: i.name.clone(),
            brand: i.brand.clone(),
            model: i.model.clone(),
            count: i.count,
        }));
    }
    instruments.extend(f.equipment.software.iter().map(|s| PublicInstrument {
        group: "software".into(),
        name: s.name.clone(),
        brand: None,
        model: s.version.clone(),
        count: None,
    }));
    PublicProfile {
        entry,
        star_ratings,
        main_business: f.platform.main_business.clone(),
        years_in_operation: f.platform.years_in_operation,
        site_area_m2: f.site.as_ref().and_then(|s| s.area_m2).map(|a| a.0),
        vessels,
        instruments,
        address: f.applicant.address.clone(),
        contact: f.applicant.contact.as_ref().map(|c| PublicContact {
            name: c.name.clone(),
            phone: c.phone.clone(),
            email: c.email.clone(),
        }),
        services,
        service_names,
        service_description,
        accepting_orders,
        offer_updated_on,
    }
}

/// What an enterprise looks for in the directory of pilot services (中试供需对接, RULES.md
/// §13): listed platforms by domain, province, equipment and services.
#[derive(Debug, Clone, Default)]
pub struct DirectoryQuery {
    pub domain: Option<Domain>,
    pub province: Option<Province>,
    /// A vessel of this kind (`fermentation`, `enzyme_catalysis`, `parallel_bioreactor`) …
    pub vessel_kind: Option<String>,
    /// … with a single-tank working volume of at least this many litres.
    pub min_vessel_l: Option<f64>,
    /// Words found in the main business, the services, the instruments and software, the unit
    /// or the platform name (all of them, any case).
    pub search: Option<String>,
    /// A pilot service the platform offers.
    pub service: Option<roster_domain::commands::PilotService>,
}

/// Whether a profile answers the directory query.
pub fn matches(p: &PublicProfile, q: &DirectoryQuery) -> bool {
    let vessel_ok = match (q.vessel_kind.as_deref(), q.min_vessel_l) {
        (None, None) => true,
        (kind, min) => p.vessels.iter().any(|v| {
            kind.is_none_or(|k| v.kind == k) && min.is_none_or(|m| v.volume_l >= m) && v.count > 0
        }),
    };
    let text = [
        p.entry.unit_name.as_str(),
        p.entry.platform_name.as_str(),
        p.main_business.as_deref().unwrap_or_default(),
        p.service_description.as_deref().unwrap_or_default(),
    ]
    .into_iter()
    .chain(p.service_names.iter().map(String::as_str))
    .chain(p.instruments.iter().map(|i| i.name.as_str()))
    .chain(p.vessels.iter().map(|v| v.name.as_str()))
    .collect::<Vec<_>>()
    .join(" ")
    .to_lowercase();
    vessel_ok
        && q.domain.is_none_or(|d| p.entry.domains.contains(&d))
        && q.province.is_none_or(|pr| pr.code() == p.entry.province)
        && q.service.is_none_or(|s| p.services.contains(&s))
        && q.search
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .all(|w| text.contains(&w.to_lowercase()))
}

/// Whether a need reaches this listed platform (RULES.md §13): listed in the need's domain and
/// in its province (when it names them), with a vessel of any kind at least as large as the
/// need asks, offering every service the need names, and not stating that it takes no orders.
pub fn matches_need(p: &PublicProfile, need: &roster_domain::commands::Need) -> bool {
    let q = DirectoryQuery {
        domain: need.domain,
        province: need.province,
        min_vessel_l: need.min_vessel_l.map(f64::from),
        ..Default::default()
    };
    matches(p, &q)
        && need.services.iter().all(|s| p.services.contains(s))
        && p.accepting_orders != Some(false)
}

/// A platform on public notice (公示): anyone may object until the last day.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NoticeEntry {
    pub platform_id: String,
    pub platform_name: String,
    pub unit_name: String,
    #[schema(value_type = Vec<String>)]
    pub domains: Vec<Domain>,
    pub domain_names: Vec<String>,
    pub province: String,
    pub province_name: String,
    /// First and last day of the notice, both included.
    pub from: NaiveDate,
    pub until: NaiveDate,
}

/// The line of the notice of `doc`, whose notice runs `from..=until`.
pub fn notice_entry(doc: &RosterDoc, from: NaiveDate, until: NaiveDate) -> NoticeEntry {
    NoticeEntry {
        platform_id: doc.platform_id.clone(),
        platform_name: doc.platform_name.clone(),
        unit_name: doc.applicant_name.clone(),
        domains: doc.domains.clone(),
        domain_names: doc
            .domains
            .iter()
            .map(|x| x.name_zh().to_string())
            .collect(),
        province: doc.province.clone(),
        province_name: Province::parse(&doc.province)
            .map(|p| p.name_zh())
            .unwrap_or_default()
            .to_string(),
        from,
        until,
    }
}

/// A change of the published roster, for the change feeds (Atom, JSON Feed): a platform listed
/// or delisted, a star rating given, a public notice started.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Change {
    /// Stable: `<platform>/<kind>/<date>` (a rating: `<platform>/stars/<year>/<date>`).
    pub id: String,
    /// `listed`, `delisted`, `stars` or `notice`.
    pub kind: String,
    /// The business date it took effect.
    pub on: NaiveDate,
    pub platform_id: String,
    pub platform_name: String,
    pub unit_name: String,
    pub province_name: String,
    /// One line in Chinese, e.g. 列入生物制造中试能力建设平台名单.
    pub title: String,
}

/// The changes of the public roster that took effect by `until`, newest first (ties by
/// platform and kind), at most `limit`.
pub fn changes(docs: &[RosterDoc], until: NaiveDate, limit: usize) -> Vec<Change> {
    let mut out = Vec::new();
    for d in docs {
        let province_name = Province::parse(&d.province)
            .map(|p| p.name_zh())
            .unwrap_or_default()
            .to_string();
        let mut push = |kind: &str, key: String, on: NaiveDate, title: String| {
            if on <= until {
                out.push(Change {
                    id: format!("{}/{key}", d.platform_id),
                    kind: kind.into(),
                    on,
                    platform_id: d.platform_id.clone(),
                    platform_name: d.platform_name.clone(),
                    unit_name: d.applicant_name.clone(),
                    province_name: province_name.clone(),
                    title,
                });
            }
        };
        for p in &d.listed_periods {
            push(
                "listed",
                format!("listed/{}", p.from),
                p.from,
                format!("{} 列入生物制造中试能力建设平台名单", d.platform_name),
            );
            if let Some(to) = p.to {
                push(
                    "delisted",
                    format!("delisted/{to}"),
                    to,
                    format!("{} 撤销生物制造中试能力建设平台称号", d.platform_name),
                );
            }
        }
        for r in &d.star_ratings {
            push(
                "stars",
                format!("stars/{}/{}", r.year, r.on),
                r.on,
                format!(
                    "{} {} 年度服务能力评价为 {} 星",
                    d.platform_name, r.year, r.stars
                ),
            );
        }
        for s in d
            .statuses
            .iter()
            .filter(|s| s.status == roster_domain::platform::Status::OnNotice)
        {
            push(
                "notice",
                format!("notice/{}", s.on),
                s.on,
                format!("{} 拟列入名单，开始公示", d.platform_name),
            );
        }
    }
    out.sort_by(|a, b| (b.on, &a.platform_id, &a.kind).cmp(&(a.on, &b.platform_id, &b.kind)));
    out.truncate(limit);
    out
}

/// The orders the public roster can be read in: `serial` (batch, then 序号; the default),
/// `listed_on`, `province`, `stars`, `unit`, `platform`; `-` before a key reverses it.
pub const SORT_KEYS: [&str; 6] = [
    "serial",
    "listed_on",
    "province",
    "stars",
    "unit",
    "platform",
];

/// Orders `rows` by `sort` (see `SORT_KEYS`); ties keep the published order. `Err` names the
/// keys there are.
pub fn sort(rows: &mut [PublicEntry], sort: &str) -> Result<(), String> {
    let (desc, key) = match sort.strip_prefix('-') {
        Some(k) => (true, k),
        None => (false, sort),
    };
    if !SORT_KEYS.contains(&key) {
        return Err(format!(
            "no sort key '{key}'; one of {} (prefix '-' to reverse)",
            SORT_KEYS.join(", ")
        ));
    }
    rows.sort_by(|a, b| {
        let o = match key {
            "listed_on" => a.listed_on.cmp(&b.listed_on),
            "province" => province_rank(&a.province).cmp(&province_rank(&b.province)),
            "stars" => a.stars.cmp(&b.stars),
            "unit" => a.unit_name.cmp(&b.unit_name),
            "platform" => a.platform_name.cmp(&b.platform_name),
            _ => std::cmp::Ordering::Equal,
        }
        .then((a.batch, a.serial).cmp(&(b.batch, b.serial)));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::roster::{ListedPeriod, StarRating, StatusChange};
    use roster_domain::platform::Status;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn doc(id: &str, unit: &str, province: &str, round: &str, listed: &str) -> RosterDoc {
        RosterDoc {
            platform_id: id.into(),
            platform_name: format!("{unit}中试平台"),
            applicant_name: unit.into(),
            uscc: "91440300MA5XXXXX0X".into(),
            province: province.into(),
            city: format!("{province}0100"),
            domains: vec![Domain::FoodAdditives],
            round_id: Some(round.into()),
            statuses: vec![StatusChange {
                on: day(listed),
                status: Status::Listed,
                position: 1,
            }],
            listed_periods: vec![ListedPeriod {
                from: day(listed),
                to: None,
                delist_reason: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn batches_are_numbered_by_first_listing_and_serials_follow_the_provinces() {
        let mut docs = vec![
            doc("p1", "乙公司", "44", "2025", "2025-12-01"),
            doc("p2", "甲公司", "11", "2025", "2025-12-01"),
            doc("p3", "丙公司", "32", "2027", "2027-12-01"),
            doc("p4", "丁公司", "44", "2025", "2025-12-01"),
        ];
        docs[0].star_ratings = vec![StarRating {
            year: 2026,
            stars: 4,
            on: day("2027-03-01"),
        }];
        let all = roster(&docs, &PublicQuery::default(), day("2028-01-01"));
        let got: Vec<(u32, u32, &str)> = all
            .iter()
            .map(|r| (r.batch, r.serial, r.platform_id.as_str()))
            .collect();
        // Beijing (11) before Guangdong (44); within Guangdong by unit name.
        assert_eq!(
            got,
            [(1, 1, "p2"), (1, 2, "p4"), (1, 3, "p1"), (2, 1, "p3")]
        );
        assert_eq!(all[0].batch_name, "第一批");
        assert_eq!(all[3].batch_name, "第二批");
        assert_eq!(all[2].stars, Some(4));

        // As of 2025-11-30 nobody is listed; as of 2025-12-01 the first batch is.
        assert!(roster(
            &docs,
            &PublicQuery {
                as_of: Some(day("2025-11-30")),
                ..Default::default()
            },
            day("2028-01-01")
        )
        .is_empty());
        let first = roster(
            &docs,
            &PublicQuery {
                as_of: Some(day("2025-12-01")),
                ..Default::default()
            },
            day("2028-01-01"),
        );
        assert_eq!(first.len(), 3);
        assert_eq!(first[2].stars, None, "the 2026 rating came in 2027");

        // A search keeps each platform's 序号.
        let found = roster(
            &docs,
            &PublicQuery {
                search: Some("乙".into()),
                ..Default::default()
            },
            day("2028-01-01"),
        );
        assert_eq!((found.len(), found[0].serial), (1, 3));
        let gd = roster(
            &docs,
            &PublicQuery {
                province: Province::parse("44"),
                batch: Some(1),
                ..Default::default()
            },
            day("2028-01-01"),
        );
        assert_eq!(gd.len(), 2);
    }

    #[test]
    fn a_delisted_platform_leaves_the_public_roster_on_its_delisting_day() {
        let mut d = doc("p1", "甲公司", "44", "2025", "2025-12-01");
        d.listed_periods[0].to = Some(day("2026-06-01"));
        let on = |s: &str| {
            roster(
                std::slice::from_ref(&d),
                &PublicQuery {
                    as_of: Some(day(s)),
                    ..Default::default()
                },
                day("2028-01-01"),
            )
            .len()
        };
        assert_eq!((on("2026-05-31"), on("2026-06-01")), (1, 0));
    }

    #[test]
    fn sorting_by_a_key_and_reversed_and_an_unknown_key_is_named() {
        let docs = vec![
            doc("p1", "乙公司", "44", "2025", "2025-12-01"),
            doc("p2", "甲公司", "11", "2025", "2025-12-03"),
        ];
        let mut rows = roster(&docs, &PublicQuery::default(), day("2026-01-01"));
        sort(&mut rows, "-listed_on").unwrap();
        assert_eq!(rows[0].platform_id, "p2");
        sort(&mut rows, "serial").unwrap();
        assert_eq!(rows[0].serial, 1);
        let e = sort(&mut rows, "uscc").unwrap_err();
        assert!(e.contains("listed_on"), "{e}");
    }

    #[test]
    fn the_directory_matches_a_vessel_of_a_kind_and_volume_and_a_domain() {
        let d = doc("p1", "甲公司", "44", "2025", "2025-12-01");
        let entry = roster(
            std::slice::from_ref(&d),
            &PublicQuery::default(),
            day("2026-01-01"),
        )
        .remove(0);
        let form: roster_domain::form::ApplicationForm =
            serde_json::from_value(roster_domain::samples::form_json(
                "91440300708461136T",
                "44",
                "440300",
                &["food_additives"],
            ))
            .unwrap();
        let offer = roster_domain::platform::ServiceOffer {
            services: vec![roster_domain::commands::PilotService::ScaleUp],
            description: Some("万升级发酵放大".into()),
            accepting_orders: true,
            updated_on: day("2025-12-10"),
        };
        let p = profile(entry, &d, Some(&form), Some(&offer), day("2026-01-01"));
        let scale_up = DirectoryQuery {
            service: Some(roster_domain::commands::PilotService::ScaleUp),
            search: Some("万升级".into()),
            ..Default::default()
        };
        assert!(matches(&p, &scale_up));
        let testing = DirectoryQuery {
            service: Some(roster_domain::commands::PilotService::AnalysisTesting),
            ..Default::default()
        };
        assert!(!matches(&p, &testing));
        let q = |kind: Option<&str>, min: Option<f64>, domain: Option<Domain>| DirectoryQuery {
            domain,
            vessel_kind: kind.map(String::from),
            min_vessel_l: min,
            ..Default::default()
        };
        // The sample has a 5000 L fermentation vessel and 5 L parallel bioreactors.
        assert!(matches(
            &p,
            &q(
                Some("fermentation"),
                Some(5000.0),
                Some(Domain::FoodAdditives)
            )
        ));
        assert!(!matches(&p, &q(Some("fermentation"), Some(5000.1), None)));
        assert!(!matches(
            &p,
            &q(Some("parallel_bioreactor"), Some(10.0), None)
        ));
        assert!(!matches(&p, &q(None, None, Some(Domain::Biopharma))));
        let words = DirectoryQuery {
            search: Some("液相色谱仪".into()),
            ..Default::default()
        };
        assert!(matches(&p, &words));
    }

    #[test]
    fn the_changes_name_listings_delistings_ratings_and_notices_newest_first() {
        let mut d = doc("p1", "甲公司", "44", "2025", "2025-12-01");
        d.statuses.insert(
            0,
            StatusChange {
                on: day("2025-11-20"),
                status: Status::OnNotice,
                position: 0,
            },
        );
        d.listed_periods[0].to = Some(day("2027-03-01"));
        d.star_ratings = vec![StarRating {
            year: 2026,
            stars: 4,
            on: day("2026-11-15"),
        }];
        let all = changes(std::slice::from_ref(&d), day("2030-01-01"), 100);
        let kinds: Vec<(&str, String)> = all
            .iter()
            .map(|c| (c.kind.as_str(), c.on.to_string()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("delisted", "2027-03-01".to_string()),
                ("stars", "2026-11-15".to_string()),
                ("listed", "2025-12-01".to_string()),
                ("notice", "2025-11-20".to_string()),
            ]
        );
        assert!(all[1].title.contains("4 星"));
        // As of a day, nothing after it; a limit keeps the newest.
        assert_eq!(
            changes(std::slice::from_ref(&d), day("2026-12-31"), 100).len(),
            3
        );
        assert_eq!(
            changes(std::slice::from_ref(&d), day("2030-01-01"), 1)[0].kind,
            "delisted"
        );
    }

    #[test]
    fn batch_names_in_chinese_numerals() {
        let names: Vec<String> = [1, 10, 11, 20, 43].into_iter().map(batch_name_zh).collect();
        assert_eq!(
            names,
            ["第一批", "第十批", "第十一批", "第二十批", "第四十三批"]
        );
    }
}
