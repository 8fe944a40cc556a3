//! The engine saved whole, and restored.
//!
//! Replaying the routing log from its start costs a few microseconds per
//! event, which grows without bound; an image lets a restart (or the node
//! taking over the lead) load the state as of one event and replay only what
//! came after. The image is the engine's own state, field for field, so a
//! restored engine is the engine that was saved — the property tests check
//! that it goes on to decide exactly as the original does. Compiled
//! expressions are not saved: they are rebuilt from the workspace, which is
//! saved with the image so that an image of another configuration is
//! refused rather than misread.

use super::*;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Leads every image, with its format's version.
const MAGIC: &[u8; 8] = b"TDROUTE1";

/// Why an image cannot be restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("not a routing engine image (or an older format)")]
    Format,
    #[error("the image is damaged: {0}")]
    Damaged(String),
    #[error("the image was saved under another routing workspace")]
    OtherWorkspace,
    #[error("the saved workspace no longer compiles: {0}")]
    Config(String),
}

/// Field order is the format: the owned and borrowed forms must match.
#[derive(Serialize)]
struct ImageRef<'a> {
    workspace: &'a Workspace,
    keys: &'a [Box<str>],
    now: Millis,
    workers: &'a [Worker],
    worker_ids: &'a HashMap<Uuid, u32>,
    tasks: &'a [Option<Task>],
    free: &'a [u32],
    task_ids: &'a HashMap<Uuid, u32>,
    reservations: &'a BTreeMap<u64, Reservation>,
    next_reservation: u64,
    next_seq: u64,
    buckets: &'a [Bucket],
    bucket_ids: &'a HashMap<(u16, u8, u16, u8, String), u32>,
    idle: &'a [Vec<BTreeSet<(Millis, u32)>>],
    timers: &'a BTreeSet<(Millis, Timer)>,
    counters: &'a Counters,
    minutes: &'a VecDeque<(Millis, Counters)>,
}

#[derive(Deserialize)]
struct Image {
    workspace: Workspace,
    keys: Vec<Box<str>>,
    now: Millis,
    workers: Vec<Worker>,
    worker_ids: HashMap<Uuid, u32>,
    tasks: Vec<Option<Task>>,
    free: Vec<u32>,
    task_ids: HashMap<Uuid, u32>,
    reservations: BTreeMap<u64, Reservation>,
    next_reservation: u64,
    next_seq: u64,
    buckets: Vec<Bucket>,
    bucket_ids: HashMap<(u16, u8, u16, u8, String), u32>,
    idle: Vec<Vec<BTreeSet<(Millis, u32)>>>,
    timers: BTreeSet<(Millis, Timer)>,
    counters: Counters,
    minutes: VecDeque<(Millis, Counters)>,
}

impl Engine {
    /// The whole state as bytes (postcard), for [`Engine::restore`].
    pub fn save(&self) -> Vec<u8> {
        let image = ImageRef {
            workspace: &self.source,
            keys: self.keys.names(),
            now: self.now,
            workers: &self.workers,
            worker_ids: &self.worker_ids,
            tasks: &self.tasks,
            free: &self.free,
            task_ids: &self.task_ids,
            reservations: &self.reservations,
            next_reservation: self.next_reservation,
            next_seq: self.next_seq,
            buckets: &self.buckets,
            bucket_ids: &self.bucket_ids,
            idle: &self.idle,
            timers: &self.timers,
            counters: &self.counters,
            minutes: &self.minutes,
        };
        let mut out = MAGIC.to_vec();
        // Serializing owned, well-formed data into a Vec cannot fail.
        out.extend(postcard::to_allocvec(&image).unwrap_or_default());
        out
    }

    /// The engine `bytes` were saved from, if it ran `workspace`.
    pub fn restore(workspace: &Workspace, bytes: &[u8]) -> Result<Self, ImageError> {
        let engine = Self::restore_saved(bytes)?;
        if engine.source != *workspace {
            return Err(ImageError::OtherWorkspace);
        }
        Ok(engine)
    }

    /// The engine `bytes` were saved from, under the workspace it ran then
    /// (to carry its work over to a changed one).
    pub fn restore_saved(bytes: &[u8]) -> Result<Self, ImageError> {
        let body = bytes.strip_prefix(MAGIC).ok_or(ImageError::Format)?;
        // postcard's messages are fixed texts; they never quote saved values.
        let image: Image =
            postcard::from_bytes(body).map_err(|e| ImageError::Damaged(e.to_string()))?;
        // Compiling interns the workspace's names first, as when the engine
        // was made, so they get the ids they had.
        let mut keys = Keys::from_names(image.keys);
        let ws = Compiled::new(&image.workspace, &mut keys)
            .map_err(|e| ImageError::Config(e.to_string()))?;
        Ok(Self {
            source: image.workspace,
            keys,
            ws,
            now: image.now,
            workers: image.workers,
            worker_ids: image.worker_ids,
            tasks: image.tasks,
            free: image.free,
            task_ids: image.task_ids,
            reservations: image.reservations,
            next_reservation: image.next_reservation,
            next_seq: image.next_seq,
            buckets: image.buckets,
            bucket_ids: image.bucket_ids,
            idle: image.idle,
            timers: image.timers,
            counters: image.counters,
            minutes: image.minutes,
            deferred: None,
        })
    }
}
