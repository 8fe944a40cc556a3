//! Appends audit entries and signs checkpoints of the log.
//!
//! Appends go through one writer task that takes whatever has queued up
//! while it was busy (group commit), so under load many requests share one
//! write. Each caller waits until its entries are durable — "no audit entry,
//! no response". Where they become durable depends on the mode:
//!
//! - **direct** (`Auditor::new`, what short-lived commands use): each group
//!   is one transaction on the database log;
//! - **journaled** (`Auditor::journaled`, what `serve` uses): each group is
//!   one `write` to a local segment file ([`crate::audit_journal`]), and a
//!   second task moves whole segments into the database log. This is what
//!   keeps auditing every read cheap (docs/benchmarks.md).
//!
//! A checkpoint is signed whenever [`CHECKPOINT_EVERY`] entries have gone
//! by, and by [`Auditor::checkpoint`] — which the server calls on a timer and
//! at shutdown, and the CLI after each command that audits — so the unsigned
//! tail of the log stays short.

use crate::audit_journal::{self, Journal, Segment};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracedesk_store::audit::{
    Action, AuditKey, Checkpoint, Draft, Entry, GENESIS, Limits, Link, Summary, Verifier, anchor,
};
use tracedesk_store::{AuditStore, StoreError, StoreResult};
use uuid::Uuid;

/// Entries between automatic checkpoints.
pub const CHECKPOINT_EVERY: i64 = 1_000;

/// Entries read per page while verifying.
const VERIFY_PAGE: u32 = 10_000;

/// Most entries committed in one group.
const MAX_GROUP: usize = 5_000;

/// Longest a journal segment stays open before it is moved into the log.
/// Each move rewrites the person-index pages its entries land on, so moving
/// rarely is what keeps auditing reads cheap (2 s cost reads up to 15% on a
/// large log, 10 s under 8%: docs/benchmarks.md); 10 s is also how long the
/// server leaves the log's tail unsigned.
const SEGMENT_AGE: Duration = Duration::from_secs(10);

/// Most entries in one journal segment.
const SEGMENT_ENTRIES: usize = 200_000;

/// How far back from the head a leftover segment is looked for in the log.
const RECOVERY_WINDOW: i64 = 10_000;

/// The newest entry a group produced, when the mode knows it at once.
type Tip = Option<(i64, [u8; 32])>;

enum Job {
    /// Entries to make durable; answered once they are.
    Append {
        drafts: Vec<Draft>,
        done: oneshot::Sender<Result<Tip, String>>,
    },
    /// Answered once every entry queued before it is in the database log.
    Flush {
        done: oneshot::Sender<Result<(), String>>,
    },
}

/// What the writer and the journal's absorber share with the callers.
struct Shared {
    store: Arc<dyn AuditStore>,
    key: Arc<AuditKey>,
    /// Sequence number of the newest checkpoint this process knows of.
    checkpointed: AtomicI64,
    /// When this process began: entries older than it that it signs were
    /// left unsigned by another (a crash), and its checkpoint says so.
    started: chrono::DateTime<chrono::Utc>,
    /// Where each signed checkpoint is also appended, outside the database.
    anchor: std::sync::Mutex<Option<PathBuf>>,
    /// One signer at a time in this process: many requests cross the
    /// checkpoint threshold together, and each checkpoint links to the
    /// one before, so concurrent signers would only keep displacing each
    /// other. Other processes are told apart by the store (`Conflict`).
    signing: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
pub struct Auditor {
    shared: Arc<Shared>,
    mode: Mode,
}

#[derive(Clone)]
enum Mode {
    /// To the writer task that commits groups to the database.
    Direct(mpsc::UnboundedSender<Job>),
    Journaled(Arc<Sink>),
}

/// Appends a group: after the head this writer last wrote, in one
/// statement, when it knows it; otherwise (first append, or someone else
/// appended since) under the log's lock, reading the head.
async fn append_group(
    store: &dyn AuditStore,
    head: &mut Option<(i64, [u8; 32])>,
    drafts: &[Draft],
) -> StoreResult<Vec<Entry>> {
    let fast = match *head {
        Some(h) => match store.append_audit_after(h, drafts).await {
            Err(StoreError::Conflict(_)) => None,
            other => Some(other),
        },
        None => None,
    };
    let result = match fast {
        Some(r) => r,
        None => {
            // Under the lock the head is re-read, and lock-free appends give
            // way to the lock's holder (see the store's `append_audit_after`);
            // a conflict here means another process wrote without either: retry.
            let mut attempt = 0;
            loop {
                match store.append_audit(drafts).await {
                    Err(StoreError::Conflict(_)) if attempt < 10 => attempt += 1,
                    other => break other,
                }
            }
        }
    };
    *head = match &result {
        Ok(entries) => entries.last().map(|e| (e.seq, e.hash)).or(*head),
        Err(_) => None,
    };
    result
}

/// Takes `first` and whatever else is queued (up to [`MAX_GROUP`] entries):
/// the appends, their drafts in order, and the flushes among them.
struct Group {
    drafts: Vec<Draft>,
    /// Each append's waiter with the index just past its last draft.
    appends: Vec<(usize, oneshot::Sender<Result<Tip, String>>)>,
    flushes: Vec<oneshot::Sender<Result<(), String>>>,
}

fn gather(first: Job, rx: &mut mpsc::UnboundedReceiver<Job>) -> Group {
    let mut g = Group {
        drafts: Vec::new(),
        appends: Vec::new(),
        flushes: Vec::new(),
    };
    let mut next = Some(first);
    while let Some(job) = next.take() {
        match job {
            Job::Append { drafts, done } => {
                g.drafts.extend(drafts);
                g.appends.push((g.drafts.len(), done));
            }
            Job::Flush { done } => g.flushes.push(done),
        }
        if g.drafts.len() < MAX_GROUP {
            next = rx.try_recv().ok();
        }
    }
    g
}

/// Direct mode: commits each group to the database log.
async fn direct_writer(store: Arc<dyn AuditStore>, mut rx: mpsc::UnboundedReceiver<Job>) {
    let mut head = None;
    while let Some(first) = rx.recv().await {
        let g = gather(first, &mut rx);
        let result = append_group(&*store, &mut head, &g.drafts)
            .await
            .map_err(|e| e.to_string());
        for (end, done) in g.appends {
            let tip = result.as_ref().map(|entries| {
                let last = end.checked_sub(1).and_then(|k| entries.get(k));
                Some(last.map(|e| (e.seq, e.hash)).unwrap_or((0, [0; 32])))
            });
            let _ = done.send(tip.map_err(Clone::clone));
        }
        for done in g.flushes {
            let _ = done.send(result.as_ref().map(|_| ()).map_err(Clone::clone));
        }
    }
}

/// A closed journal segment on its way into the database log.
struct Batch {
    path: Option<PathBuf>,
    drafts: Vec<Draft>,
    flushes: Vec<oneshot::Sender<Result<(), String>>>,
}

/// The segment being written and the drafts it holds.
struct Open {
    segment: Segment,
    drafts: Vec<Draft>,
    since: std::time::Instant,
}

/// Journaled mode's writing end. Callers write their own entries under a
/// short lock — one `write` each, no hand-off to another task — and closed
/// segments go to the absorber.
struct Sink {
    state: std::sync::Mutex<SinkState>,
    absorb: mpsc::UnboundedSender<Batch>,
}

struct SinkState {
    journal: Journal,
    open: Option<Open>,
}

impl Sink {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, SinkState>, String> {
        self.state
            .lock()
            .map_err(|_| "the audit journal failed earlier in this process".to_string())
    }

    /// Makes `drafts` durable in the open segment.
    fn write(&self, drafts: &[Draft]) -> Result<(), String> {
        let mut bytes = Vec::with_capacity(drafts.len() * 200);
        audit_journal::encode(drafts, &mut bytes);
        let mut st = self.lock()?;
        let written = Self::append(&mut st, drafts, &bytes);
        let full = st
            .open
            .as_ref()
            .is_some_and(|o| o.drafts.len() >= SEGMENT_ENTRIES);
        // A failed write may have left part of a line: start a new segment.
        if written.is_err() || full {
            self.close(&mut st, Vec::new());
        }
        written
    }

    fn append(st: &mut SinkState, drafts: &[Draft], bytes: &[u8]) -> Result<(), String> {
        let failed = |e: std::io::Error| format!("cannot write the audit journal: {e}");
        let open = match &mut st.open {
            Some(o) => o,
            None => st.open.insert(Open {
                segment: st.journal.segment().map_err(failed)?,
                drafts: Vec::new(),
                since: std::time::Instant::now(),
            }),
        };
        open.segment.append(bytes).map_err(failed)?;
        open.drafts.extend_from_slice(drafts);
        Ok(())
    }

    /// Hands the open segment (if any) and `flushes` to the absorber.
    fn close(&self, st: &mut SinkState, flushes: Vec<oneshot::Sender<Result<(), String>>>) {
        let (path, drafts) = match st.open.take() {
            Some(o) => (Some(o.segment.path), o.drafts),
            None => (None, Vec::new()),
        };
        let _ = self.absorb.send(Batch {
            path,
            drafts,
            flushes,
        });
    }

    fn close_if_old(&self) {
        if let Ok(mut st) = self.lock()
            && st
                .open
                .as_ref()
                .is_some_and(|o| o.since.elapsed() >= SEGMENT_AGE)
        {
            self.close(&mut st, Vec::new());
        }
    }
}

/// Closes segments that have been open [`SEGMENT_AGE`], while the sink lives.
async fn rotator(sink: std::sync::Weak<Sink>) {
    loop {
        tokio::time::sleep(SEGMENT_AGE / 4).await;
        match sink.upgrade() {
            Some(s) => s.close_if_old(),
            None => return,
        }
    }
}

/// Moves closed segments into the database log, in order, retrying until
/// the database takes them; deletes each segment once its entries are in.
async fn absorber(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Batch>) {
    let mut head = None;
    while let Some(mut batch) = rx.recv().await {
        let mut delay = Duration::from_millis(100);
        while !batch.drafts.is_empty() {
            match append_group(&*shared.store, &mut head, &batch.drafts).await {
                Ok(entries) => {
                    if let Some(last) = entries.last() {
                        shared.sign_if_due(last.seq, last.hash).await;
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, entries = batch.drafts.len(),
                        "audit journal: the log did not take a segment; retrying");
                    // Whoever waits for a flush learns now; the entries stay
                    // journaled and keep being retried.
                    for done in batch.flushes.drain(..) {
                        let _ = done.send(Err(e.to_string()));
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
        }
        if let Some(path) = &batch.path
            && let Err(e) = std::fs::remove_file(path)
        {
            tracing::warn!(error = %e, "audit journal: cannot delete an absorbed segment");
        }
        for done in batch.flushes {
            let _ = done.send(Ok(()));
        }
    }
}

/// Whether a leftover segment's entries already reached the log (a segment
/// goes in whole or not at all, so its last entry tells).
async fn already_logged(store: &dyn AuditStore, drafts: &[Draft]) -> StoreResult<bool> {
    let (Some(last), Some((head, _))) = (drafts.last(), store.audit_head().await?) else {
        return Ok(false);
    };
    let span = drafts.len() as i64 + RECOVERY_WINDOW;
    let after = (head - span).max(0);
    let tail = store.audit_entries(after, span as u32 + 1).await?;
    Ok(tail.iter().any(|e| &e.draft == last))
}

/// Absorbs the segments a previous process left behind.
async fn recover(store: &dyn AuditStore, journal: &Journal) -> StoreResult<usize> {
    let io = |e: std::io::Error| StoreError::Unavailable(format!("audit journal: {e}").into());
    let mut moved = 0;
    let mut head = None;
    for path in journal.leftovers().map_err(io)? {
        let bytes = std::fs::read(&path).map_err(io)?;
        match audit_journal::decode(&bytes) {
            Ok(drafts) => {
                if !already_logged(store, &drafts).await? {
                    append_group(store, &mut head, &drafts).await?;
                    moved += drafts.len();
                }
                std::fs::remove_file(&path).map_err(io)?;
            }
            Err(why) => {
                let kept = Journal::set_aside(&path).map_err(io)?;
                tracing::error!(segment = %kept.display(), %why,
                    "audit journal: a damaged segment was set aside, not absorbed; inspect it");
            }
        }
    }
    Ok(moved)
}

impl Shared {
    /// Signs "the log holds `seq` entries ending in `hash`", linked to the
    /// newest checkpoint, stores it and appends it to the anchor; with
    /// `only_if_due`, only when [`CHECKPOINT_EVERY`] entries went by since
    /// the last one (checked again once this signer has its turn).
    async fn sign(&self, seq: i64, hash: [u8; 32], only_if_due: bool) -> StoreResult<()> {
        let _turn = self.signing.lock().await;
        let known = self.checkpointed.load(Ordering::Relaxed);
        if known >= seq || (only_if_due && seq - known < CHECKPOINT_EVERY) {
            return Ok(());
        }
        for _ in 0..5 {
            let last = self.store.last_audit_checkpoint().await?;
            let covered = last.as_ref().map_or(0, |c| c.seq);
            if covered >= seq {
                // Another node or task signed this far first: fine.
                self.checkpointed.fetch_max(covered, Ordering::Relaxed);
                return Ok(());
            }
            let first_new = self.store.audit_entries(covered, 1).await?;
            let late = first_new.first().is_some_and(|e| e.draft.at < self.started);
            let link = Link {
                prev: last.as_ref().map_or(GENESIS, Checkpoint::digest),
                late,
            };
            let cp = self
                .key
                .checkpoint(seq, hash, tracedesk_store::audit::now(), link);
            match self.store.add_audit_checkpoint(&cp).await {
                Ok(()) => {
                    self.checkpointed.fetch_max(seq, Ordering::Relaxed);
                    tracing::info!(
                        seq,
                        head = %hex::encode(cp.head),
                        late,
                        "audit checkpoint signed"
                    );
                    // The checkpoint stands in the database; an anchor that
                    // cannot be written is an operator's alarm, not a reason
                    // to refuse the action that was audited.
                    if let Err(e) = self.anchor(&cp) {
                        tracing::error!(error = %e, seq, "audit anchor not written");
                    }
                    return Ok(());
                }
                // Someone signed meanwhile: link to theirs and try again.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(
            "audit checkpoints kept being signed by others; will retry".into(),
        ))
    }

    /// Appends a checkpoint to the anchor file (and syncs it).
    fn anchor(&self, cp: &Checkpoint) -> StoreResult<()> {
        let guard = self
            .anchor
            .lock()
            .map_err(|_| StoreError::Unavailable("audit anchor: a writer panicked".into()))?;
        let Some(path) = guard.as_ref() else {
            return Ok(());
        };
        let io = |e: std::io::Error| {
            StoreError::Unavailable(format!("audit anchor {}: {e}", path.display()).into())
        };
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        f.write_all(format!("{}\n", anchor::line(cp)).as_bytes())
            .map_err(io)?;
        f.sync_data().map_err(io)
    }

    /// Signs `(seq, hash)` when enough entries went by since the last
    /// checkpoint; a failure only delays the next one.
    async fn sign_if_due(&self, seq: i64, hash: [u8; 32]) {
        if seq - self.checkpointed.load(Ordering::Relaxed) >= CHECKPOINT_EVERY
            && let Err(e) = self.sign(seq, hash, true).await
        {
            tracing::warn!(error = %e, "audit checkpoint failed");
        }
    }
}

impl Auditor {
    async fn shared(store: Arc<dyn AuditStore>, key: Arc<AuditKey>) -> StoreResult<Arc<Shared>> {
        let last = store
            .audit_checkpoints()
            .await?
            .last()
            .map(|c| c.seq)
            .unwrap_or(0);
        Ok(Arc::new(Shared {
            store,
            key,
            checkpointed: AtomicI64::new(last),
            started: tracedesk_store::audit::now(),
            anchor: std::sync::Mutex::new(None),
            signing: tokio::sync::Mutex::new(()),
        }))
    }

    /// Direct mode: every group is a transaction on the database log.
    pub async fn new(store: Arc<dyn AuditStore>, key: Arc<AuditKey>) -> StoreResult<Self> {
        let shared = Self::shared(store.clone(), key).await?;
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(direct_writer(store, rx));
        Ok(Self {
            shared,
            mode: Mode::Direct(queue),
        })
    }

    /// Journaled mode over the journal in `dir`, after absorbing whatever
    /// segments a previous process left there (returned: how many entries).
    pub async fn journaled(
        store: Arc<dyn AuditStore>,
        key: Arc<AuditKey>,
        dir: &Path,
    ) -> StoreResult<(Self, usize)> {
        let shared = Self::shared(store.clone(), key).await?;
        let journal = Journal::open(dir)
            .map_err(|e| StoreError::Unavailable(format!("audit journal: {e}").into()))?;
        let recovered = recover(&*store, &journal).await?;
        let (absorb, batches) = mpsc::unbounded_channel();
        let sink = Arc::new(Sink {
            state: std::sync::Mutex::new(SinkState {
                journal,
                open: None,
            }),
            absorb,
        });
        tokio::spawn(absorber(shared.clone(), batches));
        tokio::spawn(rotator(Arc::downgrade(&sink)));
        let mode = Mode::Journaled(sink);
        Ok((Self { shared, mode }, recovered))
    }

    /// Appends every checkpoint this auditor signs to `path` too (see
    /// `tracedesk_audit::anchor`).
    pub fn with_anchor(self, path: PathBuf) -> Self {
        match self.shared.anchor.lock() {
            Ok(mut a) => *a = Some(path),
            Err(p) => *p.into_inner() = Some(path),
        }
        self
    }

    pub fn public_key_hex(&self) -> String {
        self.shared.key.public_hex()
    }

    fn stopped() -> StoreError {
        StoreError::Unavailable("the audit writer has stopped".into())
    }

    /// Appends entries; an error means the action must not proceed as audited.
    pub async fn record(&self, drafts: Vec<Draft>) -> StoreResult<()> {
        if drafts.is_empty() {
            return Ok(());
        }
        let queue = match &self.mode {
            Mode::Journaled(sink) => {
                return sink
                    .write(&drafts)
                    .map_err(|e| StoreError::Unavailable(e.to_string().into()));
            }
            Mode::Direct(queue) => queue,
        };
        let (done, wait) = oneshot::channel();
        queue
            .send(Job::Append { drafts, done })
            .map_err(|_| Self::stopped())?;
        let tip = wait
            .await
            .map_err(|_| Self::stopped())?
            .map_err(|e| StoreError::Backend(e.into()))?;
        // The entries are durable: a checkpoint that cannot be signed now
        // is logged and signed later, never a reason to fail the action.
        if let Some((seq, hash)) = tip {
            self.shared.sign_if_due(seq, hash).await;
        }
        Ok(())
    }

    /// Waits until every entry recorded so far is in the database log (in
    /// journaled mode they may still be in the journal until then).
    pub async fn flush(&self) -> StoreResult<()> {
        let (done, wait) = oneshot::channel();
        match &self.mode {
            Mode::Direct(queue) => queue
                .send(Job::Flush { done })
                .map_err(|_| Self::stopped())?,
            Mode::Journaled(sink) => {
                let mut st = sink
                    .lock()
                    .map_err(|e| StoreError::Unavailable(e.to_string().into()))?;
                sink.close(&mut st, vec![done]);
            }
        }
        wait.await
            .map_err(|_| Self::stopped())?
            .map_err(|e| StoreError::Backend(e.into()))
    }

    /// Flushes, then signs the current head if it is newer than the last
    /// checkpoint.
    pub async fn checkpoint(&self) -> StoreResult<Option<i64>> {
        self.flush().await?;
        match self.shared.store.audit_head().await? {
            Some((seq, hash)) if seq > self.shared.checkpointed.load(Ordering::Relaxed) => {
                self.shared.sign(seq, hash, false).await?;
                Ok(Some(seq))
            }
            _ => Ok(None),
        }
    }

    /// Verifies the whole log against `public` (default: this server's key),
    /// calling `progress` with the entries checked so far.
    pub async fn verify(
        &self,
        public: Option<[u8; 32]>,
        progress: impl FnMut(u64),
    ) -> StoreResult<Result<Summary, tracedesk_store::audit::Broken>> {
        self.verify_with(
            &VerifyOptions {
                public,
                ..VerifyOptions::default()
            },
            progress,
        )
        .await
    }

    /// [`Auditor::verify`] with an anchor and limits.
    pub async fn verify_with(
        &self,
        o: &VerifyOptions,
        mut progress: impl FnMut(u64),
    ) -> StoreResult<Result<Summary, tracedesk_store::audit::Broken>> {
        self.flush().await?;
        let checkpoints: Vec<Checkpoint> = self.shared.store.audit_checkpoints().await?;
        let v = Verifier::new(o.public.unwrap_or(self.shared.key.public()), checkpoints)
            .map(|v| v.with_limits(o.limits))
            .and_then(|v| match &o.anchor {
                Some(a) => v.with_anchor(a),
                None => Ok(v),
            });
        let mut v = match v {
            Ok(v) => v,
            Err(b) => return Ok(Err(b)),
        };
        let (mut after, mut seen) = (0i64, 0u64);
        loop {
            let page = self.shared.store.audit_entries(after, VERIFY_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.seq;
            for e in &page {
                if let Err(b) = v.feed(e) {
                    return Ok(Err(b));
                }
            }
            seen += page.len() as u64;
            progress(seen);
        }
        Ok(v.finish())
    }
}

/// How `audit verify` checks the log.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The public key to check signatures with (default: this server's).
    pub public: Option<[u8; 32]>,
    /// Checkpoints anchored outside the database, which the log must hold.
    pub anchor: Option<Vec<Checkpoint>>,
    pub limits: Limits,
}

pub fn draft(
    actor: &str,
    action: Action,
    object: &str,
    object_id: Option<Uuid>,
    person_id: Option<Uuid>,
    detail: &str,
) -> Draft {
    Draft {
        at: tracedesk_store::audit::now(),
        actor: actor.to_string(),
        action,
        object: object.to_string(),
        object_id,
        person_id,
        detail: detail.to_string(),
    }
}
