//! Routes of `/api/v1` and the unauthenticated health endpoints.

use crate::answers::{Assigned, CaseWithContacts, Grant, Items, LabBatch, PersonWithResults};
use crate::auth::{self, Caller};
use crate::extract::{Act, ApiJson, ApiQuery, Call, JsonValue, from_value, parse_id};
use crate::guard::{self, Found, Touch, reply, reply_noted};
use crate::{ApiError, AppState, login};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use std::sync::atomic::Ordering;
use tracedesk_casework::{
    CasePatch, ContactInput, ItemError, LabOutcomeView, LabResultInput, PersonRef, PersonSearch,
};
use tracedesk_identity::Role;
use tracedesk_identity::access::{Capability, Decision};
use tracedesk_store::ListScope;
use uuid::Uuid;

pub fn routes(state: AppState, max_batch: usize) -> Router {
    let api = Router::new()
        .route("/lab-results", post(post_lab_results))
        .route("/cases", get(list_cases))
        .route("/cases/{id}", get(get_case).patch(patch_case))
        .route("/cases/{id}/contacts", post(post_contact))
        .route("/contacts", get(list_contacts))
        .route("/contacts/{id}", axum::routing::patch(patch_contact))
        .route("/persons/search", post(search_persons))
        .route("/persons/{id}", get(get_person))
        .route("/line-list", get(line_list))
        .route("/tasks", get(my_tasks))
        .route("/tasks/{id}/assign", post(assign_task))
        .route(
            "/break-glass",
            post(open_break_glass).get(review_break_glass),
        )
        .route("/auth/me", get(login::me))
        .merge(crate::investigation::routes())
        .merge(crate::linkage::routes())
        .merge(crate::messaging::routes())
        .merge(crate::monitoring::routes())
        .merge(crate::templates::routes())
        .merge(crate::routing::routes(state.clone()))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::guard::audit_layer,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_caller,
        ))
        .layer(axum::Extension(MaxBatch(max_batch)));
    let steps = Router::new()
        .route("/totp", post(login::totp))
        .route("/enrol", post(login::enrol_start))
        .route("/enrol/confirm", post(login::enrol_confirm))
        .route("/password", post(login::change_password))
        .route("/logout", post(login::logout))
        .route("/logout-everywhere", post(login::logout_everywhere))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            login::require_partial,
        ))
        .route("/login", post(login::login));
    Router::new()
        .merge(crate::pages::routes())
        .merge(crate::desk::routes(state.clone()))
        .nest("/api/v1", api)
        .nest("/api/v1/auth", steps)
        .route("/api/v1/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::webhooks::routes())
        .merge(crate::report::routes())
        .merge(crate::fhir::routes(state.clone(), max_batch))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .with_state(state)
}

#[derive(Clone, Copy)]
struct MaxBatch(usize);

/// Which rows of a list the caller may see.
pub(crate) fn list_scope(c: &Caller) -> ListScope {
    match c.role() {
        Role::Tracer => ListScope::Assignee(c.user.id),
        _ => ListScope::Within {
            jurisdictions: c.principal.scope.clone(),
            team_members: c.principal.team_members.clone(),
        },
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", security(()),
    responses((status = 200, description = "This document (OpenAPI 3.1)", body = Object)))]
async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "service", security(()),
    responses((status = 200, description = "Alive", body = String)))]
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "service", security(()),
    responses((status = 200, description = "Ready", body = String), (status = 503, description = "The database cannot be reached", body = String)))]
async fn readyz(State(s): State<AppState>) -> Response {
    match s.cw.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

/// Request figures for anyone (a scraper without credentials); with the
/// bearer token of a supervisor or administrator, the case-work counters
/// and record counts too.
#[utoipa::path(get, path = "/metrics", tag = "service", security(()),
    responses((status = 200, description = "Prometheus text format; with a supervisor's or administrator's token, record counts too", body = String)))]
async fn metrics(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let entitled = headers.contains_key(header::AUTHORIZATION)
        && auth::caller(&s, &headers, &axum::http::Method::GET)
            .await
            .is_ok_and(|c| {
                c.principal.can(Capability::Supervise) || c.principal.can(Capability::Administer)
            });
    let counts = if entitled {
        s.cw.counts().await.ok()
    } else {
        None
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(counts.as_ref()),
    )
        .into_response()
}

/// One result (an object) or a batch (an array). Each item of a batch is
/// checked on its own: a bad item is reported at its index and the others
/// are recorded.
#[utoipa::path(post, path = "/api/v1/lab-results", tag = "case work",
    request_body = crate::answers::LabResults,
    responses(
        (status = 201, description = "Recorded (a single result)", body = LabOutcomeView),
        (status = 200, description = "A batch, one outcome per item at its index; or a single duplicate", body = LabBatch),
        (status = 413, description = "The body is too large", body = crate::error::ErrorBody),
    ))]
async fn post_lab_results(
    axum::Extension(MaxBatch(max)): axum::Extension<MaxBatch>,
    Act(call, JsonValue(body)): Act<JsonValue>,
) -> Result<Response, ApiError> {
    let (s, caller, route) = (&call.s, &call.caller, call.route);
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
    // A submitter writes only into its own jurisdictions.
    let default = &s.cw.settings().default_jurisdiction;
    for v in &valid {
        let j = v.jurisdiction.as_deref().map(str::trim).unwrap_or(default);
        guard::within(s, caller, j, route).await?;
    }
    let mut done = s.cw.cases().ingest_lab_results(&valid).await.into_iter();
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
    let touched = lab_results_recorded(s, &results);
    let count = |status: &str| results.iter().filter(|r| r.status == status).count();
    let (rejected, conflicts) = (count("rejected"), count("conflict"));
    let (recorded, duplicates) = (count("recorded"), count("duplicate"));
    if single {
        let r = &results[0];
        if let Some(e) = &r.error {
            let mut err =
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code, e.message.clone());
            err.field = e.field.clone();
            if e.code == "internal" {
                err.status = StatusCode::INTERNAL_SERVER_ERROR;
            }
            if e.code == "conflict" {
                err.status = StatusCode::CONFLICT;
            }
            return Err(err);
        }
        let status = if r.status == "duplicate" {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok(reply(status, r, touched));
    }
    let body = LabBatch {
        recorded,
        duplicates,
        conflicts,
        rejected,
        results,
    };
    Ok(reply(StatusCode::OK, body, touched))
}

/// Counts what an intake recorded (metrics) and lists what it touched: the
/// persons, and the contact records a positive converted.
pub(crate) fn lab_results_recorded(s: &AppState, results: &[LabOutcomeView]) -> Vec<Touch> {
    let count = |status: &str| results.iter().filter(|r| r.status == status).count() as u64;
    let m = &s.metrics;
    m.lab_results_recorded
        .fetch_add(count("recorded"), Ordering::Relaxed);
    m.lab_results_rejected
        .fetch_add(count("rejected"), Ordering::Relaxed);
    let cases = results.iter().filter(|r| r.case_created).count() as u64;
    m.cases_created.fetch_add(cases, Ordering::Relaxed);
    let mut touched: Vec<Touch> = results
        .iter()
        .filter_map(|r| r.person.map(|p| ("person", p, Some(p))))
        .collect();
    for r in results {
        touched.extend(r.converted.iter().map(|e| ("exposure", *e, r.person)));
    }
    touched
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CaseQuery {
    /// One person's cases (the person's or a facet's id); other filters
    /// do not apply with it.
    #[param(value_type = Option<Uuid>)]
    person_id: Option<String>,
    #[param(schema_with = tracedesk_casework::api_schema::case_status)]
    status: Option<String>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Cases in the caller's scope, newest first, in keyset pages (`next` back
/// as `cursor`).
#[utoipa::path(get, path = "/api/v1/cases", tag = "case work", params(CaseQuery),
    responses((status = 200, description = "A page of cases", body = tracedesk_casework::Page<tracedesk_casework::CaseView>)))]
async fn list_cases(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<CaseQuery>,
) -> Result<Response, ApiError> {
    let scope = list_scope(&caller);
    if let Some(raw) = q.person_id.as_deref() {
        let id = parse_id(raw, "person")?;
        // A facet's id names its person; the scope decides what is shown.
        let person = match s.cw.cases().person_ref(id).await? {
            Some(PersonRef::Person(p)) => p.id,
            Some(PersonRef::Facet(f)) => f.person_id,
            None => id,
        };
        let page =
            s.cw.cases()
                .list_person_cases(person, q.cursor.as_deref(), q.limit, Some(&scope))
                .await?;
        return Ok(guard::reply_page(page, |c| ("case", c.id, Some(c.person))));
    }
    let page =
        s.cw.cases()
            .list_cases(
                q.status.as_deref(),
                q.from,
                q.to,
                q.cursor.as_deref(),
                q.limit,
                Some(&scope),
            )
            .await?;
    Ok(guard::reply_page(page, |c| ("case", c.id, Some(c.person))))
}

/// One case with its contact records.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    responses((status = 200, description = "The case and its contacts", body = CaseWithContacts)))]
async fn get_case(call: Call) -> Result<Response, ApiError> {
    let row = guard::found!(call.record()?, Found::Case);
    let s = &call.s;
    let mut case = s.cw.cases().case_view(row)?;
    case.investigator_id = s.cw.cases().investigator(case.id).await?;
    let contacts =
        s.cw.cases()
            .list_contacts(Some(case.id), None, None, Some(500), None)
            .await?;
    let mut touched: Vec<Touch> = vec![("case", case.id, Some(row.person_id))];
    touched.extend(
        contacts
            .items
            .iter()
            .map(|c| ("exposure", c.exposure_id, Some(c.person))),
    );
    let warnings =
        s.cw.cases()
            .warnings(tracedesk_casework::NoteOn::Case(case.id))
            .await?;
    let body = CaseWithContacts {
        case,
        contacts: contacts.items,
        warnings,
    };
    Ok(reply(StatusCode::OK, body, touched))
}

/// Updates a case's status, onset, symptoms or notes; its dates are
/// computed again (a closed or refused case's open tasks end).
#[utoipa::path(patch, path = "/api/v1/cases/{id}", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = CasePatch,
    responses(
        (status = 200, description = "The updated case; its dates recomputed", body = tracedesk_casework::CaseView),
        (status = 409, description = "A status the case cannot move to", body = crate::error::ErrorBody),
    ))]
async fn patch_case(
    Act(call, ApiJson(patch)): Act<ApiJson<CasePatch>>,
) -> Result<Response, ApiError> {
    let id = call.record()?.id;
    let cases = call.s.cw.cases().by(call.caller.user.id);
    let case = cases.patch_case(id, &patch).await?;
    let touched = vec![("case", case.id, Some(case.person))];
    Ok(reply(StatusCode::OK, case, touched))
}

/// Names a contact of a case: the person matched or made, the contact
/// record with its quarantine end, and a notification task.
#[utoipa::path(post, path = "/api/v1/cases/{id}/contacts", tag = "case work", params(("id" = Uuid, Path, description = "The case's id")),
    request_body = ContactInput,
    responses(
        (status = 201, description = "The contact record, with warnings about its dates", body = tracedesk_casework::ContactOutcome),
        (status = 409, description = "The case is closed", body = crate::error::ErrorBody),
    ))]
async fn post_contact(
    Act(call, ApiJson(input)): Act<ApiJson<ContactInput>>,
) -> Result<Response, ApiError> {
    let s = &call.s;
    let cases = s.cw.cases().by(call.caller.user.id);
    let out = cases.add_contact(call.record()?.id, &input).await?;
    Ok(contact_named(s, out))
}

/// The answer to naming a contact (by a case, or by a contact), counted.
pub(crate) fn contact_named(s: &AppState, out: tracedesk_casework::ContactOutcome) -> Response {
    s.metrics.contacts_named.fetch_add(1, Ordering::Relaxed);
    let touched = vec![("exposure", out.exposure_id, Some(out.person))];
    reply(StatusCode::CREATED, out, touched)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ContactQuery {
    #[param(value_type = Option<Uuid>)]
    case_id: Option<String>,
    #[param(schema_with = tracedesk_casework::api_schema::contact_status)]
    status: Option<String>,
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Contact records in the caller's scope (the monitoring line list), newest
/// first, in keyset pages.
#[utoipa::path(get, path = "/api/v1/contacts", tag = "case work", params(ContactQuery),
    responses((status = 200, description = "A page of contact records", body = tracedesk_casework::Page<tracedesk_casework::ContactView>)))]
async fn list_contacts(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<ContactQuery>,
) -> Result<Response, ApiError> {
    let case_id = q
        .case_id
        .as_deref()
        .map(|c| parse_id(c, "case"))
        .transpose()?;
    let scope = list_scope(&caller);
    let page =
        s.cw.cases()
            .list_contacts(
                case_id,
                q.status.as_deref(),
                q.cursor.as_deref(),
                q.limit,
                Some(&scope),
            )
            .await?;
    Ok(guard::reply_page(page, |c| {
        ("exposure", c.exposure_id, Some(c.person))
    }))
}

/// A contact record's follow-up: its status, the date of a negative test
/// (entitlement in its jurisdiction).
#[utoipa::path(patch, path = "/api/v1/contacts/{id}", tag = "case work", params(("id" = Uuid, Path, description = "The contact record's id")),
    request_body = tracedesk_casework::ContactPatch,
    responses(
        (status = 200, description = "The contact record", body = tracedesk_casework::ContactView),
        (status = 409, description = "A status the record cannot move to", body = crate::error::ErrorBody),
    ))]
async fn patch_contact(
    Act(call, ApiJson(patch)): Act<ApiJson<tracedesk_casework::ContactPatch>>,
) -> Result<Response, ApiError> {
    let r = call.record()?;
    let cases = call.s.cw.cases().by(call.caller.user.id);
    let view = cases.patch_contact(r.id, &patch).await?;
    let touched = vec![("exposure", r.id, r.person)];
    Ok(reply(StatusCode::OK, view, touched))
}

/// One person, as the caller may see them: by the person's own id, their
/// identity as first recorded; by a facet's id, what that jurisdiction
/// recorded. Lab results only of the jurisdictions the caller is entitled
/// in (all under break-glass).
#[utoipa::path(get, path = "/api/v1/persons/{id}", tag = "case work", params(("id" = Uuid, Path, description = "The person's id")),
    responses((status = 200, description = "The person and their lab results", body = PersonWithResults)))]
async fn get_person(call: Call) -> Result<Response, ApiError> {
    let r = call.record()?;
    let Found::Person(found, shown) = &r.found else {
        return Err(ApiError::internal(&"not a person"));
    };
    let s = &call.s;
    let (person_id, view) = match found {
        PersonRef::Person(row) => (row.id, s.cw.cases().person_view(row)?),
        PersonRef::Facet(f) => (f.person_id, s.cw.cases().facet_view(f)?),
    };
    let labs =
        s.cw.cases()
            .person_lab_results(person_id, shown.as_deref())
            .await?;
    let scope = list_scope(&call.caller);
    let cases =
        s.cw.cases()
            .list_person_cases(person_id, None, Some(500), Some(&scope))
            .await?
            .items;
    let exposures =
        s.cw.cases()
            .list_person_contacts(person_id, Some(&scope))
            .await?;
    let identity_history =
        s.cw.cases()
            .person_points(person_id, shown.as_deref())
            .await?;
    let households =
        s.cw.cases()
            .households_of(person_id, shown.as_deref())
            .await?
            .into_iter()
            .map(|(household_id, case_id)| crate::answers::HouseholdRef {
                household_id,
                case_id,
            })
            .collect();
    let warnings =
        s.cw.cases()
            .person_warnings(person_id, shown.as_deref())
            .await?;
    let mut view = view;
    if view.dob.is_none() {
        view.dob = identity_history
            .iter()
            .find(|p| p.kind == "dob")
            .map(|p| p.value.clone());
    }
    let mut touched = vec![("person", person_id, Some(person_id))];
    touched.extend(cases.iter().map(|c| ("case", c.id, Some(c.person))));
    touched.extend(
        exposures
            .iter()
            .map(|e| ("exposure", e.exposure_id, Some(e.person))),
    );
    let body = PersonWithResults {
        person: view,
        lab_results: labs,
        cases,
        exposures,
        identity_history,
        households,
        warnings,
    };
    Ok(reply(StatusCode::OK, body, touched))
}

/// Finds persons by phone, email, or name and date of birth (a blind-index
/// look-up: the terms go in the body, never the URL).
#[utoipa::path(post, path = "/api/v1/persons/search", tag = "case work",
    request_body = PersonSearch,
    responses((status = 200, description = "The matches the caller is entitled to", body = Items<tracedesk_casework::PersonView>)))]
async fn search_persons(
    Call { s, caller, .. }: Call,
    ApiJson(q): ApiJson<PersonSearch>,
) -> Result<Response, ApiError> {
    // Only the matches the caller is entitled to are shown (break-glass
    // access is for opening one record, not for searching).
    let mut shown = Vec::new();
    for p in s.cw.cases().find_persons(&q).await? {
        if s.cw.staff().decide(&caller.principal, p.id).await? == Decision::Allow {
            shown.push(p);
        }
    }
    let touched = shown.iter().map(|p| ("person", p.id, Some(p.id))).collect();
    Ok(reply(StatusCode::OK, Items { items: shown }, touched))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    pub(crate) cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub(crate) limit: Option<u32>,
}

/// A line list's filters and page: a case status, report dates (both
/// ends included), one jurisdiction (with those within it) of the caller's.
#[derive(Deserialize, utoipa::IntoParams, Default)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct LineListQuery {
    #[param(schema_with = tracedesk_casework::api_schema::case_status)]
    pub(crate) status: Option<String>,
    pub(crate) from: Option<NaiveDate>,
    pub(crate) to: Option<NaiveDate>,
    pub(crate) jurisdiction: Option<String>,
    pub(crate) cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    pub(crate) limit: Option<u32>,
}

impl LineListQuery {
    /// The caller's jurisdictions this list covers: all of them, or the
    /// asked one's subtree within them (one outside them is refused and
    /// the refusal audited).
    pub(crate) async fn scope(&self, call: &Call) -> Result<Vec<String>, ApiError> {
        let mine = &call.caller.principal.scope;
        match self.jurisdiction.as_deref().map(str::trim) {
            None | Some("") => Ok(mine.clone()),
            Some(j) => {
                guard::within(&call.s, &call.caller, j, call.route).await?;
                Ok(call
                    .s
                    .cw
                    .jurisdictions()
                    .subtree(j)
                    .into_iter()
                    .filter(|c| mine.contains(c))
                    .collect())
            }
        }
    }

    pub(crate) fn filter(&self) -> tracedesk_casework::linelist::LineListFilter {
        tracedesk_casework::linelist::LineListFilter {
            status: self.status.clone().filter(|s| !s.is_empty()),
            from: self.from,
            to: self.to,
        }
    }
}

/// The de-identified line list (analysts and supervisors), within the
/// caller's jurisdictions.
#[utoipa::path(get, path = "/api/v1/line-list", tag = "analysis", params(LineListQuery),
    responses((status = 200, description = "A page of de-identified rows (audited as an export)", body = tracedesk_casework::Page<tracedesk_casework::linelist::LineListRow>)))]
async fn line_list(call: Call, ApiQuery(q): ApiQuery<LineListQuery>) -> Result<Response, ApiError> {
    let scope = q.scope(&call).await?;
    let page = call
        .s
        .cw
        .cases()
        .line_list(scope, &q.filter(), q.cursor.as_deref(), q.limit)
        .await?;
    Ok(guard::reply_page(page, |r| ("case", r.case_id, None)))
}

/// The caller's own tasks (ids and scheduling only; no PHI).
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TaskQuery {
    #[param(schema_with = tracedesk_casework::api_schema::task_status)]
    status: Option<String>,
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The caller's own tasks, newest first, in keyset pages.
#[utoipa::path(get, path = "/api/v1/tasks", tag = "case work", params(TaskQuery),
    responses((status = 200, description = "A page of the caller's tasks", body = tracedesk_casework::Page<tracedesk_casework::TaskView>)))]
async fn my_tasks(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<TaskQuery>,
) -> Result<Response, ApiError> {
    let page =
        s.cw.cases()
            .tasks_of(
                caller.user.id,
                q.status.as_deref(),
                q.cursor.as_deref(),
                q.limit,
            )
            .await?;
    Ok(Json(page).into_response())
}

/// Whether `user` may be given `task`: an active tracer or supervisor of
/// the task's jurisdiction or one enclosing it — the rule routing keeps:
/// never a sibling's, since assigning opens the person.
pub(crate) async fn check_assignee(
    s: &AppState,
    task: &tracedesk_store::TaskRow,
    user: Uuid,
) -> Result<(), ApiError> {
    let assignee =
        s.cw.staff()
            .user(user)
            .await
            .map_err(ApiError::internal_of)?
            .filter(|a| a.disabled_at.is_none() && a.locked_at.is_none())
            .filter(|a| matches!(Role::parse(&a.role), Some(Role::Tracer | Role::Supervisor)));
    let Some(assignee) = assignee else {
        return Err(ApiError::invalid(
            "user_id",
            "user_id: is not an active tracer or supervisor",
        ));
    };
    if !s
        .cw
        .jurisdictions()
        .ancestry(&task.jurisdiction)
        .contains(&assignee.jurisdiction)
    {
        return Err(ApiError::invalid(
            "user_id",
            "user_id: works in a jurisdiction that does not include the task's",
        ));
    }
    Ok(())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignInput {
    /// The user to assign to; `null` returns the task to the queue.
    user_id: Option<Uuid>,
}

/// A supervisor assigns a task in their jurisdiction to a tracer (the
/// routing engine will do this automatically; this is the manual override).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/assign", tag = "case work", params(("id" = Uuid, Path, description = "The task's id")),
    request_body = AssignInput,
    responses(
        (status = 200, description = "The task's new status", body = Assigned),
        (status = 409, description = "The task is finished", body = crate::error::ErrorBody),
    ))]
async fn assign_task(
    Act(call, ApiJson(input)): Act<ApiJson<AssignInput>>,
) -> Result<Response, ApiError> {
    let s = &call.s;
    let r = call.record()?;
    let task = guard::found!(r, Found::Task);
    let id = r.id;
    if matches!(task.status.as_str(), "completed" | "canceled") {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "illegal_transition",
            format!("the task is {}", task.status),
        )
        .with_field("status"));
    }
    if let Some(u) = input.user_id {
        check_assignee(s, task, u).await?;
    }
    let status = s.cw.cases().assign_task(id, input.user_id).await?;
    let note = match input.user_id {
        Some(u) => format!("assigned to user:{u}"),
        None => "unassigned".into(),
    };
    let body = Assigned {
        id,
        status,
        assignee_id: input.user_id,
    };
    let touched = vec![("task", id, r.person)];
    Ok(reply_noted(StatusCode::OK, body, touched, note))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct BreakGlassInput {
    person_id: Uuid,
    #[schema(min_length = 10, max_length = 500)]
    reason: String,
}

/// Opens one hour of access to a record the caller is not entitled to.
#[utoipa::path(post, path = "/api/v1/break-glass", tag = "access",
    request_body = BreakGlassInput,
    responses((status = 201, description = "The grant and when it ends", body = Grant)))]
async fn open_break_glass(
    Act(Call { s, caller, .. }, ApiJson(input)): Act<ApiJson<BreakGlassInput>>,
) -> Result<Response, ApiError> {
    let (body, touched) = break_glass(&s, &caller, input.person_id, &input.reason).await?;
    Ok(reply(StatusCode::CREATED, body, touched))
}

/// Opens an hour of break-glass access to `person` (a facet's id opens its
/// person) with `reason`; the grant, and the entry that names it.
pub(crate) async fn break_glass(
    s: &AppState,
    caller: &Caller,
    person: Uuid,
    reason: &str,
) -> Result<(Grant, Vec<guard::Touch>), ApiError> {
    let person = match s.cw.cases().person_ref(person).await? {
        Some(PersonRef::Facet(f)) => f.person_id,
        _ => person,
    };
    let g =
        s.cw.staff()
            .break_glass(&caller.principal, person, reason)
            .await?;
    // The reason is sealed in the grant; the log names the grant.
    let body = Grant {
        id: g.id,
        person_id: g.person_id,
        expires_at: g.expires_at,
    };
    let touched = vec![("break_glass", g.id, Some(g.person_id))];
    Ok((body, touched))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ReviewQuery {
    #[param(minimum = 1, maximum = 365)]
    days: Option<u32>,
}

/// Break-glass use by the supervisor's team members (default: last 7 days).
#[utoipa::path(get, path = "/api/v1/break-glass", tag = "access", params(ReviewQuery),
    responses((status = 200, description = "Grants, with their reasons", body = Items<tracedesk_casework::BreakGlassView>)))]
async fn review_break_glass(
    Call { s, caller, .. }: Call,
    ApiQuery(q): ApiQuery<ReviewQuery>,
) -> Result<Response, ApiError> {
    let days = i64::from(q.days.unwrap_or(7).clamp(1, 365));
    let since = chrono::Utc::now() - chrono::Duration::days(days);
    let items =
        s.cw.staff()
            .break_glass_review(&caller.principal, since)
            .await?;
    // The reasons may describe the person: reading them is a PHI read.
    let touched = items
        .iter()
        .map(|g| ("break_glass", g.id, Some(g.person_id)))
        .collect();
    Ok(reply(StatusCode::OK, Items { items }, touched))
}
