//! Routes of messages to and from people: send to a person, read their
//! thread, and (with the sandbox carrier) the person's sandbox phone — what
//! reached it, and a reply from it. Entitlement and audit are the guard's,
//! from `needs::TABLE`: the person's rule, as for `GET /persons/{id}`.

use crate::AppState;
use crate::api::PageQuery;
use crate::error::ApiError;
use crate::extract::{Act, ApiJson, ApiQuery, Call};
use crate::guard::{Found, reply};
use axum::Router;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tracedesk_casework::PersonRef;
use tracedesk_casework::messaging::{InboundText, MessageView, SendInput};
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/persons/{id}/messages", get(thread).post(send))
        .route(
            "/sandbox/persons/{id}/phone",
            get(sandbox_phone).post(sandbox_reply),
        )
        .route(
            "/sandbox/persons/{id}/keypad",
            axum::routing::post(sandbox_keypad),
        )
        .route("/tasks/{id}/calls", axum::routing::post(click_to_call))
        .route("/messages/unmatched", get(unmatched))
        .route("/messages/{id}/attach", axum::routing::post(attach))
}

/// Which person a text from an unknown number is from.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachInput {
    /// The person's (or facet's) id.
    pub person_id: Uuid,
}

/// Triage: attaches a text from an unknown number (and every other text
/// from it) to the person it is from, in that record's jurisdiction, and
/// makes a `callback_request` task for them there; the sender's triage task
/// is withdrawn. Later texts from the number go to that person. For the
/// triage task's holder or a supervisor over the root.
#[utoipa::path(post, path = "/api/v1/messages/{id}/attach", tag = "messages", params(("id" = Uuid, Path, description = "The unmatched text's id")),
    request_body = AttachInput,
    responses(
        (status = 200, description = "Attached, with the task made", body = tracedesk_casework::messaging::TriageOutcome),
        (status = 403, description = "Neither holding the text's triage task nor supervising the root, or not a text awaiting triage", body = crate::error::ErrorBody),
        (status = 409, description = "Attached meanwhile", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn attach(
    Act(call, ApiJson(input)): Act<ApiJson<AttachInput>>,
) -> Result<Response, ApiError> {
    let message = call.record()?.id;
    // The person by their own rule, as if the route named them: a match
    // never widens what the caller may see.
    let person = crate::guard::entitle(
        &call.s,
        &call.caller,
        crate::needs::Record::Person,
        &input.person_id.to_string(),
        call.route,
    )
    .await?;
    let Found::Person(found, Some(_)) = &person.found else {
        // Break-glass opens a record to read, not to file texts on.
        return Err(ApiError::forbidden());
    };
    let outcome = call
        .s
        .cw
        .messages()
        .by(call.caller.user.id)
        .attach(message, found)
        .await?;
    let touch = vec![
        ("message", message, person.person),
        ("task", outcome.task_id, person.person),
    ];
    Ok(reply(StatusCode::OK, outcome, touch))
}

/// Texts awaiting triage (the texts of open triage tasks, and any matched
/// to no person), newest first. They belong to no jurisdiction yet, so only
/// a supervisor over the whole tree (the root) may list them.
#[utoipa::path(get, path = "/api/v1/messages/unmatched", tag = "messages", params(PageQuery),
    responses(
        (status = 200, description = "A page of texts awaiting triage", body = tracedesk_casework::Page<tracedesk_casework::messaging::MessageView>),
        (status = 403, description = "Not a supervisor over the root jurisdiction", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn unmatched(
    Call { s, .. }: Call,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.messages()
            .unmatched(q.cursor.as_deref(), q.limit)
            .await?;
    Ok(crate::guard::reply_page(page, |m| ("message", m.id, None)))
}

/// The person a route's `{id}` names, as the guard entitled the caller.
struct Addressed<'a> {
    found: &'a PersonRef,
    /// The jurisdictions whose messages the caller may see (`None`: all,
    /// under break-glass).
    shown: Option<&'a [String]>,
    /// The audit entry.
    touch: Vec<crate::guard::Touch>,
}

fn person_of(call: &Call) -> Result<Addressed<'_>, ApiError> {
    let r = call.record()?;
    let Found::Person(found, shown) = &r.found else {
        return Err(ApiError::internal(&"not a person"));
    };
    Ok(Addressed {
        found,
        shown: shown.as_deref(),
        touch: vec![("person", r.id, r.person)],
    })
}

/// The jurisdiction a send from this caller speaks for: a facet's own, or
/// the person's home where the caller is entitled there, else the first
/// the caller is entitled in. Break-glass opens a record to read, not to
/// write to the person: refused.
pub(crate) fn sending_jurisdiction(
    found: &PersonRef,
    shown: Option<&[String]>,
) -> Result<String, ApiError> {
    let Some(js) = shown else {
        return Err(ApiError::forbidden());
    };
    match found {
        PersonRef::Facet(f) => Ok(f.jurisdiction.clone()),
        PersonRef::Person(p) if js.contains(&p.jurisdiction) => Ok(p.jurisdiction.clone()),
        PersonRef::Person(_) => js.first().cloned().ok_or_else(ApiError::forbidden),
    }
}

/// A person's messages, in and out, newest first: those of the caller's
/// jurisdictions only.
#[utoipa::path(get, path = "/api/v1/persons/{id}/messages", tag = "messages", params(("id" = Uuid, Path, description = "The person's (or facet's) id"), PageQuery),
    responses((status = 200, description = "A page of the thread", body = tracedesk_casework::Page<tracedesk_casework::messaging::MessageView>)))]
pub(crate) async fn thread(
    call: Call,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Response, ApiError> {
    let Addressed {
        found,
        shown,
        touch,
    } = person_of(&call)?;
    let page = call
        .s
        .cw
        .messages()
        .thread(found, shown, q.cursor.as_deref(), q.limit)
        .await?;
    Ok(reply(StatusCode::OK, page, touch))
}

/// Queues a message to the person (a template in their language, or a
/// body): written to the outbox, sent by the dispatcher. A text may not name
/// a diagnosis (422); a number that opted out is refused (409) and the
/// refusal is kept on the thread.
#[utoipa::path(post, path = "/api/v1/persons/{id}/messages", tag = "messages", params(("id" = Uuid, Path, description = "The person's (or facet's) id")),
    request_body = SendInput,
    responses(
        (status = 201, description = "The queued message", body = tracedesk_casework::messaging::MessageView),
        (status = 409, description = "The number opted out", body = crate::error::ErrorBody),
        (status = 422, description = "Bad input, or a text that names a diagnosis", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn send(
    Act(call, ApiJson(input)): Act<ApiJson<SendInput>>,
) -> Result<Response, ApiError> {
    let Addressed {
        found,
        shown,
        touch,
    } = person_of(&call)?;
    let jurisdiction = sending_jurisdiction(found, shown)?;
    let m = call
        .s
        .cw
        .messages()
        .by(call.caller.user.id)
        .send(found, &jurisdiction, &input)
        .await?;
    Ok(reply(StatusCode::CREATED, m, touch))
}

/// A message at a sandbox phone.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SandboxArrival {
    pub message_id: Uuid,
    pub channel: String,
    pub body: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SandboxPhone {
    /// What reached the person's phone, oldest first.
    pub items: Vec<SandboxArrival>,
}

/// A reply typed at a sandbox phone.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxReply {
    pub body: String,
}

/// The person's phone number as their record holds it (for the sandbox).
fn phone_of(call: &Call, found: &PersonRef) -> Result<String, ApiError> {
    call.s
        .cw
        .cases()
        .view_of(found)?
        .phone
        .ok_or_else(|| ApiError::invalid("phone", "the person has no phone number"))
}

/// What reached the person's sandbox phone (the sandbox carrier only; 404
/// with a real carrier).
#[utoipa::path(get, path = "/api/v1/sandbox/persons/{id}/phone", tag = "messages", params(("id" = Uuid, Path, description = "The person's (or facet's) id")),
    responses(
        (status = 200, description = "The messages at the phone", body = SandboxPhone),
        (status = 404, description = "Not the sandbox carrier", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn sandbox_phone(call: Call) -> Result<Response, ApiError> {
    let (phone, _, touch) = phone_arrivals(&call).await?;
    Ok(reply(StatusCode::OK, phone, touch))
}

/// What reached the person's sandbox phone, and the texts it sent (from
/// the thread, the caller's jurisdictions only); 404 with a real carrier.
pub(crate) async fn phone_arrivals(
    call: &Call,
) -> Result<(SandboxPhone, Vec<MessageView>, Vec<crate::guard::Touch>), ApiError> {
    let sandbox = call
        .s
        .sandbox
        .clone()
        .ok_or(ApiError::not_found("sandbox phone"))?;
    let Addressed {
        found,
        shown,
        touch,
    } = person_of(call)?;
    let phone = phone_of(call, found)?;
    let items = sandbox
        .phone(&phone)
        .into_iter()
        .map(|a| SandboxArrival {
            message_id: a.id,
            channel: a.channel,
            body: a.body,
        })
        .collect();
    let sent = call
        .s
        .cw
        .messages()
        .thread(found, shown, None, Some(100))
        .await?
        .items
        .into_iter()
        .filter(|m| m.direction == "in")
        .collect();
    Ok((SandboxPhone { items }, sent, touch))
}

/// The person's name as the caller's record shows it (for the phone page).
pub(crate) fn name_of(call: &Call) -> Result<String, ApiError> {
    let Addressed { found, .. } = person_of(call)?;
    Ok(call.s.cw.cases().view_of(found)?.full_name())
}

/// A text from the person's sandbox phone, taken in as a carrier's inbound
/// webhook would be (opt-out keywords included).
#[utoipa::path(post, path = "/api/v1/sandbox/persons/{id}/phone", tag = "messages", params(("id" = Uuid, Path, description = "The person's (or facet's) id")),
    request_body = SandboxReply,
    responses(
        (status = 201, description = "The stored inbound message", body = tracedesk_casework::messaging::MessageView),
        (status = 404, description = "Not the sandbox carrier", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn sandbox_reply(
    Act(call, ApiJson(input)): Act<ApiJson<SandboxReply>>,
) -> Result<Response, ApiError> {
    let (m, touch) = phone_reply(&call, input.body).await?;
    Ok(reply(StatusCode::CREATED, m, touch))
}

/// A text from the person's sandbox phone through the inbound path.
pub(crate) async fn phone_reply(
    call: &Call,
    body: String,
) -> Result<(MessageView, Vec<crate::guard::Touch>), ApiError> {
    if call.s.sandbox.is_none() {
        return Err(ApiError::not_found("sandbox phone"));
    }
    let Addressed { found, touch, .. } = person_of(call)?;
    let phone = phone_of(call, found)?;
    if body.trim().is_empty() {
        return Err(ApiError::invalid("body", "type a reply"));
    }
    if body.chars().count() > tracedesk_comms::segments::MAX_BODY_CHARS {
        return Err(ApiError::invalid("body", "is longer than 1600 characters"));
    }
    let msgs = call.s.cw.messages();
    let outcome = msgs
        .receive_text(&InboundText {
            from: phone,
            to: call.s.cw.settings().messaging.sender.clone(),
            body,
            provider_sid: format!("SBIN{}", Uuid::now_v7().simple()),
        })
        .await?;
    let id = outcome
        .message_id
        .ok_or(ApiError::internal(&"sandbox reply not stored"))?;
    Ok((msgs.message(id).await?, touch))
}

/// Keys pressed (or words said) on the person's sandbox phone during a
/// check-in call.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxKeys {
    /// `1` (symptoms) or `2` (well), or a few spoken words.
    pub digits: String,
}

/// What the sandbox phone hears next on the call.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SandboxHeard {
    pub language: String,
    pub says: String,
    /// The call asks again (it did not understand).
    pub asks: bool,
}

/// Answers the latest check-in call at the person's sandbox phone, as a
/// keypress on the call would (the sandbox carrier only).
#[utoipa::path(post, path = "/api/v1/sandbox/persons/{id}/keypad", tag = "messages", params(("id" = Uuid, Path, description = "The person's (or facet's) id")),
    request_body = SandboxKeys,
    responses(
        (status = 200, description = "What the call says next", body = SandboxHeard),
        (status = 404, description = "Not the sandbox carrier", body = crate::error::ErrorBody),
        (status = 409, description = "No check-in call reached the phone", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn sandbox_keypad(
    Act(call, ApiJson(input)): Act<ApiJson<SandboxKeys>>,
) -> Result<Response, ApiError> {
    let (heard, touch) = phone_keys(&call, &input.digits).await?;
    Ok(reply(StatusCode::OK, heard, touch))
}

/// Keys pressed (or words said) on the latest check-in call at the
/// person's sandbox phone; what the call says next.
pub(crate) async fn phone_keys(
    call: &Call,
    digits: &str,
) -> Result<(SandboxHeard, Vec<crate::guard::Touch>), ApiError> {
    if call.s.sandbox.is_none() {
        return Err(ApiError::not_found("sandbox phone"));
    }
    let Addressed { found, touch, .. } = person_of(call)?;
    let phone = phone_of(call, found)?;
    if digits.trim().is_empty() || digits.chars().count() > 200 {
        return Err(ApiError::invalid(
            "digits",
            "give a key (1 or 2) or a few words",
        ));
    }
    let step = call
        .s
        .cw
        .messages()
        .sandbox_keypress(&phone, digits.trim())
        .await?;
    let heard = match step {
        tracedesk_casework::voice::CallStep::Say { language, text } => SandboxHeard {
            language,
            says: text,
            asks: false,
        },
        tracedesk_casework::voice::CallStep::Ask { language, prompt } => SandboxHeard {
            language,
            says: prompt,
            asks: true,
        },
        tracedesk_casework::voice::CallStep::Bridge { language, say, .. } => SandboxHeard {
            language,
            says: say,
            asks: false,
        },
    };
    Ok((heard, touch))
}

/// Click-to-call: tracedesk rings the caller's phone (`phone`), then
/// connects the person the task is about, showing the program's number —
/// never the tracer's. The call is on the person's thread and an attempt
/// on the task.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/calls", tag = "messages", params(("id" = Uuid, Path, description = "The case-work task's id")),
    request_body = tracedesk_casework::voice::CallInput,
    responses(
        (status = 201, description = "The call, queued", body = tracedesk_casework::messaging::MessageView),
        (status = 403, description = "Not the task's holder, or opened by break-glass", body = crate::error::ErrorBody),
        (status = 422, description = "Not a phone number, or the person has none", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn click_to_call(
    Act(call, ApiJson(input)): Act<ApiJson<tracedesk_casework::voice::CallInput>>,
) -> Result<Response, ApiError> {
    let r = call.record()?;
    if r.flagged {
        // Break-glass opens a record to read, not to call the person.
        return Err(ApiError::forbidden());
    }
    let task = crate::guard::found!(r, Found::Task);
    let m = ring(&call, task, &input).await?;
    let touch = vec![("task", task.id, Some(task.person_id))];
    Ok(reply(StatusCode::CREATED, m, touch))
}

/// Queues click-to-call for `task` by the caller (the API's route and the
/// task page's button alike): the task's person, as its jurisdiction
/// knows them.
pub(crate) async fn ring(
    call: &Call,
    task: &tracedesk_store::TaskRow,
    input: &tracedesk_casework::voice::CallInput,
) -> Result<tracedesk_casework::messaging::MessageView, ApiError> {
    let shown = task.shown_person_id.unwrap_or(task.person_id);
    let person = call
        .s
        .cw
        .cases()
        .person_ref(shown)
        .await?
        .ok_or(ApiError::not_found("person"))?;
    Ok(call
        .s
        .cw
        .messages()
        .by(call.caller.user.id)
        .click_to_call(task.id, &person, &task.jurisdiction, input)
        .await?)
}
