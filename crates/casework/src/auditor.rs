//! Appends audit entries and signs checkpoints of the log.
//!
//! Appends go through one writer task that commits whatever has queued up
//! while the previous transaction ran (group commit): under load many
//! requests share one transaction, so auditing every read does not cost a
//! write transaction per read. Each caller still waits until its own entries
//! are committed.
//!
//! A checkpoint is signed whenever [`CHECKPOINT_EVERY`] entries have gone
//! by, and by [`Auditor::checkpoint`] — which the server calls on a timer and
//! at shutdown, and the CLI after each command that audits — so the unsigned
//! tail of the log stays short.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tracedesk_store::audit::{Action, AuditKey, Checkpoint, Draft, Summary, Verifier};
use tracedesk_store::{AuditStore, StoreError, StoreResult};
use uuid::Uuid;

/// Entries between automatic checkpoints.
pub const CHECKPOINT_EVERY: i64 = 1_000;

/// Entries read per page while verifying.
const VERIFY_PAGE: u32 = 10_000;

/// Most entries committed in one group.
const MAX_GROUP: usize = 5_000;

/// Entries waiting to be committed, and where to say how it went.
struct Job {
    drafts: Vec<Draft>,
    done: tokio::sync::oneshot::Sender<Result<(i64, [u8; 32]), String>>,
}

#[derive(Clone)]
pub struct Auditor {
    store: Arc<dyn AuditStore>,
    key: Arc<AuditKey>,
    /// Sequence number of the newest checkpoint this process knows of.
    checkpointed: Arc<AtomicI64>,
    queue: tokio::sync::mpsc::UnboundedSender<Job>,
}

/// Appends a group: after the head this writer last wrote, in one
/// statement, when it knows it; otherwise (first append, or someone else
/// appended since) under the log's lock, reading the head.
async fn append_group(
    store: &dyn AuditStore,
    head: &mut Option<(i64, [u8; 32])>,
    drafts: &[Draft],
) -> StoreResult<Vec<tracedesk_store::audit::Entry>> {
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
            // Under the lock the head is re-read, but another writer's
            // lock-free append can still land between read and insert: retry.
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

/// Commits queued jobs in groups until every `Auditor` clone is dropped.
async fn writer(store: Arc<dyn AuditStore>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    let mut head = None;
    while let Some(first) = rx.recv().await {
        let mut n = first.drafts.len();
        let mut jobs = vec![first];
        while n < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => {
                    n += j.drafts.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let mut all = Vec::with_capacity(n);
        let mut waiting = Vec::with_capacity(jobs.len());
        for j in jobs {
            all.extend(j.drafts);
            // Each caller learns the sequence number and hash of its last entry.
            waiting.push((all.len(), j.done));
        }
        match append_group(&*store, &mut head, &all).await {
            Ok(entries) => {
                for (end, done) in waiting {
                    let last = end.checked_sub(1).and_then(|k| entries.get(k));
                    let _ = done.send(Ok(last.map(|e| (e.seq, e.hash)).unwrap_or((0, [0; 32]))));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (_, done) in waiting {
                    let _ = done.send(Err(msg.clone()));
                }
            }
        }
    }
}

impl Auditor {
    pub async fn new(store: Arc<dyn AuditStore>, key: Arc<AuditKey>) -> StoreResult<Self> {
        let last = store
            .audit_checkpoints()
            .await?
            .last()
            .map(|c| c.seq)
            .unwrap_or(0);
        let (queue, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(writer(store.clone(), rx));
        Ok(Self {
            store,
            key,
            checkpointed: Arc::new(AtomicI64::new(last)),
            queue,
        })
    }

    pub fn public_key_hex(&self) -> String {
        self.key.public_hex()
    }

    /// Appends entries; an error means the action must not proceed as audited.
    pub async fn record(&self, drafts: Vec<Draft>) -> StoreResult<()> {
        if drafts.is_empty() {
            return Ok(());
        }
        let (done, wait) = tokio::sync::oneshot::channel();
        let stopped = || StoreError::Unavailable("the audit writer has stopped".into());
        self.queue
            .send(Job { drafts, done })
            .map_err(|_| stopped())?;
        let (seq, hash) = wait
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::Backend)?;
        if seq - self.checkpointed.load(Ordering::Relaxed) >= CHECKPOINT_EVERY {
            self.sign(seq, hash).await?;
        }
        Ok(())
    }

    /// Signs the current head if it is newer than the last checkpoint.
    pub async fn checkpoint(&self) -> StoreResult<Option<i64>> {
        match self.store.audit_head().await? {
            Some((seq, hash)) if seq > self.checkpointed.load(Ordering::Relaxed) => {
                self.sign(seq, hash).await?;
                Ok(Some(seq))
            }
            _ => Ok(None),
        }
    }

    async fn sign(&self, seq: i64, hash: [u8; 32]) -> StoreResult<()> {
        let cp = self
            .key
            .checkpoint(seq, hash, tracedesk_store::audit::now());
        match self.store.add_audit_checkpoint(&cp).await {
            // Another node or task signed this very entry first: fine.
            Ok(()) | Err(StoreError::Conflict(_)) => {
                self.checkpointed.fetch_max(seq, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Verifies the whole log against `public` (default: this server's key),
    /// calling `progress` with the entries checked so far.
    pub async fn verify(
        &self,
        public: Option<[u8; 32]>,
        mut progress: impl FnMut(u64),
    ) -> StoreResult<Result<Summary, tracedesk_store::audit::Broken>> {
        let checkpoints: Vec<Checkpoint> = self.store.audit_checkpoints().await?;
        let mut v = match Verifier::new(public.unwrap_or(self.key.public()), checkpoints) {
            Ok(v) => v,
            Err(b) => return Ok(Err(b)),
        };
        let (mut after, mut seen) = (0i64, 0u64);
        loop {
            let page = self.store.audit_entries(after, VERIFY_PAGE).await?;
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
