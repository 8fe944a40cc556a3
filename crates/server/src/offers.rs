//! The tracer desk's routing controls: the worker's activity, and the
//! offers made to them, live over Server-Sent Events, with accept and
//! reject. An offer shows the kind of work, its language and priority and
//! how long it stays offered — never the person, who opens to the tracer
//! only once they accept (case work's rule).
//!
//! Each route has its row in `needs::TABLE`: the offer routes by the
//! offer's rule (only the worker it was made to), the activity and the
//! stream as the caller's own worker. On a node that does not lead routing
//! they go on to the one that does, like the routing API.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call, NoBody};
use crate::guard::{self, Found};
use crate::pages::html;
use crate::routing::dispatch;
use axum::http::HeaderValue;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use futures_util::StreamExt;
use serde::Deserialize;
use tracedesk_casework::dispatch::Dispatch;
use tracedesk_routing::Event;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{OfferLine, OffersPart, RoutingPanel, SegmentsPart};
use uuid::Uuid;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/desk/activity", post(set_activity))
        .route("/desk/offers/stream", get(stream))
        .route("/desk/offers/{id}/accept", post(accept))
        .route("/desk/offers/{id}/reject", post(reject))
        .route("/desk/tasks/{id}/wrap-up", post(crate::desk::wrap_up))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            crate::routing::forward,
        ))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// The worker's pending offers, soonest to expire first.
pub(crate) async fn offers_of(d: &Dispatch, worker: Uuid) -> Vec<OfferLine> {
    let mut offers = d
        .read(|e| {
            e.pending_offers(worker)
                .into_iter()
                .map(|(reservation, task, expires)| {
                    let attrs = e.task_attributes(task).unwrap_or_default();
                    let priority = e.task_view(task).map_or(0, |v| v.priority);
                    (reservation, attrs, priority, expires)
                })
                .collect::<Vec<_>>()
        })
        .await;
    offers.sort_by_key(|o| o.3);
    offers
        .into_iter()
        .map(|(reservation, attrs, priority, expires)| {
            let at = chrono::DateTime::from_timestamp_millis(expires).unwrap_or_default();
            OfferLine {
                reservation,
                kind: t().of("task-kind", attrs["type"].as_str().unwrap_or("")),
                language: attrs["language"].as_str().unwrap_or("en").to_string(),
                priority: i64::from(priority),
                expires: at.format("%H:%M:%S UTC").to_string(),
                expires_iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            }
        })
        .collect()
}

/// The worker's panel for "my work": `None` when routing is off here or
/// the caller is no routing worker.
pub(crate) async fn panel(s: &AppState, worker: Uuid) -> Option<RoutingPanel> {
    let d = s.cw.dispatch()?;
    let (current, names) = d
        .read(|e| {
            let names: Vec<String> = e
                .workspace()
                .activities
                .iter()
                .map(|a| a.name.clone())
                .collect();
            (e.worker_activity(worker).map(str::to_string), names)
        })
        .await;
    let current = current?;
    Some(RoutingPanel {
        activities: names
            .into_iter()
            .map(|n| {
                let now = n == current;
                (n, now)
            })
            .collect(),
        offers: offers_of(&d, worker).await,
    })
}

fn offers_html(offers: &[OfferLine]) -> Result<String, ApiError> {
    use tracedesk_ui::Template;
    OffersPart { t: t(), offers }
        .render()
        .map_err(|e| ApiError::internal(&e))
}

/// A chosen activity.
#[derive(Deserialize)]
pub struct ActivityForm {
    activity: String,
}

/// Sets the caller's own activity (leaving Available turns down nothing:
/// pending offers stay until answered or timed out).
async fn set_activity(Act(call, Form(f)): Act<Form<ActivityForm>>) -> Result<Response, ApiError> {
    let worker = call.caller.user.id;
    dispatch(&call.s)?
        .apply(Event::SetActivity {
            worker,
            activity: f.activity.clone(),
            reject_pending: false,
        })
        .await?;
    Ok(guard::with_touch(
        html(SegmentsPart {
            line: t().with("activity-now", &[("activity", &f.activity)]),
        }),
        vec![("worker", worker, None)],
    ))
}

/// Accepts an offer; the browser goes on to the task's page, where the
/// person now opens to the tracer.
async fn accept(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let reservation = *guard::found!(call.record()?, Found::Offer);
    let d = dispatch(&call.s)?;
    let task = d
        .read(|e| e.reservation(reservation).map(|r| r.0))
        .await
        .ok_or_else(|| ApiError::not_found("offer"))?;
    d.apply(Event::Accept { reservation }).await?;
    let mut r = guard::with_touch(().into_response(), vec![("task", task, None)]);
    if let Ok(to) = HeaderValue::from_str(&format!("/desk/tasks/{task}")) {
        r.headers_mut().insert("hx-redirect", to);
    }
    Ok(r)
}

/// Rejects an offer; the task is offered to someone else. Answers the
/// offers still pending.
async fn reject(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let reservation = *guard::found!(call.record()?, Found::Offer);
    let d = dispatch(&call.s)?;
    let task = d.read(|e| e.reservation(reservation).map(|r| r.0)).await;
    d.apply(Event::Reject { reservation }).await?;
    let offers = offers_of(&d, call.caller.user.id).await;
    Ok(guard::with_touch(
        html(OffersPart {
            t: t(),
            offers: &offers,
        }),
        task.map(|t| ("task", t, None)).into_iter().collect(),
    ))
}

/// The caller's offers, live: an `offers` event with the panel's HTML now
/// and after every routing decision about this worker (offered, rescinded,
/// timed out, accepted), until the server stops or the browser leaves.
async fn stream(call: Call) -> Result<Response, ApiError> {
    let s = call.s.clone();
    let worker = call.caller.user.id;
    let d = dispatch(&s)?;
    if d.read(|e| e.worker_room(worker).is_none()).await {
        return Err(ApiError::not_found("worker").with_field("worker"));
    }
    let sub = d.subscribe_after(None);
    let first = SseEvent::default()
        .event("offers")
        .data(offers_html(&offers_of(&d, worker).await)?);
    let closing = d.closing();
    let live = futures_util::stream::unfold(
        (sub.live, closing, d),
        move |(mut rx, mut closing, d)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                tokio::select! {
                    got = rx.recv() => match got {
                        Ok((_, dec)) if dec.worker() == Some(worker) => {
                            let offers = offers_of(&d, worker).await;
                            let data = offers_html(&offers).unwrap_or_default();
                            let ev = SseEvent::default().event("offers").data(data);
                            return Some((ev, (rx, closing, d)));
                        }
                        Ok(_) => continue,
                        // Fell behind or stopping: the browser reconnects and
                        // gets the panel whole.
                        Err(_) => return None,
                    },
                    _ = closing.changed() => return None,
                }
            }
        },
    );
    let events = futures_util::stream::once(async move { first })
        .chain(live)
        .map(Ok::<_, std::convert::Infallible>);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(s.keep_alive))
        .into_response())
}
