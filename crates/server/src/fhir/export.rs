//! Bulk `$export` (the FHIR Bulk Data Access pattern): a kick-off answered
//! 202 with where to ask, a status answered with the manifest, and one
//! NDJSON file per resource type. De-identified, for analysts (the line
//! list's capability): each Patient is an age band and a jurisdiction,
//! each Condition a case's status and dates, under stand-in ids that differ
//! in every job. The job is a signed token (`casework::bulk_export`), so
//! every node can answer for it; its files are read when fetched, as of the
//! job's time, within the caller's jurisdictions, and every case in them is
//! audited as an export.

use super::resources::{self, extension, issue};
use super::{fhir, refuse};
use crate::ApiError;
use crate::extract::Call;
use crate::guard::{self, Touch};
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tracedesk_casework::bulk_export::{ExportJob, ExportType};
use tracedesk_casework::linelist::{LineListFilter, LineListRow};

/// The formats a file may be asked in (all are NDJSON).
const NDJSON: &[&str] = &["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// `GET /fhir/$export`: starts a job (`Prefer: respond-async` required).
pub async fn kick_off(
    call: Call,
    headers: HeaderMap,
    q: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(Query(q)) = q else {
        return Ok(super::invalid(None, "the query string cannot be read"));
    };
    let async_asked = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|p| p.trim() == "respond-async"));
    if !async_asked {
        return Ok(super::invalid(
            Some("Prefer"),
            "an export is asynchronous: send Prefer: respond-async",
        ));
    }
    let mut types = Vec::new();
    for (k, v) in &q {
        match k.as_str() {
            "_outputFormat" if NDJSON.contains(&v.as_str()) => {}
            "_outputFormat" => {
                return Ok(super::invalid(
                    Some("_outputFormat"),
                    "files are NDJSON: application/fhir+ndjson",
                ));
            }
            "_type" => {
                for t in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    match ExportType::parse(t) {
                        Some(t) => types.push(t),
                        None => {
                            return Ok(super::invalid(
                                Some("_type"),
                                "an export holds Patient and Condition resources only",
                            ));
                        }
                    }
                }
            }
            _ => {
                return Ok(refuse(
                    StatusCode::BAD_REQUEST,
                    vec![issue(
                        "not-supported",
                        "an export takes _type and _outputFormat only",
                        Some(k),
                    )],
                ));
            }
        }
    }
    let (_, token) = call.s.cw.cases().start_export(call.caller.user.id, &types);
    let mut r = StatusCode::ACCEPTED.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/fhir/$export-status/{token}")) {
        r.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    Ok(r)
}

/// The caller's own job, or a refusal like an unknown one (audited).
async fn job_of(call: &Call, token: &str) -> Result<ExportJob, ApiError> {
    match call.s.cw.cases().open_export(token) {
        Some(job) if job.user == call.caller.user.id => Ok(job),
        _ => {
            let e = guard::deny(&call.s, &call.caller, "export", None, None, call.route).await;
            if e.status == StatusCode::INTERNAL_SERVER_ERROR {
                return Err(e);
            }
            Err(ApiError::not_found("export").with_field("job"))
        }
    }
}

/// `GET /fhir/$export-status/{job}`: the manifest. A job's files are read
/// when fetched, so it is complete as soon as it is started.
pub async fn status(call: Call, Path(token): Path<String>) -> Result<Response, ApiError> {
    let job = job_of(&call, &token).await?;
    let types: Vec<&str> = job.types().iter().map(|t| t.name()).collect();
    let manifest = json!({
        "transactionTime": job.issued.to_rfc3339(),
        "request": format!("/fhir/$export?_type={}", types.join(",")),
        "requiresAccessToken": true,
        "output": job.types().iter().map(|t| json!({
            "type": t.name(),
            "url": format!("/fhir/$export-file/{token}/{}", t.name()),
        })).collect::<Vec<_>>(),
        "error": [],
    });
    Ok((StatusCode::OK, axum::Json(manifest)).into_response())
}

/// `GET /fhir/$export-file/{job}/{type}`: one type's resources, one per
/// line.
pub async fn file(
    call: Call,
    Path((token, kind)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let job = job_of(&call, &token).await?;
    let Some(kind) = ExportType::parse(&kind).filter(|k| job.has(*k)) else {
        return Ok(fhir(
            StatusCode::NOT_FOUND,
            &resources::outcome(vec![issue("not-found", "this job has no such file", None)]),
        ));
    };
    let cases = call.s.cw.cases();
    let scope = call.caller.principal.scope.clone();
    let mut body = String::new();
    let mut touched: Vec<Touch> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = cases
            .line_list(
                scope.clone(),
                &LineListFilter::default(),
                cursor.as_deref(),
                Some(500),
            )
            .await?;
        for row in page
            .items
            .iter()
            .filter(|r| tracedesk_casework::Casework::made_by(r.case_id, job.issued))
        {
            let resource = match kind {
                ExportType::Patient => patient(&cases, &job, row),
                ExportType::Condition => condition(&cases, &job, row),
            };
            body.push_str(&resource.to_string());
            body.push('\n');
            touched.push(("case", row.case_id, None));
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+ndjson"),
    );
    Ok(guard::with_touch(r, touched))
}

type Cases<'a> = tracedesk_casework::Cases<'a>;

/// A de-identified person: an age band and a jurisdiction.
fn patient(cases: &Cases<'_>, job: &ExportJob, row: &LineListRow) -> Value {
    json!({
        "resourceType": "Patient",
        "id": cases.export_pseudonym(job, row.person),
        "extension": [
            extension("age-band", "String", json!(row.age_band)),
            extension("jurisdiction", "Code", json!(row.jurisdiction)),
        ],
    })
}

/// A case: status and dates, about its stand-in Patient.
fn condition(cases: &Cases<'_>, job: &ExportJob, row: &LineListRow) -> Value {
    resources::covid_condition(resources::CaseFacts {
        id: cases.export_pseudonym(job, row.case_id),
        status: &row.status,
        subject: cases.export_pseudonym(job, row.person),
        onset: row.onset_date,
        recorded: row.report_date,
        extensions: vec![
            extension("case-status", "Code", json!(row.status)),
            extension("jurisdiction", "Code", json!(row.jurisdiction)),
            extension("asymptomatic", "Boolean", json!(row.asymptomatic)),
            extension("isolation-end", "Date", json!(row.isolation_end)),
            extension("specimen-date", "Date", json!(row.specimen_date)),
        ],
    })
}
