//! Dashboard sessions. Signing in with a token opens a session: the browser holds only a random
//! session id in an HttpOnly, SameSite=Strict cookie; the server keeps the token's hash (so a
//! revoked token ends its sessions at the next request), a CSRF token for the session's forms,
//! and a one-shot message for the page after a form. Sessions live in the serving process: a
//! restart signs everyone out, which for a handful of ministry and provincial users is cheaper
//! than a sessions table (ARCHITECTURE.md).

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::{header, HeaderMap};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

pub(crate) const SESSION_COOKIE: &str = "roster_session";
/// The sign-in form's own CSRF value (double submit), before any session exists.
pub(crate) const SIGNIN_COOKIE: &str = "roster_signin";
pub(crate) const LANG_COOKIE: &str = "roster_lang";

/// A session ends this long after sign-in, whatever happens in between …
pub(crate) const SESSION_HOURS: i64 = 12;
/// … and earlier when no page was asked for this long (a screen left signed in on a bureau's
/// shared computer: review L10).
pub(crate) const IDLE_MINUTES: i64 = 30;
/// Live sessions one token may hold (a clerk's phone, desk and a colleague's screen): signing in
/// once more ends the least recently used one.
pub(crate) const SESSIONS_PER_TOKEN: usize = 20;
/// Live sessions in all: beyond it, the least recently used session ends.
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// The message shown once on the page a form redirects to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Flash {
    pub ok: bool,
    pub text: String,
    /// A refusal's code (`R-1`, `impossible_date` …): on the message as `data-code`, for
    /// support and tests, not shown as text.
    pub code: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub token_hash: String,
    pub csrf: String,
    pub expires: DateTime<Utc>,
    /// The last request of the session (the idle timeout counts from it).
    pub last_seen: DateTime<Utc>,
    pub flash: Option<Flash>,
}

impl Session {
    fn live(&self, now: DateTime<Utc>) -> bool {
        self.expires > now && now - self.last_seen <= Duration::minutes(IDLE_MINUTES)
    }
}

#[derive(Default)]
pub(crate) struct Sessions {
    /// By SHA-256 of the session id: a leaked memory dump does not hand out live cookies.
    by_id: Mutex<HashMap<String, Session>>,
}

/// 244 random bits from the OS, hex (two v4 UUIDs).
pub(crate) fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn key(session_id: &str) -> String {
    hex::encode(Sha256::digest(session_id.as_bytes()))
}

impl Sessions {
    /// Opens a session for a token; returns the session id for the cookie.
    pub(crate) fn open(&self, token_hash: String, now: DateTime<Utc>) -> String {
        let id = random_secret();
        let mut map = self.by_id.lock().expect("sessions lock");
        map.retain(|_, s| s.live(now));
        let least_recent = |map: &HashMap<String, Session>, same_token: bool| {
            map.iter()
                .filter(|(_, s)| !same_token || s.token_hash == token_hash)
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| k.clone())
        };
        if map.values().filter(|s| s.token_hash == token_hash).count() >= SESSIONS_PER_TOKEN {
            if let Some(k) = least_recent(&map, true) {
                map.remove(&k);
            }
        }
        if map.len() >= MAX_SESSIONS {
            if let Some(k) = least_recent(&map, false) {
                map.remove(&k);
            }
        }
        map.insert(
            key(&id),
            Session {
                token_hash,
                csrf: random_secret(),
                expires: now + Duration::hours(SESSION_HOURS),
                last_seen: now,
                flash: None,
            },
        );
        id
    }

    /// The live session of a cookie value, taking its one-shot message.
    pub(crate) fn take(&self, session_id: &str, now: DateTime<Utc>) -> Option<Session> {
        let mut map = self.by_id.lock().expect("sessions lock");
        let k = key(session_id);
        match map.get_mut(&k) {
            Some(s) if s.live(now) => {
                s.last_seen = now;
                let copy = s.clone();
                s.flash = None;
                Some(copy)
            }
            Some(_) => {
                map.remove(&k);
                None
            }
            None => None,
        }
    }

    pub(crate) fn flash(&self, session_id: &str, flash: Flash) {
        if let Some(s) = self
            .by_id
            .lock()
            .expect("sessions lock")
            .get_mut(&key(session_id))
        {
            s.flash = Some(flash);
        }
    }

    pub(crate) fn close(&self, session_id: &str) {
        self.by_id
            .lock()
            .expect("sessions lock")
            .remove(&key(session_id));
    }
}

/// A cookie's value from the request's `Cookie` headers (parsed by the `cookie` crate).
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// `Set-Cookie` for a secret: not readable by scripts, never sent on cross-site requests, and
/// only over TLS when the request came through TLS.
pub(crate) fn secret_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The server itself speaks plain HTTP; behind a TLS-terminating proxy the proxy says so
/// (`X-Forwarded-Proto: https` or RFC 7239 `Forwarded: proto=https`), and cookies get `Secure`.
pub(crate) fn behind_tls(headers: &HeaderMap) -> bool {
    let says = |name: &str, needle: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains(needle))
    };
    says("x-forwarded-proto", "https") || says("forwarded", "proto=https")
}

/// Compares secrets in time independent of where they differ (`subtle`).
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_expires_and_its_message_shows_once() {
        let s = Sessions::default();
        let now = Utc::now();
        let id = s.open("h".into(), now);
        s.flash(
            &id,
            Flash {
                ok: true,
                text: "done".into(),
                code: None,
            },
        );
        assert_eq!(s.take(&id, now).unwrap().flash.unwrap().text, "done");
        assert!(s.take(&id, now).unwrap().flash.is_none());
        // In use every 29 minutes, it lasts 12 hours and not a second more.
        let mut at = now;
        while at + Duration::minutes(29) < now + Duration::hours(SESSION_HOURS) {
            at += Duration::minutes(29);
            assert!(s.take(&id, at).is_some(), "{at}");
        }
        assert!(s
            .take(
                &id,
                now + Duration::hours(SESSION_HOURS) - Duration::seconds(1)
            )
            .is_some());
        assert!(s.take(&id, now + Duration::hours(SESSION_HOURS)).is_none());
        assert!(s.take(&id, now).is_none(), "an expired session is gone");
    }

    /// Review L10: a session nobody used for more than 30 minutes is over.
    #[test]
    fn sessions_are_bounded_per_token_and_in_all() {
        let sessions = Sessions::default();
        let t0 = Utc::now();
        let first = sessions.open("token-a".into(), t0);
        let mut ids = vec![first.clone()];
        for i in 1..SESSIONS_PER_TOKEN {
            ids.push(sessions.open("token-a".into(), t0 + Duration::seconds(i as i64)));
        }
        let later = t0 + Duration::seconds(100);
        // The first is used again, so the second is the least recently used one.
        assert!(sessions.take(&first, later).is_some());
        sessions.open("token-a".into(), later);
        assert!(
            sessions.take(&ids[1], later).is_none(),
            "least recent ended"
        );
        assert!(sessions.take(&first, later).is_some(), "recently used kept");
        assert!(sessions.take(&ids[2], later).is_some());
        // Other tokens are not affected by token-a's bound.
        let b = sessions.open("token-b".into(), later);
        assert!(sessions.take(&b, later).is_some());
        for i in 0..MAX_SESSIONS + 50 {
            sessions.open(format!("token-{i}"), later + Duration::seconds(1));
        }
        assert!(sessions.by_id.lock().unwrap().len() <= MAX_SESSIONS);
    }

    #[test]
    fn an_idle_session_ends_after_30_minutes() {
        let s = Sessions::default();
        let now = Utc::now();
        let id = s.open("h".into(), now);
        assert!(s.take(&id, now + Duration::minutes(IDLE_MINUTES)).is_some());
        let later = now + Duration::minutes(2 * IDLE_MINUTES);
        assert!(
            s.take(&id, later).is_some(),
            "30 minutes after the last page"
        );
        assert!(s
            .take(
                &id,
                later + Duration::minutes(IDLE_MINUTES) + Duration::seconds(1)
            )
            .is_none());
        assert!(s.take(&id, later).is_none(), "and gone");
    }

    #[test]
    fn cookies_are_found_among_others_and_secrets_compare_exactly() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; roster_session=xyz; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h, "roster"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        let c = secret_cookie(SESSION_COOKIE, "v", 60, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && !c.contains("Secure"));
        assert!(secret_cookie(SESSION_COOKIE, "v", 60, true).ends_with("; Secure"));
        let mut h = HeaderMap::new();
        assert!(!behind_tls(&h));
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(behind_tls(&h));
        let mut h = HeaderMap::new();
        h.insert("forwarded", "for=10.0.0.1;proto=https".parse().unwrap());
        assert!(behind_tls(&h));
    }
}
