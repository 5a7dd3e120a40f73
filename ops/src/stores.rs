//! The composition root's choices: the stores (PostgreSQL when a database URL is given, else
//! the embedded SQLite file, the default, no server needed) and the application built over
//! them, once per process.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use roster_app::{App, Backends, Settings};
use roster_domain::clock::SystemClock;
use roster_domain::policies::PolicyConfig;

/// The application of a one-shot CLI command: read models caught up in this process, acts
/// recorded at the system clock, stalls judged by the log (`roster status`).
pub fn one_shot(backends: Backends, stall_after: std::time::Duration) -> App {
    App::new(
        backends,
        Arc::new(SystemClock),
        Settings::one_shot(PolicyConfig::default(), stall_after),
    )
}

pub async fn open(database_url: Option<&str>, data_file: &Path) -> anyhow::Result<Backends> {
    match database_url {
        Some(url) => {
            let pg = roster_postgres::PgStore::connect(url)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
            pg.migrate().await.context("PostgreSQL migrations failed")?;
            Ok(Backends::on(
                Arc::new(pg),
                format!("PostgreSQL {}", redact(url)),
            ))
        }
        None => {
            if let Some(dir) = data_file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let sqlite = Arc::new(roster_sqlite::SqliteStore::open(data_file).with_context(
                || format!("cannot open the SQLite store {}", data_file.display()),
            )?);
            Ok(Backends::on(
                sqlite,
                format!("SQLite {}", data_file.display()),
            ))
        }
    }
}

/// Hides a password in a connection URL for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
