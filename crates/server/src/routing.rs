//! `/api/v1/routing/*`: workers, tasks and reservations of the routing
//! engine (docs/routing.md).
//!
//! Supervisors manage workers and tasks; integrations may create tasks; a
//! worker changes their own activity and answers their own offers. Error
//! messages carry ids and states only, never attributes.

use crate::AppState;
use crate::answers::{LiveTask, Routed};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Act, ApiJson, Call, NoBody};
use crate::guard::{self, Found};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tracedesk_casework::Page;
use tracedesk_casework::dispatch::{Dispatch, DispatchError};
use tracedesk_routing::{Decision, Event, RouteError};
use uuid::Uuid;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/routing/workers", post(add_worker))
        .route("/routing/workers/{id}", axum::routing::patch(update_worker))
        .route("/routing/workers/{id}/activity", post(set_activity))
        .route("/routing/workers/{id}/events", get(worker_events))
        .route("/routing/tasks", post(create_task).get(list_tasks))
        .route("/routing/tasks/{id}", axum::routing::patch(update_task))
        .route("/routing/tasks/{id}/cancel", post(cancel_task))
        .route("/routing/tasks/{id}/wrap", post(wrap_task))
        .route("/routing/tasks/{id}/complete", post(complete_task))
        .route("/routing/reservations/{id}/accept", post(accept_offer))
        .route("/routing/reservations/{id}/reject", post(reject_offer))
        .route("/routing/stats", get(stats))
        .route("/routing/stats/stream", get(stats_stream))
        .route_layer(axum::middleware::from_fn_with_state(state, forward))
}

/// Header that marks a request one node forwarded to another.
const FORWARDED: &str = "x-tracedesk-forwarded";

/// On a node that does not lead routing, routing requests go on to the
/// node that does (streams included); the caller sees one service.
pub(crate) async fn forward(State(s): State<AppState>, req: Request, next: Next) -> Response {
    if s.cw.dispatch().is_some() {
        return next.run(req).await;
    }
    match to_leader(&s, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

fn no_leader(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "routing_off",
        why.to_string(),
    )
}

async fn to_leader(s: &AppState, req: Request) -> Result<Response, ApiError> {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    if req.headers().contains_key(FORWARDED) {
        // The node this came from thought we lead; we do not (any more).
        return Err(no_leader(
            "no node leads task routing at this moment; retry shortly",
        ));
    }
    let leader =
        s.cw.routing_leader()
            .await
            .map_err(ApiError::internal_of)?
            .ok_or_else(|| no_leader("task routing is not running on any node"))?;
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "the request body is too large",
        )
    })?;
    // Inside the `/api/v1` nest the path arrives without its prefix.
    let path = parts.uri.path_and_query().map_or("", |p| p.as_str());
    let http = HTTP.get_or_init(reqwest::Client::new);
    let mut out = http
        .request(
            parts.method.clone(),
            format!("{}/api/v1{path}", leader.trim_end_matches('/')),
        )
        .header(FORWARDED, "1");
    for name in [
        "authorization",
        "cookie",
        "x-csrf-token",
        "content-type",
        "last-event-id",
        "accept",
    ] {
        if let Some(v) = parts.headers.get(name) {
            out = out.header(name, v.clone());
        }
    }
    let res =
        out.body(bytes).send().await.map_err(|_| {
            no_leader("the node that leads task routing did not answer; retry shortly")
        })?;
    let status = res.status();
    let content_type = res.headers().get(axum::http::header::CONTENT_TYPE).cloned();
    let mut answer = Response::new(axum::body::Body::from_stream(res.bytes_stream()));
    *answer.status_mut() = status;
    if let Some(c) = content_type {
        answer
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, c);
    }
    Ok(answer)
}

pub(crate) fn dispatch(s: &AppState) -> Result<Arc<Dispatch>, ApiError> {
    s.cw.dispatch().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "routing_off",
            "task routing is not running on this server",
        )
    })
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> Self {
        match e {
            DispatchError::Failed(c) => c.into(),
            DispatchError::Refused(r) => {
                let (status, code, field) = match &r {
                    RouteError::UnknownWorker(_) => (StatusCode::NOT_FOUND, "not_found", "worker"),
                    RouteError::UnknownTask(_) => (StatusCode::NOT_FOUND, "not_found", "task"),
                    RouteError::UnknownReservation(_) => {
                        (StatusCode::NOT_FOUND, "not_found", "reservation")
                    }
                    RouteError::Illegal { .. } => {
                        (StatusCode::CONFLICT, "illegal_transition", "status")
                    }
                    RouteError::Duplicate(_) => (StatusCode::CONFLICT, "duplicate", "id"),
                    RouteError::UnknownActivity(_) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_field",
                        "activity",
                    ),
                    RouteError::UnknownChannel(_) => {
                        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", "channel")
                    }
                    RouteError::BadAttributes(_) => (
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_field",
                        "attributes",
                    ),
                    RouteError::TimeWentBack { .. } => {
                        return ApiError::internal(&r);
                    }
                };
                ApiError::new(status, code, r.to_string()).with_field(field)
            }
        }
    }
}

/// The decisions a step led to.
fn answer(decisions: Vec<Decision>) -> Response {
    answer_made(StatusCode::OK, routed(decisions), vec![])
}

fn routed(decisions: Vec<Decision>) -> Routed {
    Routed {
        decisions,
        worker_id: None,
        task_id: None,
    }
}

/// [`answer`] for a step that made a record, named for its audit entry.
fn answer_made(status: StatusCode, body: Routed, made: Vec<guard::Touch>) -> Response {
    guard::reply(status, body, made)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WorkerInput {
    /// The staff user who works the tasks.
    user_id: Uuid,
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: serde_json::Value,
    /// Capacity per channel name; others get the channel's default.
    #[serde(default)]
    capacity: BTreeMap<String, u16>,
}

/// Makes a staff user a routing worker (supervisors): attributes such as
/// skills and languages, and capacity per channel.
#[utoipa::path(post, path = "/api/v1/routing/workers", tag = "routing", request_body = WorkerInput, responses((status = 201, description = "The worker, and any offers made", body = crate::answers::Routed)))]
async fn add_worker(
    Act(call, ApiJson(input)): Act<ApiJson<WorkerInput>>,
) -> Result<Response, ApiError> {
    let (s, caller, route) = (&call.s, &call.caller, call.route);
    let user = guard::scoped_worker(s, caller, input.user_id, route)
        .await
        .map_err(|e| e.with_field("user_id"))?;
    let out = dispatch(s)?
        .apply(Event::AddWorker {
            id: input.user_id,
            attributes: with_jurisdiction(input.attributes, &user.jurisdiction)?,
            capacity: input.capacity.into_iter().collect(),
        })
        .await?;
    let touched = vec![("worker", input.user_id, None)];
    let body = Routed {
        worker_id: Some(input.user_id),
        ..routed(out)
    };
    Ok(answer_made(StatusCode::CREATED, body, touched))
}

/// A worker's attributes with `jurisdiction` set to their staff
/// jurisdiction, whatever was sent: the default workspace offers staff only
/// work of their own jurisdiction, so it is not for the caller to say.
fn with_jurisdiction(
    attributes: serde_json::Value,
    jurisdiction: &str,
) -> Result<serde_json::Value, ApiError> {
    let mut map = object(attributes)?;
    map.insert("jurisdiction".into(), json!(jurisdiction));
    Ok(serde_json::Value::Object(map))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AttributesInput {
    #[schema(value_type = Object)]
    attributes: serde_json::Value,
}

/// Replaces a worker's attributes (supervisors).
#[utoipa::path(patch, path = "/api/v1/routing/workers/{id}", tag = "routing", params(("id" = Uuid, Path, description = "The worker's id")), request_body = AttributesInput, responses((status = 200, description = "Offers made as eligibility changed", body = crate::answers::Routed)))]
async fn update_worker(
    Act(call, ApiJson(input)): Act<ApiJson<AttributesInput>>,
) -> Result<Response, ApiError> {
    let r = call.record()?;
    let user = guard::found!(r, Found::Worker);
    let out = dispatch(&call.s)?
        .apply(Event::UpdateWorker {
            id: r.id,
            attributes: with_jurisdiction(input.attributes, &user.jurisdiction)?,
        })
        .await?;
    Ok(answer(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ActivityInput {
    activity: String,
    #[serde(default)]
    reject_pending: bool,
}

/// Changes a worker's activity (the worker, or a supervisor);
/// `reject_pending` turns down pending offers when leaving.
#[utoipa::path(post, path = "/api/v1/routing/workers/{id}/activity", tag = "routing", params(("id" = Uuid, Path, description = "The worker's id")), request_body = ActivityInput, responses((status = 200, description = "Offers made or withdrawn", body = crate::answers::Routed)))]
async fn set_activity(
    Act(call, ApiJson(input)): Act<ApiJson<ActivityInput>>,
) -> Result<Response, ApiError> {
    let out = dispatch(&call.s)?
        .apply(Event::SetActivity {
            worker: call.record()?.id,
            activity: input.activity,
            reject_pending: input.reject_pending,
        })
        .await?;
    Ok(answer(out))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct TaskInput {
    /// Refused: ids are the server's, new every time, so a finished task's
    /// id can never be brought back to reopen its case-work task.
    #[schema(value_type = Option<Object>)]
    id: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    attributes: serde_json::Value,
    channel: String,
    priority: Option<i32>,
    /// Default: the task type's due time from now.
    due: Option<DateTime<Utc>>,
    /// Seconds until the task is canceled if no one has taken it.
    ttl: Option<u64>,
}

/// Creates a routing task (supervisors, integrations): attributes, channel,
/// and an optional priority, due time and time to live.
#[utoipa::path(post, path = "/api/v1/routing/tasks", tag = "routing", request_body = TaskInput, responses((status = 201, description = "The task id and any offer made", body = crate::answers::Routed)))]
async fn create_task(
    Act(call, ApiJson(input)): Act<ApiJson<TaskInput>>,
) -> Result<Response, ApiError> {
    let (s, caller, route) = (&call.s, &call.caller, call.route);
    if input.id.is_some() {
        return Err(ApiError::invalid(
            "id",
            "id: task ids are chosen by the server and never reused; leave it out",
        ));
    }
    let attributes = task_jurisdiction(s, caller, input.attributes, route).await?;
    let id = Uuid::now_v7();
    let out = dispatch(s)?
        .apply(Event::CreateTask {
            id,
            attributes,
            channel: input.channel,
            priority: input.priority,
            due: input.due.map(|d| d.timestamp_millis()),
            ttl: input.ttl,
            worker: None,
        })
        .await?;
    let touched = vec![("task", id, None)];
    let body = Routed {
        task_id: Some(id),
        ..routed(out)
    };
    Ok(answer_made(StatusCode::CREATED, body, touched))
}

/// A new task's attributes with its jurisdiction set: the one asked for
/// if it is the caller's, else the caller's own; and those enclosing it,
/// which the default workspace matches workers against.
async fn task_jurisdiction(
    s: &AppState,
    caller: &Caller,
    attributes: serde_json::Value,
    route: &str,
) -> Result<serde_json::Value, ApiError> {
    let mut map = object(attributes)?;
    let j = match map.get("jurisdiction") {
        None | Some(serde_json::Value::Null) => caller.user.jurisdiction.clone(),
        Some(serde_json::Value::String(j)) if caller.principal.scope.contains(j) => j.clone(),
        Some(_) => {
            return Err(guard::deny(s, caller, "jurisdiction", None, None, route).await);
        }
    };
    map.insert(
        "jurisdictions".into(),
        json!(s.cw.jurisdictions().ancestry(&j)),
    );
    map.insert("jurisdiction".into(), json!(j));
    Ok(serde_json::Value::Object(map))
}

fn object(
    attributes: serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    match attributes {
        serde_json::Value::Object(m) => Ok(m),
        serde_json::Value::Null => Ok(serde_json::Map::new()),
        _ => Err(ApiError::invalid(
            "attributes",
            "attributes must be a JSON object",
        )),
    }
}

/// Attribute keys that say whose and where a task is: they are kept from
/// the task as it is whatever an update sends, or a supervisor could move
/// another jurisdiction's case to their own staff.
const FIXED_TASK_KEYS: [&str; 6] = [
    "jurisdiction",
    "jurisdictions",
    "person_id",
    "case_id",
    "exposure_id",
    "type",
];

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CancelInput {
    #[serde(default)]
    reason: Option<String>,
}

/// Cancels a task (supervisors), with an optional reason.
#[utoipa::path(post, path = "/api/v1/routing/tasks/{id}/cancel", tag = "routing", params(("id" = Uuid, Path, description = "The task's id")), request_body = CancelInput, responses((status = 200, description = "What followed", body = crate::answers::Routed)))]
async fn cancel_task(
    Act(call, ApiJson(input)): Act<ApiJson<CancelInput>>,
) -> Result<Response, ApiError> {
    let id = call.record()?.id;
    let reason = input.reason.unwrap_or_else(|| "canceled".into());
    let out = dispatch(&call.s)?
        .apply(Event::CancelTask { id, reason })
        .await?;
    Ok(answer(out))
}

/// New attributes for a task (routing it anew if it is still waiting).
#[utoipa::path(patch, path = "/api/v1/routing/tasks/{id}", tag = "routing", params(("id" = Uuid, Path, description = "The task's id")), request_body = AttributesInput, responses((status = 200, description = "Offers made as the task's route changed", body = crate::answers::Routed)))]
async fn update_task(
    Act(call, ApiJson(input)): Act<ApiJson<AttributesInput>>,
) -> Result<Response, ApiError> {
    let old = guard::found!(call.record()?, Found::LiveTask);
    let mut attributes = object(input.attributes)?;
    for key in FIXED_TASK_KEYS {
        match old.get(key) {
            Some(v) => attributes.insert(key.into(), v.clone()),
            None => attributes.remove(key),
        };
    }
    let event = Event::UpdateTask {
        id: call.record()?.id,
        attributes: serde_json::Value::Object(attributes),
    };
    let out = dispatch(&call.s)?.apply(event).await?;
    Ok(answer(out))
}

/// Start wrap-up (the assigned worker or a supervisor).
#[utoipa::path(post, path = "/api/v1/routing/tasks/{id}/wrap", tag = "routing", params(("id" = Uuid, Path, description = "The task's id")), responses((status = 200, description = "What followed", body = crate::answers::Routed)))]
async fn wrap_task(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    step(&call, |task| Event::Wrap { task }).await
}

/// Complete a task (the assigned worker or a supervisor); the freed
/// worker may be offered their next task at once.
#[utoipa::path(post, path = "/api/v1/routing/tasks/{id}/complete", tag = "routing", params(("id" = Uuid, Path, description = "The task's id")), responses((status = 200, description = "What followed: the freed worker's next offer", body = crate::answers::Routed)))]
async fn complete_task(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    step(&call, |task| Event::Complete { task }).await
}

/// Accept an offer (only the worker it was made to).
#[utoipa::path(post, path = "/api/v1/routing/reservations/{id}/accept", tag = "routing", params(("id" = u64, Path, description = "The reservation's number")), responses((status = 200, description = "The answer and what followed", body = crate::answers::Routed)))]
async fn accept_offer(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let reservation = *guard::found!(call.record()?, Found::Offer);
    step(&call, |_| Event::Accept { reservation }).await
}

/// Reject an offer (only the worker it was made to); the task is offered
/// to someone else.
#[utoipa::path(post, path = "/api/v1/routing/reservations/{id}/reject", tag = "routing", params(("id" = u64, Path, description = "The reservation's number")), responses((status = 200, description = "The answer and what followed", body = crate::answers::Routed)))]
async fn reject_offer(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let reservation = *guard::found!(call.record()?, Found::Offer);
    step(&call, |_| Event::Reject { reservation }).await
}

/// Applies the step `event` makes of the record the route names.
async fn step(call: &Call, event: impl FnOnce(Uuid) -> Event) -> Result<Response, ApiError> {
    let out = dispatch(&call.s)?.apply(event(call.record()?.id)).await?;
    Ok(answer(out))
}

/// Live tasks: state, queue, priority, due time, worker and offers. Ids
/// and routing facts only; attributes stay in the engine.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TaskListQuery {
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Live tasks in the caller's jurisdictions, highest id first, in keyset
/// pages (`next` back as `cursor`).
#[utoipa::path(get, path = "/api/v1/routing/tasks", tag = "routing", params(TaskListQuery),
    responses((status = 200, description = "A page of live tasks", body = Page<LiveTask>)))]
async fn list_tasks(
    Call { s, caller, .. }: Call,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<TaskListQuery>,
) -> Result<Response, ApiError> {
    let before = tracedesk_casework::parse_cursor(q.cursor.as_deref())?;
    let limit = tracedesk_casework::page_limit(q.limit)? as usize;
    let page = dispatch(&s)?
        .read(|e| {
            e.tasks_page(
                "jurisdiction",
                |j| guard::in_jurisdictions(&caller, j),
                before,
                limit,
            )
            .into_iter()
            .map(|t| LiveTask {
                id: t.id,
                state: t.state.as_str(),
                queue: t.queue.map(str::to_string),
                channel: t.channel.to_string(),
                priority: t.priority,
                due: DateTime::<Utc>::from_timestamp_millis(t.due),
                worker: t.worker,
                offered_to: t.offered_to,
            })
            .collect::<Vec<_>>()
        })
        .await;
    let next = (page.len() == limit)
        .then(|| page.last().map(|t| t.id.simple().to_string()))
        .flatten();
    Ok(Json(Page { items: page, next }).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StatsQuery {
    /// Seconds back for the windowed totals (default an hour, at most a day).
    #[param(minimum = 1, maximum = 86400)]
    window: Option<u32>,
}

/// Now: tasks by state, per queue (waiting by priority, longest wait,
/// workers and available workers), workers by activity; totals since the
/// log began and over a window.
#[utoipa::path(get, path = "/api/v1/routing/stats", tag = "routing", params(StatsQuery),
    responses((status = 200, description = "Statistics", body = Object)))]
async fn stats(
    Call { s, .. }: Call,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<StatsQuery>,
) -> Result<Response, ApiError> {
    let window = q.window.unwrap_or(3600);
    if window == 0 || window > 86_400 {
        return Err(ApiError::invalid(
            "window",
            "window is in seconds, from 1 to 86400",
        ));
    }
    let body = dispatch(&s)?.read(|e| stats_of(e, window)).await;
    Ok(Json(body).into_response())
}

fn totals(c: &tracedesk_routing::engine::Counters) -> serde_json::Value {
    let accepted = c.accepted.max(1) as f64;
    json!({
        "created": c.created,
        "offered": c.offered,
        "accepted": c.accepted,
        "rejected": c.rejected,
        "timed_out": c.timed_out,
        "canceled": c.canceled,
        "completed": c.completed,
        "average_accept_seconds": c.accept_ms as f64 / accepted / 1000.0,
        "average_wait_seconds": c.wait_ms as f64 / accepted / 1000.0,
        "sla_met_percent": if c.accepted == 0 { 100.0 } else { c.sla_met as f64 * 100.0 / c.accepted as f64 },
    })
}

fn stats_of(e: &tracedesk_routing::Engine, window: u32) -> serde_json::Value {
    let mut by_state: BTreeMap<&'static str, u64> = BTreeMap::new();
    for t in e.tasks() {
        *by_state.entry(t.state.as_str()).or_default() += 1;
    }
    let mut body = totals(e.counters());
    if let Some(b) = body.as_object_mut() {
        b.insert("tasks_by_state".into(), json!(by_state));
        b.insert("queues".into(), json!(e.queue_stats()));
        b.insert("workers_by_activity".into(), json!(e.workers_by_activity()));
        let since = e.now() - i64::from(window) * 1000;
        let mut w = totals(&e.counters_since(since));
        if let Some(o) = w.as_object_mut() {
            o.insert("seconds".into(), json!(window));
        }
        b.insert("window".into(), w);
    }
    body
}

/// Supervisors' live statistics: a `stats` event every second.
#[utoipa::path(get, path = "/api/v1/routing/stats/stream", tag = "routing",
    responses((status = 200, description = "text/event-stream: a `stats` event every second (the body of /routing/stats)", content_type = "text/event-stream", body = String)))]
async fn stats_stream(Call { s, .. }: Call) -> Result<Response, ApiError> {
    let d = dispatch(&s)?;
    let closing = d.closing();
    let every = tokio::time::interval(std::time::Duration::from_secs(1));
    let stream = futures_util::stream::unfold(
        (d, closing, every),
        |(d, mut closing, mut every)| async move {
            tokio::select! {
                _ = every.tick() => {}
                _ = closing.changed() => return None,
            }
            if *closing.borrow() {
                return None;
            }
            let body = d.read(|e| stats_of(e, 3600)).await;
            let event = SseEvent::default().event("stats").data(body.to_string());
            Some((
                Ok::<_, std::convert::Infallible>(event),
                (d, closing, every),
            ))
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(s.keep_alive))
        .into_response())
}

fn sse_event(n: u64, d: &Decision) -> SseEvent {
    SseEvent::default()
        .id(n.to_string())
        .event(d.kind())
        .data(serde_json::to_string(d).unwrap_or_default())
}

/// A worker's live stream: offers, rescinds, timeouts, activity changes.
/// Reconnecting with `Last-Event-ID` resends what was missed; when that is
/// no longer kept (or on a first connection) the stream starts with the
/// offers standing now, so no offer is ever lost (one may come twice:
/// clients key on the reservation id).
#[utoipa::path(get, path = "/api/v1/routing/workers/{id}/events", tag = "routing",
    params(("id" = Uuid, Path, description = "The worker's id"), ("Last-Event-ID" = Option<u64>, Header, description = "The last event received: what came after it is sent first")),
    responses((status = 200, description = "text/event-stream of the worker's offers, answers and activity", content_type = "text/event-stream", body = String)))]
async fn worker_events(call: Call, headers: HeaderMap) -> Result<Response, ApiError> {
    let (s, id) = (&call.s, call.record()?.id);
    let d = dispatch(s)?;
    if d.read(|e| e.worker_room(id).is_none()).await {
        return Err(ApiError::not_found("worker").with_field("worker"));
    }
    let after = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let sub = d.subscribe_after(after);
    let mut first: Vec<SseEvent> = Vec::new();
    if sub.complete {
        for (n, dec) in sub.backlog.iter().filter(|(_, x)| x.worker() == Some(id)) {
            first.push(sse_event(*n, dec));
        }
    } else {
        for (reservation, task, expires) in d.read(|e| e.pending_offers(id)).await {
            let offer = Decision::Offered {
                reservation,
                task,
                worker: id,
                expires,
            };
            first.push(sse_event(sub.last, &offer));
        }
    }
    let closing = d.closing();
    let live = futures_util::stream::unfold(
        (sub.live, closing),
        move |(mut rx, mut closing)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok((n, dec)) if dec.worker() == Some(id) => {
                            return Some((sse_event(n, &dec), (rx, closing)));
                        }
                        Ok(_) => continue,
                        // Fell behind, or the server stops: end the stream; the
                        // client reconnects with Last-Event-ID and loses nothing.
                        Err(_) => return None,
                    },
                    _ = closing.changed() => return None,
                }
            }
        },
    );
    let stream = futures_util::stream::iter(first)
        .chain(live)
        .map(Ok::<_, std::convert::Infallible>);
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(s.keep_alive))
        .into_response())
}
