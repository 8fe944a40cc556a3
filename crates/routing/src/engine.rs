//! The routing core: applies events, emits decisions. No I/O, no clock —
//! every event carries its time — and no iteration over hash maps, so the
//! same events always give the same state (which is how a restart rebuilds
//! it: replay what was persisted).
//!
//! **Order.** A waiting task's place is its *virtual deadline*: due time
//! minus priority × `priority_step`. It never changes while the task waits,
//! so queues are plain ordered sets, yet it is exactly the order of an
//! effective priority that rises as the due time nears
//! (`priority + (now − due) / step`): a contact named 20 hours ago outranks
//! one named 10 minutes ago at the same priority, and a task cannot starve —
//! everything arriving later sorts after it once its deadline is older than
//! theirs could be.
//!
//! **Matching.** Waiting tasks sit in *buckets*: same queue, channel and
//! target, and the same values of the task attributes the target's worker
//! expression reads. Every task in a bucket is eligible for exactly the same
//! workers, so a worker's eligibility is worked out once per bucket, and a
//! free worker takes the best head among its buckets instead of scanning
//! tasks. A worker is idle only when no task it could take is waiting, and
//! a task waits only when no idle worker could take it: every event keeps
//! both true.
use crate::attrs::{Attrs, Keys, Val};
use crate::compile::{Compiled, ConfigError, seconds};
use crate::config::Workspace;
use crate::expr::{Docs, Scope, resolve};
pub use crate::model::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

mod carry;
mod image;
pub use carry::{CANCELED_BY_CHANGE, Carried};
pub use image::ImageError;

const NO_FILTER: u16 = u16::MAX;
const MINUTE: Millis = 60_000;
const DAY: Millis = 24 * 60 * MINUTE;

#[derive(serde::Serialize, serde::Deserialize)]
struct Worker {
    id: Uuid,
    attrs: Attrs,
    activity: u16,
    /// Since when the worker has been idle (for longest-idle-first).
    since: Millis,
    capacity: Box<[u16]>,
    load: Box<[u16]>,
    queues: Box<[u16]>,
    /// Buckets this worker may take from, ascending; covers buckets below `checked`.
    eligible: Vec<u32>,
    checked: u32,
    pending: Vec<u64>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Task {
    id: Uuid,
    attrs: Attrs,
    channel: u8,
    state: TaskState,
    base_priority: i32,
    created: Millis,
    due: Millis,
    seq: u64,
    filter: u16,
    target: u8,
    /// Bumped at each placement: stale target timeouts are ignored.
    epoch: u32,
    /// When the task reached its current target (its timeout counts from here).
    entered: Millis,
    /// Every reservation ever made for the task, forgotten with it.
    offers: Vec<u64>,
    /// The bucket and place while pending.
    place: Option<(u32, Millis)>,
    /// The place it last had (kept while offered, for checks).
    rank: Millis,
    pending: Vec<u64>,
    /// Workers who turned this task down recently.
    /// Until when: a worker who rejected an offer, or let it time out, is
    /// not offered the task again for one reservation timeout (then they
    /// may be — it never waits for a worker it could have).
    declined: Vec<(u32, Millis)>,
    worker: Option<u32>,
    /// The target timed out while offered: move on if the offer fails.
    escalate: bool,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Reservation {
    task: u32,
    worker: u32,
    state: ReservationState,
    created: Millis,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Bucket {
    queue: u16,
    channel: u8,
    filter: u16,
    target: u8,
    /// A task of the bucket: what the target's expression is evaluated with.
    sample: Attrs,
    tasks: BTreeSet<(Millis, u64, u32)>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
enum Timer {
    Reservation(u64),
    Target(u32, u32),
    Ttl(u32, u64),
    /// A refusal's hold on a task ended: offer it round again.
    Retry(u32, u64),
}

pub struct Engine {
    /// The configuration `ws` was compiled from (saved with an image, so a
    /// restore under another workspace is refused).
    source: Workspace,
    keys: Keys,
    ws: Compiled,
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
    /// Available workers with room on a channel, per queue and channel,
    /// longest idle first.
    idle: Vec<Vec<BTreeSet<(Millis, u32)>>>,
    timers: BTreeSet<(Millis, Timer)>,
    counters: Counters,
    /// The same totals per minute of event time, for the last day.
    minutes: std::collections::VecDeque<(Millis, Counters)>,
    /// While the timers of one instant run: tasks to offer once they all
    /// have (so the best is offered first). Always `None` between events.
    deferred: Option<Vec<u32>>,
}

fn declined_by(declined: &[(u32, Millis)], w: u32, now: Millis) -> bool {
    declined.iter().any(|&(x, until)| x == w && until > now)
}

/// Brings the worker's eligible buckets up to date with buckets made since.
fn refresh(worker: &mut Worker, buckets: &[Bucket], ws: &Compiled) {
    let total = buckets.len() as u32;
    for b in worker.checked..total {
        if eligible(worker, &buckets[b as usize], ws) {
            worker.eligible.push(b);
        }
    }
    worker.checked = total;
}

fn eligible(worker: &Worker, bucket: &Bucket, ws: &Compiled) -> bool {
    if !worker.queues.contains(&bucket.queue) {
        return false;
    }
    match &ws.target(bucket.filter, bucket.target).expr {
        None => true,
        Some(e) => e.matches(Docs {
            own: Scope::Worker,
            task: Some(&bucket.sample),
            worker: Some(&worker.attrs),
        }),
    }
}

impl Engine {
    pub fn new(ws: &Workspace) -> Result<Self, ConfigError> {
        let source = ws.clone();
        let mut keys = Keys::default();
        let ws = Compiled::new(ws, &mut keys)?;
        let idle = (0..ws.queues.len())
            .map(|_| (0..ws.channels.len()).map(|_| BTreeSet::new()).collect())
            .collect();
        Ok(Self {
            source,
            keys,
            ws,
            now: 0,
            workers: Vec::new(),
            worker_ids: HashMap::new(),
            tasks: Vec::new(),
            free: Vec::new(),
            task_ids: HashMap::new(),
            reservations: BTreeMap::new(),
            next_reservation: 1,
            next_seq: 0,
            buckets: Vec::new(),
            bucket_ids: HashMap::new(),
            idle,
            timers: BTreeSet::new(),
            counters: Counters::default(),
            minutes: std::collections::VecDeque::new(),
            deferred: None,
        })
    }

    pub fn now(&self) -> Millis {
        self.now
    }

    /// The workspace this engine runs.
    pub fn workspace(&self) -> &Workspace {
        &self.source
    }

    /// When the next timer falls due (an offer expiring, a target timing
    /// out, a refusal lapsing, a TTL), if any.
    pub fn next_timer(&self) -> Option<Millis> {
        self.timers.first().map(|&(at, _)| at)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Totals over the window since `since` (at most a day back, by minute).
    pub fn counters_since(&self, since: Millis) -> Counters {
        let first = since - since.rem_euclid(MINUTE);
        let mut sum = Counters::default();
        for (_, c) in self.minutes.iter().filter(|(m, _)| *m >= first) {
            sum.created += c.created;
            sum.offered += c.offered;
            sum.accepted += c.accepted;
            sum.rejected += c.rejected;
            sum.timed_out += c.timed_out;
            sum.rescinded += c.rescinded;
            sum.canceled += c.canceled;
            sum.completed += c.completed;
            sum.accept_ms += c.accept_ms;
            sum.wait_ms += c.wait_ms;
            sum.sla_met += c.sla_met;
        }
        sum
    }

    /// Adds to the running totals and to this minute's.
    fn count(&mut self, add: impl Fn(&mut Counters)) {
        add(&mut self.counters);
        let minute = self.now - self.now.rem_euclid(MINUTE);
        if self.minutes.back().is_none_or(|(m, _)| *m != minute) {
            self.minutes.push_back((minute, Counters::default()));
            while self.minutes.front().is_some_and(|(m, _)| *m < minute - DAY) {
                self.minutes.pop_front();
            }
        }
        if let Some((_, c)) = self.minutes.back_mut() {
            add(c);
        }
    }

    /// Per queue, now: waiting tasks (by priority), the longest wait, and
    /// its workers — all, and those available with room on some channel.
    pub fn queue_stats(&self) -> Vec<QueueStats> {
        let mut out: Vec<QueueStats> = self
            .queue_staff()
            .into_iter()
            .map(|(name, workers, available)| QueueStats {
                name,
                waiting: 0,
                by_priority: BTreeMap::new(),
                longest_wait_ms: 0,
                workers,
                available_workers: available,
            })
            .collect();
        for b in &self.buckets {
            let q = &mut out[usize::from(b.queue)];
            for &(_, _, t) in &b.tasks {
                if let Some(task) = self.task(t) {
                    q.waiting += 1;
                    *q.by_priority.entry(task.base_priority).or_default() += 1;
                    q.longest_wait_ms = q.longest_wait_ms.max(self.now - task.created);
                }
            }
        }
        out
    }

    /// Tasks waiting in each queue, counted from the queues' buckets (no
    /// task is read): what a floor can show between full readings.
    pub fn waiting_per_queue(&self) -> Vec<usize> {
        let mut out = vec![0; self.ws.queues.len()];
        for b in &self.buckets {
            if let Some(n) = out.get_mut(usize::from(b.queue)) {
                *n += b.tasks.len();
            }
        }
        out
    }

    /// How many task slots there are: the floor reads them in slices.
    pub fn task_slots(&self) -> usize {
        self.tasks.len()
    }

    /// The floor's figures over the task slots `range`, with no task view
    /// built: tasks by state, the tasks being worked, waiting tasks by
    /// their string attribute `key` (`""` when a task has none) and by
    /// queue. Read a slice at a time (and [`FloorCounts::merge`]d) so no
    /// read holds the engine long, whatever the number of tasks.
    pub fn floor_counts(
        &self,
        key: &str,
        range: std::ops::Range<usize>,
    ) -> crate::model::FloorCounts {
        let k = self.keys.lookup(key);
        let mut c = crate::model::FloorCounts::default();
        let mut waiting: BTreeMap<&str, usize> = BTreeMap::new();
        let end = range.end.min(self.tasks.len());
        let start = range.start.min(end);
        for t in self.tasks[start..end].iter().flatten() {
            *c.states.entry(t.state.as_str()).or_default() += 1;
            match (t.state, t.place) {
                (TaskState::Assigned | TaskState::Wrapping, _) => c.working.push((
                    t.id,
                    t.worker.map(|w| self.workers[w as usize].id),
                    t.state,
                    t.created,
                )),
                (_, Some((bucket, _))) => {
                    let value = k.and_then(|k| match t.attrs.get(k) {
                        Some(crate::attrs::Val::Str(s)) => Some(&**s),
                        _ => None,
                    });
                    *waiting.entry(value.unwrap_or_default()).or_default() += 1;
                    let queue = self.buckets[bucket as usize].queue;
                    let q = c.queues.entry(queue).or_default();
                    q.0 += 1;
                    *q.1.entry(t.base_priority).or_default() += 1;
                    q.2 = q.2.max(self.now - t.created);
                }
                _ => {}
            }
        }
        c.waiting_by = waiting
            .into_iter()
            .map(|(v, n)| (v.to_string(), n))
            .collect();
        c
    }

    /// Per queue: its name, its workers, and those available with room on
    /// some channel (no task is read).
    pub fn queue_staff(&self) -> Vec<(String, usize, usize)> {
        self.ws
            .queues
            .iter()
            .enumerate()
            .map(|(q, (name, _))| {
                let members = self
                    .workers
                    .iter()
                    .filter(|w| w.queues.contains(&(q as u16)))
                    .count();
                let available: BTreeSet<u32> = self.idle[q]
                    .iter()
                    .flat_map(|set| set.iter().map(|&(_, w)| w))
                    .collect();
                (name.clone(), members, available.len())
            })
            .collect()
    }

    /// Each worker whose string attribute `key` `keep` accepts: their id,
    /// activity, since when they have been idle, their load over all
    /// channels, and the attribute.
    pub fn workers_where(
        &self,
        key: &str,
        keep: impl Fn(Option<&str>) -> bool,
    ) -> Vec<(Uuid, &str, Millis, u32, Option<&str>)> {
        let k = self.keys.lookup(key);
        self.workers
            .iter()
            .filter_map(|w| {
                let value = k.and_then(|k| match w.attrs.get(k) {
                    Some(crate::attrs::Val::Str(s)) => Some(&**s),
                    _ => None,
                });
                keep(value).then(|| {
                    (
                        w.id,
                        self.ws.activities[usize::from(w.activity)].0.as_str(),
                        w.since,
                        w.load.iter().map(|&l| u32::from(l)).sum(),
                        value,
                    )
                })
            })
            .collect()
    }

    /// How many workers are in each activity.
    pub fn workers_by_activity(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for w in &self.workers {
            *out.entry(self.ws.activities[usize::from(w.activity)].0.clone())
                .or_default() += 1;
        }
        out
    }

    /// Applies `event` at time `at`. Timers due by then must have been run
    /// first with [`Engine::advance`] (the driver does both, so their
    /// decisions are never lost to a refused event). A refused event changes
    /// nothing.
    pub fn apply(&mut self, at: Millis, event: Event) -> Result<Vec<Decision>, RouteError> {
        if at < self.now {
            return Err(RouteError::TimeWentBack {
                event: at,
                engine: self.now,
            });
        }
        let before = self.now;
        self.now = at;
        let mut out = Vec::new();
        match self.event(event, &mut out) {
            Ok(()) => Ok(out),
            Err(e) => {
                self.now = before;
                Err(e)
            }
        }
    }

    /// Fires the timers due by `at` (reservation timeouts, target timeouts,
    /// TTLs), in order, and returns what they decided.
    pub fn advance(&mut self, at: Millis) -> Vec<Decision> {
        let mut out = Vec::new();
        if at >= self.now {
            self.run_timers(at, &mut out);
            self.now = at;
        }
        out
    }

    /// Runs due timers an instant at a time. Within an instant every timer
    /// takes effect first — offers expire, tasks move on to their next
    /// target, refusals lapse, TTLs cancel — and only then are the tasks
    /// they left waiting offered, best first. Handled one by one, a worse
    /// task moved at the same millisecond could take the worker a better one
    /// needed.
    fn run_timers(&mut self, until: Millis, out: &mut Vec<Decision>) {
        while let Some(&(at, _)) = self.timers.first() {
            if at > until {
                break;
            }
            self.now = self.now.max(at);
            let mut expired = Vec::new();
            let mut others = Vec::new();
            while let Some(&(next, timer)) = self.timers.first() {
                if next != at {
                    break;
                }
                self.timers.pop_first();
                match timer {
                    Timer::Reservation(r) => expired.push(r),
                    other => others.push(other),
                }
            }
            self.deferred = Some(Vec::new());
            if !expired.is_empty() {
                self.end_offers(&expired, ReservationState::Timeout, out);
            }
            for timer in others {
                self.fire(timer, out);
            }
            self.offer_deferred(out);
        }
    }

    /// Offers the tasks whose offering was put off (`deferred`), best first.
    fn offer_deferred(&mut self, out: &mut Vec<Decision>) {
        let mut waiting: Vec<(Millis, u64, u32)> = self
            .deferred
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| {
                let task = self.task(t)?;
                task.place.map(|(_, place)| (place, task.seq, t))
            })
            .collect();
        waiting.sort_unstable();
        waiting.dedup();
        for (_, _, t) in waiting {
            self.push(t, out);
        }
    }

    fn fire(&mut self, timer: Timer, out: &mut Vec<Decision>) {
        match timer {
            Timer::Reservation(r) => self.end_offers(&[r], ReservationState::Timeout, out),
            Timer::Target(t, epoch) => self.target_timeout(t, epoch, out),
            Timer::Retry(t, seq) => {
                let now = self.now;
                if let Some(task) = self.task_mut(t)
                    && task.seq == seq
                {
                    task.declined.retain(|&(_, until)| until > now);
                    if task.state == TaskState::Pending {
                        self.push(t, out);
                    }
                }
            }
            Timer::Ttl(t, seq) => {
                let live = self.task(t).is_some_and(|k| {
                    k.seq == seq && matches!(k.state, TaskState::Pending | TaskState::Reserved)
                });
                if live {
                    self.cancel(t, "ttl", out);
                }
            }
        }
    }

    fn task(&self, t: u32) -> Option<&Task> {
        self.tasks.get(t as usize).and_then(Option::as_ref)
    }

    fn task_mut(&mut self, t: u32) -> Option<&mut Task> {
        self.tasks.get_mut(t as usize).and_then(Option::as_mut)
    }

    fn task_index(&self, id: Uuid) -> Result<u32, RouteError> {
        self.task_ids
            .get(&id)
            .copied()
            .ok_or(RouteError::UnknownTask(id))
    }

    fn worker_index(&self, id: Uuid) -> Result<u32, RouteError> {
        self.worker_ids
            .get(&id)
            .copied()
            .ok_or(RouteError::UnknownWorker(id))
    }

    fn attrs(&mut self, json: &serde_json::Value) -> Result<Attrs, RouteError> {
        Attrs::from_json(json, &mut self.keys).map_err(RouteError::BadAttributes)
    }

    fn event(&mut self, event: Event, out: &mut Vec<Decision>) -> Result<(), RouteError> {
        match event {
            Event::Tick => Ok(()),
            Event::AddWorker {
                id,
                attributes,
                capacity,
            } => {
                if self.worker_ids.contains_key(&id) {
                    return Err(RouteError::Duplicate(id));
                }
                let mut cap: Vec<u16> = self.ws.channels.iter().map(|c| c.1).collect();
                for (name, n) in &capacity {
                    let c = self.channel(name)?;
                    cap[usize::from(c)] = *n;
                }
                let attrs = self.attrs(&attributes)?;
                let w = self.workers.len() as u32;
                self.workers.push(Worker {
                    id,
                    attrs,
                    activity: self.ws.default_activity,
                    since: self.now,
                    load: vec![0; cap.len()].into_boxed_slice(),
                    capacity: cap.into_boxed_slice(),
                    queues: Box::new([]),
                    eligible: Vec::new(),
                    checked: 0,
                    pending: Vec::new(),
                });
                self.worker_ids.insert(id, w);
                self.rejoin(w);
                self.list(w);
                self.pull(w, out);
                Ok(())
            }
            Event::UpdateWorker { id, attributes } => {
                let w = self.worker_index(id)?;
                let attrs = self.attrs(&attributes)?;
                self.unlist(w);
                self.workers[w as usize].attrs = attrs;
                self.rejoin(w);
                self.list(w);
                self.pull(w, out);
                Ok(())
            }
            Event::SetActivity {
                worker,
                activity,
                reject_pending,
            } => {
                let w = self.worker_index(worker)?;
                let a = self
                    .ws
                    .activities
                    .iter()
                    .position(|(n, _)| *n == activity)
                    .ok_or(RouteError::UnknownActivity(activity))? as u16;
                self.set_activity(w, a, out);
                if reject_pending && !self.available(w) {
                    let pending = self.workers[w as usize].pending.clone();
                    self.end_offers(&pending, ReservationState::Rejected, out);
                }
                Ok(())
            }
            Event::CreateTask {
                id,
                attributes,
                channel,
                priority,
                due,
                ttl,
                worker,
            } => {
                if self.task_ids.contains_key(&id) {
                    return Err(RouteError::Duplicate(id));
                }
                let c = self.channel(&channel)?;
                let by_hand = worker.map(|w| self.worker_index(w)).transpose()?;
                let attrs = self.attrs(&attributes)?;
                let kind = match attrs.get(self.ws.type_key) {
                    Some(Val::Str(s)) => self.ws.task_types.get(s.as_ref()).copied(),
                    _ => None,
                };
                let (due_after, type_priority) = kind.unwrap_or((self.ws.default_due, 0));
                let seq = self.next_seq;
                self.next_seq += 1;
                let task = Task {
                    id,
                    attrs,
                    channel: c,
                    state: TaskState::Pending,
                    base_priority: priority.unwrap_or(type_priority),
                    created: self.now,
                    due: due.unwrap_or(self.now.saturating_add(due_after)),
                    seq,
                    filter: NO_FILTER,
                    target: 0,
                    epoch: 0,
                    entered: 0,
                    offers: Vec::new(),
                    place: None,
                    rank: 0,
                    pending: Vec::new(),
                    declined: Vec::new(),
                    worker: None,
                    escalate: false,
                };
                let t = match self.free.pop() {
                    Some(t) => {
                        self.tasks[t as usize] = Some(task);
                        t
                    }
                    None => {
                        self.tasks.push(Some(task));
                        (self.tasks.len() - 1) as u32
                    }
                };
                self.task_ids.insert(id, t);
                self.count(|c| c.created += 1);
                if let Some(s) = ttl {
                    self.timers
                        .insert((self.now.saturating_add(seconds(s)), Timer::Ttl(t, seq)));
                }
                match by_hand {
                    Some(w) => self.assign_by_hand(t, w, out),
                    None => self.route(t, out),
                }
                Ok(())
            }
            Event::UpdateTask { id, attributes } => {
                let t = self.task_index(id)?;
                let attrs = self.attrs(&attributes)?;
                let state = self.task(t).map(|k| k.state);
                if matches!(state, Some(TaskState::Completed | TaskState::Canceled)) {
                    return Err(self.illegal(t, "update"));
                }
                let pending = state == Some(TaskState::Pending);
                if pending {
                    self.unplace(t);
                }
                if let Some(k) = self.task_mut(t) {
                    k.attrs = attrs;
                }
                if pending {
                    self.route(t, out);
                }
                Ok(())
            }
            Event::CancelTask { id, reason } => {
                let t = self.task_index(id)?;
                match self.task(t).map(|k| k.state) {
                    Some(TaskState::Completed | TaskState::Canceled) | None => {
                        Err(self.illegal(t, "cancel"))
                    }
                    Some(_) => {
                        self.cancel(t, &reason, out);
                        Ok(())
                    }
                }
            }
            Event::Assign { task, worker } => {
                let t = self.task_index(task)?;
                let w = self.worker_index(worker)?;
                match self.task(t).map(|k| (k.state, k.worker)) {
                    Some((TaskState::Completed | TaskState::Canceled, _)) | None => {
                        Err(self.illegal(t, "assign"))
                    }
                    // Already theirs: nothing changes, but it is said, so
                    // whoever asked hears that routing agrees.
                    Some((TaskState::Assigned | TaskState::Wrapping, Some(x))) if x == w => {
                        out.push(Decision::Assigned { task, worker });
                        Ok(())
                    }
                    Some(_) => {
                        self.assign_by_hand(t, w, out);
                        Ok(())
                    }
                }
            }
            Event::Accept { reservation } => self.accept(reservation, out),
            Event::Reject { reservation } => {
                self.pending_reservation(reservation, "reject")?;
                self.end_offer(reservation, ReservationState::Rejected, out);
                Ok(())
            }
            Event::Wrap { task } => {
                let t = self.task_index(task)?;
                if self.task(t).map(|k| k.state) != Some(TaskState::Assigned) {
                    return Err(self.illegal(t, "wrap"));
                }
                if let Some(k) = self.task_mut(t) {
                    k.state = TaskState::Wrapping;
                }
                out.push(Decision::Wrapping { task });
                Ok(())
            }
            Event::Complete { task } => {
                let t = self.task_index(task)?;
                if !matches!(
                    self.task(t).map(|k| k.state),
                    Some(TaskState::Assigned | TaskState::Wrapping)
                ) {
                    return Err(self.illegal(t, "complete"));
                }
                self.count(|c| c.completed += 1);
                out.push(Decision::Completed { task });
                self.finish(t, TaskState::Completed, out);
                Ok(())
            }
        }
    }

    fn illegal(&self, t: u32, action: &'static str) -> RouteError {
        RouteError::Illegal {
            action,
            what: "task",
            state: self.task(t).map_or("gone", |k| k.state.as_str()),
        }
    }

    fn channel(&self, name: &str) -> Result<u8, RouteError> {
        self.ws
            .channels
            .iter()
            .position(|(n, _)| n == name)
            .map(|c| c as u8)
            .ok_or_else(|| RouteError::UnknownChannel(name.to_string()))
    }

    fn pending_reservation(&self, r: u64, action: &'static str) -> Result<(), RouteError> {
        match self.reservations.get(&r) {
            None => Err(RouteError::UnknownReservation(r)),
            Some(res) if res.state != ReservationState::Pending => Err(RouteError::Illegal {
                action,
                what: "reservation",
                state: res.state.as_str(),
            }),
            Some(_) => Ok(()),
        }
    }

    fn available(&self, w: u32) -> bool {
        let a = self.workers[w as usize].activity;
        self.ws.activities[usize::from(a)].1
    }

    // ---- worker bookkeeping -------------------------------------------

    /// Which queues the worker serves, from scratch (attributes changed).
    fn rejoin(&mut self, w: u32) {
        let worker = &self.workers[w as usize];
        let docs = Docs {
            own: Scope::Worker,
            task: None,
            worker: Some(&worker.attrs),
        };
        let queues: Vec<u16> = (0..self.ws.queues.len())
            .filter(|&q| self.ws.queues[q].1.matches(docs))
            .map(|q| q as u16)
            .collect();
        let worker = &mut self.workers[w as usize];
        worker.queues = queues.into_boxed_slice();
        worker.eligible.clear();
        worker.checked = 0;
    }

    fn refresh(&mut self, w: u32) {
        refresh(&mut self.workers[w as usize], &self.buckets, &self.ws);
    }

    fn eligible(&self, w: u32, b: u32) -> bool {
        eligible(
            &self.workers[w as usize],
            &self.buckets[b as usize],
            &self.ws,
        )
    }

    fn has_room(&self, w: u32, c: u8) -> bool {
        let worker = &self.workers[w as usize];
        worker.load[usize::from(c)] < worker.capacity[usize::from(c)]
    }

    /// Takes the worker out of the idle sets (before changing what they key on).
    fn unlist(&mut self, w: u32) {
        let worker = &self.workers[w as usize];
        for &q in worker.queues.iter() {
            for c in 0..worker.capacity.len() {
                self.idle[usize::from(q)][c].remove(&(worker.since, w));
            }
        }
    }

    /// Puts the worker in the idle sets where they are available with room.
    fn list(&mut self, w: u32) {
        if !self.available(w) {
            return;
        }
        let worker = &self.workers[w as usize];
        for &q in worker.queues.iter() {
            for c in 0..worker.capacity.len() {
                if worker.load[c] < worker.capacity[c] {
                    self.idle[usize::from(q)][c].insert((worker.since, w));
                }
            }
        }
    }

    fn set_activity(&mut self, w: u32, a: u16, out: &mut Vec<Decision>) {
        self.unlist(w);
        let worker = &mut self.workers[w as usize];
        worker.activity = a;
        worker.since = self.now;
        out.push(Decision::ActivityChanged {
            worker: worker.id,
            activity: self.ws.activities[usize::from(a)].0.clone(),
        });
        self.list(w);
        self.pull(w, out);
    }

    fn load(&mut self, w: u32, c: u8, up: bool, idle_from_now: bool) {
        self.unlist(w);
        let now = self.now;
        let worker = &mut self.workers[w as usize];
        let l = &mut worker.load[usize::from(c)];
        *l = if up { *l + 1 } else { l.saturating_sub(1) };
        if idle_from_now {
            worker.since = now;
        }
        self.list(w);
    }

    // ---- placing tasks --------------------------------------------------

    /// Sends a task through the workflow from its first matching filter.
    fn route(&mut self, t: u32, out: &mut Vec<Decision>) {
        let Some(task) = self.task(t) else { return };
        let docs = Docs {
            own: Scope::Task,
            task: Some(&task.attrs),
            worker: None,
        };
        let filter = self
            .ws
            .filters
            .iter()
            .position(|f| f.expr.matches(docs))
            .map_or(NO_FILTER, |f| f as u16);
        self.place(t, filter, 0, out);
    }

    /// Puts a pending task on `target` of `filter` (past the last target:
    /// the default queue) and offers it if someone can take it.
    fn place(&mut self, t: u32, filter: u16, mut target: u8, out: &mut Vec<Decision>) {
        let Some(task) = self.task(t) else { return };
        let channel = task.channel;
        // Targets to pass over because none of their workers is available.
        loop {
            let last = self
                .ws
                .filters
                .get(usize::from(filter))
                .map_or(0, |f| f.targets.len());
            if usize::from(target) + 1 >= last {
                break;
            }
            let tg = self.ws.target(filter, target);
            if !tg.skip_if_none
                || !self.idle[usize::from(tg.queue)][usize::from(channel)].is_empty()
            {
                break;
            }
            target += 1;
        }
        let in_workflow = self
            .ws
            .filters
            .get(usize::from(filter))
            .is_some_and(|f| usize::from(target) < f.targets.len());
        let (filter, target) = if in_workflow {
            (filter, target)
        } else {
            (NO_FILTER, 0)
        };
        let tg = self.ws.target(filter, target);
        let Some(task) = self.task(t) else { return };
        let docs = Docs {
            own: Scope::Task,
            task: Some(&task.attrs),
            worker: None,
        };
        let mut signature = String::new();
        for p in &tg.task_paths {
            let v = resolve(p, docs).to_json(&self.keys);
            signature.push_str(&v.to_string());
            signature.push('\u{1f}');
        }
        let key = (tg.queue, channel, filter, target, signature);
        let priority = tg.priority.unwrap_or(task.base_priority);
        let (timeout, queue) = (tg.timeout, tg.queue);
        let place = task
            .due
            .saturating_sub(i64::from(priority).saturating_mul(self.ws.priority_step));
        let seq = task.seq;
        let b = match self.bucket_ids.get(&key) {
            Some(&b) => b,
            None => {
                let sample = task.attrs.clone();
                let b = self.buckets.len() as u32;
                self.buckets.push(Bucket {
                    queue,
                    channel,
                    filter,
                    target,
                    sample,
                    tasks: BTreeSet::new(),
                });
                self.bucket_ids.insert(key, b);
                b
            }
        };
        let now = self.now;
        let Some(task) = self.task_mut(t) else { return };
        let first_here = task.filter != filter || task.target != target || task.epoch == 0;
        task.filter = filter;
        task.target = target;
        task.epoch += 1;
        task.state = TaskState::Pending;
        task.place = Some((b, place));
        task.rank = place;
        if first_here {
            // A refusal holds across targets: it is about the worker and
            // the task, and it ends on its own timer.
            task.entered = now;
        }
        let (id, epoch, entered) = (task.id, task.epoch, task.entered);
        self.buckets[b as usize].tasks.insert((place, seq, t));
        if let Some(after) = timeout {
            self.timers
                .insert((entered.saturating_add(after), Timer::Target(t, epoch)));
        }
        if first_here {
            out.push(Decision::Queued {
                task: id,
                queue: self.ws.queues[usize::from(queue)].0.clone(),
            });
        }
        self.push(t, out);
    }

    /// Takes a pending task out of its bucket.
    fn unplace(&mut self, t: u32) {
        let Some(task) = self.task_mut(t) else { return };
        if let Some((b, place)) = task.place.take() {
            let seq = task.seq;
            self.buckets[b as usize].tasks.remove(&(place, seq, t));
        }
    }

    /// Offers a waiting task to the longest-idle eligible workers (or the
    /// highest `order_by`), up to `max_reservations`.
    fn push(&mut self, t: u32, out: &mut Vec<Decision>) {
        if let Some(later) = &mut self.deferred {
            later.push(t);
            return;
        }
        let Some(task) = self.task(t) else { return };
        let Some((b, _)) = task.place else { return };
        let bucket = &self.buckets[b as usize];
        let (queue, channel) = (bucket.queue, bucket.channel);
        let tg = self.ws.target(bucket.filter, bucket.target);
        let order_by = tg.order_by.clone();
        let now = self.now;
        let declined = task.declined.clone();
        let max = self.ws.max_reservations;
        let mut chosen = Vec::new();
        let (idle, workers, buckets, ws) = (&self.idle, &mut self.workers, &self.buckets, &self.ws);
        for &(_, w) in idle[usize::from(queue)][usize::from(channel)].iter() {
            if declined_by(&declined, w, now) {
                continue;
            }
            let worker = &mut workers[w as usize];
            refresh(worker, buckets, ws);
            if worker.eligible.binary_search(&b).is_ok() {
                chosen.push(w);
                if order_by.is_none() && chosen.len() == max {
                    break;
                }
            }
        }
        if let Some(p) = &order_by {
            let rank = |w: &u32| match resolve(
                p,
                Docs {
                    own: Scope::Worker,
                    task: None,
                    worker: Some(&self.workers[*w as usize].attrs),
                },
            ) {
                Val::Num(n) => *n,
                _ => f64::NEG_INFINITY,
            };
            // Stable: equal ranks stay longest idle first.
            chosen.sort_by(|a, b| rank(b).total_cmp(&rank(a)));
            chosen.truncate(self.ws.max_reservations);
        }
        if !chosen.is_empty() {
            self.offer(t, &chosen, out);
        }
    }

    /// Offers the best waiting task(s) the worker may take while they have room.
    fn pull(&mut self, w: u32, out: &mut Vec<Decision>) {
        if !self.available(w) {
            return;
        }
        self.refresh(w);
        loop {
            let mut best: Option<((Millis, u64, u32), u32)> = None;
            let worker = &self.workers[w as usize];
            for &b in &worker.eligible {
                let bucket = &self.buckets[b as usize];
                if !self.has_room(w, bucket.channel) {
                    continue;
                }
                // The first task here this worker has not turned down.
                let head = bucket.tasks.iter().find(|&&(_, _, t)| {
                    self.task(t)
                        .is_some_and(|k| !declined_by(&k.declined, w, self.now))
                });
                if let Some(&h) = head
                    && best.is_none_or(|(x, _)| h < x)
                {
                    best = Some((h, b));
                }
            }
            let Some(((_, _, t), b)) = best else { return };
            let mut chosen = vec![w];
            let max = self.ws.max_reservations;
            if max > 1 {
                let declined = self.task(t).map(|k| k.declined.clone()).unwrap_or_default();
                let (idle, workers, buckets, ws) =
                    (&self.idle, &mut self.workers, &self.buckets, &self.ws);
                let bucket = &buckets[b as usize];
                for &(_, x) in idle[usize::from(bucket.queue)][usize::from(bucket.channel)].iter() {
                    if chosen.len() == max {
                        break;
                    }
                    if x == w || declined_by(&declined, x, self.now) {
                        continue;
                    }
                    let other = &mut workers[x as usize];
                    refresh(other, buckets, ws);
                    if other.eligible.binary_search(&b).is_ok() {
                        chosen.push(x);
                    }
                }
            }
            self.offer(t, &chosen, out);
        }
    }

    fn offer(&mut self, t: u32, workers: &[u32], out: &mut Vec<Decision>) {
        self.unplace(t);
        let expires = self.now.saturating_add(self.ws.reservation_timeout);
        let Some(task) = self.task_mut(t) else { return };
        task.state = TaskState::Reserved;
        let (id, channel) = (task.id, task.channel);
        for &w in workers {
            let r = self.next_reservation;
            self.next_reservation += 1;
            self.reservations.insert(
                r,
                Reservation {
                    task: t,
                    worker: w,
                    state: ReservationState::Pending,
                    created: self.now,
                },
            );
            if let Some(task) = self.task_mut(t) {
                task.pending.push(r);
                task.offers.push(r);
            }
            self.workers[w as usize].pending.push(r);
            self.load(w, channel, true, false);
            self.timers.insert((expires, Timer::Reservation(r)));
            self.count(|c| c.offered += 1);
            out.push(Decision::Offered {
                reservation: r,
                task: id,
                worker: self.workers[w as usize].id,
                expires,
            });
        }
    }

    fn accept(&mut self, r: u64, out: &mut Vec<Decision>) -> Result<(), RouteError> {
        self.pending_reservation(r, "accept")?;
        let Some(res) = self.reservations.get_mut(&r) else {
            return Err(RouteError::UnknownReservation(r));
        };
        res.state = ReservationState::Accepted;
        let (t, w, offered) = (res.task, res.worker, res.created);
        let now = self.now;
        self.workers[w as usize].pending.retain(|&x| x != r);
        let Some(task) = self.task_mut(t) else {
            return Err(RouteError::UnknownReservation(r));
        };
        task.state = TaskState::Assigned;
        task.worker = Some(w);
        task.pending.retain(|&x| x != r);
        task.escalate = false;
        let others = std::mem::take(&mut task.pending);
        let (id, created, due) = (task.id, task.created, task.due);
        self.count(|c| {
            c.accepted += 1;
            c.accept_ms += now - offered;
            c.wait_ms += now - created;
            c.sla_met += u64::from(now <= due);
        });
        out.push(Decision::Accepted {
            reservation: r,
            task: id,
            worker: self.workers[w as usize].id,
        });
        for o in others {
            self.close_reservation(o, ReservationState::Rescinded, out);
        }
        Ok(())
    }

    /// Gives a task to a worker without an offer: out of its queue, its
    /// offers rescinded, taken from whoever held it. Counts against the
    /// worker's room even past capacity; `has_room` and `list` then keep
    /// routing from offering them more.
    fn assign_by_hand(&mut self, t: u32, w: u32, out: &mut Vec<Decision>) {
        self.unplace(t);
        let Some(task) = self.task_mut(t) else { return };
        // Set first, so workers freed below do not get this task back.
        task.state = TaskState::Assigned;
        task.escalate = false;
        let previous = task.worker.replace(w);
        let pending = task.pending.clone();
        let (id, channel) = (task.id, task.channel);
        for r in pending {
            self.close_reservation(r, ReservationState::Rescinded, out);
        }
        self.load(w, channel, true, false);
        out.push(Decision::Assigned {
            task: id,
            worker: self.workers[w as usize].id,
        });
        if let Some(p) = previous {
            out.push(Decision::Released {
                task: id,
                worker: self.workers[p as usize].id,
            });
            self.load(p, channel, false, true);
            self.pull(p, out);
        }
    }

    /// Ends a pending reservation without the task being taken, frees the
    /// worker's room, and reports it; the caller decides what the task does.
    fn close_reservation(&mut self, r: u64, state: ReservationState, out: &mut Vec<Decision>) {
        let Some(res) = self.reservations.get_mut(&r) else {
            return;
        };
        if res.state != ReservationState::Pending {
            return;
        }
        res.state = state;
        let (t, w) = (res.task, res.worker);
        let until = self.now.saturating_add(self.ws.reservation_timeout);
        let Some(task) = self.task_mut(t) else { return };
        task.pending.retain(|&x| x != r);
        let (id, channel, seq) = (task.id, task.channel, task.seq);
        let refused = matches!(
            state,
            ReservationState::Rejected | ReservationState::Timeout
        );
        if refused {
            task.declined.retain(|&(x, _)| x != w);
            task.declined.push((w, until));
            self.timers.insert((until, Timer::Retry(t, seq)));
        }
        self.workers[w as usize].pending.retain(|&x| x != r);
        self.load(w, channel, false, false);
        let (task, worker) = (id, self.workers[w as usize].id);
        out.push(match state {
            ReservationState::Rejected => {
                self.count(|c| c.rejected += 1);
                Decision::Rejected {
                    reservation: r,
                    task,
                    worker,
                }
            }
            ReservationState::Timeout => {
                self.count(|c| c.timed_out += 1);
                Decision::TimedOut {
                    reservation: r,
                    task,
                    worker,
                }
            }
            _ => {
                self.count(|c| c.rescinded += 1);
                Decision::Rescinded {
                    reservation: r,
                    task,
                    worker,
                }
            }
        });
        // The freed room may go to another waiting task.
        self.pull(w, out);
    }

    /// A pending offer was rejected or timed out: when it was the task's
    /// last, the task waits again (or moves on, if its target timed out).
    fn end_offer(&mut self, r: u64, state: ReservationState, out: &mut Vec<Decision>) {
        self.end_offers(&[r], state, out);
    }

    /// Pending offers were rejected or timed out, several at once (a worker
    /// leaving, timeouts falling due together). All are closed first; then
    /// the tasks left without an offer wait again — or move on, if their
    /// target timed out meanwhile — best first, so none is offered ahead
    /// of a better one released by the same event.
    fn end_offers(&mut self, rs: &[u64], state: ReservationState, out: &mut Vec<Decision>) {
        let mut released = Vec::new();
        for &r in rs {
            let Some(res) = self.reservations.get(&r) else {
                continue;
            };
            if res.state != ReservationState::Pending {
                continue;
            }
            let (t, w) = (res.task, res.worker);
            if state == ReservationState::Timeout {
                let missed = self.ws.timeout_activity;
                // Before the room is freed, so the worker is not offered more.
                self.unlist(w);
                self.workers[w as usize].activity = missed;
                self.workers[w as usize].since = self.now;
                out.push(Decision::ActivityChanged {
                    worker: self.workers[w as usize].id,
                    activity: self.ws.activities[usize::from(missed)].0.clone(),
                });
            }
            self.close_reservation(r, state, out);
            if let Some(task) = self.task(t)
                && task.state == TaskState::Reserved
                && task.pending.is_empty()
            {
                released.push((task.rank, task.seq, t));
            }
        }
        released.sort_unstable();
        released.dedup();
        for (_, _, t) in released {
            let Some(task) = self.task_mut(t) else {
                continue;
            };
            if task.state != TaskState::Reserved || !task.pending.is_empty() {
                continue;
            }
            let (filter, target, escalate) = (task.filter, task.target, task.escalate);
            task.escalate = false;
            let target = if escalate {
                target.saturating_add(1)
            } else {
                target
            };
            self.place(t, filter, target, out);
        }
    }

    fn target_timeout(&mut self, t: u32, epoch: u32, out: &mut Vec<Decision>) {
        let Some(task) = self.task(t) else { return };
        if task.epoch != epoch {
            return;
        }
        match task.state {
            TaskState::Pending => {
                let (filter, target) = (task.filter, task.target);
                if filter == NO_FILTER {
                    return;
                }
                self.unplace(t);
                self.place(t, filter, target.saturating_add(1), out);
            }
            TaskState::Reserved => {
                if let Some(task) = self.task_mut(t) {
                    task.escalate = true;
                }
            }
            _ => {}
        }
    }

    fn cancel(&mut self, t: u32, reason: &str, out: &mut Vec<Decision>) {
        let Some(task) = self.task(t) else { return };
        let pending = task.pending.clone();
        let id = task.id;
        self.unplace(t);
        if let Some(task) = self.task_mut(t) {
            // Set first, so freed workers do not get this task back.
            task.state = TaskState::Canceled;
        }
        for r in pending {
            self.close_reservation(r, ReservationState::Canceled, out);
        }
        self.count(|c| c.canceled += 1);
        out.push(Decision::Canceled {
            task: id,
            reason: reason.to_string(),
        });
        self.finish(t, TaskState::Canceled, out);
    }

    /// Frees an assigned worker's room and forgets the task.
    fn finish(&mut self, t: u32, state: TaskState, out: &mut Vec<Decision>) {
        let Some(task) = self.task_mut(t) else { return };
        task.state = state;
        let (id, worker, channel) = (task.id, task.worker, task.channel);
        for r in std::mem::take(&mut task.offers) {
            self.reservations.remove(&r);
        }
        self.tasks[t as usize] = None;
        self.free.push(t);
        self.task_ids.remove(&id);
        if let Some(w) = worker {
            self.load(w, channel, false, true);
            self.pull(w, out);
        }
    }

    /// A canonical picture of the whole state, for comparing two engines
    /// (a restart must rebuild exactly the state it lost).
    pub fn snapshot(&self) -> Snapshot {
        let mut tasks: Vec<TaskSnapshot> = self
            .tasks
            .iter()
            .flatten()
            .map(|t| TaskSnapshot {
                id: t.id,
                state: t.state,
                queue: t.place.map(|(b, _)| {
                    self.ws.queues[usize::from(self.buckets[b as usize].queue)]
                        .0
                        .clone()
                }),
                place: t.place.map(|(_, p)| p),
                worker: t.worker.map(|w| self.workers[w as usize].id),
                attributes: t.attrs.to_json(&self.keys).to_string(),
            })
            .collect();
        tasks.sort_by_key(|t| t.id);
        let mut workers: Vec<WorkerSnapshot> = self
            .workers
            .iter()
            .map(|w| WorkerSnapshot {
                id: w.id,
                activity: self.ws.activities[usize::from(w.activity)].0.clone(),
                since: w.since,
                load: w.load.to_vec(),
            })
            .collect();
        workers.sort_by_key(|w| w.id);
        Snapshot {
            now: self.now,
            tasks,
            workers,
            reservations: self
                .reservations
                .iter()
                .map(|(r, x)| (*r, self.workers[x.worker as usize].id, x.state))
                .collect(),
            counters: self.counters.clone(),
        }
    }

    /// Live tasks and where they stand, for statistics and checks.
    pub fn tasks(&self) -> impl Iterator<Item = TaskView<'_>> {
        self.tasks.iter().flatten().map(|t| self.view(t))
    }

    /// A live task's attributes as JSON (what access checks read its
    /// jurisdiction from).
    pub fn task_attributes(&self, id: Uuid) -> Option<serde_json::Value> {
        let ix = *self.task_ids.get(&id)?;
        self.tasks
            .get(ix as usize)?
            .as_ref()
            .map(|t| t.attrs.to_json(&self.keys))
    }

    /// A page of live tasks, highest id first, below `before`: those whose
    /// string attribute `key` (`None` when absent or not a string) `keep`
    /// accepts. One pass over the live tasks holding at most `limit` of
    /// them, with no attribute turned into JSON.
    pub fn tasks_page(
        &self,
        key: &str,
        keep: impl Fn(Option<&str>) -> bool,
        before: Option<Uuid>,
        limit: usize,
    ) -> Vec<TaskView<'_>> {
        use std::cmp::Reverse;
        let k = self.keys.lookup(key);
        let mut best: std::collections::BinaryHeap<Reverse<(Uuid, u32)>> =
            std::collections::BinaryHeap::with_capacity(limit + 1);
        for (ix, t) in self.tasks.iter().enumerate() {
            let Some(t) = t else { continue };
            if before.is_some_and(|b| t.id >= b) {
                continue;
            }
            let value = k.and_then(|k| match t.attrs.get(k) {
                Some(crate::attrs::Val::Str(s)) => Some(&**s),
                _ => None,
            });
            if !keep(value) {
                continue;
            }
            best.push(Reverse((t.id, ix as u32)));
            if best.len() > limit {
                best.pop();
            }
        }
        let mut page: Vec<_> = best.into_iter().map(|Reverse(x)| x).collect();
        page.sort_unstable_by_key(|&(id, _)| std::cmp::Reverse(id));
        page.iter()
            .filter_map(|&(_, ix)| self.tasks[ix as usize].as_ref())
            .map(|t| self.view(t))
            .collect()
    }

    /// One live task (finished tasks are forgotten).
    pub fn task_view(&self, id: Uuid) -> Option<TaskView<'_>> {
        let ix = *self.task_ids.get(&id)?;
        self.tasks.get(ix as usize)?.as_ref().map(|t| self.view(t))
    }

    fn view<'a>(&'a self, t: &'a Task) -> TaskView<'a> {
        TaskView {
            id: t.id,
            state: t.state,
            queue: t
                .place
                .map(|(b, _)| self.buckets[b as usize].queue)
                .map(|q| self.ws.queues[usize::from(q)].0.as_str()),
            priority: t.base_priority,
            due: t.due,
            created: t.created,
            place: t.place.map(|(_, p)| p),
            rank: t.rank,
            channel: self.ws.channels[usize::from(t.channel)].0.as_str(),
            worker: t.worker.map(|w| self.workers[w as usize].id),
            offered_to: t
                .pending
                .iter()
                .filter_map(|r| self.reservations.get(r))
                .map(|r| self.workers[r.worker as usize].id)
                .collect(),
        }
    }

    /// Whether `worker` could be offered the waiting `task` (queue and
    /// expression, and not turned down by them), were they free: the
    /// question the property tests ask of every pair.
    pub fn could_take(&self, worker: Uuid, task: Uuid) -> bool {
        let (Some(&w), Some(&t)) = (self.worker_ids.get(&worker), self.task_ids.get(&task)) else {
            return false;
        };
        let Some(task) = self.task(t) else {
            return false;
        };
        let Some((b, _)) = task.place else {
            return false;
        };
        !declined_by(&task.declined, w, self.now) && self.eligible(w, b)
    }

    /// Per worker: available, and with room on each channel.
    pub fn worker_room(&self, worker: Uuid) -> Option<(bool, Vec<ChannelRoom>)> {
        let &w = self.worker_ids.get(&worker)?;
        let x = &self.workers[w as usize];
        Some((
            self.available(w),
            self.ws
                .channels
                .iter()
                .enumerate()
                .map(|(c, (name, _))| (name.clone(), x.load[c], x.capacity[c]))
                .collect(),
        ))
    }

    /// A worker's current activity.
    pub fn worker_activity(&self, worker: Uuid) -> Option<&str> {
        let &w = self.worker_ids.get(&worker)?;
        let a = self.workers[w as usize].activity;
        Some(self.ws.activities[usize::from(a)].0.as_str())
    }

    /// A worker's pending offers: (reservation, task, expiry).
    pub fn pending_offers(&self, worker: Uuid) -> Vec<(u64, Uuid, Millis)> {
        let Some(&w) = self.worker_ids.get(&worker) else {
            return Vec::new();
        };
        self.workers[w as usize]
            .pending
            .iter()
            .filter_map(|r| {
                let res = self.reservations.get(r)?;
                let task = self.task(res.task)?;
                Some((*r, task.id, res.created + self.ws.reservation_timeout))
            })
            .collect()
    }

    /// A reservation's task, worker and state, while its task is live.
    pub fn reservation(&self, r: u64) -> Option<(Uuid, Uuid, ReservationState)> {
        let res = self.reservations.get(&r)?;
        let task = self.task(res.task)?;
        Some((task.id, self.workers[res.worker as usize].id, res.state))
    }
}
