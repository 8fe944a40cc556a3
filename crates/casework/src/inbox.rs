//! Group commit for inbound messages: a webhook is answered only after its
//! message is stored, and under a flood each one in its own transaction
//! would queue on the database's one writer. Concurrent inbound messages
//! are written together instead — whoever is waiting when the writer is
//! free, up to [`GROUP`] at once, in one transaction — and each caller is
//! told, after the commit, whether its message was new.

use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tracedesk_store::{MessageRow, Store, StoreError};

/// Messages written in one transaction at most.
const GROUP: usize = 256;

type Reply = oneshot::Sender<Result<bool, StoreError>>;

/// The writer's queue; the writer task runs while a sender lives.
#[derive(Clone)]
pub(crate) struct Inbox {
    tx: mpsc::Sender<(MessageRow, Reply)>,
}

impl Inbox {
    /// Starts the writer over `store` (on the current Tokio runtime).
    pub(crate) fn start(store: Arc<dyn Store>) -> Self {
        let (tx, mut rx) = mpsc::channel::<(MessageRow, Reply)>(4 * GROUP);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut group = vec![first];
                while group.len() < GROUP {
                    match rx.try_recv() {
                        Ok(next) => group.push(next),
                        Err(_) => break,
                    }
                }
                write(store.as_ref(), group).await;
            }
        });
        Self { tx }
    }

    /// Stores `row` (with whatever else is waiting); `true` if it was new,
    /// `false` if its provider id was stored already.
    pub(crate) async fn store(&self, row: MessageRow) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((row, reply))
            .await
            .map_err(|_| StoreError::Unavailable("the inbox writer stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the inbox writer stopped".into()))?
    }
}

/// Writes a group in one transaction; if that fails, each message alone,
/// so one bad row never sinks the others.
async fn write(store: &dyn Store, group: Vec<(MessageRow, Reply)>) {
    let (rows, replies): (Vec<MessageRow>, Vec<Reply>) = group.into_iter().unzip();
    // The same provider id twice in one group: the first is the one stored.
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<bool> = rows
        .iter()
        .map(|r| {
            r.provider_sid
                .as_ref()
                .is_none_or(|s| seen.insert(s.clone()))
        })
        .collect();
    let unique: Vec<MessageRow> = rows
        .iter()
        .zip(&firsts)
        .filter(|(_, first)| **first)
        .map(|(r, _)| r.clone())
        .collect();
    match store.insert_messages(&unique).await {
        Ok(written) => {
            let written: std::collections::HashSet<_> = written.into_iter().collect();
            for (row, reply) in rows.iter().zip(replies) {
                let _ = reply.send(Ok(written.contains(&row.id)));
            }
        }
        Err(_) if rows.len() > 1 => {
            for ((row, reply), first) in rows.into_iter().zip(replies).zip(firsts) {
                let one = if first {
                    store
                        .insert_messages(std::slice::from_ref(&row))
                        .await
                        .map(|w| !w.is_empty())
                } else {
                    Ok(false)
                };
                let _ = reply.send(one);
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(StoreError::Unavailable(e.to_string().into())));
            }
        }
    }
}
