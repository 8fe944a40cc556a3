//! The minimal browser pages: sign in, second factor (and its enrolment),
//! password change, sign out. Server-rendered forms without script; every
//! POST carries a CSRF token in a hidden field (bound to the session, or
//! before sign-in to a `td_pre` cookie). Each form handler runs the same
//! step as the JSON API (`login.rs`) and turns its answer into a redirect
//! or the form again with the error.

use crate::auth::{self, PartialCaller, pre_cookie_name};
use crate::extract::ApiJson;
use crate::login::{self, CodeInput, LoginInput, PasswordInput};
use crate::{ApiError, AppState};
use axum::Extension;
use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::net::SocketAddr;
use tracedesk_identity::session;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/login/totp", get(totp_page).post(totp_submit))
        .route("/enrol", get(enrol_page).post(enrol_submit))
        .route("/enrol/confirm", axum::routing::post(enrol_confirm))
        .route("/password", get(password_page).post(password_submit))
        .route("/logout", axum::routing::post(logout_submit))
        .route("/static/app.css", get(css))
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#1b1b1b}\
label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1rem;padding:.6rem 1.2rem;font-size:1rem}.error{color:#a4000f;border-left:4px solid #a4000f;padding-left:.6rem}\
code{word-break:break-all}";

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t} · tracedesk</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
         <body><h1>{t}</h1>{body}</body></html>",
        t = escape(title)
    ))
    .into_response()
}

fn error_block(e: Option<&str>) -> String {
    e.map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default()
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn forbidden_csrf() -> Response {
    let mut r = page(
        "Form expired",
        "<p class=\"error\">This form's security token is missing or wrong. <a href=\"/login\">Start again</a>.</p>",
    );
    *r.status_mut() = StatusCode::FORBIDDEN;
    r
}

/// The pre-sign-in token from its cookie, or a new one to set.
fn pre_token(headers: &HeaderMap, secure: bool) -> (String, bool) {
    match auth::cookie(headers, pre_cookie_name(secure)) {
        Some(t) if t.len() == 43 => (t.to_string(), false),
        _ => (session::new_token(), true),
    }
}

fn pre_cookie(token: &str, secure: bool) -> String {
    format!(
        "{}={token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600{}",
        pre_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

fn login_form(csrf: &str, error: Option<&str>) -> String {
    format!(
        "{}<form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"u\">Username</label><input id=\"u\" name=\"username\" autocomplete=\"username\" required>\
         <label for=\"p\">Password</label><input id=\"p\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button>Sign in</button></form>",
        error_block(error),
        escape(csrf)
    )
}

async fn login_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let (pre, fresh) = pre_token(&headers, s.secure_cookies);
    let mut r = page("Sign in", &login_form(&session::csrf_for(&pre), None));
    if fresh && let Ok(v) = HeaderValue::from_str(&pre_cookie(&pre, s.secure_cookies)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: Option<String>,
    username: String,
    password: String,
}

/// Where a completed step leads.
fn next_location(next: &str) -> &'static str {
    match next {
        "totp" => "/login/totp",
        "enrol" => "/enrol",
        "change_password" => "/password",
        _ => "/",
    }
}

/// Turns a JSON step's answer into a redirect carrying its cookie, or the
/// error message for the form.
async fn follow(res: Result<Response, ApiError>) -> Result<Response, String> {
    let res = res.map_err(|e| e.message)?;
    if !res.status().is_success() {
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        return Err(v["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("the step failed ({status})")));
    }
    let cookie = res.headers().get(header::SET_COOKIE).cloned();
    let body = axum::body::to_bytes(res.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let mut r = redirect(next_location(v["next"].as_str().unwrap_or("done")));
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    Ok(r)
}

async fn login_submit(
    State(s): State<AppState>,
    addr: ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let Some(pre) = auth::cookie(&headers, pre_cookie_name(s.secure_cookies)) else {
        return forbidden_csrf();
    };
    if !f.csrf.as_deref().is_some_and(|c| session::csrf_ok(pre, c)) {
        return forbidden_csrf();
    }
    let res = login::login(
        State(s.clone()),
        addr,
        ApiJson(LoginInput {
            username: f.username,
            password: f.password,
        }),
    )
    .await;
    match follow(res).await {
        Ok(r) => r,
        Err(msg) => {
            let mut r = page("Sign in", &login_form(&session::csrf_for(pre), Some(&msg)));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

/// The session of a page request (complete or not).
async fn partial(s: &AppState, headers: &HeaderMap) -> Option<PartialCaller> {
    match auth::load_session(s, headers).await {
        Ok(Some((token, row, user))) => Some(PartialCaller {
            user,
            session: token,
            row,
        }),
        _ => None,
    }
}

fn code_form(action: &str, csrf: &str, label: &str, error: Option<&str>) -> String {
    format!(
        "{}<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"c\">{label}</label><input id=\"c\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" required>\
         <button>Continue</button></form>",
        error_block(error),
        escape(csrf)
    )
}

async fn totp_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match partial(&s, &headers).await {
        Some(p) => page(
            "Second factor",
            &code_form(
                "/login/totp",
                &session::csrf_for(&p.session),
                "6-digit code from your authenticator app",
                None,
            ),
        ),
        None => redirect("/login"),
    }
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: Option<String>,
    code: Option<String>,
}

/// Loads the session and checks the form's CSRF field.
async fn checked(
    s: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
) -> Result<PartialCaller, Response> {
    let Some(p) = partial(s, headers).await else {
        return Err(redirect("/login"));
    };
    if !csrf.is_some_and(|c| session::csrf_ok(&p.session, c)) {
        return Err(forbidden_csrf());
    }
    Ok(p)
}

/// Runs one sign-in step for a form: checks the session and CSRF field,
/// calls the JSON step, and redirects on success or re-renders with the
/// error (`again` builds the page from the session's CSRF token).
async fn run_step<F, Fut>(
    s: &AppState,
    headers: &HeaderMap,
    csrf: Option<&str>,
    call: F,
    again: impl FnOnce(&str, &str) -> Response,
) -> Response
where
    F: FnOnce(PartialCaller) -> Fut,
    Fut: std::future::Future<Output = Result<Response, ApiError>>,
{
    let p = match checked(s, headers, csrf).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let token = session::csrf_for(&p.session);
    match follow(call(p).await).await {
        Ok(r) => r,
        Err(msg) => again(&token, &msg),
    }
}

async fn totp_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    let code = f.code.unwrap_or_default();
    run_step(
        &s,
        &headers,
        f.csrf.as_deref(),
        |p| login::totp(State(s.clone()), Extension(p), ApiJson(CodeInput { code })),
        |csrf, msg| {
            page(
                "Second factor",
                &code_form(
                    "/login/totp",
                    csrf,
                    "6-digit code from your authenticator app",
                    Some(msg),
                ),
            )
        },
    )
    .await
}

async fn enrol_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match partial(&s, &headers).await {
        Some(p) => page(
            "Set up your second factor",
            &format!(
                "<p>tracedesk needs a code from an authenticator app at every sign-in.</p>\
                 <form method=\"post\" action=\"/enrol\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                 <button>Show my setup code</button></form>",
                escape(&session::csrf_for(&p.session))
            ),
        ),
        None => redirect("/login"),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
    everywhere: Option<String>,
}

async fn enrol_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let p = match checked(&s, &headers, f.csrf.as_deref()).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let res = match login::enrol_start(State(s.clone()), Extension(p.clone())).await {
        Ok(r) => r,
        Err(e) => return page("Set up your second factor", &error_block(Some(&e.message))),
    };
    let body = axum::body::to_bytes(res.into_body(), 256 * 1024)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    // The SVG comes from our own QR renderer (no script, no style attribute).
    let qr = v["qr_svg"].as_str().unwrap_or("");
    page(
        "Set up your second factor",
        &format!(
            "<p>Scan this code with your authenticator app, or type the key.</p>{qr}\
             <p>Key: <code>{}</code></p>{}",
            escape(v["secret"].as_str().unwrap_or("")),
            code_form(
                "/enrol/confirm",
                &session::csrf_for(&p.session),
                "Then enter the 6-digit code it shows",
                None
            )
        ),
    )
}

async fn enrol_confirm(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    let code = f.code.unwrap_or_default();
    run_step(
        &s,
        &headers,
        f.csrf.as_deref(),
        |p| login::enrol_confirm(State(s.clone()), Extension(p), ApiJson(CodeInput { code })),
        |_, msg| {
            page(
                "Set up your second factor",
                &format!(
                    "{}<p><a href=\"/enrol\">Start again</a></p>",
                    error_block(Some(msg))
                ),
            )
        },
    )
    .await
}

fn password_form(csrf: &str, error: Option<&str>) -> String {
    format!(
        "{}<p>At least 15 characters (8 with a second factor). A few unrelated words make a good one.</p>\
         <form method=\"post\" action=\"/password\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label for=\"o\">Current password</label><input id=\"o\" name=\"current_password\" type=\"password\" autocomplete=\"current-password\" required>\
         <label for=\"n\">New password</label><input id=\"n\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" maxlength=\"128\" required>\
         <button>Change password</button></form>",
        error_block(error),
        escape(csrf)
    )
}

async fn password_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match partial(&s, &headers).await {
        Some(p) => page(
            "Change your password",
            &password_form(&session::csrf_for(&p.session), None),
        ),
        None => redirect("/login"),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: Option<String>,
    current_password: String,
    new_password: String,
}

async fn password_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let input = PasswordInput {
        current_password: f.current_password,
        new_password: f.new_password,
    };
    run_step(
        &s,
        &headers,
        f.csrf.as_deref(),
        |p| login::change_password(State(s.clone()), Extension(p), ApiJson(input)),
        |csrf, msg| page("Change your password", &password_form(csrf, Some(msg))),
    )
    .await
}

async fn logout_submit(
    State(s): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let p = match checked(&s, &headers, f.csrf.as_deref()).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let res = if f.everywhere.is_some() {
        login::logout_everywhere(State(s.clone()), Extension(p)).await
    } else {
        login::logout(State(s.clone()), Extension(p)).await
    };
    let cookie = res
        .ok()
        .and_then(|r| r.headers().get(header::SET_COOKIE).cloned());
    let mut r = redirect("/login");
    if let Some(c) = cookie {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r
}

async fn home(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let Some(p) = partial(&s, &headers).await else {
        return redirect("/login");
    };
    if !p.row.mfa_done {
        return redirect(if p.user.totp_confirmed {
            "/login/totp"
        } else {
            "/enrol"
        });
    }
    if p.user.must_change_password {
        return redirect("/password");
    }
    let name =
        s.cw.staff()
            .user_view(&p.user)
            .map(|v| v.display_name)
            .unwrap_or_default();
    let csrf = escape(&session::csrf_for(&p.session));
    page(
        "tracedesk",
        &format!(
            "<p>Signed in as {} ({}).</p><p>The case work screens come with the UI; the JSON API is at <code>/api/v1</code>.</p>\
             <p><a href=\"/password\">Change password</a></p>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button>Sign out</button></form>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"everywhere\" value=\"1\"><button>Sign out everywhere</button></form>",
            escape(&name),
            escape(&p.user.role)
        ),
    )
}
