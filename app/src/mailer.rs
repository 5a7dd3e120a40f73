//! E-mail of notifications (邮件通知): a user who leaves an address in the notification centre
//! is sent, through the SMTP relay the operator configures (`roster serve --smtp-url`), the same
//! notifications the centre lists (`roster_domain::notify`). The sender follows the log from its
//! own checkpoint (`mailer` in the read-model store, so `roster status` would show it behind),
//! records each delivery before it moves on, and keeps the checkpoint still while the relay
//! refuses or is down, so an outage delays mail and loses none. A crash between sending and
//! recording a delivery can send that one message twice (at least once, never lost).

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use roster_domain::access::sees;
use roster_domain::actor::Actor;
use roster_domain::error::code;
use roster_domain::events::{decode_platform, PlatformEvent};
use roster_domain::notify::tells;
use roster_domain::Refusal;
use roster_projections::store::DocChange;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::App;

/// The sender's checkpoint and delivery records in the read-model store.
pub const MAILER: &str = "mailer";
/// Users' addresses (their own setting, not rebuilt from the log).
pub const MAIL_SUBSCRIPTIONS: &str = "mail_subscriptions";
/// Events read per pass.
const BATCH: usize = 200;

/// Where mail goes out: a relay host and port (plain SMTP, as to a relay on the intranet that
/// delivers onward), and the sender's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub host: String,
    pub port: u16,
    pub from: String,
}

impl MailSettings {
    /// `smtp://host[:port]` (port 25 by default) and the sender's address; either unreadable is
    /// refused with what is wrong.
    pub fn parse(url: &str, from: &str) -> Result<MailSettings, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("the SMTP URL '{url}' does not start with smtp://"))?
            .trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("the SMTP port '{p}' is not a port number"))?,
            ),
            None => (rest, 25),
        };
        if host.is_empty() || host.contains(['@', '/']) {
            return Err(format!("the SMTP URL '{url}' names no host"));
        }
        from.parse::<Mailbox>()
            .map_err(|e| format!("the sender address '{from}' is not an e-mail address: {e}"))?;
        Ok(MailSettings {
            host: host.to_string(),
            port,
            from: from.to_string(),
        })
    }
}

/// A user's address, with who they are (what they may see and are told of).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MailSubscription {
    pub actor: Actor,
    pub email: String,
}

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(code::UNAVAILABLE, format!("the store is unavailable: {e}"))
}

fn key_of(actor: &Actor) -> String {
    format!("{}:{}", actor.role, actor.id)
}

/// The key of one delivery: the event and the address (hashed: keys stay short and plain).
fn delivery_key(event_id: uuid::Uuid, email: &str) -> String {
    let h = hex::encode(Sha256::digest(email.to_lowercase().as_bytes()));
    format!("sent:{event_id}:{}", &h[..16])
}

impl App {
    /// The address the actor gets notifications at, if any.
    pub async fn mail_address(&self, actor: &Actor) -> Result<Option<String>, Refusal> {
        crate::reads::reader(actor)?;
        let docs = self
            .models()
            .load(MAIL_SUBSCRIPTIONS, &[key_of(actor)])
            .await
            .map_err(unavailable)?;
        Ok(docs
            .into_values()
            .next()
            .and_then(|d| serde_json::from_value::<MailSubscription>(d).ok())
            .map(|s| s.email))
    }

    /// Sets (or with `None` removes) the actor's address; an address that is not one is refused.
    pub async fn set_mail_address(
        &self,
        actor: &Actor,
        email: Option<&str>,
    ) -> Result<(), Refusal> {
        crate::reads::reader(actor)?;
        let doc = match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => {
                let mailbox: Mailbox = e.parse().map_err(|err| {
                    Refusal::invalid("email", format!("'{e}' is not an e-mail address: {err}"))
                        .zh(format!("“{e}”不是电子邮箱地址"))
                })?;
                if mailbox.name.is_some() || e.len() > 254 {
                    return Err(Refusal::invalid(
                        "email",
                        format!("'{e}' is not a plain e-mail address"),
                    )
                    .zh(format!("“{e}”不是单纯的电子邮箱地址（只填地址，不带姓名）")));
                }
                Some(json!(MailSubscription {
                    actor: actor.clone(),
                    email: mailbox.email.to_string(),
                }))
            }
            None => None,
        };
        let models = self.models();
        // The subscriptions move no checkpoint: commit from where it is to where it is.
        for _ in 0..5 {
            let at = models
                .state(MAIL_SUBSCRIPTIONS)
                .await
                .map_err(unavailable)?
                .checkpoint;
            let outcome = models
                .commit(
                    MAIL_SUBSCRIPTIONS,
                    at,
                    at,
                    0,
                    vec![DocChange {
                        key: key_of(actor),
                        doc: doc.clone(),
                    }],
                    vec![],
                )
                .await
                .map_err(unavailable)?;
            if outcome == roster_projections::store::CommitOutcome::Committed {
                return Ok(());
            }
        }
        Err(Refusal::new(
            code::UNAVAILABLE,
            "the address could not be saved; try again",
        )
        .zh("邮箱地址未能保存，请重试"))
    }

    /// One pass of the sender: mails the notifications of the events after its checkpoint and
    /// moves it past each event once every message of that event is out. How many messages it
    /// sent; an error (the relay down, the store unavailable) leaves the checkpoint where the
    /// first unsent message is.
    pub async fn send_notifications(
        &self,
        transport: &AsyncSmtpTransport<Tokio1Executor>,
        from: &Mailbox,
    ) -> Result<usize, String> {
        let models = self.models();
        let mut at = models
            .state(MAILER)
            .await
            .map_err(|e| e.to_string())?
            .checkpoint;
        let events = self
            .events()
            .read_all_after(at, BATCH)
            .await
            .map_err(|e| e.to_string())?;
        if events.is_empty() {
            return Ok(0);
        }
        let subscriptions: Vec<MailSubscription> = models
            .scan(MAIL_SUBSCRIPTIONS, "")
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|(_, d)| serde_json::from_value(d).ok())
            .collect();
        self.catch_up_catalog().await.map_err(|e| e.to_string())?;
        let mut sent = 0;
        for e in &events {
            let recipients: Vec<(&MailSubscription, String)> = match (
                roster_projections::models::platform_id(e),
                subscriptions.is_empty(),
            ) {
                (Some(platform_id), false) => {
                    let catalog = self.catalog().await;
                    match catalog.platforms.get(platform_id) {
                        Some(p) => subscriptions
                            .iter()
                            .filter(|s| {
                                sees(&s.actor, &p.uscc, &p.city, &p.province)
                                    && tells(&s.actor, &e.event_type, &e.metadata.actor)
                            })
                            .map(|s| (s, p.platform_name.clone()))
                            .collect(),
                        None => Vec::new(),
                    }
                }
                _ => Vec::new(),
            };
            for (s, platform_name) in recipients {
                let key = delivery_key(e.event_id, &s.email);
                let done = models
                    .load(MAILER, std::slice::from_ref(&key))
                    .await
                    .map_err(|e| e.to_string())?;
                if !done.is_empty() {
                    continue;
                }
                let message = compose(e, &platform_name, from, &s.email)?;
                transport
                    .send(message)
                    .await
                    .map_err(|err| format!("the SMTP relay refused or is unreachable: {err}"))?;
                sent += 1;
                models
                    .commit(
                        MAILER,
                        at,
                        at,
                        0,
                        vec![DocChange {
                            key,
                            doc: Some(json!({"to": s.email, "sent_at": self.now()})),
                        }],
                        vec![],
                    )
                    .await
                    .map_err(|e| e.to_string())?;
            }
            let to = e.checkpoint();
            models
                .commit(MAILER, at, to, 1, vec![], vec![])
                .await
                .map_err(|e| e.to_string())?;
            at = to;
        }
        Ok(sent)
    }
}

/// The message of one notification, in Chinese (the users' language), with the platform's page.
fn compose(
    e: &roster_domain::store::StoredEvent,
    platform_name: &str,
    from: &Mailbox,
    to: &str,
) -> Result<Message, String> {
    let (zh, _) = PlatformEvent::names(&e.event_type).unwrap_or(("事项", ""));
    let summary = decode_platform(&e.event_type, e.schema_version, &e.payload)
        .map(|p| roster_projections::models::timeline::summary_zh(&p))
        .unwrap_or_default();
    let platform_id = roster_projections::models::platform_id(e).unwrap_or_default();
    let body = format!(
        "平台：{platform_name}（{platform_id}）\n事项：{zh}\n业务日期：{}\n记录时间：{}（北京时间）\n内容：{summary}\n\n请登录系统查看：/ui/platforms/{platform_id}\n\n（本邮件由生物制造中试平台名单系统自动发送，请勿回复。）\n",
        e.metadata.business_date,
        e.metadata.recorded_at
            .with_timezone(&roster_domain::clock::beijing())
            .format("%Y-%m-%d %H:%M"),
    );
    Message::builder()
        .from(from.clone())
        .to(to
            .parse()
            .map_err(|err| format!("the address '{to}' cannot be mailed: {err}"))?)
        .subject(format!("【中试平台名单】{platform_name}：{zh}"))
        // One id per event and address: a message sent twice (a crash between sending and
        // recording it) is recognisably the same message.
        .message_id(Some(format!(
            "<{}.{}@roster>",
            e.event_id,
            &hex::encode(Sha256::digest(to.to_lowercase().as_bytes()))[..16]
        )))
        .header(lettre::message::header::ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|err| format!("the message could not be built: {err}"))
}

/// The relay's transport and the sender's mailbox for `settings`.
pub fn transport(
    settings: &MailSettings,
) -> Result<(AsyncSmtpTransport<Tokio1Executor>, Mailbox), String> {
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|e| format!("the sender address is not an e-mail address: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        .port(settings.port)
        .timeout(Some(std::time::Duration::from_secs(20)))
        .build();
    Ok((transport, from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_url_and_a_sender_are_read_or_refused_with_the_reason() {
        assert_eq!(
            MailSettings::parse("smtp://relay.example.gov.cn:2525", "roster@example.gov.cn"),
            Ok(MailSettings {
                host: "relay.example.gov.cn".into(),
                port: 2525,
                from: "roster@example.gov.cn".into()
            })
        );
        assert_eq!(
            MailSettings::parse("smtp://127.0.0.1", "a@b.cn")
                .unwrap()
                .port,
            25
        );
        assert!(MailSettings::parse("http://x", "a@b.cn")
            .unwrap_err()
            .contains("smtp://"));
        assert!(MailSettings::parse("smtp://x:port", "a@b.cn")
            .unwrap_err()
            .contains("port"));
        assert!(MailSettings::parse("smtp://x", "not an address")
            .unwrap_err()
            .contains("sender"));
    }
}
