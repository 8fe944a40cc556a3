//! Signing in over the JSON API: password, then the second factor (or its
//! enrolment), then a forced password change if an admin reset it. Each
//! step that completes rotates the session token.

use crate::answers::{Enrolment, Me, SessionsEnded, SignInStep};
use crate::auth::{self, Caller, PartialCaller};
use crate::extract::ApiJson;
use crate::{ApiError, AppState};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use serde::Deserialize;
use std::net::SocketAddr;
use tracedesk_casework::auditor::draft;
use tracedesk_identity::{Role, session, totp};
use tracedesk_store::UserRow;
use tracedesk_store::audit::Action;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub username: String,
    pub password: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    pub code: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    pub current_password: String,
    pub new_password: String,
}

fn failed() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "the username or password is wrong, or the account cannot sign in",
    )
}

fn throttled(retry: chrono::Duration) -> Response {
    let secs = retry.num_seconds().max(1);
    let mut r = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "throttled",
        format!("too many failed sign-ins; wait {secs} s and try again"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

async fn audit(
    s: &AppState,
    actor: &str,
    action: Action,
    user: Option<&UserRow>,
    detail: &str,
) -> Result<(), ApiError> {
    if let Some(a) = s.cw.auditor() {
        a.record(vec![draft(
            actor,
            action,
            "user",
            user.map(|u| u.id),
            None,
            detail,
        )])
        .await
        .map_err(ApiError::internal_of)?;
    }
    Ok(())
}

/// What the client must do next after a step.
fn next_step(u: &UserRow, mfa_done: bool) -> &'static str {
    if !mfa_done && u.totp_confirmed {
        "totp"
    } else if !mfa_done {
        "enrol"
    } else if u.must_change_password {
        "change_password"
    } else {
        "done"
    }
}

fn with_session(
    s: &AppState,
    body: impl serde::Serialize,
    token: &str,
    status: StatusCode,
) -> Response {
    let mut r = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&auth::session_cookie(token, s.secure_cookies)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn step_body(u: &UserRow, mfa_done: bool, token: &str) -> SignInStep {
    SignInStep {
        next: next_step(u, mfa_done),
        csrf_token: session::csrf_for(token),
    }
}

/// `POST /api/v1/auth/login`
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "sign-in", security(()), request_body = LoginInput,
    responses((status = 200, description = "The next step, and a session cookie", body = crate::answers::SignInStep)))]
pub async fn login(
    State(s): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiJson(input): ApiJson<LoginInput>,
) -> Result<Response, ApiError> {
    let client = addr.ip().to_string();
    let staff = s.cw.staff();
    let now = Utc::now();
    let policy = s.auth.throttle;
    let err = |e: tracedesk_casework::CaseworkError| ApiError::internal(&e);
    if let Some((n, last)) = staff.client_failures(&client).await.map_err(err)?
        && let Some(at) = policy.retry_at(n.unsigned_abs(), Some(last), now)
    {
        return Ok(throttled(at - now));
    }
    let user = s.cw.staff().user_by_username(&input.username).await?;
    // An unknown name is throttled exactly like an account (under a keyed
    // hash of the name), so 429 versus 401 tells nothing about who exists.
    let unknown = match &user {
        Some(_) => None,
        None => Some(s.cw.staff().username_throttle_key(&input.username)),
    };
    let account_failures = match (&user, &unknown) {
        (Some(u), _) => Some((u.failed_logins, u.last_failed_at)),
        (None, Some(k)) => staff
            .client_failures(k)
            .await
            .map_err(err)?
            .map(|(n, at)| (n, Some(at))),
        _ => None,
    };
    if let Some((n, last)) = account_failures
        && let Some(at) = policy.retry_at(n.unsigned_abs(), last, now)
    {
        return Ok(throttled(at - now));
    }
    let password_ok =
        s.cw.staff()
            .verify_password(user.as_ref(), &input.password)
            .await;
    let usable = user.as_ref().filter(|u| {
        u.disabled_at.is_none()
            && u.locked_at.is_none()
            && Role::parse(&u.role).is_some_and(Role::is_staff)
    });
    let Some(u) = usable.filter(|_| password_ok) else {
        staff
            .record_client_failure(&client, now)
            .await
            .map_err(err)?;
        if let Some(k) = &unknown {
            staff.record_client_failure(k, now).await.map_err(err)?;
        }
        let detail = match &user {
            None => "unknown username",
            Some(u) if u.disabled_at.is_some() => "account disabled",
            Some(u) if u.locked_at.is_some() => "account locked",
            Some(_) if !password_ok => "wrong password",
            Some(_) => "not a staff account",
        };
        if let Some(u) = &user
            && !password_ok
        {
            account_failure(&s, u, &format!("client:{client}"), "password").await?;
        }
        let actor = match &user {
            Some(u) => format!("user:{}", u.id),
            None => format!("client:{client}"),
        };
        audit(&s, &actor, Action::LoginFailure, user.as_ref(), detail).await?;
        return Err(failed());
    };
    staff.clear_client_failures(&client).await.map_err(err)?;
    let mfa_done = !(u.mfa_required || u.totp_confirmed);
    // The count of failures goes on through the second factor: a right
    // password alone must not reset what wrong codes added up, or signing
    // in again between guesses would defeat the lockout.
    if mfa_done {
        staff.clear_login_failures(u.id).await.map_err(err)?;
    }
    let token = auth::start_session(&s, u.id, mfa_done).await?;
    let detail = if mfa_done {
        "password; session started"
    } else {
        "password; second factor pending"
    };
    audit(
        &s,
        &format!("user:{}", u.id),
        Action::LoginSuccess,
        Some(u),
        detail,
    )
    .await?;
    Ok(with_session(
        &s,
        step_body(u, mfa_done, &token),
        &token,
        StatusCode::OK,
    ))
}

/// Counts a failed step against the account; when that locks it, the
/// lockout is audited, every session of the account ends and cached API
/// callers are dropped, so nothing it had open keeps working.
async fn account_failure(
    s: &AppState,
    u: &UserRow,
    actor: &str,
    step: &str,
) -> Result<(), ApiError> {
    let policy = s.auth.throttle;
    let lock_at = i32::try_from(policy.lockout_after).unwrap_or(i32::MAX);
    let staff = s.cw.staff();
    let n = staff
        .record_login_failure(u.id, Utc::now(), lock_at)
        .await
        .map_err(ApiError::internal_of)?;
    if policy.locks(n.unsigned_abs()) && u.locked_at.is_none() {
        staff
            .end_sessions_of(u.id)
            .await
            .map_err(ApiError::internal_of)?;
        s.callers.forget_user(u.id);
        audit(
            s,
            actor,
            Action::LoginFailure,
            Some(u),
            &format!("account locked after repeated failures ({step}); sessions ended"),
        )
        .await?;
    }
    Ok(())
}

/// The throttle of the account for a step after the password: the same
/// delays as the password step, so codes cannot be guessed at speed.
fn step_throttle(s: &AppState, u: &UserRow) -> Option<Response> {
    let now = Utc::now();
    s.auth
        .throttle
        .retry_at(u.failed_logins.unsigned_abs(), u.last_failed_at, now)
        .map(|at| throttled(at - now))
}

/// Middleware for the sign-in steps: any live session, complete or not,
/// with the CSRF token on every request.
pub async fn require_partial(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    match auth::load_session(&s, &headers).await {
        Ok(Some((token, row, user))) => {
            if !auth::csrf_ok(&headers, &token) {
                return auth::csrf_failure();
            }
            let mut req = req;
            req.extensions_mut().insert(PartialCaller {
                user,
                session: token,
                row,
            });
            next.run(req).await
        }
        Ok(None) => {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first").into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Replaces the caller's session with a fresh one (token rotation).
async fn rotate(s: &AppState, p: &PartialCaller, mfa_done: bool) -> Result<String, ApiError> {
    s.cw.staff()
        .end_session(&p.session)
        .await
        .map_err(ApiError::internal_of)?;
    auth::start_session(s, p.user.id, mfa_done).await
}

/// `POST /api/v1/auth/totp`: the second factor.
#[utoipa::path(post, path = "/api/v1/auth/totp", tag = "sign-in", request_body = CodeInput,
    responses((status = 200, description = "The next step, and a new session cookie", body = crate::answers::SignInStep)))]
pub async fn totp(
    State(s): State<AppState>,
    Extension(p): Extension<PartialCaller>,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<Response, ApiError> {
    if p.row.mfa_done || !p.user.totp_confirmed {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_code_expected",
            "this session does not wait for a code",
        ));
    }
    code_step(&s, &p, &input.code, "second factor").await
}

async fn code_step(
    s: &AppState,
    p: &PartialCaller,
    code: &str,
    what: &str,
) -> Result<Response, ApiError> {
    let actor = format!("user:{}", p.user.id);
    if let Some(r) = step_throttle(s, &p.user) {
        return Ok(r);
    }
    match s.cw.staff().check_totp(&p.user, code).await? {
        Some(u) => {
            s.cw.staff()
                .clear_login_failures(u.id)
                .await
                .map_err(ApiError::internal_of)?;
            let token = rotate(s, p, true).await?;
            audit(
                s,
                &actor,
                Action::LoginSuccess,
                Some(&u),
                &format!("{what}; session started"),
            )
            .await?;
            Ok(with_session(
                s,
                step_body(&u, true, &token),
                &token,
                StatusCode::OK,
            ))
        }
        None => {
            account_failure(s, &p.user, &actor, what).await?;
            audit(
                s,
                &actor,
                Action::LoginFailure,
                Some(&p.user),
                &format!("{what}: wrong or reused code"),
            )
            .await?;
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "wrong_code",
                "the code is wrong, expired or already used",
            ))
        }
    }
}

/// `POST /api/v1/auth/enrol`: a new TOTP secret to scan (enrolment only).
#[utoipa::path(post, path = "/api/v1/auth/enrol", tag = "sign-in",
    responses((status = 200, description = "The secret to enrol", body = crate::answers::Enrolment)))]
pub async fn enrol_start(
    State(s): State<AppState>,
    Extension(p): Extension<PartialCaller>,
) -> Result<Response, ApiError> {
    let (u, secret) = s.cw.staff().begin_totp(&p.user).await?;
    let uri = secret.uri("tracedesk", &s.cw.staff().user_view(&u)?.username);
    Ok(Json(Enrolment {
        secret: secret.base32(),
        qr_svg: totp::qr_svg(&uri),
        otpauth_uri: uri,
    })
    .into_response())
}

/// `POST /api/v1/auth/enrol/confirm`: proves the authenticator works.
#[utoipa::path(post, path = "/api/v1/auth/enrol/confirm", tag = "sign-in", request_body = CodeInput,
    responses((status = 200, description = "The next step, and a new session cookie", body = crate::answers::SignInStep)))]
pub async fn enrol_confirm(
    State(s): State<AppState>,
    Extension(p): Extension<PartialCaller>,
    ApiJson(input): ApiJson<CodeInput>,
) -> Result<Response, ApiError> {
    if p.user.totp_confirmed || p.user.totp_secret.is_none() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "no_enrolment",
            "start enrolment first",
        ));
    }
    code_step(&s, &p, &input.code, "second factor enrolled").await
}

/// Refuses a session that has not passed its second factor yet.
fn factor_done(p: &PartialCaller) -> Result<(), ApiError> {
    if p.row.mfa_done {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "login_incomplete",
        "finish the second factor first",
    ))
}

/// `POST /api/v1/auth/password`: changes the password (required after a reset).
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "sign-in", request_body = PasswordInput,
    responses((status = 200, description = "The next step, and a new session cookie", body = crate::answers::SignInStep)))]
pub async fn change_password(
    State(s): State<AppState>,
    Extension(p): Extension<PartialCaller>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> Result<Response, ApiError> {
    factor_done(&p)?;
    if let Some(r) = step_throttle(&s, &p.user) {
        return Ok(r);
    }
    if !s
        .cw
        .staff()
        .verify_password(Some(&p.user), &input.current_password)
        .await
    {
        let actor = format!("user:{}", p.user.id);
        account_failure(&s, &p.user, &actor, "password change").await?;
        audit(
            &s,
            &actor,
            Action::LoginFailure,
            Some(&p.user),
            "password change: wrong current password",
        )
        .await?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "login_failed",
            "the current password is wrong",
        )
        .with_field("current_password"));
    }
    let u =
        s.cw.staff()
            .set_password(&p.user, &input.new_password)
            .await
            .map_err(|e| {
                let mut e = ApiError::from(e);
                if e.field.as_deref() == Some("password") {
                    e.field = Some("new_password".into());
                }
                e
            })?;
    // Every other session of the user ends with the old password.
    s.cw.staff()
        .end_sessions_of(u.id)
        .await
        .map_err(ApiError::internal_of)?;
    let token = auth::start_session(&s, u.id, true).await?;
    audit(
        &s,
        &format!("user:{}", u.id),
        Action::PermissionChange,
        Some(&u),
        "password changed; other sessions ended",
    )
    .await?;
    Ok(with_session(
        &s,
        step_body(&u, true, &token),
        &token,
        StatusCode::OK,
    ))
}

/// `POST /api/v1/auth/logout`
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "sign-in",
    responses((status = 204, description = "Signed out")))]
pub async fn logout(
    State(s): State<AppState>,
    Extension(p): Extension<PartialCaller>,
) -> Result<Response, ApiError> {
    s.cw.staff()
        .end_session(&p.session)
        .await
        .map_err(ApiError::internal_of)?;
    Ok(signed_out(&s, StatusCode::NO_CONTENT.into_response()))
}

/// `r` with the session cookie cleared.
fn signed_out(s: &AppState, mut r: Response) -> Response {
    if let Ok(v) = HeaderValue::from_str(&auth::clear_session_cookie(s.secure_cookies)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /api/v1/auth/logout-everywhere`: ends every session of the user.
/// Only a session that passed the second factor may: a stolen password
/// alone must not sign the owner out everywhere.
#[utoipa::path(post, path = "/api/v1/auth/logout-everywhere", tag = "sign-in",
    responses((status = 200, description = "How many sessions ended", body = crate::answers::SessionsEnded)))]
pub async fn logout_everywhere(
    State(s): State<AppState>,
    Extension(p): Extension<PartialCaller>,
) -> Result<Response, ApiError> {
    factor_done(&p)?;
    let n =
        s.cw.staff()
            .end_sessions_of(p.user.id)
            .await
            .map_err(ApiError::internal_of)?;
    Ok(signed_out(
        &s,
        Json(SessionsEnded { sessions_ended: n }).into_response(),
    ))
}

/// `GET /api/v1/auth/me`: who is signed in (for the UI).
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "sign-in",
    responses((status = 200, description = "Who is signed in", body = crate::answers::Me)))]
pub async fn me(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
) -> Result<Response, ApiError> {
    let v = s.cw.staff().user_view(&c.user)?;
    Ok(Json(Me {
        id: v.id,
        username: v.username,
        display_name: v.display_name,
        role: v.role,
        jurisdiction: v.jurisdiction,
    })
    .into_response())
}
