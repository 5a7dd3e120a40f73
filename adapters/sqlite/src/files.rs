//! `DraftStore` and `AttachmentStore` on SQLite, twins of the PostgreSQL ones
//! (`migrations/0005_drafts_and_attachments.sql`): the attachments live in the same database
//! file as the log that references them, so a backup of the file is a backup of both.

use async_trait::async_trait;
use roster_domain::store::{AttachmentStore, Draft, DraftStore, StoreError, StoredFile};
use rusqlite::{params, OptionalExtension, Row};

use crate::error::from_sqlite;
use crate::{conversion, time_at, time_text, SqliteStore};

fn draft_from_row(row: &Row) -> rusqlite::Result<Draft> {
    let fields: String = row.get(2)?;
    Ok(Draft {
        owner: row.get(0)?,
        draft_id: row.get(1)?,
        fields: serde_json::from_str(&fields).map_err(|e| conversion(2, e))?,
        updated_at: time_at(row, 3)?,
    })
}

#[async_trait]
impl DraftStore for SqliteStore {
    async fn save_draft(&self, draft: Draft) -> Result<(), StoreError> {
        let fields = serde_json::to_string(&draft.fields)
            .map_err(|e| StoreError::Other(format!("cannot encode the draft: {e}")))?;
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO drafts (owner, draft_id, fields, updated_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (owner, draft_id)
                 DO UPDATE SET fields = excluded.fields, updated_at = excluded.updated_at",
                params![
                    draft.owner,
                    draft.draft_id,
                    fields,
                    time_text(&draft.updated_at)
                ],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }

    async fn load_draft(&self, owner: &str, draft_id: &str) -> Result<Option<Draft>, StoreError> {
        let (owner, draft_id) = (owner.to_owned(), draft_id.to_owned());
        self.run(move |conn| {
            conn.query_row(
                "SELECT owner, draft_id, fields, updated_at FROM drafts
                 WHERE owner = ?1 AND draft_id = ?2",
                params![owner, draft_id],
                draft_from_row,
            )
            .optional()
            .map_err(from_sqlite)
        })
        .await
    }

    async fn drafts(&self, owner: &str) -> Result<Vec<Draft>, StoreError> {
        let owner = owner.to_owned();
        self.run(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT owner, draft_id, fields, updated_at FROM drafts WHERE owner = ?1
                     ORDER BY updated_at DESC, draft_id",
                )
                .map_err(from_sqlite)?;
            let rows = stmt
                .query_map([owner], draft_from_row)
                .map_err(from_sqlite)?;
            rows.collect::<Result<_, _>>().map_err(from_sqlite)
        })
        .await
    }

    async fn delete_draft(&self, owner: &str, draft_id: &str) -> Result<bool, StoreError> {
        let (owner, draft_id) = (owner.to_owned(), draft_id.to_owned());
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM drafts WHERE owner = ?1 AND draft_id = ?2",
                params![owner, draft_id],
            )
            .map(|n| n > 0)
            .map_err(from_sqlite)
        })
        .await
    }
}

#[async_trait]
impl AttachmentStore for SqliteStore {
    async fn put_file(&self, file: StoredFile) -> Result<(), StoreError> {
        self.run(move |conn| {
            conn.execute(
                "INSERT INTO attachments (sha256, media_type, size, bytes) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (sha256) DO NOTHING",
                params![
                    file.sha256,
                    file.media_type,
                    file.bytes.len() as i64,
                    file.bytes
                ],
            )
            .map_err(from_sqlite)?;
            Ok(())
        })
        .await
    }

    async fn get_file(&self, sha256: &str) -> Result<Option<StoredFile>, StoreError> {
        let sha256 = sha256.to_owned();
        self.run(move |conn| {
            conn.query_row(
                "SELECT sha256, media_type, bytes FROM attachments WHERE sha256 = ?1",
                [sha256],
                |row| {
                    Ok(StoredFile {
                        sha256: row.get(0)?,
                        media_type: row.get(1)?,
                        bytes: row.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(from_sqlite)
        })
        .await
    }
}

#[async_trait]
impl roster_domain::store::ReadMarkStore for SqliteStore {
    async fn mark_read(
        &self,
        owner: &str,
        upto: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        self.run(move |conn| {
            // Fixed-width UTC text sorts chronologically, so max() keeps the later mark.
            conn.execute(
                "INSERT INTO read_marks (owner, read_upto) VALUES (?1, ?2)
                 ON CONFLICT (owner) DO UPDATE SET read_upto = max(read_upto, excluded.read_upto)",
                params![owner, time_text(&upto)],
            )
            .map(drop)
            .map_err(from_sqlite)
        })
        .await
    }

    async fn read_upto(
        &self,
        owner: &str,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let owner = owner.to_owned();
        self.run(move |conn| {
            conn.query_row(
                "SELECT read_upto FROM read_marks WHERE owner = ?1",
                [owner],
                |row| time_at(row, 0),
            )
            .optional()
            .map_err(from_sqlite)
        })
        .await
    }
}
