//! The browser's sign-in pages: sign in, second factor (and its
//! enrolment), password change, sign out, home; and the embedded assets.
//! Pages are `tracedesk_ui` templates (auto-escaped, strings from the
//! catalog); the sign-in forms work without script. Every POST carries a
//! CSRF token in a hidden field (bound to the session, or
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
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use std::net::SocketAddr;
use tracedesk_identity::session;
use tracedesk_ui::assets;
use tracedesk_ui::pages::{
    Chrome, CodePage, HomePage, Link, LoginPage, Nav, NoticePage, PasswordPage, Setup,
};
use tracedesk_ui::{Catalog, Template};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_submit))
        .route("/login/totp", get(totp_page).post(totp_submit))
        .route("/enrol", get(enrol_page).post(enrol_submit))
        .route("/enrol/confirm", axum::routing::post(enrol_confirm))
        .route("/password", get(password_page).post(password_submit))
        .route("/logout", axum::routing::post(logout_submit))
        .route("/assets/{file}", get(asset))
}

/// An embedded asset by its hashed name: the name changes with the
/// content, so browsers may keep it for a year.
async fn asset(Path(file): Path<String>) -> Response {
    match assets::find(&file) {
        Some(a) => (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            a.bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The catalog pages are written in.
fn t() -> &'static Catalog {
    Catalog::english()
}

/// A rendered page. A template that fails to render (a defect: every
/// field is plain data) answers 500 without its content.
pub(crate) fn html(page: impl Template) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn with_status(mut r: Response, status: StatusCode) -> Response {
    *r.status_mut() = status;
    r
}

fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn forbidden_csrf() -> Response {
    let page = NoticePage {
        t: t(),
        chrome: Chrome::new(t(), "form-expired-title"),
        message: t().get("form-expired"),
        alert: true,
        link: Some(Link::to("/login", "sign-in")),
    };
    with_status(html(page), StatusCode::FORBIDDEN)
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

fn login_form(csrf: String, error: Option<String>) -> Response {
    html(LoginPage {
        t: t(),
        chrome: Chrome::new(t(), "sign-in"),
        csrf,
        error,
    })
}

async fn login_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let (pre, fresh) = pre_token(&headers, s.secure_cookies);
    let mut r = login_form(session::csrf_for(&pre), None);
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
        Err(msg) => with_status(
            login_form(session::csrf_for(pre), Some(msg)),
            StatusCode::UNAUTHORIZED,
        ),
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

/// The second-factor form and each step of its enrolment.
struct Code {
    title: &'static str,
    action: &'static str,
    intro: Option<&'static str>,
    label: Option<&'static str>,
    button: &'static str,
    back: Option<&'static str>,
}

const TOTP: Code = Code {
    title: "totp-title",
    action: "/login/totp",
    intro: None,
    label: Some("totp-label"),
    button: "continue",
    back: None,
};
const ENROL_START: Code = Code {
    title: "enrol-title",
    action: "/enrol",
    intro: Some("enrol-intro"),
    label: None,
    button: "enrol-show",
    back: None,
};
const ENROL_CONFIRM: Code = Code {
    title: "enrol-title",
    action: "/enrol/confirm",
    intro: Some("enrol-scan"),
    label: Some("enrol-confirm-label"),
    button: "continue",
    back: None,
};

fn code_page(c: Code, csrf: String, setup: Option<Setup>, error: Option<String>) -> Response {
    html(CodePage {
        t: t(),
        chrome: Chrome::new(t(), c.title),
        action: c.action,
        csrf,
        intro: c.intro,
        setup,
        label: c.label,
        button: c.button,
        back: c.back,
        error,
    })
}

async fn totp_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match partial(&s, &headers).await {
        Some(p) => code_page(TOTP, session::csrf_for(&p.session), None, None),
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
        |csrf, msg| code_page(TOTP, csrf.to_string(), None, Some(msg.to_string())),
    )
    .await
}

async fn enrol_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match partial(&s, &headers).await {
        Some(p) => code_page(ENROL_START, session::csrf_for(&p.session), None, None),
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
    let csrf = session::csrf_for(&p.session);
    let res = match login::enrol_start(State(s.clone()), Extension(p)).await {
        Ok(r) => r,
        Err(e) => return code_page(ENROL_START, csrf, None, Some(e.message)),
    };
    let body = axum::body::to_bytes(res.into_body(), 256 * 1024)
        .await
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let setup = Setup {
        // Our own QR renderer's SVG: no script, no style attribute.
        qr_svg: v["qr_svg"].as_str().unwrap_or("").to_string(),
        secret: v["secret"].as_str().unwrap_or("").to_string(),
    };
    code_page(ENROL_CONFIRM, csrf, Some(setup), None)
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
        |csrf, msg| {
            let failed = Code {
                intro: None,
                label: None,
                button: "enrol-show",
                back: Some("/enrol"),
                ..ENROL_START
            };
            code_page(failed, csrf.to_string(), None, Some(msg.to_string()))
        },
    )
    .await
}

fn password_form(csrf: String, error: Option<String>) -> Response {
    html(PasswordPage {
        t: t(),
        chrome: Chrome::new(t(), "password-title"),
        csrf,
        error,
    })
}

async fn password_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match partial(&s, &headers).await {
        Some(p) => password_form(session::csrf_for(&p.session), None),
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
        |csrf, msg| password_form(csrf.to_string(), Some(msg.to_string())),
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
    let csrf = session::csrf_for(&p.session);
    html(HomePage {
        t: t(),
        chrome: Chrome::new(t(), "home-title")
            .with_scripts()
            .signed_in(nav(&s, &p, "/")),
        links: vec![
            Link::to("/desk", "nav-desk"),
            Link::to("/password", "nav-password"),
        ],
        csrf,
    })
}

/// A signed-in staff page's chrome: titled by catalog message `title`,
/// with the app's scripts and the header for `call`'s caller, `current`
/// marked in it.
pub(crate) fn staff_chrome(call: &crate::extract::Call, title: &str, current: &str) -> Chrome {
    Chrome::new(t(), title).with_scripts().signed_in(nav_of(
        &call.s,
        &call.caller.user,
        call.caller.session.as_deref(),
        current,
    ))
}

/// The signed-in header for `p`, with `current` marked.
pub(crate) fn nav(s: &AppState, p: &PartialCaller, current: &str) -> Nav {
    nav_of(s, &p.user, Some(&p.session), current)
}

/// The signed-in header for `user` on `session`, with `current` marked.
pub(crate) fn nav_of(
    s: &AppState,
    user: &tracedesk_store::UserRow,
    session: Option<&str>,
    current: &str,
) -> Nav {
    let name =
        s.cw.staff()
            .user_view(user)
            .map(|v| v.display_name)
            .unwrap_or_default();
    use tracedesk_identity::Role;
    use tracedesk_identity::access::{Capability, can};
    let role = Role::parse(&user.role);
    let may = |c| role.is_some_and(|r| can(r, c));
    let mut links = vec![Link::to("/", "nav-home")];
    if may(Capability::WorkRecords) {
        links.push(Link::to("/desk", "nav-desk"));
    }
    if may(Capability::Supervise) {
        links.push(Link::to("/floor", "nav-floor"));
        links.push(Link::to("/monitoring", "nav-monitoring"));
        links.push(Link::to("/linkage", "nav-linkage"));
    }
    if may(Capability::LineList) {
        links.push(Link::to("/lists", "nav-lists-cases"));
    }
    // Administration is the whole program's: for administrators over the
    // root only (the routes say so too).
    if may(Capability::Administer) && user.jurisdiction == tracedesk_identity::jurisdiction::ROOT {
        links.push(Link::to("/admin/users", "nav-admin"));
    }
    for l in &mut links {
        l.current = l.href == current;
    }
    Nav {
        name,
        role: user.role.clone(),
        csrf: session.map(session::csrf_for).unwrap_or_default(),
        links,
    }
}
