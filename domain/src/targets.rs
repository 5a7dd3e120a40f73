//! KPI targets (RULES.md §8) as data. The national 2027 set (K-1 ≥ 20, K-2 > 200, K-3 ≥ 400 by
//! 2027-12-31) is built in; analysts, the ministry and provinces define others (e.g. a
//! provincial plan) as `TargetSet` streams (`targetset-<id>`), so a report as known at any
//! recorded time shows the sets as they were then.
//!
//! Also here: the identity of an incubated product for K-3 (owner USCC + normalised name).

use std::fmt;

use chrono::NaiveDate;
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

use crate::actor::{Actor, Role};
use crate::commands::Envelope;
use crate::error::{code, Refusal};
use crate::values::{ApplicantKind, Domain, Province};

/// The id of the built-in national set; no stream may take it.
pub const NATIONAL_2027: &str = "national-2027";

/// The KPIs of RULES.md §8.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// K-1: platforms on the roster (Listed or UnderReview).
    ListedPlatforms,
    /// K-2: distinct served enterprises by USCC.
    ServedEnterprises,
    /// K-3: distinct incubated products by owner USCC + normalised name.
    IncubatedProducts,
    /// K-4: `project_industrialized` records.
    IndustrializedResults,
    /// K-4: `enterprise_spun_off` records.
    SpunOffEnterprises,
}

impl Metric {
    /// Every metric, K-1 to K-4.
    pub const ALL: [Metric; 5] = [
        Metric::ListedPlatforms,
        Metric::ServedEnterprises,
        Metric::IncubatedProducts,
        Metric::IndustrializedResults,
        Metric::SpunOffEnterprises,
    ];

    /// Its code in the API, target sets and reports (serde's spelling).
    pub fn code(self) -> &'static str {
        match self {
            Metric::ListedPlatforms => "listed_platforms",
            Metric::ServedEnterprises => "served_enterprises",
            Metric::IncubatedProducts => "incubated_products",
            Metric::IndustrializedResults => "industrialized_results",
            Metric::SpunOffEnterprises => "spun_off_enterprises",
        }
    }

    /// The rule id of RULES.md §8.
    pub fn rule(self) -> &'static str {
        match self {
            Metric::ListedPlatforms => "K-1",
            Metric::ServedEnterprises => "K-2",
            Metric::IncubatedProducts => "K-3",
            Metric::IndustrializedResults | Metric::SpunOffEnterprises => "K-4",
        }
    }

    /// Its name in Chinese, as the policy texts call it.
    pub fn name_zh(self) -> &'static str {
        match self {
            Metric::ListedPlatforms => "中试能力建设平台",
            Metric::ServedEnterprises => "服务企业",
            Metric::IncubatedProducts => "孵化产品",
            Metric::IndustrializedResults => "成果产业化",
            Metric::SpunOffEnterprises => "衍生孵化企业",
        }
    }

    /// Its name in English.
    pub fn name_en(self) -> &'static str {
        match self {
            Metric::ListedPlatforms => "listed platforms",
            Metric::ServedEnterprises => "served enterprises",
            Metric::IncubatedProducts => "incubated products",
            Metric::IndustrializedResults => "industrialized results",
            Metric::SpunOffEnterprises => "spun-off enterprises",
        }
    }

    /// The metric a code names.
    pub fn parse(code: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.code() == code)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How a value is compared with its threshold: `>` (超过: 200 is not met, 201 is) or `>=`
/// (以上: 20 is met).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Comparator {
    /// `>` (超过, more than): the threshold itself does not meet the target; `gt` is read too.
    #[serde(rename = ">", alias = "gt")]
    Gt,
    /// `>=` (以上, at least): the threshold itself meets the target; `ge` is read too.
    #[serde(rename = ">=", alias = "ge")]
    Ge,
}

impl Comparator {
    /// The comparator as written in JSON and reports: `>` or `>=`.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Gt => ">",
            Comparator::Ge => ">=",
        }
    }

    /// Whether `value` meets `threshold`.
    pub fn met(self, value: u64, threshold: u64) -> bool {
        match self {
            Comparator::Gt => value > threshold,
            Comparator::Ge => value >= threshold,
        }
    }

    /// The smallest value that meets the target.
    pub fn least_meeting(self, threshold: u64) -> u64 {
        match self {
            Comparator::Gt => threshold + 1,
            Comparator::Ge => threshold,
        }
    }

    /// How many more are needed to meet the target (0 when met).
    pub fn gap(self, value: u64, threshold: u64) -> u64 {
        self.least_meeting(threshold).saturating_sub(value)
    }
}

/// Which platforms a target counts: all, or those of one province, domain or applicant kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub struct TargetFilter {
    /// Only platforms of this province (GB/T 2260 two-digit code, or `XPCC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub province: Option<Province>,
    /// Only platforms that declare this domain (a multi-domain platform counts in each of its
    /// domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
    /// Only platforms whose applicant is of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant_kind: Option<ApplicantKind>,
}

impl TargetFilter {
    /// Whether the filter selects every platform (no province, domain or applicant kind).
    pub fn is_national(&self) -> bool {
        self == &TargetFilter::default()
    }

    /// e.g. `province=36 domain=enzymes`, or `national`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.province {
            parts.push(format!("province={p}"));
        }
        if let Some(d) = self.domain {
            parts.push(format!("domain={}", d.code()));
        }
        if let Some(k) = self.applicant_kind {
            parts.push(format!("applicant_kind={}", k.code()));
        }
        if parts.is_empty() {
            "national".into()
        } else {
            parts.join(" ")
        }
    }
}

/// The filter fields are written out here rather than a flattened `TargetFilter`: serde cannot
/// refuse unknown fields (RULES.md §11) on a struct with a flattened part.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The KPI the target is about.
    pub metric: Metric,
    /// Only platforms of this province (GB/T 2260 two-digit code, or `XPCC`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub province: Option<Province>,
    /// Only platforms that declare this domain (a multi-domain platform counts in each of its
    /// domains).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<Domain>,
    /// Only platforms whose applicant is of this kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applicant_kind: Option<ApplicantKind>,
    /// How the value is compared with `threshold`.
    pub comparator: Comparator,
    /// The value to compare with, e.g. 200 for K-2's 超过200家.
    pub threshold: u64,
    /// The date by which the target is to be met (as-of date of the forecast).
    pub deadline: NaiveDate,
    /// Free text, e.g. the source (`工信厅联消费函〔2025〕234号`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Target {
    /// Which platforms the target counts.
    pub fn filter(&self) -> TargetFilter {
        TargetFilter {
            province: self.province,
            domain: self.domain,
            applicant_kind: self.applicant_kind,
        }
    }
}

/// The national 2027 targets (工信厅联消费函〔2025〕234号: 培育中试能力建设平台20个以上，服务企业
/// 数量超过200家，孵化产品400个以上).
pub fn national_2027() -> TargetSetView {
    let deadline = NaiveDate::from_ymd_opt(2027, 12, 31).expect("valid date");
    let t = |metric, comparator, threshold| Target {
        metric,
        province: None,
        domain: None,
        applicant_kind: None,
        comparator,
        threshold,
        deadline,
        label: Some("工信厅联消费函〔2025〕234号".into()),
    };
    TargetSetView {
        target_set_id: NATIONAL_2027.into(),
        name: "2027年全国目标 / National targets 2027".into(),
        description: Some(
            "培育中试能力建设平台20个以上，服务企业数量超过200家，孵化产品400个以上".into(),
        ),
        targets: vec![
            t(Metric::ListedPlatforms, Comparator::Ge, 20),
            t(Metric::ServedEnterprises, Comparator::Gt, 200),
            t(Metric::IncubatedProducts, Comparator::Ge, 400),
        ],
        revision: 0,
        built_in: true,
    }
}

/// A target set as reports show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TargetSetView {
    /// The set's id; `national-2027` for the built-in set.
    pub target_set_id: String,
    /// The set's name.
    pub name: String,
    /// What the set is, e.g. the plan it comes from.
    pub description: Option<String>,
    /// Its targets.
    pub targets: Vec<Target>,
    /// 0 for the built-in set; 1 for the first definition, +1 for each revision.
    pub revision: u32,
    /// Whether it is the built-in national set (defined by no command, never revised or retired).
    pub built_in: bool,
}

// ---------------------------------------------------------------------------------------------
// Commands, events, aggregate

/// The most targets one set may hold.
pub const MAX_TARGETS: usize = 50;

/// Defines a target set, or revises it (the new targets replace the old ones). The ministry and
/// analysts define any set; a province only one whose every target is about its own province
/// (RULES.md §8, §10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DefineTargetSet {
    /// 1-48 lower-case letters, digits, '-' or '_', e.g. `jiangxi-2027`.
    #[schema(
        pattern = r"^[a-z0-9][a-z0-9_-]{0,47}$",
        min_length = 1,
        max_length = 48
    )]
    pub target_set_id: String,
    /// The set's name (not blank; stored trimmed).
    #[schema(min_length = 1, pattern = r"\S")]
    pub name: String,
    /// What the set is, e.g. the plan it comes from.
    #[serde(default)]
    pub description: Option<String>,
    /// 1 to MAX_TARGETS (50) targets.
    #[schema(min_items = 1, max_items = 50)]
    pub targets: Vec<Target>,
}

/// Retires a target set: reports as known at any later time leave it out, until it is defined
/// again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetireTargetSet {
    /// The set to retire.
    #[schema(
        pattern = r"^[a-z0-9][a-z0-9_-]{0,47}$",
        min_length = 1,
        max_length = 48
    )]
    pub target_set_id: String,
    /// Why it is retired (not blank).
    #[schema(min_length = 1, pattern = r"\S")]
    pub reason: String,
}

/// A command on a target set (stream `targetset-<id>`), named by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum TargetSetCommand {
    /// Defines the set, or revises it (a new revision replaces the targets).
    DefineTargetSet(DefineTargetSet),
    /// Retires the set.
    RetireTargetSet(RetireTargetSet),
}

impl TargetSetCommand {
    /// Its kind in the command registry.
    pub fn kind(&self) -> crate::registry::CommandKind {
        match self {
            TargetSetCommand::DefineTargetSet(_) => crate::registry::CommandKind::DefineTargetSet,
            TargetSetCommand::RetireTargetSet(_) => crate::registry::CommandKind::RetireTargetSet,
        }
    }

    /// Its name: `DefineTargetSet` or `RetireTargetSet`.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The id of the set it addresses.
    pub fn target_set_id(&self) -> &str {
        match self {
            TargetSetCommand::DefineTargetSet(c) => &c.target_set_id,
            TargetSetCommand::RetireTargetSet(c) => &c.target_set_id,
        }
    }
}

/// The events of a target set stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type")]
pub enum TargetSetEvent {
    /// The set was defined or revised.
    TargetSetDefined {
        /// The set's name, trimmed.
        name: String,
        /// What the set is.
        #[serde(default)]
        description: Option<String>,
        /// The targets of this revision; they replace the previous ones.
        targets: Vec<Target>,
        /// 1 for the first definition, +1 for each revision.
        revision: u32,
    },
    /// The set was retired.
    TargetSetRetired {
        /// Why it was retired.
        reason: String,
    },
}

impl TargetSetEvent {
    /// Its type as the event store keeps it: the variant's name.
    pub fn event_type(&self) -> &'static str {
        match self {
            TargetSetEvent::TargetSetDefined { .. } => "TargetSetDefined",
            TargetSetEvent::TargetSetRetired { .. } => "TargetSetRetired",
        }
    }
}

impl DomainEvent for TargetSetEvent {
    fn event_type(&self) -> String {
        TargetSetEvent::event_type(self).to_string()
    }

    fn event_version(&self) -> String {
        crate::events::schema_version(TargetSetEvent::event_type(self)).to_string()
    }
}

/// The TargetSet aggregate (stream `targetset-<id>`): a set as its events leave it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetSet {
    /// `None` until the set is first defined.
    pub name: Option<String>,
    /// The targets of the latest revision.
    pub targets: Vec<Target>,
    /// The latest revision; 0 before the first definition.
    pub revision: u32,
    /// Whether the set is retired (a later definition revives it).
    pub retired: bool,
}

/// Whether `id` is a valid target set id: 1-48 lower-case ASCII letters, digits, '-' or '_',
/// beginning with a letter or a digit.
pub fn valid_target_set_id(id: &str) -> bool {
    (1..=48).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.as_bytes()[0].is_ascii_alphanumeric()
}

impl TargetSet {
    /// The stream of a target set: `targetset-<id>`.
    pub fn stream_id(target_set_id: &str) -> String {
        format!("targetset-{target_set_id}")
    }

    /// Whether `actor` may see this set: everyone the national and unscoped sets, a province
    /// only sets whose every target is about its own province (RULES.md §10; review finding L8).
    pub fn visible_to(&self, actor: &Actor) -> bool {
        target_set_visible(actor, &self.targets)
    }

    /// Refuses (`forbidden`) an actor who may not define or retire a set with these targets: the
    /// ministry and analysts may any; a province only when every target is filtered to its own
    /// province; no other role may.
    pub fn check_scope(actor: &Actor, targets: &[Target]) -> Result<(), Refusal> {
        match actor.role {
            Role::Ministry | Role::Analyst => Ok(()),
            Role::Province => {
                let own = actor.jurisdiction.as_deref().and_then(Province::parse);
                match targets.iter().position(|t| own.is_none() || t.province != own) {
                    None => Ok(()),
                    Some(i) => Err(Refusal::forbidden(format!(
                        "a province defines targets for its own province only: targets[{i}] must have province {}",
                        actor.jurisdiction.as_deref().unwrap_or("?")
                    )).zh("省级用户只能为本省设定目标")),
                }
            }
            other => Err(Refusal::forbidden(format!(
                "a {other} may not define or retire target sets; only ministry, analyst, province"
            ))
            .zh(format!("{}无权设定或停用目标", other.name_zh()))),
        }
    }
}

/// A province sees the sets without a province filter (national) and those about its own
/// province; other roles that read KPIs see every set.
pub fn target_set_visible(actor: &Actor, targets: &[Target]) -> bool {
    match actor.role {
        Role::Province => {
            let own = actor.jurisdiction.as_deref().and_then(Province::parse);
            targets
                .iter()
                .all(|t| t.province.is_none() || t.province == own)
        }
        _ => true,
    }
}

fn validate(c: &DefineTargetSet) -> Result<(), Refusal> {
    if !valid_target_set_id(&c.target_set_id) {
        return Err(Refusal::invalid(
            "target_set_id",
            "a target set id has 1-48 lower-case letters, digits, '-' or '_' (e.g. jiangxi-2027)",
        )
        .zh("目标集编号为 1-48 位小写字母、数字、- 或 _（如 jiangxi-2027）"));
    }
    if c.target_set_id == NATIONAL_2027 {
        return Err(Refusal::new(
            code::DUPLICATE,
            format!("{NATIONAL_2027} is the built-in national set; choose another id"),
        )
        .at("target_set_id")
        .zh(format!("{NATIONAL_2027} 是内置的全国目标，请另取编号")));
    }
    if c.name.trim().is_empty() {
        return Err(Refusal::invalid("name", "a target set needs a name").zh("请填写目标集名称"));
    }
    if c.targets.is_empty() {
        return Err(
            Refusal::invalid("targets", "a target set needs at least one target")
                .zh("目标集至少包含一项目标"),
        );
    }
    if c.targets.len() > MAX_TARGETS {
        return Err(
            Refusal::invalid("targets", format!("at most {MAX_TARGETS} targets per set"))
                .zh(format!("每个目标集至多 {MAX_TARGETS} 项目标")),
        );
    }
    for (i, t) in c.targets.iter().enumerate() {
        if t.comparator == Comparator::Ge && t.threshold == 0 {
            return Err(Refusal::invalid(
                &format!("targets[{i}].threshold"),
                "a target of >= 0 is always met; give a positive threshold",
            )
            .zh("“不少于 0”总是达成，请填写正数"));
        }
    }
    Ok(())
}

impl Aggregate for TargetSet {
    const TYPE: &'static str = "targetset";
    type Command = Envelope<TargetSetCommand>;
    type Event = TargetSetEvent;
    type Error = Refusal;
    type Services = ();

    async fn handle(
        &mut self,
        cmd: Self::Command,
        _: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), Refusal> {
        match cmd.command {
            TargetSetCommand::DefineTargetSet(c) => {
                validate(&c)?;
                TargetSet::check_scope(&cmd.meta.actor, &c.targets)?;
                if self.name.is_some() {
                    TargetSet::check_scope(&cmd.meta.actor, &self.targets)?;
                }
                sink.write(
                    TargetSetEvent::TargetSetDefined {
                        name: c.name.trim().to_string(),
                        description: c.description,
                        targets: c.targets,
                        revision: self.revision + 1,
                    },
                    self,
                )
                .await;
            }
            TargetSetCommand::RetireTargetSet(c) => {
                if self.name.is_none() {
                    return Err(
                        Refusal::not_found(format!("no target set {}", c.target_set_id))
                            .zh(format!("没有目标集 {}", c.target_set_id)),
                    );
                }
                if self.retired {
                    return Err(Refusal::new(
                        code::DUPLICATE,
                        format!("target set {} is already retired", c.target_set_id),
                    )
                    .zh(format!("目标集 {} 已停用", c.target_set_id)));
                }
                if c.reason.trim().is_empty() {
                    return Err(Refusal::invalid("reason", "give a reason").zh("请填写理由"));
                }
                TargetSet::check_scope(&cmd.meta.actor, &self.targets)?;
                sink.write(TargetSetEvent::TargetSetRetired { reason: c.reason }, self)
                    .await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: TargetSetEvent) {
        match event {
            TargetSetEvent::TargetSetDefined {
                name,
                targets,
                revision,
                ..
            } => {
                self.name = Some(name);
                self.targets = targets;
                self.revision = revision;
                self.retired = false;
            }
            TargetSetEvent::TargetSetRetired { .. } => self.retired = true,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// K-3 product identity

/// A product name as K-3 compares it: Unicode compatibility-normalised (NFKC folds full-width
/// and half-width forms: `ＡＢＣ１` = `ABC1`, `ｶ` = `カ`), lower-cased, trimmed, with runs of
/// white space (including the ideographic space) made one space.
pub fn normalise_product_name(name: &str) -> String {
    let folded: String = name.nfkc().flat_map(char::to_lowercase).collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// K-3's identity of a product: its owner's USCC plus its normalised name.
pub fn product_key(owner_uscc: &str, product_name: &str) -> String {
    format!("{owner_uscc}|{}", normalise_product_name(product_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn k3_names_fold_width_case_and_space() {
        assert_eq!(
            normalise_product_name("  ＰＨＡ　Ｐｏｌｙｍｅｒ "),
            "pha polymer"
        );
        assert_eq!(normalise_product_name("PHA polymer"), "pha polymer");
        assert_eq!(
            normalise_product_name("pha\u{3000}\u{3000}polymer"),
            "pha polymer"
        );
        assert_eq!(
            normalise_product_name("ﾍﾟﾌﾟﾁﾄﾞ"),
            normalise_product_name("ペプチド")
        );
        assert_eq!(normalise_product_name("透明质酸钠"), "透明质酸钠");
        // Different names stay different.
        assert_ne!(
            normalise_product_name("PHA-1"),
            normalise_product_name("PHA-2")
        );
        assert_ne!(normalise_product_name("ab"), normalise_product_name("a b"));
    }

    #[test]
    fn k3_the_same_name_of_another_owner_is_another_product() {
        assert_ne!(
            product_key("91350100M000100Y43", "PHA"),
            product_key("91110000802100433B", "PHA")
        );
        assert_eq!(
            product_key("91350100M000100Y43", "ｐｈａ"),
            product_key("91350100M000100Y43", " PHA ")
        );
    }

    #[test]
    fn k2_more_than_200_is_strict_and_k1_k3_at_least_inclusive() {
        let national = national_2027();
        let by = |m: Metric| {
            national
                .targets
                .iter()
                .find(|t| t.metric == m)
                .cloned()
                .unwrap()
        };
        let k1 = by(Metric::ListedPlatforms);
        let k2 = by(Metric::ServedEnterprises);
        let k3 = by(Metric::IncubatedProducts);
        assert!(!k1.comparator.met(19, k1.threshold));
        assert!(k1.comparator.met(20, k1.threshold));
        assert!(!k2.comparator.met(200, k2.threshold));
        assert!(k2.comparator.met(201, k2.threshold));
        assert_eq!(k2.comparator.gap(200, k2.threshold), 1);
        assert_eq!(k2.comparator.gap(201, k2.threshold), 0);
        assert!(!k3.comparator.met(399, k3.threshold));
        assert!(k3.comparator.met(400, k3.threshold));
        assert_eq!(k3.comparator.gap(399, k3.threshold), 1);
        assert_eq!(k1.deadline, NaiveDate::from_ymd_opt(2027, 12, 31).unwrap());
    }

    #[test]
    fn a_target_reads_from_json_with_flat_filters() {
        let t: Target = serde_json::from_value(serde_json::json!({
            "metric": "served_enterprises", "province": "36", "comparator": ">",
            "threshold": 30, "deadline": "2027-12-31"
        }))
        .unwrap();
        assert_eq!(t.filter().province, Province::parse("36"));
        assert_eq!(t.comparator, Comparator::Gt);
        let bad = serde_json::from_value::<Target>(serde_json::json!({
            "metric": "served_enterprises", "comparator": "<", "threshold": 3, "deadline": "2027-12-31"
        }));
        assert!(bad.is_err());
    }
}
