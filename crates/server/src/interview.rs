//! The guided case interview in the browser: the questionnaire's sections
//! as a form (skip logic shown and hidden by `app.js`, checked again here),
//! the case's dates (infectious period, isolation end) beside it, moved by
//! each save, and fast entry of the contacts the person names, each with a
//! hint when they matched a person already known.
//!
//! Under `needs::TABLE` by the task's rule (its holder, a supervisor over
//! it); the answers and contacts go through the same case-work steps as
//! `PUT /api/v1/cases/{id}/interview` and `POST /api/v1/cases/{id}/contacts`.
//! A record opened by break-glass is for reading: saving is refused.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call};
use crate::guard::{self, Found, Touch};
use crate::pages::{html, staff_chrome};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use tracedesk_casework::questionnaire::{InterviewInput, Question, QuestionType, Questionnaire};
use tracedesk_casework::{CaseView, ContactInput, NoteOn};
use tracedesk_domain::lifecycle::ExposureSetting;
use tracedesk_store::{CaseRow, TaskRow};
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{
    CaseDates, DatesPart, FormOption, FormQuestion, FormSection, InterviewPage, NamedContact,
    NamedPart, ReferralsPart,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/desk/tasks/{id}/interview", get(page).post(save))
        .route("/desk/tasks/{id}/contacts", post(name_contact))
        .route("/desk/tasks/{id}/referrals", post(refer))
}

/// A case's referrals as the page lists them: kind, status, details.
async fn referrals_of(
    s: &AppState,
    case: uuid::Uuid,
) -> Result<Vec<(String, String, String)>, ApiError> {
    Ok(s.cw
        .cases()
        .referrals(NoteOn::Case(case))
        .await?
        .into_iter()
        .map(|r| {
            (
                t().of("referral-kind", &r.kind),
                t().of("referral-status", &r.status),
                r.details.unwrap_or_default(),
            )
        })
        .collect())
}

/// A referral made from the interview.
#[derive(serde::Deserialize)]
pub struct ReferralForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    details: String,
}

/// Refers the case for a test or support (a referral and its support
/// task, as `POST /api/v1/cases/{id}/referrals`); answers the referrals.
async fn refer(Act(call, Form(f)): Act<Form<ReferralForm>>) -> Result<Response, ApiError> {
    writable(&call)?;
    let (_, case) = task_case(&call).await?;
    let input = tracedesk_casework::ReferralInput {
        kind: Some(f.kind.trim().to_string()).filter(|k| !k.is_empty()),
        details: Some(f.details.trim().to_string()).filter(|d| !d.is_empty()),
    };
    call.s
        .cw
        .cases()
        .by(call.caller.user.id)
        .refer(NoteOn::Case(case.id), &input)
        .await?;
    let referrals = referrals_of(&call.s, case.id).await?;
    Ok(guard::with_touch(
        html(ReferralsPart { t: t(), referrals }),
        vec![("case", case.id, Some(case.person_id))],
    ))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// The questionnaire the desk interviews with.
const QUESTIONNAIRE: &str = "covid19_case_interview";

/// Blank rows offered for repeated entries (gatherings) beyond those saved.
const BLANK_ROWS: usize = 2;

/// Languages a named contact may be given (the six tracedesk speaks).
const LANGUAGES: [&str; 6] = ["en", "es", "zh", "ru", "bn", "ht"];

/// The task and its case.
async fn task_case(call: &Call) -> Result<(TaskRow, CaseRow), ApiError> {
    let Found::Task(task) = &call.record()?.found else {
        return Err(ApiError::internal(&"not a task"));
    };
    let case = task.case_id.ok_or_else(|| ApiError::not_found("case"))?;
    let row = call
        .s
        .cw
        .cases()
        .case_row(case)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    // The task's rule entitled the caller to the task's person in the
    // task's jurisdiction: the case must be that person's, there, so a task
    // that names a case never opens someone else's interview or contacts.
    if row.person_id != task.person_id || row.jurisdiction != task.jurisdiction {
        return Err(ApiError::not_found("case"));
    }
    Ok((task.clone(), row))
}

fn questionnaire(s: &AppState) -> Result<&'static Questionnaire, ApiError> {
    s.cw.cases()
        .questionnaire(QUESTIONNAIRE)
        .ok_or_else(|| ApiError::internal(&"the case questionnaire is missing"))
}

fn en(text: &BTreeMap<String, String>) -> String {
    text.get("en").cloned().unwrap_or_default()
}

fn kind_of(q: &Question) -> &'static str {
    match q.kind {
        QuestionType::Boolean => "boolean",
        QuestionType::Text => "text",
        QuestionType::Date => "date",
        QuestionType::Number => "number",
        QuestionType::SingleChoice => "single",
        QuestionType::MultiChoice => "multi",
        QuestionType::SymptomOnsets => "symptoms",
        QuestionType::Entries => "entries",
    }
}

fn scalar(v: Option<&Value>) -> String {
    match v {
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// One question as a form field named `name`, filled with `answer`.
fn field(q: &Question, name: String, answer: Option<&Value>) -> FormQuestion {
    let chosen: Vec<&str> = answer
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let onsets: BTreeMap<&str, &str> = answer
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| Some((s.get("symptom")?.as_str()?, s.get("onset")?.as_str()?)))
                .collect()
        })
        .unwrap_or_default();
    let value = scalar(answer);
    let options = q
        .choices
        .iter()
        .map(|c| FormOption {
            value: c.id.clone(),
            label: en(&c.text),
            on: match q.kind {
                QuestionType::MultiChoice => chosen.contains(&c.id.as_str()),
                QuestionType::SymptomOnsets => onsets.contains_key(c.id.as_str()),
                _ => value == c.id,
            },
            date: onsets
                .get(c.id.as_str())
                .map(|d| d.to_string())
                .unwrap_or_default(),
        })
        .collect();
    let rows = if q.kind == QuestionType::Entries {
        let saved: Vec<&Map<String, Value>> = answer
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_object).collect())
            .unwrap_or_default();
        (0..saved.len() + BLANK_ROWS)
            .map(|i| {
                q.fields
                    .iter()
                    .map(|f| {
                        field(
                            f,
                            format!("{name}.{i}.{}", f.id),
                            saved.get(i).and_then(|row| row.get(&f.id)),
                        )
                    })
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    FormQuestion {
        id: name.replace('.', "-"),
        name,
        label: en(&q.text),
        kind: kind_of(q),
        required: q.required,
        show_if: q
            .show_if
            .as_ref()
            .map(|c| (format!("q.{}", c.question), scalar(Some(&c.equals)))),
        value,
        options,
        rows,
    }
}

pub(crate) fn sections(q: &Questionnaire, answers: &Map<String, Value>) -> Vec<FormSection> {
    q.sections
        .iter()
        .map(|s| FormSection {
            id: s.id.clone(),
            title: en(&s.title),
            questions: s
                .questions
                .iter()
                .map(|x| field(x, format!("q.{}", x.id), answers.get(&x.id)))
                .collect(),
        })
        .collect()
}

/// The answers a submitted form gives, by the questionnaire: booleans,
/// numbers and lists typed; blanks left out; answers to questions the skip
/// logic leaves out dropped (the browser may still hold them).
pub(crate) fn answers_from(q: &Questionnaire, pairs: &[(String, String)]) -> Map<String, Value> {
    let all = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    };
    let one = |name: &str| all(name).first().map(|v| v.to_string());
    let typed = |x: &Question, v: String| -> Value {
        match x.kind {
            QuestionType::Boolean => match v.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(v),
            },
            QuestionType::Number => v
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::String(v), Value::Number),
            _ => Value::String(v),
        }
    };
    let mut out = Map::new();
    for x in q.questions() {
        let name = format!("q.{}", x.id);
        let value = match x.kind {
            QuestionType::MultiChoice => {
                let v = all(&name);
                (!v.is_empty()).then(|| json!(v))
            }
            QuestionType::SymptomOnsets => {
                let v: Vec<Value> = all(&name)
                    .into_iter()
                    .map(|s| match one(&format!("{name}.{s}.onset")) {
                        Some(d) => json!({"symptom": s, "onset": d}),
                        None => json!({"symptom": s}),
                    })
                    .collect();
                (!v.is_empty()).then_some(Value::Array(v))
            }
            QuestionType::Entries => {
                let mut rows: BTreeMap<usize, Map<String, Value>> = BTreeMap::new();
                for (k, v) in pairs {
                    let Some(rest) = k.strip_prefix(&format!("{name}.")) else {
                        continue;
                    };
                    let Some((i, f)) = rest.split_once('.') else {
                        continue;
                    };
                    let (Ok(i), Some(fq)) =
                        (i.parse::<usize>(), x.fields.iter().find(|q| q.id == f))
                    else {
                        continue;
                    };
                    if !v.trim().is_empty() {
                        rows.entry(i)
                            .or_default()
                            .insert(f.to_string(), typed(fq, v.trim().to_string()));
                    }
                }
                let v: Vec<Value> = rows.into_values().map(Value::Object).collect();
                (!v.is_empty()).then_some(Value::Array(v))
            }
            _ => one(&name).map(|v| typed(x, v)),
        };
        let asked = x
            .show_if
            .as_ref()
            .is_none_or(|c| out.get(&c.question) == Some(&c.equals));
        if let (Some(v), true) = (value, asked) {
            out.insert(x.id.clone(), v);
        }
    }
    out
}

fn dates(v: &CaseView, saved: Option<String>) -> CaseDates {
    CaseDates {
        report: v.report_date.to_string(),
        specimen: v.specimen_date.to_string(),
        onset: match (v.onset_date, v.asymptomatic) {
            (Some(d), _) => d.to_string(),
            (None, true) => t().get("dates-asymptomatic"),
            (None, false) => t().get("dates-unknown"),
        },
        infectious_start: v.infectious_start.to_string(),
        isolation_end: v.isolation_end.to_string(),
        holds: v.release_holds.iter().map(|h| h.message.clone()).collect(),
        saved,
    }
}

/// The case's contacts with their names as the case's jurisdiction knows
/// them (the case's tracer is entitled to whom it named).
async fn named(
    s: &AppState,
    case: uuid::Uuid,
    hints: &BTreeMap<uuid::Uuid, String>,
) -> Result<(Vec<NamedContact>, Vec<Touch>), ApiError> {
    let cases = s.cw.cases();
    let page = cases
        .list_contacts(Some(case), None, None, Some(500), None)
        .await?;
    let mut out = Vec::new();
    let mut touch = Vec::new();
    for c in page.items.iter().filter(|c| c.depth == 1) {
        let name = cases
            .view_by_id(c.contact_person_id)
            .await?
            .map(|v| v.full_name())
            .unwrap_or_default();
        touch.push(("exposure", c.exposure_id, Some(c.person)));
        out.push(NamedContact {
            name,
            setting: t().of("setting", &c.setting),
            last_exposure: c.last_exposure.to_string(),
            quarantine_end: c.quarantine_end.to_string(),
            hint: hints.get(&c.exposure_id).cloned(),
        });
    }
    Ok((out, touch))
}

async fn page(call: Call) -> Result<Response, ApiError> {
    let (task, case) = task_case(&call).await?;
    let q = questionnaire(&call.s)?;
    let cases = call.s.cw.cases();
    let answers = cases
        .interview(NoteOn::Case(case.id))
        .await?
        .map(|v| v.answers)
        .unwrap_or_default();
    let view = cases.case_view(&case)?;
    let (contacts, mut touch) = named(&call.s, case.id, &BTreeMap::new()).await?;
    touch.push(("case", case.id, Some(case.person_id)));
    let language = cases
        .view_by_id(task.shown_person_id.unwrap_or(task.person_id))
        .await?
        .and_then(|v| v.language)
        .unwrap_or_else(|| "en".into());
    let page = InterviewPage {
        t: t(),
        chrome: staff_chrome(&call, "interview-title", "/desk"),
        task_id: task.id.to_string(),
        form_id: "interview",
        sections: sections(q, &answers),
        dates: dates(&view, None),
        contacts,
        languages: LANGUAGES
            .iter()
            .map(|l| (*l, language.split('-').next() == Some(*l)))
            .collect(),
        settings: ExposureSetting::ALL
            .iter()
            .map(|s| (s.as_str(), t().of("setting", s.as_str())))
            .collect(),
        referrals: referrals_of(&call.s, case.id).await?,
        referral_kinds: tracedesk_domain::ReferralKind::ALL
            .iter()
            .map(|k| (k.as_str(), t().of("referral-kind", k.as_str())))
            .collect(),
    };
    Ok(guard::with_touch(html(page), touch))
}

/// Break-glass opens a record to read, not to write.
fn writable(call: &Call) -> Result<(), ApiError> {
    if call.record()?.flagged {
        return Err(ApiError::forbidden());
    }
    Ok(())
}

/// Saves the answers; answers the dates panel as they now stand.
async fn save(
    Act(call, Form(pairs)): Act<Form<Vec<(String, String)>>>,
) -> Result<Response, ApiError> {
    writable(&call)?;
    let (_, case) = task_case(&call).await?;
    let q = questionnaire(&call.s)?;
    let input = InterviewInput {
        questionnaire: Some(q.id.clone()),
        version: Some(q.version),
        answers: answers_from(q, &pairs),
    };
    let cases = call.s.cw.cases().by(call.caller.user.id);
    let saved = cases.save_interview(NoteOn::Case(case.id), &input).await?;
    let row = cases
        .case_row(case.id)
        .await?
        .ok_or_else(|| ApiError::not_found("case"))?;
    let view = cases.case_view(&row)?;
    let at = saved.saved_at.format("%H:%M:%S UTC").to_string();
    Ok(guard::with_touch(
        html(DatesPart {
            t: t(),
            dates: dates(&view, Some(t().with("interview-saved", &[("at", &at)]))),
        }),
        vec![("case", case.id, Some(case.person_id))],
    ))
}

/// Names a contact from the fast entry row; answers the contacts named.
async fn name_contact(
    Act(call, Form(pairs)): Act<Form<Vec<(String, String)>>>,
) -> Result<Response, ApiError> {
    writable(&call)?;
    let (_, case) = task_case(&call).await?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let input = ContactInput {
        first_name: get("first_name"),
        last_name: get("last_name"),
        phone: get("phone"),
        language: get("language"),
        exposure_dates: get("exposure_date").into_iter().collect(),
        setting: get("setting"),
        ..ContactInput::default()
    };
    let out = call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .add_contact(case.id, &input)
        .await?;
    call.s
        .metrics
        .contacts_named
        .fetch_add(1, Ordering::Relaxed);
    let hint = match out.resolution {
        "merged" => Some(t().get("contact-merged")),
        "already_a_case" => Some(t().get("contact-a-case")),
        _ if !out.person_created => Some(t().get("contact-known")),
        _ => None,
    };
    let hints: BTreeMap<_, _> = hint.map(|h| (out.exposure_id, h)).into_iter().collect();
    let (contacts, mut touch) = named(&call.s, case.id, &hints).await?;
    touch.retain(|(_, id, _)| *id == out.exposure_id);
    Ok(guard::with_touch(
        html(NamedPart { t: t(), contacts }),
        touch,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_form_becomes_typed_answers_and_skipped_questions_are_dropped() {
        let q = tracedesk_casework::questionnaire::built_in()
            .iter()
            .find(|q| q.id == QUESTIONNAIRE)
            .unwrap();
        let a = answers_from(
            q,
            &form(&[
                ("q.identity_confirmed", "true"),
                ("q.symptomatic", "true"),
                ("q.symptoms", "fever"),
                ("q.symptoms.fever.onset", "2026-11-28"),
                ("q.symptoms.cough.onset", "2026-11-29"),
                ("q.hospitalized", "false"),
                ("q.icu", "true"),
                ("q.underlying_conditions", "diabetes"),
                ("q.underlying_conditions", "obesity"),
                ("q.congregate_setting", "none"),
                ("q.gatherings.0.kind", ""),
                ("q.gatherings.1.description", "Choir practice"),
                ("q.gatherings.1.date", "2026-11-27"),
                ("q.occupation", "  "),
                ("q.contacts_elicited", "false"),
            ]),
        );
        assert_eq!(a["identity_confirmed"], json!(true));
        assert_eq!(
            a["symptoms"],
            json!([{"symptom": "fever", "onset": "2026-11-28"}]),
            "an onset without its symptom ticked is not a symptom"
        );
        assert_eq!(a["underlying_conditions"], json!(["diabetes", "obesity"]));
        assert_eq!(
            a["gatherings"],
            json!([{"description": "Choir practice", "date": "2026-11-27"}])
        );
        assert!(!a.contains_key("icu"), "not asked when not hospitalized");
        assert!(!a.contains_key("occupation"), "blank");
        assert!(!a.contains_key("contacts_declined"));
    }
}
