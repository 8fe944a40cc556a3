//! Who is calling: an API token (which carries its user's role and scope)
//! or a browser session cookie, and the CSRF check for cookie requests.

use crate::{ApiError, AppState};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use tracedesk_identity::{Principal, Role, session};
use tracedesk_store::{SessionRow, UserRow};
use uuid::Uuid;

/// The session cookie's name over plain HTTP (development, tests).
pub const SESSION_COOKIE: &str = "td_session";
/// Its name with secure cookies: the `__Host-` prefix makes browsers keep
/// it only if it was set over HTTPS, for this host alone, on path `/`, so
/// no sibling subdomain can plant or overwrite a session.
pub const SECURE_SESSION_COOKIE: &str = "__Host-td_session";
/// The pre-login cookie that login forms' CSRF tokens are bound to.
pub const PRE_COOKIE: &str = "td_pre";
/// Its name with secure cookies (path `/login`, so `__Secure-`, not `__Host-`).
pub const SECURE_PRE_COOKIE: &str = "__Secure-td_pre";

pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

pub fn pre_cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_PRE_COOKIE
    } else {
        PRE_COOKIE
    }
}
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated caller.
#[derive(Clone)]
pub struct Caller {
    pub user: UserRow,
    pub principal: Principal,
    /// The session token, when the caller came with a cookie.
    pub session: Option<String>,
}

impl Caller {
    /// How the audit log names this caller.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.id)
    }

    pub fn role(&self) -> Role {
        self.principal.role
    }
}

/// Recently authenticated API tokens. A token's user, role and scope are
/// looked up at most every [`CallerCache::TTL`], not on every request; a
/// revoked token or disabled user stops working within that time.
#[derive(Default)]
pub struct CallerCache {
    map: std::sync::Mutex<std::collections::HashMap<Vec<u8>, (std::time::Instant, Caller)>>,
}

impl CallerCache {
    pub const TTL: std::time::Duration = std::time::Duration::from_secs(2);
    const MAX: usize = 10_000;

    fn get(&self, key: &[u8]) -> Option<Caller> {
        let map = self.map.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, c)| c.clone())
    }

    /// Drops every cached caller of `user`, so a lock or disable on this
    /// node takes effect on the next request instead of after the TTL.
    pub fn forget_user(&self, user: Uuid) {
        if let Ok(mut map) = self.map.lock() {
            map.retain(|_, (_, c)| c.user.id != user);
        }
    }

    fn put(&self, key: Vec<u8>, c: &Caller) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= Self::MAX {
                map.retain(|_, (at, _)| at.elapsed() < Self::TTL);
                if map.len() >= Self::MAX {
                    map.clear();
                }
            }
            map.insert(key, (std::time::Instant::now(), c.clone()));
        }
    }
}

/// A caller whose session is still between steps (second factor,
/// enrolment, forced password change): only the auth routes take them.
#[derive(Clone)]
pub struct PartialCaller {
    pub user: UserRow,
    pub session: String,
    pub row: SessionRow,
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn unauthorized(msg: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

fn is_safe(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks a state-changing cookie request's CSRF token (header or form field).
pub fn csrf_ok(headers: &HeaderMap, session_token: &str) -> bool {
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| session::csrf_for(session_token) == t)
}

/// A disabled or locked account is refused at every step: its sessions
/// and API tokens stop working, not only its next password sign-in.
pub fn can_sign_in(u: &UserRow) -> bool {
    u.disabled_at.is_none() && u.locked_at.is_none()
}

/// Loads a live session from the cookie: `Ok(None)` if there is none or it
/// expired (an expired one is deleted).
pub async fn load_session(
    s: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(String, SessionRow, UserRow)>, ApiError> {
    let Some(token) = cookie(headers, session_cookie_name(s.secure_cookies)) else {
        return Ok(None);
    };
    let staff = s.cw.staff();
    let Some(row) = staff.session(token).await.map_err(ApiError::internal_of)? else {
        return Ok(None);
    };
    let now = Utc::now();
    if !s
        .auth
        .session
        .is_live(row.created_at, row.last_seen_at, now)
    {
        s.cw.staff()
            .end_session(token)
            .await
            .map_err(ApiError::internal_of)?;
        return Ok(None);
    }
    let Some(user) =
        s.cw.staff()
            .user(row.user_id)
            .await
            .map_err(ApiError::internal_of)?
            .filter(can_sign_in)
    else {
        return Ok(None);
    };
    touch(s, token, row.last_seen_at, now).await?;
    Ok(Some((token.to_string(), row, user)))
}

/// Records activity, at most every few seconds so busy sessions do not
/// write on every request.
async fn touch(
    s: &AppState,
    token: &str,
    last: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let grain = (s.auth.session.idle / 20).min(chrono::Duration::seconds(15));
    if now - last >= grain {
        s.cw.staff()
            .touch_session(token, now)
            .await
            .map_err(ApiError::internal_of)?;
    }
    Ok(())
}

/// Middleware of the API: a bearer token or a complete session; cookie
/// requests that change state must carry the CSRF token.
pub async fn require_caller(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let (headers, method) = (req.headers().clone(), req.method().clone());
    match caller(&s, &headers, &method).await {
        Ok(c) => {
            let mut req = req;
            req.extensions_mut().insert(c);
            next.run(req).await
        }
        Err(r) => r,
    }
}

/// The authenticated caller of a request, or the response refusing it.
pub async fn caller(
    s: &AppState,
    headers: &HeaderMap,
    method: &Method,
) -> Result<Caller, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let cache_key = bearer.map(session::token_hash);
    if let Some(c) = cache_key.as_deref().and_then(|k| s.callers.get(k)) {
        return Ok(c);
    }
    let (user, session) = if let Some(token) = bearer {
        let user = match s.cw.staff().token_holder(token).await {
            Ok(tracedesk_casework::TokenHolder::User(u)) => u.map(|u| *u),
            Ok(tracedesk_casework::TokenHolder::NoUser) => {
                return Err(unauthorized(
                    "the API token belongs to no user; create a new one with `tracedesk token create NAME --user USERNAME`",
                ));
            }
            Ok(tracedesk_casework::TokenHolder::None) => {
                return Err(unauthorized("the API token is unknown or revoked"));
            }
            Err(e) => return Err(ApiError::internal(&e).into_response()),
        };
        match user.filter(can_sign_in) {
            Some(u) => (u, None),
            None => return Err(unauthorized("the API token's user is disabled or locked")),
        }
    } else {
        match load_session(s, headers).await {
            Ok(Some((token, row, user))) => {
                if !row.mfa_done || user.must_change_password {
                    return Err(ApiError::new(
                        StatusCode::FORBIDDEN,
                        "login_incomplete",
                        "finish signing in (second factor or password change) first",
                    )
                    .into_response());
                }
                if !is_safe(method) && !csrf_ok(headers, &token) {
                    return Err(csrf_failure());
                }
                (user, Some(token))
            }
            Ok(None) => {
                return Err(unauthorized(
                    "sign in, or send an API token as `Authorization: Bearer …`",
                ));
            }
            Err(e) => return Err(e.into_response()),
        }
    };
    let principal =
        s.cw.staff()
            .principal(&user)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
    let caller = Caller {
        user,
        principal,
        session,
    };
    if let Some(k) = cache_key {
        s.callers.put(k, &caller);
    }
    Ok(caller)
}

pub fn csrf_failure() -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf",
        "the request's CSRF token is missing or wrong; reload the page",
    )
    .into_response()
}

/// A `Set-Cookie` value for the session token.
pub fn session_cookie(token: &str, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict{}",
        session_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_session_cookie(secure: bool) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        session_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// Starts a session for `user` with a fresh token (never one the client
/// brought: that would allow session fixation) and returns the token.
pub async fn start_session(s: &AppState, user: Uuid, mfa_done: bool) -> Result<String, ApiError> {
    s.cw.staff()
        .start_session(user, mfa_done)
        .await
        .map_err(ApiError::internal_of)
}
