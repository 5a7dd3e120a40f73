//! Authorisation on role and jurisdiction (RULES.md §10). Checked before any decision; a refusal
//! appends nothing and is written to the audit log by the command service.

use crate::actor::{Actor, Role};
use crate::commands::PlatformCommand;
use crate::error::Refusal;
use crate::platform::Platform;
use crate::registry::CommandKind;
use crate::values::{CityCode, Province, Uscc};

/// Which roles may issue a command at all (declared in `crate::registry`).
pub fn roles_for(command: CommandKind) -> &'static [Role] {
    command.roles()
}

/// Refuses (`forbidden`) an actor whose role may not issue the command at all (RULES.md §10);
/// the jurisdiction is checked separately by `check_scope`.
pub fn check_role(actor: &Actor, command: CommandKind) -> Result<(), Refusal> {
    let roles = roles_for(command);
    if roles.contains(&actor.role) {
        Ok(())
    } else {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Refusal::forbidden(format!(
            "a {} may not {}; only {}",
            actor.role,
            command.name(),
            if names.is_empty() {
                "nobody".to_string()
            } else {
                names.join(", ")
            }
        ))
        .zh(format!("{}无权办理此事项", actor.role.name_zh())))
    }
}

fn actor_province(actor: &Actor) -> Option<Province> {
    actor.jurisdiction.as_deref().and_then(Province::parse)
}

/// Checks that the actor acts within its jurisdiction on this platform. For a submission on a
/// new stream, the platform is judged by the submitted form.
pub fn check_scope(
    actor: &Actor,
    platform: &Platform,
    command: &PlatformCommand,
) -> Result<(), Refusal> {
    let (uscc, province, city): (Option<&Uscc>, Option<Province>, Option<&CityCode>) =
        match (command, platform.form.as_ref()) {
            (PlatformCommand::SubmitApplication(s), None) => (
                Some(&s.form.applicant.uscc),
                Some(s.form.applicant.province),
                Some(&s.form.applicant.city),
            ),
            (_, Some(f)) => (
                Some(&f.applicant.uscc),
                Some(f.applicant.province),
                Some(&f.applicant.city),
            ),
            (_, None) => (None, None, None),
        };
    match actor.role {
        Role::Ministry | Role::System => Ok(()),
        Role::Analyst => Err(Refusal::forbidden("analysts read only").zh("分析人员只能查阅")),
        Role::Anonymous => Err(Refusal::forbidden("sign in first").zh("请先登录")),
        // The public files objections on a platform on public notice and posts needs to listed
        // platforms (the registry allows it nothing else); whether the platform is public is
        // the application's to check.
        Role::Public => match command {
            PlatformCommand::FileObjection(_) | PlatformCommand::PostNeed(_) => Ok(()),
            _ => Err(Refusal::forbidden("sign in first").zh("请先登录")),
        },
        Role::Applicant => {
            let own = actor
                .jurisdiction
                .as_deref()
                .and_then(|j| Uscc::parse(j).ok());
            if let PlatformCommand::SubmitApplication(s) = command {
                if own.as_ref() != Some(&s.form.applicant.uscc) {
                    return Err(Refusal::forbidden(format!(
                        "applicant {} may apply only under its own USCC, not {}",
                        actor.jurisdiction.as_deref().unwrap_or("?"),
                        s.form.applicant.uscc
                    ))
                    .zh(format!(
                        "申报单位只能以本单位的统一社会信用代码申报，不能用 {}",
                        s.form.applicant.uscc
                    )));
                }
            }
            if own.is_some() && own.as_ref() == uscc {
                Ok(())
            } else {
                Err(Refusal::forbidden(format!(
                    "applicant {} acts only on its own platforms",
                    actor.jurisdiction.as_deref().unwrap_or("?")
                ))
                .zh("申报单位只能办理本单位平台的事项"))
            }
        }
        Role::City => {
            let c = actor.jurisdiction.as_deref().and_then(CityCode::parse);
            match (c, province) {
                (Some(c), Some(_)) if Some(&c) == city => Ok(()),
                _ => Err(Refusal::forbidden(format!(
                    "city {} acts only on applicants of its own city ({})",
                    actor.jurisdiction.as_deref().unwrap_or("?"),
                    city.map(|c| c.as_str()).unwrap_or("unknown")
                ))
                .zh("市级用户只能办理本市申报单位的事项")),
            }
        }
        Role::Province => match (actor_province(actor), province) {
            (Some(a), Some(p)) if a == p => Ok(()),
            _ => Err(Refusal::forbidden(format!(
                "province {} acts only on applications of its own province ({})",
                actor.jurisdiction.as_deref().unwrap_or("?"),
                province.map(|p| p.code()).unwrap_or("unknown")
            ))
            .zh("省级用户只能办理本省的申报")),
        },
    }
}

/// Does this platform exist for this actor when it acts on it? Those who may read it; and for
/// the public, a platform that has been on public notice (RULES.md §13), never one before.
pub fn may_act_on(actor: &Actor, platform: &Platform) -> bool {
    can_read(actor, platform) || (actor.role == Role::Public && platform.notice.is_some())
}

/// May this actor read this platform's detail and history?
pub fn can_read(actor: &Actor, platform: &Platform) -> bool {
    match actor.role {
        Role::Ministry | Role::System | Role::Analyst => true,
        Role::Anonymous | Role::Public => false,
        Role::Applicant => {
            let own = actor
                .jurisdiction
                .as_deref()
                .and_then(|j| Uscc::parse(j).ok());
            own.is_some() && own.as_ref() == platform.applicant_uscc()
        }
        Role::City => {
            let c = actor.jurisdiction.as_deref().and_then(CityCode::parse);
            c.is_some() && c.as_ref() == platform.city()
        }
        Role::Province => {
            actor_province(actor).is_some() && actor_province(actor) == platform.province()
        }
    }
}

/// May this actor see a row about the unit `uscc` of `city` in `province` (listings, reports)?
pub fn sees(actor: &Actor, uscc: &str, city: &str, province: &str) -> bool {
    match actor.role {
        Role::Ministry | Role::Analyst | Role::System => true,
        Role::Anonymous | Role::Public => false,
        Role::Applicant => actor.jurisdiction.as_deref() == Some(uscc),
        Role::City => actor.jurisdiction.as_deref() == Some(city),
        Role::Province => actor_province(actor).is_some_and(|p| p.code() == province),
    }
}

/// Validates an actor's jurisdiction for its role (used when tokens are created).
pub fn validate_jurisdiction(
    role: Role,
    jurisdiction: Option<&str>,
) -> Result<Option<String>, String> {
    match role {
        Role::Anonymous | Role::Public => Err(format!("no token can be {role}")),
        Role::Ministry | Role::Analyst | Role::System => match jurisdiction {
            None | Some("") => Ok(None),
            Some(j) => Err(format!("role {role} has no jurisdiction (got '{j}')")),
        },
        Role::Applicant => {
            let j = jurisdiction
                .ok_or("an applicant token needs the applicant's USCC as jurisdiction")?;
            Uscc::parse(j)
                .map(|u| Some(u.to_string()))
                .map_err(|e| format!("invalid USCC '{j}': {e}"))
        }
        Role::City => {
            let j =
                jurisdiction.ok_or("a city token needs the 6-digit city code as jurisdiction")?;
            CityCode::parse(j)
                .map(|c| Some(c.to_string()))
                .ok_or_else(|| format!("city code '{j}' is not in GB/T 2260"))
        }
        Role::Province => {
            let j = jurisdiction.ok_or(
                "a province token needs the province code (11..65 or XPCC) as jurisdiction",
            )?;
            Province::parse(j)
                .map(|p| Some(p.to_string()))
                .ok_or_else(|| format!("unknown province code '{j}'"))
        }
    }
}
