//! Group commit for inbound messages: a webhook is answered only after its
//! message is stored, and under a flood each one in its own transaction
//! would queue on the database's one writer. Concurrent inbound messages
//! are written together instead — whoever is waiting when the writer is
//! free, up to [`GROUP`] at once, in one transaction — and each caller is
//! told, after the commit, whether its message was new.
//!
//! The work each inbound text needs before it is written is done for the
//! group too: finding whose number it came from (one read of the numbers'
//! last known messages, one of the persons holding them) and its audit
//! entry (one append for the group, before the write). Per text that was
//! three reads and an append; per group it is two reads and an append.

use crate::auditor::{Auditor, draft};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tracedesk_store::audit::Action;
use tracedesk_store::{MessageRow, Store, StoreError, UnknownSender};
use uuid::Uuid;

/// Messages written in one transaction at most.
const GROUP: usize = 256;

/// What a caller is told: whether its message was new, and the message as
/// written (its person, jurisdiction and task when they were found).
type Answer = Result<(bool, MessageRow), StoreError>;
type Reply = oneshot::Sender<Answer>;

/// A message to write, and what to do for it first.
struct Pending {
    row: MessageRow,
    /// Find whose number it came from (an inbound text from a carrier).
    find_sender: bool,
    /// Record its audit entry, as this actor, before the write.
    audit_as: Option<&'static str>,
    /// What to make if no record holds the number: a stand-in person and
    /// a triage task (none for a keyword, which needs no one).
    unknown: Option<UnknownSender>,
    /// The stand-in this group made for the number, if this text is the
    /// one that brought it (written with the text).
    made: Option<UnknownSender>,
    reply: Reply,
}

/// The writer's queue; the writer task runs while a sender lives.
#[derive(Clone)]
pub(crate) struct Inbox {
    tx: mpsc::Sender<Pending>,
}

impl Inbox {
    /// Starts the writer over `store` (on the current Tokio runtime).
    pub(crate) fn start(store: Arc<dyn Store>, auditor: Option<Auditor>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Pending>(4 * GROUP);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut group = vec![first];
                while group.len() < GROUP {
                    match rx.try_recv() {
                        Ok(next) => group.push(next),
                        Err(_) => break,
                    }
                }
                // Reads, audit and write one group after another: more
                // arrive meanwhile, and the next group is larger for it
                // (overlapping the stages was measured slower).
                if let Some(group) = prepare(store.as_ref(), auditor.as_ref(), group).await {
                    write(store.as_ref(), group).await;
                }
            }
        });
        Self { tx }
    }

    async fn submit(&self, p: Pending, answer: oneshot::Receiver<Answer>) -> Answer {
        let stopped = || StoreError::Unavailable("the inbox writer stopped".into());
        self.tx.send(p).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Stores `row` (with whatever else is waiting); `true` if it was new,
    /// `false` if its provider id was stored already. Its audit entry is
    /// the caller's.
    pub(crate) async fn store(&self, row: MessageRow) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let p = Pending {
            row,
            find_sender: false,
            audit_as: None,
            unknown: None,
            made: None,
            reply,
        };
        self.submit(p, answer).await.map(|(new, _)| new)
    }

    /// Stores an inbound text from a carrier: attached to the person and
    /// jurisdiction (and task) of the last message that says whose number
    /// it is, else to the one person holding that number (a shared phone
    /// is left for triage, never guessed); else, given `unknown`, to that
    /// stand-in and its triage task (one per number, made with the first
    /// text). Audited as `actor` before the write. Returns whether it was
    /// new, and the row as written.
    pub(crate) async fn receive(
        &self,
        row: MessageRow,
        actor: &'static str,
        unknown: Option<UnknownSender>,
    ) -> Result<(bool, MessageRow), StoreError> {
        let (reply, answer) = oneshot::channel();
        let p = Pending {
            row,
            find_sender: true,
            audit_as: Some(actor),
            unknown,
            made: None,
            reply,
        };
        self.submit(p, answer).await
    }
}

/// Whose numbers the group's texts came from, in two reads.
async fn find_senders(store: &dyn Store, group: &mut [Pending]) -> Result<(), StoreError> {
    let wanted: Vec<Vec<u8>> = group
        .iter()
        .filter(|p| p.find_sender)
        .map(|p| p.row.address_bidx.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let known: HashMap<Vec<u8>, MessageRow> = store
        .last_known_messages(&wanted)
        .await?
        .into_iter()
        .map(|m| (m.address_bidx.clone(), m))
        .collect();
    let unknown: Vec<Vec<u8>> = wanted
        .into_iter()
        .filter(|b| !known.contains_key(b))
        .collect();
    let mut holders: HashMap<Vec<u8>, HashMap<Uuid, String>> = HashMap::new();
    if !unknown.is_empty() {
        for (b, person, jurisdiction) in store.phone_holders(&unknown).await? {
            holders.entry(b).or_default().insert(person, jurisdiction);
        }
    }
    // Numbers no record holds: the first triage-worthy text from each
    // brings its stand-in; the group's later ones join it.
    let mut stand_ins: HashMap<Vec<u8>, (Uuid, String, Uuid)> = HashMap::new();
    for p in group.iter_mut().filter(|p| p.find_sender) {
        let row = &mut p.row;
        if let Some(m) = known.get(&row.address_bidx) {
            row.person_id = m.person_id;
            row.jurisdiction = m.jurisdiction.clone();
            row.task_id = m.task_id;
        } else if let Some(found) = holders.get(&row.address_bidx)
            && found.len() == 1
            && let Some((person, jurisdiction)) = found.iter().next()
        {
            row.person_id = Some(*person);
            row.jurisdiction = Some(jurisdiction.clone());
        } else if let Some((person, jurisdiction, task)) = stand_ins.get(&row.address_bidx) {
            row.person_id = Some(*person);
            row.jurisdiction = Some(jurisdiction.clone());
            row.task_id = Some(*task);
        } else if let Some(u) = p.unknown.take() {
            let made = (u.person.id, u.task.jurisdiction.clone(), u.task.id);
            row.person_id = Some(made.0);
            row.jurisdiction = Some(made.1.clone());
            row.task_id = Some(made.2);
            stand_ins.insert(row.address_bidx.clone(), made);
            p.made = Some(u);
        }
    }
    Ok(())
}

/// Finds the senders and audits a group; a group whose senders cannot be
/// read, or whose audit entries cannot be appended, is refused whole
/// (`None`): nothing is written unaudited.
async fn prepare(
    store: &dyn Store,
    auditor: Option<&Auditor>,
    mut group: Vec<Pending>,
) -> Option<Vec<Pending>> {
    let prepared = async {
        find_senders(store, &mut group).await?;
        if let Some(a) = auditor {
            let drafts: Vec<_> = group
                .iter()
                .filter_map(|p| {
                    p.audit_as.map(|actor| {
                        draft(
                            actor,
                            Action::PhiWrite,
                            "message",
                            Some(p.row.id),
                            p.row.person_id,
                            "received",
                        )
                    })
                })
                .collect();
            a.record(drafts).await?;
        }
        Ok::<(), StoreError>(())
    }
    .await;
    if let Err(e) = prepared {
        for p in group {
            let _ = p
                .reply
                .send(Err(StoreError::Unavailable(e.to_string().into())));
        }
        return None;
    }
    Some(group)
}

/// Writes a prepared group in one transaction; if that fails, each message
/// alone, so one bad row never sinks the others.
async fn write(store: &dyn Store, group: Vec<Pending>) {
    // The same provider id twice in one group: the first is the one stored.
    let mut seen = HashSet::new();
    let firsts: Vec<bool> = group
        .iter()
        .map(|p| {
            p.row
                .provider_sid
                .as_ref()
                .is_none_or(|s| seen.insert(s.clone()))
        })
        .collect();
    let unique: Vec<MessageRow> = group
        .iter()
        .zip(&firsts)
        .filter(|(_, first)| **first)
        .map(|(p, _)| p.row.clone())
        .collect();
    let senders: Vec<UnknownSender> = group
        .iter()
        .zip(&firsts)
        .filter(|(_, first)| **first)
        .filter_map(|(p, _)| p.made.clone())
        .collect();
    match store.insert_inbound(&unique, &senders).await {
        Ok(written) => {
            let written: HashSet<_> = written.into_iter().collect();
            for p in group {
                let new = written.contains(&p.row.id);
                let _ = p.reply.send(Ok((new, p.row)));
            }
        }
        Err(_) if group.len() > 1 => {
            for (p, first) in group.into_iter().zip(firsts) {
                let one = if first {
                    let made: Vec<UnknownSender> = p.made.iter().cloned().collect();
                    store
                        .insert_inbound(std::slice::from_ref(&p.row), &made)
                        .await
                        .map(|w| !w.is_empty())
                } else {
                    Ok(false)
                };
                let _ = p.reply.send(one.map(|new| (new, p.row)));
            }
        }
        Err(e) => {
            for p in group {
                let _ = p
                    .reply
                    .send(Err(StoreError::Unavailable(e.to_string().into())));
            }
        }
    }
}
