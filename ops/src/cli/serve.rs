//! `roster serve` (the composition root of a serving process) and the illustrative demo.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use roster::demo;
use roster_app::{App, Backends, Runtime, Settings, Transport};
use roster_domain::actor::Role;
use roster_domain::clock::SystemClock;

use super::import::operator_name;
use super::token::create_token;

/// The configurable parameters of dynamic management (RULES.md §7).
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct PolicyArgs {
    /// D-2: a triennial review opens this many days before it is due.
    #[arg(long, env = "ROSTER_REVIEW_WINDOW_DAYS", default_value_t = 90)]
    review_window_days: u64,
    /// D-5: a strain leak with at least this direct loss (CNY) delists (较大, Decree 493).
    #[arg(
        long,
        env = "ROSTER_MAJOR_LOSS_THRESHOLD",
        default_value_t = 10_000_000
    )]
    major_loss_threshold: u64,
    /// D-4/D-6: an incident re-review is due this many days after it opens.
    #[arg(long, env = "ROSTER_INCIDENT_REVIEW_DAYS", default_value_t = 90)]
    incident_review_days: u64,
}

/// Rate limits of the API and the dashboard (0 turns one off, e.g. for a load test on a
/// trusted network), and when a projection counts as stalled. Behind a reverse proxy every client shares the proxy's address: give the
/// per-address budget room for that.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct LimitArgs {
    /// Requests per second from one client address (sustained).
    #[arg(long, env = "ROSTER_RATE_PER_ADDRESS", default_value_t = 100)]
    rate_per_address: u32,
    /// Requests from one client address in a burst.
    #[arg(long, env = "ROSTER_BURST_PER_ADDRESS", default_value_t = 200)]
    burst_per_address: u32,
    /// Requests per second with one token (sustained).
    #[arg(long, env = "ROSTER_RATE_PER_TOKEN", default_value_t = 50)]
    rate_per_token: u32,
    /// Requests with one token in a burst.
    #[arg(long, env = "ROSTER_BURST_PER_TOKEN", default_value_t = 100)]
    burst_per_token: u32,
    /// Failed authentications (no, unknown or revoked token; failed sign-in) per minute from
    /// one address; beyond it 429, not audited.
    #[arg(long, env = "ROSTER_FAILED_AUTH_PER_MINUTE", default_value_t = 30)]
    failed_auth_per_minute: u32,
    /// Requests per second from one client address to the public face (the public pages and
    /// `/api/public`, open to anyone without a token), sustained.
    #[arg(long, env = "ROSTER_PUBLIC_RATE_PER_ADDRESS", default_value_t = 10)]
    public_rate_per_address: u32,
    /// Requests from one client address to the public face in a burst.
    #[arg(long, env = "ROSTER_PUBLIC_BURST_PER_ADDRESS", default_value_t = 60)]
    public_burst_per_address: u32,
    /// Objections one client address may file on the public face per hour.
    #[arg(long, env = "ROSTER_OBJECTIONS_PER_HOUR", default_value_t = 5)]
    objections_per_hour: u32,
    /// The longest wait, in seconds, between attempts at a webhook whose receiver fails (the
    /// wait doubles from 1 s up to it).
    #[arg(long, env = "ROSTER_WEBHOOK_RETRY_CAP", default_value_t = 300, value_parser = clap::value_parser!(i64).range(1..=86_400))]
    webhook_retry_cap: i64,
    /// A read model or the policy consumer behind the log whose checkpoint has not moved for
    /// this many seconds is stalled: /ready answers 503, /metrics and the status say so.
    #[arg(long, env = "ROSTER_STALL_AFTER_SECONDS", default_value_t = 120)]
    stall_after_seconds: u64,
    /// With --amqp-url: a consumer (or the leading relay) without its broker subscription for
    /// this many seconds is missing: /ready answers 503, /metrics and the status say so.
    #[arg(long, env = "ROSTER_SUBSCRIPTION_GRACE_SECONDS", default_value_t = 5)]
    subscription_grace_seconds: u64,
}

/// E-mail of notifications (off unless a relay is given).
#[derive(clap::Args)]
pub(crate) struct MailArgs {
    /// The SMTP relay notifications are mailed through, `smtp://host[:port]` (plain SMTP to a
    /// relay on the intranet, which delivers onward). Without it no e-mail is sent; the
    /// notification centre works either way.
    #[arg(long, env = "ROSTER_SMTP_URL")]
    smtp_url: Option<String>,
    /// The sender of the notifications.
    #[arg(
        long,
        env = "ROSTER_MAIL_FROM",
        default_value = "roster-noreply@localhost"
    )]
    mail_from: String,
}

impl MailArgs {
    pub(crate) fn settings(&self) -> anyhow::Result<Option<roster_app::mailer::MailSettings>> {
        self.smtp_url
            .as_deref()
            .map(|url| {
                roster_app::mailer::MailSettings::parse(url, &self.mail_from)
                    .map_err(anyhow::Error::msg)
            })
            .transpose()
    }
}

impl LimitArgs {
    pub(crate) fn config(&self) -> roster_http::limits::LimitConfig {
        roster_http::limits::LimitConfig {
            per_address_per_second: self.rate_per_address,
            per_address_burst: self.burst_per_address,
            per_token_per_second: self.rate_per_token,
            per_token_burst: self.burst_per_token,
            failures_per_minute: self.failed_auth_per_minute,
            public_per_address_per_second: self.public_rate_per_address,
            public_per_address_burst: self.public_burst_per_address,
            objections_per_hour: self.objections_per_hour,
        }
    }
}

impl PolicyArgs {
    pub(crate) fn config(&self) -> roster_domain::policies::PolicyConfig {
        roster_domain::policies::PolicyConfig {
            major_loss_threshold: roster_domain::values::Cny(self.major_loss_threshold),
            incident_review_days: self.incident_review_days,
            review_window_days: self.review_window_days,
        }
    }
}

pub(crate) async fn load_demo(app: &App) -> anyhow::Result<()> {
    println!(
        "Loading the ILLUSTRATIVE demo (fictional units) into {} …",
        app.backends().description
    );
    let operator = operator_name(None)
        .map(|n| format!("{n} (roster demo)"))
        .unwrap_or_else(|_| "roster demo".into());
    let report = demo::load(app, &operator).await?;
    println!(
        "  {} commands accepted, {} already loaded",
        report.accepted, report.already_loaded
    );
    for (label, why) in &report.refused_as_meant {
        println!("  refused as the scenario intends: {label}: {why}");
    }
    Ok(())
}

/// `roster serve`: the composition root of a serving process. The application is built once
/// over the stores, with the broker transport when a RabbitMQ URL is given (else the read
/// models and the policy consumer run in-process); its background runtime and the HTTP server
/// run until Ctrl-C.
pub(crate) async fn serve(
    backends: Backends,
    database_url: Option<&str>,
    broker: Option<roster_rabbitmq::BrokerConfig>,
    listen: SocketAddr,
    demo: bool,
    (policy, limits, mail): (
        roster_domain::policies::PolicyConfig,
        &LimitArgs,
        Option<roster_app::mailer::MailSettings>,
    ),
) -> anyhow::Result<()> {
    let transport = if broker.is_some() {
        Transport::Broker
    } else {
        Transport::Local
    };
    let settings = Settings {
        stall_after: std::time::Duration::from_secs(limits.stall_after_seconds),
        subscription_grace: std::time::Duration::from_secs(limits.subscription_grace_seconds),
        mail,
        webhook_retry_cap_secs: limits.webhook_retry_cap,
        ..Settings::serving(policy, transport)
    };
    let app = App::new(backends, Arc::new(SystemClock), settings);
    if demo {
        load_demo(&app).await?;
        println!("Sign-in tokens for the demo (shown once):");
        for (role, j) in [
            (Role::Ministry, None),
            (Role::Analyst, None),
            (Role::Province, Some("44")),
            (Role::City, Some("440300")),
            (Role::Province, Some("32")),
        ] {
            let t = create_token(app.tokens().as_ref(), role, j, "").await?;
            println!("  {:<9} {:<7} {t}", role.as_str(), j.unwrap_or(""));
        }
    }
    let broker = match broker {
        Some(cfg) => Some(
            roster::broker::start(
                app.backends(),
                app.shared_log(),
                database_url,
                cfg,
                Some(app.policy_consumer()),
            )
            .await?,
        ),
        None => None,
    };
    if let Some(t) = &broker {
        app.wake_after_commit(t.wake_relay.clone());
        app.report_subscriptions(t.subscriptions.clone());
    }
    let runtime = Runtime::start(&app);
    let state = roster_http::AppState::new(app.clone()).with_limits(limits.config());
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!(
        "Serving on http://{addr} ({}, read models {}); dashboard at http://{addr}/ui (sign in with a token); OpenAPI at /api/v1/openapi.json; Ctrl-C stops.",
        app.backends().description,
        if broker.is_some() { "fed through RabbitMQ" } else { "in-process" }
    );
    roster_http::run(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    runtime.stop();
    if let Some(t) = broker {
        t.stop().await;
    }
    Ok(())
}
