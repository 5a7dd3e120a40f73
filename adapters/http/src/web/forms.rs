//! The dashboard's form of each command: its title, its fields and how each is entered. The
//! registry (`roster_domain::registry`) says who may issue a command and in which states; this
//! file says how a page asks for it, in one exhaustive match, so a command added to the registry
//! does not compile until it is given a form here or is declared API-only. The pages offer the
//! forms the registry allows to the viewer in the platform's state (`offered`), and `/ui/act`
//! reads a posted form back into the command's JSON fields (`fields`), which then parse into the
//! typed command exactly as an API request does.

use maud::{html, Markup};
use roster_domain::error::Refusal;
use roster_domain::platform::Status;
use roster_domain::registry::CommandKind;
use serde_json::{json, Map, Value};

use super::Viewer;

/// A text in both languages of the dashboard.
#[derive(Clone, Copy)]
pub(super) struct Words {
    pub zh: &'static str,
    pub en: &'static str,
}

const fn w(zh: &'static str, en: &'static str) -> Words {
    Words { zh, en }
}

/// How a field is entered, and so what JSON its text becomes.
pub(super) enum Input {
    /// One line of text: a string, left out when empty.
    Text,
    /// Several lines: an array of strings, one per non-empty line.
    Lines,
    /// A whole number in a range: an integer.
    Number { min: i64, max: i64 },
    /// A choice among values: the chosen value's string.
    Choice(&'static [(&'static str, Words)]),
    /// A value the page sets (the review a conclusion is for): a string.
    Preset,
}

/// When a field is shown.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Shown {
    Always,
    /// Only for an application that fails a hard rule (the override of RULES.md §5).
    WhenRulesFail,
}

pub(super) struct Field {
    pub name: &'static str,
    pub label: Words,
    pub input: Input,
    /// Refused before the command is sent when left empty.
    pub required: bool,
    /// The text the field starts with.
    pub initial: Option<Words>,
    pub shown: Shown,
}

const fn field(name: &'static str, label: Words, input: Input) -> Field {
    Field {
        name,
        label,
        input,
        required: false,
        initial: None,
        shown: Shown::Always,
    }
}

const fn required(mut f: Field) -> Field {
    f.required = true;
    f
}

/// What a form acts on besides its platform.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Subject {
    /// The platform itself.
    Platform,
    /// One open review of the platform (one form per open review).
    OpenReview,
}

/// A command's form on the pages.
pub(super) struct CommandForm {
    pub kind: CommandKind,
    /// Its name in a posted form (`action`) and its CSS class.
    pub action: &'static str,
    /// The summary a user opens the form with.
    pub title: Words,
    pub submit: Words,
    /// A destructive or negative act: shown in the warning colour.
    pub danger: bool,
    pub subject: Subject,
    pub fields: &'static [Field],
}

const RECOMMEND: CommandForm = CommandForm {
    kind: CommandKind::RecommendByProvince,
    action: "recommend",
    title: w("推荐", "Recommend"),
    submit: w("提交推荐", "Submit recommendation"),
    danger: false,
    subject: Subject::Platform,
    fields: &[
        Field {
            initial: Some(w("同意推荐", "Recommended")),
            ..required(field("opinion", w("推荐意见", "Opinion"), Input::Text))
        },
        field("rank", w("排序", "Rank"), Input::Number { min: 1, max: 5 }),
        Field {
            shown: Shown::WhenRulesFail,
            ..field(
                "override_reason",
                w(
                    "不符合硬性条件仍推荐的理由",
                    "Reason to recommend despite a failed rule",
                ),
                Input::Text,
            )
        },
    ],
};

const REJECT: CommandForm = CommandForm {
    kind: CommandKind::RejectByProvince,
    action: "reject",
    title: w("不予推荐", "Reject"),
    submit: w("不予推荐", "Reject"),
    danger: true,
    subject: Subject::Platform,
    fields: &[required(field(
        "reasons",
        w("理由（每行一条）", "Reasons (one per line)"),
        Input::Lines,
    ))],
};

const LIST: CommandForm = CommandForm {
    kind: CommandKind::ListPlatform,
    action: "list",
    title: w("公示期满，入列", "List (after the notice)"),
    submit: w("确认入列", "List the platform"),
    danger: false,
    subject: Subject::Platform,
    fields: &[],
};

const CONCLUDE: CommandForm = CommandForm {
    kind: CommandKind::ConcludeReview,
    action: "conclude",
    title: w("作出复核结论", "Conclude"),
    submit: w("提交结论", "Submit conclusion"),
    danger: false,
    subject: Subject::OpenReview,
    fields: &[
        field("review_id", w("复核", "Review"), Input::Preset),
        field(
            "outcome",
            w("结论", "Outcome"),
            Input::Choice(&[
                ("passed", w("通过", "passed")),
                ("failed", w("不通过（撤销）", "failed (delists)")),
            ]),
        ),
        field(
            "reasons",
            w("理由（每行一条）", "Reasons (one per line)"),
            Input::Lines,
        ),
    ],
};

/// The form of a command, or `None` for a command issued through the API only (and by the
/// system's policies). Exhaustive: a new command must be given its answer here.
pub(super) const fn form(kind: CommandKind) -> Option<&'static CommandForm> {
    match kind {
        CommandKind::RecommendByProvince => Some(&RECOMMEND),
        CommandKind::RejectByProvince => Some(&REJECT),
        CommandKind::ListPlatform => Some(&LIST),
        CommandKind::ConcludeReview => Some(&CONCLUDE),
        CommandKind::SubmitApplication
        | CommandKind::AmendApplication
        | CommandKind::WithdrawApplication
        | CommandKind::EndorseByCity
        | CommandKind::RecordExpertEvaluation
        | CommandKind::StartPublicNotice
        | CommandKind::RecordNoticeObjection
        | CommandKind::RecordService
        | CommandKind::RetractService
        | CommandKind::ReportIncident
        | CommandKind::AssessIncident
        | CommandKind::OpenReview
        | CommandKind::RecordAnnualEvaluation
        | CommandKind::DelistPlatform
        | CommandKind::OpenRound
        | CommandKind::DefineTargetSet
        | CommandKind::RetireTargetSet => None,
    }
}

/// Every command that has a form, in the registry's order.
pub(super) fn all() -> impl Iterator<Item = &'static CommandForm> {
    CommandKind::ALL.iter().filter_map(|k| form(*k))
}

/// The form posted under `action`.
pub(super) fn by_action(action: &str) -> Option<&'static CommandForm> {
    all().find(|f| f.action == action)
}

/// The forms about `subject` that the registry lets this viewer issue on a platform in
/// `status`: the roles and states are the registry's, so the pages offer exactly what the
/// command service would accept from them (jurisdiction and deadlines are still checked there).
pub(super) fn offered(
    v: &Viewer,
    subject: Subject,
    status: Status,
) -> impl Iterator<Item = &'static CommandForm> + '_ {
    all().filter(move |f| {
        f.subject == subject
            && f.kind.roles().contains(&v.actor.role)
            && f.kind.allowed_in().contains(&status)
    })
}

impl CommandForm {
    /// The form's own fields, for a platform that fails a hard rule or not.
    pub(super) fn render(&self, v: &Viewer, envelope: Markup, rules_fail: bool) -> Markup {
        let class = if self.danger { "danger" } else { "primary" };
        html! {
            details class={"act " (self.action)} {
                summary { (v.t(self.title.zh, self.title.en)) }
                form method="post" action="/ui/act" class=(self.action) {
                    (envelope)
                    @for f in self.fields.iter().filter(|f| f.shown == Shown::Always || rules_fail) {
                        (f.render(v))
                    }
                    button class=(class) type="submit" { (v.t(self.submit.zh, self.submit.en)) }
                }
            }
        }
    }

    /// The posted fields as the command's JSON fields. A required field left empty and a
    /// number or choice that is not one are refused here, naming the field, before anything is
    /// sent; everything else is the command's own parsing and the domain's rules.
    pub(super) fn fields(&self, posted: &[(String, String)]) -> Result<Value, Refusal> {
        let mut out = Map::new();
        for f in self.fields {
            let text = posted
                .iter()
                .find(|(k, _)| k == f.name)
                .map(|(_, v)| v.trim())
                .unwrap_or_default();
            let value = match &f.input {
                Input::Lines => {
                    let lines: Vec<&str> = text
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect();
                    if lines.is_empty() {
                        None
                    } else {
                        Some(json!(lines))
                    }
                }
                _ if text.is_empty() => None,
                Input::Number { .. } => Some(json!(text.parse::<i64>().map_err(|_| {
                    Refusal::invalid(f.name, format!("{} '{text}' is not a number", f.name))
                })?)),
                Input::Choice(choices) => {
                    if !choices.iter().any(|(c, _)| *c == text) {
                        let names: Vec<&str> = choices.iter().map(|(c, _)| *c).collect();
                        return Err(Refusal::invalid(
                            f.name,
                            format!("no {} '{text}'; one of {}", f.name, names.join(", ")),
                        ));
                    }
                    Some(json!(text))
                }
                Input::Text | Input::Preset => Some(json!(text)),
            };
            match value {
                Some(value) => {
                    out.insert(f.name.to_string(), value);
                }
                None if f.required => {
                    return Err(Refusal::invalid(
                        f.name,
                        format!(
                            "{} ({}) is required",
                            f.name,
                            if matches!(f.input, Input::Lines) {
                                "at least one line"
                            } else {
                                "not empty"
                            }
                        ),
                    ))
                }
                None => {}
            }
        }
        Ok(Value::Object(out))
    }
}

impl Field {
    fn render(&self, v: &Viewer) -> Markup {
        let label = v.t(self.label.zh, self.label.en);
        let initial = self.initial.map(|i| v.t(i.zh, i.en));
        html! {
            @match &self.input {
                Input::Preset => {}
                Input::Text => label { (label) input type="text" name=(self.name) required[self.required] value=[initial]; }
                Input::Lines => label { (label) textarea name=(self.name) rows="2" required[self.required] { (initial.unwrap_or_default()) } }
                Input::Number { min, max } => label { (label) input type="number" name=(self.name) min=(min) max=(max) size="3" required[self.required] value=[initial]; }
                Input::Choice(choices) => label { (label)
                    select name=(self.name) {
                        @for (value, words) in choices.iter() { option value=(value) { (v.t(words.zh, words.en)) } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_unique_and_name_a_command_with_a_form() {
        let mut seen = std::collections::HashSet::new();
        for f in all() {
            assert!(seen.insert(f.action), "{} twice", f.action);
            assert_eq!(by_action(f.action).map(|g| g.kind), Some(f.kind));
            assert!(
                f.kind.route().is_some(),
                "{} is not a platform command",
                f.kind.name()
            );
        }
        assert!(by_action("nothing").is_none());
    }

    fn posted(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_posted_form_becomes_the_commands_fields() {
        let v = RECOMMEND
            .fields(&posted(&[
                ("opinion", " 同意 "),
                ("rank", "2"),
                ("override_reason", ""),
                ("csrf", "ignored"),
            ]))
            .unwrap();
        assert_eq!(v, json!({"opinion": "同意", "rank": 2}));
        let v = CONCLUDE
            .fields(&posted(&[
                ("review_id", "r-1"),
                ("outcome", "failed"),
                ("reasons", "a\n\n b \n"),
            ]))
            .unwrap();
        assert_eq!(
            v,
            json!({"review_id": "r-1", "outcome": "failed", "reasons": ["a", "b"]})
        );
        assert_eq!(LIST.fields(&[]).unwrap(), json!({}));
    }

    #[test]
    fn an_empty_required_field_a_bad_number_and_a_bad_choice_name_their_field() {
        let r = REJECT.fields(&posted(&[("reasons", " \n ")])).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("reasons"));
        let r = RECOMMEND
            .fields(&posted(&[("opinion", "x"), ("rank", "two")]))
            .unwrap_err();
        assert_eq!(r.field.as_deref(), Some("rank"));
        assert!(r.message.contains("'two'"), "{}", r.message);
        let r = RECOMMEND.fields(&posted(&[("rank", "1")])).unwrap_err();
        assert_eq!(r.field.as_deref(), Some("opinion"));
        let r = CONCLUDE
            .fields(&posted(&[("review_id", "r"), ("outcome", "maybe")]))
            .unwrap_err();
        assert_eq!(r.field.as_deref(), Some("outcome"));
    }
}
