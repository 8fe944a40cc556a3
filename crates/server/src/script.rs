//! The contact notification script in the browser: the `contact_notification`
//! questionnaire as a form (the interview's form machinery), the contact
//! record's last exposure and quarantine end beside it, saved through the
//! same case-work step as `PUT /api/v1/contacts/{id}/interview`. Under
//! `needs::TABLE` by the task's rule; break-glass reads only.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call};
use crate::guard::{self, Found};
use crate::interview::{answers_from, sections};
use crate::pages::{html, staff_chrome};
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use tracedesk_casework::NoteOn;
use tracedesk_casework::questionnaire::{InterviewInput, Questionnaire};
use tracedesk_store::TaskRow;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{ContactDates, ContactDatesPart, ScriptPage};
use uuid::Uuid;

pub fn routes() -> Router<AppState> {
    Router::new().route("/desk/tasks/{id}/script", get(page).post(save))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// The questionnaire the desk notifies contacts with.
const QUESTIONNAIRE: &str = "contact_notification";

/// The task and the contact record it is about.
fn task_exposure(call: &Call) -> Result<(TaskRow, Uuid), ApiError> {
    let Found::Task(task) = &call.record()?.found else {
        return Err(ApiError::internal(&"not a task"));
    };
    let exposure = task
        .exposure_id
        .ok_or_else(|| ApiError::not_found("contact record"))?;
    Ok((task.clone(), exposure))
}

fn questionnaire(s: &AppState) -> Result<&'static Questionnaire, ApiError> {
    s.cw.cases()
        .questionnaire(QUESTIONNAIRE)
        .ok_or_else(|| ApiError::internal(&"the notification script is missing"))
}

async fn dates(
    s: &AppState,
    exposure: Uuid,
    saved: Option<String>,
) -> Result<ContactDates, ApiError> {
    let cases = s.cw.cases();
    let row = cases
        .exposure_row(exposure)
        .await?
        .ok_or_else(|| ApiError::not_found("contact record"))?;
    let v = cases.contact_view(&row)?;
    Ok(ContactDates {
        last_exposure: v.last_exposure.to_string(),
        quarantine_end: v.quarantine_end.to_string(),
        status: v.status,
        saved,
    })
}

async fn page(call: Call) -> Result<Response, ApiError> {
    let (task, exposure) = task_exposure(&call)?;
    let q = questionnaire(&call.s)?;
    let answers = call
        .s
        .cw
        .cases()
        .interview(NoteOn::Contact(exposure))
        .await?
        .map(|v| v.answers)
        .unwrap_or_default();
    let page = ScriptPage {
        t: t(),
        chrome: staff_chrome(&call, "script-title", "/desk"),
        task_id: task.id.to_string(),
        form_id: "script",
        sections: sections(q, &answers),
        dates: dates(&call.s, exposure, None).await?,
    };
    let touch = vec![("exposure", exposure, Some(task.person_id))];
    Ok(guard::with_touch(html(page), touch))
}

async fn save(
    Act(call, Form(pairs)): Act<Form<Vec<(String, String)>>>,
) -> Result<Response, ApiError> {
    if call.record()?.flagged {
        // Break-glass opens a record to read, not to write.
        return Err(ApiError::forbidden());
    }
    let (task, exposure) = task_exposure(&call)?;
    let q = questionnaire(&call.s)?;
    let input = InterviewInput {
        questionnaire: Some(q.id.clone()),
        version: Some(q.version),
        answers: answers_from(q, &pairs),
    };
    let saved = call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .save_interview(NoteOn::Contact(exposure), &input)
        .await?;
    let at = saved.saved_at.format("%H:%M:%S UTC").to_string();
    let dates = dates(
        &call.s,
        exposure,
        Some(t().with("interview-saved", &[("at", &at)])),
    )
    .await?;
    Ok(guard::with_touch(
        html(ContactDatesPart { t: t(), dates }),
        vec![("exposure", exposure, Some(task.person_id))],
    ))
}
