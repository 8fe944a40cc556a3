//! Request extractors whose rejections are JSON errors that name the field
//! and the expected type but never echo a submitted value.

use crate::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Turns a serde error into text without the offending value: serde_json
/// writes values into "invalid type"/"invalid value" messages, so only the
/// expectation is kept.
pub fn describe(err: &serde_json::Error) -> String {
    let msg = err.to_string();
    let msg = msg.split(" at line ").next().unwrap_or(&msg);
    if msg.starts_with("invalid type")
        || msg.starts_with("invalid value")
        || msg.starts_with("invalid length")
    {
        match msg.rsplit_once(", expected ") {
            Some((_, expected)) => format!("has the wrong type or value; expected {expected}"),
            None => "has the wrong type or value".into(),
        }
    } else if msg.starts_with("unknown field") || msg.starts_with("unknown variant") {
        // Both quote what was sent; only what is expected (ours) is kept.
        let what = if msg.starts_with("unknown field") {
            "has a field it does not take"
        } else {
            "has a value it does not take"
        };
        match msg.split_once(", expected ") {
            Some((_, expected)) => format!("{what}; expected {expected}"),
            None => what.to_string(),
        }
    } else if msg.starts_with("missing field") {
        // Names one of our own fields.
        msg.split(", expected").next().unwrap_or(msg).to_string()
    } else {
        "cannot be read".into()
    }
}

/// A field path safe to send back: indices and names of the kind our
/// fields have; any other key (a map's key is the caller's text) is
/// replaced, so no submitted text comes back.
fn safe_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let ours = |k: &str| {
        !k.is_empty() && k.len() <= 32 && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    };
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(if ours(key) { key } else { "(key)" });
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    if out.is_empty() { ".".into() } else { out }
}

/// Deserializes a JSON value into `T`, mapping errors to a field error.
pub fn from_value<T: DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = safe_path(e.path());
        let reason = describe(e.inner());
        let field = if path == "." {
            None
        } else {
            Some(path.clone())
        };
        let mut err = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_json_field",
            match &field {
                Some(f) => format!("{f}: {reason}"),
                None => reason,
            },
        );
        err.field = field;
        err
    })
}

/// Parses a body into a JSON value; syntax errors report line and column.
pub fn parse_body(bytes: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Eof => "the JSON body ends early",
            _ => "the body is not valid JSON",
        };
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("{what} (line {}, column {})", e.line(), e.column()),
        )
    })
}

/// A JSON body as a raw value, after the content-type and size checks.
pub struct JsonValue(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonValue {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        json_body(
            req,
            state,
            &["application/json"],
            "send the body as application/json",
        )
        .await
        .map(JsonValue)
    }
}

/// A JSON body of one of the media types `accepted`, after the size
/// check; `wanted` says what to send instead.
pub async fn json_body<S: Send + Sync>(
    req: Request,
    state: &S,
    accepted: &[&str],
    wanted: &'static str,
) -> Result<serde_json::Value, ApiError> {
    let ok = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| accepted.iter().any(|a| v.starts_with(a)));
    if !ok {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            wanted,
        ));
    }
    let bytes = Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is too large",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                "the request body could not be read",
            )
        }
    })?;
    parse_body(&bytes)
}

/// A typed JSON body with unknown fields rejected by the type.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let JsonValue(v) = JsonValue::from_request(req, state).await?;
        from_value(v).map(ApiJson)
    }
}

/// Query parameters with JSON errors.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded_like(q).map(ApiQuery)
    }
}

fn serde_urlencoded_like<T: DeserializeOwned>(q: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{q}").parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "the query string cannot be read",
        )
    })?)
    .map(|axum::extract::Query(v)| v)
    .map_err(|e| {
        let text = e.body_text();
        // Only serde's field-name messages are passed on; value errors are
        // summarized, since a query value could be anything.
        let safe = if let Some(i) = text.find("unknown field") {
            match text[i..].split_once(", expected ") {
                Some((_, expected)) => {
                    format!("a query parameter is not one this route takes; expected {expected}")
                }
                None => "a query parameter is not one this route takes".into(),
            }
        } else if let Some(i) = text.find("missing field") {
            text[i..]
                .split(", expected")
                .next()
                .unwrap_or("")
                .to_string()
        } else {
            "a query parameter has the wrong form".into()
        };
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", safe)
    })
}

/// Parses an id from a path segment.
pub fn parse_id(raw: &str, what: &'static str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::try_parse(raw).map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_id",
            format!("the {what} id is not a UUID"),
        )
    })
}

/// What every API handler starts from: the app, the authenticated caller,
/// the route's name and the record its `{id}` names — one extractor, so no
/// handler gathers them, names its route or checks entitlement by hand. It
/// applies the route's row of `needs::TABLE` before the handler runs: a
/// caller whose role falls short, or who is not entitled to the record, is
/// refused here, the refusal audited.
pub struct Call {
    pub s: crate::AppState,
    pub caller: crate::auth::Caller,
    pub route: &'static str,
    /// The record `{id}` names, as the caller is entitled to it.
    pub record: Option<crate::guard::Entitled>,
    audit: crate::needs::Audit,
    slot: Option<crate::guard::NoteSlot>,
}

impl Call {
    /// Writes the route's entry for more records than the one `{id}`
    /// names, before the handler acts on them (a merge touches two
    /// persons): no entry, no change.
    pub async fn audit_before(&self, items: Vec<crate::guard::Touch>) -> Result<(), ApiError> {
        let crate::needs::Audit::Write(action, _) = self.audit else {
            return Err(ApiError::internal(&format!(
                "{} is not a write route",
                self.route
            )));
        };
        crate::guard::record_before(
            &self.s,
            &self.caller,
            self.slot.as_ref(),
            self.route,
            action,
            items,
        )
        .await
    }

    /// The entitled record; a route whose table row names none has none.
    pub fn record(&self) -> Result<&crate::guard::Entitled, ApiError> {
        self.record
            .as_ref()
            .ok_or_else(|| ApiError::internal(&format!("{} names no record", self.route)))
    }
}

impl FromRequestParts<crate::AppState> for Call {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, ApiError> {
        use crate::needs::Needs;
        let caller = parts
            .extensions
            .get::<crate::auth::Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal(&"a handler ran without a caller"))?;
        // The route as the router matched it (`GET /api/v1/cases/{id}`):
        // the label of its audit entries, never typed by a handler. Its
        // name is the access table's own entry.
        let path = parts
            .extensions
            .get::<axum::extract::MatchedPath>()
            .map(|p| p.as_str())
            .ok_or_else(|| ApiError::internal(&"a handler ran outside a matched route"))?;
        let Some((route, needs, audit)) = crate::needs::of(parts.method.as_str(), path) else {
            // Fail closed: a route nobody gave a rule serves no one.
            return Err(ApiError::internal(&format!(
                "{} {path} has no access rule",
                parts.method
            )));
        };
        let slot = parts.extensions.get::<crate::guard::NoteSlot>().cloned();
        if let Some(slot) = &slot {
            slot.set(|n| {
                n.route = route;
                n.audit = Some(audit);
            });
        }
        let root = tracedesk_identity::jurisdiction::ROOT;
        let over_root = || caller.principal.scope.iter().any(|j| j == root);
        if !crate::needs::met(needs, |c| caller.principal.can(c))
            || (matches!(needs, Needs::Root(_)) && !over_root())
        {
            return Err(crate::guard::deny(state, &caller, "route", None, None, route).await);
        }
        let record = match needs {
            Needs::Own(kind) | Needs::CapOn(_, kind) => {
                let params = axum::extract::RawPathParams::from_request_parts(parts, state)
                    .await
                    .map_err(|_| ApiError::internal(&"a record route without its id"))?;
                let raw = params
                    .iter()
                    .find(|(k, _)| *k == "id")
                    .map(|(_, v)| v.to_string())
                    .ok_or_else(|| ApiError::internal(&"a record route without its id"))?;
                let e = crate::guard::entitle(state, &caller, kind, &raw, route).await?;
                if let Some(slot) = &slot {
                    slot.set(|n| n.flagged = e.flagged);
                }
                Some(e)
            }
            _ => None,
        };
        Ok(Self {
            s: state.clone(),
            caller,
            route,
            record,
            audit,
            slot,
        })
    }
}

/// A write route's request: its [`Call`] and its body, with the route's
/// audit entry written before the handler runs — after the body is read and
/// checked (a malformed request changes nothing and is not logged as a
/// write), before anything changes.
pub struct Act<B>(pub Call, pub B);

/// A write route's body, read after the call's checks.
pub trait ActBody: Sized {
    fn read(
        req: Request,
        state: &crate::AppState,
    ) -> impl std::future::Future<Output = Result<Self, ApiError>> + Send;
}

/// A write route that takes no body.
pub struct NoBody;

impl ActBody for NoBody {
    async fn read(_: Request, _: &crate::AppState) -> Result<Self, ApiError> {
        Ok(NoBody)
    }
}

impl<T: DeserializeOwned + Send> ActBody for ApiJson<T> {
    async fn read(req: Request, state: &crate::AppState) -> Result<Self, ApiError> {
        ApiJson::from_request(req, state).await
    }
}

/// A staff page's form (`application/x-www-form-urlencoded`).
impl<T: DeserializeOwned + Send> ActBody for axum::Form<T> {
    async fn read(req: Request, state: &crate::AppState) -> Result<Self, ApiError> {
        use axum::extract::FromRequest;
        axum::Form::<T>::from_request(req, state)
            .await
            .map_err(|_| {
                ApiError::invalid(
                    "form",
                    "is not a form this page sends (a field is missing or malformed)",
                )
            })
    }
}

impl ActBody for JsonValue {
    async fn read(req: Request, state: &crate::AppState) -> Result<Self, ApiError> {
        JsonValue::from_request(req, state).await
    }
}

impl<B: ActBody + Send> FromRequest<crate::AppState> for Act<B> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &crate::AppState) -> Result<Self, ApiError> {
        let (mut parts, body) = req.into_parts();
        let call = Call::from_request_parts(&mut parts, state).await?;
        let body = B::read(Request::from_parts(parts, body), state).await?;
        crate::guard::before_write(
            &call.s,
            &call.caller,
            call.slot.as_ref(),
            call.route,
            call.audit,
            call.record.as_ref(),
        )
        .await?;
        Ok(Self(call, body))
    }
}
