//! `DeadlineStore` on PostgreSQL (`migrations/0004_deadlines.sql`). Scheduling inserts with
//! `ON CONFLICT DO NOTHING` and settling only moves a row out of `pending`, so replays and
//! concurrent schedulers are harmless: the first settlement wins and the rest see `false`.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::policies::{Deadline, DeadlineKind};
use roster_domain::store::{DeadlineRecord, DeadlineState, DeadlineStore, StoreError};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::error::from_pg;
use crate::{release, PgStore};

const COLUMNS: &str = "deadline_id, platform_id, kind, listed_on, due_on, fire_on, scheduled_by, \
     state, scheduled_at, settled_at, command_id, note";

fn deadline_from_row(row: &Row) -> Result<Deadline, StoreError> {
    let kind: String = row.try_get("kind").map_err(from_pg)?;
    Ok(Deadline {
        deadline_id: row.try_get("deadline_id").map_err(from_pg)?,
        platform_id: row.try_get("platform_id").map_err(from_pg)?,
        kind: DeadlineKind::parse(&kind)
            .ok_or_else(|| StoreError::Other(format!("unknown deadline kind {kind}")))?,
        listed_on: row.try_get("listed_on").map_err(from_pg)?,
        due_on: row.try_get("due_on").map_err(from_pg)?,
        fire_on: row.try_get("fire_on").map_err(from_pg)?,
        scheduled_by: row.try_get("scheduled_by").map_err(from_pg)?,
    })
}

fn record_from_row(row: &Row) -> Result<DeadlineRecord, StoreError> {
    let state: String = row.try_get("state").map_err(from_pg)?;
    Ok(DeadlineRecord {
        deadline: deadline_from_row(row)?,
        state: DeadlineState::parse(&state)
            .ok_or_else(|| StoreError::Other(format!("unknown deadline state {state}")))?,
        scheduled_at: row.try_get("scheduled_at").map_err(from_pg)?,
        settled_at: row.try_get("settled_at").map_err(from_pg)?,
        command_id: row.try_get("command_id").map_err(from_pg)?,
        note: row.try_get("note").map_err(from_pg)?,
    })
}

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl DeadlineStore for PgStore {
    async fn schedule(&self, deadlines: &[Deadline], at: DateTime<Utc>) -> Result<u64, StoreError> {
        if deadlines.is_empty() {
            return Ok(0);
        }
        let ids: Vec<&str> = deadlines.iter().map(|d| d.deadline_id.as_str()).collect();
        let platforms: Vec<&str> = deadlines.iter().map(|d| d.platform_id.as_str()).collect();
        let kinds: Vec<&str> = deadlines.iter().map(|d| d.kind.as_str()).collect();
        let listed: Vec<NaiveDate> = deadlines.iter().map(|d| d.listed_on).collect();
        let due: Vec<NaiveDate> = deadlines.iter().map(|d| d.due_on).collect();
        let fire: Vec<NaiveDate> = deadlines.iter().map(|d| d.fire_on).collect();
        let by: Vec<Uuid> = deadlines.iter().map(|d| d.scheduled_by).collect();
        let client = self.client().await?;
        let result = client
            .execute(
                "INSERT INTO deadlines (deadline_id, platform_id, kind, listed_on, due_on, fire_on,
                     scheduled_by, scheduled_at)
                 SELECT *, $8 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::date[],
                     $5::date[], $6::date[], $7::uuid[])
                 ON CONFLICT (deadline_id) DO NOTHING",
                &[&ids, &platforms, &kinds, &listed, &due, &fire, &by, &at],
            )
            .await
            .map_err(from_pg);
        release(client, result)
    }

    async fn cancel_pending(
        &self,
        platform_id: &str,
        listed_on: NaiveDate,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "UPDATE deadlines SET state = 'cancelled', settled_at = $3, note = $4
                 WHERE platform_id = $1 AND listed_on = $2 AND state = 'pending'",
                &[&platform_id, &listed_on, &at, &note],
            )
            .await
            .map_err(from_pg);
        release(client, result)
    }

    async fn due(&self, today: NaiveDate, limit: usize) -> Result<Vec<Deadline>, StoreError> {
        let client = self.client().await?;
        let result = async {
            let rows = client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM deadlines
                         WHERE state = 'pending' AND fire_on <= $1
                         ORDER BY fire_on, deadline_id LIMIT $2"
                    ),
                    &[&today, &limit_param(limit)],
                )
                .await
                .map_err(from_pg)?;
            rows.iter().map(deadline_from_row).collect()
        }
        .await;
        release(client, result)
    }

    async fn settle(
        &self,
        deadline_id: &str,
        state: DeadlineState,
        command_id: Uuid,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "UPDATE deadlines SET state = $2, command_id = $3, note = $4, settled_at = $5
                 WHERE deadline_id = $1 AND state = 'pending'",
                &[&deadline_id, &state.as_str(), &command_id, &note, &at],
            )
            .await
            .map(|n| n > 0)
            .map_err(from_pg);
        release(client, result)
    }

    async fn deadlines(
        &self,
        pending_only: bool,
        limit: usize,
    ) -> Result<Vec<DeadlineRecord>, StoreError> {
        let client = self.client().await?;
        let result = async {
            let rows = client
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM deadlines
                         WHERE state = 'pending' OR NOT $1
                         ORDER BY fire_on, deadline_id LIMIT $2"
                    ),
                    &[&pending_only, &limit_param(limit)],
                )
                .await
                .map_err(from_pg)?;
            rows.iter().map(record_from_row).collect()
        }
        .await;
        release(client, result)
    }
}
