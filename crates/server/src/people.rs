//! A person's page on the desk, and break-glass from the browser. The
//! page follows the person's rule (`needs::TABLE`, as `GET
//! /api/v1/persons/{id}`): the tracer who holds one of their tasks, a
//! supervisor over them, or anyone with break-glass open on them — then
//! the page says so. A refusal offers the break-glass form (`desk`'s
//! error layer), which opens an hour's access with a reason, audited and
//! reviewed like the API's.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call};
use crate::guard::{self, Found};
use crate::pages::{html, staff_chrome};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tracedesk_casework::PersonRef;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{Chrome, GlassLine, GlassPage, GlassReviewPage, PersonPage};
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/desk/persons/{id}", get(page))
        .route("/desk/break-glass", post(open))
        .route("/floor/break-glass", get(review))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

async fn page(call: Call) -> Result<Response, ApiError> {
    let r = call.record()?;
    let Found::Person(found, shown) = &r.found else {
        return Err(ApiError::internal(&"not a person"));
    };
    let cases = call.s.cw.cases();
    let (person_id, view) = match found {
        PersonRef::Person(row) => (row.id, cases.person_view(row)?),
        PersonRef::Facet(f) => (f.person_id, cases.facet_view(f)?),
    };
    let labs = cases
        .person_lab_results(person_id, shown.as_deref())
        .await?
        .into_iter()
        .map(|l| (l.specimen_date.to_string(), l.result))
        .collect();
    let none = || t().get("task-none");
    let page = PersonPage {
        t: t(),
        chrome: staff_chrome(&call, "person-title", "/desk"),
        name: view.full_name(),
        dob: view.dob.unwrap_or_else(none),
        phone: view.phone.unwrap_or_else(none),
        language: view.language.unwrap_or_else(none),
        flagged: r.flagged,
        labs,
    };
    Ok(guard::with_touch(
        html(page),
        vec![("person", r.id, r.person)],
    ))
}

/// The refusal of `GET /desk/persons/{id}` with the break-glass form, for
/// `desk`'s error layer; `csrf` is the session's token, for the form.
pub(crate) fn prompt(person: Uuid, csrf: Option<String>) -> Response {
    let mut chrome = Chrome::new(t(), "refused-title").with_scripts();
    chrome.csrf = csrf;
    html(GlassPage {
        t: t(),
        chrome,
        person_id: person.to_string(),
    })
}

/// The break-glass form.
#[derive(Deserialize)]
pub struct GlassForm {
    person_id: String,
    #[serde(default)]
    reason: String,
}

/// Opens the hour of access; the browser goes on to the person's page.
async fn open(Act(call, Form(f)): Act<Form<GlassForm>>) -> Result<Response, ApiError> {
    let person: Uuid = f
        .person_id
        .parse()
        .map_err(|_| ApiError::invalid("person_id", "is not an id"))?;
    let (_, touched) = crate::api::break_glass(&call.s, &call.caller, person, &f.reason).await?;
    let mut r = guard::with_touch(().into_response(), touched);
    if let Ok(to) = HeaderValue::from_str(&format!("/desk/persons/{person}")) {
        r.headers_mut().insert("hx-redirect", to);
    }
    Ok(r)
}

/// The days a break-glass review covers.
const REVIEW_DAYS: i64 = 7;

/// Break-glass use to review: by the staff the supervisor oversees, over
/// the last week, with who opened which person's record, when, until when
/// and why. The reasons may describe the person, so reading them is
/// audited per use, as `GET /api/v1/break-glass`. The person is shown by
/// a short id, with a link to their page (which follows its own rule).
async fn review(call: Call) -> Result<Response, ApiError> {
    let since = chrono::Utc::now() - chrono::Duration::days(REVIEW_DAYS);
    let staff = call.s.cw.staff();
    let items = staff
        .break_glass_review(&call.caller.principal, since)
        .await?;
    let users = staff.list_users().await?;
    let at = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d %H:%M UTC").to_string();
    let touch = items
        .iter()
        .map(|g| ("break_glass", g.id, Some(g.person_id)))
        .collect();
    let rows = items
        .into_iter()
        .map(|g| {
            let short = g.person_id.simple().to_string();
            GlassLine {
                who: users
                    .iter()
                    .find(|u| u.id == g.user_id)
                    .map(|u| u.display_name.clone())
                    .unwrap_or_default(),
                person: format!("…{}", &short[short.len() - 6..]),
                person_href: format!("/desk/persons/{}", g.person_id),
                opened: at(g.opened_at),
                expires: at(g.expires_at),
                reason: g.reason,
            }
        })
        .collect();
    Ok(guard::with_touch(
        html(GlassReviewPage {
            t: t(),
            chrome: staff_chrome(&call, "glass-review-title", "/floor"),
            rows,
        }),
        touch,
    ))
}
