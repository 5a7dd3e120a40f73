//! The registry of commands: every command of the system is declared here once, with its name,
//! its route, who may issue it (RULES.md §10) and the platform states that allow it (RULES.md §4). The
//! access rules (`access::roles_for`), a state's allowed commands (`Status::allowed_commands`),
//! the API's routes, the parsing of a request into the typed command, the OpenAPI document's
//! list of commands, which dashboard forms a page offers to whom, and the dashboard's dispatch
//! are derived from it; the command's fields and its decision live in its own struct
//! (`commands.rs`) and in `platform/decide.rs`.
//!
//! Adding a platform command: its struct in `commands.rs`, its variant in `PlatformCommand`, its
//! line here, its decision in `platform/decide.rs`. The compiler then names every place that must
//! say something about it (the decision's dispatch, the API's example, the dashboard's form).

use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

use crate::actor::Role;
use crate::challenge::{
    DeclareSuccess, DeclineBid, EvaluateBid, FlagMilestoneOverdue, OpenCall, PublishList,
    RecommendBid, RecordThirdPartyEvaluation, ReportMilestone, ShortlistBid, SignAgreement,
    SubmitBid, WithdrawBid,
};
use crate::commands::*;
use crate::platform::Status;
use crate::targets::{DefineTargetSet, RetireTargetSet};

/// Every state of a platform: a command allowed whatever the lifecycle says.
const ANY_STATE: &[Status] = &Status::ALL;

/// A state in which an application cycle has ended without listing, or a delisting: the unit
/// may apply again (the stream's first submission is in `New`).
const MAY_APPLY: &[Status] = &[
    Status::New,
    Status::Withdrawn,
    Status::Rejected,
    Status::NotSelected,
    Status::Delisted,
];

/// A pending application (until the listing).
const PENDING: &[Status] = &[
    Status::Submitted,
    Status::CityEndorsed,
    Status::Recommended,
    Status::Evaluated,
    Status::OnNotice,
];

const BEFORE_PROVINCE: &[Status] = &[Status::Submitted, Status::CityEndorsed];
const ON_ROSTER: &[Status] = &[Status::Listed, Status::UnderReview];

/// Reads one command's fields into its struct, the way the caller reports a bad field (the API
/// names its path). What the registry parses a request with.
pub trait Fields {
    /// The caller's refusal of a bad field.
    type Error;
    /// Reads the fields into the command struct `T`.
    fn parse<T: serde::de::DeserializeOwned>(self) -> Result<T, Self::Error>;
}

macro_rules! registry {
    (
        platform { $( $p:ident => $route:literal, [$($prole:ident),*], $states:expr; )* }
        other { $( $o:ident => [$($orole:ident),*]; )* }
    ) => {
        /// Every command of the system, without its fields.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CommandKind {
            $(
                #[doc = concat!(
                    "`", stringify!($p), "`: a platform command, `POST /api/v1/platforms/{id}/",
                    $route, "`; issued by ", stringify!($($prole),*), "."
                )]
                $p,
            )*
            $(
                #[doc = concat!(
                    "`", stringify!($o), "`: not on a platform's stream; issued by ",
                    stringify!($($orole),*), "."
                )]
                $o,
            )*
        }

        impl CommandKind {
            /// Every command, in the order of the registry.
            pub const ALL: &'static [CommandKind] = &[ $( CommandKind::$p, )* $( CommandKind::$o, )* ];

            /// Its name: `type` in a request, the name in messages, the audit log, OpenAPI.
            pub const fn name(self) -> &'static str {
                match self {
                    $( CommandKind::$p => stringify!($p), )*
                    $( CommandKind::$o => stringify!($o), )*
                }
            }

            /// `POST /api/v1/platforms/{id}/{route}` for a platform command; `None` for the
            /// commands with routes of their own (rounds, target sets).
            pub const fn route(self) -> Option<&'static str> {
                match self {
                    $( CommandKind::$p => Some($route), )*
                    $( CommandKind::$o => None, )*
                }
            }

            /// Who may issue it at all (RULES.md §10); the jurisdiction is checked against the
            /// platform by `access::check_scope`.
            pub const fn roles(self) -> &'static [Role] {
                match self {
                    $( CommandKind::$p => &[$(Role::$prole),*], )*
                    $( CommandKind::$o => &[$(Role::$orole),*], )*
                }
            }

            /// The platform states that allow it (RULES.md §4); none for a command not on a platform.
            pub const fn allowed_in(self) -> &'static [Status] {
                match self {
                    $( CommandKind::$p => $states, )*
                    $( CommandKind::$o => &[], )*
                }
            }

            /// Its request schema, the OpenAPI component named after it, and the components
            /// that schema refers to.
            pub fn schemas(self) -> Vec<(String, RefOr<Schema>)> {
                fn of<T: ToSchema>() -> Vec<(String, RefOr<Schema>)> {
                    let mut out = vec![(T::name().into_owned(), <T as utoipa::PartialSchema>::schema())];
                    T::schemas(&mut out);
                    out
                }
                match self {
                    $( CommandKind::$p => of::<$p>(), )*
                    $( CommandKind::$o => of::<$o>(), )*
                }
            }

            /// The platform command of this kind read from its fields; `None` when this kind is
            /// not a platform command.
            pub fn platform_command<F: Fields>(self, fields: F) -> Option<Result<PlatformCommand, F::Error>> {
                match self {
                    $( CommandKind::$p => Some(fields.parse().map(PlatformCommand::$p)), )*
                    $( CommandKind::$o => None, )*
                }
            }
        }

        impl PlatformCommand {
            /// Its kind in the registry.
            pub const fn kind(&self) -> CommandKind {
                match self {
                    $( PlatformCommand::$p(_) => CommandKind::$p, )*
                }
            }
        }
    };
}

registry! {
    platform {
        SubmitApplication => "application", [Applicant], MAY_APPLY;
        AmendApplication => "amendment", [Applicant], BEFORE_PROVINCE;
        WithdrawApplication => "withdrawal", [Applicant], PENDING;
        EndorseByCity => "city-endorsement", [City], &[Status::Submitted];
        RecommendByProvince => "province-recommendation", [Province], BEFORE_PROVINCE;
        RejectByProvince => "province-rejection", [Province], BEFORE_PROVINCE;
        RecordExpertEvaluation => "expert-evaluation", [Ministry], &[Status::Recommended];
        StartPublicNotice => "public-notice", [Ministry], &[Status::Evaluated];
        RecordNoticeObjection => "notice-objection", [Ministry], &[Status::OnNotice];
        // RULES.md §13: anyone, on the public face; the decision checks the notice period, so
        // a late objection is told the day the notice ended.
        FileObjection => "objection", [Public], ANY_STATE;
        ListPlatform => "listing", [Ministry], &[Status::OnNotice];
        RecordService => "service", [Applicant, Ministry], ON_ROSTER;
        RecordServices => "services", [Applicant, Ministry], ON_ROSTER;
        UpdateServiceOffer => "service-offer", [Applicant], ON_ROSTER;
        // RULES.md §13: the public face issues it for each matching listed platform.
        PostNeed => "need", [Public], ON_ROSTER;
        RespondToNeed => "need-response", [Applicant], ON_ROSTER;
        RetractService => "service-retraction", [Ministry], ON_ROSTER;
        ReportIncident => "incident", [Applicant, Province, Ministry], ANY_STATE;
        AssessIncident => "incident-assessment", [Ministry, Province], ANY_STATE;
        OpenReview => "review", [Ministry, System], ON_ROSTER;
        ConcludeReview => "review-conclusion", [Ministry, System], &[Status::UnderReview];
        RecordAnnualEvaluation => "annual-evaluation", [Ministry], ON_ROSTER;
        DelistPlatform => "delisting", [Ministry, System], ON_ROSTER;
    }
    other {
        OpenRound => [Ministry];
        // RULES.md §8: target sets are data analysts maintain (and provinces, for their own plan;
        // the set's scope is checked in `TargetSet::check_scope`).
        DefineTargetSet => [Ministry, Analyst, Province];
        RetireTargetSet => [Ministry, Analyst, Province];
        // The bioreactor open competition (RULES.md §9), on a call's stream: the lead for its
        // bid, the lead's province, the ministry with CAS, the scheduler (C-8).
        OpenCall => [Ministry];
        SubmitBid => [Applicant];
        WithdrawBid => [Applicant];
        RecommendBid => [Province];
        DeclineBid => [Province];
        EvaluateBid => [Ministry];
        ShortlistBid => [Ministry];
        PublishList => [Ministry];
        SignAgreement => [Ministry];
        ReportMilestone => [Applicant];
        FlagMilestoneOverdue => [System];
        RecordThirdPartyEvaluation => [Ministry];
        DeclareSuccess => [Ministry];
    }
}

/// How many platform commands the registry declares.
pub const PLATFORM_COMMANDS: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < CommandKind::ALL.len() {
        if CommandKind::ALL[i].is_platform() {
            n += 1;
        }
        i += 1;
    }
    n
};

/// `POST /api/v1/platforms/{id}/{route}` → command name, derived from the registry.
pub const ROUTES: [(&str, &str); PLATFORM_COMMANDS] = {
    let mut out = [("", ""); PLATFORM_COMMANDS];
    let (mut i, mut j) = (0, 0);
    while i < CommandKind::ALL.len() {
        if let Some(route) = CommandKind::ALL[i].route() {
            out[j] = (route, CommandKind::ALL[i].name());
            j += 1;
        }
        i += 1;
    }
    out
};

impl CommandKind {
    /// The command named `name` (`type` in a request).
    pub fn named(name: &str) -> Option<CommandKind> {
        CommandKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The platform command routed at `POST /api/v1/platforms/{id}/{route}`.
    pub fn routed(route: &str) -> Option<CommandKind> {
        CommandKind::ALL
            .iter()
            .copied()
            .find(|k| k.route() == Some(route))
    }

    /// Whether it acts on a platform's stream.
    pub const fn is_platform(self) -> bool {
        self.route().is_some()
    }

    /// The platform commands, in registry order.
    pub fn platform() -> impl Iterator<Item = CommandKind> {
        CommandKind::ALL.iter().copied().filter(|k| k.is_platform())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_routes_are_unique() {
        let mut names: Vec<&str> = CommandKind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CommandKind::ALL.len());
        let mut routes: Vec<&str> = CommandKind::ALL.iter().filter_map(|k| k.route()).collect();
        routes.sort_unstable();
        routes.dedup();
        assert_eq!(routes.len(), CommandKind::platform().count());
    }

    #[test]
    fn every_command_has_a_role_and_every_platform_command_a_state() {
        for k in CommandKind::ALL {
            assert!(!k.roles().is_empty(), "{} has no role", k.name());
            assert_eq!(k.is_platform(), !k.allowed_in().is_empty(), "{}", k.name());
        }
    }
}
