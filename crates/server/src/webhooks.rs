//! Twilio's webhooks: inbound texts, message status callbacks, and calls
//! (what to say when a call is answered, the answer to a check-in call's
//! question, the recording notice, call statuses). There is
//! no caller to sign in: every request must carry Twilio's signature
//! (`X-Twilio-Signature`, over the URL as Twilio requested it and the form
//! parameters, keyed with the auth token), or it is refused with 403 and
//! nothing is stored. An inbound text is answered 200 only after it is
//! durably stored; a second delivery of the same `MessageSid` is answered
//! the same and stored once.

use crate::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tracedesk_casework::CaseworkError;
use tracedesk_casework::messaging::InboundText;
use tracedesk_casework::voice::CallStep;

/// What the webhooks need to check a request came from Twilio.
#[derive(Clone)]
pub struct TwilioHooks {
    pub account_sid: String,
    pub auth_token: String,
    /// The scheme, host (and port) Twilio requests: the configured
    /// `public_base_url`, never the Host header an attacker controls.
    pub public_base_url: String,
}

impl std::fmt::Debug for TwilioHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioHooks")
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks/twilio/sms", post(inbound_sms))
        .route("/webhooks/twilio/status", post(status_callback))
        .route("/webhooks/twilio/voice", post(voice_answered))
        .route("/webhooks/twilio/voice/gather", post(voice_gathered))
        .route("/webhooks/twilio/voice/announce", post(voice_announce))
        .route("/webhooks/twilio/voice/status", post(voice_status))
}

/// An empty TwiML answer: nothing more to say to the sender (replies to
/// keywords go through the outbox).
fn twiml() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>",
    )
        .into_response()
}

/// The form parameters of a request Twilio signed; refused otherwise.
fn signed_form(
    hooks: Option<&TwilioHooks>,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    body: &[u8],
) -> Result<Vec<(String, String)>, ApiError> {
    let hooks = hooks.ok_or(ApiError::not_found("route"))?;
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "a webhook body must be application/x-www-form-urlencoded",
        ));
    }
    let params = parse_form(body).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_form",
            "the body is not a valid form of UTF-8 text",
        )
    })?;
    let signature = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let url = format!("{}{path}", hooks.public_base_url.trim_end_matches('/'));
    let from_account = params
        .iter()
        .find(|(k, _)| k == "AccountSid")
        .is_none_or(|(_, v)| *v == hooks.account_sid);
    if signature.is_empty()
        || !tracedesk_comms::signature::verify(&hooks.auth_token, &url, &params, signature)
        || !from_account
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "bad_signature",
            "the request is not signed by the configured Twilio account",
        ));
    }
    Ok(params)
}

/// `application/x-www-form-urlencoded` pairs, strictly: a bad escape or
/// bytes that are not UTF-8 refuse the whole body rather than turn into
/// replacement characters (which the signature would then not cover).
fn parse_form(body: &[u8]) -> Option<Vec<(String, String)>> {
    fn decode(part: &[u8]) -> Option<String> {
        let mut out = Vec::with_capacity(part.len());
        let mut i = 0;
        while i < part.len() {
            match part[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(part.get(i + 1..i + 3)?).ok()?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }
    body.split(|b| *b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let mut kv = pair.splitn(2, |b| *b == b'=');
            let k = decode(kv.next().unwrap_or_default())?;
            let v = decode(kv.next().unwrap_or_default())?;
            Some((k, v))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(params: &'a [(String, String)], name: &str) -> Result<&'a str, ApiError> {
    param(params, name)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::invalid(name, format!("{name} is required")))
}

/// An inbound text from Twilio (`From`, `To`, `Body`, `MessageSid`).
#[utoipa::path(post, path = "/webhooks/twilio/sms", tag = "webhooks",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's inbound message parameters"),
    responses(
        (status = 200, description = "Stored (or already stored): empty TwiML", content_type = "text/xml"),
        (status = 403, description = "Not signed by the configured account", body = crate::error::ErrorBody),
        (status = 415, description = "Not a form", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn inbound_sms(
    State(s): State<AppState>,
    // The routes are not nested: the path is the one Twilio requested.
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = signed_form(s.twilio.as_ref(), &headers, &uri, &body)?;
    let text = InboundText {
        from: required(&params, "From")?.to_string(),
        to: required(&params, "To")?.to_string(),
        body: param(&params, "Body").unwrap_or_default().to_string(),
        provider_sid: required(&params, "MessageSid")?.to_string(),
    };
    if text.body.chars().count() > tracedesk_comms::segments::MAX_BODY_CHARS {
        return Err(ApiError::invalid("Body", "is longer than 1600 characters"));
    }
    s.cw.messages().receive_text(&text).await?;
    Ok(twiml())
}

/// A message's status from Twilio (`MessageSid`, `MessageStatus`,
/// `ErrorCode`): moves the message forward only.
#[utoipa::path(post, path = "/webhooks/twilio/status", tag = "webhooks",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's status callback parameters"),
    responses(
        (status = 200, description = "Applied, or nothing to apply"),
        (status = 403, description = "Not signed by the configured account", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn status_callback(
    State(s): State<AppState>,
    // The routes are not nested: the path is the one Twilio requested.
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = signed_form(s.twilio.as_ref(), &headers, &uri, &body)?;
    let sid = required(&params, "MessageSid")?;
    let status = required(&params, "MessageStatus")?;
    let error = param(&params, "ErrorCode").filter(|e| !e.is_empty());
    status_applied(s.cw.messages().receipt(sid, status, error).await)
}

/// The answer to a status callback: 200 once applied, and 200 for a
/// message or call that is not ours (another application on the account,
/// or gone with a purge): nothing to do, and nothing for Twilio to retry.
fn status_applied(applied: Result<bool, CaseworkError>) -> Result<Response, ApiError> {
    match applied {
        Ok(_) => Ok(StatusCode::OK.into_response()),
        Err(CaseworkError::NotFound(what)) => {
            tracing::warn!(what, "a status callback for one not known");
            Ok(StatusCode::OK.into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// A TwiML answer.
fn twiml_of(doc: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        doc,
    )
        .into_response()
}

/// The call a voice webhook is about: its message id, from the `m` query
/// parameter tracedesk put in the URL it gave Twilio.
fn call_id(uri: &Uri) -> Result<uuid::Uuid, ApiError> {
    uri.query()
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("m="))
        .and_then(|v| uuid::Uuid::try_parse(v).ok())
        .ok_or_else(|| ApiError::invalid("m", "the call's id is missing or not a UUID"))
}

/// A call's next step as TwiML, its URLs at `public_base_url`.
fn step_twiml(hooks: &TwilioHooks, id: uuid::Uuid, step: CallStep) -> String {
    use tracedesk_comms::twiml::{Verb, document};
    let base = hooks.public_base_url.trim_end_matches('/');
    let verbs = match step {
        CallStep::Say { language, text } => vec![Verb::Say { language, text }, Verb::Hangup],
        // No answer within the Gather's time: the call ends, and the day
        // counts as silent.
        CallStep::Ask { language, prompt } => vec![
            Verb::Gather {
                language,
                prompt,
                action: format!("{base}/webhooks/twilio/voice/gather?m={id}"),
            },
            Verb::Hangup,
        ],
        CallStep::Bridge {
            language,
            say,
            caller_id,
            number,
            notice,
        } => {
            let mut v = vec![Verb::Say {
                language: language.clone(),
                text: say,
            }];
            if let Some(text) = &notice {
                v.push(Verb::Say {
                    language,
                    text: text.clone(),
                });
            }
            v.push(Verb::Dial {
                caller_id,
                number,
                record: notice.is_some(),
                announce: notice
                    .is_some()
                    .then(|| format!("{base}/webhooks/twilio/voice/announce?m={id}")),
            });
            v
        }
    };
    document(&verbs)
}

/// A call tracedesk does not know (another application's, or purged):
/// ended politely, nothing said.
fn hang_up() -> Response {
    twiml_of(tracedesk_comms::twiml::document(&[
        tracedesk_comms::twiml::Verb::Hangup,
    ]))
}

/// Twilio asks what to say on an answered call (`?m=` names it;
/// `AnsweredBy` says whether a machine took it).
#[utoipa::path(post, path = "/webhooks/twilio/voice", tag = "webhooks",
    params(("m" = Uuid, Query, description = "The call's message id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's voice request parameters"),
    responses(
        (status = 200, description = "TwiML: what to say, ask or dial", content_type = "text/xml"),
        (status = 403, description = "Not signed by the configured account", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn voice_answered(
    State(s): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (params, hooks, id) = voice_request(&s, &uri, &headers, &body)?;
    let machine =
        param(&params, "AnsweredBy").is_some_and(|a| a.starts_with("machine") || a == "fax");
    let step = s.cw.messages().call_answered(id, machine).await;
    answer_call(step, |step| step_twiml(hooks, id, step))
}

/// A webhook's form parameters.
type Form = Vec<(String, String)>;

/// A signed voice request: its form, the hooks' settings, the call's id.
fn voice_request<'a>(
    s: &'a AppState,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, &'a TwilioHooks, uuid::Uuid), ApiError> {
    let params = signed_form(s.twilio.as_ref(), headers, uri, body)?;
    let hooks = s.twilio.as_ref().ok_or(ApiError::not_found("route"))?;
    Ok((params, hooks, call_id(uri)?))
}

/// The TwiML answer to a call's next step; a call tracedesk does not know
/// (another application's, or purged) is hung up on.
fn answer_call(
    step: Result<CallStep, CaseworkError>,
    twiml: impl FnOnce(CallStep) -> String,
) -> Result<Response, ApiError> {
    match step {
        Ok(step) => Ok(twiml_of(twiml(step))),
        Err(CaseworkError::NotFound(_)) => Ok(hang_up()),
        Err(e) => Err(e.into()),
    }
}

/// The answer to a check-in call's question (`Digits` or `SpeechResult`).
#[utoipa::path(post, path = "/webhooks/twilio/voice/gather", tag = "webhooks",
    params(("m" = Uuid, Query, description = "The call's message id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's Gather result"),
    responses(
        (status = 200, description = "TwiML: thanks, advice, or the question again", content_type = "text/xml"),
        (status = 403, description = "Not signed by the configured account", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn voice_gathered(
    State(s): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (params, hooks, id) = voice_request(&s, &uri, &headers, &body)?;
    let digits = param(&params, "Digits");
    let speech = param(&params, "SpeechResult");
    let step = s.cw.messages().call_gathered(id, digits, speech).await;
    answer_call(step, |step| step_twiml(hooks, id, step))
}

/// What the person hears before a recorded click-to-call connects them:
/// the recording notice.
#[utoipa::path(post, path = "/webhooks/twilio/voice/announce", tag = "webhooks",
    params(("m" = Uuid, Query, description = "The call's message id")),
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's voice request parameters"),
    responses(
        (status = 200, description = "TwiML: the recording notice", content_type = "text/xml"),
        (status = 403, description = "Not signed by the configured account", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn voice_announce(
    State(s): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (_, _, id) = voice_request(&s, &uri, &headers, &body)?;
    let step = s.cw.messages().call_notice(id).await;
    // Said to the person before the bridge connects: no hang-up after it.
    answer_call(step, |step| {
        let verbs = match step {
            CallStep::Say { language, text } => {
                vec![tracedesk_comms::twiml::Verb::Say { language, text }]
            }
            _ => Vec::new(),
        };
        tracedesk_comms::twiml::document(&verbs)
    })
}

/// A call's status from Twilio (`CallSid`, `CallStatus`): completed →
/// delivered; busy, no answer, canceled → undelivered; failed → failed.
#[utoipa::path(post, path = "/webhooks/twilio/voice/status", tag = "webhooks",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Twilio's call status callback parameters"),
    responses(
        (status = 200, description = "Applied, or nothing to apply"),
        (status = 403, description = "Not signed by the configured account", body = crate::error::ErrorBody),
    ))]
pub(crate) async fn voice_status(
    State(s): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = signed_form(s.twilio.as_ref(), &headers, &uri, &body)?;
    let sid = required(&params, "CallSid")?;
    let status = required(&params, "CallStatus")?;
    status_applied(s.cw.messages().call_status(sid, status).await)
}

#[cfg(test)]
mod tests {
    #[test]
    fn forms_parse_strictly() {
        let p = super::parse_form(b"Body=Hola+se%C3%B1or&To=%2B1212&Empty=").unwrap();
        assert_eq!(
            p,
            vec![
                ("Body".to_string(), "Hola señor".to_string()),
                ("To".to_string(), "+1212".to_string()),
                ("Empty".to_string(), String::new()),
            ]
        );
        assert_eq!(super::parse_form(b"From=%FF%FE"), None, "not UTF-8");
        assert_eq!(super::parse_form(b"From=%F"), None, "a cut escape");
        assert_eq!(super::parse_form(b"From=%zz"), None, "not hex");
    }
}
