//! The supervisor floor: the epidemic curve of the supervisor's
//! jurisdictions (cases by specimen date, 28 days; drawn once per page,
//! not every second), and live: queues (waiting tasks by priority, the longest
//! wait, available tracers), tracers by activity, and the work in progress
//! in the supervisor's jurisdictions with its age — live over Server-Sent
//! Events, re-rendered every second — and returning a task to the queue.
//! Ids, kinds, counts and staff names only: no person appears here.
//!
//! Under `needs::TABLE` (supervisors); a return is the same step as
//! `POST /api/v1/tasks/{id}/assign` with no user, audited before it acts.
//! On a node that does not lead routing the floor goes on to the leader.

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Act, Call, NoBody};
use crate::guard::{self, Found};
use crate::pages::{html, staff_chrome};
use crate::routing::dispatch;
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use std::collections::BTreeMap;
use std::sync::Arc;
use tracedesk_routing::engine::Counters;
use tracedesk_ui::chains::chains_of;
use tracedesk_ui::pages::{
    Curve, Floor, FloorLive, FloorPage, FloorTaskPage, QueueLine, SegmentsPart, TracerLine,
    WorkLine,
};
use tracedesk_ui::{Catalog, Template};
use uuid::Uuid;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/floor", get(page))
        .route("/floor/stream", get(stream))
        .route("/floor/tasks/{id}/return", post(return_task))
        .route("/floor/tasks/{id}", get(task_page))
        .route("/floor/tasks/{id}/assign", post(assign_task))
        .route("/floor/tasks/{id}/transfer", post(transfer_task))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::routing::forward,
        ))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// `3:07` (minutes and seconds) or `2 h 05 min`.
fn span(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, s % 3600 / 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

fn percent(c: &Counters) -> String {
    if c.accepted == 0 {
        "–".into()
    } else {
        format!("{:.0} %", c.sla_met as f64 * 100.0 / c.accepted as f64)
    }
}

/// A task being worked: id, kind, worker, state, age, jurisdiction.
type Working = (
    Uuid,
    String,
    Option<Uuid>,
    &'static str,
    i64,
    Option<String>,
);

/// What the routing engine says about the whole floor, read in one pass
/// at most once a second and shared by every floor page and stream on this
/// node: a read walks every live task while holding the engine, so one per
/// second (not one per open floor per second) keeps offers and accepts from
/// waiting behind supervisors' screens.
#[derive(Clone)]
pub struct EngineFloor {
    /// Waiting tasks per queue as the buckets counted them when this was
    /// read: the base the quick readings between full ones adjust from.
    bucketed: Vec<usize>,
    states: BTreeMap<&'static str, usize>,
    queues: Vec<tracedesk_routing::model::QueueStats>,
    activities: BTreeMap<String, usize>,
    window: Counters,
    working: Vec<Working>,
    /// Workers: id, activity, jurisdiction.
    workers: Vec<(Uuid, String, Option<String>)>,
    languages: BTreeMap<String, usize>,
}

/// How often the engine is read while someone watches a floor (and how
/// soon after the last reading a routing decision may prompt the next),
/// and how long after the last look the reading stops.
const FLOOR_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
const FLOOR_SOONEST: std::time::Duration = std::time::Duration::from_millis(250);
/// Task slots read per hold of the engine.
const FLOOR_SLICE: usize = 16_384;
const FLOOR_IDLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Notes that someone is looking at a floor, starting the reader if it is
/// not running: one background task per node reads the engine every
/// [`FLOOR_EVERY`] and publishes the reading to every floor page and
/// stream, until [`FLOOR_IDLE`] passes without a look. No request ever
/// waits for a read of the engine, except the very first.
fn watch_floor(s: &AppState) {
    let Ok(mut w) = s.floor.watching.lock() else {
        return;
    };
    w.1 = std::time::Instant::now();
    if w.0 {
        return;
    }
    w.0 = true;
    let s = s.clone();
    tokio::spawn(async move {
        let Ok(d) = dispatch(&s) else {
            if let Ok(mut w) = s.floor.watching.lock() {
                w.0 = false;
            }
            return;
        };
        let mut decisions = d.subscribe_after(None).live;
        // A full reading walks every task, which takes more than a second
        // at a few million: it runs on its own while quick readings (the
        // queues' waiting counts, from their buckets) follow each routing
        // decision, so a new task reaches open floors in well under a
        // second whatever the number of tasks.
        let mut full: Option<tokio::task::JoinHandle<Result<Arc<EngineFloor>, ApiError>>> = None;
        let mut last_full: Option<std::time::Instant> = None;
        loop {
            if let Some(h) = full.take_if(|h| h.is_finished()) {
                match h.await {
                    Ok(Ok(f)) => {
                        s.floor.engine.send_replace(Some(f));
                    }
                    _ => break,
                }
            }
            let due = last_full.is_none_or(|t| t.elapsed() >= FLOOR_EVERY);
            if full.is_none() && due {
                let s2 = s.clone();
                last_full = Some(std::time::Instant::now());
                full = Some(tokio::spawn(async move { read_engine(&s2).await }));
            }
            let latest = s.floor.engine.borrow().clone();
            match latest {
                Some(last) => match quick_reading(&s, &last).await {
                    Ok(f) => {
                        s.floor.engine.send_replace(Some(Arc::new(f)));
                    }
                    Err(_) => break,
                },
                // The first reading: wait for the full one.
                None => {
                    if let Some(h) = full.take() {
                        match h.await {
                            Ok(Ok(f)) => {
                                s.floor.engine.send_replace(Some(f));
                            }
                            _ => break,
                        }
                    }
                }
            }
            // Read again when routing decides something (a task made,
            // offered, accepted…), but not more often than FLOOR_SOONEST,
            // and at least every FLOOR_EVERY (waits and ages move).
            tokio::time::sleep(FLOOR_SOONEST).await;
            let _ = tokio::time::timeout(FLOOR_EVERY - FLOOR_SOONEST, async {
                loop {
                    match decisions.recv().await {
                        Ok(_) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            std::future::pending::<()>().await
                        }
                    }
                }
            })
            .await;
            // Whatever else arrived meanwhile is covered by this reading.
            while decisions.try_recv().is_ok() {}
            let idle = s
                .floor
                .watching
                .lock()
                .map(|w| w.1.elapsed() > FLOOR_IDLE)
                .unwrap_or(true);
            if idle {
                break;
            }
        }
        if let Ok(mut w) = s.floor.watching.lock() {
            w.0 = false;
        }
    });
}

/// The latest reading of the engine (waiting for the first one).
async fn engine_floor(s: &AppState) -> Result<Arc<EngineFloor>, ApiError> {
    dispatch(s)?;
    watch_floor(s);
    let mut rx = s.floor.engine.subscribe();
    let first = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        rx.wait_for(Option::is_some),
    )
    .await;
    match first {
        Ok(Ok(f)) => f
            .clone()
            .ok_or_else(|| ApiError::internal(&"no floor reading")),
        _ => Err(ApiError::internal(
            &"the routing engine was not read in time",
        )),
    }
}

/// `last` with its waiting counts brought up to date from the queues'
/// buckets (one short hold of the engine, no task read).
async fn quick_reading(s: &AppState, last: &EngineFloor) -> Result<EngineFloor, ApiError> {
    let d = dispatch(s)?;
    let now = d.read(|e| e.waiting_per_queue()).await;
    let mut f = last.clone();
    let mut delta: i64 = 0;
    for (i, q) in f.queues.iter_mut().enumerate() {
        let old = last.bucketed.get(i).copied().unwrap_or(0) as i64;
        let new = now.get(i).copied().unwrap_or(0) as i64;
        q.waiting = (q.waiting as i64 + new - old).max(0) as usize;
        delta += new - old;
    }
    let pending = f.states.entry("pending").or_default();
    *pending = (*pending as i64 + delta).max(0) as usize;
    f.bucketed = now;
    Ok(f)
}

/// One pass over the engine: what every floor shows.
async fn read_engine(s: &AppState) -> Result<Arc<EngineFloor>, ApiError> {
    let d = dispatch(s)?;
    // The tasks a slice at a time, each its own short hold of the engine,
    // so offers and accepts never wait long behind a floor.
    let slots = d.read(|e| e.task_slots()).await;
    let mut counts = tracedesk_routing::model::FloorCounts::default();
    for start in (0..slots).step_by(FLOOR_SLICE) {
        let part = d
            .read(|e| e.floor_counts("language", start..start + FLOOR_SLICE))
            .await;
        counts.merge(part);
    }
    let reading = d
        .read(|e| {
            let now = e.now();
            let working = std::mem::take(&mut counts.working)
                .into_iter()
                .filter(|w| e.task_view(w.0).is_some())
                .map(|(id, worker, state, created)| {
                    let attrs = e.task_attributes(id).unwrap_or_default();
                    let text = |k: &str| attrs[k].as_str().map(str::to_string);
                    (
                        id,
                        text("type").unwrap_or_default(),
                        worker,
                        state.as_str(),
                        now - created,
                        text("jurisdiction"),
                    )
                })
                .collect();
            let workers = e
                .workers_where("jurisdiction", |_| true)
                .into_iter()
                .map(|(id, activity, _, _, j)| (id, activity.to_string(), j.map(str::to_string)))
                .collect();
            let queues = e
                .queue_staff()
                .into_iter()
                .enumerate()
                .map(|(i, (name, workers, available))| {
                    let (waiting, by_priority, longest) = u16::try_from(i)
                        .ok()
                        .and_then(|q| counts.queues.remove(&q))
                        .unwrap_or_default();
                    tracedesk_routing::model::QueueStats {
                        name,
                        waiting,
                        by_priority,
                        longest_wait_ms: longest,
                        workers,
                        available_workers: available,
                    }
                })
                .collect();
            EngineFloor {
                bucketed: e.waiting_per_queue(),
                states: std::mem::take(&mut counts.states),
                queues,
                activities: e.workers_by_activity(),
                window: e.counters_since(now - 3_600_000),
                working,
                workers,
                languages: std::mem::take(&mut counts.waiting_by),
            }
        })
        .await;
    Ok(Arc::new(reading))
}

/// The floor as it stands, for `caller`: the shared reading, with the work
/// in progress and the tracers of the caller's jurisdictions only.
pub(crate) async fn floor_of(s: &AppState, caller: &Caller) -> Result<Floor, ApiError> {
    let e = engine_floor(s).await?;
    let mine = |j: &Option<String>| guard::in_jurisdictions(caller, j.as_deref());
    let mut working: Vec<_> = e.working.iter().filter(|w| mine(&w.5)).collect();
    // Newest first, as many as a screen holds.
    working.sort_by_key(|w| std::cmp::Reverse(w.0));
    working.truncate(200);
    let tracers: Vec<&(Uuid, String, Option<String>)> =
        e.workers.iter().filter(|w| mine(&w.2)).collect();
    let mut ids: Vec<Uuid> = working.iter().filter_map(|w| w.2).collect();
    ids.extend(tracers.iter().map(|t| t.0));
    let names = names_of(s, ids).await;
    // Per tracer: the tasks they hold and the age of the oldest.
    let mut held: BTreeMap<Uuid, (u32, i64)> = BTreeMap::new();
    for w in &working {
        if let Some(id) = w.2 {
            let h = held.entry(id).or_default();
            h.0 += 1;
            h.1 = h.1.max(w.4);
        }
    }
    let mut tracer_lines: Vec<TracerLine> = tracers
        .iter()
        .map(|(id, activity, _)| {
            let (holding, oldest) = held.get(id).copied().unwrap_or_default();
            TracerLine {
                name: names.get(id).cloned().unwrap_or_default(),
                activity: activity.clone(),
                holding,
                oldest: if holding == 0 {
                    "–".into()
                } else {
                    span(oldest)
                },
            }
        })
        .collect();
    tracer_lines.sort_by(|a, b| a.name.cmp(&b.name));
    let count = |k: &str| e.states.get(k).copied().unwrap_or(0);
    let window = &e.window;
    let accepted = window.accepted.max(1) as i64;
    Ok(Floor {
        tiles: vec![
            (t().get("tile-waiting"), count("pending").to_string()),
            (t().get("tile-offered"), count("reserved").to_string()),
            (
                t().get("tile-working"),
                (count("assigned") + count("wrapping")).to_string(),
            ),
            (t().get("tile-created"), window.created.to_string()),
            (t().get("tile-completed"), window.completed.to_string()),
            (t().get("tile-sla"), percent(window)),
            (t().get("tile-wait"), span(window.wait_ms / accepted)),
        ],
        queues: e
            .queues
            .iter()
            .map(|q| QueueLine {
                by_priority: q
                    .by_priority
                    .iter()
                    .rev()
                    .map(|(p, n)| format!("{p}: {n}"))
                    .collect::<Vec<_>>()
                    .join(" · "),
                longest: span(q.longest_wait_ms),
                available: format!("{} / {}", q.available_workers, q.workers),
                waiting: q.waiting,
                name: q.name.clone(),
            })
            .collect(),
        activities: e.activities.iter().map(|(a, n)| (a.clone(), *n)).collect(),
        working: working
            .into_iter()
            .map(|(id, kind, worker, state, age, _)| WorkLine {
                id: id.to_string(),
                kind: t().of("task-kind", kind),
                tracer: worker
                    .and_then(|w| names.get(&w).cloned())
                    .unwrap_or_default(),
                state: t().of("task-status", state),
                age: span(*age),
            })
            .collect(),
        languages: e
            .languages
            .iter()
            .map(|(l, n)| {
                (
                    if l.is_empty() {
                        "–".into()
                    } else {
                        l.clone()
                    },
                    *n,
                )
            })
            .collect(),
        tracers: tracer_lines,
        at: Utc::now().format("%H:%M:%S UTC").to_string(),
    })
}

/// How long a staff member's display name is kept (names rarely change;
/// the floor asks for them every second).
const NAME_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl Default for FloorCache {
    fn default() -> Self {
        Self {
            engine: tokio::sync::watch::Sender::new(None),
            watching: std::sync::Mutex::new((false, std::time::Instant::now())),
            names: Default::default(),
            summaries: Default::default(),
        }
    }
}

/// Display names of staff `ids`, from a short-lived cache, read from the
/// store when missing or stale.
async fn names_of(s: &AppState, ids: Vec<Uuid>) -> BTreeMap<Uuid, String> {
    let cache = &s.floor.names;
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    if let Ok(c) = cache.lock() {
        for id in ids {
            match c.get(&id) {
                Some((name, at)) if at.elapsed() < NAME_TTL => {
                    out.insert(id, name.clone());
                }
                _ => missing.push(id),
            }
        }
    }
    for id in missing {
        if out.contains_key(&id) {
            continue;
        }
        let Ok(Some(u)) = s.cw.staff().user(id).await else {
            continue;
        };
        let name =
            s.cw.staff()
                .user_view(&u)
                .map(|v| v.display_name)
                .unwrap_or_default();
        if let Ok(mut c) = cache.lock() {
            c.insert(id, (name.clone(), std::time::Instant::now()));
        }
        out.insert(id, name);
    }
    out
}

/// How long the indicators' counts are kept for a set of jurisdictions:
/// they are daily figures, and reading them walks the day's records.
const INDICATOR_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// What the floor page reads once a minute per set of jurisdictions: the
/// indicators' counts (today, the last 7 days), the transmission links of
/// the last 28 days, and the newest clusters.
#[derive(Clone)]
struct Summary {
    today: tracedesk_store::IndicatorCounts,
    week: tracedesk_store::IndicatorCounts,
    links: Vec<(Uuid, Uuid)>,
    clusters: Vec<tracedesk_casework::clusters::ClusterView>,
    /// The epidemic curve: (day, cases), oldest first.
    curve: Vec<(chrono::NaiveDate, u64)>,
}
type Kept<K, V> = std::sync::Mutex<std::collections::HashMap<K, (V, std::time::Instant)>>;

/// Staff display names (asked for every second by each open floor) and the
/// indicators' counts per set of jurisdictions, each kept a short while.
pub struct FloorCache {
    /// The engine's latest reading, published by the floor's reader.
    engine: tokio::sync::watch::Sender<Option<Arc<EngineFloor>>>,
    /// Whether the reader runs, and when a floor was last looked at.
    watching: std::sync::Mutex<(bool, std::time::Instant)>,
    names: Kept<Uuid, String>,
    summaries: Kept<Vec<String>, Summary>,
}

/// `part of whole (n %)`, or a dash when there is nothing to count.
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".into();
    }
    let percent = format!("{:.0} %", part as f64 * 100.0 / whole as f64);
    t().with(
        "indicator-share",
        &[
            ("part", &part.to_string()),
            ("whole", &whole.to_string()),
            ("percent", &percent),
        ],
    )
}

/// The most transmission links and clusters the floor reads.
const MOST_LINKS: u32 = 2_000;
const MOST_CLUSTERS: usize = 10;
/// The largest chains drawn.
const CHAINS_DRAWN: usize = 6;

/// The floor's summary for `scope`: read once, then served as kept while
/// a fresh one is read in the background once it is a minute old, so no
/// page after the first waits for it.
async fn summary_of(s: &AppState, scope: &[String]) -> Result<Summary, ApiError> {
    let key = scope.to_vec();
    let kept = s.floor.summaries.lock().ok().and_then(|mut c| {
        let (v, at) = c.get_mut(&key)?;
        if at.elapsed() >= INDICATOR_TTL {
            // Stamped now so one refresh starts, not one per request.
            *at = std::time::Instant::now();
            let (s, key) = (s.clone(), key.clone());
            tokio::spawn(async move {
                if let Ok(v) = read_summary(&s, &key).await
                    && let Ok(mut c) = s.floor.summaries.lock()
                {
                    c.insert(key, (v, std::time::Instant::now()));
                }
            });
        }
        Some(v.clone())
    });
    if let Some(v) = kept {
        return Ok(v);
    }
    let v = read_summary(s, scope).await?;
    if let Ok(mut c) = s.floor.summaries.lock() {
        c.insert(key, (v.clone(), std::time::Instant::now()));
    }
    Ok(v)
}

async fn read_summary(s: &AppState, scope: &[String]) -> Result<Summary, ApiError> {
    let cases = s.cw.cases();
    let (today, week) = cases.indicator_counts(scope).await?;
    let links = cases
        .transmission_links(scope, CURVE_DAYS, MOST_LINKS)
        .await?;
    let mut clusters = cases.list_clusters(scope).await?;
    clusters.truncate(MOST_CLUSTERS);
    let curve = cases.case_curve(scope, CURVE_DAYS).await?;
    Ok(Summary {
        today,
        week,
        links,
        clusters,
        curve,
    })
}

/// The CDC indicators, today and over the last 7 days.
fn indicators_of(sum: &Summary) -> Vec<(String, String, String)> {
    let (today, week) = (&sum.today, &sum.week);
    let per_case = |c: &tracedesk_store::IndicatorCounts| {
        if c.interviewed == 0 {
            "–".to_string()
        } else {
            format!("{:.1}", c.contacts as f64 / c.interviewed as f64)
        }
    };
    vec![
        (
            t().get("indicator-interviewed"),
            share(today.interviewed_on_time, today.cases),
            share(week.interviewed_on_time, week.cases),
        ),
        (
            t().get("indicator-notified"),
            share(today.notified_on_time, today.contacts),
            share(week.notified_on_time, week.contacts),
        ),
        (
            t().get("indicator-per-case"),
            per_case(today),
            per_case(week),
        ),
        (
            t().get("indicator-reporting"),
            share(today.reported_today, today.monitored),
            "–".into(),
        ),
    ]
}

/// Days the epidemic curve covers.
const CURVE_DAYS: u32 = 28;

async fn page(call: Call) -> Result<Response, ApiError> {
    let floor = floor_of(&call.s, &call.caller).await?;
    let sum = summary_of(&call.s, &call.caller.principal.scope).await?;
    let mut curve = Curve::of(sum.curve.iter().map(|(d, n)| (d.to_string(), *n)).collect());
    curve.desc = t().with_count(
        "curve-desc",
        &[("days", &CURVE_DAYS.to_string())],
        ("total", i64::try_from(curve.total).unwrap_or(i64::MAX)),
    );
    let mut chains = chains_of(&sum.links, |id| {
        let short = id.simple().to_string();
        t().with("chain-case", &[("id", &short[short.len() - 6..])])
    });
    let chains_desc = t().with_count(
        "chains-desc",
        &[("shown", &chains.len().min(CHAINS_DRAWN).to_string())],
        ("chains", i64::try_from(chains.len()).unwrap_or(i64::MAX)),
    );
    chains.truncate(CHAINS_DRAWN);
    let clusters = sum
        .clusters
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                t().of("setting", &c.setting),
                format!("{} – {}", c.starts, c.ends),
            )
        })
        .collect();
    Ok(html(FloorPage {
        t: t(),
        chrome: staff_chrome(&call, "floor-title", "/floor"),
        floor,
        curve,
        indicators: indicators_of(&sum),
        chains,
        chains_desc,
        clusters,
    }))
}

/// A `floor` event with the live part every second, until the server
/// stops or the browser leaves.
async fn stream(call: Call) -> Result<Response, ApiError> {
    let s = call.s.clone();
    let caller = call.caller.clone();
    let closing = dispatch(&s)?.closing();
    watch_floor(&s);
    let readings = s.floor.engine.subscribe();
    let keep = s.keep_alive;
    // An event for each new reading of the engine (about once a second),
    // so a change reaches the page within the reader's period.
    let events = futures_util::stream::unfold(
        (s, caller, closing, readings),
        |(s, caller, mut closing, mut readings)| async move {
            tokio::select! {
                r = readings.changed() => r.ok()?,
                _ = closing.changed() => return None,
            }
            if *closing.borrow() {
                return None;
            }
            watch_floor(&s);
            let floor = floor_of(&s, &caller).await.ok()?;
            let data = FloorLive { t: t(), floor }.render().ok()?;
            let event = SseEvent::default().event("floor").data(data);
            Some((
                Ok::<_, std::convert::Infallible>(event),
                (s, caller, closing, readings),
            ))
        },
    );
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(keep))
        .into_response())
}

/// Returns a task being worked to its queue (the holder loses the person;
/// routing offers it again).
async fn return_task(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let r = call.record()?;
    let task = guard::found!(r, Found::Task);
    if matches!(task.status.as_str(), "completed" | "canceled") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "illegal_transition",
            format!("the task is {}", task.status),
        ));
    }
    call.s.cw.cases().assign_task(r.id, None).await?;
    Ok(guard::with_touch(
        html(SegmentsPart {
            line: t().get("floor-returned"),
        }),
        vec![("task", r.id, r.person)],
    ))
}

/// One task, to reassign, return or transfer: its kind, state,
/// jurisdiction and holder, the routing workers of its jurisdiction (or one
/// enclosing it) it may go to, and, for a case's task, where the case may
/// be transferred. No personal data.
async fn task_page(call: Call) -> Result<Response, ApiError> {
    let r = call.record()?;
    let task = guard::found!(r, Found::Task).clone();
    let ancestry = call.s.cw.jurisdictions().ancestry(&task.jurisdiction);
    let mut workers: Vec<Uuid> = match crate::routing::dispatch(&call.s) {
        Ok(d) => {
            d.read(|e| {
                e.workers_where("jurisdiction", |j| {
                    j.is_some_and(|j| ancestry.iter().any(|a| a == j))
                })
                .into_iter()
                .map(|w| w.0)
                .collect()
            })
            .await
        }
        Err(_) => Vec::new(),
    };
    workers.extend(task.assignee_id);
    let names = names_of(&call.s, workers.clone()).await;
    let mut assignees: Vec<(String, String)> = names
        .iter()
        .filter(|(id, _)| Some(**id) != task.assignee_id)
        .map(|(id, n)| (id.to_string(), n.clone()))
        .collect();
    assignees.sort_by(|a, b| a.1.cmp(&b.1));
    let holder = task
        .assignee_id
        .and_then(|a| names.get(&a).cloned())
        .unwrap_or_else(|| "–".into());
    let transfer_to = task.case_id.map(|_| {
        call.s
            .cw
            .jurisdictions()
            .codes()
            .into_iter()
            .filter(|j| *j != task.jurisdiction)
            .collect()
    });
    Ok(html(FloorTaskPage {
        t: t(),
        chrome: staff_chrome(&call, "floor-task-title", "/floor"),
        id: task.id.to_string(),
        kind: t().of("task-kind", &task.kind),
        status: t().of("task-status", &task.status),
        jurisdiction: task.jurisdiction.clone(),
        holder,
        age: span((Utc::now() - task.created_at).num_milliseconds()),
        assignees,
        transfer_to,
    }))
}

#[derive(serde::Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    user_id: String,
}

/// Reassigns the task to another tracer: the same step and checks as
/// `POST /api/v1/tasks/{id}/assign` (an active tracer or supervisor of the
/// task's jurisdiction or one enclosing it, never a sibling's).
async fn assign_task(Act(call, Form(f)): Act<Form<AssignForm>>) -> Result<Response, ApiError> {
    let r = call.record()?;
    let task = guard::found!(r, Found::Task);
    let user: Uuid = f
        .user_id
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid("user_id", "choose a tracer"))?;
    crate::api::check_assignee(&call.s, task, user).await?;
    call.s.cw.cases().assign_task(r.id, Some(user)).await?;
    let name = names_of(&call.s, vec![user])
        .await
        .remove(&user)
        .unwrap_or_default();
    Ok(guard::with_touch(
        html(SegmentsPart {
            line: t().with("floor-reassigned", &[("name", &name)]),
        }),
        vec![("task", r.id, r.person)],
    ))
}

#[derive(serde::Deserialize)]
pub struct TransferForm {
    #[serde(default)]
    jurisdiction: String,
}

/// Transfers the task's case (with its contacts, results and unfinished
/// work) to another jurisdiction: `POST /api/v1/cases/{id}/transfer`.
async fn transfer_task(Act(call, Form(f)): Act<Form<TransferForm>>) -> Result<Response, ApiError> {
    let r = call.record()?;
    let task = guard::found!(r, Found::Task);
    let Some(case) = task.case_id else {
        return Err(ApiError::invalid(
            "jurisdiction",
            "only a task about a case can be transferred",
        ));
    };
    let moved = call
        .s
        .cw
        .cases()
        .transfer_case(case, f.jurisdiction.trim())
        .await?;
    Ok(guard::with_touch(
        html(SegmentsPart {
            line: t().with("floor-transferred", &[("to", &moved.to)]),
        }),
        vec![("task", r.id, r.person), ("case", case, r.person)],
    ))
}
