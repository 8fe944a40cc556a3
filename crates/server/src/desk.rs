//! The tracer desk in the browser: "my work" (the caller's open tasks) and
//! one task's page (the person, only what the task needs, and their
//! conversation, with a send form and a live segment count).
//!
//! These are pages, but they sit under the same guard as the JSON API:
//! each route has its row in `needs::TABLE` (a task page by the task's
//! rule: its holder, a supervisor over its jurisdiction), reads of
//! personal data are audited before the page leaves, and a send is audited
//! before it is queued. A browser without a session is sent to sign in;
//! a refusal is an HTML page (or, for htmx, a message in the page's alert
//! region), never the record.

use crate::AppState;
use crate::auth;
use crate::error::ApiError;
use crate::extract::{Act, Call};
use crate::guard::{self, Found, Touch};
use crate::messaging::sending_jurisdiction;
use crate::pages::{html, staff_chrome};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tracedesk_casework::PersonRef;
use tracedesk_casework::messaging::{MessageView, SendInput};
use tracedesk_domain::lifecycle::{AttemptChannel, AttemptOutcome, TaskStatus};
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{
    AttemptLine, AttemptsPart, Chrome, DeskPage, Link, NoticePage, SegmentsPart, TaskLine,
    TaskPage, TaskPerson, ThreadLine, ThreadPart,
};

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/desk", get(desk))
        .route("/desk/tasks/{id}", get(task_page))
        .route("/desk/tasks/{id}/messages", post(send_text))
        .route("/desk/segments", post(segments))
        .route("/desk/tasks/{id}/attempts", post(log_attempt))
        .route("/desk/tasks/{id}/call", post(call_person))
        .merge(crate::offers::routes(state.clone()))
        .merge(crate::phone::routes())
        .merge(crate::lists::routes())
        .merge(crate::interview::routes())
        .merge(crate::script::routes())
        .merge(crate::people::routes())
        .merge(crate::watch::routes())
        .merge(crate::linkage_pages::routes())
        .merge(crate::admin::routes())
        .merge(crate::admin_org::routes())
        .merge(crate::admin_status::routes())
        .merge(crate::floor::routes(state.clone()))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::audit_layer,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page_caller,
        ))
        .route_layer(axum::middleware::from_fn_with_state(state, html_errors))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// The API's caller check, for pages: no session goes to sign in, and
/// one not finished (second factor, password change) to home, which leads
/// on; rather than a JSON refusal.
async fn page_caller(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    match auth::caller(&s, req.headers(), req.method()).await {
        Ok(c) => {
            req.extensions_mut().insert(c);
            next.run(req).await
        }
        Err(r) if r.status() == StatusCode::UNAUTHORIZED => Redirect::to("/login").into_response(),
        Err(r) => {
            let (status, body) = error_of(r).await;
            if body["error"]["code"] == "login_incomplete" {
                Redirect::to("/").into_response()
            } else {
                (status, axum::Json(body)).into_response()
            }
        }
    }
}

/// A JSON error answer's status and body.
async fn error_of(r: Response) -> (StatusCode, serde_json::Value) {
    let status = r.status();
    let body = axum::body::to_bytes(r.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    (status, serde_json::from_slice(&body).unwrap_or_default())
}

/// A refusal or failure as HTML: a page, or for an htmx request a line in
/// the page's alert region (`#flash`). The message is the API's, which
/// names fields and states, never values; a refusal says only that.
async fn html_errors(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let htmx = req.headers().contains_key("hx-request");
    // A person's page refused: the break-glass form (its own route checks
    // who may use it). Shown for any id, known or not, like the refusal.
    let glass = (req.method() == axum::http::Method::GET)
        .then(|| req.uri().path().strip_prefix("/desk/persons/"))
        .flatten()
        .and_then(|id| id.parse::<uuid::Uuid>().ok());
    let headers = req.headers().clone();
    let res = next.run(req).await;
    if res.status().is_success() || res.status().is_redirection() {
        return res;
    }
    if let (Some(person), StatusCode::FORBIDDEN) = (glass, res.status()) {
        let csrf = auth::load_session(&s, &headers)
            .await
            .ok()
            .flatten()
            .map(|(token, _, _)| tracedesk_identity::session::csrf_for(&token));
        let mut r = crate::people::prompt(person, csrf);
        *r.status_mut() = StatusCode::FORBIDDEN;
        return r;
    }
    let (status, v) = error_of(res).await;
    let (title, message) = match status {
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND if v["error"]["code"] != "csrf" => {
            ("refused-title", t().get("refused"))
        }
        _ => (
            "failed-title",
            v["error"]["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| status.to_string()),
        ),
    };
    if htmx {
        let mut r = html(SegmentsPart { line: message });
        *r.status_mut() = status;
        let h = r.headers_mut();
        h.insert("hx-retarget", HeaderValue::from_static("#flash"));
        h.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
        return r;
    }
    let mut r = html(NoticePage {
        t: t(),
        chrome: Chrome::new(t(), title),
        message,
        alert: true,
        link: Some(Link::to("/desk", "desk-back")),
    });
    *r.status_mut() = status;
    r
}

/// `2026-12-01 14:00 UTC` and RFC 3339, for `<time>`.
fn when(at: DateTime<Utc>) -> (String, String) {
    (
        at.format("%Y-%m-%d %H:%M UTC").to_string(),
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// The most tasks "my work" lists; a tracer holds a handful at a time.
const MY_WORK: u32 = 200;

/// "My work": the tasks the caller holds (accepted or assigned, not merely
/// offered: offers are in the offers panel), soonest due first.
/// Ids, kinds and times only: no personal data, so no disclosure entry.
async fn desk(call: Call) -> Result<Response, ApiError> {
    let (s, caller) = (&call.s, &call.caller);
    let page =
        s.cw.cases()
            .tasks_of(caller.user.id, None, None, Some(MY_WORK))
            .await?;
    let mut open: Vec<_> = page
        .items
        .into_iter()
        .filter(|v| TaskStatus::parse(&v.status).is_some_and(|st| TaskStatus::ACTIVE.contains(&st)))
        .collect();
    open.sort_by_key(|v| (v.due_at, -v.priority));
    let tasks = open
        .iter()
        .map(|v| {
            let (due, due_iso) = when(v.due_at);
            TaskLine {
                id: v.id.to_string(),
                kind: t().of("task-kind", &v.kind),
                status: t().of("task-status", &v.status),
                priority: v.priority,
                about: t().get(if v.case_id.is_some() {
                    "desk-about-case"
                } else if v.exposure_id.is_some() {
                    "desk-about-contact"
                } else {
                    "desk-about-person"
                }),
                due,
                due_iso,
            }
        })
        .collect();
    let routing = crate::offers::panel(s, caller.user.id).await;
    Ok(html(DeskPage {
        t: t(),
        routing,
        chrome: staff_chrome(&call, "desk-title", "/desk"),
        tasks,
    }))
}

/// A task's person, entitled by their own rule (the task's holder is), and
/// the disclosure entry for showing them.
async fn person_of_task(
    call: &Call,
) -> Result<
    (
        tracedesk_store::TaskRow,
        PersonRef,
        Option<Vec<String>>,
        Touch,
    ),
    ApiError,
> {
    let Found::Task(task) = &call.record()?.found else {
        return Err(ApiError::internal(&"not a task"));
    };
    let shown = task.shown_person_id.unwrap_or(task.person_id);
    let person = guard::entitle(
        &call.s,
        &call.caller,
        crate::needs::Record::Person,
        &shown.to_string(),
        call.route,
    )
    .await?;
    let Found::Person(found, js) = person.found else {
        return Err(ApiError::internal(&"not a person"));
    };
    Ok((
        task.clone(),
        found,
        js,
        ("person", person.id, person.person),
    ))
}

fn thread_lines(items: Vec<MessageView>) -> Vec<ThreadLine> {
    // Oldest first, as a conversation reads.
    items
        .into_iter()
        .rev()
        .map(|m| {
            let (at, at_iso) = when(m.created_at);
            let inbound = m.direction == "in";
            ThreadLine {
                direction: if inbound { "in" } else { "out" },
                inbound,
                status: t().of("message-status", &m.status),
                body: m.body,
                at,
                at_iso,
            }
        })
        .collect()
}

/// The last messages of a thread a page shows.
const THREAD: u32 = 50;

async fn thread_of(
    call: &Call,
    found: &PersonRef,
    js: Option<&[String]>,
) -> Result<Vec<ThreadLine>, ApiError> {
    let page = call
        .s
        .cw
        .messages()
        .thread(found, js, None, Some(THREAD))
        .await?;
    Ok(thread_lines(page.items))
}

pub(crate) fn segment_line(body: &str) -> String {
    let seg = tracedesk_comms::segments::count(body);
    let encoding = match seg.encoding {
        tracedesk_comms::Encoding::Gsm7 => "GSM-7",
        tracedesk_comms::Encoding::Ucs2 => "UCS-2",
    };
    let segments = i64::try_from(seg.segments).unwrap_or(i64::MAX);
    t().with_count(
        "segments",
        &[
            ("chars", &body.chars().count().to_string()),
            ("encoding", encoding),
        ],
        ("segments", segments),
    )
}

/// One task: what it is, its person (name, phone, language: what reaching
/// them needs) and their conversation, with a form to text them.
async fn task_page(call: Call) -> Result<Response, ApiError> {
    let (task, found, js, touch) = person_of_task(&call).await?;
    let view = call.s.cw.cases().view_of(&found)?;
    let messages = thread_of(&call, &found, js.as_deref()).await?;
    let attempts = attempt_lines(call.s.cw.cases().attempts(task.id).await?);
    let holding = task.assignee_id == Some(call.caller.user.id)
        && TaskStatus::parse(&task.status).is_some_and(|st| TaskStatus::HOLDING.contains(&st))
        && !call.record()?.flagged;
    let name = view.full_name();
    let (due, due_iso) = when(task.due_at);
    let page = TaskPage {
        t: t(),
        chrome: staff_chrome(&call, "task-title", "/desk"),
        id: task.id.to_string(),
        kind: t().of("task-kind", &task.kind),
        status: t().of("task-status", &task.status),
        due,
        due_iso,
        person: TaskPerson {
            name,
            phone: view.phone,
            language: view.language.unwrap_or_else(|| "en".into()),
        },
        messages,
        quick: vec!["contact_notification", "case_outreach"],
        segments: segment_line(""),
        interview: (task.kind == "case_interview" && task.case_id.is_some())
            .then(|| format!("/desk/tasks/{}/interview", task.id)),
        script: (task.kind == "contact_notification" && task.exposure_id.is_some())
            .then(|| format!("/desk/tasks/{}/script", task.id)),
        sandbox: call.s.sandbox.as_ref().map(|_| {
            format!(
                "/sandbox/persons/{}",
                task.shown_person_id.unwrap_or(task.person_id)
            )
        }),
        attempts,
        channels: AttemptChannel::ALL.iter().map(|c| c.as_str()).collect(),
        outcomes: AttemptOutcome::ALL
            .iter()
            .filter(|o| o.by_hand())
            .map(|o| o.as_str())
            .collect(),
        holding,
    };
    Ok(guard::with_touch(html(page), vec![touch]))
}

/// A text typed (or chosen) on a task's page.
#[derive(Deserialize)]
pub struct SendForm {
    #[serde(default)]
    template: String,
    #[serde(default)]
    body: String,
}

/// Texts the task's person (a quick reply in their language, or the typed
/// text, linted like every text) for this task, and answers the thread.
async fn send_text(Act(call, Form(f)): Act<Form<SendForm>>) -> Result<Response, ApiError> {
    let (task, found, js, touch) = person_of_task(&call).await?;
    let jurisdiction = sending_jurisdiction(&found, js.as_deref())?;
    let (template, body) = match (f.template.trim(), f.body.trim()) {
        ("", "") => {
            return Err(ApiError::invalid(
                "body",
                "choose a quick reply or type a message",
            ));
        }
        ("", body) => (None, Some(body.to_string())),
        (name, _) => (Some(name.to_string()), None),
    };
    let input = SendInput {
        channel: Some("sms".into()),
        template,
        body,
        task_id: Some(task.id),
        priority: None,
    };
    call.s
        .cw
        .messages()
        .by(call.caller.user.id)
        .send(&found, &jurisdiction, &input)
        .await?;
    let messages = thread_of(&call, &found, js.as_deref()).await?;
    Ok(guard::with_touch(
        html(ThreadPart { t: t(), messages }),
        vec![touch],
    ))
}

/// A message being typed.
#[derive(Deserialize)]
struct Draft {
    #[serde(default)]
    body: String,
}

/// The live segment count of a message being typed (posted, so the text
/// is never in a URL; nothing is kept).
async fn segments(_: Call, Form(d): Form<Draft>) -> Response {
    html(SegmentsPart {
        line: segment_line(&d.body),
    })
}

/// A task's attempts as the page shows them, oldest first.
fn attempt_lines(items: Vec<tracedesk_casework::AttemptView>) -> Vec<AttemptLine> {
    items
        .into_iter()
        .map(|a| {
            let (at, at_iso) = when(a.at);
            AttemptLine {
                channel: t().of("attempt-channel", &a.channel),
                outcome: t().of("attempt-outcome", &a.outcome),
                at,
                at_iso,
                callback: a.callback_at.map(|c| when(c).0),
                note: a.note,
            }
        })
        .collect()
}

/// An attempt (or a wrap-up's disposition) as the browser posts it; the
/// call-back time is a `datetime-local` value, read as UTC.
#[derive(Deserialize)]
pub struct AttemptForm {
    #[serde(default)]
    channel: String,
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    callback_at: String,
    #[serde(default)]
    note: String,
}

impl AttemptForm {
    fn input(&self) -> Result<tracedesk_casework::AttemptInput, ApiError> {
        let callback_at = match self.callback_at.trim() {
            "" => None,
            v => Some(
                chrono::NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
                    .map_err(|_| {
                        ApiError::invalid(
                            "callback_at",
                            "call back at: give a date and time (YYYY-MM-DDTHH:MM)",
                        )
                    })?
                    .and_utc(),
            ),
        };
        let text = |v: &str| (!v.trim().is_empty()).then(|| v.trim().to_string());
        Ok(tracedesk_casework::AttemptInput {
            channel: text(&self.channel),
            outcome: text(&self.outcome),
            at: None,
            callback_at,
            note: text(&self.note),
        })
    }
}

/// The holder may act on the task (call, log, wrap up); a supervisor or
/// break-glass reads it but does not work it.
fn must_hold(call: &Call) -> Result<tracedesk_store::TaskRow, ApiError> {
    let r = call.record()?;
    let task = guard::found!(r, Found::Task);
    let holding = task.assignee_id == Some(call.caller.user.id)
        && TaskStatus::parse(&task.status).is_some_and(|st| TaskStatus::HOLDING.contains(&st));
    if r.flagged || !holding {
        return Err(ApiError::forbidden());
    }
    Ok(task.clone())
}

/// Logs an outreach attempt on the task and answers the attempts.
async fn log_attempt(Act(call, Form(f)): Act<Form<AttemptForm>>) -> Result<Response, ApiError> {
    let task = must_hold(&call)?;
    let input = f.input()?;
    let cases = call.s.cw.cases().by(call.caller.user.id);
    cases.record_attempt(task.id, &input).await?;
    let attempts = attempt_lines(cases.attempts(task.id).await?);
    Ok(guard::with_touch(
        html(AttemptsPart { t: t(), attempts }),
        vec![("task", task.id, Some(task.person_id))],
    ))
}

/// The phone a tracer answers on, for click-to-call.
#[derive(Deserialize)]
pub struct CallForm {
    #[serde(default)]
    phone: String,
}

/// Click-to-call from the task's page: rings the tracer, then connects the
/// person (the API's `POST /api/v1/tasks/{id}/calls`).
async fn call_person(Act(call, Form(f)): Act<Form<CallForm>>) -> Result<Response, ApiError> {
    let task = must_hold(&call)?;
    let input = tracedesk_casework::voice::CallInput { phone: f.phone };
    crate::messaging::ring(&call, &task, &input).await?;
    Ok(guard::with_touch(
        html(SegmentsPart {
            line: t().get("call-queued"),
        }),
        vec![("task", task.id, Some(task.person_id))],
    ))
}

/// A case interview or contact notification wrapped up as reached moves
/// its record on: the case to isolating (the interview is done), the
/// contact to notified — what the floor's indicators count. A record
/// already past that step is left as it is.
async fn reached(call: &Call, task: &tracedesk_store::TaskRow) -> Result<(), ApiError> {
    use tracedesk_domain::{CaseStatus, ContactStatus};
    let cases = call.s.cw.cases().by(call.caller.user.id);
    match (task.kind.as_str(), task.case_id, task.exposure_id) {
        ("case_interview", Some(case), _) => {
            let row = cases.case_row(case).await?;
            if row.is_some_and(|r| {
                matches!(
                    CaseStatus::parse(&r.status),
                    Some(CaseStatus::New | CaseStatus::Interviewing)
                )
            }) {
                let patch = tracedesk_casework::CasePatch {
                    status: Some(CaseStatus::Isolating.as_str().into()),
                    ..Default::default()
                };
                cases.patch_case(case, &patch).await?;
            }
        }
        ("contact_notification", _, Some(exposure)) => {
            let row = cases.exposure_row(exposure).await?;
            if row.is_some_and(|r| {
                matches!(
                    ContactStatus::parse(&r.status),
                    Some(ContactStatus::Named | ContactStatus::Unreachable)
                )
            }) {
                let patch = tracedesk_casework::ContactPatch {
                    status: Some(ContactStatus::Notified.as_str().into()),
                    ..Default::default()
                };
                cases.patch_contact(exposure, &patch).await?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Wrap-up: the disposition is recorded as the task's last attempt, then
/// the task completes through routing (so the tracer is free for the next
/// offer) and the browser goes back to "my work".
pub(crate) async fn wrap_up(
    Act(call, Form(f)): Act<Form<AttemptForm>>,
) -> Result<Response, ApiError> {
    let task = must_hold(&call)?;
    let input = f.input()?;
    if input.outcome.is_none() {
        return Err(ApiError::invalid("outcome", "choose a disposition"));
    }
    let d = crate::routing::dispatch(&call.s)?;
    call.s
        .cw
        .cases()
        .by(call.caller.user.id)
        .record_attempt(task.id, &input)
        .await?;
    if input.outcome.as_deref() == Some(AttemptOutcome::Reached.as_str()) {
        reached(&call, &task).await?;
    }
    d.apply(tracedesk_routing::Event::Complete { task: task.id })
        .await?;
    let mut r = html(SegmentsPart {
        line: t().get("wrap-done"),
    });
    r.headers_mut()
        .insert("hx-redirect", HeaderValue::from_static("/desk"));
    Ok(guard::with_touch(
        r,
        vec![("task", task.id, Some(task.person_id))],
    ))
}
