//! The background runtime of a serving process: the catalog kept current with events written by
//! other processes (an import beside the server), and dynamic management: with the local
//! transport the read models and then the policy consumer follow the log after every accepted
//! command and every 250 ms; the deadline scheduler runs every few seconds and whenever the
//! followers applied something. With broker consumers the read models and the policy consumer
//! run in the transport's tasks; only the scheduler runs here.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::App;

/// How often the scheduler looks for due deadlines when nothing wakes it.
const SCHEDULER_PERIOD: Duration = Duration::from_secs(5);
/// How often the local followers look at the log when nothing wakes them.
const FOLLOW_PERIOD: Duration = Duration::from_millis(250);
/// How often the catalog looks for events written by other processes.
const CATALOG_PERIOD: Duration = Duration::from_millis(500);

/// The running background tasks; stopped when dropped.
pub struct Runtime {
    tasks: Vec<JoinHandle<()>>,
}

impl Runtime {
    /// Starts the background work of `app` on the current tokio runtime.
    pub fn start(app: &App) -> Runtime {
        let catalog = {
            let app = app.clone();
            tokio::spawn(async move {
                loop {
                    if let Err(e) = app.catch_up_catalog().await {
                        tracing::warn!(error = %e, "catalog catch-up failed");
                    }
                    tokio::time::sleep(CATALOG_PERIOD).await;
                }
            })
        };
        let automation = tokio::spawn(automation_loop(app.clone()));
        let mut tasks = vec![catalog, automation];
        if let Some(mail) = app.settings().mail.clone() {
            tasks.push(tokio::spawn(mail_loop(app.clone(), mail)));
        }
        tasks.push(tokio::spawn(webhook_loop(app.clone())));
        Runtime { tasks }
    }

    /// Stops every task (also done on drop).
    pub fn stop(self) {}
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

async fn automation_loop(app: App) {
    let mut last_tick: Option<tokio::time::Instant> = None;
    loop {
        let moved = match app.follow_locally().await {
            Ok(moved) => moved,
            Err(e) => {
                tracing::warn!(error = %e, "in-process followers could not catch up; retrying");
                false
            }
        };
        if moved || last_tick.is_none_or(|t| t.elapsed() >= SCHEDULER_PERIOD) {
            last_tick = Some(tokio::time::Instant::now());
            match app.inner.scheduler.tick().await {
                // Fired reviews schedule their successors: go round again at once.
                Ok(fired) if !fired.is_empty() => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "the deadline scheduler failed; retrying"),
            }
        }
        let period = match app.inner.settings.transport {
            crate::Transport::Local => FOLLOW_PERIOD,
            crate::Transport::Broker => SCHEDULER_PERIOD,
        };
        let _ = tokio::time::timeout(period, app.inner.wake.notified()).await;
    }
}

/// How often the e-mail sender looks for new events; after a failure it waits `MAIL_RETRY`.
const MAIL_PERIOD: Duration = Duration::from_secs(1);
const MAIL_RETRY: Duration = Duration::from_secs(5);

/// How often the webhook sender looks for new events (each webhook waits out its own backoff).
const WEBHOOK_PERIOD: Duration = Duration::from_secs(1);

async fn webhook_loop(app: App) {
    let client = crate::webhooks::client();
    loop {
        match app.deliver_webhooks(&client).await {
            Ok(sent) if sent > 0 => tracing::info!(sent, "webhook deliveries made"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e.message, "webhook deliveries failed; retrying"),
        }
        tokio::time::sleep(WEBHOOK_PERIOD).await;
    }
}

async fn mail_loop(app: App, settings: crate::mailer::MailSettings) {
    let (transport, from) = match crate::mailer::transport(&settings) {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "e-mail of notifications is off");
            return;
        }
    };
    loop {
        match app.send_notifications(&transport, &from).await {
            Ok(sent) => {
                if sent > 0 {
                    tracing::info!(sent, "notifications mailed");
                }
                tokio::time::sleep(MAIL_PERIOD).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "notifications could not be mailed; retrying");
                tokio::time::sleep(MAIL_RETRY).await;
            }
        }
    }
}
