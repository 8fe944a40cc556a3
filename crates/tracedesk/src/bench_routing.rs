//! `tracedesk bench routing`: the routing core on one core, at a nation's
//! scale, against a naive router that scans every task for each free worker.

use std::time::Instant;
use tracedesk_routing::workload::{self, Naive, Rng, SKILLS, TEAMS};
use tracedesk_routing::{Decision, Engine, Event};
use uuid::Uuid;

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
    let ws = workload::workspace();
    let mut engine = Engine::new(&ws).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut now: i64 = 1_800_000_000_000;
    let worker_ids: Vec<Uuid> = (0..workers).map(workload::worker_id).collect();
    for i in 0..workers {
        engine
            .apply(now, workload::add_worker(i, &mut r))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }

    // Load: every worker offline, so every task waits.
    let rss_before = resident_bytes();
    let start = Instant::now();
    let mut next_task: u128 = 0;
    let mut create =
        |engine: &mut Engine, r: &mut Rng, now: i64| -> anyhow::Result<Vec<Decision>> {
            next_task += 1;
            engine
                .apply(now, workload::create_task(next_task, r, now))
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

    // Snapshot: what a restart loads instead of replaying the whole log.
    let t0 = Instant::now();
    let image = engine.save();
    let save_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let restored = Engine::restore(&ws, &image).map_err(|e| anyhow::anyhow!("{e}"))?;
    let restore_s = t0.elapsed().as_secs_f64();
    anyhow::ensure!(
        restored.counters() == engine.counters()
            && restored.tasks().count() == engine.tasks().count(),
        "the restored engine differs from the saved one"
    );
    drop(restored);
    println!(
        "| engine snapshot ({} tasks live) | {:.0} MB, saved in {save_s:.2} s, restored in {restore_s:.2} s |",
        engine.tasks().count(),
        image.len() as f64 / 1e6
    );
    drop(image);

    // A changed workspace: the live work carried over to it at start.
    let mut changed = ws.clone();
    for a in &mut changed.activities {
        if a.name == "Break" {
            a.name = "Pause".into();
        }
    }
    let t0 = Instant::now();
    let (moved, _, carried) = engine
        .carry_over(&changed)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let carry_s = t0.elapsed().as_secs_f64();
    anyhow::ensure!(
        carried.tasks == engine.tasks().count() && carried.tasks_canceled == 0,
        "live work was lost in the carry-over"
    );
    drop(moved);
    println!(
        "| carry-over to a changed workspace ({} workers, {} tasks) | {carry_s:.2} s |",
        carried.workers, carried.tasks
    );

    // Naive: for each free worker, scan every pending task, evaluate the
    // queue's and the target's expressions, keep the best.
    let baseline = Naive::new(&ws, tasks, naive, &mut Rng(0xD1B5_4A32_D192_ED03))?;
    let start = Instant::now();
    let found = (0..naive).filter(|&w| baseline.decide(w).is_some()).count();
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
