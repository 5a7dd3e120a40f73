//! An applicant's drafts (暂存) and the attachments (佐证材料) of applications: the use cases
//! behind the application pages. A draft is the applicant's private working copy, never an
//! event; an attachment is stored content-addressed by the SHA-256 of its bytes and read only
//! through a platform (or a draft) that references it, by whoever may read that platform (or
//! owns that draft).

use roster_domain::actor::{Actor, Role};
use roster_domain::error::{code, Refusal};
use roster_domain::form::Evidence;
use roster_domain::store::{Draft, StoreError, StoredFile};
use sha2::{Digest, Sha256};

use crate::App;

/// The largest attachment accepted: 10 MiB (a scanned document of a few dozen pages).
pub const ATTACHMENT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// The most drafts one applicant keeps.
pub const DRAFTS_MAX: usize = 20;
/// The most fields a draft keeps (the whole form with long equipment lists is far below).
pub const DRAFT_MAX_FIELDS: usize = 2000;
/// The longest text a draft keeps in one field.
pub const DRAFT_MAX_FIELD_CHARS: usize = 8000;

fn store_refusal(e: StoreError) -> Refusal {
    Refusal::new(code::UNAVAILABLE, format!("the store is unavailable: {e}"))
}

/// The media type of an accepted attachment, from its first bytes (never from the name or the
/// type the browser claims): PDF, PNG or JPEG.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else {
        None
    }
}

/// A draft id as pages make them up: `d-` and 8 to 32 lower-case hex digits or letters.
pub fn valid_draft_id(id: &str) -> bool {
    (3..=40).contains(&id.len())
        && id.starts_with("d-")
        && id[2..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl App {
    fn applicant_only(actor: &Actor, what: &str) -> Result<(), Refusal> {
        if actor.role == Role::Applicant {
            Ok(())
        } else {
            Err(Refusal::forbidden(format!(
                "only an applicant {what}; this user acts as {}",
                actor.role
            ))
            .zh(format!(
                "只有申报单位可以{}",
                if what.contains("draft") {
                    "填写草稿"
                } else {
                    "上传附件"
                }
            )))
        }
    }

    /// The actor's drafts, the most recently saved first.
    pub async fn drafts(&self, actor: &Actor) -> Result<Vec<Draft>, Refusal> {
        Self::applicant_only(actor, "keeps drafts")?;
        self.backends()
            .drafts
            .drafts(&actor.id)
            .await
            .map_err(store_refusal)
    }

    /// The actor's draft `draft_id`; not found for anyone else's.
    pub async fn draft(&self, actor: &Actor, draft_id: &str) -> Result<Draft, Refusal> {
        Self::applicant_only(actor, "keeps drafts")?;
        let missing = || {
            Refusal::not_found(format!("no draft {draft_id}")).zh(format!("没有草稿 {draft_id}"))
        };
        if !valid_draft_id(draft_id) {
            return Err(missing());
        }
        self.backends()
            .drafts
            .load_draft(&actor.id, draft_id)
            .await
            .map_err(store_refusal)?
            .ok_or_else(missing)
    }

    /// Saves the actor's draft as typed (valid or not), within bounds: at most `DRAFTS_MAX`
    /// drafts, `DRAFT_MAX_FIELDS` fields of at most `DRAFT_MAX_FIELD_CHARS` characters.
    pub async fn save_draft(
        &self,
        actor: &Actor,
        draft_id: &str,
        fields: Vec<(String, String)>,
    ) -> Result<Draft, Refusal> {
        Self::applicant_only(actor, "keeps drafts")?;
        if !valid_draft_id(draft_id) {
            return Err(
                Refusal::invalid("draft_id", format!("'{draft_id}' is not a draft id"))
                    .zh("草稿编号无效"),
            );
        }
        if fields.len() > DRAFT_MAX_FIELDS {
            return Err(Refusal::invalid(
                "draft",
                format!(
                    "a draft keeps at most {DRAFT_MAX_FIELDS} fields; this one has {}",
                    fields.len()
                ),
            )
            .zh(format!(
                "草稿至多保存 {DRAFT_MAX_FIELDS} 项，本草稿有 {} 项",
                fields.len()
            )));
        }
        if let Some((name, _)) = fields
            .iter()
            .find(|(_, v)| v.chars().count() > DRAFT_MAX_FIELD_CHARS)
        {
            return Err(Refusal::invalid(
                name,
                format!("{name} is longer than {DRAFT_MAX_FIELD_CHARS} characters"),
            )
            .zh(format!("此项超过 {DRAFT_MAX_FIELD_CHARS} 个字符")));
        }
        let store = &self.backends().drafts;
        let existing = store.drafts(&actor.id).await.map_err(store_refusal)?;
        if existing.len() >= DRAFTS_MAX && !existing.iter().any(|d| d.draft_id == draft_id) {
            return Err(Refusal::invalid(
                "draft",
                format!(
                    "at most {DRAFTS_MAX} drafts are kept; submit or delete one before starting another"
                ),
            ).zh(format!("至多保存 {DRAFTS_MAX} 份草稿；请先提交或删除一份")));
        }
        let draft = Draft {
            owner: actor.id.clone(),
            draft_id: draft_id.to_string(),
            fields,
            updated_at: self.now(),
        };
        store
            .save_draft(draft.clone())
            .await
            .map_err(store_refusal)?;
        Ok(draft)
    }

    /// Deletes the actor's draft; not found when there is none.
    pub async fn delete_draft(&self, actor: &Actor, draft_id: &str) -> Result<(), Refusal> {
        Self::applicant_only(actor, "keeps drafts")?;
        let deleted = valid_draft_id(draft_id)
            && self
                .backends()
                .drafts
                .delete_draft(&actor.id, draft_id)
                .await
                .map_err(store_refusal)?;
        if deleted {
            Ok(())
        } else {
            Err(Refusal::not_found(format!("no draft {draft_id}"))
                .zh(format!("没有草稿 {draft_id}")))
        }
    }

    /// Stores an applicant's attachment (or the attachment of an objection filed by the
    /// public): a PDF, PNG or JPEG (by its bytes) of at most `ATTACHMENT_MAX_BYTES`. The
    /// evidence entry that references it, titled `title`.
    pub async fn store_attachment(
        &self,
        actor: &Actor,
        title: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<Evidence, Refusal> {
        if actor.role != Role::Public {
            Self::applicant_only(actor, "uploads evidence")?;
        }
        if bytes.is_empty() {
            return Err(
                Refusal::invalid("file", format!("the file '{file_name}' is empty"))
                    .zh(format!("文件“{file_name}”是空的")),
            );
        }
        if bytes.len() > ATTACHMENT_MAX_BYTES {
            return Err(Refusal::new(
                code::BODY_TOO_LARGE,
                format!(
                    "the file '{file_name}' has {} bytes; an attachment has at most {} MiB",
                    bytes.len(),
                    ATTACHMENT_MAX_BYTES / (1024 * 1024)
                ),
            )
            .at("file")
            .zh(format!(
                "文件“{file_name}”超过 {} MiB",
                ATTACHMENT_MAX_BYTES / (1024 * 1024)
            )));
        }
        let media_type = sniff(&bytes).ok_or_else(|| {
            Refusal::invalid(
                "file",
                format!("the file '{file_name}' is not a PDF, PNG or JPEG (by its content)"),
            )
            .zh(format!(
                "文件“{file_name}”不是 PDF、PNG 或 JPEG（按文件内容判断）"
            ))
        })?;
        // The name as a one-line reference: no path, no control characters, bounded.
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or_default();
        let reference: String = base
            .chars()
            .filter(|c| !c.is_control())
            .take(roster_domain::input::NAME_MAX_CHARS)
            .collect();
        let title = title.trim();
        let title = if title.is_empty() {
            reference.clone()
        } else {
            title.to_string()
        };
        roster_domain::input::check_text("title", &title)?;
        roster_domain::input::check_text("reference", &reference)?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as u64;
        self.backends()
            .attachments
            .put_file(StoredFile {
                sha256: sha256.clone(),
                media_type: media_type.to_string(),
                bytes,
            })
            .await
            .map_err(store_refusal)?;
        Ok(Evidence {
            rule: None,
            title,
            reference: if reference.is_empty() {
                sha256[..12].to_string()
            } else {
                reference
            },
            sha256: Some(sha256),
            media_type: Some(media_type.to_string()),
            size: Some(size),
        })
    }

    async fn file(&self, sha256: &str) -> Result<StoredFile, Refusal> {
        self.backends()
            .attachments
            .get_file(sha256)
            .await
            .map_err(store_refusal)?
            .ok_or_else(|| Refusal::not_found(format!("no attachment {sha256}")).zh("没有此附件"))
    }

    /// An attachment of a platform's application, for whoever may read the platform; not found
    /// when the platform does not reference it (a hash alone opens nothing).
    pub async fn platform_attachment(
        &self,
        actor: &Actor,
        platform_id: &str,
        sha256: &str,
        what: &str,
    ) -> Result<(Evidence, StoredFile), Refusal> {
        let loaded = self.readable_platform(actor, platform_id, what).await?;
        let evidence = loaded
            .state
            .form
            .as_ref()
            .and_then(|f| {
                f.evidence
                    .iter()
                    .find(|e| e.sha256.as_deref() == Some(sha256))
            })
            // An objection's attachment: only the ministry reads it (others read the
            // platform with objections redacted, `readable_platform`).
            .or_else(|| {
                loaded
                    .state
                    .objections
                    .values()
                    .filter_map(|o| o.attachment.as_ref())
                    .find(|e| e.sha256.as_deref() == Some(sha256))
            })
            .cloned()
            .ok_or_else(|| {
                Refusal::not_found(format!("no attachment {sha256} on platform {platform_id}"))
                    .zh("本平台的申报材料中没有此附件")
            })?;
        Ok((evidence, self.file(sha256).await?))
    }

    /// A file of the actor's own draft (its fields name the hash).
    pub async fn draft_attachment(
        &self,
        actor: &Actor,
        draft_id: &str,
        sha256: &str,
    ) -> Result<StoredFile, Refusal> {
        let draft = self.draft(actor, draft_id).await?;
        if !draft.fields.iter().any(|(_, v)| v == sha256) {
            return Err(
                Refusal::not_found(format!("no attachment {sha256} in draft {draft_id}"))
                    .zh("本草稿中没有此附件"),
            );
        }
        self.file(sha256).await
    }

    /// Refuses an application whose evidence names a file the attachment store does not hold.
    /// Every file `evidence` names by hash is held; `at` is the list's path in the command
    /// (`form.evidence`, `declarations.evidence`, `evidence`), for the refusal.
    pub async fn check_attachments(&self, evidence: &[Evidence], at: &str) -> Result<(), Refusal> {
        for (i, e) in evidence.iter().enumerate() {
            if let Some(sha) = &e.sha256 {
                let held = self
                    .backends()
                    .attachments
                    .get_file(sha)
                    .await
                    .map_err(store_refusal)?
                    .is_some();
                if !held {
                    return Err(Refusal::invalid(
                        &format!("{at}[{i}].sha256"),
                        format!("no attachment {sha} was uploaded; upload the file first"),
                    )
                    .zh("所列附件尚未上传，请先上传文件"));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pdf_png_and_jpeg_by_their_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"<html><script>"), None);
        assert_eq!(sniff(b"PK\x03\x04"), None);
        assert_eq!(sniff(b"%PD"), None);
    }

    #[test]
    fn draft_ids_are_what_pages_make() {
        assert!(valid_draft_id("d-1a2b3c4d"));
        assert!(!valid_draft_id("d-"));
        assert!(!valid_draft_id("x-1a2b3c4d"));
        assert!(!valid_draft_id("d-../../etc"));
        assert!(!valid_draft_id(&format!("d-{}", "a".repeat(40))));
    }
}
