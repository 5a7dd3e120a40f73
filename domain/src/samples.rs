//! Illustrative sample data, used by the rule tests, the end-to-end tests and `roster demo`:
//! a complete (fictional) Guangdong application that passes every hard rule, and the
//! 2025 round as the Guangdong forwarding notice (粤工信消费函〔2025〕58号) set it.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde_json::json;

use crate::commands::OpenRound;
use crate::form::ApplicationForm;
use crate::values::{gbt2260_divisions, Province};

/// Parses a `YYYY-MM-DD` date; panics on anything else (for sample and test data).
pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

/// Completes a 17-character USCC prefix with its check character.
pub fn uscc_with_check(prefix17: &str) -> String {
    crate::values::Uscc::with_check_character(prefix17)
        .expect("valid USCC prefix")
        .to_string()
}

/// A real GB/T 2260 city code of `province` (`11`..`65` or `XPCC`) for generated test data: its
/// first prefecture-level city (`440100` for `44`), or, where there is none, its first
/// county-level division (`110101` for Beijing, `659001` for XPCC).
pub fn sample_city(province: &str) -> &'static str {
    let p = Province::parse(province).expect("province code");
    let codes: Vec<&'static str> = gbt2260_divisions()
        .iter()
        .map(|&(code, _)| code)
        .filter(|code| Province::from_division(code) == Some(p))
        .collect();
    codes
        .iter()
        .find(|code| code.ends_with("00"))
        .or(codes.first())
        .copied()
        .expect("every province has divisions")
}

/// The 2025 round: national province deadline 2025-07-11, Guangdong applicants by 07-04 and
/// cities by 07-10 with city endorsement required, quota 5, notice 5 days.
pub fn round_2025() -> OpenRound {
    let gd = Province::parse("44").unwrap();
    OpenRound {
        round_id: "2025".into(),
        opens_on: date("2025-06-16"),
        applicant_deadlines: BTreeMap::from([(gd, date("2025-07-04"))]),
        city_deadlines: BTreeMap::from([(gd, date("2025-07-10"))]),
        province_deadline: date("2025-07-11"),
        city_endorsement_required: BTreeSet::from([gd]),
        quota_per_province: 5,
        notice_days: 5,
    }
}

/// A complete application passing G-1..G-12, as JSON (easy to vary in tests).
pub fn form_json(uscc: &str, province: &str, city: &str, domains: &[&str]) -> serde_json::Value {
    json!({
        "applicant": {
            "name": "示例生物中试有限公司 (illustrative)",
            "uscc": uscc,
            "kind": "private",
            "legal_representative": "张三",
            "province": province,
            "city": city
        },
        "platform": {"name": "示例生物制造中试平台", "leader": "李四", "main_business": "发酵中试", "built": true, "years_in_operation": 4},
        "domains": domains,
        "compliance": {"penalised": false},
        "equipment_value_cny": 56000000,
        "staffing": {"management": 6, "professor_engineers": 3, "senior_engineers": 8, "engineers": 12, "testing_staff": 5},
        "track_record": {"pilot_projects": 12, "industrialized_projects": 3, "industrialized_revenue_cny": 80000000, "spun_off_enterprises": 1, "spun_off_valuation_cny": 5000000},
        "equipment": {
            "vessels": [
                {"kind": "fermentation", "name": "5000L发酵罐", "volume_l": 5000, "count": 2},
                {"kind": "parallel_bioreactor", "name": "平行生物反应器", "volume_l": 5, "count": 24}
            ],
            "purification": [{"name": "离心机"}, {"name": "喷雾干燥机"}],
            "testing": [{"name": "液相色谱仪"}, {"name": "酶标仪"}],
            "software": [{"name": "PAT过程分析系统", "kind": "process_analytics"}]
        },
        "site": {"area_m2": 3200, "strain_room": true, "clean_area": true, "explosion_proof_area": true, "storage_area": true,
                 "safety_assessment_passed": true, "environmental_assessment_passed": true, "health_assessment_passed": true, "safety_equipment": true},
        "utilities": ["clean_in_place", "ventilation", "air_purification", "purified_water", "steam", "chilled_water", "off_gas_treatment", "wastewater_treatment", "power_supply"],
        "team": {"fixed_technical_staff": 30, "qualified_staff": 21},
        "ip_protection": {"ip_department": true, "headed_by_principal": true, "strain_bank_dual_lock": true, "access_control_graded": true, "cctv_retention_days": 180},
        "gmp_compliant": true,
        "market_services": {"enterprises_served": 40, "contract_total_cny": 30000000}
    })
}

/// The USCC of the sample Guangdong applicant (registered in Shenzhen, `440300`).
pub const GD_USCC: &str = "91440300708461136T";

/// The sample application of a Shenzhen applicant in the `enzymes` domain, as a typed form: no
/// hard rule fails.
pub fn gd_form() -> ApplicationForm {
    serde_json::from_value(form_json(GD_USCC, "44", "440300", &["enzymes"])).expect("fixture form")
}

/// A stored `ServiceRecorded` event of `platform-1` at this place of the log (its version and
/// event id follow the position), for tests of readers and transports that look only at the
/// envelope.
pub fn stored_event(transaction_id: u64, global_position: i64) -> crate::store::StoredEvent {
    serde_json::from_value(json!({
        "global_position": global_position,
        "transaction_id": transaction_id,
        "stream_id": "platform-1",
        "version": global_position,
        "event_id": uuid::Uuid::from_u128(global_position as u128),
        "event_type": "ServiceRecorded",
        "schema_version": 1,
        "payload": {"n": global_position},
        "metadata": {
            "actor": {"id": "t", "role": "system", "jurisdiction": null},
            "command_id": uuid::Uuid::nil(),
            "correlation_id": uuid::Uuid::nil(),
            "recorded_at": "2025-07-01T00:00:00Z",
            "business_date": "2025-07-01"
        }
    }))
    .expect("a stored event")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::CityCode;

    #[test]
    fn sample_cities_are_real_and_in_their_province() {
        for (p, city) in [
            ("11", "110101"),
            ("31", "310101"),
            ("32", "320100"),
            ("44", "440100"),
            ("65", "650100"),
            ("XPCC", "659001"),
        ] {
            assert_eq!(sample_city(p), city);
        }
        for p in Province::all() {
            let city = CityCode::parse(sample_city(p.code())).expect("in GB/T 2260");
            assert_eq!(city.province(), p);
        }
    }
}
