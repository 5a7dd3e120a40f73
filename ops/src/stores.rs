//! Chooses the event store: PostgreSQL when a database URL is given, else the embedded SQLite
//! file (the default, no server needed).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use roster_domain::store::{DeadlineStore, EventStore, TokenStore};
use roster_projections::ReadModelStore;

pub struct Stores {
    pub events: Arc<dyn EventStore>,
    pub tokens: Arc<dyn TokenStore>,
    pub models: Arc<dyn ReadModelStore>,
    pub deadlines: Arc<dyn DeadlineStore>,
    pub description: String,
}

impl Stores {
    pub fn backends(&self) -> roster_http::Backends {
        roster_http::Backends {
            events: self.events.clone(),
            tokens: self.tokens.clone(),
            models: self.models.clone(),
            deadlines: self.deadlines.clone(),
        }
    }
}

pub async fn open(database_url: Option<&str>, data_file: &Path) -> anyhow::Result<Stores> {
    match database_url {
        Some(url) => {
            let pg = roster_postgres::PgStore::connect(url)
                .await
                .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
            pg.migrate().await.context("PostgreSQL migrations failed")?;
            let pg = Arc::new(pg);
            Ok(Stores {
                events: pg.clone(),
                tokens: pg.clone(),
                models: pg.clone(),
                deadlines: pg,
                description: format!("PostgreSQL {}", redact(url)),
            })
        }
        None => {
            if let Some(dir) = data_file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let sqlite = Arc::new(roster_sqlite::SqliteStore::open(data_file).with_context(
                || format!("cannot open the SQLite store {}", data_file.display()),
            )?);
            Ok(Stores {
                events: sqlite.clone(),
                tokens: sqlite.clone(),
                models: sqlite.clone(),
                deadlines: sqlite,
                description: format!("SQLite {}", data_file.display()),
            })
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
