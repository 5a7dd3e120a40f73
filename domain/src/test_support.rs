//! What the rule tests of both contexts build their commands with.

use crate::actor::{Actor, Role};
use crate::commands::{CommandMeta, Envelope};
use crate::samples::date;

/// An actor of `role` with jurisdiction `j`.
pub(crate) fn actor(role: Role, j: Option<&str>) -> Actor {
    Actor {
        id: format!("{role}-user"),
        role,
        jurisdiction: j.map(String::from),
    }
}

/// Command `c` by `a`, taking effect on `on`, with a command id derived from both.
pub(crate) fn cmd<C: std::fmt::Debug>(a: Actor, on: &str, c: C) -> Envelope<C> {
    Envelope {
        meta: CommandMeta {
            command_id: uuid::Uuid::new_v5(
                &uuid::Uuid::NAMESPACE_OID,
                format!("{on}{c:?}").as_bytes(),
            ),
            actor: a,
            business_date: date(on),
        },
        command: c,
    }
}
