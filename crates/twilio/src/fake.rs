//! A local server that speaks Twilio's Messages and Calls protocol, for
//! tests: it accepts `POST …/Accounts/{sid}/Messages.json` and
//! `…/Calls.json` (form-encoded, Basic auth) and answers `GET` on each as
//! Twilio's lists do, keeps every message and call it accepted, and can be
//! told to fail first (429, 500, or accept and answer too late). Built only
//! with the `fake` feature.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One faulty answer the fake gives before accepting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with `Retry-After: 0`.
    TooMany,
    /// 500.
    Broken,
    /// Accepts the message, but answers after two seconds (after a client
    /// with a shorter timeout gave up).
    Slow,
}

/// What the fake saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Form fields of every message accepted, with the sid given it.
    pub accepted: Vec<(String, Vec<(String, String)>)>,
    /// Form fields of every call placed, with the sid given it.
    pub placed: Vec<(String, Vec<(String, String)>)>,
    /// Every create request, failed or not.
    pub calls: usize,
    /// Every look-up (`GET …/Messages.json`).
    pub lookups: usize,
    /// Faults still to give, first first.
    pub faults: Vec<Fault>,
    /// The Authorization header of every create request.
    pub auth: Vec<String>,
    /// The account every request must name.
    pub account_sid: String,
    /// How long each accepted message takes to answer (a provider's own
    /// latency; zero by default).
    pub delay: Duration,
    /// Accepted messages not yet answered (waiting out `delay`): sends a
    /// client has in flight.
    pub unanswered: usize,
}

impl Seen {
    /// How many accepted messages had this body.
    pub fn with_body(&self, body: &str) -> usize {
        self.accepted
            .iter()
            .filter(|(_, form)| form.iter().any(|(k, v)| k == "Body" && v == body))
            .count()
    }
}

pub type Shared = Arc<Mutex<Seen>>;

fn lock(f: &Shared) -> std::sync::MutexGuard<'_, Seen> {
    f.lock().unwrap_or_else(|p| p.into_inner())
}

async fn create(
    State(f): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    accept(f, account, headers, body, false).await
}

async fn create_call(
    State(f): State<Shared>,
    Path(account): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    accept(f, account, headers, body, true).await
}

async fn accept(
    f: Shared,
    account: String,
    headers: HeaderMap,
    body: axum::body::Bytes,
    call: bool,
) -> Response {
    let Ok(form) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let (fault, sid) = {
        let mut f = lock(&f);
        f.calls += 1;
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        f.auth.push(auth);
        if account.trim_end_matches(".json") != f.account_sid {
            return StatusCode::NOT_FOUND.into_response();
        }
        let fault = (!f.faults.is_empty()).then(|| f.faults.remove(0));
        match fault {
            Some(Fault::TooMany) => {
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "0")], "{}")
                    .into_response();
            }
            Some(Fault::Broken) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            _ => {}
        }
        let sid = if call {
            let sid = format!("CA{:032x}", f.placed.len() + 1);
            f.placed.push((sid.clone(), form));
            sid
        } else {
            let sid = format!("SM{:032x}", f.accepted.len() + 1);
            f.accepted.push((sid.clone(), form));
            sid
        };
        (fault, sid)
    };
    let delay = {
        let mut f = lock(&f);
        f.unanswered += 1;
        f.delay
    };
    if fault == Some(Fault::Slow) {
        tokio::time::sleep(Duration::from_secs(2)).await;
    } else if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    lock(&f).unanswered -= 1;
    (
        StatusCode::CREATED,
        axum::Json(json!({"sid": sid, "status": "queued"})),
    )
        .into_response()
}

async fn list(State(f): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut f = lock(&f);
    f.lookups += 1;
    let to = q.get("To").cloned().unwrap_or_default();
    let messages: Vec<Value> = f
        .accepted
        .iter()
        .filter(|(_, form)| form.iter().any(|(k, v)| k == "To" && *v == to))
        .map(|(sid, form)| {
            let body = form
                .iter()
                .find(|(k, _)| k == "Body")
                .map(|(_, v)| v.clone());
            json!({"sid": sid, "body": body})
        })
        .collect();
    axum::Json(json!({ "messages": messages })).into_response()
}

async fn list_calls(State(f): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut f = lock(&f);
    f.lookups += 1;
    let to = q.get("To").cloned().unwrap_or_default();
    let now = chrono::Utc::now().to_rfc2822();
    let calls: Vec<Value> = f
        .placed
        .iter()
        .filter(|(_, form)| form.iter().any(|(k, v)| k == "To" && *v == to))
        .map(|(sid, _)| json!({"sid": sid, "date_created": now}))
        .collect();
    axum::Json(json!({ "calls": calls })).into_response()
}

/// Starts the fake for `account_sid` on a free local port (on the current
/// Tokio runtime); its base URL and what it sees.
pub async fn start(account_sid: &str, faults: Vec<Fault>) -> std::io::Result<(String, Shared)> {
    let state: Shared = Arc::new(Mutex::new(Seen {
        faults,
        account_sid: account_sid.to_string(),
        ..Default::default()
    }));
    let app = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            axum::routing::post(create).get(list),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Calls.json",
            axum::routing::post(create_call).get(list_calls),
        )
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((base, state))
}
