//! FHIR R4 under `/fhir`: Patient, Observation (lab results and exposures),
//! Condition (cases), read and search; a transaction or batch Bundle of lab
//! Observations into the same intake as `POST /api/v1/lab-results`; the
//! bulk `$export` (asynchronous, de-identified, for analysts); and the
//! CapabilityStatement at `/fhir/metadata`.
//!
//! Every route but `metadata` is behind the same caller check, access table
//! (`needs::TABLE`) and audit as the JSON API: a tracer reads only the
//! persons of the tasks they hold, a supervisor their jurisdictions, and
//! every read is in the audit log. Personal data never goes in a URL: a
//! GET search takes ids only, and a search by phone, email or name and birth
//! date is a `POST …/_search` with a form body. Errors are OperationOutcomes
//! that name the element at fault, never a value (docs/fhir.md).

mod bundle;
mod export;
pub mod resources;

use crate::auth::{self, Caller};
use crate::extract::{Act, ActBody, Call};
use crate::guard::{self, Found, Touch};
use crate::needs::Record;
use crate::{ApiError, AppState};
use axum::body::Body;
use axum::extract::{Query, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use resources::{FHIR_JSON, issue, issue_code, outcome};
use serde_json::{Value, json};
use tracedesk_casework::{LabOutcomeView, PersonRef, PersonSearch};
use tracedesk_identity::access::Decision;
use uuid::Uuid;

/// The most entries a Bundle may hold (the JSON API's batch limit).
#[derive(Clone, Copy)]
struct MaxEntries(usize);

/// The FHIR routes, at their full paths (`/fhir/…`).
pub fn routes(state: AppState, max_entries: usize) -> Router<AppState> {
    let authed = Router::new()
        .route("/fhir", post(post_bundle))
        .route("/fhir/Patient", get(search_patients))
        .route("/fhir/Patient/_search", post(search_patients_form))
        .route("/fhir/Patient/{id}", get(read_patient))
        .route("/fhir/Observation", get(search_observations))
        .route("/fhir/Observation/{id}", get(read_observation))
        .route("/fhir/Condition", get(search_conditions))
        .route("/fhir/Condition/{id}", get(read_condition))
        .route("/fhir/$export", get(export::kick_off))
        .route("/fhir/$export-status/{job}", get(export::status))
        .route("/fhir/$export-file/{job}/{kind}", get(export::file))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::audit_layer,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state,
            auth::require_caller,
        ))
        .layer(Extension(MaxEntries(max_entries)));
    // What this server does is no secret: clients read it before signing in.
    let public = Router::new().route("/fhir/metadata", get(metadata));
    public
        .merge(authed)
        .layer(axum::middleware::from_fn(outcomes))
}

/// The CapabilityStatement.
async fn metadata() -> Response {
    fhir(
        StatusCode::OK,
        &resources::capability_statement(chrono::Utc::now().date_naive()),
    )
}

/// A FHIR JSON answer.
fn fhir(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    r
}

/// A FHIR JSON answer and the records it shows (audited before it leaves).
fn shown(body: &Value, touched: Vec<Touch>) -> Response {
    guard::with_touch(fhir(StatusCode::OK, body), touched)
}

/// Every error under `/fhir` as an OperationOutcome: the API's error (its
/// message names the field, never the value) at the element it names.
async fn outcomes(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if status.is_success() {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let Some(err) = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v.get("error").cloned())
    else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let message = err["message"].as_str().unwrap_or("the request failed");
    let body = outcome(vec![issue(
        issue_code(status.as_u16()),
        message,
        err["field"].as_str(),
    )]);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    Response::from_parts(parts, Body::from(body.to_string()))
}

/// An OperationOutcome with these issues, as an error answer.
fn refuse(status: StatusCode, issues: Vec<Value>) -> Response {
    fhir(status, &outcome(issues))
}

fn invalid(expression: Option<&str>, message: &str) -> Response {
    refuse(
        StatusCode::BAD_REQUEST,
        vec![issue("invalid", message, expression)],
    )
}

/// A FHIR JSON body (`application/fhir+json`, or `application/json`).
pub struct FhirJson(pub Value);

impl ActBody for FhirJson {
    async fn read(req: Request, state: &AppState) -> Result<Self, ApiError> {
        crate::extract::json_body(
            req,
            state,
            &[FHIR_JSON, "application/json"],
            "send the body as application/fhir+json",
        )
        .await
        .map(FhirJson)
    }
}

/// Search parameters that would carry personal data in a URL.
const PERSONAL: &[&str] = &[
    "name",
    "family",
    "given",
    "birthdate",
    "phone",
    "email",
    "telecom",
    "address",
    "address-postalcode",
    "address-city",
];

/// Parameters every search may carry and this server ignores.
fn ignorable(k: &str) -> bool {
    matches!(k, "_format" | "_pretty" | "_count" | "_summary")
}

/// A GET search's parameters, each one of `allowed`; one that would carry
/// personal data is refused with where to send it instead.
fn params(
    q: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
    kind: &str,
    allowed: &[&str],
) -> Result<Vec<(String, String)>, Box<Response>> {
    let Ok(Query(q)) = q else {
        return Err(Box::new(invalid(None, "the query string cannot be read")));
    };
    for (k, _) in &q {
        let k = k.split(':').next().unwrap_or(k);
        if allowed.contains(&k) || ignorable(k) {
            continue;
        }
        if PERSONAL.contains(&k) {
            return Err(Box::new(refuse(
                StatusCode::BAD_REQUEST,
                vec![issue(
                    "security",
                    &format!(
                        "{k}: personal data never goes in a URL; POST /fhir/{kind}/_search with a form body"
                    ),
                    Some(k),
                )],
            )));
        }
        return Err(Box::new(refuse(
            StatusCode::BAD_REQUEST,
            vec![issue(
                "not-supported",
                &format!("{kind} is not searched by this parameter here (see /fhir/metadata)"),
                None,
            )],
        )));
    }
    Ok(q)
}

/// The id a token search parameter names: `urn:uuid:…` under
/// `urn:ietf:rfc:3986`, or a bare id.
fn token_id(raw: &str) -> Option<Uuid> {
    let value = match raw.split_once('|') {
        Some((system, v)) if system.is_empty() || system == resources::URI_SYSTEM => v,
        Some(_) => return None,
        None => raw,
    };
    Uuid::try_parse(value.strip_prefix("urn:uuid:").unwrap_or(value)).ok()
}

/// A Patient as the caller may see it, by the id they hold (a person's
/// or a facet's); `None` when they may not (nothing said about why).
async fn patient_for(
    s: &AppState,
    caller: &Caller,
    id: Uuid,
) -> Result<Option<(Value, Uuid)>, ApiError> {
    let Some(found) = s.cw.cases().person_ref(id).await? else {
        return Ok(None);
    };
    let (person, decision, view) = match &found {
        PersonRef::Person(row) => (
            row.id,
            s.cw.staff().decide(&caller.principal, row.id).await?,
            s.cw.cases().person_view(row)?,
        ),
        PersonRef::Facet(f) => (
            f.person_id,
            s.cw.staff()
                .decide_in(&caller.principal, f.person_id, &f.jurisdiction)
                .await?,
            s.cw.cases().facet_view(f)?,
        ),
    };
    Ok(
        (decision == Decision::Allow)
            .then(|| (patient_resource(id, person, &found, &view), person)),
    )
}

/// The Patient the id `id` names: a merged record's is replaced by its
/// survivor's (`person_ref` answered with the survivor).
fn patient_resource(
    id: Uuid,
    person: Uuid,
    found: &PersonRef,
    view: &tracedesk_casework::PersonView,
) -> Value {
    match found {
        PersonRef::Person(_) if id != person => resources::replaced_patient(id, person),
        _ => resources::patient(id, view),
    }
}

/// `GET /fhir/Patient?_id=…` or `?identifier=urn:ietf:rfc:3986|urn:uuid:…`.
async fn search_patients(
    call: Call,
    q: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = match params(q, "Patient", &["_id", "identifier"]) {
        Ok(q) => q,
        Err(r) => return Ok(*r),
    };
    patients_by(&call, &q).await
}

/// `POST /fhir/Patient/_search`: ids, or a phone, an email, or family,
/// given and birthdate, in a form body.
async fn search_patients_form(
    call: Call,
    form: Result<Form<Vec<(String, String)>>, axum::extract::rejection::FormRejection>,
) -> Result<Response, ApiError> {
    let Ok(Form(q)) = form else {
        return Ok(invalid(
            None,
            "send the search as a form (application/x-www-form-urlencoded)",
        ));
    };
    let allowed = [
        "_id",
        "identifier",
        "phone",
        "email",
        "telecom",
        "family",
        "given",
        "birthdate",
    ];
    if q.iter()
        .any(|(k, _)| !allowed.contains(&k.as_str()) && !ignorable(k))
    {
        return Ok(refuse(
            StatusCode::BAD_REQUEST,
            vec![issue(
                "not-supported",
                "Patient is searched by _id, identifier, phone, email, or family, given and birthdate",
                None,
            )],
        ));
    }
    patients_by(&call, &q).await
}

async fn patients_by(call: &Call, q: &[(String, String)]) -> Result<Response, ApiError> {
    let (s, caller) = (&call.s, &call.caller);
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let mut found: Vec<Value> = Vec::new();
    let mut touched: Vec<Touch> = Vec::new();
    let ids: Vec<&str> = q
        .iter()
        .filter(|(k, _)| k == "_id" || k == "identifier")
        .map(|(_, v)| v.as_str())
        .collect();
    if !ids.is_empty() {
        for raw in ids {
            // An id that is not one of ours matches nothing.
            let Some(id) = token_id(raw) else { continue };
            if let Some((p, person)) = patient_for(s, caller, id).await? {
                found.push(p);
                touched.push(("person", person, Some(person)));
            }
        }
        return Ok(shown(&resources::searchset(found), touched));
    }
    let telecom = get("telecom");
    let search = PersonSearch {
        phone: get("phone").or_else(|| telecom.clone().filter(|t| !t.contains('@'))),
        email: get("email").or_else(|| telecom.filter(|t| t.contains('@'))),
        first_name: get("given"),
        last_name: get("family"),
        dob: get("birthdate"),
    };
    // Only the matches the caller is entitled to (break-glass opens one
    // record, not a search), as the JSON API's search.
    for p in s.cw.cases().find_persons(&search).await? {
        if s.cw.staff().decide(&caller.principal, p.id).await? == Decision::Allow {
            touched.push(("person", p.id, Some(p.id)));
            found.push(resources::patient(p.id, &p));
        }
    }
    Ok(shown(&resources::searchset(found), touched))
}

/// A Patient: by the person's own id, their identity as first recorded; by
/// a facet's id, what that jurisdiction recorded.
async fn read_patient(call: Call) -> Result<Response, ApiError> {
    let r = call.record()?;
    let Found::Person(found, _) = &r.found else {
        return Err(ApiError::internal(&"not a person"));
    };
    let cases = call.s.cw.cases();
    let (person, view) = match found {
        PersonRef::Person(row) => (row.id, cases.person_view(row)?),
        PersonRef::Facet(f) => (f.person_id, cases.facet_view(f)?),
    };
    Ok(shown(
        &patient_resource(r.id, person, found, &view),
        vec![("person", person, Some(person))],
    ))
}

/// A Condition: one case.
async fn read_condition(call: Call) -> Result<Response, ApiError> {
    let (resource, touch) = resource_of(&call.s, call.record()?).await?;
    Ok(shown(&resource, vec![touch]))
}

/// An Observation: a lab result or a contact record.
async fn read_observation(call: Call) -> Result<Response, ApiError> {
    let (resource, touch) = resource_of(&call.s, call.record()?).await?;
    Ok(shown(&resource, vec![touch]))
}

/// The resource a case, lab result or contact record the caller is
/// entitled to is, and the audit entry of showing it: what a read and a
/// search by `_id` both answer.
async fn resource_of(s: &AppState, e: &guard::Entitled) -> Result<(Value, Touch), ApiError> {
    let cases = s.cw.cases();
    match &e.found {
        Found::Case(row) => Ok((
            resources::condition(&cases.case_view(row)?),
            ("case", row.id, Some(row.person_id)),
        )),
        Found::Lab(row) => Ok((
            resources::lab_observation(
                &cases.lab_result_view(row)?,
                shown_id(s, row.person_id, &row.jurisdiction).await?,
            ),
            ("lab_result", row.id, Some(row.person_id)),
        )),
        Found::Exposure => {
            let row = cases
                .exposure_row(e.id)
                .await?
                .ok_or_else(|| ApiError::not_found("exposure"))?;
            Ok((
                resources::exposure_observation(&cases.contact_view(&row)?),
                ("exposure", row.id, Some(row.contact_person_id)),
            ))
        }
        _ => Err(ApiError::internal(
            &"not a case, lab result or contact record",
        )),
    }
}

/// The id jurisdiction `j` knows `person` by.
async fn shown_id(s: &AppState, person: Uuid, j: &str) -> Result<Uuid, ApiError> {
    let ids = s.cw.cases().shown_ids(&[person]).await?;
    Ok(ids.get(&(person, j.to_string())).copied().unwrap_or(person))
}

/// The person a `subject`/`patient` parameter names, as the caller is
/// entitled to them (by the person's rule, refusals audited; not by
/// break-glass, which opens one record, not a search).
async fn subject_of(call: &Call, q: &[(String, String)]) -> Result<guard::Entitled, ApiError> {
    let raw = q
        .iter()
        .find(|(k, _)| k == "subject" || k == "patient")
        .map(|(_, v)| v.trim());
    let Some(raw) = raw else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            "search by subject (or patient): Patient/{id}",
        )
        .with_field("subject"));
    };
    let id = raw.strip_prefix("Patient/").unwrap_or(raw);
    let e = guard::entitle(&call.s, &call.caller, Record::Person, id, call.route).await?;
    if e.flagged {
        return Err(guard::deny(
            &call.s,
            &call.caller,
            "person",
            Some(e.id),
            e.person,
            call.route,
        )
        .await);
    }
    Ok(e)
}

/// `GET /fhir/Observation?subject=Patient/{id}` (or `_id`): the person's
/// lab results of the caller's jurisdictions and their contact records.
async fn search_observations(
    call: Call,
    q: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = match params(q, "Observation", &["_id", "subject", "patient", "category"]) {
        Ok(q) => q,
        Err(r) => return Ok(*r),
    };
    if let Some((_, id)) = q.iter().find(|(k, _)| k == "_id") {
        return by_id(&call, id, Record::Observation).await;
    }
    let e = subject_of(&call, &q).await?;
    let Found::Person(found, js) = &e.found else {
        return Err(ApiError::internal(&"not a person"));
    };
    let person = match found {
        PersonRef::Person(p) => p.id,
        PersonRef::Facet(f) => f.person_id,
    };
    let category = q
        .iter()
        .find(|(k, _)| k == "category")
        .map(|(_, v)| v.as_str());
    let wants = |c: &str| category.is_none_or(|want| want.rsplit('|').next() == Some(c));
    let s = &call.s;
    let cases = s.cw.cases();
    let mut out = Vec::new();
    let mut touched: Vec<Touch> = vec![("person", person, Some(person))];
    if wants("laboratory") {
        let rows = cases.person_lab_rows(person).await?;
        let ids = cases.shown_ids(&[person]).await?;
        for row in rows
            .iter()
            .filter(|l| js.as_ref().is_none_or(|js| js.contains(&l.jurisdiction)))
        {
            let subject = ids
                .get(&(person, row.jurisdiction.clone()))
                .copied()
                .unwrap_or(person);
            out.push(resources::lab_observation(
                &cases.lab_result_view(row)?,
                subject,
            ));
            touched.push(("lab_result", row.id, Some(person)));
        }
    }
    if wants("social-history") {
        let scope = crate::api::list_scope(&call.caller);
        for c in cases.list_person_contacts(person, Some(&scope)).await? {
            touched.push(("exposure", c.exposure_id, Some(c.person)));
            out.push(resources::exposure_observation(&c));
        }
    }
    Ok(shown(&resources::searchset(out), touched))
}

/// `GET /fhir/Condition?subject=Patient/{id}` (or `_id`): the person's
/// cases in the caller's scope.
async fn search_conditions(
    call: Call,
    q: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = match params(q, "Condition", &["_id", "subject", "patient"]) {
        Ok(q) => q,
        Err(r) => return Ok(*r),
    };
    if let Some((_, id)) = q.iter().find(|(k, _)| k == "_id") {
        return by_id(&call, id, Record::Case).await;
    }
    let e = subject_of(&call, &q).await?;
    let person = e.person.unwrap_or(e.id);
    let scope = crate::api::list_scope(&call.caller);
    let page = call
        .s
        .cw
        .cases()
        .list_person_cases(person, None, Some(500), Some(&scope))
        .await?;
    let mut touched: Vec<Touch> = vec![("person", person, Some(person))];
    touched.extend(page.items.iter().map(|c| ("case", c.id, Some(c.person))));
    let out = page.items.iter().map(resources::condition).collect();
    Ok(shown(&resources::searchset(out), touched))
}

/// A search by `_id`: the one resource, by the read's rule, as a searchset
/// (empty when the caller may not see it; the refusal audited).
async fn by_id(call: &Call, raw: &str, kind: Record) -> Result<Response, ApiError> {
    let Some(id) = token_id(raw) else {
        return Ok(shown(&resources::searchset(Vec::new()), Vec::new()));
    };
    let e = match guard::entitle(&call.s, &call.caller, kind, &id.to_string(), call.route).await {
        Ok(e) if !e.flagged => e,
        Ok(_) | Err(_) => return Ok(shown(&resources::searchset(Vec::new()), Vec::new())),
    };
    let (resource, touch) = resource_of(&call.s, &e).await?;
    Ok(shown(&resources::searchset(vec![resource]), vec![touch]))
}

/// `POST /fhir`: a transaction (all recorded, or none) or batch (each on
/// its own) Bundle of lab Observations with their Patients, through the
/// lab results intake.
async fn post_bundle(
    Extension(MaxEntries(max)): Extension<MaxEntries>,
    Act(call, FhirJson(body)): Act<FhirJson>,
) -> Result<Response, ApiError> {
    let (s, caller, route) = (&call.s, &call.caller, call.route);
    let read = bundle::read(&body, max);
    if !read.fatal.is_empty() {
        let issues = read
            .fatal
            .iter()
            .map(|p| issue("invalid", &p.message, Some(&p.expression)))
            .collect();
        return Ok(refuse(StatusCode::BAD_REQUEST, issues));
    }
    let kind = read.kind.unwrap_or(bundle::Kind::Batch);
    // A submitter writes only into its own jurisdictions.
    let default = &s.cw.settings().default_jurisdiction;
    for item in &read.items {
        let j = item
            .input
            .jurisdiction
            .as_deref()
            .map(str::trim)
            .unwrap_or(default);
        guard::within(s, caller, j, route).await?;
    }
    let inputs: Vec<_> = read.items.iter().map(|i| i.input.clone()).collect();
    if kind == bundle::Kind::Transaction {
        // All or nothing: every entry read and every result one intake
        // takes, or nothing is written.
        let mut issues: Vec<Value> = read
            .refused
            .iter()
            .map(|(_, p)| issue("invalid", &p.message, Some(&p.expression)))
            .collect();
        for (item, err) in read
            .items
            .iter()
            .zip(s.cw.cases().check_lab_results(&inputs).await)
        {
            if let Some(e) = err {
                let at = item.source_of(e.field.as_deref());
                issues.push(issue("invalid", &e.message, Some(&at)));
            }
        }
        if !issues.is_empty() {
            return Ok(refuse(StatusCode::BAD_REQUEST, issues));
        }
    }
    let results = s.cw.cases().ingest_lab_results(&inputs).await;
    let touched = crate::api::lab_results_recorded(s, &results);
    let answer = bundle_response(kind, &read, &results);
    Ok(guard::with_touch(fhir(StatusCode::OK, &answer), touched))
}

/// The transaction-response or batch-response: one entry per entry sent,
/// in order.
fn bundle_response(kind: bundle::Kind, read: &bundle::Read, results: &[LabOutcomeView]) -> Value {
    let mut entries: Vec<Value> = (0..read.entries)
        .map(|_| {
            json!({"response": {
                "status": "200 OK",
                "outcome": outcome(vec![json!({
                    "severity": "information",
                    "code": "informational",
                    "diagnostics": "read as part of a lab result; not stored on its own",
                })]),
            }})
        })
        .collect();
    for (i, p) in &read.refused {
        if let Some(e) = entries.get_mut(*i) {
            *e = json!({"response": {
                "status": "400 Bad Request",
                "outcome": outcome(vec![issue("invalid", &p.message, Some(&p.expression))]),
            }});
        }
    }
    for (item, r) in read.items.iter().zip(results) {
        let response = match r.status {
            "recorded" => json!({
                "status": "201 Created",
                "location": r.lab_result_id.map(|id| format!("Observation/{id}")),
            }),
            "duplicate" => json!({"status": "200 OK"}),
            "conflict" => json!({
                "status": "409 Conflict",
                "outcome": outcome(vec![issue(
                    "conflict",
                    "this accession was recorded with another result; kept for review",
                    Some(&item.source_of(Some("accession"))),
                )]),
            }),
            _ => {
                let (message, field) = r
                    .error
                    .as_ref()
                    .map(|e| (e.message.clone(), e.field.clone()))
                    .unwrap_or_else(|| ("not recorded".into(), None));
                json!({
                    "status": "400 Bad Request",
                    "outcome": outcome(vec![issue(
                        "invalid",
                        &message,
                        Some(&item.source_of(field.as_deref())),
                    )]),
                })
            }
        };
        if let Some(e) = entries.get_mut(item.entry) {
            *e = json!({"response": strip_nulls(response)});
        }
        // The Patient entry: the person the result was recorded for.
        if let (Some(p), Some(person)) = (item.patient, r.person_id)
            && let Some(e) = entries.get_mut(p)
        {
            *e = json!({"response": {
                "status": if r.person_created { "201 Created" } else { "200 OK" },
                "location": format!("Patient/{person}"),
            }});
        }
    }
    let kind = match kind {
        bundle::Kind::Transaction => "transaction-response",
        bundle::Kind::Batch => "batch-response",
    };
    json!({"resourceType": "Bundle", "type": kind, "entry": entries})
}

fn strip_nulls(mut v: Value) -> Value {
    if let Value::Object(o) = &mut v {
        o.retain(|_, v| !v.is_null());
    }
    v
}
