//! The sandbox phone page: with the embedded sandbox carrier, each
//! synthetic person's phone as a page — what reached it (texts, calls),
//! what it sent, a reply box and a keypad for check-in calls — so the
//! default install is an interactive operation end to end. It reads and
//! writes through the same steps as `/api/v1/sandbox/persons/{id}/…`, by
//! the person's rule, audited like them; with a real carrier it answers
//! 404.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call};
use crate::guard;
use crate::messaging::{phone_arrivals, phone_keys, phone_reply};
use crate::pages::{html, staff_chrome};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{ArrivalLine, ArrivalsPart, PhonePage, SegmentsPart};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sandbox/persons/{id}", get(page))
        .route("/sandbox/persons/{id}/arrivals", get(arrivals))
        .route("/sandbox/persons/{id}/reply", post(reply))
        .route("/sandbox/persons/{id}/keypad", post(keypad))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// What the phone shows, oldest first: what reached it and what it sent
/// (ids are time-ordered).
async fn lines(call: &Call) -> Result<(Vec<ArrivalLine>, Vec<guard::Touch>), ApiError> {
    let (phone, sent, touch) = phone_arrivals(call).await?;
    let mut lines: Vec<(uuid::Uuid, ArrivalLine)> = phone
        .items
        .into_iter()
        .map(|a| {
            (
                a.message_id,
                ArrivalLine {
                    mine: false,
                    channel: t().of("channel", &a.channel),
                    body: a.body,
                },
            )
        })
        .chain(sent.into_iter().map(|m| {
            (
                m.id,
                ArrivalLine {
                    mine: true,
                    channel: t().of("channel", &m.channel),
                    body: m.body,
                },
            )
        }))
        .collect();
    lines.sort_by_key(|(id, _)| *id);
    Ok((lines.into_iter().map(|(_, l)| l).collect(), touch))
}

async fn page(call: Call) -> Result<Response, ApiError> {
    let (arrivals, touch) = lines(&call).await?;
    let name = crate::messaging::name_of(&call)?;
    let page = PhonePage {
        t: t(),
        chrome: staff_chrome(&call, "phone-title", "/desk"),
        id: call.record()?.id.to_string(),
        name,
        arrivals,
    };
    Ok(guard::with_touch(html(page), touch))
}

async fn arrivals(call: Call) -> Result<Response, ApiError> {
    let (arrivals, touch) = lines(&call).await?;
    Ok(guard::with_touch(
        html(ArrivalsPart { t: t(), arrivals }),
        touch,
    ))
}

/// A text typed at the phone, or keys pressed on its call.
#[derive(Deserialize)]
pub struct PhoneForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    digits: String,
}

/// The phone texts back; the inbound path takes it (keywords included).
async fn reply(Act(call, Form(f)): Act<Form<PhoneForm>>) -> Result<Response, ApiError> {
    phone_reply(&call, f.body).await?;
    let (arrivals, touch) = lines(&call).await?;
    Ok(guard::with_touch(
        html(ArrivalsPart { t: t(), arrivals }),
        touch,
    ))
}

/// A key pressed on the latest check-in call; answers what the call says.
async fn keypad(Act(call, Form(f)): Act<Form<PhoneForm>>) -> Result<Response, ApiError> {
    let (heard, touch) = phone_keys(&call, &f.digits).await?;
    Ok(guard::with_touch(
        html(SegmentsPart { line: heard.says }),
        touch,
    ))
}
