//! What goes into the routing engine and what comes out: events,
//! decisions, errors, states, and the views the server and tests read.

use uuid::Uuid;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum TaskState {
    Pending,
    Reserved,
    Assigned,
    Wrapping,
    Completed,
    Canceled,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum ReservationState {
    Pending,
    Accepted,
    Rejected,
    Timeout,
    Canceled,
    Rescinded,
}

impl Decision {
    /// The worker the decision is about, if any.
    pub fn worker(&self) -> Option<Uuid> {
        match self {
            Decision::Offered { worker, .. }
            | Decision::Accepted { worker, .. }
            | Decision::Assigned { worker, .. }
            | Decision::Released { worker, .. }
            | Decision::Rejected { worker, .. }
            | Decision::TimedOut { worker, .. }
            | Decision::Rescinded { worker, .. }
            | Decision::ActivityChanged { worker, .. } => Some(*worker),
            _ => None,
        }
    }

    /// The task the decision is about, if any.
    pub fn task(&self) -> Option<Uuid> {
        match self {
            Decision::Offered { task, .. }
            | Decision::Accepted { task, .. }
            | Decision::Assigned { task, .. }
            | Decision::Released { task, .. }
            | Decision::Rejected { task, .. }
            | Decision::TimedOut { task, .. }
            | Decision::Rescinded { task, .. }
            | Decision::Queued { task, .. }
            | Decision::Wrapping { task }
            | Decision::Completed { task }
            | Decision::Canceled { task, .. } => Some(*task),
            Decision::ActivityChanged { .. } => None,
        }
    }

    /// Its name on the wire (`offered`, `rescinded`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Offered { .. } => "offered",
            Decision::Accepted { .. } => "accepted",
            Decision::Assigned { .. } => "assigned",
            Decision::Released { .. } => "released",
            Decision::Rejected { .. } => "rejected",
            Decision::TimedOut { .. } => "timed_out",
            Decision::Rescinded { .. } => "rescinded",
            Decision::ActivityChanged { .. } => "activity_changed",
            Decision::Queued { .. } => "queued",
            Decision::Wrapping { .. } => "wrapping",
            Decision::Completed { .. } => "completed",
            Decision::Canceled { .. } => "canceled",
        }
    }
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Reserved => "reserved",
            TaskState::Assigned => "assigned",
            TaskState::Wrapping => "wrapping",
            TaskState::Completed => "completed",
            TaskState::Canceled => "canceled",
        }
    }
}

impl ReservationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationState::Pending => "pending",
            ReservationState::Accepted => "accepted",
            ReservationState::Rejected => "rejected",
            ReservationState::Timeout => "timeout",
            ReservationState::Canceled => "canceled",
            ReservationState::Rescinded => "rescinded",
        }
    }
}

/// What the engine is told. Every event carries the time it happened.
/// Events are what is persisted: replaying them rebuilds the engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    AddWorker {
        id: Uuid,
        attributes: serde_json::Value,
        /// Capacity per channel name; channels left out get their default.
        capacity: Vec<(String, u16)>,
    },
    UpdateWorker {
        id: Uuid,
        attributes: serde_json::Value,
    },
    SetActivity {
        worker: Uuid,
        activity: String,
        /// Reject the worker's pending offers when the activity is unavailable.
        reject_pending: bool,
    },
    CreateTask {
        id: Uuid,
        attributes: serde_json::Value,
        channel: String,
        /// Default: the task type's, else 0.
        priority: Option<i32>,
        /// Default: the task type's due time after now.
        due: Option<Millis>,
        /// Seconds until the task is canceled if no one has taken it.
        ttl: Option<u64>,
        /// Made already assigned to this worker, by hand: no offer is made.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<Uuid>,
    },
    UpdateTask {
        id: Uuid,
        attributes: serde_json::Value,
    },
    CancelTask {
        id: Uuid,
        reason: String,
    },
    /// A supervisor gives a live task to a worker, whatever routing had
    /// done with it: offers are withdrawn, a worker who held it loses it.
    /// It counts against the worker's room like any task, and may take
    /// them past their capacity (routing then offers them nothing more on
    /// that channel until they are below it again).
    Assign {
        task: Uuid,
        worker: Uuid,
    },
    Accept {
        reservation: u64,
    },
    Reject {
        reservation: u64,
    },
    Wrap {
        task: Uuid,
    },
    Complete {
        task: Uuid,
    },
    /// Only lets time pass (timeouts, escalations, TTLs).
    Tick,
}

/// What the engine decided; the server delivers these.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Offered {
        reservation: u64,
        task: Uuid,
        worker: Uuid,
        expires: Millis,
    },
    Accepted {
        reservation: u64,
        task: Uuid,
        worker: Uuid,
    },
    /// Assigned by hand (no reservation).
    Assigned {
        task: Uuid,
        worker: Uuid,
    },
    /// The worker held the task and it was assigned to someone else.
    Released {
        task: Uuid,
        worker: Uuid,
    },
    Rejected {
        reservation: u64,
        task: Uuid,
        worker: Uuid,
    },
    TimedOut {
        reservation: u64,
        task: Uuid,
        worker: Uuid,
    },
    Rescinded {
        reservation: u64,
        task: Uuid,
        worker: Uuid,
    },
    ActivityChanged {
        worker: Uuid,
        activity: String,
    },
    Queued {
        task: Uuid,
        queue: String,
    },
    Wrapping {
        task: Uuid,
    },
    Completed {
        task: Uuid,
    },
    Canceled {
        task: Uuid,
        reason: String,
    },
}

/// Why an event was refused. The state is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("unknown worker {0}")]
    UnknownWorker(Uuid),
    #[error("unknown task {0}")]
    UnknownTask(Uuid),
    #[error("unknown reservation {0}")]
    UnknownReservation(u64),
    #[error("unknown activity `{0}`")]
    UnknownActivity(String),
    #[error("unknown channel `{0}`")]
    UnknownChannel(String),
    #[error("{0} already exists")]
    Duplicate(Uuid),
    #[error("cannot {action} a {what} that is {state}")]
    Illegal {
        action: &'static str,
        what: &'static str,
        state: &'static str,
    },
    #[error("attributes: {0}")]
    BadAttributes(String),
    #[error("time went backwards: event at {event}, engine at {engine}")]
    TimeWentBack { event: Millis, engine: Millis },
}

/// Running totals since the engine started.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub created: u64,
    pub offered: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub timed_out: u64,
    pub rescinded: u64,
    pub canceled: u64,
    pub completed: u64,
    /// Sum of offer-to-accept times.
    pub accept_ms: i64,
    /// Sum of creation-to-accept waits.
    pub wait_ms: i64,
    /// Accepted before their due time.
    pub sla_met: u64,
}

/// The supervisor floor's figures from a pass over live tasks.
#[derive(Debug, Clone, Default)]
pub struct FloorCounts {
    pub states: std::collections::BTreeMap<&'static str, usize>,
    /// Tasks being worked: id, worker, state, when made.
    pub working: Vec<(Uuid, Option<Uuid>, TaskState, Millis)>,
    pub waiting_by: std::collections::BTreeMap<String, usize>,
    /// Per queue (by index): waiting tasks, by priority, the longest wait.
    pub queues:
        std::collections::BTreeMap<u16, (usize, std::collections::BTreeMap<i32, usize>, Millis)>,
}

impl FloorCounts {
    /// Adds the figures of another slice of the tasks.
    pub fn merge(&mut self, other: FloorCounts) {
        for (k, n) in other.states {
            *self.states.entry(k).or_default() += n;
        }
        self.working.extend(other.working);
        for (k, n) in other.waiting_by {
            *self.waiting_by.entry(k).or_default() += n;
        }
        for (q, (n, by, longest)) in other.queues {
            let mine = self.queues.entry(q).or_default();
            mine.0 += n;
            for (p, m) in by {
                *mine.1.entry(p).or_default() += m;
            }
            mine.2 = mine.2.max(longest);
        }
    }
}

/// One queue at this moment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct QueueStats {
    pub name: String,
    pub waiting: usize,
    pub by_priority: std::collections::BTreeMap<i32, usize>,
    pub longest_wait_ms: Millis,
    /// Workers the queue's expression selects.
    pub workers: usize,
    /// Of those, available with room on some channel.
    pub available_workers: usize,
}

/// A channel's name, the worker's load on it and their capacity.
pub type ChannelRoom = (String, u16, u16);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSnapshot {
    pub id: Uuid,
    pub state: TaskState,
    pub queue: Option<String>,
    pub place: Option<Millis>,
    pub worker: Option<Uuid>,
    pub attributes: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerSnapshot {
    pub id: Uuid,
    pub activity: String,
    pub since: Millis,
    pub load: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub now: Millis,
    pub tasks: Vec<TaskSnapshot>,
    pub workers: Vec<WorkerSnapshot>,
    pub reservations: Vec<(u64, Uuid, ReservationState)>,
    pub counters: Counters,
}

pub struct TaskView<'a> {
    pub id: Uuid,
    pub state: TaskState,
    pub queue: Option<&'a str>,
    pub priority: i32,
    pub due: Millis,
    pub created: Millis,
    /// The virtual deadline that orders waiting tasks (lower first), while waiting.
    pub place: Option<Millis>,
    /// The virtual deadline it had when it last waited.
    pub rank: Millis,
    pub channel: &'a str,
    pub worker: Option<Uuid>,
    pub offered_to: Vec<Uuid>,
}
