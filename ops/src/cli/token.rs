//! `roster token create|revoke`: bearer tokens, printed once, stored as their hash.

use anyhow::{bail, Context};
use clap::Subcommand;
use roster_app::App;
use roster_domain::access::validate_jurisdiction;
use roster_domain::actor::Role;
use roster_domain::store::{TokenRecord, TokenStore};

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Create a token; it is printed once and only its hash is stored.
    Create {
        /// applicant, city, province, ministry, analyst
        #[arg(long)]
        role: String,
        /// USCC (applicant), 6-digit city code (city), province code 11..65 or XPCC (province).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Who holds it (shown in the audit log as the actor id).
        #[arg(long, default_value = "")]
        label: String,
    },
    /// Revoke a token.
    Revoke { token: String },
}

pub(crate) async fn create_token(
    tokens: &dyn TokenStore,
    role: Role,
    jurisdiction: Option<&str>,
    label: &str,
) -> anyhow::Result<String> {
    let jurisdiction = validate_jurisdiction(role, jurisdiction).map_err(anyhow::Error::msg)?;
    let token = roster_http::generate_token();
    let label = if label.is_empty() {
        format!(
            "{role}{}",
            jurisdiction
                .as_deref()
                .map(|j| format!("-{j}"))
                .unwrap_or_default()
        )
    } else {
        label.to_string()
    };
    tokens
        .insert_token(TokenRecord {
            token_hash: roster_http::hash_token(&token),
            actor_id: label.clone(),
            role,
            jurisdiction,
            label,
            created_at: chrono::Utc::now(),
            revoked_at: None,
        })
        .await?;
    Ok(token)
}

pub(crate) async fn run(app: &App, command: TokenCommand) -> anyhow::Result<()> {
    let tokens = app.tokens();
    match command {
        TokenCommand::Create {
            role,
            jurisdiction,
            label,
        } => {
            let role = Role::parse(&role)
                .filter(|r| *r != Role::System)
                .with_context(|| {
                    format!("unknown role '{role}' (applicant, city, province, ministry, analyst)")
                })?;
            println!(
                "{}",
                create_token(tokens.as_ref(), role, jurisdiction.as_deref(), &label).await?
            );
        }
        TokenCommand::Revoke { token } => {
            if !tokens
                .revoke_token(&roster_http::hash_token(&token), chrono::Utc::now())
                .await?
            {
                bail!("no such token");
            }
            println!("revoked");
        }
    }
    Ok(())
}
