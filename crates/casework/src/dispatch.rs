//! Dispatch: the routing engine, driven and made durable.
//!
//! The engine is pure; this owns it. Every accepted event is sealed and
//! appended to the routing log with its time before its decisions are
//! given out, and at start the log is replayed, so a restart rebuilds the
//! very state it lost — no task or offer is lost or invented. Timers need no
//! record: they fire from the times the events carry.
//!
//! The engine's lock is held only to apply an event in memory; the event
//! then joins a queue that one writer task commits in groups, and the
//! caller waits for its group. So the database's commit rate does not
//! bound routing: many events share a commit. Decisions go out — in the
//! answer and on the live stream — only once their event is committed, in
//! the order the engine made them.

use crate::error::CaseworkError;
use std::sync::Arc;
use tokio::sync::{Mutex, broadcast};
use tracedesk_routing::{Decision, Engine, Event, RouteError, Workspace};
use tracedesk_store::{RoutingEventRow, RoutingSnapshot, Store, StoreError, TaskProgress, schema};
use tracedesk_vault::{FieldContext, Vault};
use uuid::Uuid;

/// Events read per page while replaying.
const REPLAY_PAGE: u32 = 5_000;

/// Decisions kept for streams that reconnect (`Last-Event-ID`).
const RECENT: usize = 100_000;

/// A decision with its place in this process's stream of decisions.
pub type Numbered = (u64, Decision);

/// Recent decisions, numbered, for resuming streams.
#[derive(Default)]
struct Recent {
    ring: std::collections::VecDeque<Numbered>,
    last: u64,
}

/// The time source, in milliseconds since the Unix epoch (tests move it).
pub type Millis = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Why an event did not go through.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The engine refused it; nothing changed.
    #[error(transparent)]
    Refused(#[from] RouteError),
    #[error(transparent)]
    Failed(#[from] CaseworkError),
}

struct State {
    engine: Engine,
    /// The last event's place in the log.
    seq: i64,
    /// The last event the newest snapshot includes.
    saved: i64,
}

/// Events after which a snapshot is taken: a restart then replays at most
/// about this many (a few seconds' work).
const SNAPSHOT_EVERY: i64 = 100_000;

/// Most events committed in one group.
const GROUP: usize = 2_000;

/// An applied event on its way to the log (or, without a row, timer
/// decisions keeping their place in line), and who waits for it.
struct Job {
    row: Option<RoutingEventRow>,
    decisions: Vec<Decision>,
    /// Where the tasks the decisions touched stand now.
    progress: Vec<TaskProgress>,
    /// A snapshot to store once everything before it is logged.
    snapshot: Option<RoutingSnapshot>,
    done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

pub struct Dispatch {
    state: Arc<Mutex<State>>,
    queue: tokio::sync::mpsc::UnboundedSender<Job>,
    store: Arc<dyn Store>,
    vault: Arc<Vault>,
    workspace: Workspace,
    clock: Millis,
    live: broadcast::Sender<Numbered>,
    recent: std::sync::Mutex<Recent>,
    /// Flipped when the server stops, so live streams end.
    closing: tokio::sync::watch::Sender<bool>,
}

fn ctx(id: Uuid) -> FieldContext<'static> {
    FieldContext::new(schema::ROUTING_EVENTS.name, "event", id)
}

fn snapshot_ctx(id: Uuid) -> FieldContext<'static> {
    FieldContext::new("routing_snapshots", "image", id)
}

fn fresh(workspace: &Workspace) -> Result<Engine, CaseworkError> {
    Engine::new(workspace).map_err(|e| CaseworkError::invalid("routing", &e.to_string()))
}

impl Dispatch {
    /// Builds the engine from `workspace` and replays the routing log.
    pub async fn open(
        store: Arc<dyn Store>,
        vault: Arc<Vault>,
        workspace: Workspace,
        clock: Millis,
    ) -> Result<Arc<Self>, CaseworkError> {
        let (live, _) = broadcast::channel(4096);
        let Rebuilt { state, carried } = replay(&*store, &vault, &workspace, clock()).await?;
        let carried_progress = progress(&state.engine, &carried, None);
        let (queue, jobs) = tokio::sync::mpsc::unbounded_channel();
        let d = Arc::new(Self {
            state: Arc::new(Mutex::new(state)),
            queue,
            store,
            vault,
            workspace,
            clock,
            live,
            recent: Default::default(),
            closing: tokio::sync::watch::Sender::new(false),
        });
        tokio::spawn(writer(Arc::downgrade(&d), jobs));
        // What carrying work over to a changed workspace decided reaches the
        // task list and the workers' streams like a timer's decisions.
        if !carried.is_empty() {
            d.enqueue(None, carried, carried_progress, None);
        }
        Ok(d)
    }

    /// Decisions after number `after` that are still kept, and a receiver
    /// of those that follow — nothing in between is missed or repeated.
    /// `complete` is false when some after `after` are no longer kept (the
    /// caller then starts from the current state instead).
    pub fn subscribe_after(&self, after: Option<u64>) -> Subscription {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let rx = self.live.subscribe();
        let (backlog, complete) = match after {
            None => (Vec::new(), false),
            Some(n) => {
                let kept_from = recent.ring.front().map_or(recent.last + 1, |(k, _)| *k);
                let backlog: Vec<Numbered> = recent
                    .ring
                    .iter()
                    .filter(|(k, _)| *k > n)
                    .cloned()
                    .collect();
                (backlog, n + 1 >= kept_from && n <= recent.last)
            }
        };
        Subscription {
            backlog,
            complete,
            last: recent.last,
            live: rx,
        }
    }

    /// Applies `event` now: timers due first, then the event, which is
    /// logged before anything it decided is given out.
    pub async fn apply(&self, event: Event) -> Result<Vec<Decision>, DispatchError> {
        let json = serde_json::to_vec(&event)
            .map_err(|e| CaseworkError::Internal(format!("routing event: {e}")))?;
        // Sealed before taking the engine's lock, which covers only the apply.
        let id = Uuid::now_v7();
        let sealed = self.vault.seal(&ctx(id), &json);
        let key_version = Vault::version_of(&sealed).map_err(CaseworkError::from)? as i32;
        let (done, wait) = tokio::sync::oneshot::channel();
        let mut out;
        {
            let mut st = self.state.lock().await;
            let now = (self.clock)().max(st.engine.now());
            out = st.engine.advance(now);
            let created = match &event {
                Event::CreateTask { id, .. } => Some(*id),
                _ => None,
            };
            let decided = match st.engine.apply(now, event) {
                Ok(d) => d,
                Err(e) => {
                    let progress = progress(&st.engine, &out, None);
                    self.enqueue(None, out, progress, None);
                    return Err(e.into());
                }
            };
            st.seq += 1;
            let row = RoutingEventRow {
                id,
                seq: st.seq,
                at: now,
                key_version,
                event: sealed,
            };
            out.extend(decided);
            let progress = progress(&st.engine, &out, created);
            // Queued under the lock, so the log keeps the engine's order.
            self.enqueue(Some(row), out.clone(), progress, Some(done));
        }
        match wait.await {
            Ok(Ok(())) => Ok(out),
            Ok(Err(e)) => Err(CaseworkError::Store(StoreError::Unavailable(e.into())).into()),
            Err(_) => Err(CaseworkError::Store(StoreError::Unavailable(
                "the routing log writer stopped".into(),
            ))
            .into()),
        }
    }

    fn enqueue(
        &self,
        row: Option<RoutingEventRow>,
        decisions: Vec<Decision>,
        progress: Vec<TaskProgress>,
        done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
    ) {
        if row.is_none() && decisions.is_empty() {
            return;
        }
        // The writer lives as long as this dispatcher.
        let _ = self.queue.send(Job {
            row,
            decisions,
            progress,
            snapshot: None,
            done,
        });
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The channel case-work tasks are routed on: `voice` when the
    /// workspace has it (tracers call), else its first channel.
    pub(crate) fn task_channel(&self) -> &str {
        let channels = &self.workspace.channels;
        channels
            .iter()
            .find(|c| c.name == "voice")
            .or(channels.first())
            .map_or("voice", |c| c.name.as_str())
    }

    /// Ends every live stream (the server is stopping).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Becomes true when the server stops.
    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Lets time pass: fires due timers (offers timing out, escalations,
    /// TTLs). The server calls it every second.
    pub async fn tick(&self) -> Vec<Decision> {
        let mut st = self.state.lock().await;
        let now = (self.clock)().max(st.engine.now());
        let out = st.engine.advance(now);
        let progress = progress(&st.engine, &out, None);
        self.enqueue(None, out.clone(), progress, None);
        out
    }

    /// Saves the engine as of the last event when enough events came since
    /// the last snapshot (the server asks every second).
    pub async fn snapshot_if_due(&self) {
        let due = {
            let st = self.state.lock().await;
            st.seq - st.saved >= SNAPSHOT_EVERY
        };
        if due && let Err(e) = self.snapshot().await {
            tracing::warn!(error = %e, "routing: the snapshot was not stored; the log is still whole");
        }
    }

    /// Saves the engine as of the last event and stores it once every
    /// event before it is logged. Returns the event it includes.
    pub async fn snapshot(&self) -> Result<i64, CaseworkError> {
        let (image, seq) = {
            let mut st = self.state.lock().await;
            // Marked now so a slow store is not asked again every second.
            st.saved = st.seq;
            (st.engine.save(), st.seq)
        };
        let snapshot = sealed_snapshot(&self.vault, image, seq, (self.clock)())?;
        let (done, wait) = tokio::sync::oneshot::channel();
        // Behind every event applied so far: stored only if they are.
        let _ = self.queue.send(Job {
            row: None,
            decisions: Vec::new(),
            progress: Vec::new(),
            snapshot: Some(snapshot),
            done: Some(done),
        });
        match wait.await {
            Ok(Ok(())) => Ok(seq),
            Ok(Err(e)) => Err(CaseworkError::Store(StoreError::Unavailable(e.into()))),
            Err(_) => Err(CaseworkError::Store(StoreError::Unavailable(
                "the routing log writer stopped".into(),
            ))),
        }
    }

    /// The last event the newest snapshot includes (0: none yet); right
    /// after opening, the snapshot the engine was restored from.
    pub async fn snapshot_seq(&self) -> i64 {
        self.state.lock().await.saved
    }

    /// Reads the engine (views, statistics) under its lock.
    pub async fn read<R>(&self, f: impl FnOnce(&Engine) -> R) -> R {
        f(&self.state.lock().await.engine)
    }

    fn publish(&self, decisions: &[Decision]) {
        if decisions.is_empty() {
            return;
        }
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        for d in decisions {
            recent.last += 1;
            let numbered = (recent.last, d.clone());
            recent.ring.push_back(numbered.clone());
            if recent.ring.len() > RECENT {
                recent.ring.pop_front();
            }
            // No subscriber is fine: the decisions are in the answer too.
            let _ = self.live.send(numbered);
        }
    }
}

/// Commits queued events in groups, then gives out their decisions in
/// order. If a group cannot be committed, the engine is rebuilt from the log
/// — memory and disk never disagree — and every event applied since fails.
async fn writer(d: std::sync::Weak<Dispatch>, mut jobs: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let Some(d) = d.upgrade() else { return };
        let rows: Vec<RoutingEventRow> = group.iter().filter_map(|j| j.row.clone()).collect();
        let progress = latest_progress(&group);
        match d.store.append_routing_events(&rows, &progress).await {
            Ok(()) => {
                for j in group {
                    d.publish(&j.decisions);
                    match (j.snapshot, j.done) {
                        // Everything before it is logged now; storing it
                        // (megabytes) need not hold up the groups after it.
                        (Some(snap), done) => {
                            let store = d.store.clone();
                            tokio::spawn(async move {
                                let r = store.save_routing_snapshot(&snap).await;
                                if let Some(done) = done {
                                    let _ = done.send(r.map_err(|e| e.to_string()));
                                }
                            });
                        }
                        (None, Some(done)) => {
                            let _ = done.send(Ok(()));
                        }
                        (None, None) => {}
                    }
                }
            }
            Err(e) => {
                let why = match e {
                    StoreError::Conflict(_) => {
                        "another tracedesk node appended to the routing log; only one may route"
                            .to_string()
                    }
                    other => other.to_string(),
                };
                tracing::error!(error = %why, "routing: the log did not take a group; rebuilding from it");
                let mut st = d.state.lock().await;
                // Everything applied after this group is also unlogged.
                while let Ok(j) = jobs.try_recv() {
                    group.push(j);
                }
                for j in group {
                    if let Some(done) = j.done {
                        let _ = done.send(Err(why.clone()));
                    }
                }
                match replay(&*d.store, &d.vault, &d.workspace, (d.clock)()).await {
                    Ok(back) => *st = back.state,
                    Err(again) => {
                        tracing::error!(error = %again, "routing: cannot rebuild from the log")
                    }
                }
            }
        }
    }
}

/// Where each task the decisions (and a newly created task) touched stands
/// after them: what the case-work task list records. A task the engine has
/// forgotten finished as its last decision says.
fn progress(engine: &Engine, decisions: &[Decision], created: Option<Uuid>) -> Vec<TaskProgress> {
    let mut touched: Vec<Uuid> = created.into_iter().collect();
    for t in decisions.iter().filter_map(Decision::task) {
        if !touched.contains(&t) {
            touched.push(t);
        }
    }
    touched
        .into_iter()
        .filter_map(|id| match engine.task_view(id) {
            Some(v) => Some(TaskProgress {
                id,
                status: v.state.as_str(),
                assignee: v.worker.or_else(|| v.offered_to.first().copied()),
            }),
            None => decisions
                .iter()
                .rev()
                .find(|d| d.task() == Some(id))
                .and_then(|d| match d {
                    Decision::Completed { .. } => Some("completed"),
                    Decision::Canceled { .. } => Some("canceled"),
                    _ => None,
                })
                .map(|status| TaskProgress {
                    id,
                    status,
                    // Finished: the store keeps who worked it.
                    assignee: None,
                }),
        })
        .collect()
}

/// A group's progress, the last word on each task only.
fn latest_progress(group: &[Job]) -> Vec<TaskProgress> {
    let mut last: std::collections::HashMap<Uuid, &TaskProgress> = Default::default();
    let mut order = Vec::new();
    for p in group.iter().flat_map(|j| &j.progress) {
        if last.insert(p.id, p).is_none() {
            order.push(p.id);
        }
    }
    order
        .into_iter()
        .filter_map(|id| last.get(&id).map(|p| (*p).clone()))
        .collect()
}

/// What a stream starts from: decisions to resend, then the live ones.
pub struct Subscription {
    pub backlog: Vec<Numbered>,
    /// Whether `backlog` holds every decision since the one asked after.
    pub complete: bool,
    /// The number of the newest decision when subscribing.
    pub last: u64,
    pub live: broadcast::Receiver<Numbered>,
}

/// What [`replay`] rebuilt, and what carrying live work over to a changed
/// workspace decided (empty when the workspace is the one logged under).
struct Rebuilt {
    state: State,
    carried: Vec<Decision>,
}

/// The engine as of the last logged event: the newest snapshot with every
/// event after it applied at its time.
///
/// The snapshot is restored under the workspace it was saved with, and
/// the events after it — logged under that workspace — all apply again:
/// the engine is deterministic. If that workspace is not `workspace` (it
/// was changed), the engine's live work is then carried over to a new
/// engine under `workspace` ([`Engine::carry_over`]).
///
/// Whenever the engine does not come from a snapshot of `workspace`, one is
/// saved before anything new can be logged: the next start restores it and
/// replays after it, never across the change. Without any usable snapshot
/// (a log from before snapshots were saved at start, or a damaged one), the
/// whole log is replayed under `workspace`; events that no longer apply are
/// skipped and counted, with a warning naming the first.
async fn replay(
    store: &dyn Store,
    vault: &Vault,
    workspace: &Workspace,
    now: i64,
) -> Result<Rebuilt, CaseworkError> {
    let restored = restore(store, vault).await;
    let of_this_workspace = restored
        .as_ref()
        .is_some_and(|(e, _)| e.workspace() == workspace);
    let (mut engine, mut seq) = match restored {
        Some(saved) => saved,
        None => (fresh(workspace)?, 0),
    };
    let saved = seq;
    let mut skipped: u64 = 0;
    let mut first_skipped = None;
    loop {
        let page = store.routing_events(seq, REPLAY_PAGE).await?;
        let Some(last) = page.last() else { break };
        let last = last.seq;
        for row in page {
            let json = vault.open(&ctx(row.id), &row.event)?;
            // Not serde's message: it can quote the entry's values.
            let event: Event = serde_json::from_slice(&json).map_err(|e| {
                CaseworkError::Internal(format!(
                    "routing log entry {} cannot be read ({:?} error at column {})",
                    row.seq,
                    e.classify(),
                    e.column()
                ))
            })?;
            engine.advance(row.at);
            if let Err(e) = engine.apply(row.at, event) {
                skipped += 1;
                first_skipped.get_or_insert((row.seq, e.to_string()));
            }
        }
        seq = last;
        if (seq - saved) % 100_000 < i64::from(REPLAY_PAGE) && seq - saved >= 100_000 {
            tracing::info!(replayed = seq - saved, "routing: replaying the log");
        }
    }
    if seq > saved {
        tracing::info!(
            from = saved,
            to = seq,
            "routing: rebuilt the engine from the log"
        );
    }
    if let Some((first, why)) = first_skipped {
        tracing::warn!(
            skipped,
            first,
            reason = %why,
            "routing: log entries that no longer apply under this workspace were skipped (the workspace changed and no snapshot of the old one was kept)"
        );
    }
    let mut carried = Vec::new();
    if engine.workspace() != workspace {
        let (new, out, c) = engine
            .carry_over(workspace)
            .map_err(|e| CaseworkError::invalid("routing", &e.to_string()))?;
        tracing::warn!(
            workers = c.workers,
            tasks = c.tasks,
            kept_assigned = c.kept_assigned,
            offers_withdrawn = c.offers_withdrawn,
            activities_reset = c.activities_reset,
            tasks_canceled = c.tasks_canceled,
            "routing: the workspace changed; live work carried over to it"
        );
        (engine, carried) = (new, out);
    }
    // Stored directly: the writer does not run yet.
    let saved = if of_this_workspace {
        saved
    } else {
        let snapshot = sealed_snapshot(vault, engine.save(), seq, now)?;
        store.save_routing_snapshot(&snapshot).await?;
        seq
    };
    Ok(Rebuilt {
        state: State { engine, seq, saved },
        carried,
    })
}

/// An engine image as of event `seq`, sealed for the store.
fn sealed_snapshot(
    vault: &Vault,
    image: Vec<u8>,
    seq: i64,
    at: i64,
) -> Result<RoutingSnapshot, CaseworkError> {
    let id = Uuid::now_v7();
    let image = vault.seal(&snapshot_ctx(id), &image);
    let key_version = Vault::version_of(&image).map_err(CaseworkError::from)? as i32;
    Ok(RoutingSnapshot {
        id,
        seq,
        at,
        image,
        key_version,
    })
}

/// The engine from the newest snapshot and the event it includes; `None`
/// (replay the whole log) when there is none or it cannot be used.
async fn restore(store: &dyn Store, vault: &Vault) -> Option<(Engine, i64)> {
    let snap = match store.routing_snapshot().await {
        Ok(Some(s)) => s,
        Ok(None) => return None,
        Err(e) => {
            tracing::warn!(error = %e, "routing: the snapshot cannot be read; replaying the whole log");
            return None;
        }
    };
    let image = match vault.open(&snapshot_ctx(snap.id), &snap.image) {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "routing: the snapshot cannot be opened; replaying the whole log");
            return None;
        }
    };
    // Under the workspace it was saved with: replay goes on under it.
    match Engine::restore_saved(&image) {
        Ok(engine) => {
            tracing::info!(seq = snap.seq, "routing: restored from a snapshot");
            Some((engine, snap.seq))
        }
        Err(e) => {
            tracing::warn!(error = %e, "routing: the snapshot cannot be used; replaying the whole log");
            None
        }
    }
}
