//! Routes of `/api/v1` and the unauthenticated health endpoints.

use crate::extract::{ApiJson, ApiQuery, JsonValue, from_value, parse_id};
use crate::{ApiError, AppState, tokens};
use axum::Extension;
use axum::extract::{Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::Ordering;
use tracedesk_casework::auditor::draft;
use tracedesk_casework::{
    CasePatch, ContactInput, ItemError, LabOutcomeView, LabResultInput, PersonSearch,
};
use tracedesk_store::audit::Action;
use uuid::Uuid;

pub fn routes(state: AppState, max_batch: usize) -> Router {
    let api = Router::new()
        .route("/lab-results", post(post_lab_results))
        .route("/cases", get(list_cases))
        .route("/cases/{id}", get(get_case).patch(patch_case))
        .route("/cases/{id}/contacts", post(post_contact))
        .route("/contacts", get(list_contacts))
        .route("/persons/search", post(search_persons))
        .route("/persons/{id}", get(get_person))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .layer(axum::Extension(MaxBatch(max_batch)));
    Router::new()
        .nest("/api/v1", api)
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { ApiError::not_found("route") })
        .with_state(state)
}

#[derive(Clone, Copy)]
struct MaxBatch(usize);

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = token else {
        return unauthorized("send an API token as `Authorization: Bearer …`");
    };
    match tokens::authenticate(&**state.cw.store(), token).await {
        Ok(Some(id)) => {
            let mut req = req;
            req.extensions_mut().insert(Actor(format!("token:{id}")));
            next.run(req).await
        }
        Ok(None) => unauthorized("the API token is unknown or revoked"),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// Who is calling, as the audit log names them.
#[derive(Clone)]
struct Actor(String);

/// What one response touched: (object kind, object id, whose data).
type Touched = Vec<(&'static str, Uuid, Option<Uuid>)>;

/// Records that `actor` read or wrote the records in `touched` through
/// `route`. Fails the request when the entry cannot be written: PHI is never
/// shown or changed without its audit record.
async fn audit(
    s: &AppState,
    actor: &Actor,
    action: Action,
    route: &str,
    touched: Touched,
) -> Result<(), ApiError> {
    let Some(auditor) = s.cw.auditor() else {
        return Ok(());
    };
    let drafts: Vec<_> = touched
        .into_iter()
        .map(|(object, id, person)| draft(&actor.0, action, object, Some(id), person, route))
        .collect();
    auditor
        .record(drafts)
        .await
        .map_err(|e| ApiError::internal(&e))
}

fn unauthorized(msg: &str) -> Response {
    let mut r = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", msg).into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    r
}

async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}

async fn readyz(State(s): State<AppState>) -> Response {
    match s.cw.store().ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

async fn metrics(State(s): State<AppState>) -> Response {
    let counts = s.cw.store().counts().await.ok();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(counts.as_ref()),
    )
        .into_response()
}

/// One result (an object) or a batch (an array). Each item of a batch is
/// checked on its own: a bad item is reported at its index and the others
/// are recorded.
async fn post_lab_results(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    axum::Extension(MaxBatch(max)): axum::Extension<MaxBatch>,
    JsonValue(body): JsonValue,
) -> Result<Response, ApiError> {
    let (items, single) = match body {
        serde_json::Value::Array(items) => (items, false),
        obj @ serde_json::Value::Object(_) => (vec![obj], true),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_json_field",
                "the body must be a lab result object or an array of them",
            ));
        }
    };
    if items.is_empty() || items.len() > max {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "batch_size",
            format!("a batch holds 1 to {max} lab results"),
        ));
    }
    let mut parsed: Vec<Option<LabResultInput>> = Vec::with_capacity(items.len());
    let mut early: Vec<Option<LabOutcomeView>> = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match from_value::<LabResultInput>(item) {
            Ok(v) => {
                parsed.push(Some(v));
                early.push(None);
            }
            Err(e) => {
                if single {
                    return Err(e);
                }
                parsed.push(None);
                early.push(Some(LabOutcomeView::rejected(
                    i,
                    ItemError {
                        code: e.code,
                        message: e.message,
                        field: e.field,
                    },
                )));
            }
        }
    }
    let valid: Vec<LabResultInput> = parsed.iter().flatten().cloned().collect();
    let mut done = s.cw.ingest_lab_results(&valid).await.into_iter();
    let results: Vec<LabOutcomeView> = early
        .into_iter()
        .enumerate()
        .map(|(i, e)| match e {
            Some(e) => e,
            None => {
                let mut o = done.next().unwrap_or_else(|| {
                    LabOutcomeView::rejected(
                        i,
                        ItemError {
                            code: "internal",
                            message: "not processed".into(),
                            field: None,
                        },
                    )
                });
                o.index = i;
                o
            }
        })
        .collect();
    let rejected = results.iter().filter(|r| r.is_rejected()).count();
    let recorded = results.iter().filter(|r| r.status == "recorded").count();
    let duplicates = results.iter().filter(|r| r.status == "duplicate").count();
    let cases = results.iter().filter(|r| r.case_created).count();
    let m = &s.metrics;
    m.lab_results_recorded
        .fetch_add(recorded as u64, Ordering::Relaxed);
    m.lab_results_rejected
        .fetch_add(rejected as u64, Ordering::Relaxed);
    m.cases_created.fetch_add(cases as u64, Ordering::Relaxed);
    let touched = results
        .iter()
        .filter_map(|r| r.person_id.map(|p| ("person", p, Some(p))))
        .collect();
    audit(
        &s,
        &actor,
        Action::PhiWrite,
        "POST /api/v1/lab-results",
        touched,
    )
    .await?;
    if single {
        let r = &results[0];
        if let Some(e) = &r.error {
            let mut err =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message.clone());
            err.field = e.field.clone();
            if e.code == "internal" {
                err.status = StatusCode::INTERNAL_SERVER_ERROR;
            }
            return Err(err);
        }
        let status = if r.status == "duplicate" {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok((status, Json(r)).into_response());
    }
    Ok(Json(json!({
        "recorded": recorded,
        "duplicates": duplicates,
        "rejected": rejected,
        "results": results,
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseQuery {
    status: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_cases(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.list_cases(
            q.status.as_deref(),
            q.from,
            q.to,
            q.cursor.as_deref(),
            q.limit,
        )
        .await?;
    let touched = page
        .items
        .iter()
        .map(|c| ("case", c.id, Some(c.person_id)))
        .collect();
    audit(&s, &actor, Action::PhiRead, "GET /api/v1/cases", touched).await?;
    Ok(Json(page).into_response())
}

async fn get_case(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "case")?;
    let case = s.cw.get_case(id).await?;
    let contacts = s.cw.list_contacts(Some(id), None, None, Some(500)).await?;
    let mut touched: Touched = vec![("case", case.id, Some(case.person_id))];
    touched.extend(
        contacts
            .items
            .iter()
            .map(|c| ("exposure", c.exposure_id, Some(c.contact_person_id))),
    );
    audit(
        &s,
        &actor,
        Action::PhiRead,
        "GET /api/v1/cases/{id}",
        touched,
    )
    .await?;
    Ok(Json(json!({ "case": case, "contacts": contacts.items })).into_response())
}

async fn patch_case(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<CasePatch>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "case")?;
    let case = s.cw.patch_case(id, &patch).await?;
    let touched = vec![("case", case.id, Some(case.person_id))];
    audit(
        &s,
        &actor,
        Action::PhiWrite,
        "PATCH /api/v1/cases/{id}",
        touched,
    )
    .await?;
    Ok(Json(case).into_response())
}

async fn post_contact(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "case")?;
    let out = s.cw.add_contact(id, &input).await?;
    let touched = vec![("exposure", out.exposure_id, Some(out.contact_person_id))];
    let route = "POST /api/v1/cases/{id}/contacts";
    audit(&s, &actor, Action::PhiWrite, route, touched).await?;
    s.metrics.contacts_named.fetch_add(1, Ordering::Relaxed);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactQuery {
    case_id: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

async fn list_contacts(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> Result<Response, ApiError> {
    let case_id = q
        .case_id
        .as_deref()
        .map(|c| parse_id(c, "case"))
        .transpose()?;
    let page =
        s.cw.list_contacts(case_id, q.status.as_deref(), q.cursor.as_deref(), q.limit)
            .await?;
    let touched = page
        .items
        .iter()
        .map(|c| ("exposure", c.exposure_id, Some(c.contact_person_id)))
        .collect();
    audit(&s, &actor, Action::PhiRead, "GET /api/v1/contacts", touched).await?;
    Ok(Json(page).into_response())
}

async fn get_person(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "person")?;
    let person = s.cw.get_person(id).await?;
    let labs = s.cw.person_lab_results(id).await?;
    let touched = vec![("person", person.id, Some(person.id))];
    audit(
        &s,
        &actor,
        Action::PhiRead,
        "GET /api/v1/persons/{id}",
        touched,
    )
    .await?;
    Ok(Json(json!({ "person": person, "lab_results": labs })).into_response())
}

async fn search_persons(
    State(s): State<AppState>,
    Extension(actor): Extension<Actor>,
    ApiJson(q): ApiJson<PersonSearch>,
) -> Result<Response, ApiError> {
    let found = s.cw.find_persons(&q).await?;
    let touched = found.iter().map(|p| ("person", p.id, Some(p.id))).collect();
    let route = "POST /api/v1/persons/search";
    audit(&s, &actor, Action::PhiRead, route, touched).await?;
    Ok(Json(json!({ "items": found })).into_response())
}
