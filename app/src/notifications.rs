//! The notification centre (通知): the events of the user's platforms that concern them
//! (`roster_domain::notify`), newest first, read or not by the user's read mark.

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::access::sees;
use roster_domain::actor::Actor;
use roster_domain::error::code;
use roster_domain::notify::tells;
use roster_domain::Refusal;
use uuid::Uuid;

use crate::App;

/// The most notifications a page lists.
pub const NOTIFICATIONS_SHOWN: usize = 200;

/// One event a user is told of.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub event_id: Uuid,
    pub event_type: String,
    pub platform_id: String,
    pub platform_name: String,
    pub business_date: NaiveDate,
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub by: Actor,
    /// The timeline's one-line summary.
    pub summary: String,
    /// The same in Chinese (empty for a row written before it existed).
    pub summary_zh: String,
    /// Recorded after the user's read mark.
    pub unread: bool,
}

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(code::UNAVAILABLE, format!("the store is unavailable: {e}"))
}

impl App {
    /// The notifications of `actor`, newest recorded first (at most `NOTIFICATIONS_SHOWN`), and
    /// how many of all of them are unread.
    pub async fn notifications(
        &self,
        actor: &Actor,
    ) -> Result<(Vec<Notification>, usize), Refusal> {
        crate::reads::reader(actor)?;
        let read_upto = self
            .backends()
            .read_marks
            .read_upto(&actor.id)
            .await
            .map_err(unavailable)?;
        let mine: Vec<(String, String)> = {
            let catalog = self.catalog().await;
            catalog
                .platforms
                .values()
                .filter(|p| sees(actor, &p.uscc, &p.city, &p.province))
                .map(|p| (p.platform_id.clone(), p.platform_name.clone()))
                .collect()
        };
        let mut out = Vec::new();
        for (platform_id, platform_name) in mine {
            let timeline = self.platform_timeline_for(actor, &platform_id).await?;
            out.extend(
                timeline
                    .entries
                    .into_iter()
                    .filter(|e| tells(actor, &e.event_type, &e.actor))
                    .map(|e| Notification {
                        unread: read_upto.is_none_or(|r| e.recorded_at > r),
                        event_id: e.event_id,
                        event_type: e.event_type,
                        platform_id: platform_id.clone(),
                        platform_name: platform_name.clone(),
                        business_date: e.business_date,
                        recorded_at: e.recorded_at,
                        by: e.actor,
                        summary: e.summary,
                        summary_zh: e.summary_zh,
                    }),
            );
        }
        out.sort_by(|a, b| {
            b.recorded_at
                .cmp(&a.recorded_at)
                .then(b.event_id.cmp(&a.event_id))
        });
        let unread = out.iter().filter(|n| n.unread).count();
        out.truncate(NOTIFICATIONS_SHOWN);
        Ok((out, unread))
    }

    /// Marks read what the user saw: everything recorded up to `upto` (the newest notification
    /// their page showed; never later than now), so one recorded after they looked stays unread.
    pub async fn mark_notifications_read(
        &self,
        actor: &Actor,
        upto: Option<DateTime<Utc>>,
    ) -> Result<(), Refusal> {
        crate::reads::reader(actor)?;
        let now = self.now();
        let upto = upto.map_or(now, |u| u.min(now));
        self.backends()
            .read_marks
            .mark_read(&actor.id, upto)
            .await
            .map_err(unavailable)
    }
}
