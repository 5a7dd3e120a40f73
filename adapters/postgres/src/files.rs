//! `DraftStore` and `AttachmentStore` on PostgreSQL (`migrations/0006_drafts_and_attachments.sql`):
//! a draft is replaced whole on each save; a file is inserted once under its SHA-256 and a
//! second upload of the same bytes changes nothing.

use async_trait::async_trait;
use roster_domain::store::{AttachmentStore, Draft, DraftStore, StoreError, StoredFile};
use tokio_postgres::types::Json;
use tokio_postgres::Row;

use crate::error::from_pg;
use crate::{release, PgStore};

fn draft_from_row(row: &Row) -> Result<Draft, StoreError> {
    let Json(fields): Json<Vec<(String, String)>> = row.try_get("fields").map_err(from_pg)?;
    Ok(Draft {
        owner: row.try_get("owner").map_err(from_pg)?,
        draft_id: row.try_get("draft_id").map_err(from_pg)?,
        fields,
        updated_at: row.try_get("updated_at").map_err(from_pg)?,
    })
}

#[async_trait]
impl DraftStore for PgStore {
    async fn save_draft(&self, draft: Draft) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "INSERT INTO drafts (owner, draft_id, fields, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (owner, draft_id)
                 DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
                &[
                    &draft.owner,
                    &draft.draft_id,
                    &Json(&draft.fields),
                    &draft.updated_at,
                ],
            )
            .await
            .map(|_| ())
            .map_err(from_pg);
        release(client, result)
    }

    async fn load_draft(&self, owner: &str, draft_id: &str) -> Result<Option<Draft>, StoreError> {
        let client = self.client().await?;
        let result = async {
            let row = client
                .query_opt(
                    "SELECT owner, draft_id, fields, updated_at FROM drafts
                     WHERE owner = $1 AND draft_id = $2",
                    &[&owner, &draft_id],
                )
                .await
                .map_err(from_pg)?;
            row.as_ref().map(draft_from_row).transpose()
        }
        .await;
        release(client, result)
    }

    async fn drafts(&self, owner: &str) -> Result<Vec<Draft>, StoreError> {
        let client = self.client().await?;
        let result = async {
            let rows = client
                .query(
                    "SELECT owner, draft_id, fields, updated_at FROM drafts WHERE owner = $1
                     ORDER BY updated_at DESC, draft_id",
                    &[&owner],
                )
                .await
                .map_err(from_pg)?;
            rows.iter().map(draft_from_row).collect()
        }
        .await;
        release(client, result)
    }

    async fn delete_draft(&self, owner: &str, draft_id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "DELETE FROM drafts WHERE owner = $1 AND draft_id = $2",
                &[&owner, &draft_id],
            )
            .await
            .map(|n| n > 0)
            .map_err(from_pg);
        release(client, result)
    }
}

#[async_trait]
impl AttachmentStore for PgStore {
    async fn put_file(&self, file: StoredFile) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "INSERT INTO attachments (sha256, media_type, size, bytes) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sha256) DO NOTHING",
                &[
                    &file.sha256,
                    &file.media_type,
                    &(file.bytes.len() as i64),
                    &file.bytes,
                ],
            )
            .await
            .map(|_| ())
            .map_err(from_pg);
        release(client, result)
    }

    async fn get_file(&self, sha256: &str) -> Result<Option<StoredFile>, StoreError> {
        let client = self.client().await?;
        let result = async {
            let row = client
                .query_opt(
                    "SELECT sha256, media_type, bytes FROM attachments WHERE sha256 = $1",
                    &[&sha256],
                )
                .await
                .map_err(from_pg)?;
            row.map(|row| {
                Ok(StoredFile {
                    sha256: row.try_get("sha256").map_err(from_pg)?,
                    media_type: row.try_get("media_type").map_err(from_pg)?,
                    bytes: row.try_get("bytes").map_err(from_pg)?,
                })
            })
            .transpose()
        }
        .await;
        release(client, result)
    }
}

#[async_trait]
impl roster_domain::store::ReadMarkStore for PgStore {
    async fn mark_read(
        &self,
        owner: &str,
        upto: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let result = client
            .execute(
                "INSERT INTO read_marks (owner, read_upto) VALUES ($1, $2)
                 ON CONFLICT (owner) DO UPDATE
                 SET read_upto = greatest(read_marks.read_upto, excluded.read_upto)",
                &[&owner, &upto],
            )
            .await
            .map(drop)
            .map_err(from_pg);
        release(client, result)
    }

    async fn read_upto(
        &self,
        owner: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let client = self.client().await?;
        let result = async {
            let row = client
                .query_opt(
                    "SELECT read_upto FROM read_marks WHERE owner = $1",
                    &[&owner],
                )
                .await
                .map_err(from_pg)?;
            row.map(|r| r.try_get(0).map_err(from_pg)).transpose()
        }
        .await;
        release(client, result)
    }
}
