//! A synthetic contact-center workload for benchmarks: `tracedesk bench
//! routing` and the criterion benches measure the same thing.
//!
//! 20 queues (5 skills × 4 teams), 10 languages with half the work in one
//! common language, voice (capacity 1) and SMS (1–5), and a deterministic
//! generator so runs are comparable.

use crate::attrs::{Attrs, Keys};
use crate::config::{Activity, Channel, Filter, Queue, Target, Workflow};
use crate::expr::{Docs, Expr, ParseError, Scope};
use crate::{Event, Workspace};
use serde_json::json;
use uuid::Uuid;

pub const SKILLS: usize = 5;
pub const TEAMS: usize = 4;
pub const LANGUAGES: usize = 10;
/// A task's language must be one the worker speaks.
pub const MATCH: &str = "task.language IN worker.languages";

/// xorshift64*: small, fast and the same on every machine.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The benchmark's workspace: one filter per queue, each targeting the
/// queue with the language match.
pub fn workspace() -> Workspace {
    let mut ws = Workspace::public_health();
    let act = |name: &str, available| Activity {
        name: name.into(),
        available,
    };
    ws.activities = vec![
        act("Available", true),
        act("Offline", false),
        act("Missed", false),
    ];
    ws.default_activity = "Offline".into();
    ws.timeout_activity = "Missed".into();
    ws.channels = vec![
        Channel {
            name: "voice".into(),
            default_capacity: 1,
        },
        Channel {
            name: "sms".into(),
            default_capacity: 3,
        },
    ];
    ws.queues.clear();
    ws.workflow = Workflow {
        filters: Vec::new(),
        default_queue: "q0_0".into(),
    };
    for s in 0..SKILLS {
        for t in 0..TEAMS {
            let name = format!("q{s}_{t}");
            ws.queues.push(Queue {
                name: name.clone(),
                target_workers: format!("skills HAS 's{s}' AND team == 't{t}'"),
            });
            ws.workflow.filters.push(Filter {
                name: name.clone(),
                expression: format!("skill == 's{s}' AND team == 't{t}'"),
                targets: vec![Target {
                    queue: name,
                    priority: None,
                    timeout: None,
                    expression: Some(MATCH.into()),
                    order_by: None,
                    skip_if: None,
                }],
            });
        }
    }
    ws
}

/// One or two skills, a team, the common language and up to two more.
pub fn worker_attrs(r: &mut Rng) -> serde_json::Value {
    let mut skills = vec![format!("s{}", r.below(SKILLS))];
    if r.below(2) == 0 {
        skills.push(format!("s{}", r.below(SKILLS)));
    }
    let mut langs = vec!["l0".to_string()];
    for _ in 0..r.below(3) {
        langs.push(format!("l{}", r.below(LANGUAGES)));
    }
    json!({"skills": skills, "team": format!("t{}", r.below(TEAMS)), "languages": langs})
}

pub fn task_attrs(r: &mut Rng) -> serde_json::Value {
    // Half the work is in the common language, the rest spread over nine.
    let lang = if r.below(2) == 0 {
        0
    } else {
        r.below(LANGUAGES)
    };
    json!({
        "type": "contact_notification",
        "skill": format!("s{}", r.below(SKILLS)),
        "team": format!("t{}", r.below(TEAMS)),
        "language": format!("l{lang}"),
    })
}

/// Worker `i`'s id.
pub fn worker_id(i: usize) -> Uuid {
    Uuid::from_u128(1 + i as u128)
}

/// A worker joining with voice capacity 1 and SMS 1–5.
pub fn add_worker(i: usize, r: &mut Rng) -> Event {
    Event::AddWorker {
        id: worker_id(i),
        attributes: worker_attrs(r),
        capacity: vec![("voice".into(), 1), ("sms".into(), 1 + r.below(5) as u16)],
    }
}

/// Task number `n`: 70% voice, priority 0–2, due within a day of `now`.
pub fn create_task(n: u128, r: &mut Rng, now: i64) -> Event {
    let channel = if r.below(10) < 7 { "voice" } else { "sms" };
    Event::CreateTask {
        id: Uuid::from_u128((1 << 64) + n),
        attributes: task_attrs(r),
        channel: channel.into(),
        priority: Some(r.below(3) as i32),
        due: Some(now + r.below(24 * 3600) as i64 * 1000),
        ttl: None,
        worker: None,
    }
}

/// The baseline the engine is measured against: for a free worker, scan
/// every pending task, evaluate its queue's and target's expressions and
/// keep the one due first.
pub struct Naive {
    queues: Vec<Expr>,
    matching: Expr,
    /// Attributes, virtual deadline and queue of each pending task.
    pending: Vec<(Attrs, i64, usize)>,
    workers: Vec<Attrs>,
}

impl Naive {
    /// `tasks` pending tasks and `workers` workers, from `r`.
    pub fn new(
        ws: &Workspace,
        tasks: usize,
        workers: usize,
        r: &mut Rng,
    ) -> Result<Self, ParseError> {
        let mut keys = Keys::default();
        let queues = ws
            .queues
            .iter()
            .map(|q| Expr::parse(&q.target_workers, &mut keys))
            .collect::<Result<Vec<_>, _>>()?;
        let filters = ws
            .workflow
            .filters
            .iter()
            .map(|f| Expr::parse(&f.expression, &mut keys))
            .collect::<Result<Vec<_>, _>>()?;
        let matching = Expr::parse(MATCH, &mut keys)?;
        let pending = (0..tasks)
            .map(|_| {
                let a = Attrs::from_json(&task_attrs(r), &mut keys).unwrap_or_default();
                let docs = Docs {
                    own: Scope::Task,
                    task: Some(&a),
                    worker: None,
                };
                let q = filters.iter().position(|f| f.matches(docs)).unwrap_or(0);
                let rank = r.below(24 * 3600) as i64 * 1000 - r.below(3) as i64 * 3_600_000;
                (a, rank, q)
            })
            .collect();
        let workers = (0..workers)
            .map(|_| Attrs::from_json(&worker_attrs(r), &mut keys).unwrap_or_default())
            .collect();
        Ok(Self {
            queues,
            matching,
            pending,
            workers,
        })
    }

    pub fn workers(&self) -> usize {
        self.workers.len()
    }

    /// The task worker `w` would be offered, by a full scan.
    pub fn decide(&self, w: usize) -> Option<usize> {
        let worker = &self.workers[w % self.workers.len().max(1)];
        let mut best: Option<(i64, usize)> = None;
        for (i, (a, rank, q)) in self.pending.iter().enumerate() {
            let docs = Docs {
                own: Scope::Worker,
                task: Some(a),
                worker: Some(worker),
            };
            if self.queues[*q].matches(docs)
                && self.matching.matches(docs)
                && best.is_none_or(|(b, _)| *rank < b)
            {
                best = Some((*rank, i));
            }
        }
        best.map(|(_, i)| i)
    }
}
