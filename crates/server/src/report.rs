//! The self-report pages a check-in link opens (`/r/{token}`): one
//! question in the contact's language, answered without signing in. The
//! token is the credential — signed, expiring, naming one contact record,
//! good for one answer (`casework::report`) — so these routes sit outside
//! the staff sign-in, like Twilio's webhooks. The page carries no personal
//! data and no script; its form posts back to its own address.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tracedesk_casework::CaseworkError;
use tracedesk_casework::report::{LinkState, ReportPage as ReportPage_};
use tracedesk_ui::assets;
use tracedesk_ui::pages::{ReportPage, ReportQuestion};

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

fn page(status: StatusCode, page: ReportPage) -> Response {
    let mut r = crate::pages::html(page);
    if r.status().is_success() {
        *r.status_mut() = status;
    }
    r
}

fn render(p: &ReportPage_) -> Response {
    let w = &p.text;
    let (form, status) = match p.state {
        LinkState::Open => (
            Some(ReportQuestion {
                question: w.question.into(),
                details: w.details.into(),
                well: w.well.into(),
                unwell: w.unwell.into(),
            }),
            String::new(),
        ),
        LinkState::Answered => (None, w.thanks.into()),
        LinkState::Closed => (None, w.closed.into()),
    };
    page(
        StatusCode::OK,
        ReportPage {
            lang: p.language.clone(),
            title: w.title.into(),
            css: assets::url("app.css"),
            icon: assets::url("icon.svg"),
            program: p.program.clone(),
            form,
            status,
        },
    )
}

/// A link that is not one of this program's: the same answer for a typo,
/// a forgery and a purged record.
fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        ReportPage {
            lang: "en".into(),
            title: "Link not found".into(),
            css: assets::url("app.css"),
            icon: assets::url("icon.svg"),
            program: String::new(),
            form: None,
            status: "This link is not active. If you were asked to report, please call the number in your message.".into(),
        },
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
