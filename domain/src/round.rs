//! The Round aggregate (stream `round-<id>`): the ministry's call for applications with its
//! deadlines per province, and the recommendations each province has made.
//! Recommendations are registered here in the same transaction as on the platform's stream, so
//! two clerks of one province racing for its last slot cannot both get it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use crate::commands::{Envelope, OpenRound, RoundCommand};
use crate::error::{code, Refusal};
use crate::events::RoundEvent;
use crate::registry::CommandKind;
use crate::values::{Domain, Province};

/// A province's recommendation registered in a round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// The recommended platform.
    pub platform_id: String,
    /// The platform's declared domains when it was recommended.
    pub domains: BTreeSet<Domain>,
}

/// A round as its events leave it: its configuration once opened, and the recommendations
/// registered per province.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Round {
    /// The round as opened; `None` before it is opened.
    pub config: Option<OpenRound>,
    /// Each province's recommendations, in the order they were registered.
    pub recommendations: BTreeMap<Province, Vec<Recommendation>>,
}

/// Whether `id` is a valid round id: 1-32 ASCII letters, digits, `-` or `_` (e.g. `2025`).
pub fn valid_round_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Round {
    /// The event stream of a round: `round-<id>`.
    pub fn stream_id(round_id: &str) -> String {
        format!("round-{round_id}")
    }

    /// The last day applicants of `p` may submit.
    pub fn applicant_deadline(&self, p: Province) -> Option<NaiveDate> {
        let c = self.config.as_ref()?;
        Some(
            *c.applicant_deadlines
                .get(&p)
                .unwrap_or(&c.province_deadline),
        )
    }

    /// The last day cities of `p` may endorse, where the round sets one.
    pub fn city_deadline(&self, p: Province) -> Option<NaiveDate> {
        self.config.as_ref()?.city_deadlines.get(&p).copied()
    }

    /// The last day provinces may recommend to the ministry; `None` before the round opens.
    pub fn province_deadline(&self) -> Option<NaiveDate> {
        self.config.as_ref().map(|c| c.province_deadline)
    }

    /// Whether applications of `p` must be endorsed by their city before the province may recommend
    /// them (Guangdong 2025).
    pub fn requires_city_endorsement(&self, p: Province) -> bool {
        self.config
            .as_ref()
            .is_some_and(|c| c.city_endorsement_required.contains(&p))
    }

    /// The last day of `kind` on an application of province `p` in this round: the
    /// applicant's submission, the city's endorsement (only where the round sets a city
    /// deadline) and the province's recommendation are time-limited; other acts are not. What
    /// the decisions check, and what the pages use to stop offering a lapsed act.
    pub fn deadline_of(&self, kind: CommandKind, p: Province) -> Option<NaiveDate> {
        match kind {
            CommandKind::SubmitApplication => self.applicant_deadline(p),
            CommandKind::EndorseByCity => self.city_deadline(p),
            CommandKind::RecommendByProvince => self.province_deadline(),
            _ => None,
        }
    }

    /// how many platforms each province may recommend in this round; 0 before it opens.
    pub fn quota(&self) -> u32 {
        self.config.as_ref().map_or(0, |c| c.quota_per_province)
    }

    /// The recommendations province `p` has made in this round, in order.
    pub fn recommended(&self, p: Province) -> &[Recommendation] {
        self.recommendations.get(&p).map_or(&[], Vec::as_slice)
    }

    /// refuses the recommendation beyond the quota.
    pub fn check_quota(&self, p: Province) -> Result<(), Refusal> {
        let used = self.recommended(p).len() as u32;
        if used >= self.quota() {
            let round = self.config.as_ref().map_or("?", |c| c.round_id.as_str());
            return Err(Refusal::new(
                "R-1",
                format!(
                    "province {p} ({}) has already recommended {used} platforms in round {round}; the quota is {} per province (每省推荐不超过{}家)",
                    p.name_zh(),
                    self.quota(),
                    self.quota()
                ),
            ).zh(format!("{}在批次 {round} 已推荐 {used} 家，每省推荐不超过 {} 家", p.name_zh(), self.quota())));
        }
        Ok(())
    }

    /// true when, with `domains` added, every recommendation of `p` lies in one single
    /// domain (principle 原则上不集中在单一方向或领域). One recommendation alone is no concentration.
    pub fn concentrated_after(&self, p: Province, domains: &BTreeSet<Domain>) -> bool {
        let existing = self.recommended(p);
        if existing.is_empty() {
            return false;
        }
        let union: BTreeSet<Domain> = existing
            .iter()
            .flat_map(|r| r.domains.iter().copied())
            .chain(domains.iter().copied())
            .collect();
        union.len() == 1
    }
}

fn validate_open(c: &OpenRound) -> Result<(), Refusal> {
    if !valid_round_id(&c.round_id) {
        return Err(Refusal::invalid(
            "round_id",
            "a round id has 1-32 letters, digits, '-' or '_' (e.g. 2025)",
        )
        .zh("批次编号为 1-32 位字母、数字、- 或 _（如 2025）"));
    }
    if c.quota_per_province == 0 {
        return Err(
            Refusal::invalid("quota_per_province", "the quota must be at least 1")
                .zh("推荐名额至少为 1"),
        );
    }
    if c.notice_days == 0 {
        return Err(
            Refusal::invalid("notice_days", "a public notice lasts at least 1 day (R-5)")
                .zh("公示期至少 1 天（R-5）"),
        );
    }
    if c.province_deadline < c.opens_on {
        return Err(Refusal::new(
            code::IMPOSSIBLE_DATE,
            "the province deadline is before the round opens",
        )
        .at("province_deadline")
        .zh("省级推荐截止日早于批次开始日"));
    }
    for (p, d) in &c.applicant_deadlines {
        if *d < c.opens_on || *d > c.province_deadline {
            return Err(Refusal::new(
                code::IMPOSSIBLE_DATE,
                format!("applicant deadline {d} of province {p} must lie between the opening {} and the province deadline {}", c.opens_on, c.province_deadline),
            )
            .at(&format!("applicant_deadlines.{p}")).zh(format!("{}的申报截止日 {d} 须在开始日 {} 与省级截止日 {} 之间", p.name_zh(), c.opens_on, c.province_deadline)));
        }
    }
    for (p, d) in &c.city_deadlines {
        let lower = c.applicant_deadlines.get(p).copied().unwrap_or(c.opens_on);
        if *d < lower || *d > c.province_deadline {
            return Err(Refusal::new(
                code::IMPOSSIBLE_DATE,
                format!("city deadline {d} of province {p} must lie between the applicant deadline {lower} and the province deadline {}", c.province_deadline),
            )
            .at(&format!("city_deadlines.{p}")).zh(format!("{}的市级审核截止日 {d} 须在申报截止日 {lower} 与省级截止日 {} 之间", p.name_zh(), c.province_deadline)));
        }
    }
    Ok(())
}

impl Aggregate for Round {
    const TYPE: &'static str = "round";
    type Command = Envelope<RoundCommand>;
    type Event = RoundEvent;
    type Error = Refusal;
    type Services = ();

    async fn handle(
        &mut self,
        cmd: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refusal> {
        match cmd.command {
            RoundCommand::OpenRound(c) => {
                if let Some(existing) = &self.config {
                    return Err(Refusal::new(
                        code::DUPLICATE,
                        format!("round {} is already open", existing.round_id),
                    )
                    .zh(format!("批次 {} 已开放", existing.round_id)));
                }
                validate_open(&c)?;
                sink.write(RoundEvent::RoundOpened(c), self).await;
            }
            RoundCommand::RegisterRecommendation {
                platform_id,
                province,
                domains,
            } => {
                if self.config.is_none() {
                    return Err(Refusal::not_found("no such round").zh("没有此批次"));
                }
                self.check_quota(province)?;
                sink.write(
                    RoundEvent::RecommendationRegistered {
                        platform_id,
                        province,
                        domains,
                    },
                    self,
                )
                .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: RoundEvent) {
        match event {
            RoundEvent::RoundOpened(c) => self.config = Some(c),
            RoundEvent::RecommendationRegistered {
                platform_id,
                province,
                domains,
            } => {
                self.recommendations
                    .entry(province)
                    .or_default()
                    .push(Recommendation {
                        platform_id,
                        domains,
                    });
            }
        }
    }
}
