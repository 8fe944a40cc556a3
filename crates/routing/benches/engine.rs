//! Criterion benches of the routing core: `cargo bench -p tracedesk-routing`.
//!
//! The same workload as `tracedesk bench routing` (see `workload`), at a
//! size criterion can set up quickly: 10,000 workers and 100,000 pending
//! tasks. `decision` is one completion that frees a worker and offers them
//! their next task, with the accept before it and a new task after it (so
//! the backlog stays level); `naive_decision` is the full-scan baseline at
//! the same backlog. `tracedesk bench routing` runs the full 1,000,000-task
//! figures with latency percentiles and memory.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::collections::VecDeque;
use std::hint::black_box;
use tracedesk_routing::workload::{self, Naive, Rng};
use tracedesk_routing::{Decision, Engine, Event};
use uuid::Uuid;

const WORKERS: usize = 10_000;
const TASKS: usize = 100_000;

struct Loaded {
    engine: Engine,
    offers: VecDeque<(u64, Uuid)>,
    r: Rng,
    now: i64,
    next: u128,
}

fn note(out: &[Decision], offers: &mut VecDeque<(u64, Uuid)>) {
    for d in out {
        if let Decision::Offered {
            reservation, task, ..
        } = d
        {
            offers.push_back((*reservation, *task));
        }
    }
}

/// Every worker added, every task waiting, then everyone available.
fn loaded() -> Loaded {
    let mut engine = Engine::new(&workload::workspace()).expect("the workload's workspace");
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let now = 1_800_000_000_000;
    for i in 0..WORKERS {
        engine
            .apply(now, workload::add_worker(i, &mut r))
            .expect("worker");
    }
    for n in 0..TASKS {
        engine
            .apply(now, workload::create_task(n as u128, &mut r, now))
            .expect("task");
    }
    let mut offers = VecDeque::new();
    for i in 0..WORKERS {
        let out = engine
            .apply(
                now,
                Event::SetActivity {
                    worker: workload::worker_id(i),
                    activity: "Available".into(),
                    reject_pending: false,
                },
            )
            .expect("activity");
        note(&out, &mut offers);
    }
    Loaded {
        engine,
        offers,
        r,
        now,
        next: TASKS as u128,
    }
}

/// Accept the oldest offer, complete its task (the measured decision
/// happens here) and add a task.
fn cycle(l: &mut Loaded) {
    // Each completion offers the freed worker a task from the full backlog.
    let (reservation, task) = l.offers.pop_front().expect("an offer is standing");
    l.now += 1;
    let out = l
        .engine
        .apply(l.now, Event::Accept { reservation })
        .expect("accept");
    note(&out, &mut l.offers);
    let out = l
        .engine
        .apply(l.now, Event::Complete { task })
        .expect("complete");
    note(black_box(&out), &mut l.offers);
    l.next += 1;
    let out = l
        .engine
        .apply(l.now, workload::create_task(l.next, &mut l.r, l.now))
        .expect("task");
    note(&out, &mut l.offers);
}

fn routing(c: &mut Criterion) {
    let mut group = c.benchmark_group("routing");
    let mut l = loaded();
    group.bench_function("decision", |b| b.iter(|| cycle(&mut l)));
    let naive = Naive::new(
        &workload::workspace(),
        TASKS,
        64,
        &mut Rng(0xD1B5_4A32_D192_ED03),
    )
    .expect("baseline");
    let mut w = 0;
    group.sample_size(10);
    group.bench_function("naive_decision", |b| {
        b.iter(|| {
            w += 1;
            black_box(naive.decide(w))
        })
    });
    // Replaying a log: what a restart costs per event.
    let events: Vec<Event> = {
        let mut r = Rng(7);
        let mut events: Vec<Event> = (0..WORKERS)
            .map(|i| workload::add_worker(i, &mut r))
            .collect();
        for n in 0..10_000u128 {
            events.push(workload::create_task(n, &mut r, 1_800_000_000_000));
        }
        events
    };
    group.bench_function("replay_20k_events", |b| {
        b.iter_batched(
            || events.clone(),
            |events| {
                let mut e = Engine::new(&workload::workspace()).expect("workspace");
                for ev in events {
                    e.apply(1_800_000_000_000, ev).expect("event");
                }
                e
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
