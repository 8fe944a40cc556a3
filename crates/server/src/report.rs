//! The self-report pages a check-in link opens (`/r/{token}`): one
//! question in the contact's language, answered without signing in. The
//! token is the credential — signed, expiring, naming one contact record,
//! good for one answer (`casework::report`) — so these routes sit outside
//! the staff sign-in, like Twilio's webhooks. The page carries no personal
//! data and no script; its form posts back to its own address.

use crate::AppState;
use crate::error::ApiError;
use crate::pages::escape;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tracedesk_casework::CaseworkError;
use tracedesk_casework::report::{LinkState, ReportPage};

pub fn routes() -> Router<AppState> {
    Router::new().route("/r/{token}", get(open).post(answer))
}

/// A report: `answer` is `well` or `unwell`; `details` the symptoms, if
/// the person named any.
#[derive(Deserialize)]
pub struct ReportForm {
    pub answer: String,
    pub details: Option<String>,
}

fn html(status: StatusCode, language: &str, title: &str, body: &str) -> Response {
    let mut r = Html(format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>{t}</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head>\
         <body><main><h1>{t}</h1>{body}</main></body></html>",
        l = escape(language),
        t = escape(title)
    ))
    .into_response();
    *r.status_mut() = status;
    r
}

fn render(p: &ReportPage) -> Response {
    let w = &p.text;
    let program = format!("<p>{}</p>", escape(&p.program));
    let body = match p.state {
        LinkState::Open => format!(
            "{program}<form method=\"post\"><p id=\"q\">{q}</p>\
             <label for=\"details\">{d}</label><input id=\"details\" name=\"details\" maxlength=\"500\" autocomplete=\"off\">\
             <button type=\"submit\" name=\"answer\" value=\"well\">{well}</button> \
             <button type=\"submit\" name=\"answer\" value=\"unwell\">{unwell}</button></form>",
            q = escape(w.question),
            d = escape(w.details),
            well = escape(w.well),
            unwell = escape(w.unwell),
        ),
        LinkState::Answered => format!("{program}<p role=\"status\">{}</p>", escape(w.thanks)),
        LinkState::Closed => format!("{program}<p role=\"status\">{}</p>", escape(w.closed)),
    };
    html(StatusCode::OK, &p.language, w.title, &body)
}

/// A link that is not one of this program's: the same answer for a typo,
/// a forgery and a purged record.
fn not_found() -> Response {
    html(
        StatusCode::NOT_FOUND,
        "en",
        "Link not found",
        "<p>This link is not active. If you were asked to report, please call the number in your message.</p>",
    )
}

/// The self-report page.
pub(crate) async fn open(
    State(s): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    match s.cw.messages().report_page(&token).await {
        Ok(p) => Ok(render(&p)),
        Err(CaseworkError::NotFound(_)) => Ok(not_found()),
        Err(e) => Err(e.into()),
    }
}

/// A report through the page's form.
pub(crate) async fn answer(
    State(s): State<AppState>,
    Path(token): Path<String>,
    Form(form): Form<ReportForm>,
) -> Result<Response, ApiError> {
    let well = match form.answer.as_str() {
        "well" => true,
        "unwell" => false,
        _ => return Err(ApiError::invalid("answer", "must be well or unwell")),
    };
    match s
        .cw
        .messages()
        .report(&token, well, form.details.as_deref())
        .await
    {
        Ok(p) => Ok(render(&p)),
        Err(CaseworkError::NotFound(_)) => Ok(not_found()),
        Err(e) => Err(e.into()),
    }
}
