//! Live work carried over to a changed workspace.
//!
//! The routing log cannot simply be replayed under a changed workspace: an
//! event that named a removed activity or channel no longer applies, and
//! skipping it loses what it did. Instead the engine as it stood under the
//! old workspace (restored under that workspace, which its image keeps)
//! hands its live state to a new engine, which then becomes the snapshot
//! later events are replayed after. Nothing is replayed across the change,
//! so the log before it is needed no longer.

use super::*;
use Decision::{ActivityChanged, Queued};

/// What a carry-over kept and what it could not (counts only: no ids or
/// attribute values, so it can be logged).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Carried {
    pub workers: usize,
    /// Live tasks now in the new engine.
    pub tasks: usize,
    /// Assigned or wrapping tasks kept with the worker who held them.
    pub kept_assigned: usize,
    /// Offers standing at the change: withdrawn, their tasks routed anew.
    pub offers_withdrawn: usize,
    /// Workers whose activity the new workspace lacks: they start in its
    /// default activity.
    pub activities_reset: usize,
    /// Tasks the new workspace cannot hold (their channel is gone):
    /// canceled, with a `Canceled` decision, so their holders hear it.
    pub tasks_canceled: usize,
}

/// The reason given for a task the new workspace cannot hold.
pub const CANCELED_BY_CHANGE: &str = "workspace changed";

impl Engine {
    /// A new engine under `to` holding this engine's live work:
    ///
    /// - every worker, with their attributes, their capacity on the channels
    ///   that remain, and their activity where it still exists (longest
    ///   idle first, as before);
    /// - assigned and wrapping tasks with the worker who held them;
    /// - waiting and offered tasks routed anew under the new workflow, best
    ///   first, keeping their priority, due time and remaining TTL. Standing
    ///   offers are withdrawn (the decisions say so) and made afresh;
    ///   reservation numbers go on from where they were, so an old number
    ///   never names a new offer.
    ///
    /// Totals and their per-minute history go on too. Returns the decisions
    /// the change made, for the workers' streams and the task list.
    pub fn carry_over(
        &self,
        to: &Workspace,
    ) -> Result<(Engine, Vec<Decision>, Carried), ConfigError> {
        let mut new = Engine::new(to)?;
        new.now = self.now;
        new.next_reservation = self.next_reservation;
        let mut out = Vec::new();
        let mut report = Carried::default();

        // Workers first, longest idle first: the new engine's idle order
        // breaks ties by the order workers were added.
        let mut workers: Vec<&Worker> = self.workers.iter().collect();
        workers.sort_by_key(|w| w.since);
        for w in &workers {
            let capacity = self
                .ws
                .channels
                .iter()
                .zip(w.capacity.iter())
                .filter(|((name, _), _)| new.channel(name).is_ok())
                .map(|((name, _), n)| (name.clone(), *n))
                .collect();
            let added = new.event(
                Event::AddWorker {
                    id: w.id,
                    attributes: w.attrs.to_json(&self.keys),
                    capacity,
                },
                &mut out,
            );
            if added.is_ok() {
                report.workers += 1;
            }
        }

        let mut live: Vec<(u32, &Task)> = self
            .tasks
            .iter()
            .enumerate()
            .filter_map(|(t, k)| Some((t as u32, k.as_ref()?)))
            .collect();
        live.sort_by_key(|(_, k)| k.seq);
        // When each task's TTL ends, from one pass over the timers.
        let ttls: HashMap<u32, Millis> = self
            .timers
            .iter()
            .filter_map(|&(at, timer)| match timer {
                Timer::Ttl(t, seq) if self.task(t).is_some_and(|k| k.seq == seq) => Some((t, at)),
                _ => None,
            })
            .collect();
        let ttl = |t: u32| {
            ttls.get(&t)
                .map(|&at| ((at - self.now).max(0) as u64).div_ceil(1000))
        };
        let held = |k: &Task| matches!(k.state, TaskState::Assigned | TaskState::Wrapping);
        // Held tasks take their workers' room before anything is offered.
        for &(t, k) in live.iter().filter(|(_, k)| held(k)) {
            let holder = k.worker.map(|w| self.workers[w as usize].id);
            if self.carry_task(&mut new, k, ttl(t), holder, &mut out) {
                report.kept_assigned += 1;
                if k.state == TaskState::Wrapping {
                    let _ = new.event(Event::Wrap { task: k.id }, &mut out);
                }
            } else {
                report.tasks_canceled += 1;
            }
        }
        // Activities before the waiting tasks, so a target's `skip_if`
        // sees who is available; longest idle first.
        let mut reset = Vec::new();
        for w in &workers {
            let (name, _) = &self.ws.activities[usize::from(w.activity)];
            match new.ws.activities.iter().position(|(n, _)| n == name) {
                Some(a) if a as u16 == new.ws.default_activity => {}
                Some(_) => {
                    let _ = new.event(
                        Event::SetActivity {
                            worker: w.id,
                            activity: name.clone(),
                            reject_pending: false,
                        },
                        &mut out,
                    );
                }
                None => {
                    report.activities_reset += 1;
                    reset.push(ActivityChanged {
                        worker: w.id,
                        activity: new.ws.activities[usize::from(new.ws.default_activity)]
                            .0
                            .clone(),
                    });
                }
            }
        }
        // The rest wait in the new workflow, and are offered best first.
        // Standing offers are withdrawn: their numbers mean nothing to the
        // new engine.
        new.deferred = Some(Vec::new());
        for &(t, k) in live.iter().filter(|(_, k)| !held(k)) {
            for r in &k.pending {
                if let Some(res) = self.reservations.get(r) {
                    report.offers_withdrawn += 1;
                    out.push(Decision::Rescinded {
                        reservation: *r,
                        task: k.id,
                        worker: self.workers[res.worker as usize].id,
                    });
                }
            }
            if !self.carry_task(&mut new, k, ttl(t), None, &mut out) {
                report.tasks_canceled += 1;
            }
        }
        new.offer_deferred(&mut out);
        report.tasks = new.task_ids.len();
        // Said only where something changed: a task waiting again was
        // waiting before, a worker back in their activity was in it.
        out.retain(|d| !matches!(d, Queued { .. } | ActivityChanged { .. }));
        out.extend(reset);

        // The totals go on; what the change itself did counts on top (its
        // offers, and the offers and tasks it withdrew).
        let during = std::mem::replace(&mut new.counters, self.counters.clone());
        new.minutes = self.minutes.clone();
        let (withdrawn, canceled) = (report.offers_withdrawn as u64, report.tasks_canceled as u64);
        new.count(|c| {
            c.offered += during.offered;
            c.rescinded += during.rescinded + withdrawn;
            c.canceled += during.canceled + canceled;
        });
        Ok((new, out, report))
    }

    /// Makes task `k` in `new`, assigned to `holder` if given, with `ttl`
    /// seconds left. A task `new` cannot hold is reported canceled instead.
    fn carry_task(
        &self,
        new: &mut Engine,
        k: &Task,
        ttl: Option<u64>,
        holder: Option<Uuid>,
        out: &mut Vec<Decision>,
    ) -> bool {
        let made = new.event(
            Event::CreateTask {
                id: k.id,
                attributes: k.attrs.to_json(&self.keys),
                channel: self.ws.channels[usize::from(k.channel)].0.clone(),
                priority: Some(k.base_priority),
                due: Some(k.due),
                ttl,
                worker: holder,
            },
            out,
        );
        match made {
            Ok(()) => {
                // Its waits and SLA count from when it was first made.
                if let Some(&x) = new.task_ids.get(&k.id)
                    && let Some(task) = new.task_mut(x)
                {
                    task.created = k.created;
                }
                true
            }
            Err(_) => {
                out.push(Decision::Canceled {
                    task: k.id,
                    reason: CANCELED_BY_CHANGE.to_string(),
                });
                false
            }
        }
    }
}
