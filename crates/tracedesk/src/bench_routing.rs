//! `tracedesk bench routing`: the routing core on one core, at a nation's
//! scale, against a naive router that scans every task for each free worker.

use serde_json::json;
use std::time::Instant;
use tracedesk_routing::attrs::{Attrs, Keys};
use tracedesk_routing::config::{Activity, Channel, Filter, Queue, Target, Workflow};
use tracedesk_routing::expr::{Docs, Expr, Scope};
use tracedesk_routing::{Decision, Engine, Event, Workspace};
use uuid::Uuid;

const SKILLS: usize = 5;
const TEAMS: usize = 4;
const LANGUAGES: usize = 10;
const MATCH: &str = "task.language IN worker.languages";

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// 20 queues (5 skills × 4 teams), one filter per queue whose target
/// matches the task's language, 10 languages, voice and SMS.
fn workspace() -> Workspace {
    let mut ws = Workspace::public_health();
    ws.activities = vec![
        Activity {
            name: "Available".into(),
            available: true,
        },
        Activity {
            name: "Offline".into(),
            available: false,
        },
        Activity {
            name: "Missed".into(),
            available: false,
        },
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

fn worker_attrs(r: &mut Rng) -> serde_json::Value {
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

fn task_attrs(r: &mut Rng) -> serde_json::Value {
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

fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

pub fn run(workers: usize, tasks: usize, decisions: usize, naive: usize) -> anyhow::Result<()> {
    println!(
        "tracedesk bench routing: {workers} workers, {tasks} pending tasks, {} queues, one core",
        SKILLS * TEAMS
    );
    let ws = workspace();
    let mut engine = Engine::new(&ws).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut now: i64 = 1_800_000_000_000;
    let worker_ids: Vec<Uuid> = (0..workers)
        .map(|i| Uuid::from_u128(1 + i as u128))
        .collect();
    for &id in &worker_ids {
        let sms = 1 + r.below(5) as u16;
        engine
            .apply(
                now,
                Event::AddWorker {
                    id,
                    attributes: worker_attrs(&mut r),
                    capacity: vec![("voice".into(), 1), ("sms".into(), sms)],
                },
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }

    // Load: every worker offline, so every task waits.
    let rss_before = resident_bytes();
    let start = Instant::now();
    let mut next_task: u128 = 1 << 64;
    let mut create =
        |engine: &mut Engine, r: &mut Rng, now: i64| -> anyhow::Result<Vec<Decision>> {
            next_task += 1;
            let channel = if r.below(10) < 7 { "voice" } else { "sms" };
            engine
                .apply(
                    now,
                    Event::CreateTask {
                        id: Uuid::from_u128(next_task),
                        attributes: task_attrs(r),
                        channel: channel.into(),
                        priority: Some(r.below(3) as i32),
                        due: Some(now + r.below(24 * 3600) as i64 * 1000),
                        ttl: None,
                    },
                )
                .map_err(|e| anyhow::anyhow!("{e}"))
        };
    for i in 0..tasks {
        create(&mut engine, &mut r, now)?;
        if i % 1_000_000 == 999_999 {
            eprintln!("  {} tasks loaded", i + 1);
        }
    }
    let load_s = start.elapsed().as_secs_f64();
    let per_task = resident_bytes().saturating_sub(rss_before) as f64 / tasks.max(1) as f64;
    println!("\n| measure | figure |");
    println!("|---|---:|");
    println!(
        "| tasks created (routed through the workflow into buckets) | {:.0} tasks/s |",
        tasks as f64 / load_s
    );
    println!(
        "| memory per pending task (resident growth while loading, all indexes included) | {per_task:.0} bytes |"
    );

    // Decisions: everyone comes to work; then each completion frees a worker,
    // who is offered the best task they can take — one routing decision —
    // and a new task arrives to keep the backlog steady.
    let mut offers: std::collections::VecDeque<(u64, Uuid)> = Default::default();
    let note = |out: &[Decision], offers: &mut std::collections::VecDeque<(u64, Uuid)>| {
        for d in out {
            if let Decision::Offered {
                reservation, task, ..
            } = d
            {
                offers.push_back((*reservation, *task));
            }
        }
    };
    let start = Instant::now();
    for &id in &worker_ids {
        let out = engine
            .apply(
                now,
                Event::SetActivity {
                    worker: id,
                    activity: "Available".into(),
                    reject_pending: false,
                },
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        note(&out, &mut offers);
    }
    let first_offers = offers.len();
    let staffing_s = start.elapsed().as_secs_f64();
    println!(
        "| first offers as {workers} workers become available | {first_offers} in {staffing_s:.2} s |"
    );

    let mut latencies = Vec::with_capacity(decisions);
    let mut made = 0usize;
    let start = Instant::now();
    while made < decisions {
        let Some((reservation, task)) = offers.pop_front() else {
            break;
        };
        now += 1;
        let out = engine
            .apply(now, Event::Accept { reservation })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        note(&out, &mut offers);
        let t0 = Instant::now();
        let out = engine
            .apply(now, Event::Complete { task })
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        latencies.push(t0.elapsed().as_nanos() as u64);
        let before = offers.len();
        note(&out, &mut offers);
        made += offers.len() - before;
        let out = create(&mut engine, &mut r, now)?;
        note(&out, &mut offers);
    }
    let loop_s = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let decisions_per_s = made as f64 / loop_s;
    println!(
        "| decisions (offers) in the accept → complete → next offer loop | {made} in {loop_s:.2} s: **{decisions_per_s:.0} decisions/s** (each with an accept, a completion and a new task) |"
    );
    println!(
        "| latency of a completion that frees a worker and offers them the next task | p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0) as f64 / 1000.0
    );
    println!(
        "| counters | {} created, {} offered, {} accepted, {} completed |",
        engine.counters().created,
        engine.counters().offered,
        engine.counters().accepted,
        engine.counters().completed
    );

    // Naive: for each free worker, scan every pending task, evaluate the
    // queue's and the target's expressions, keep the best.
    let mut keys = Keys::default();
    let queue_exprs: Vec<Expr> = ws
        .queues
        .iter()
        .map(|q| Expr::parse(&q.target_workers, &mut keys))
        .collect::<Result<_, _>>()?;
    let filter_exprs: Vec<Expr> = ws
        .workflow
        .filters
        .iter()
        .map(|f| Expr::parse(&f.expression, &mut keys))
        .collect::<Result<_, _>>()?;
    let matching = Expr::parse(MATCH, &mut keys)?;
    let mut r2 = Rng(0xD1B5_4A32_D192_ED03);
    let pending: Vec<(Attrs, i64, usize)> = (0..tasks)
        .map(|_| {
            let a = Attrs::from_json(&task_attrs(&mut r2), &mut keys).unwrap_or_default();
            let docs = Docs {
                own: Scope::Task,
                task: Some(&a),
                worker: None,
            };
            let q = filter_exprs
                .iter()
                .position(|f| f.matches(docs))
                .unwrap_or(0);
            let rank = r2.below(24 * 3600) as i64 * 1000 - r2.below(3) as i64 * 3_600_000;
            (a, rank, q)
        })
        .collect();
    let naive_workers: Vec<Attrs> = (0..naive)
        .map(|_| Attrs::from_json(&worker_attrs(&mut r2), &mut keys).unwrap_or_default())
        .collect();
    let start = Instant::now();
    let mut found = 0;
    for w in &naive_workers {
        let mut best: Option<(i64, usize)> = None;
        for (i, (a, rank, q)) in pending.iter().enumerate() {
            let docs = Docs {
                own: Scope::Worker,
                task: Some(a),
                worker: Some(w),
            };
            if queue_exprs[*q].matches(docs)
                && matching.matches(docs)
                && best.is_none_or(|(b, _)| *rank < b)
            {
                best = Some((*rank, i));
            }
        }
        found += usize::from(best.is_some());
    }
    let naive_s = start.elapsed().as_secs_f64();
    let naive_per_s = naive as f64 / naive_s;
    println!(
        "| naive baseline (scan all {tasks} tasks per free worker) | {naive} decisions in {naive_s:.2} s: {naive_per_s:.1} decisions/s ({found} found a task) |"
    );
    println!(
        "| engine ÷ naive | **{:.0}×** |",
        decisions_per_s / naive_per_s
    );
    Ok(())
}
