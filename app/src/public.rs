//! What anyone reads without signing in (RULES.md §13): the roster as published, a listed
//! platform's public profile, the platforms on public notice, the published lists of the
//! bioreactor competition. Each answer is built from public fields only (`roster_projections::
//! public`, `Call::public_view`), so nothing private can reach it by a forgotten filter; a
//! platform that is not on the roster at the date answers exactly as one that does not exist.

use chrono::{DateTime, NaiveDate, Utc};
use roster_domain::actor::Actor;
use roster_domain::challenge::PublicCall;
use roster_domain::commands::{FileObjection, Need, PlatformCommand, PostNeed};
use roster_domain::platform::Status;
use roster_domain::request::valid_platform_id;
use roster_domain::request::{CommandOutcome, CommandRequest, Target};
use roster_domain::Refusal;
use roster_projections::models;
use roster_projections::public::{
    self, DirectoryQuery, NoticeEntry, PublicEntry, PublicProfile, PublicQuery,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{refused, App};

/// What an enterprise is told when it posts a need (RULES.md §13): its id and the listed
/// platforms it reached, in batch and 序号 order.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NeedReceipt {
    /// The need's id (需求编号), the same on every platform it reached.
    pub need_id: String,
    /// The day it was posted.
    pub posted_on: NaiveDate,
    /// The platforms it reached.
    pub reached: Vec<PublicEntry>,
    /// True when the same `command_id` was sent before and reached these platforms then
    /// (nothing was posted again).
    pub duplicate: bool,
}

impl App {
    async fn roster_documents(
        &self,
    ) -> Result<Vec<roster_projections::models::roster::RosterDoc>, Refusal> {
        self.read_your_writes().await;
        models::ROSTER
            .load(self.models().as_ref())
            .await
            .map_err(refused)
    }

    /// The roster as published at `q.as_of` (default today), in batch and 序号 order, with the
    /// date it is as of.
    pub async fn public_roster(
        &self,
        q: &PublicQuery,
    ) -> Result<(NaiveDate, Vec<PublicEntry>), Refusal> {
        let docs = self.roster_documents().await?;
        let today = self.today();
        Ok((q.as_of.unwrap_or(today), public::roster(&docs, q, today)))
    }

    /// The public profile of a platform on the roster at `as_of` (default today).
    pub async fn public_profile(
        &self,
        platform_id: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<PublicProfile, Refusal> {
        let missing = || {
            Refusal::not_found(format!("no listed platform {platform_id}"))
                .zh(format!("名单中没有平台 {platform_id}"))
        };
        if !valid_platform_id(platform_id) {
            return Err(missing());
        }
        let d = as_of.unwrap_or_else(|| self.today());
        let q = PublicQuery {
            as_of: Some(d),
            ..Default::default()
        };
        let docs = self.roster_documents().await?;
        let entry = public::roster(&docs, &q, d)
            .into_iter()
            .find(|e| e.platform_id == platform_id)
            .ok_or_else(missing)?;
        let doc = docs
            .iter()
            .find(|x| x.platform_id == platform_id)
            .ok_or_else(missing)?;
        let loaded = self.service().load_platform(platform_id).await?;
        Ok(public::profile(
            entry,
            doc,
            loaded.state.form.as_ref(),
            loaded.state.service_offer.as_ref(),
            d,
        ))
    }

    /// The directory of pilot services: the profiles of the platforms on the roster today that
    /// answer `q`, in batch and 序号 order.
    pub async fn public_directory(
        &self,
        q: &DirectoryQuery,
    ) -> Result<Vec<PublicProfile>, Refusal> {
        let today = self.today();
        let docs = self.roster_documents().await?;
        let mut out = Vec::new();
        for entry in public::roster(&docs, &PublicQuery::default(), today) {
            if q.domain.is_some_and(|d| !entry.domains.contains(&d))
                || q.province.is_some_and(|p| p.code() != entry.province)
            {
                continue;
            }
            let Some(doc) = docs.iter().find(|x| x.platform_id == entry.platform_id) else {
                continue;
            };
            let loaded = self.service().load_platform(&entry.platform_id).await?;
            let profile = public::profile(
                entry,
                doc,
                loaded.state.form.as_ref(),
                loaded.state.service_offer.as_ref(),
                today,
            );
            if public::matches(&profile, q) {
                out.push(profile);
            }
        }
        Ok(out)
    }

    /// The changes of the published roster that took effect by today (listed, delisted, star
    /// ratings, notices), newest first, at most `limit`.
    pub async fn public_changes(&self, limit: usize) -> Result<Vec<public::Change>, Refusal> {
        let docs = self.roster_documents().await?;
        Ok(public::changes(&docs, self.today(), limit))
    }

    /// The platforms on public notice on `on` (default today): the day is inside their notice
    /// period, both ends included.
    pub async fn public_notice(&self, on: Option<NaiveDate>) -> Result<Vec<NoticeEntry>, Refusal> {
        let d = on.unwrap_or_else(|| self.today());
        let docs = self.roster_documents().await?;
        let mut out = Vec::new();
        for doc in docs.iter().filter(|x| x.status_at(d) == Status::OnNotice) {
            let loaded = self.service().load_platform(&doc.platform_id).await?;
            if let Some((from, until)) = loaded.state.notice {
                if from <= d && d <= until {
                    out.push(public::notice_entry(doc, from, until));
                }
            }
        }
        out.sort_by(|a, b| {
            (a.until, &a.province, &a.unit_name).cmp(&(b.until, &b.province, &b.unit_name))
        });
        Ok(out)
    }

    /// A call of the bioreactor competition with its lists as published by `as_of` (default
    /// today).
    pub async fn public_call(
        &self,
        call_id: &str,
        as_of: Option<NaiveDate>,
    ) -> Result<PublicCall, Refusal> {
        let call = self.call_as_of(call_id, as_of, None).await?;
        call.public_view().ok_or_else(|| {
            Refusal::not_found(format!("no call {call_id}")).zh(format!("没有揭榜 {call_id}"))
        })
    }

    /// Every call of the competition as the public reads it.
    pub async fn public_calls(&self) -> Result<Vec<PublicCall>, Refusal> {
        let ids = self
            .events()
            .stream_ids("call-")
            .await
            .map_err(roster_domain::error::store_refusal)?;
        let mut out = Vec::new();
        for id in ids.iter().filter_map(|s| s.strip_prefix("call-")) {
            if let Ok(c) = self.public_call(id, None).await {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Posts an enterprise's need (中试需求, RULES.md §13) to every platform on the roster today
    /// that matches it (`public::matches_need`), under one need id derived from `command_id`;
    /// each platform records it with a command id derived from `command_id` and its id, so a
    /// retry of the same post reaches each platform once (and reaches a platform listed since).
    /// A need no platform matches is refused (404) naming what to widen.
    pub async fn post_need(
        &self,
        address: &str,
        command_id: Uuid,
        need: Need,
    ) -> Result<NeedReceipt, Refusal> {
        need.check()?;
        let actor = Actor::public(address);
        let matched: Vec<PublicProfile> = self
            .public_directory(&DirectoryQuery::default())
            .await?
            .into_iter()
            .filter(|p| public::matches_need(p, &need))
            .collect();
        if matched.is_empty() {
            return Err(Refusal::not_found(
                "no listed platform matches this need today: name fewer services, a smaller vessel, another domain or no province",
            )
            .zh("目前名单内没有符合该需求的平台：请减少所需服务、降低容积要求，或放宽领域、省份"));
        }
        let need_id = roster_domain::commands::need_id(command_id);
        let mut reached = Vec::with_capacity(matched.len());
        let mut duplicate = true;
        for profile in matched {
            let platform_id = profile.entry.platform_id.clone();
            let outcome = self
                .execute(
                    &actor,
                    CommandRequest {
                        command_id: Uuid::new_v5(&command_id, platform_id.as_bytes()),
                        business_date: None,
                        expected_version: None,
                        correlation_id: Some(command_id),
                        causation_id: None,
                        target: Target::Platform {
                            platform_id,
                            command: PlatformCommand::PostNeed(PostNeed {
                                need_id: need_id.clone(),
                                need: need.clone(),
                            }),
                        },
                    },
                )
                .await?;
            duplicate &= outcome.duplicate;
            reached.push(profile.entry);
        }
        Ok(NeedReceipt {
            need_id,
            posted_on: self.today(),
            reached,
            duplicate,
        })
    }

    /// When the newest event the process has read was recorded: what the public face gives as
    /// `Last-Modified`.
    pub async fn last_recorded(&self) -> Option<DateTime<Utc>> {
        self.read_your_writes().await;
        self.catalog().await.last_recorded
    }

    /// The public notice period of a platform that is or was on public notice in its current
    /// cycle; a platform never on notice answers as one that does not exist.
    pub async fn notice_period(
        &self,
        platform_id: &str,
    ) -> Result<(NaiveDate, NaiveDate), Refusal> {
        let missing = || {
            Refusal::not_found(format!("no platform {platform_id} on public notice"))
                .zh(format!("没有公示中的平台 {platform_id}"))
        };
        if !valid_platform_id(platform_id) {
            return Err(missing());
        }
        let loaded = self.service().load_platform(platform_id).await?;
        loaded
            .state
            .notice
            .filter(|_| loaded.version > 0)
            .ok_or_else(missing)
    }

    /// Files an objection from the public (RULES.md §13, R-5) to a platform that is or was on
    /// public notice, with its attachment (file name and bytes) if one was uploaded; the
    /// client `address` names the filer in the audit log. A platform never on public notice
    /// answers as one that does not exist; outside the notice period the refusal names it
    /// (and no attachment is stored).
    pub async fn file_objection(
        &self,
        address: &str,
        platform_id: &str,
        command_id: Uuid,
        mut objection: FileObjection,
        attachment: Option<(String, Vec<u8>)>,
    ) -> Result<CommandOutcome, Refusal> {
        let (from, until) = self.notice_period(platform_id).await?;
        let actor = Actor::public(address);
        let today = self.today();
        if let Some((name, bytes)) = attachment.filter(|_| from <= today && today <= until) {
            objection.attachment = Some(
                self.store_attachment(&actor, "异议附件", &name, bytes)
                    .await?,
            );
        }
        self.execute(
            &actor,
            CommandRequest {
                command_id,
                business_date: None,
                expected_version: None,
                correlation_id: None,
                causation_id: None,
                target: Target::Platform {
                    platform_id: platform_id.to_string(),
                    command: PlatformCommand::FileObjection(objection),
                },
            },
        )
        .await
    }
}
