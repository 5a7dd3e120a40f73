//! `roster demo`: an ILLUSTRATIVE national scenario with FICTIONAL units (示例/illustrative in
//! every name), loaded through the same command service as the API: the 2025 round, applications
//! from seven provincial authorities (Guangdong through its cities, XPCC among them), a sixth
//! Guangdong recommendation refused, a rejection for G-4, a single-domain warning,
//! expert evaluation, public notice, listing on 2025-12-01, services through 2026, a retraction,
//! a minor strain leak with its re-review, and 2026 star ratings; and the 2025 call of the
//! bioreactor open competition (notice 220) with illustrative tasks, consortia from seven
//! provinces, a refused sixth shortlisting (C-6), milestones (one overdue) and a success list.
//!
//! Command ids are derived from step labels, so loading the demo twice appends nothing new.

use anyhow::bail;
use chrono::{Days, NaiveDate};
use roster_app::App;
use roster_domain::actor::{Actor, Role};
use roster_domain::challenge;
use roster_domain::commands::*;
use roster_domain::form::ApplicationForm;
use roster_domain::incident::IncidentKind;
use roster_domain::request::{CommandRequest, Target};
use roster_domain::samples::{date, form_json, round_2025};
use roster_domain::store::EventStore;
use roster_domain::values::{Cny, Domain, Uscc};
use uuid::Uuid;

const NAMESPACE: Uuid = Uuid::from_u128(0x5f1c_0d3e_2025_4a11_9c5e_6d65_6d6f_2025);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    Listed,
    /// Site below 1500 m²: the province rejects (G-4).
    RejectedG4,
    /// The sixth Guangdong recommendation: refused.
    OverQuota,
    EvaluationFailed,
    Withdrawn,
}

struct Unit {
    platform_id: &'static str,
    city: &'static str,
    org: &'static str,
    name: &'static str,
    kind: &'static str,
    domains: &'static [&'static str],
    fate: Fate,
}

const UNITS: &[Unit] = &[
    Unit {
        platform_id: "gd-gz-biopharma",
        city: "440100",
        org: "MA0000011",
        name: "广州示例生物医药中试有限公司",
        kind: "private",
        domains: &["biopharma"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "gd-sz-synbio",
        city: "440300",
        org: "MA0000022",
        name: "深圳示例合成生物研究院",
        kind: "research_institute",
        domains: &["chemicals", "cosmetics"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "gd-fs-food",
        city: "440600",
        org: "MA0000033",
        name: "佛山示例食品配料中试基地",
        kind: "private",
        domains: &["food_additives"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "gd-dg-enzyme",
        city: "441900",
        org: "MA0000044",
        name: "东莞示例酶工程有限公司",
        kind: "private",
        domains: &["enzymes"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "gd-zh-marine",
        city: "440400",
        org: "MA0000055",
        name: "珠海示例海洋生物制造中心",
        kind: "state_owned",
        domains: &["food_additives", "biopharma"],
        fate: Fate::EvaluationFailed,
    },
    Unit {
        platform_id: "gd-jm-c1",
        city: "440700",
        org: "MA0000066",
        name: "江门示例一碳生物科技有限公司",
        kind: "private",
        domains: &["c1_feedstock"],
        fate: Fate::OverQuota,
    },
    Unit {
        platform_id: "gd-hz-energy",
        city: "441300",
        org: "MA0000077",
        name: "惠州示例生物能源有限公司",
        kind: "state_owned",
        domains: &["energy"],
        fate: Fate::Withdrawn,
    },
    Unit {
        platform_id: "js-nj-chem",
        city: "320100",
        org: "MA0000088",
        name: "南京示例生物化工中试平台有限公司",
        kind: "state_owned",
        domains: &["chemicals"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "js-sz-pharma",
        city: "320500",
        org: "MA0000099",
        name: "苏州示例生物药中试有限公司",
        kind: "private",
        domains: &["biopharma"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "js-zj-small",
        city: "321100",
        org: "MA00000A1",
        name: "镇江示例小型发酵有限公司",
        kind: "private",
        domains: &["food_additives"],
        fate: Fate::RejectedG4,
    },
    Unit {
        platform_id: "sd-jn-enzyme",
        city: "370100",
        org: "MA00000B2",
        name: "济南示例酶制剂有限公司",
        kind: "private",
        domains: &["enzymes"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "sd-qd-enzyme",
        city: "370200",
        org: "MA00000C3",
        name: "青岛示例海洋酶技术有限公司",
        kind: "private",
        domains: &["enzymes"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "hb-wh-ligno",
        city: "420100",
        org: "MA00000D4",
        name: "武汉示例木质纤维素研究院",
        kind: "research_institute",
        domains: &["lignocellulose"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "bj-hd-plant",
        city: "110108",
        org: "MA00000E5",
        name: "北京示例植物细胞工厂有限公司",
        kind: "university",
        domains: &["plant_chassis", "cosmetics"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "sh-pd-pharma",
        city: "310115",
        org: "MA00000F6",
        name: "上海示例生物制药中试有限公司",
        kind: "private",
        domains: &["biopharma"],
        fate: Fate::Listed,
    },
    Unit {
        platform_id: "xpcc-shz-c1",
        city: "659001",
        org: "MA00000G7",
        name: "石河子示例生物制造有限公司",
        kind: "state_owned",
        domains: &["c1_feedstock", "energy"],
        fate: Fate::Listed,
    },
];

pub struct Step {
    pub label: String,
    pub actor: Actor,
    pub request: CommandRequest,
    /// The refusal code this step is meant to show, if it is meant to be refused.
    pub expect_refusal: Option<&'static str>,
}

fn uscc(unit: &Unit) -> Uscc {
    Uscc::with_check_character(&format!("91{}{}", unit.city, unit.org)).expect("demo USCC")
}

fn province_of(city: &str) -> String {
    roster_domain::values::CityCode::parse(city)
        .expect("demo city")
        .province()
        .to_string()
}

fn actor(role: Role, jurisdiction: Option<String>) -> Actor {
    let id = match &jurisdiction {
        Some(j) => format!("demo-{role}-{j}"),
        None => format!("demo-{role}"),
    };
    Actor {
        id,
        role,
        jurisdiction,
    }
}

fn ministry() -> Actor {
    actor(Role::Ministry, None)
}

struct Builder {
    steps: Vec<Step>,
}

impl Builder {
    fn push(
        &mut self,
        label: String,
        who: Actor,
        on: NaiveDate,
        target: Target,
        expect_refusal: Option<&'static str>,
    ) {
        let request = CommandRequest {
            command_id: Uuid::new_v5(&NAMESPACE, label.as_bytes()),
            business_date: Some(on),
            expected_version: None,
            correlation_id: None,
            causation_id: None,
            target,
        };
        self.steps.push(Step {
            label,
            actor: who,
            request,
            expect_refusal,
        });
    }

    fn platform(
        &mut self,
        label: &str,
        unit: &Unit,
        who: Actor,
        on: NaiveDate,
        command: PlatformCommand,
    ) {
        self.push(
            format!("{}/{label}", unit.platform_id),
            who,
            on,
            Target::Platform {
                platform_id: unit.platform_id.into(),
                command,
            },
            None,
        );
    }
}

fn form(unit: &Unit) -> ApplicationForm {
    let mut v = form_json(
        uscc(unit).as_str(),
        &province_of(unit.city),
        unit.city,
        unit.domains,
    );
    v["applicant"]["name"] = unit.name.into();
    v["applicant"]["kind"] = unit.kind.into();
    v["platform"]["name"] = format!(
        "{}中试平台（示例 illustrative）",
        unit.name.trim_end_matches("有限公司")
    )
    .into();
    if unit.fate == Fate::RejectedG4 {
        v["site"]["area_m2"] = 1200.into();
    }
    // Scales differ from unit to unit (all above G-8's 1,000 L), so the directory of pilot
    // services has something to tell apart; each unit gives a contact for its services.
    let n = unit.name.chars().map(u32::from).sum::<u32>() as usize;
    let litres = [5000, 10000, 2000, 30000, 3000, 20000, 1500][n % 7];
    v["equipment"]["vessels"][0]["volume_l"] = litres.into();
    v["equipment"]["vessels"][0]["name"] = format!("{litres}L发酵罐").into();
    v["applicant"]["contact"] = serde_json::json!({
        "name": "中试服务部",
        "phone": format!("010-6{:07}", n % 10_000_000),
    });
    serde_json::from_value(v).expect("demo form")
}

/// Fictional served enterprises: a pool shared across platforms, so K-2 deduplicates.
fn enterprise(n: usize) -> (Uscc, String) {
    let city = ["440300", "320500", "370200", "110108", "310115"][n % 5];
    let u =
        Uscc::with_check_character(&format!("91{city}MA{:07}", 5000 + n)).expect("enterprise USCC");
    (u, format!("示例服务企业{n:02}有限公司"))
}

pub fn scenario() -> Vec<Step> {
    let mut b = Builder { steps: vec![] };
    b.push(
        "round/2025".into(),
        ministry(),
        date("2025-06-16"),
        Target::OpenRound {
            open_round: round_2025(),
        },
        None,
    );

    for (i, u) in UNITS.iter().enumerate() {
        let on = date("2025-06-20") + Days::new(i as u64);
        let who = actor(Role::Applicant, Some(uscc(u).to_string()));
        b.platform(
            "submit",
            u,
            who,
            on,
            PlatformCommand::SubmitApplication(SubmitApplication {
                round_id: "2025".into(),
                form: form(u),
            }),
        );
    }
    for u in UNITS.iter().filter(|u| u.fate == Fate::Withdrawn) {
        let who = actor(Role::Applicant, Some(uscc(u).to_string()));
        b.platform(
            "withdraw",
            u,
            who,
            date("2025-07-03"),
            PlatformCommand::WithdrawApplication(WithdrawApplication {
                reason: "扩建未完成，下一轮再申报".into(),
            }),
        );
    }
    for u in UNITS
        .iter()
        .filter(|u| u.city.starts_with("44") && u.fate != Fate::Withdrawn)
    {
        let who = actor(Role::City, Some(u.city.to_string()));
        b.platform(
            "endorse",
            u,
            who,
            date("2025-07-07"),
            PlatformCommand::EndorseByCity(EndorseByCity {
                opinion: "材料真实完整，同意推荐".into(),
            }),
        );
    }
    let mut rank = std::collections::BTreeMap::<String, u32>::new();
    for u in UNITS.iter().filter(|u| u.fate != Fate::Withdrawn) {
        let p = province_of(u.city);
        let who = actor(Role::Province, Some(p.clone()));
        let on = if p == "44" {
            date("2025-07-09")
        } else {
            date("2025-07-10")
        };
        if u.fate == Fate::RejectedG4 {
            b.platform(
                "reject",
                u,
                who,
                on,
                PlatformCommand::RejectByProvince(RejectByProvince {
                    reasons: vec!["G-4: 用房面积1200平方米，不足1500平方米".into()],
                }),
            );
            continue;
        }
        let r = rank.entry(p).or_default();
        *r += 1;
        let label = format!("{}/recommend", u.platform_id);
        let command = PlatformCommand::RecommendByProvince(RecommendByProvince {
            opinion: "同意推荐".into(),
            rank: Some(*r),
            override_reason: None,
        });
        let expect = (u.fate == Fate::OverQuota).then_some("R-1");
        b.push(
            label,
            who,
            on,
            Target::Platform {
                platform_id: u.platform_id.into(),
                command,
            },
            expect,
        );
    }
    let evaluated: Vec<&Unit> = UNITS
        .iter()
        .filter(|u| matches!(u.fate, Fate::Listed | Fate::EvaluationFailed))
        .collect();
    for (i, u) in evaluated.iter().enumerate() {
        let passed = u.fate == Fate::Listed;
        let command = PlatformCommand::RecordExpertEvaluation(RecordExpertEvaluation {
            score: if passed { 78 + (i as u32 * 3) % 20 } else { 58 },
            passed,
            panel: vec!["示例专家组（illustrative panel）".into()],
            comments: (!passed).then(|| "中试服务案例不足".into()),
        });
        b.platform("evaluate", u, ministry(), date("2025-09-20"), command);
    }
    let listed: Vec<&Unit> = UNITS.iter().filter(|u| u.fate == Fate::Listed).collect();
    for u in &listed {
        b.platform(
            "notice",
            u,
            ministry(),
            date("2025-11-20"),
            PlatformCommand::StartPublicNotice(StartPublicNotice {
                from: date("2025-11-20"),
                until: date("2025-11-26"),
            }),
        );
    }
    // An objection filed on the public face (RULES.md §13), decided by the ministry.
    b.platform(
        "public-objection",
        listed[2],
        Actor::public("198.51.100.23"),
        date("2025-11-21"),
        PlatformCommand::FileObjection(FileObjection {
            name: "王某（示例）".into(),
            contact: "wang@example.org".into(),
            grounds: "反映该平台申报的用房面积与实际不符".into(),
            attachment: None,
        }),
    );
    let filed = roster_domain::commands::objection_id(Uuid::new_v5(
        &NAMESPACE,
        format!("{}/public-objection", listed[2].platform_id).as_bytes(),
    ));
    b.platform(
        "objection",
        listed[2],
        ministry(),
        date("2025-11-22"),
        PlatformCommand::RecordNoticeObjection(RecordNoticeObjection {
            upheld: false,
            summary: "反映场地面积不实，经现场核查不成立".into(),
            objection_id: Some(filed),
        }),
    );
    for u in &listed {
        b.platform(
            "list",
            u,
            ministry(),
            date("2025-12-01"),
            PlatformCommand::ListPlatform(ListPlatform {}),
        );
    }

    // Each listed platform states the pilot services it offers (RULES.md §13: the directory).
    for (i, u) in listed.iter().enumerate() {
        let services: Vec<PilotService> = PilotService::ALL
            .into_iter()
            .enumerate()
            .filter(|(k, _)| (k + i) % 3 == 0 || *k == 2)
            .map(|(_, s)| s)
            .collect();
        b.platform(
            "service-offer",
            u,
            actor(Role::Applicant, Some(uscc(u).to_string())),
            date("2025-12-15"),
            PlatformCommand::UpdateServiceOffer(UpdateServiceOffer {
                services,
                description: Some(format!(
                    "可承接{}领域的中试放大与工艺验证，常规周期 {} 周",
                    u.domains
                        .iter()
                        .filter_map(|d| roster_domain::values::Domain::parse(d))
                        .map(|d| d.name_zh())
                        .collect::<Vec<_>>()
                        .join("、"),
                    6 + i % 4 * 2
                )),
                accepting_orders: i % 5 != 4,
            }),
        );
    }

    // A need an enterprise posted in January 2026 (RULES.md §13), as it reached the first two
    // platforms in its domain: the first is taking it up, the second has not answered yet.
    let (need_uscc, need_name) = enterprise(41);
    let need = roster_domain::commands::Need {
        enterprise_name: need_name,
        enterprise_uscc: need_uscc,
        contact: "李经理 0755-88880000（示例）".into(),
        description: "年产百吨级新产品的发酵工艺放大验证，计划三个月内完成中试".into(),
        domain: roster_domain::values::Domain::parse(listed[0].domains[0]),
        services: vec![],
        min_vessel_l: None,
        province: None,
    };
    let need_id = roster_domain::commands::need_id(Uuid::new_v5(&NAMESPACE, b"demo-need-1"));
    for u in listed
        .iter()
        .enumerate()
        .filter(|(i, u)| i % 5 != 4 && u.domains.contains(&listed[0].domains[0]))
        .map(|(_, u)| u)
        .take(2)
    {
        b.platform(
            "need",
            u,
            Actor::public("203.0.113.40"),
            date("2026-01-12"),
            PlatformCommand::PostNeed(roster_domain::commands::PostNeed {
                need_id: need_id.clone(),
                need: need.clone(),
            }),
        );
    }
    b.platform(
        "need-response",
        listed[0],
        actor(Role::Applicant, Some(uscc(listed[0]).to_string())),
        date("2026-01-14"),
        PlatformCommand::RespondToNeed(roster_domain::commands::RespondToNeed {
            need_id,
            answer: roster_domain::commands::NeedResponse::Interested,
            note: Some("已电话联系，约定现场考察".into()),
        }),
    );

    // Services through 2026: enterprises from a shared pool, products per platform.
    let mut retract: Option<(usize, Uuid)> = None;
    for (i, u) in listed.iter().enumerate() {
        let who = actor(Role::Applicant, Some(uscc(u).to_string()));
        for j in 0..(4 + i % 5) {
            let dated = date("2026-01-05") + Days::new(((i * 37 + j * 29) % 300) as u64);
            let (e_uscc, e_name) = enterprise((i * 3 + j * 7) % 40);
            let service_id = Uuid::new_v5(
                &NAMESPACE,
                format!("{}/service/{j}", u.platform_id).as_bytes(),
            );
            if i == 1 && j == 0 {
                retract = Some((i, service_id));
            }
            let record = ServiceRecord::EnterpriseServed {
                enterprise_uscc: e_uscc,
                enterprise_name: e_name,
                contract_cny: Cny(200_000 + 50_000 * j as u64),
            };
            b.platform(
                &format!("service/{j}"),
                u,
                who.clone(),
                dated + Days::new(3),
                PlatformCommand::RecordService(RecordService {
                    service_id: Some(service_id),
                    dated,
                    record,
                }),
            );
        }
        for k in 0..(2 + i % 3) {
            let dated = date("2026-02-10") + Days::new(((i * 23 + k * 41) % 260) as u64);
            let (owner, _) = enterprise((i + k * 11) % 40);
            let domain = Domain::parse(u.domains[0]).expect("demo domain");
            let record = ServiceRecord::ProductIncubated {
                product_name: format!("示例产品{i:02}-{k}"),
                owner_uscc: owner,
                domain,
            };
            b.platform(
                &format!("product/{k}"),
                u,
                who.clone(),
                dated + Days::new(2),
                PlatformCommand::RecordService(RecordService {
                    service_id: None,
                    dated,
                    record,
                }),
            );
        }
    }
    // K-3 counts a product once however many platforms report it: the same owner's product
    // from two platforms, once in full-width letters.
    let (shared_owner, _) = enterprise(7);
    for (n, (u, name)) in [
        (listed[0], "PHA 可降解材料（示例）"),
        (listed[4], "ＰＨＡ　可降解材料（示例）"),
    ]
    .into_iter()
    .enumerate()
    {
        b.platform(
            &format!("shared-product/{n}"),
            u,
            ministry(),
            date("2026-08-20"),
            PlatformCommand::RecordService(RecordService {
                service_id: None,
                dated: date("2026-08-18") + Days::new(n as u64),
                record: ServiceRecord::ProductIncubated {
                    product_name: name.into(),
                    owner_uscc: shared_owner.clone(),
                    domain: Domain::parse(u.domains[0]).expect("demo domain"),
                },
            }),
        );
    }
    // K-4: results industrialized and enterprises spun off (reported, no national target).
    for (n, u) in listed.iter().take(3).enumerate() {
        b.platform(
            "industrialized",
            u,
            ministry(),
            date("2026-10-15"),
            PlatformCommand::RecordService(RecordService {
                service_id: None,
                dated: date("2026-10-08") + Days::new(n as u64),
                record: ServiceRecord::ProjectIndustrialized {
                    project: format!("示例中试成果产业化项目{n}"),
                    revenue_cny: Cny(12_000_000 + 3_000_000 * n as u64),
                },
            }),
        );
    }
    for (n, u) in listed.iter().skip(5).take(2).enumerate() {
        let (spun, name) = enterprise(30 + n);
        b.platform(
            "spun-off",
            u,
            ministry(),
            date("2026-10-20"),
            PlatformCommand::RecordService(RecordService {
                service_id: None,
                dated: date("2026-10-16"),
                record: ServiceRecord::EnterpriseSpunOff {
                    enterprise_uscc: spun,
                    enterprise_name: name,
                    valuation_cny: Cny(25_000_000),
                },
            }),
        );
    }
    if let Some((i, service_id)) = retract {
        b.platform(
            "retract",
            listed[i],
            ministry(),
            date("2026-09-01"),
            PlatformCommand::RetractService(RetractService {
                service_id,
                reason: "合同核查不符，撤销该服务记录".into(),
            }),
        );
    }

    // A minor strain leak: policy D-4 opens its re-review (`incident-2026-leak-01`) as the
    // loader runs; the ministry concludes it.
    let leak = listed[3];
    let leak_applicant = actor(Role::Applicant, Some(uscc(leak).to_string()));
    b.platform(
        "incident",
        leak,
        leak_applicant,
        date("2026-05-11"),
        PlatformCommand::ReportIncident(ReportIncident {
            incident_id: "2026-leak-01".into(),
            kind: IncidentKind::StrainLeak,
            occurred_on: date("2026-05-10"),
            description: "发酵取样口菌液少量外泄，已封控处置（示例）".into(),
            direct_loss_cny: Some(Cny(800_000)),
            severity: None,
        }),
    );
    b.platform(
        "incident-assessment",
        leak,
        ministry(),
        date("2026-06-01"),
        PlatformCommand::AssessIncident(AssessIncident {
            incident_id: "2026-leak-01".into(),
            direct_loss_cny: Cny(850_000),
            deaths: 0,
            serious_injuries: 0,
            conclusion: "一般事故，整改到位".into(),
        }),
    );
    b.platform(
        "incident-review-conclusion",
        leak,
        ministry(),
        date("2026-07-20"),
        PlatformCommand::ConcludeReview(ConcludeReview {
            review_id: roster_domain::policies::incident_review_id("2026-leak-01"),
            outcome: ReviewOutcome::Passed,
            reasons: vec!["整改完成".into()],
        }),
    );
    for (i, u) in listed.iter().enumerate() {
        let stars = [5, 4, 3, 4, 5, 3, 4, 2, 4, 5, 3][i % 11];
        b.platform(
            "annual-2026",
            u,
            ministry(),
            date("2026-11-15"),
            PlatformCommand::RecordAnnualEvaluation(RecordAnnualEvaluation {
                year: 2026,
                stars,
                findings: None,
            }),
        );
    }
    bioreactor_call(&mut b);
    b.steps
}

/// A fictional unit of the bioreactor competition, registered in `city`.
fn bid_unit(
    city: &str,
    n: u32,
    name: &str,
    reactor_user: bool,
    other_user: bool,
) -> challenge::Unit {
    challenge::Unit {
        name: format!("{name}（示例 illustrative）"),
        uscc: Uscc::with_check_character(&format!("91{city}MB{n:07}"))
            .expect("demo USCC")
            .to_string(),
        kind: challenge::UnitKind::Enterprise,
        province: roster_domain::values::CityCode::parse(city)
            .expect("demo city")
            .province(),
        reactor_user,
        component_or_system_user: other_user,
    }
}

/// The 2025 call of the bioreactor open competition (notice 220): nine illustrative tasks (the
/// real list is an attachment not in the texts), consortia from seven provinces, six bids for
/// one task of which the sixth shortlisting is refused (C-6), task agreements with milestones
/// (one left unreported past its date: the scheduler flags it, C-8) and a success list.
fn bioreactor_call(b: &mut Builder) {
    use challenge::{Category, ChallengeCommand as C};
    let tasks: Vec<challenge::Task> = [
        (
            "rs-1",
            "大规模动物细胞培养反应器系统",
            Category::ReactorSystem,
        ),
        (
            "rs-2",
            "高密度微生物发酵反应器系统",
            Category::ReactorSystem,
        ),
        ("rs-3", "连续流生物反应器系统", Category::ReactorSystem),
        ("cc-1", "一次性生物反应袋", Category::ComponentsConsumables),
        (
            "cc-2",
            "在线过程分析传感器",
            Category::ComponentsConsumables,
        ),
        (
            "cc-3",
            "高性能搅拌与密封部件",
            Category::ComponentsConsumables,
        ),
        ("os-1", "生物反应过程工业操作系统", Category::IndustrialOs),
        ("os-2", "发酵过程数字孪生与优化软件", Category::IndustrialOs),
        ("os-3", "生物制造装备互联控制平台", Category::IndustrialOs),
    ]
    .into_iter()
    .map(|(task_id, name, category)| challenge::Task {
        task_id: task_id.into(),
        name: format!("{name}（示例任务 illustrative）"),
        category,
        targets: vec!["指标以榜单为准（示例）".into()],
        complete_by: date("2027-12-31"),
    })
    .collect();
    let call = |b: &mut Builder, label: &str, who: Actor, on: &str, command: C, refusal| {
        b.push(
            format!("call-2025/{label}"),
            who,
            date(on),
            Target::Call {
                call_id: "2025".into(),
                command,
            },
            refusal,
        );
    };
    call(
        b,
        "open",
        ministry(),
        "2025-05-20",
        C::OpenCall(challenge::OpenCall {
            call_id: "2025".into(),
            name: "高性能生物反应器创新任务揭榜挂帅（示例 illustrative）".into(),
            opens_on: date("2025-05-20"),
            applicant_deadline: date("2025-06-30"),
            province_deadline: date("2025-07-15"),
            tasks,
        }),
        None,
    );
    // (bid, task, lead city, lead, members)
    let bids: Vec<(&str, &str, challenge::Unit, Vec<challenge::Unit>)> = vec![
        (
            "rs1-js",
            "rs-1",
            bid_unit("320100", 1, "南京示例生物装备有限公司", false, false),
            vec![bid_unit(
                "320500",
                2,
                "苏州示例生物药业有限公司",
                true,
                false,
            )],
        ),
        (
            "rs1-gd",
            "rs-1",
            bid_unit("440300", 3, "深圳示例反应器科技有限公司", true, false),
            vec![],
        ),
        (
            "rs1-sh",
            "rs-1",
            bid_unit("310115", 4, "上海示例细胞工程装备有限公司", false, false),
            vec![
                bid_unit("310115", 5, "上海示例疫苗有限公司", true, false),
                bid_unit("110108", 6, "北京示例研究院有限公司", false, false),
            ],
        ),
        (
            "rs1-sd",
            "rs-1",
            bid_unit("370200", 7, "青岛示例发酵装备有限公司", true, false),
            vec![],
        ),
        (
            "rs1-bj",
            "rs-1",
            bid_unit("110108", 8, "北京示例生物过程装备有限公司", false, false),
            vec![bid_unit("130100", 9, "石家庄示例制药有限公司", true, false)],
        ),
        (
            "rs1-hb",
            "rs-1",
            bid_unit("420100", 10, "武汉示例生物反应器有限公司", true, false),
            vec![],
        ),
        (
            "cc1-zj",
            "cc-1",
            bid_unit("330100", 11, "杭州示例生物耗材有限公司", false, false),
            vec![bid_unit(
                "330100",
                12,
                "杭州示例细胞治疗有限公司",
                false,
                true,
            )],
        ),
        (
            "os1-sh",
            "os-1",
            bid_unit("310115", 13, "上海示例工业软件有限公司", false, false),
            vec![bid_unit(
                "320500",
                14,
                "苏州示例合成生物有限公司",
                false,
                true,
            )],
        ),
    ];
    for (i, (bid_id, task_id, lead, members)) in bids.iter().enumerate() {
        let lead_actor = actor(Role::Applicant, Some(lead.uscc.clone()));
        call(
            b,
            &format!("{bid_id}/submit"),
            lead_actor,
            &format!("2025-06-{:02}", 10 + i),
            C::SubmitBid(challenge::SubmitBid {
                bid_id: (*bid_id).into(),
                task_id: (*task_id).into(),
                lead: lead.clone(),
                members: members.clone(),
                declarations: challenge::Declarations {
                    no_major_accident: true,
                    validation_completed: true,
                    finalised_product_with_ip: true,
                    evidence: vec![],
                },
            }),
            None,
        );
        let province = Uscc::parse(&lead.uscc)
            .ok()
            .and_then(|u| u.registering_province())
            .expect("demo province");
        call(
            b,
            &format!("{bid_id}/recommend"),
            actor(Role::Province, Some(province.code().to_string())),
            "2025-07-10",
            C::RecommendBid(challenge::RecommendBid {
                bid_id: (*bid_id).into(),
                opinion: "经核实，申请材料真实、完整、有效，同意推荐".into(),
                expert_argumentation: (i % 2 == 0).then(|| "组织专家开展研究论证（示例）".into()),
                override_reason: None,
            }),
            None,
        );
        call(
            b,
            &format!("{bid_id}/evaluate"),
            ministry(),
            "2025-08-20",
            C::EvaluateBid(challenge::EvaluateBid {
                bid_id: (*bid_id).into(),
                score: 92 - i as u32,
                passed: true,
                panel: Some("工业和信息化部、中国科学院专家组（示例）".into()),
            }),
            None,
        );
        // C-6: five per task; the sixth bid of rs-1 is refused.
        let sixth = *bid_id == "rs1-hb";
        call(
            b,
            &format!("{bid_id}/shortlist"),
            ministry(),
            "2025-09-01",
            C::ShortlistBid(challenge::ShortlistBid {
                bid_id: (*bid_id).into(),
            }),
            sixth.then_some("C-6"),
        );
        if sixth {
            continue;
        }
        // The first bid's milestones fall due in 2026, the second's first one is left
        // unreported (overdue); the others fall due later.
        let milestones = match i {
            0 => vec![
                ("m1", "完成样机研制", "2026-03-31"),
                ("m2", "完成用户企业示范验证", "2026-09-30"),
            ],
            1 => vec![
                ("m1", "完成样机研制", "2026-06-30"),
                ("m2", "完成示范验证", "2027-06-30"),
            ],
            _ => vec![
                ("m1", "完成样机研制", "2027-03-31"),
                ("m2", "完成示范验证", "2027-10-31"),
            ],
        };
        call(
            b,
            &format!("{bid_id}/agreement"),
            ministry(),
            "2025-09-20",
            C::SignAgreement(challenge::SignAgreement {
                bid_id: (*bid_id).into(),
                targets: vec!["达到榜单指标（示例）".into()],
                milestones: milestones
                    .iter()
                    .map(|(id, title, due)| challenge::Milestone {
                        milestone_id: (*id).into(),
                        title: (*title).into(),
                        due_on: date(due),
                    })
                    .collect(),
            }),
            None,
        );
    }
    for task_id in ["rs-1", "cc-1", "os-1"] {
        call(
            b,
            &format!("{task_id}/publish-shortlist"),
            ministry(),
            "2025-09-05",
            C::PublishList(challenge::PublishList {
                task_id: task_id.into(),
                list: challenge::ListKind::Shortlist,
            }),
            None,
        );
    }
    let lead = actor(Role::Applicant, Some(bids[0].2.uscc.clone()));
    for (m, on) in [("m1", "2026-03-25"), ("m2", "2026-09-20")] {
        call(
            b,
            &format!("rs1-js/report-{m}"),
            lead.clone(),
            on,
            C::ReportMilestone(challenge::ReportMilestone {
                bid_id: "rs1-js".into(),
                milestone_id: m.into(),
                summary: "按任务书完成（示例）".into(),
                evidence: vec![],
            }),
            None,
        );
    }
    call(
        b,
        "rs1-js/third-party-evaluation",
        ministry(),
        "2026-10-20",
        C::RecordThirdPartyEvaluation(challenge::RecordThirdPartyEvaluation {
            bid_id: "rs1-js".into(),
            evaluator: "示例第三方专业评价机构".into(),
            passed: true,
            summary: "达到任务书约定目标（示例）".into(),
        }),
        None,
    );
    call(
        b,
        "rs1-js/success",
        ministry(),
        "2026-11-01",
        C::DeclareSuccess(challenge::DeclareSuccess {
            bid_id: "rs1-js".into(),
        }),
        None,
    );
    call(
        b,
        "rs-1/publish-success",
        ministry(),
        "2026-11-10",
        C::PublishList(challenge::PublishList {
            task_id: "rs-1".into(),
            list: challenge::ListKind::Success,
        }),
        None,
    );
}

#[derive(Debug, Default)]
pub struct DemoReport {
    pub accepted: usize,
    pub already_loaded: usize,
    pub refused_as_meant: Vec<(String, String)>,
}

/// Loads the scenario as history, through the operator's backfill path (RULES.md §12: its acts
/// happened on their dates in 2025-2026, not when the loader runs), each event marked as
/// backfilled by `operator`; the application's policy consumer runs after each step, as the
/// server would, so automatic decisions (D-4) land where the scenario expects them.
pub async fn load(app: &App, operator: &str) -> anyhow::Result<DemoReport> {
    let policies = app.policy_consumer();
    let mut report = DemoReport::default();
    for step in scenario() {
        let outcome = app
            .service()
            .backfill(operator, &step.actor, step.request)
            .await;
        if let Ok(o) = &outcome {
            if let Some(last) = o.events.last() {
                policies_reach(
                    app.events().as_ref(),
                    &*policies,
                    &last.stream_id,
                    last.version,
                )
                .await?;
            }
        }
        match (outcome, step.expect_refusal) {
            (Ok(o), None) if o.duplicate => report.already_loaded += 1,
            (Ok(_), None) => report.accepted += 1,
            (Err(r), Some(code)) if r.code == code => report
                .refused_as_meant
                .push((step.label, format!("{}: {}", r.code, r.message))),
            (Ok(_), Some(code)) => bail!(
                "demo step {} should have been refused with {code}",
                step.label
            ),
            (Err(r), _) => bail!("demo step {} was refused: {r}", step.label),
        }
    }
    Ok(report)
}

/// Runs the policy consumer until it has handled event `version` of `stream_id`. PostgreSQL's
/// reader shows a commit only once older transactions of the cluster have ended, so one pass
/// may not see it yet.
async fn policies_reach(
    store: &dyn EventStore,
    policies: &dyn roster_projections::Follower,
    stream_id: &str,
    version: u64,
) -> anyhow::Result<()> {
    let Some(event) = store
        .load_stream(stream_id, version.saturating_sub(1))
        .await?
        .into_iter()
        .next()
    else {
        return Ok(());
    };
    let target = event.checkpoint();
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if policies.follow(Some(target), 500).await?.checkpoint >= target {
            return Ok(());
        }
        if std::time::Instant::now() > give_up {
            bail!("the policy consumer did not reach event {version} of {stream_id} in 30 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
