//! Who is told of what (通知): the parties an event of a platform concerns, besides the one who
//! acted. A pure function of the event's type, so the notification centre, the e-mail sender and
//! their tests agree; where the user is (which applicant, city, province) is matched against the
//! platform by the caller, as reads are (`access::sees`).

use crate::actor::{Actor, Role};

/// The parties an event of a platform concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The platform's applicant (申报单位).
    Applicant,
    /// The department of the applicant's city.
    City,
    /// The department of the applicant's province.
    Province,
    /// The ministry.
    Ministry,
}

impl Party {
    /// The party a role is, if any (analysts and the system are told nothing).
    pub fn of(role: Role) -> Option<Party> {
        match role {
            Role::Applicant => Some(Party::Applicant),
            Role::City => Some(Party::City),
            Role::Province => Some(Party::Province),
            Role::Ministry => Some(Party::Ministry),
            Role::Analyst | Role::System | Role::Anonymous | Role::Public => None,
        }
    }
}

use Party::{Applicant as A, City as C, Ministry as M, Province as P};

/// The parties told of an event of this type: the applicant of what the authorities decided on
/// its application or platform, the authorities of what they act on next or must know (a
/// submission, a recommendation, an incident, a review, a delisting). Assessments that follow
/// an act, and services (reported many times a month), tell no one.
pub fn concerned(event_type: &str) -> &'static [Party] {
    match event_type {
        "ApplicationSubmitted" | "ApplicationAmended" | "ApplicationWithdrawn" => &[C, P],
        "CityEndorsed" => &[A, P],
        "ProvinceRecommended" => &[A, C, M],
        "ProvinceRejected" => &[A, C],
        "ExpertEvaluationRecorded" | "NoticeObjectionRecorded" => &[A, P],
        "PublicNoticeStarted" | "PlatformListed" => &[A, C, P],
        "ServiceRetracted" | "NeedReceived" => &[A],
        "IncidentReported" | "ObjectionFiled" => &[P, M],
        "IncidentAssessed" | "AnnualEvaluationRecorded" => &[A, P],
        "ReviewOpened" | "ReviewConcluded" | "PlatformDelisted" => &[A, C, P],
        _ => &[],
    }
}

/// Whether `user` is told of an event of `event_type` that `by` recorded (never of one's own
/// act; the caller has checked the platform is the user's to see).
pub fn tells(user: &Actor, event_type: &str, by: &Actor) -> bool {
    let own = by.id == user.id && by.role == user.role;
    !own && Party::of(user.role).is_some_and(|p| concerned(event_type).contains(&p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::PLATFORM_EVENT_NAMES;

    fn actor(id: &str, role: Role) -> Actor {
        Actor {
            id: id.into(),
            role,
            jurisdiction: None,
        }
    }

    #[test]
    fn an_applicant_hears_of_its_recommendation_review_and_delisting_not_of_its_own_acts() {
        let me = actor("a-1", Role::Applicant);
        let province = actor("p-44", Role::Province);
        let ministry = actor("m", Role::Ministry);
        assert!(tells(&me, "ProvinceRecommended", &province));
        assert!(tells(&me, "ReviewOpened", &ministry));
        assert!(tells(&me, "NoticeObjectionRecorded", &ministry));
        assert!(tells(&me, "PlatformDelisted", &ministry));
        assert!(!tells(&me, "ApplicationSubmitted", &me), "its own act");
        assert!(!tells(&me, "ServiceRecorded", &ministry));
        assert!(!tells(
            &actor("x", Role::Analyst),
            "PlatformListed",
            &ministry
        ));
    }

    #[test]
    fn the_authorities_hear_of_what_they_act_on_next() {
        let applicant = actor("a-1", Role::Applicant);
        assert!(tells(
            &actor("c", Role::City),
            "ApplicationSubmitted",
            &applicant
        ));
        assert!(tells(
            &actor("p", Role::Province),
            "CityEndorsed",
            &actor("c", Role::City)
        ));
        assert!(tells(
            &actor("m", Role::Ministry),
            "ProvinceRecommended",
            &actor("p", Role::Province)
        ));
        assert!(tells(
            &actor("m", Role::Ministry),
            "IncidentReported",
            &applicant
        ));
        assert!(!tells(
            &actor("m", Role::Ministry),
            "ApplicationSubmitted",
            &applicant
        ));
    }

    #[test]
    fn every_event_type_is_decided() {
        // A type left out on purpose tells no one; the list says which those are.
        let silent: Vec<&str> = PLATFORM_EVENT_NAMES
            .iter()
            .map(|(t, _, _)| *t)
            .filter(|t| concerned(t).is_empty())
            .collect();
        // A platform's statement of its services is its own public act, and its answer to a
        // need goes to the enterprise outside the system: nobody is told.
        assert_eq!(
            silent,
            [
                "EligibilityAssessed",
                "ServiceOfferUpdated",
                "NeedAnswered",
                "ServiceRecorded"
            ]
        );
    }
}
