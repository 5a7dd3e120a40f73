//! Incidents and their classification (State Council Decree No. 493, 2007, art. 3): the class
//! of an accident follows from deaths, serious injuries and direct economic loss; "以上" includes
//! the number, "以下" does not.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::values::Cny;

/// The kind of an incident reported for a platform; it decides which policy of dynamic management
/// follows (RULES.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentKind {
    /// 菌种泄露 (D-4, D-5)
    StrainLeak,
    /// 安全事故 (D-6)
    Safety,
    /// 环境污染事故 (D-6)
    Environmental,
    /// Any other incident: no policy of dynamic management acts on it.
    Other,
}

/// Accident class of Decree 493: 一般 < 较大 < 重大 < 特别重大.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IncidentClass {
    /// 一般
    General,
    /// 较大
    Larger,
    /// 重大
    Major,
    /// 特别重大
    EspeciallyMajor,
}

/// Default major-loss threshold of D-5: a 较大 accident begins at 10,000,000 CNY direct loss.
pub const MAJOR_LOSS_THRESHOLD: Cny = Cny(10_000_000);

impl IncidentKind {
    /// In Chinese: 菌种泄露, 安全事故, 环境污染事故, 其他.
    pub fn name_zh(self) -> &'static str {
        match self {
            IncidentKind::StrainLeak => "菌种泄露",
            IncidentKind::Safety => "安全事故",
            IncidentKind::Environmental => "环境污染事故",
            IncidentKind::Other => "其他",
        }
    }
}

impl IncidentClass {
    /// In Chinese: 一般, 较大, 重大, 特别重大.
    pub fn name_zh(self) -> &'static str {
        match self {
            IncidentClass::General => "一般",
            IncidentClass::Larger => "较大",
            IncidentClass::Major => "重大",
            IncidentClass::EspeciallyMajor => "特别重大",
        }
    }

    /// The class Decree 493 gives an accident: the highest class reached by its direct loss (none
    /// known counts as zero), its deaths or its serious injuries.
    pub fn from_consequences(
        loss: Option<Cny>,
        deaths: u32,
        serious_injuries: u32,
    ) -> IncidentClass {
        let loss = loss.map(|c| c.0).unwrap_or(0);
        if deaths >= 30 || serious_injuries >= 100 || loss >= 100_000_000 {
            IncidentClass::EspeciallyMajor
        } else if deaths >= 10 || serious_injuries >= 50 || loss >= 50_000_000 {
            IncidentClass::Major
        } else if deaths >= 3 || serious_injuries >= 10 || loss >= 10_000_000 {
            IncidentClass::Larger
        } else {
            IncidentClass::General
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decree_493_thresholds_include_the_number() {
        use IncidentClass::*;
        assert_eq!(
            IncidentClass::from_consequences(Some(Cny(9_999_999)), 0, 0),
            General
        );
        assert_eq!(
            IncidentClass::from_consequences(Some(Cny(10_000_000)), 0, 0),
            Larger
        );
        assert_eq!(
            IncidentClass::from_consequences(Some(Cny(50_000_000)), 0, 0),
            Major
        );
        assert_eq!(
            IncidentClass::from_consequences(Some(Cny(100_000_000)), 0, 0),
            EspeciallyMajor
        );
        assert_eq!(IncidentClass::from_consequences(None, 3, 0), Larger);
        assert_eq!(IncidentClass::from_consequences(None, 0, 50), Major);
        assert_eq!(IncidentClass::from_consequences(None, 2, 9), General);
    }
}
