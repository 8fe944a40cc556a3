//! The routing engine, one behaviour at a time, on the public-health defaults.

use serde_json::json;
use tracedesk_routing::config::{Filter, Target, Workflow};
use tracedesk_routing::{Decision, Engine, Event, RouteError, TaskState, Workspace};
use uuid::Uuid;

const HOUR: i64 = 3_600_000;

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

struct Run {
    e: Engine,
    now: i64,
}

impl Run {
    fn new(ws: Workspace) -> Self {
        Run {
            e: Engine::new(&ws).unwrap(),
            now: 1_000_000_000_000,
        }
    }

    fn at(&mut self, ms: i64, ev: Event) -> Result<Vec<Decision>, RouteError> {
        self.now += ms;
        let mut out = self.e.advance(self.now);
        out.extend(self.e.apply(self.now, ev)?);
        Ok(out)
    }

    fn ok(&mut self, ev: Event) -> Vec<Decision> {
        self.at(0, ev).unwrap()
    }

    fn wait(&mut self, ms: i64) -> Vec<Decision> {
        self.at(ms, Event::Tick).unwrap()
    }

    fn worker(&mut self, n: u128, attrs: serde_json::Value) {
        self.ok(Event::AddWorker {
            id: id(n),
            attributes: attrs,
            capacity: vec![],
        });
    }

    fn available(&mut self, n: u128) -> Vec<Decision> {
        self.ok(Event::SetActivity {
            worker: id(n),
            activity: "Available".into(),
            reject_pending: false,
        })
    }

    fn task(&mut self, n: u128, attrs: serde_json::Value) -> Vec<Decision> {
        self.task_on(n, attrs, "voice", None)
    }

    fn task_on(
        &mut self,
        n: u128,
        attrs: serde_json::Value,
        channel: &str,
        due: Option<i64>,
    ) -> Vec<Decision> {
        self.ok(Event::CreateTask {
            id: id(n),
            attributes: attrs,
            channel: channel.into(),
            priority: None,
            due,
            ttl: None,
            worker: None,
        })
    }

    fn state(&self, n: u128) -> Option<TaskState> {
        self.e.tasks().find(|t| t.id == id(n)).map(|t| t.state)
    }
}

/// (reservation, task, worker) of each offer among `out`.
fn offers(out: &[Decision]) -> Vec<(u64, Uuid, Uuid)> {
    out.iter()
        .filter_map(|d| match d {
            Decision::Offered {
                reservation,
                task,
                worker,
                ..
            } => Some((*reservation, *task, *worker)),
            _ => None,
        })
        .collect()
}

fn tracer(lang: &[&str]) -> serde_json::Value {
    json!({"skills": ["case_investigation", "contact_notification"], "languages": lang})
}

#[test]
fn offer_accept_wrap_complete_then_the_next_task() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(1, tracer(&["en"]));
    assert!(
        r.task(10, json!({"type": "case_interview"})).len() == 1,
        "queued, no one available"
    );
    assert_eq!(r.state(10), Some(TaskState::Pending));
    r.task(11, json!({"type": "case_interview"}));
    let out = r.available(1);
    let o = offers(&out);
    assert_eq!(o.len(), 1);
    assert_eq!((o[0].1, o[0].2), (id(10), id(1)), "the older task first");
    let out = r.ok(Event::Accept {
        reservation: o[0].0,
    });
    assert!(matches!(out[0], Decision::Accepted { .. }));
    assert_eq!(r.state(10), Some(TaskState::Assigned));
    r.ok(Event::Wrap { task: id(10) });
    assert_eq!(r.state(10), Some(TaskState::Wrapping));
    let out = r.ok(Event::Complete { task: id(10) });
    assert!(matches!(out[0], Decision::Completed { .. }));
    assert_eq!(r.state(10), None, "completed tasks leave the engine");
    let o = offers(&out);
    assert_eq!(
        (o[0].1, o[0].2),
        (id(11), id(1)),
        "the freed worker takes the next"
    );
    assert_eq!(r.e.counters().completed, 1);
}

#[test]
fn rejection_and_timeout_offer_the_task_again() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(1, tracer(&["en"]));
    r.worker(2, tracer(&["en"]));
    r.available(1);
    r.wait(1000);
    r.available(2);
    let o = offers(&r.task(10, json!({"type": "case_interview"})));
    assert_eq!(o[0].2, id(1), "longest idle first");
    let out = r.ok(Event::Reject {
        reservation: o[0].0,
    });
    assert!(out.iter().any(|d| matches!(d, Decision::Rejected { .. })));
    let o2 = offers(&out);
    assert_eq!(
        o2[0].2,
        id(2),
        "offered to the other worker, not back to who rejected"
    );
    // Worker 2 lets it time out and is moved to Missed; by then worker 1's
    // refusal no longer holds, so the task goes back to them.
    let out = r.wait(120_000);
    assert!(out.iter().any(|d| matches!(d, Decision::TimedOut { .. })));
    assert!(out.contains(&Decision::ActivityChanged {
        worker: id(2),
        activity: "Missed".into()
    }));
    let o3 = offers(&out);
    assert_eq!((o3.len(), o3[0].2), (1, id(1)));
    // Accepting the timed-out offer is refused, and changes nothing.
    let before = r.e.snapshot();
    let e = r
        .at(
            0,
            Event::Accept {
                reservation: o2[0].0,
            },
        )
        .unwrap_err();
    assert_eq!(
        e,
        RouteError::Illegal {
            action: "accept",
            what: "reservation",
            state: "timeout"
        }
    );
    assert_eq!(r.e.snapshot(), before);
    // Worker 1 turns it down again and goes on a break: no one is left on
    // the first target; after its hour, and the interpreter line's hour,
    // it reaches the supervisors.
    r.ok(Event::Reject {
        reservation: o3[0].0,
    });
    assert_eq!(r.state(10), Some(TaskState::Pending));
    r.ok(Event::SetActivity {
        worker: id(1),
        activity: "Break".into(),
        reject_pending: true,
    });
    r.worker(3, json!({"role": "supervisor"}));
    r.available(3);
    let out = r.wait(2 * HOUR);
    let o = offers(&out);
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].2, id(3), "escalated to a supervisor");
    assert!(out.contains(&Decision::Queued {
        task: id(10),
        queue: "supervisors".into()
    }));
}

#[test]
fn multi_reservation_rescinds_the_others() {
    let mut ws = Workspace::public_health();
    ws.max_reservations = 3;
    let mut r = Run::new(ws);
    for n in 1..=3 {
        r.worker(n, tracer(&["en"]));
        r.available(n);
    }
    let o = offers(&r.task(10, json!({"type": "contact_notification"})));
    assert_eq!(o.len(), 3, "offered to three at once");
    let out = r.ok(Event::Accept {
        reservation: o[1].0,
    });
    let rescinded: Vec<_> = out
        .iter()
        .filter(|d| matches!(d, Decision::Rescinded { .. }))
        .collect();
    assert_eq!(rescinded.len(), 2);
    let e = r
        .at(
            0,
            Event::Accept {
                reservation: o[0].0,
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            RouteError::Illegal {
                state: "rescinded",
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn sla_aging_puts_the_older_contact_first() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(1, tracer(&["en"]));
    let now = r.now;
    // Named 10 minutes ago (due in 23 h 50 min), created first.
    r.task_on(
        10,
        json!({"type": "contact_notification"}),
        "voice",
        Some(now + 24 * HOUR - 600_000),
    );
    // Named 20 hours ago (due in 4 h), created later.
    r.task_on(
        11,
        json!({"type": "contact_notification"}),
        "voice",
        Some(now + 4 * HOUR),
    );
    let o = offers(&r.available(1));
    assert_eq!(o[0].1, id(11));
}

#[test]
fn priority_is_worth_its_step_of_due_time() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(
        1,
        json!({"skills": ["clinical", "case_investigation"], "languages": ["en"]}),
    );
    // A case interview due in 2 h against symptomatic follow-up (priority 10,
    // due in 4 h): 10 steps of an hour make the follow-up 6 h "earlier".
    r.task(10, json!({"type": "case_interview"}));
    r.task(11, json!({"type": "symptomatic_followup"}));
    let o = offers(&r.available(1));
    assert_eq!(o[0].1, id(11));
}

#[test]
fn language_match_then_interpreter_line() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(1, tracer(&["en"]));
    r.worker(2, json!({"skills": ["interpreter_line"]}));
    r.available(1);
    r.available(2);
    let out = r.task(10, json!({"type": "case_interview", "language": "ht"}));
    assert!(
        offers(&out).is_empty(),
        "no Haitian Creole speaker, so not the English-only tracer"
    );
    assert!(!r.e.could_take(id(1), id(10)));
    let o = offers(&r.wait(HOUR));
    assert_eq!(
        o[0].2,
        id(2),
        "after the target's hour, the interpreter line"
    );
    // A Spanish speaker is offered Spanish work at once.
    r.worker(3, tracer(&["es", "en"]));
    r.available(3);
    let o = offers(&r.task(11, json!({"type": "case_interview", "language": "es"})));
    assert_eq!(o[0].2, id(3));
}

#[test]
fn capacity_per_channel() {
    let mut r = Run::new(Workspace::public_health());
    r.ok(Event::AddWorker {
        id: id(1),
        attributes: tracer(&["en"]),
        capacity: vec![("sms".into(), 2)],
    });
    r.available(1);
    let a = offers(&r.task_on(10, json!({"type": "contact_notification"}), "sms", None));
    let b = offers(&r.task_on(11, json!({"type": "contact_notification"}), "sms", None));
    let c = offers(&r.task_on(12, json!({"type": "contact_notification"}), "sms", None));
    assert_eq!(
        (a.len(), b.len(), c.len()),
        (1, 1, 0),
        "two SMS conversations at once"
    );
    let v = offers(&r.task(13, json!({"type": "contact_notification"})));
    assert_eq!(v.len(), 1, "voice has its own capacity");
    r.ok(Event::Accept {
        reservation: a[0].0,
    });
    let out = r.ok(Event::Complete { task: id(10) });
    assert_eq!(offers(&out)[0].1, id(12));
}

#[test]
fn ttl_cancels_and_bad_input_changes_nothing() {
    let mut r = Run::new(Workspace::public_health());
    r.ok(Event::CreateTask {
        id: id(10),
        attributes: json!({"type": "callback_request"}),
        channel: "voice".into(),
        priority: None,
        due: None,
        ttl: Some(60),
        worker: None,
    });
    let out = r.wait(61_000);
    assert!(out.contains(&Decision::Canceled {
        task: id(10),
        reason: "ttl".into()
    }));
    r.worker(1, tracer(&["en"]));
    r.task(11, json!({"type": "case_interview"}));
    let before = r.e.snapshot();
    let bad = [
        (
            Event::Complete { task: id(11) },
            "cannot complete a task that is pending",
        ),
        (Event::Wrap { task: id(99) }, "unknown task"),
        (Event::Accept { reservation: 77 }, "unknown reservation 77"),
        (
            Event::SetActivity {
                worker: id(1),
                activity: "Lunch".into(),
                reject_pending: false,
            },
            "unknown activity `Lunch`",
        ),
        (
            Event::CreateTask {
                id: id(12),
                attributes: json!({}),
                channel: "fax".into(),
                priority: None,
                due: None,
                ttl: None,
                worker: None,
            },
            "unknown channel `fax`",
        ),
        (
            Event::CreateTask {
                id: id(11),
                attributes: json!({}),
                channel: "voice".into(),
                priority: None,
                due: None,
                ttl: None,
                worker: None,
            },
            "already exists",
        ),
        (
            Event::UpdateWorker {
                id: id(1),
                attributes: json!([1, 2]),
            },
            "attributes must be a JSON object",
        ),
    ];
    for (ev, msg) in bad {
        let e = r.at(0, ev).unwrap_err();
        assert!(e.to_string().contains(msg), "{e}");
        assert_eq!(r.e.snapshot(), before);
    }
    let e = r.e.apply(r.now - 1, Event::Tick).unwrap_err();
    assert!(matches!(e, RouteError::TimeWentBack { .. }));
}

#[test]
fn bad_workspaces_name_the_place() {
    let mut ws = Workspace::public_health();
    ws.queues[0].target_workers = "skills HAS".into();
    let e = Engine::new(&ws).err().unwrap();
    assert_eq!(e.place, "queue `case_investigation`");
    assert!(e.problem.contains("at position 11"), "{e}");
    let mut ws = Workspace::public_health();
    ws.workflow = Workflow {
        filters: vec![Filter {
            name: "x".into(),
            expression: "1 == 1".into(),
            targets: vec![Target {
                queue: "nowhere".into(),
                priority: None,
                timeout: None,
                expression: None,
                order_by: None,
                skip_if: None,
            }],
        }],
        default_queue: "everyone".into(),
    };
    let e = Engine::new(&ws).err().unwrap();
    assert_eq!(e.to_string(), "filter 1 `x`, target 1: unknown `nowhere`");
}

#[test]
fn order_by_and_skip_if() {
    let mut ws = Workspace::public_health();
    ws.workflow.filters.insert(
        0,
        Filter {
            name: "senior first".into(),
            expression: "type == 'case_interview'".into(),
            targets: vec![
                Target {
                    queue: "clinical".into(),
                    priority: None,
                    timeout: Some(600),
                    expression: None,
                    order_by: None,
                    skip_if: Some("workers.available == 0".into()),
                },
                Target {
                    queue: "case_investigation".into(),
                    priority: None,
                    timeout: None,
                    expression: None,
                    order_by: Some("level".into()),
                    skip_if: None,
                },
            ],
        },
    );
    let mut r = Run::new(ws);
    r.worker(1, json!({"skills": ["case_investigation"], "level": 1}));
    r.worker(2, json!({"skills": ["case_investigation"], "level": 3}));
    r.available(1);
    r.available(2);
    // No clinical worker available: the first target is skipped at once, and
    // the more senior of the two idle tracers gets it though idle for less time.
    let o = offers(&r.task(10, json!({"type": "case_interview"})));
    assert_eq!(o[0].2, id(2));
}

#[test]
fn staff_take_work_of_their_own_jurisdiction_only() {
    let mut r = Run::new(Workspace::public_health());
    let staff = |j: &str| {
        json!({"skills": ["case_investigation", "interpreter_line"], "languages": ["en"],
               "jurisdiction": j})
    };
    r.worker(1, staff("nj"));
    r.worker(2, staff("ny"));
    r.worker(
        3,
        json!({"skills": ["case_investigation"], "languages": ["en"]}),
    );
    for w in [1, 2, 3] {
        r.available(w);
        r.wait(1_000);
    }
    // The New Jersey tracer has waited longest, but the case is in Kings
    // County, New York: the state's tracer gets it. A worker with no
    // jurisdiction gets none.
    let kings = json!({"type": "case_interview", "language": "en",
                       "jurisdictions": ["ny-kings", "ny", "root"]});
    let o = offers(&r.task(10, kings.clone()));
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].2, id(2));
    assert!(!r.e.could_take(id(1), id(10)));
    assert!(!r.e.could_take(id(3), id(10)));
    // Escalation keeps to the jurisdiction too: the interpreter line and
    // supervisors of New Jersey never see it.
    let o = offers(&r.task(
        11,
        json!({"type": "case_interview", "language": "fr",
                                       "jurisdictions": ["ny-kings", "ny", "root"]}),
    ));
    assert!(o.is_empty());
    let o = offers(&r.wait(HOUR));
    assert!(
        o.is_empty(),
        "the interpreter line in New Jersey is not offered it: {o:?}"
    );
    // A task without jurisdictions (made through the API) is anyone's.
    let o = offers(&r.task(12, json!({"type": "case_interview", "language": "en"})));
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].2, id(1));
}

#[test]
fn assignment_by_hand_withdraws_offers_and_takes_room() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(1, tracer(&["en"]));
    r.worker(2, tracer(&["en"]));
    r.available(1);
    let o = offers(&r.task(10, json!({"type": "case_interview"})));
    assert_eq!((o[0].1, o[0].2), (id(10), id(1)));

    // Given to worker 2 by hand: 1's offer is withdrawn, and 1 (free
    // again) is offered the next task at once.
    r.task(11, json!({"type": "case_interview"}));
    let out = r.ok(Event::Assign {
        task: id(10),
        worker: id(2),
    });
    assert!(out.contains(&Decision::Rescinded {
        reservation: o[0].0,
        task: id(10),
        worker: id(1),
    }));
    assert!(out.contains(&Decision::Assigned {
        task: id(10),
        worker: id(2),
    }));
    assert_eq!(offers(&out)[0].1, id(11), "the freed worker takes the next");
    assert_eq!(r.state(10), Some(TaskState::Assigned));

    // Worker 2's one voice line is taken: coming to work, they are
    // offered nothing while the hand-given task is theirs.
    r.task(12, json!({"type": "case_interview"}));
    assert!(
        offers(&r.available(2)).is_empty(),
        "no room: nothing offered"
    );
    let room = |r: &Run, n| r.e.worker_room(id(n)).unwrap().1[0].clone();
    assert_eq!(room(&r, 2), ("voice".to_string(), 1, 1));

    // Given to worker 1, who already holds an offer: past their capacity,
    // which routing never does on its own. Worker 2 is released and takes
    // the waiting task.
    let out = r.ok(Event::Assign {
        task: id(10),
        worker: id(1),
    });
    assert!(out.contains(&Decision::Released {
        task: id(10),
        worker: id(2),
    }));
    let o = offers(&out);
    assert_eq!((o[0].1, o[0].2), (id(12), id(2)));
    assert_eq!(room(&r, 1), ("voice".to_string(), 2, 1));

    // Assigning again to its holder changes nothing but says so;
    // completing it frees the room.
    let before = r.e.snapshot();
    assert_eq!(
        r.ok(Event::Assign {
            task: id(10),
            worker: id(1),
        }),
        vec![Decision::Assigned {
            task: id(10),
            worker: id(1),
        }]
    );
    assert_eq!(r.e.snapshot(), before);
    r.ok(Event::Complete { task: id(10) });
    assert_eq!(room(&r, 1), ("voice".to_string(), 1, 1));

    // Bad input changes nothing.
    let before = r.e.snapshot();
    assert_eq!(
        r.at(
            0,
            Event::Assign {
                task: id(11),
                worker: id(9),
            }
        ),
        Err(RouteError::UnknownWorker(id(9)))
    );
    assert_eq!(
        r.at(
            0,
            Event::Assign {
                task: id(10),
                worker: id(1),
            }
        ),
        Err(RouteError::UnknownTask(id(10))),
        "a finished task is gone"
    );
    assert_eq!(r.e.snapshot(), before);

    // A task can be made already assigned: no offer, and it takes room.
    let out = r.ok(Event::CreateTask {
        id: id(13),
        attributes: json!({"type": "case_interview"}),
        channel: "voice".into(),
        priority: None,
        due: None,
        ttl: None,
        worker: Some(id(2)),
    });
    assert_eq!(
        out,
        vec![Decision::Assigned {
            task: id(13),
            worker: id(2),
        }]
    );
    assert_eq!(room(&r, 2), ("voice".to_string(), 2, 1));
    assert_eq!(r.e.counters().created, 4);
}

#[test]
fn carry_over_keeps_live_work_and_says_what_it_cannot() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(1, tracer(&["en"]));
    r.worker(2, tracer(&["en"]));
    r.ok(Event::SetActivity {
        worker: id(2),
        activity: "Break".into(),
        reject_pending: false,
    });
    r.available(1);
    let o = offers(&r.task(10, json!({"type": "case_interview"})));
    r.ok(Event::Accept {
        reservation: o[0].0,
    });
    r.ok(Event::Wrap { task: id(10) });
    r.ok(Event::CreateTask {
        id: id(11),
        attributes: json!({"type": "case_interview"}),
        channel: "voice".into(),
        priority: Some(3),
        due: None,
        ttl: Some(600),
        worker: None,
    });
    r.task_on(12, json!({"type": "case_interview"}), "sms", None);
    // Worker 1 has room on sms: task 12 is offered to them.
    assert_eq!(r.e.pending_offers(id(1)).len(), 1);
    let created = r.e.counters().created;

    // The change: no sms channel, "Break" is now "Pause".
    let mut changed = Workspace::public_health();
    changed.channels.retain(|c| c.name != "sms");
    for a in &mut changed.activities {
        if a.name == "Break" {
            a.name = "Pause".into();
        }
    }
    let (moved, out, report) = r.e.carry_over(&changed).unwrap();
    assert_eq!(
        (report.workers, report.tasks, report.kept_assigned),
        (2, 2, 1)
    );
    assert_eq!(
        (
            report.tasks_canceled,
            report.activities_reset,
            report.offers_withdrawn
        ),
        (1, 1, 1)
    );
    assert!(out.contains(&Decision::Canceled {
        task: id(12),
        reason: tracedesk_routing::engine::CANCELED_BY_CHANGE.into(),
    }));
    assert!(out.contains(&Decision::Rescinded {
        reservation: o[0].0 + 1,
        task: id(12),
        worker: id(1),
    }));
    assert!(out.contains(&Decision::ActivityChanged {
        worker: id(2),
        activity: "Offline".into(),
    }));
    assert!(
        !out.iter().any(|d| matches!(d, Decision::Queued { .. })),
        "a task waiting again was waiting before: {out:?}"
    );
    let v = moved.task_view(id(10)).unwrap();
    assert_eq!((v.state, v.worker), (TaskState::Wrapping, Some(id(1))));
    let v = moved.task_view(id(11)).unwrap();
    assert_eq!((v.state, v.priority), (TaskState::Pending, 3));
    assert_eq!(moved.counters().created, created, "totals go on");
    assert_eq!(
        (moved.counters().rescinded, moved.counters().canceled),
        (r.e.counters().rescinded + 1, r.e.counters().canceled + 1),
        "and count what the change withdrew"
    );
    // Worker 1 is still available, worker 2 starts Offline.
    assert_eq!(moved.worker_room(id(1)).map(|w| w.0), Some(true));
    assert_eq!(moved.workers_by_activity().get("Offline"), Some(&1));

    // The TTL still runs from when the task was made.
    r.e = moved;
    let out = r.wait(600_000);
    assert!(out.contains(&Decision::Canceled {
        task: id(11),
        reason: "ttl".into(),
    }));
}

#[test]
fn the_floor_counts_states_work_and_waiting_languages_in_one_pass() {
    let mut r = Run::new(Workspace::public_health());
    r.worker(1, tracer(&["en"]));
    r.task(10, json!({"type": "case_interview", "language": "en"}));
    r.task(11, json!({"type": "case_interview", "language": "es"}));
    r.task(12, json!({"type": "case_interview", "language": "es"}));
    r.task(13, json!({"type": "case_interview"}));
    let o = offers(&r.available(1));
    r.ok(Event::Accept {
        reservation: o[0].0,
    });
    // Read in two slices and merged: the same as one read.
    let slots = r.e.task_slots();
    let mut c = r.e.floor_counts("language", 0..2);
    c.merge(r.e.floor_counts("language", 2..slots));
    let whole = r.e.floor_counts("language", 0..slots);
    assert_eq!(
        (&c.states, &c.waiting_by, &c.queues),
        (&whole.states, &whole.waiting_by, &whole.queues)
    );
    assert_eq!(c.states.get("assigned"), Some(&1));
    assert_eq!(c.states.get("pending"), Some(&3));
    assert_eq!(c.working.len(), 1);
    assert_eq!((c.working[0].0, c.working[0].1), (o[0].1, Some(id(1))));
    let waiting: Vec<(String, usize)> = c.waiting_by.into_iter().collect();
    assert_eq!(
        waiting,
        vec![("".to_string(), 1), ("es".to_string(), 2)],
        "the accepted English task no longer waits"
    );
    let queued: usize = r.e.queue_stats().iter().map(|q| q.waiting).sum();
    assert_eq!(queued, 3, "the same waiting tasks as the queues count");
    let by_queue: usize = c.queues.values().map(|q| q.0).sum();
    assert_eq!(by_queue, 3);
    assert_eq!(r.e.queue_staff().len(), r.e.queue_stats().len());
    // The buckets' counts, which quick floor readings use, agree.
    let from_buckets = r.e.waiting_per_queue();
    let from_tasks: Vec<usize> = r.e.queue_stats().iter().map(|q| q.waiting).collect();
    assert_eq!(from_buckets, from_tasks);
}
