//! The command service: the one path every command takes, whether it comes from HTTP, the CLI
//! import, the demo or a policy (ARCHITECTURE.md, "The command path").
//!
//! authorise role -> load the stream(s) -> authorise jurisdiction -> the aggregate decides ->
//! one atomic commit (events of every stream touched + command id + audit line). A refusal
//! appends nothing and leaves an audit line. A repeated command id returns the first result.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use roster_domain::access;
use roster_domain::actor::{Actor, Role};
use roster_domain::challenge::{Call, ChallengeCommand, ChallengeContext, ChallengeEvent};
use roster_domain::clock::{business_day, Clock};
use roster_domain::commands::{CommandMeta, Envelope, OpenRound, PlatformCommand, RoundCommand};
use roster_domain::error::{code, store_refusal, Code, Refusal};
use roster_domain::events::{self, PlatformEvent, RoundEvent};
use roster_domain::platform::{event_id, Platform, PlatformContext};
use roster_domain::request::{
    acts_when_recorded, valid_platform_id, CommandOutcome, CommandRequest, EventRef, Target,
};
use roster_domain::round::Round;
use roster_domain::store::{
    AppendOutcome, AuditEntry, CommandRecord, Commit, EventMetadata, EventStore, ExpectedVersion,
    NewEvent, StoreError, StoredEvent, StreamAppend,
};
use roster_domain::targets::{TargetSet, TargetSetCommand, TargetSetEvent};

/// Whose act is on the record as it happened, and whose is history migrated by an operator.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    /// Recorded as it happens: RULES.md §12 dates it.
    Live,
    /// History migrated on the server host by this operator (`roster import --backfill`, the
    /// demo): any past business date, every event marked `backfilled_by`.
    Backfill(String),
}

/// One command being decided: the actor, the request, and the business date it takes effect on.
struct Act<'a> {
    actor: &'a Actor,
    req: &'a CommandRequest,
    on: NaiveDate,
    entry: &'a Entry,
    /// What a bid of the bioreactor competition is checked against (C-4), read by the caller.
    challenge: &'a ChallengeContext,
}

/// The business date a command takes effect on, by RULES.md §12: never after `today`; for an
/// applicant, city or province exactly `today` (unless the entry is a backfill of history).
fn effective_date(
    role: Role,
    stated: Option<NaiveDate>,
    today: NaiveDate,
    entry: &Entry,
) -> Result<NaiveDate, Refusal> {
    let Some(on) = stated else {
        return Ok(today);
    };
    if on > today {
        return Err(Refusal::new(
            code::FUTURE_BUSINESS_DATE,
            format!("business_date {on} is after today ({today}, Beijing time): an act cannot take effect in the future"),
        )
        .at("business_date").zh(format!("业务日期 {on} 晚于今天（北京时间 {today}），不能预先生效")));
    }
    if on != today && acts_when_recorded(role) && *entry == Entry::Live {
        return Err(Refusal::new(
            code::BUSINESS_DATE_NOT_TODAY,
            format!("a {role}'s act takes effect on the day it is recorded ({today}, Beijing time), not {on}: omit business_date or send today's date"),
        )
        .at("business_date").zh(format!("本单位办理的事项以提交当日（北京时间 {today}）为准，不能填写 {on}")));
    }
    Ok(on)
}

const MAX_ATTEMPTS: usize = 8;

/// Aggregates kept after a decision, so the next command on the same stream needs no read. A
/// stale entry (another process wrote) is caught by the append's optimistic concurrency, and a
/// refusal is always re-checked against a fresh load, so the cache never changes an outcome.
///
/// Bounded by the events its aggregates were folded from (their versions: a platform with a
/// long service record weighs more) and by the number of entries; over either bound, the least
/// recently used entries are dropped until a quarter of the budget is free.
pub struct AggregateCache<A> {
    inner: Mutex<CacheInner<A>>,
    budget: CacheBudget,
}

#[derive(Debug, Clone, Copy)]
struct CacheBudget {
    entries: usize,
    events: u64,
}

/// What the command service keeps: some 40 MB at worst for platforms with long service records
/// (a cached platform holds about 250 bytes per service it has recorded).
const CACHE_BUDGET: CacheBudget = CacheBudget {
    entries: 20_000,
    events: 150_000,
};

struct CacheInner<A> {
    entries: HashMap<String, CacheEntry<A>>,
    events: u64,
    tick: u64,
}

struct CacheEntry<A> {
    version: u64,
    state: A,
    used: u64,
}

impl<A: Clone> AggregateCache<A> {
    fn new() -> Self {
        Self::with_budget(CACHE_BUDGET)
    }

    /// A cache of at most `entries` aggregates folded from at most `events` events in all.
    pub fn bounded(entries: usize, events: u64) -> Self {
        Self::with_budget(CacheBudget { entries, events })
    }

    fn with_budget(budget: CacheBudget) -> Self {
        AggregateCache {
            inner: Mutex::new(CacheInner {
                entries: HashMap::new(),
                events: 0,
                tick: 0,
            }),
            budget,
        }
    }

    /// Takes the entry out (no copy of the aggregate); the decision puts the new state back
    /// after its commit. A concurrent command on the same stream meanwhile loads from the store.
    pub fn take(&self, stream_id: &str) -> Option<(u64, A)> {
        let mut inner = self.inner.lock().expect("cache lock");
        let e = inner.entries.remove(stream_id)?;
        inner.events -= e.version;
        Some((e.version, e.state))
    }

    /// A copy of the entry, for aggregates read by many commands (rounds).
    fn get(&self, stream_id: &str) -> Option<(u64, A)> {
        let mut inner = self.inner.lock().expect("cache lock");
        inner.tick += 1;
        let tick = inner.tick;
        let e = inner.entries.get_mut(stream_id)?;
        e.used = tick;
        Some((e.version, e.state.clone()))
    }

    pub fn put(&self, stream_id: &str, version: u64, state: A) {
        let mut inner = self.inner.lock().expect("cache lock");
        inner.tick += 1;
        let used = inner.tick;
        if let Some(old) = inner.entries.insert(
            stream_id.to_string(),
            CacheEntry {
                version,
                state,
                used,
            },
        ) {
            inner.events -= old.version;
        }
        inner.events += version;
        if inner.entries.len() > self.budget.entries || inner.events > self.budget.events {
            self.evict(&mut inner);
        }
    }

    /// Drops the least recently used entries until three quarters of each bound is left.
    fn evict(&self, inner: &mut CacheInner<A>) {
        let keep_entries = self.budget.entries * 3 / 4;
        let keep_events = self.budget.events * 3 / 4;
        let mut by_use: Vec<(u64, String, u64)> = inner
            .entries
            .iter()
            .map(|(k, e)| (e.used, k.clone(), e.version))
            .collect();
        by_use.sort_unstable();
        let mut entries = inner.entries.len();
        for (_, key, version) in by_use {
            if entries <= keep_entries && inner.events <= keep_events {
                break;
            }
            inner.entries.remove(&key);
            inner.events -= version;
            entries -= 1;
        }
    }

    pub fn forget(&self, stream_id: &str) {
        let mut inner = self.inner.lock().expect("cache lock");
        if let Some(e) = inner.entries.remove(stream_id) {
            inner.events -= e.version;
        }
    }

    #[cfg(test)]
    fn weight(&self) -> (usize, u64) {
        let inner = self.inner.lock().expect("cache lock");
        (inner.entries.len(), inner.events)
    }
}

/// One async lock per stream being decided: commands on one stream in this process wait for
/// each other instead of racing to the append and losing on its version check, so contention
/// in one process never refuses a command. Entries live only while a command holds or awaits
/// them. Between processes the append's version check still decides, with retries.
#[derive(Default)]
struct StreamLocks {
    by_stream: Mutex<HashMap<String, Arc<futures_util::lock::Mutex<()>>>>,
}

struct StreamTurn<'a> {
    locks: &'a StreamLocks,
    stream: String,
    guard: Option<futures_util::lock::OwnedMutexGuard<()>>,
}

impl StreamLocks {
    async fn turn(&self, stream: &str) -> StreamTurn<'_> {
        let lock = self
            .by_stream
            .lock()
            .expect("stream locks")
            .entry(stream.to_string())
            .or_default()
            .clone();
        let guard = lock.lock_owned().await;
        StreamTurn {
            locks: self,
            stream: stream.to_string(),
            guard: Some(guard),
        }
    }
}

impl Drop for StreamTurn<'_> {
    fn drop(&mut self) {
        let mut map = self.locks.by_stream.lock().expect("stream locks");
        self.guard.take();
        // The map's own reference is the last one: nobody holds or awaits this stream.
        if map
            .get(&self.stream)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.stream);
        }
    }
}

pub struct CommandService {
    store: Arc<dyn EventStore>,
    clock: Arc<dyn Clock>,
    platforms: AggregateCache<Platform>,
    rounds: AggregateCache<Round>,
    turns: StreamLocks,
}

/// A decision ready to commit, with the aggregates as they will be after it.
struct Decision {
    commit: Commit,
    outcome: CommandOutcome,
    after: Vec<After>,
}

enum After {
    Platform(String, u64, Box<Platform>),
    Round(String, u64, Round),
}

pub struct Loaded<A> {
    pub state: A,
    pub version: u64,
    pub events: Vec<StoredEvent>,
}

impl CommandService {
    pub fn new(store: Arc<dyn EventStore>, clock: Arc<dyn Clock>) -> Self {
        CommandService {
            store,
            clock,
            platforms: AggregateCache::new(),
            rounds: AggregateCache::new(),
            turns: StreamLocks::default(),
        }
    }

    async fn platform_for_decision(
        &self,
        platform_id: &str,
        fresh: bool,
    ) -> Result<(u64, Platform), Refusal> {
        let stream = Platform::stream_id(platform_id);
        if !fresh {
            if let Some(hit) = self.platforms.take(&stream) {
                return Ok(hit);
            }
        }
        let loaded = self.load_platform(platform_id).await?;
        Ok((loaded.version, loaded.state))
    }

    async fn round_for_decision(
        &self,
        round_id: &str,
        fresh: bool,
    ) -> Result<(u64, Round), Refusal> {
        let stream = Round::stream_id(round_id);
        if !fresh {
            if let Some(hit) = self.rounds.get(&stream) {
                return Ok(hit);
            }
        }
        let loaded = self.load_round(round_id).await?;
        self.rounds
            .put(&stream, loaded.version, loaded.state.clone());
        Ok((loaded.version, loaded.state))
    }

    fn forget(&self, req: &CommandRequest) {
        match &req.target {
            Target::Platform { platform_id, .. } => {
                self.platforms.forget(&Platform::stream_id(platform_id))
            }
            Target::OpenRound { open_round } => {
                self.rounds.forget(&Round::stream_id(&open_round.round_id))
            }
            Target::TargetSet { .. } | Target::Call { .. } => {}
        }
    }

    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A stream folded into its aggregate, with its version and events.
    async fn load<A: Aggregate + Default, E: std::fmt::Display>(
        &self,
        stream_id: &str,
        decode: impl Fn(&StoredEvent) -> Result<A::Event, E>,
    ) -> Result<Loaded<A>, Refusal> {
        let events = self
            .store
            .load_stream(stream_id, 0)
            .await
            .map_err(store_refusal)?;
        let mut state = A::default();
        for e in &events {
            let decoded = decode(e).map_err(|err| Refusal::new(code::INTERNAL, err.to_string()))?;
            state.apply(decoded);
        }
        let version = events.last().map_or(0, |e| e.version);
        Ok(Loaded {
            state,
            version,
            events,
        })
    }

    pub async fn load_platform(&self, platform_id: &str) -> Result<Loaded<Platform>, Refusal> {
        self.load(&Platform::stream_id(platform_id), |e| {
            events::decode_platform(&e.event_type, e.schema_version, &e.payload)
        })
        .await
    }

    pub async fn load_round(&self, round_id: &str) -> Result<Loaded<Round>, Refusal> {
        self.load(&Round::stream_id(round_id), |e| {
            events::decode_round(&e.event_type, e.schema_version, &e.payload)
        })
        .await
    }

    /// Executes one command as it happens. Refusals are audited; nothing else is written for
    /// them.
    #[tracing::instrument(name = "command", skip_all, fields(command = req.target.command_name(), command_id = %req.command_id, actor = %actor.id))]
    pub async fn execute(
        &self,
        actor: &Actor,
        req: CommandRequest,
    ) -> Result<CommandOutcome, Refusal> {
        self.run(actor, req, Entry::Live, &ChallengeContext::default())
            .await
    }

    /// Executes a command of the bioreactor competition with what its decision checks a bid
    /// against beyond its call (the accidents the roster knows of its units, C-4), which the
    /// caller reads from the read models.
    pub async fn execute_with(
        &self,
        actor: &Actor,
        req: CommandRequest,
        challenge: &ChallengeContext,
    ) -> Result<CommandOutcome, Refusal> {
        self.run(actor, req, Entry::Live, challenge).await
    }

    /// Migrates one command of history (RULES.md §12): an operator on the server host, never a
    /// network caller, states past business dates for any actor; every event is marked as
    /// backfilled by `operator` and the audit line names the operator. Future dates are still
    /// refused, and every rule (deadlines against the stated date) still applies.
    #[tracing::instrument(name = "backfill", skip_all, fields(command = req.target.command_name(), command_id = %req.command_id, actor = %actor.id, operator = %operator))]
    pub async fn backfill(
        &self,
        operator: &str,
        actor: &Actor,
        req: CommandRequest,
    ) -> Result<CommandOutcome, Refusal> {
        let operator = operator.trim();
        if operator.is_empty() {
            return Err(Refusal::invalid(
                "operator",
                "a backfill names the operator who runs it",
            ));
        }
        self.run(
            actor,
            req,
            Entry::Backfill(operator.to_string()),
            &ChallengeContext::default(),
        )
        .await
    }

    async fn run(
        &self,
        actor: &Actor,
        req: CommandRequest,
        entry: Entry,
        challenge: &ChallengeContext,
    ) -> Result<CommandOutcome, Refusal> {
        let result = self.execute_inner(actor, &req, &entry, challenge).await;
        if let Err(refusal) = &result {
            // Known duplicates and store outages are not attempts worth auditing twice.
            if refusal.code != code::UNAVAILABLE {
                let mut detail = refusal.message.clone();
                if let Entry::Backfill(operator) = &entry {
                    detail.push_str(&format!(" (backfill by operator {operator})"));
                }
                let entry = AuditEntry {
                    recorded_at: self.clock.now(),
                    actor: actor.clone(),
                    command_id: Some(req.command_id),
                    command_type: req.target.command_name().to_string(),
                    target: Some(req.target.stream_id()),
                    outcome: "refused".into(),
                    error_code: Some(refusal.code.to_string()),
                    detail: Some(detail),
                };
                if let Err(e) = self.store.record_refusal(entry.bounded()).await {
                    tracing::warn!(error = %e, "could not record a refused command in the audit log");
                }
            }
        }
        result
    }

    fn fingerprint(actor: &Actor, req: &CommandRequest) -> String {
        let canonical = serde_json::json!({
            "actor": actor,
            "business_date": req.business_date,
            "expected_version": req.expected_version,
            "target": req.target,
        });
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }

    async fn execute_inner(
        &self,
        actor: &Actor,
        req: &CommandRequest,
        entry: &Entry,
        challenge: &ChallengeContext,
    ) -> Result<CommandOutcome, Refusal> {
        if req.command_id.is_nil() {
            // Every client that forgot to set one would share it (review L5).
            return Err(Refusal::invalid(
                "command_id",
                "the command id is the nil UUID; send a new random UUID for each command",
            )
            .zh("表单已失效，请刷新页面后重新填写"));
        }
        if let Target::Platform { platform_id, .. } = &req.target {
            if !valid_platform_id(platform_id) {
                return Err(Refusal::invalid(
                    "platform_id",
                    "a platform id has 3-64 lower-case letters, digits, '-' or '_' and starts with a letter or digit",
                ).zh("平台编号为 3-64 位小写字母、数字、- 或 _，以字母或数字开头"));
            }
        }
        // Commands on the same stream take turns in this process (see `StreamLocks`).
        let _turn = self.turns.turn(&req.target.stream_id()).await;
        let fingerprint = Self::fingerprint(actor, req);
        // RULES.md §12: the day the act takes effect, from the clock, checked before anything else is
        // decided (a refusal here still answers a repeated command id with its first result).
        let dated = effective_date(actor.role, req.business_date, self.clock.today(), entry)
            .and_then(|on| roster_domain::input::check(&req.target.fields()).map(|()| on));
        // A repeated command id is answered by the append (it finds the id) or, when the
        // decision is now a refusal, by the look-up below: either way with the first result.
        let mut fresh = false;
        for _attempt in 0..MAX_ATTEMPTS {
            let decided =
                match access::check_role(actor, req.target.kind()).and_then(|()| dated.clone()) {
                    Err(r) => Err(r),
                    Ok(on) => {
                        let act = Act {
                            actor,
                            req,
                            on,
                            entry,
                            challenge,
                        };
                        match &req.target {
                            Target::OpenRound { open_round } => {
                                self.decide_round(&act, open_round, fresh).await
                            }
                            Target::TargetSet { command } => {
                                self.decide_target_set(&act, command).await
                            }
                            Target::Call { call_id, command } => {
                                self.decide_call(&act, call_id, command).await
                            }
                            Target::Platform {
                                platform_id,
                                command,
                            } => {
                                self.decide_platform(&act, platform_id, command, fresh)
                                    .await
                            }
                        }
                    }
                };
            let Decision {
                commit,
                mut outcome,
                after,
            } = match decided {
                Ok(d) => d,
                Err(refusal) => {
                    // An actor refused by role or jurisdiction learns nothing about the command
                    // id it sent (no oracle of other actors' command ids, and the authorisation
                    // refusal is not hidden behind `command_id_reused`). Otherwise a command sent
                    // again gets its first result.
                    let authorisation = matches!(refusal.code, Code::Forbidden | Code::NotFound);
                    if !authorisation {
                        if let Some(first) = self
                            .store
                            .find_command(req.command_id)
                            .await
                            .map_err(store_refusal)?
                        {
                            return Self::replay(first, &fingerprint);
                        }
                    }
                    if !fresh && refusal.code != code::UNAVAILABLE {
                        // The cache may be behind another writer: decide again on a fresh load.
                        fresh = true;
                        continue;
                    }
                    return Err(refusal);
                }
            };
            let commit = Commit {
                command: CommandRecord {
                    command_id: req.command_id,
                    fingerprint: fingerprint.clone(),
                    result: serde_json::to_value(&outcome).expect("outcome serializes"),
                    recorded_at: self.clock.now(),
                },
                ..commit
            };
            match self.store.append(commit).await {
                Ok(AppendOutcome::Appended { .. }) => {
                    for a in after {
                        match a {
                            After::Platform(stream, v, state) => {
                                self.platforms.put(&stream, v, *state)
                            }
                            After::Round(stream, v, state) => self.rounds.put(&stream, v, state),
                        }
                    }
                    return Ok(outcome);
                }
                Ok(AppendOutcome::Duplicate(first)) => {
                    outcome = Self::replay(first, &fingerprint)?;
                    return Ok(outcome);
                }
                Err(StoreError::VersionConflict { .. }) => {
                    self.forget(req);
                    if let Target::Platform { .. } = &req.target {
                        for a in &after {
                            if let After::Round(stream, ..) = a {
                                self.rounds.forget(stream);
                            }
                        }
                    }
                    if req.expected_version.is_some() && fresh {
                        return Err(Refusal::new(code::VERSION_CONFLICT, "the stream moved on since the version the command expected; reload and retry").zh("数据已被他人更新，请刷新页面后重新办理"));
                    }
                    fresh = true;
                    continue;
                }
                Err(e) => {
                    self.forget(req);
                    return Err(store_refusal(e));
                }
            }
        }
        Err(Refusal::new(
            code::VERSION_CONFLICT,
            "the platform changed concurrently too often; retry the command",
        )
        .zh("平台数据正被频繁更新，请稍后重试"))
    }

    fn replay(first: CommandRecord, fingerprint: &str) -> Result<CommandOutcome, Refusal> {
        if first.fingerprint != fingerprint {
            return Err(store_refusal(StoreError::CommandIdReused(first.command_id)));
        }
        let mut outcome: CommandOutcome = serde_json::from_value(first.result).map_err(|e| {
            Refusal::new(
                code::INTERNAL,
                format!("stored command result unreadable: {e}"),
            )
        })?;
        outcome.duplicate = true;
        Ok(outcome)
    }

    fn meta(&self, act: &Act) -> CommandMeta {
        CommandMeta {
            command_id: act.req.command_id,
            actor: act.actor.clone(),
            business_date: act.on,
        }
    }

    fn new_events<E: Serialize + DomainEvent>(
        &self,
        act: &Act,
        first_index: usize,
        events: &[E],
    ) -> Vec<NewEvent> {
        let recorded_at = self.clock.now();
        events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let (event_type, schema_version, payload) = events::encode(e);
                NewEvent {
                    event_id: event_id(act.req.command_id, first_index + i),
                    event_type,
                    schema_version,
                    payload,
                    metadata: EventMetadata {
                        actor: act.actor.clone(),
                        command_id: act.req.command_id,
                        correlation_id: act.req.correlation_id.unwrap_or(act.req.command_id),
                        causation_id: act.req.causation_id,
                        recorded_at,
                        business_date: act.on,
                        backfilled_by: match act.entry {
                            Entry::Backfill(operator) => Some(operator.clone()),
                            Entry::Live => None,
                        },
                    },
                }
            })
            .collect()
    }

    fn check_expected(req: &CommandRequest, stream_id: &str, actual: u64) -> Result<(), Refusal> {
        match req.expected_version {
            Some(expected) if expected != actual => {
                Err(store_refusal(StoreError::VersionConflict {
                    stream_id: stream_id.to_string(),
                    expected,
                    actual,
                }))
            }
            _ => Ok(()),
        }
    }

    /// The audit line of an accepted command; a backfill names its operator, and an entry
    /// recorded more than 30 days after its business date says it is late (RULES.md §12).
    fn audit(&self, act: &Act) -> AuditEntry {
        let recorded_at = self.clock.now();
        let mut notes = Vec::new();
        if let Entry::Backfill(operator) = act.entry {
            notes.push(format!("backfilled by operator {operator}"));
        }
        if roster_domain::store::late_entry(act.on, recorded_at) {
            notes.push(format!(
                "late entry: business date {}, recorded {} days later",
                act.on,
                (business_day(recorded_at) - act.on).num_days()
            ));
        }
        AuditEntry {
            recorded_at,
            actor: act.actor.clone(),
            command_id: Some(act.req.command_id),
            command_type: act.req.target.command_name().to_string(),
            target: Some(act.req.target.stream_id()),
            outcome: "accepted".into(),
            error_code: None,
            detail: (!notes.is_empty()).then(|| notes.join("; ")),
        }
    }

    async fn decide_round(
        &self,
        act: &Act<'_>,
        open: &OpenRound,
        fresh: bool,
    ) -> Result<Decision, Refusal> {
        if !roster_domain::round::valid_round_id(&open.round_id) {
            return Err(Refusal::invalid(
                "round_id",
                "a round id has 1-32 letters, digits, '-' or '_' (e.g. 2025)",
            ));
        }
        let (version, mut round) = self.round_for_decision(&open.round_id, fresh).await?;
        let stream_id = Round::stream_id(&open.round_id);
        Self::check_expected(act.req, &stream_id, version)?;
        let sink = EventSink::default();
        round
            .handle(
                Envelope {
                    meta: self.meta(act),
                    command: RoundCommand::OpenRound(open.clone()),
                },
                &(),
                &sink,
            )
            .await?;
        let events: Vec<RoundEvent> = sink.collect().await;
        let new = self.new_events(act, 0, &events);
        let outcome = Self::outcome(act.req, &stream_id, version, &new, vec![]);
        let after = vec![After::Round(
            stream_id.clone(),
            version + new.len() as u64,
            round,
        )];
        Ok(self.one_stream(act, stream_id, version, new, outcome, after))
    }

    /// A decision that appends to one stream only (rounds, target sets).
    fn one_stream(
        &self,
        act: &Act,
        stream_id: String,
        version: u64,
        new: Vec<NewEvent>,
        outcome: CommandOutcome,
        after: Vec<After>,
    ) -> Decision {
        Decision {
            commit: Commit {
                command: placeholder_record(),
                streams: vec![StreamAppend {
                    stream_id,
                    expected_version: ExpectedVersion::from_current(version),
                    events: new,
                }],
                audit: self.audit(act),
            },
            outcome,
            after,
        }
    }

    /// Target sets are rare and small: always decided on a fresh load (no cache).
    async fn decide_target_set(
        &self,
        act: &Act<'_>,
        command: &TargetSetCommand,
    ) -> Result<Decision, Refusal> {
        let id = command.target_set_id();
        if !roster_domain::targets::valid_target_set_id(id) {
            return Err(Refusal::invalid(
                "target_set_id",
                "a target set id has 1-48 lower-case letters, digits, '-' or '_' (e.g. jiangxi-2027)",
            ));
        }
        let stream_id = TargetSet::stream_id(id);
        let stored = self
            .store
            .load_stream(&stream_id, 0)
            .await
            .map_err(store_refusal)?;
        let mut set = TargetSet::default();
        for e in &stored {
            let decoded = events::decode_target_set(&e.event_type, e.schema_version, &e.payload)
                .map_err(|err| Refusal::new(code::INTERNAL, err.to_string()))?;
            set.apply(decoded);
        }
        let version = stored.last().map_or(0, |e| e.version);
        // A province's view: another province's set answers as one that does not exist, before
        // its version or state is looked at (RULES.md §10).
        if version > 0 && !set.visible_to(act.actor) {
            return Err(
                Refusal::not_found(format!("no target set {id}")).zh(format!("没有目标集 {id}"))
            );
        }
        Self::check_expected(act.req, &stream_id, version)?;
        let sink = EventSink::default();
        set.handle(
            Envelope {
                meta: self.meta(act),
                command: command.clone(),
            },
            &(),
            &sink,
        )
        .await?;
        let events: Vec<TargetSetEvent> = sink.collect().await;
        let new = self.new_events(act, 0, &events);
        let outcome = Self::outcome(act.req, &stream_id, version, &new, vec![]);
        Ok(self.one_stream(act, stream_id, version, new, outcome, vec![]))
    }

    /// A command of the bioreactor competition (RULES.md §9), decided on a fresh load of its
    /// call: a call's stream holds tens of bids, and its caps (C-6) are exact by the append's
    /// version check. A new bid is checked against the accidents the roster knows of its units
    /// (C-4).
    async fn decide_call(
        &self,
        act: &Act<'_>,
        call_id: &str,
        command: &ChallengeCommand,
    ) -> Result<Decision, Refusal> {
        if !roster_domain::challenge::valid_id(call_id) {
            return Err(Refusal::invalid(
                "call_id",
                "a call id has 1-32 letters, digits, '-' or '_' (e.g. 2025)",
            )
            .zh("揭榜编号为 1-32 位字母、数字、- 或 _（如 2025）"));
        }
        if let ChallengeCommand::OpenCall(open) = command {
            if open.call_id != call_id {
                return Err(Refusal::invalid(
                    "call_id",
                    format!("the call opened is {}, not {call_id}", open.call_id),
                )
                .zh("揭榜编号前后不一致"));
            }
        }
        let stream_id = Call::stream_id(call_id);
        let stored = self
            .store
            .load_stream(&stream_id, 0)
            .await
            .map_err(store_refusal)?;
        let mut call = Call::default();
        for e in &stored {
            let decoded = events::decode_challenge(&e.event_type, e.schema_version, &e.payload)
                .map_err(|err| Refusal::new(code::INTERNAL, err.to_string()))?;
            call.apply(decoded);
        }
        let version = stored.last().map_or(0, |e| e.version);
        if version == 0 && !matches!(command, ChallengeCommand::OpenCall(_)) {
            return Err(
                Refusal::not_found(format!("no call {call_id}")).zh(format!("没有揭榜 {call_id}"))
            );
        }
        Self::check_expected(act.req, &stream_id, version)?;
        let ctx = act.challenge;
        let sink = EventSink::default();
        call.handle(
            Envelope {
                meta: self.meta(act),
                command: command.clone(),
            },
            ctx,
            &sink,
        )
        .await?;
        let events: Vec<ChallengeEvent> = sink.collect().await;
        let warnings = events
            .iter()
            .flat_map(|e| match e {
                ChallengeEvent::BidSubmitted { checks, .. } => checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| format!("{} {}: {}", c.rule, c.item, c.detail))
                    .collect(),
                _ => vec![],
            })
            .collect();
        let new = self.new_events(act, 0, &events);
        let outcome = Self::outcome(act.req, &stream_id, version, &new, warnings);
        Ok(self.one_stream(act, stream_id, version, new, outcome, vec![]))
    }

    async fn decide_platform(
        &self,
        act: &Act<'_>,
        platform_id: &str,
        command: &PlatformCommand,
        fresh: bool,
    ) -> Result<Decision, Refusal> {
        let (version, mut platform) = self.platform_for_decision(platform_id, fresh).await?;
        let stream_id = Platform::stream_id(platform_id);
        // RULES.md §10: a platform outside the actor's jurisdiction answers exactly as one that does
        // not exist, and jurisdiction comes before version, state and rule checks, so a refusal
        // never tells another jurisdiction's versions, states or city codes. A submission names
        // its own platform id (an id taken by another applicant is refused as such).
        let submission = matches!(command, PlatformCommand::SubmitApplication(_));
        if !submission && (version == 0 || !access::may_act_on(act.actor, &platform)) {
            self.platforms.put(&stream_id, version, platform);
            return Err(Refusal::not_found(format!("no platform {platform_id}"))
                .zh(format!("没有平台 {platform_id}（或不在本辖区）")));
        }
        access::check_scope(act.actor, &platform, command)?;
        Self::check_expected(act.req, &stream_id, version)?;
        let round_id = match command {
            PlatformCommand::SubmitApplication(s) => Some(s.round_id.clone()),
            _ => platform.round_id.clone(),
        };
        let round = match &round_id {
            Some(id) if roster_domain::round::valid_round_id(id) => {
                Some(self.round_for_decision(id, fresh).await?)
            }
            Some(_) => {
                return Err(Refusal::invalid(
                    "round_id",
                    "a round id has 1-32 letters, digits, '-' or '_'",
                ))
            }
            None => None,
        };
        let ctx = PlatformContext {
            platform_id: platform_id.to_string(),
            round: round.as_ref().map(|r| r.1.clone()),
        };
        let sink = EventSink::default();
        platform
            .handle(
                Envelope {
                    meta: self.meta(act),
                    command: command.clone(),
                },
                &ctx,
                &sink,
            )
            .await?;
        let events: Vec<PlatformEvent> = sink.collect().await;
        let new = self.new_events(act, 0, &events);
        let warnings: Vec<String> = events
            .iter()
            .flat_map(|e| match e {
                PlatformEvent::ProvinceRecommended { warnings, .. } => warnings.clone(),
                PlatformEvent::EligibilityAssessed { assessment } => assessment
                    .hard_failures()
                    .into_iter()
                    .map(|r| format!("{r}: hard rule failed (the province decides)"))
                    .chain(assessment.warnings.iter().cloned())
                    .collect(),
                _ => vec![],
            })
            .collect();
        let mut outcome = Self::outcome(act.req, &stream_id, version, &new, warnings);
        let new_version = version + new.len() as u64;
        let mut streams = vec![StreamAppend {
            stream_id: stream_id.clone(),
            expected_version: ExpectedVersion::from_current(version),
            events: new,
        }];
        let mut after = Vec::new();

        // the recommendation takes a slot of the province's quota on the round's stream,
        // in the same transaction.
        if let Some(PlatformEvent::ProvinceRecommended { province, .. }) = events.first() {
            let (round_version, mut round_state) = round.expect("recommendation implies a round");
            let round_sink = EventSink::default();
            let domains = platform
                .form
                .as_ref()
                .map(|f| f.domains.clone())
                .unwrap_or_default();
            round_state
                .handle(
                    Envelope {
                        meta: self.meta(act),
                        command: RoundCommand::RegisterRecommendation {
                            platform_id: platform_id.to_string(),
                            province: *province,
                            domains,
                        },
                    },
                    &(),
                    &round_sink,
                )
                .await?;
            let round_events: Vec<RoundEvent> = round_sink.collect().await;
            let round_stream = Round::stream_id(round_id.as_deref().unwrap_or_default());
            let new_round = self.new_events(act, outcome.events.len(), &round_events);
            for (i, e) in new_round.iter().enumerate() {
                outcome.events.push(EventRef {
                    event_id: e.event_id,
                    event_type: e.event_type.clone(),
                    stream_id: round_stream.clone(),
                    version: round_version + 1 + i as u64,
                });
            }
            after.push(After::Round(
                round_stream.clone(),
                round_version + new_round.len() as u64,
                round_state,
            ));
            streams.push(StreamAppend {
                stream_id: round_stream,
                expected_version: ExpectedVersion::from_current(round_version),
                events: new_round,
            });
        }
        after.push(After::Platform(stream_id, new_version, Box::new(platform)));
        Ok(Decision {
            commit: Commit {
                command: placeholder_record(),
                streams,
                audit: self.audit(act),
            },
            outcome,
            after,
        })
    }

    fn outcome(
        req: &CommandRequest,
        stream_id: &str,
        version: u64,
        new: &[NewEvent],
        warnings: Vec<String>,
    ) -> CommandOutcome {
        CommandOutcome {
            command_id: req.command_id,
            stream_id: stream_id.to_string(),
            version: version + new.len() as u64,
            events: new
                .iter()
                .enumerate()
                .map(|(i, e)| EventRef {
                    event_id: e.event_id,
                    event_type: e.event_type.clone(),
                    stream_id: stream_id.to_string(),
                    version: version + 1 + i as u64,
                })
                .collect(),
            warnings,
            duplicate: false,
        }
    }
}

fn placeholder_record() -> CommandRecord {
    CommandRecord {
        command_id: Uuid::nil(),
        fingerprint: String::new(),
        result: serde_json::Value::Null,
        recorded_at: DateTime::<Utc>::MIN_UTC,
    }
}

#[cfg(test)]
mod tests {
    /// The aggregate cache stays within its bounds in entries and in events, and keeps what was
    /// used last.
    #[test]
    fn the_aggregate_cache_is_bounded_and_keeps_the_recently_used() {
        let cache = super::AggregateCache::<String>::with_budget(super::CacheBudget {
            entries: 100,
            events: 10_000,
        });
        // Long histories: the event bound holds.
        for i in 0..1_000 {
            cache.put(&format!("platform-{i}"), 500, format!("state {i}"));
            let (n, events) = cache.weight();
            assert!(n <= 100 && events <= 10_000, "{n} entries, {events} events");
        }
        assert_eq!(cache.get("platform-999").map(|e| e.0), Some(500));
        // A stream used again survives the eviction of streams put after it.
        cache.put("platform-hot", 10, "hot".into());
        for i in 1_000..1_100 {
            assert!(cache.get("platform-hot").is_some(), "evicted at {i}");
            cache.put(&format!("platform-{i}"), 1, format!("state {i}"));
        }
        let (n, events) = cache.weight();
        assert!(n <= 100 && events <= 10_000);
        // Taking an entry out gives its weight back.
        let before = cache.weight().1;
        let (v, _) = cache.take("platform-hot").unwrap();
        assert_eq!(cache.weight().1, before - v);
        assert!(cache.take("platform-hot").is_none());
    }

    use super::*;

    /// The per-stream locks hold memory only while a command holds or awaits them.
    #[tokio::test]
    async fn stream_locks_forget_streams_nobody_holds() {
        let locks = StreamLocks::default();
        let count = |l: &StreamLocks| l.by_stream.lock().unwrap().len();
        {
            let _first = locks.turn("platform-a").await;
            let _other = locks.turn("platform-b").await;
            assert_eq!(count(&locks), 2);
            assert!(
                locks.by_stream.lock().unwrap()["platform-a"]
                    .try_lock()
                    .is_none(),
                "a second command on platform-a waits its turn"
            );
        }
        assert_eq!(count(&locks), 0);
    }
}
