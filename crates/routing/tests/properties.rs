//! Properties of the routing core over random histories: routing never
//! takes a worker past capacity (only a supervisor's hand can), no task is
//! accepted twice, no eligible worker idles while a
//! task waits, a worker is never offered a task while a better one they
//! could take waits, every task is eventually offered to someone who can take
//! it, and replaying the events rebuilds the same state.

use proptest::prelude::*;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use tracedesk_routing::{Decision, Engine, Event, TaskState, Workspace};
use uuid::Uuid;

const SKILLS: [&str; 4] = [
    "case_investigation",
    "contact_notification",
    "clinical",
    "interpreter_line",
];
const LANGS: [&str; 3] = ["en", "es", "ht"];
const TYPES: [&str; 5] = [
    "case_interview",
    "contact_notification",
    "symptomatic_followup",
    "non_responder_followup",
    "callback_request",
];
const ACTIVITIES: [&str; 5] = ["Available", "Break", "Training", "Offline", "Missed"];

#[derive(Debug, Clone)]
struct WorkerSpec {
    skills: Vec<bool>,
    langs: Vec<bool>,
    supervisor: bool,
    voice: u16,
    sms: u16,
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        kind: usize,
        lang: Option<usize>,
        sms: bool,
        priority: Option<i32>,
        due_in_min: Option<i64>,
        ttl: Option<u64>,
    },
    Activity(usize, usize, bool),
    Accept(usize),
    Reject(usize),
    Wrap(usize),
    Complete(usize),
    Cancel(usize),
    /// A supervisor assigns a live task to a worker by hand.
    Assign(usize, usize),
    Update(usize, WorkerSpec),
    Wait(i64),
}

fn worker_spec() -> impl Strategy<Value = WorkerSpec> {
    (
        prop::collection::vec(any::<bool>(), 4),
        prop::collection::vec(any::<bool>(), 3),
        prop::bool::weighted(0.2),
        1u16..3,
        1u16..4,
    )
        .prop_map(|(skills, langs, supervisor, voice, sms)| WorkerSpec {
            skills,
            langs,
            supervisor,
            voice,
            sms,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..5usize, prop::option::of(0..3usize), any::<bool>(), prop::option::of(-2i32..12),
              prop::option::of(-600i64..2000), prop::option::of(60u64..20_000))
            .prop_map(|(kind, lang, sms, priority, due_in_min, ttl)| Op::Create {
                kind, lang, sms, priority, due_in_min, ttl
            }),
        3 => (0..5usize, prop::sample::select(vec![0usize, 0, 0, 1, 3]), any::<bool>())
            .prop_map(|(w, a, r)| Op::Activity(w, a, r)),
        4 => any::<usize>().prop_map(Op::Accept),
        2 => any::<usize>().prop_map(Op::Reject),
        1 => any::<usize>().prop_map(Op::Wrap),
        3 => any::<usize>().prop_map(Op::Complete),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => (any::<usize>(), 0..5usize).prop_map(|(t, w)| Op::Assign(t, w)),
        1 => (0..5usize, worker_spec()).prop_map(|(w, s)| Op::Update(w, s)),
        3 => (0i64..400_000).prop_map(Op::Wait),
    ]
}

fn attrs(s: &WorkerSpec) -> serde_json::Value {
    let skills: Vec<_> = (0..4).filter(|&i| s.skills[i]).map(|i| SKILLS[i]).collect();
    let langs: Vec<_> = (0..3).filter(|&i| s.langs[i]).map(|i| LANGS[i]).collect();
    let role = if s.supervisor { "supervisor" } else { "tracer" };
    json!({"skills": skills, "languages": langs, "role": role})
}

fn wid(i: usize) -> Uuid {
    Uuid::from_u128(1000 + i as u128)
}

/// What the test has learned from the decisions.
#[derive(Default)]
struct Seen {
    offers: BTreeMap<u64, (Uuid, Uuid)>,
    assigned: BTreeSet<Uuid>,
    ever_accepted: BTreeSet<Uuid>,
    /// Tasks a supervisor assigned: they may take a worker past capacity.
    by_hand: BTreeSet<Uuid>,
}

impl Seen {
    fn learn(&mut self, out: &[Decision]) -> Result<(), TestCaseError> {
        for d in out {
            match d {
                Decision::Offered {
                    reservation,
                    task,
                    worker,
                    ..
                } => {
                    self.offers.insert(*reservation, (*task, *worker));
                }
                Decision::Accepted {
                    reservation, task, ..
                } => {
                    self.offers.remove(reservation);
                    prop_assert!(
                        self.ever_accepted.insert(*task),
                        "task {task} assigned twice"
                    );
                    self.assigned.insert(*task);
                }
                Decision::Assigned { task, .. } => {
                    prop_assert!(
                        !self.offers.values().any(|(t, _)| t == task),
                        "task {task} assigned by hand while still offered"
                    );
                    self.assigned.insert(*task);
                    self.by_hand.insert(*task);
                }
                Decision::Rejected { reservation, .. }
                | Decision::TimedOut { reservation, .. }
                | Decision::Rescinded { reservation, .. } => {
                    self.offers.remove(reservation);
                }
                Decision::Completed { task } | Decision::Canceled { task, .. } => {
                    self.assigned.remove(task);
                    self.by_hand.remove(task);
                    self.offers.retain(|_, (t, _)| t != task);
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// A step of the history, as a server would persist it.
#[derive(Clone)]
enum Step {
    Advance(i64),
    Apply(i64, Event),
}

struct Sim {
    e: Engine,
    /// The engine `e` was restored from an image of, fed the same events
    /// since: the two must decide alike.
    shadow: Option<Engine>,
    now: i64,
    seen: Seen,
    log: Vec<Step>,
    next_task: u128,
}

impl Sim {
    fn step(&mut self, dt: i64, ev: Event) -> Result<(Vec<Decision>, bool), TestCaseError> {
        self.now += dt;
        // An instant at a time, so each instant's offers are checked
        // against the state they were made in.
        let mut timers = Vec::new();
        loop {
            let at = match self.e.next_timer() {
                Some(at) if at < self.now => at.max(self.e.now()),
                _ => self.now,
            };
            let fired = self.e.advance(at);
            // The original an image was restored from gets the same steps.
            if let Some(shadow) = &mut self.shadow {
                prop_assert_eq!(&shadow.advance(at), &fired, "timers after a restore");
            }
            self.log.push(Step::Advance(at));
            self.seen.learn(&fired)?;
            // What the timers of this instant offered was the best on offer.
            self.check(&fired, true)?;
            timers.extend(fired);
            if at == self.now {
                break;
            }
        }
        let theirs = match &mut self.shadow {
            Some(shadow) => Some(shadow.apply(self.now, ev.clone()).ok()),
            None => None,
        };
        let quiet = timers.is_empty();
        let before = self.e.snapshot();
        if std::env::var("ROUTING_DEBUG").is_ok() {
            eprintln!("@{} timers {:?}\n  event {:?}", self.now, timers, ev);
        }
        let result = self.e.apply(self.now, ev.clone());
        if let Some(theirs) = theirs {
            prop_assert_eq!(
                result.as_ref().ok(),
                theirs.as_ref(),
                "decisions after a restore"
            );
        }
        match result {
            Ok(out) => {
                if std::env::var("ROUTING_DEBUG").is_ok() {
                    eprintln!("  -> {out:?}");
                    for t in self.e.tasks() {
                        eprintln!(
                            "     {} {:?} {:?} rank {} {:?}",
                            t.id.as_u128(),
                            t.state,
                            t.queue,
                            t.rank - 1_700_000_000_000,
                            t.offered_to.iter().map(|w| w.as_u128()).collect::<Vec<_>>()
                        );
                    }
                }
                self.log.push(Step::Apply(self.now, ev));
                self.seen.learn(&out)?;
                Ok((out, quiet))
            }
            Err(_) => {
                prop_assert_eq!(
                    self.e.snapshot(),
                    before,
                    "a refused event changed the state"
                );
                Ok((Vec::new(), false))
            }
        }
    }

    fn check(&self, out: &[Decision], exact: bool) -> Result<(), TestCaseError> {
        check(&self.e, &self.seen, out, exact)
    }

    fn op(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let pick = |set: Vec<Uuid>, k: usize| (!set.is_empty()).then(|| set[k % set.len()]);
        let ev = match op {
            Op::Create {
                kind,
                lang,
                sms,
                priority,
                due_in_min,
                ttl,
            } => {
                self.next_task += 1;
                let mut a = json!({"type": TYPES[*kind]});
                if let Some(l) = lang {
                    a["language"] = json!(LANGS[*l]);
                }
                Event::CreateTask {
                    id: Uuid::from_u128(self.next_task),
                    attributes: a,
                    channel: if *sms { "sms" } else { "voice" }.into(),
                    priority: *priority,
                    due: due_in_min.map(|m| self.now + m * 60_000),
                    ttl: *ttl,
                    worker: None,
                }
            }
            Op::Activity(w, a, reject_pending) => Event::SetActivity {
                worker: wid(*w),
                activity: ACTIVITIES[*a].into(),
                reject_pending: *reject_pending,
            },
            Op::Accept(k) | Op::Reject(k) => {
                let res: Vec<u64> = self.seen.offers.keys().copied().collect();
                let Some(&r) = (!res.is_empty()).then(|| &res[k % res.len()]) else {
                    return Ok(());
                };
                if matches!(op, Op::Accept(_)) {
                    Event::Accept { reservation: r }
                } else {
                    Event::Reject { reservation: r }
                }
            }
            Op::Wrap(k) => match pick(self.seen.assigned.iter().copied().collect(), *k) {
                Some(task) => Event::Wrap { task },
                None => return Ok(()),
            },
            Op::Complete(k) => match pick(self.seen.assigned.iter().copied().collect(), *k) {
                Some(task) => Event::Complete { task },
                None => return Ok(()),
            },
            Op::Cancel(k) => match pick(self.e.tasks().map(|t| t.id).collect(), *k) {
                Some(id) => Event::CancelTask {
                    id,
                    reason: "test".into(),
                },
                None => return Ok(()),
            },
            Op::Assign(k, w) => match pick(self.e.tasks().map(|t| t.id).collect(), *k) {
                Some(task) => Event::Assign {
                    task,
                    worker: wid(*w),
                },
                None => return Ok(()),
            },
            Op::Update(w, spec) => Event::UpdateWorker {
                id: wid(*w),
                attributes: attrs(spec),
            },
            Op::Wait(ms) => {
                let (out, _) = self.step(*ms, Event::Tick)?;
                return self.check(&out, true);
            }
        };
        let (out, _) = self.step(1_000, ev)?;
        self.check(&out, true)
    }
}

/// The promises, checked on engine `e` after decisions `out` (`exact`:
/// they were all made by the last step).
fn check(e: &Engine, seen: &Seen, out: &[Decision], exact: bool) -> Result<(), TestCaseError> {
    let tasks: Vec<_> = e.tasks().collect();
    for i in 0..5 {
        let w = wid(i);
        let Some((available, room)) = e.worker_room(w) else {
            continue;
        };
        for (channel, load, capacity) in &room {
            // Routing offers only below capacity, so what routing gave
            // the worker never exceeds it; tasks given by hand may.
            let by_hand = tasks
                .iter()
                .filter(|t| t.channel == channel && t.worker == Some(w))
                .filter(|t| seen.by_hand.contains(&t.id))
                .count();
            prop_assert!(
                usize::from(*load) <= usize::from(*capacity) + by_hand,
                "{w} over capacity on {channel}"
            );
            let held = tasks
                .iter()
                .filter(|t| t.channel == channel)
                .filter(|t| {
                    (t.worker == Some(w)
                        && matches!(t.state, TaskState::Assigned | TaskState::Wrapping))
                        || t.offered_to.contains(&w)
                })
                .count();
            prop_assert_eq!(held, usize::from(*load), "{} load on {}", w, channel);
        }
        // No task waits that this idle worker could take.
        for t in tasks.iter().filter(|t| t.state == TaskState::Pending) {
            let has_room = room
                .iter()
                .any(|(c, load, cap)| c == t.channel && load < cap);
            prop_assert!(
                !(available && has_room && e.could_take(w, t.id)),
                "task {} waits while {} is free to take it",
                t.id,
                w
            );
        }
    }
    if exact {
        // Each offer made by this event: nothing better for that worker waits.
        for d in out {
            let Decision::Offered { task, worker, .. } = d else {
                continue;
            };
            let Some(offered) = tasks.iter().find(|t| t.id == *task) else {
                continue;
            };
            for t in tasks.iter().filter(|t| t.state == TaskState::Pending) {
                if t.channel == offered.channel && e.could_take(*worker, t.id) {
                    prop_assert!(
                        t.rank >= offered.rank,
                        "{} offered {} while better {} waited",
                        worker,
                        task,
                        t.id
                    );
                }
            }
        }
    }
    Ok(())
}

fn run_history(workers: &[WorkerSpec], multi: u16, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut ws = Workspace::public_health();
    ws.max_reservations = multi;
    let mut sim = Sim {
        e: Engine::new(&ws).unwrap(),
        shadow: None,
        now: 1_700_000_000_000,
        seen: Seen::default(),
        log: Vec::new(),
        next_task: 0,
    };
    for (i, s) in workers.iter().enumerate() {
        let ev = Event::AddWorker {
            id: wid(i),
            attributes: attrs(s),
            capacity: vec![("voice".into(), s.voice), ("sms".into(), s.sms)],
        };
        sim.step(0, ev)?;
    }
    for o in ops {
        sim.op(o)?;
    }

    // Replaying the history rebuilds the very same state.
    let mut again = Engine::new(&ws).unwrap();
    for s in sim.log.clone() {
        match s {
            Step::Advance(at) => {
                again.advance(at);
            }
            Step::Apply(at, ev) => {
                again.apply(at, ev).unwrap();
            }
        }
    }
    prop_assert_eq!(again.snapshot(), sim.e.snapshot());

    // Carried over to a changed workspace (an activity renamed, offers to
    // one more worker at once): every worker and live task is kept, held
    // tasks stay with their holders, and the promises hold in the new engine.
    let mut changed = ws.clone();
    for a in &mut changed.activities {
        if a.name == "Break" {
            a.name = "Pause".into();
        }
    }
    changed.max_reservations = multi + 1;
    let (moved, out, report) = sim.e.carry_over(&changed).unwrap();
    prop_assert_eq!(report.workers, 5);
    prop_assert_eq!(report.tasks_canceled, 0);
    prop_assert_eq!(report.tasks, sim.e.tasks().count());
    for t in sim.e.tasks() {
        let m = moved.task_view(t.id).expect("every live task carried over");
        if matches!(t.state, TaskState::Assigned | TaskState::Wrapping) {
            prop_assert_eq!((m.state, m.worker), (t.state, t.worker));
        } else {
            prop_assert!(matches!(m.state, TaskState::Pending | TaskState::Reserved));
        }
        prop_assert_eq!(
            (m.priority, m.due, m.created),
            (t.priority, t.due, t.created)
        );
    }
    for d in &out {
        if let Decision::Offered { reservation, .. } = d {
            prop_assert!(
                !sim.seen.offers.contains_key(reservation),
                "an old reservation number names a new offer"
            );
        }
    }
    check(&moved, &sim.seen, &out, true)?;

    // So does restoring a saved image; from here on the restored engine
    // runs and the original shadows it, and they must decide alike.
    let restored = Engine::restore(&ws, &sim.e.save()).unwrap();
    prop_assert_eq!(restored.snapshot(), sim.e.snapshot());
    sim.shadow = Some(std::mem::replace(&mut sim.e, restored));

    // Everyone comes to work and takes what they are offered: every task
    // still waiting at the end is one no worker could ever take.
    for i in 0..5 {
        sim.op(&Op::Activity(i, 0, false))?;
    }
    for _ in 0..400 {
        for i in 0..5 {
            if sim.e.worker_room(wid(i)).is_some_and(|(a, _)| !a) {
                sim.step(
                    0,
                    Event::SetActivity {
                        worker: wid(i),
                        activity: "Available".into(),
                        reject_pending: false,
                    },
                )?;
            }
        }
        let offers: Vec<u64> = sim.seen.offers.keys().copied().collect();
        for r in offers {
            sim.step(0, Event::Accept { reservation: r })?;
        }
        let assigned: Vec<Uuid> = sim.seen.assigned.iter().copied().collect();
        for t in assigned {
            sim.step(0, Event::Complete { task: t })?;
        }
        let takers = sim
            .e
            .tasks()
            .filter(|t| t.state == TaskState::Pending)
            .any(|t| (0..5).any(|i| sim.e.could_take(wid(i), t.id)));
        if sim.seen.offers.is_empty() && sim.seen.assigned.is_empty() && !takers {
            break;
        }
        // Less than an offer's timeout: offers are answered, not missed.
        sim.step(60_000, Event::Tick)?;
    }
    for t in sim.e.tasks().filter(|t| t.state == TaskState::Pending) {
        for i in 0..5 {
            prop_assert!(
                !sim.e.could_take(wid(i), t.id),
                "task {} never offered to {}",
                t.id,
                wid(i)
            );
        }
    }
    Ok(())
}

proptest! {
    // 100 histories by default; PROPTEST_CASES=N for a longer search.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100)
    ))]

    #[test]
    fn routing_holds_its_promises(
        workers in prop::collection::vec(worker_spec(), 5),
        multi in 1u16..3,
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run_history(&workers, multi, &ops)?;
    }
}

/// Histories the search once found failing, kept so they stay fixed.
#[test]
fn regressions() {
    let w = |skills: [bool; 4], langs: [bool; 3], voice, sms| WorkerSpec {
        skills: skills.to_vec(),
        langs: langs.to_vec(),
        supervisor: false,
        voice,
        sms,
    };
    let none = w([false; 4], [false; 3], 1, 1);
    let create = |kind, lang, due_in_min| Op::Create {
        kind,
        lang,
        sms: false,
        priority: None,
        due_in_min,
        ttl: None,
    };
    // Two offers to one worker time out at the same instant: the worker
    // comes back and must get the better task first, not whichever timer
    // happened to run first.
    let workers = [
        none.clone(),
        none.clone(),
        none.clone(),
        none.clone(),
        w([false, true, false, false], [false, false, true], 2, 1),
    ];
    let ops = [
        create(1, None, None),
        create(1, None, Some(0)),
        create(0, None, None),
        create(0, None, None),
        Op::Activity(4, 0, false),
        create(1, None, None),
        Op::Wait(231_000),
        Op::Activity(4, 0, false),
        Op::Activity(0, 0, false),
        create(2, None, None),
    ];
    run_history(&workers, 1, &ops).unwrap();

    // A worker leaving with two offers: the better task must not wait while
    // the other goes to the only other worker.
    let both = w([false, true, true, false], [false, true, false], 2, 1);
    let workers = [
        none.clone(),
        none.clone(),
        both.clone(),
        none.clone(),
        w([false, true, true, false], [false, true, false], 1, 1),
    ];
    let ops = [
        Op::Activity(2, 0, false),
        create(1, None, None),
        Op::Activity(4, 0, false),
        create(1, None, Some(0)),
        Op::Activity(2, 1, true),
    ];
    run_history(&workers, 1, &ops).unwrap();

    let workers = [
        none.clone(),
        w([true, false, false, false], [false; 3], 1, 1),
        none.clone(),
        w([false, true, true, false], [false, true, false], 2, 3),
        none.clone(),
    ];
    let mut ops = vec![
        create(1, None, None),
        create(2, None, None),
        Op::Activity(3, 0, false),
        Op::Wait(77_599),
        create(0, Some(0), None),
        Op::Reject(0),
        Op::Wait(335_990),
        Op::Activity(0, 0, false),
        create(1, None, None),
        create(1, None, None),
        Op::Wait(312_180),
        Op::Wait(357_068),
        create(0, None, None),
        Op::Wait(269_016),
        create(0, None, None),
        Op::Wait(330_118),
    ];
    ops.extend((0..7).map(|_| create(0, None, None)));
    ops.extend([
        Op::Activity(3, 0, false),
        create(0, None, None),
        Op::Wait(100_029),
        Op::Reject(1_600_949_939_352_779_544),
    ]);
    run_history(&workers, 1, &ops).unwrap();
}
