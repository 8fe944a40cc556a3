//! Dispatch: the routing engine, driven and made durable.
//!
//! The engine is pure; this owns it. Every accepted event is sealed and
//! appended to the routing log with its time before its decisions are
//! given out, and at start the log is replayed, so a restart rebuilds the
//! very state it lost — no task or offer is lost or invented. Timers need no
//! record: they fire from the times the events carry.
//!
//! Decisions also go out on a broadcast channel, for live streams.

use crate::error::CaseworkError;
use std::sync::Arc;
use tokio::sync::{Mutex, broadcast};
use tracedesk_routing::{Decision, Engine, Event, RouteError, Workspace};
use tracedesk_store::{RoutingEventRow, Store, StoreError, schema};
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
}

pub struct Dispatch {
    state: Mutex<State>,
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
    ) -> Result<Self, CaseworkError> {
        let (live, _) = broadcast::channel(4096);
        let state = replay(&*store, &vault, &workspace).await?;
        Ok(Self {
            state: Mutex::new(state),
            store,
            vault,
            workspace,
            clock,
            live,
            recent: Default::default(),
            closing: tokio::sync::watch::Sender::new(false),
        })
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
        let mut st = self.state.lock().await;
        let now = (self.clock)().max(st.engine.now());
        let mut out = st.engine.advance(now);
        let result = st.engine.apply(now, event.clone());
        let decided = match result {
            Ok(d) => d,
            Err(e) => {
                self.publish(&out);
                return Err(e.into());
            }
        };
        let id = Uuid::now_v7();
        let json = serde_json::to_vec(&event)
            .map_err(|e| CaseworkError::Conflict(format!("routing event: {e}")))?;
        let sealed = self.vault.seal(&ctx(id), &json);
        let row = RoutingEventRow {
            id,
            seq: st.seq + 1,
            at: now,
            key_version: Vault::version_of(&sealed).map_err(CaseworkError::from)? as i32,
            event: sealed,
        };
        if let Err(e) = self.store.append_routing_event(&row).await {
            // The engine moved on without the log: go back to what the log
            // holds, so memory and disk never disagree.
            match replay(&*self.store, &self.vault, &self.workspace).await {
                Ok(back) => *st = back,
                Err(again) => {
                    tracing::error!(error = %again, "routing: cannot rebuild after a failed append")
                }
            }
            return Err(CaseworkError::Store(match e {
                StoreError::Conflict(_) => StoreError::Conflict(
                    "another tracedesk node appended to the routing log; only one may route".into(),
                ),
                other => other,
            })
            .into());
        }
        st.seq = row.seq;
        out.extend(decided);
        self.publish(&out);
        Ok(out)
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
        self.publish(&out);
        out
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

/// What a stream starts from: decisions to resend, then the live ones.
pub struct Subscription {
    pub backlog: Vec<Numbered>,
    /// Whether `backlog` holds every decision since the one asked after.
    pub complete: bool,
    /// The number of the newest decision when subscribing.
    pub last: u64,
    pub live: broadcast::Receiver<Numbered>,
}

/// A fresh engine with every logged event applied at its time.
async fn replay(
    store: &dyn Store,
    vault: &Vault,
    workspace: &Workspace,
) -> Result<State, CaseworkError> {
    let mut engine = fresh(workspace)?;
    let mut seq = 0;
    loop {
        let page = store.routing_events(seq, REPLAY_PAGE).await?;
        let Some(last) = page.last() else { break };
        let last = last.seq;
        for row in page {
            let json = vault.open(&ctx(row.id), &row.event)?;
            let event: Event = serde_json::from_slice(&json).map_err(|e| {
                CaseworkError::Conflict(format!(
                    "routing log entry {} cannot be read: {e}",
                    row.seq
                ))
            })?;
            engine.advance(row.at);
            // Logged events were accepted once; the same engine accepts them again.
            if let Err(e) = engine.apply(row.at, event) {
                return Err(CaseworkError::Conflict(format!(
                    "routing log entry {} no longer applies ({e}): the workspace changed",
                    row.seq
                )));
            }
        }
        seq = last;
    }
    Ok(State { engine, seq })
}
