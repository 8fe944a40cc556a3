//! The OpenAPI 3.1 description served at `/api/v1/openapi.json`.

use serde_json::{Value, json};

fn str_props(names: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for n in names {
        m.insert((*n).into(), json!({ "type": ["string", "null"] }));
    }
    Value::Object(m)
}

fn error_response(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn json_ok(desc: &str, schema: Value) -> Value {
    json!({ "description": desc, "content": { "application/json": { "schema": schema } } })
}

use tracedesk_casework::LAB_FIELDS;
use tracedesk_domain::{CaseStatus, ContactStatus, TaskStatus};

/// A keyset page's query parameters.
fn page_params() -> Value {
    json!([
        { "name": "cursor", "in": "query", "schema": { "type": "string" } },
        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } }
    ])
}

/// A domain enum's wire names, for an OpenAPI `enum`.
fn names<T: Copy + std::fmt::Display>(all: &[T]) -> Vec<String> {
    all.iter().map(ToString::to_string).collect()
}

fn id_param() -> Value {
    json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } })
}

pub fn document() -> Value {
    let mut lab = json!({
        "type": "object",
        "additionalProperties": false,
        "required": LAB_FIELDS.iter().filter(|(_, r)| *r).map(|(n, _)| *n).collect::<Vec<_>>(),
        "properties": str_props(&LAB_FIELDS.iter().map(|(n, _)| *n).collect::<Vec<_>>()),
    });
    lab["description"] = json!(
        "Dates are YYYY-MM-DD. A date of birth or a phone is required. result: positive, negative or inconclusive."
    );
    let mut contact = json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["first_name", "last_name", "exposure_dates"],
        "properties": str_props(&["first_name", "last_name", "dob", "phone", "email", "language", "setting", "notes"]),
    });
    contact["properties"]["exposure_dates"] =
        json!({ "type": "array", "items": { "type": "string", "format": "date" }, "minItems": 1 });
    let page = |item: &str| {
        json!({
            "type": "object",
            "properties": {
                "items": { "type": "array", "items": { "$ref": format!("#/components/schemas/{item}") } },
                "next": { "type": ["string", "null"], "description": "Pass as `cursor` for the next page." }
            }
        })
    };
    let std_errors = |v: &mut Value| {
        v["401"] = error_response("Missing or revoked API token, or no session");
        v["403"] = error_response(
            "Not allowed for this role or record (audited), or the CSRF token is missing or wrong",
        );
        v["429"] = error_response("Rate limited; see Retry-After");
        v["422"] = error_response("A field is invalid; `field` names it");
        v["400"] = error_response("Malformed JSON or query");
    };
    let mut lab_resp = json!({
        "201": json_ok("Recorded (single result)", json!({ "$ref": "#/components/schemas/LabOutcome" })),
        "200": json_ok("Batch outcome, one entry per item, or a duplicate single result", json!({ "type": "object" })),
        "413": error_response("Body too large"),
    });
    std_errors(&mut lab_resp);
    let mut list_resp = json!({ "200": json_ok("A page of cases", page("Case")) });
    std_errors(&mut list_resp);
    let mut case_resp = json!({ "200": json_ok("The case and its contacts", json!({ "type": "object" })), "404": error_response("No such case") });
    std_errors(&mut case_resp);
    let mut patch_resp = json!({ "200": json_ok("The updated case", json!({ "$ref": "#/components/schemas/Case" })), "404": error_response("No such case"), "409": error_response("Illegal status transition") });
    std_errors(&mut patch_resp);
    let mut contact_resp = json!({ "201": json_ok("Exposure recorded, with warnings", json!({ "type": "object" })), "404": error_response("No such case") });
    std_errors(&mut contact_resp);
    let mut contacts_resp = json!({ "200": json_ok("Monitoring line list", page("Contact")) });
    std_errors(&mut contacts_resp);
    let mut contact_patch_resp = json!({ "200": json_ok("The contact record", json!({ "$ref": "#/components/schemas/Contact" })), "409": error_response("Illegal status transition") });
    std_errors(&mut contact_patch_resp);
    let mut person_resp = json!({ "200": json_ok("The person and their lab results", json!({ "type": "object" })), "404": error_response("No such person") });
    std_errors(&mut person_resp);
    let mut search_resp =
        json!({ "200": json_ok("Matching persons", json!({ "type": "object" })) });
    std_errors(&mut search_resp);
    let q = |name: &str, schema: Value| json!({ "name": name, "in": "query", "required": false, "schema": schema });

    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "tracedesk API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Case investigation and contact tracing. Every /api/v1 route needs a caller: `Authorization: Bearer <token>` (a user's token: `tracedesk token create --name N --user U`), or the session cookie from /api/v1/auth/login with `X-CSRF-Token` on state-changing requests. What a caller sees depends on their role and assignments (docs/security.md). Personal data is never accepted in URLs."
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": {
            "/api/v1/lab-results": { "post": {
                "summary": "Record one lab result or a batch",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "oneOf": [ { "$ref": "#/components/schemas/LabResult" }, { "type": "array", "items": { "$ref": "#/components/schemas/LabResult" }, "maxItems": 10000 } ]
                } } } },
                "responses": lab_resp
            } },
            "/api/v1/cases": { "get": {
                "summary": "List cases, newest first (keyset pages)",
                "parameters": [
                    q("status", json!({ "type": "string", "enum": names(CaseStatus::ALL) })),
                    q("from", json!({ "type": "string", "format": "date" })),
                    q("to", json!({ "type": "string", "format": "date" })),
                    q("cursor", json!({ "type": "string" })),
                    q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 500 }))
                ],
                "responses": list_resp
            } },
            "/api/v1/cases/{id}": {
                "get": { "summary": "One case with its contacts", "parameters": [id_param()], "responses": case_resp },
                "patch": {
                    "summary": "Update status, onset, symptoms; dates are recomputed",
                    "parameters": [id_param()],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CasePatch" } } } },
                    "responses": patch_resp
                }
            },
            "/api/v1/cases/{id}/contacts": { "post": {
                "summary": "Name a contact of a case",
                "parameters": [id_param()],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ContactInput" } } } },
                "responses": contact_resp
            } },
            "/api/v1/contacts": { "get": {
                "summary": "Monitoring line list of contacts",
                "parameters": [
                    q("case_id", json!({ "type": "string", "format": "uuid" })),
                    q("status", json!({ "type": "string" })),
                    q("cursor", json!({ "type": "string" })),
                    q("limit", json!({ "type": "integer", "minimum": 1, "maximum": 500 }))
                ],
                "responses": contacts_resp
            } },
            "/api/v1/contacts/{id}": { "patch": {
                "summary": "A contact record's follow-up: move it along its lifecycle (final statuses end its tasks; closed records are later purged) and/or record a negative test (quarantine end recomputed)",
                "parameters": [id_param()],
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "status": { "type": "string", "enum": names(ContactStatus::ALL) },
                        "negative_test_date": { "type": "string", "format": "date", "description": "A negative test; under the 7-day option (taken on or after day 5) it shortens quarantine" }
                    }
                } } } },
                "responses": contact_patch_resp
            } },
            "/api/v1/persons/{id}": { "get": { "summary": "One person", "parameters": [id_param()], "responses": person_resp } },
            "/api/v1/persons/search": { "post": {
                "summary": "Find persons by phone, email, or name + date of birth (blind-index look-up)",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "additionalProperties": false,
                    "properties": str_props(&["phone", "email", "first_name", "last_name", "dob"])
                } } } },
                "responses": search_resp
            } },
            "/api/v1/openapi.json": { "get": { "summary": "This document", "security": [], "responses": { "200": { "description": "OpenAPI 3.1 JSON" } } } },
            "/healthz": { "get": { "summary": "Liveness", "security": [], "responses": { "200": { "description": "Alive" } } } },
            "/readyz": { "get": { "summary": "Readiness (database reachable)", "security": [], "responses": { "200": { "description": "Ready" }, "503": { "description": "Database unavailable" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "security": [], "responses": { "200": { "description": "Text exposition format" } } } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "LabResult": lab,
                "ContactInput": contact,
                "CasePatch": {
                    "type": "object", "additionalProperties": false,
                    "properties": {
                        "status": { "type": "string" },
                        "onset_date": { "type": ["string", "null"], "format": "date" },
                        "asymptomatic": { "type": "boolean" },
                        "symptoms": { "type": "array", "items": { "type": "string" } },
                        "notes": { "type": "string" }
                    }
                },
                "LabOutcome": { "type": "object", "properties": {
                    "index": { "type": "integer" }, "status": { "type": "string", "enum": ["recorded", "duplicate", "rejected"] },
                    "lab_result_id": { "type": "string", "format": "uuid" }, "person_id": { "type": "string", "format": "uuid" },
                    "case_id": { "type": "string", "format": "uuid" }, "person_created": { "type": "boolean" },
                    "case_created": { "type": "boolean" }, "error": { "$ref": "#/components/schemas/ErrorBody" }
                } },
                "Case": { "type": "object", "properties": {
                    "id": { "type": "string", "format": "uuid" }, "person_id": { "type": "string", "format": "uuid" },
                    "status": { "type": "string" }, "report_date": { "type": "string", "format": "date" },
                    "specimen_date": { "type": "string", "format": "date" }, "onset_date": { "type": ["string", "null"], "format": "date" },
                    "asymptomatic": { "type": "boolean" }, "infectious_start": { "type": "string", "format": "date" },
                    "isolation_end": { "type": "string", "format": "date" }, "symptoms": { "type": "array", "items": { "type": "string" } }
                } },
                "Contact": { "type": "object", "properties": {
                    "exposure_id": { "type": "string", "format": "uuid" }, "case_id": { "type": "string", "format": "uuid" },
                    "contact_person_id": { "type": "string", "format": "uuid" }, "status": { "type": "string" },
                    "setting": { "type": "string" }, "quarantine_end": { "type": "string", "format": "date" },
                    "monitoring_days_left": { "type": "integer" }
                } },
                "ErrorBody": { "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" }
                } },
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "$ref": "#/components/schemas/ErrorBody" } } }
            }
        }
    });
    add_access_paths(&mut doc);
    add_routing_paths(&mut doc);
    doc
}

/// Routes of identity and access: sign-in steps, line list, assignment, break-glass.
fn add_access_paths(doc: &mut Value) {
    let ok = |d: &str| json!({ "200": json_ok(d, json!({ "type": "object" })), "401": error_response("Not signed in"), "403": error_response("Not allowed, or CSRF token missing") });
    let body = |props: &[&str]| {
        json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "additionalProperties": false, "properties": str_props(props) } } } })
    };
    let step = |summary: &str, props: &[&str]| {
        json!({ "post": {
        "summary": summary, "requestBody": body(props),
        "responses": { "200": json_ok("Next step: totp, enrol, change_password or done; a new session cookie", json!({ "type": "object", "properties": { "next": { "type": "string" }, "csrf_token": { "type": "string" } } })),
                       "401": error_response("Wrong credentials or code"), "429": error_response("Throttled; see Retry-After") } } })
    };
    let paths = &mut doc["paths"];
    paths["/api/v1/auth/login"] = step(
        "Sign in with username and password (no CSRF token needed)",
        &["username", "password"],
    );
    paths["/api/v1/auth/totp"] = step("Second factor: a 6-digit TOTP code", &["code"]);
    paths["/api/v1/auth/enrol"] = json!({ "post": { "summary": "Start TOTP enrolment: secret, otpauth URI and SVG QR code", "responses": ok("Enrolment secret") } });
    paths["/api/v1/auth/enrol/confirm"] =
        step("Confirm enrolment with a code from the app", &["code"]);
    paths["/api/v1/auth/password"] = step(
        "Change the password (required after an admin reset)",
        &["current_password", "new_password"],
    );
    paths["/api/v1/auth/logout"] = json!({ "post": { "summary": "End this session", "responses": { "204": { "description": "Signed out" } } } });
    paths["/api/v1/auth/logout-everywhere"] = json!({ "post": { "summary": "End every session of the user", "responses": ok("How many sessions ended") } });
    paths["/api/v1/auth/me"] = json!({ "get": { "summary": "Who is signed in", "responses": ok("The user (no secrets)") } });
    paths["/api/v1/line-list"] = json!({ "get": { "summary": "De-identified line list (analysts, supervisors): age band, dates, status, jurisdiction; audited as an export",
        "parameters": [ { "name": "cursor", "in": "query", "schema": { "type": "string" } }, { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500 } } ],
        "responses": ok("A page of de-identified rows") } });
    let mut task_params = page_params();
    if let Some(a) = task_params.as_array_mut() {
        a.push(json!({ "name": "status", "in": "query", "schema": { "type": "string", "enum": names(TaskStatus::ALL) } }));
    }
    paths["/api/v1/tasks"] = json!({ "get": { "summary": "The caller's tasks, newest first, in keyset pages (`next` back as `cursor`); ids and scheduling only",
        "parameters": task_params, "responses": ok("Tasks") } });
    paths["/api/v1/tasks/{id}/assign"] = json!({ "post": { "summary": "Assign a task by hand to a tracer or supervisor, or null to return it to the queue (supervisors, within their jurisdiction); routing lets go of a task it holds, and routes a returned one anew",
        "parameters": [id_param()],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "properties": { "user_id": { "type": ["string", "null"], "format": "uuid" } } } } } },
        "responses": ok("The task's new status") } });
    paths["/api/v1/break-glass"] = json!({
        "post": { "summary": "Open a record you are not entitled to for one hour, with a reason (flagged and audited)",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "required": ["person_id", "reason"],
                "properties": { "person_id": { "type": "string", "format": "uuid" }, "reason": { "type": "string", "minLength": 10, "maxLength": 500 } } } } } },
            "responses": { "201": json_ok("The grant and when it expires", json!({ "type": "object" })), "403": error_response("Role may not break the glass"), "422": error_response("Reason too short or too long") } },
        "get": { "summary": "Break-glass use by the supervisor's team members, with reasons",
            "parameters": [ { "name": "days", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 365 } } ],
            "responses": ok("Grants") }
    });
    doc["components"]["securitySchemes"]["session"] =
        json!({ "type": "apiKey", "in": "cookie", "name": "td_session" });
    doc["security"] = json!([{ "bearer": [] }, { "session": [] }]);
}

/// Routes of task routing (docs/routing.md).
fn add_routing_paths(doc: &mut Value) {
    let decisions = |d: &str| {
        json!({ "description": d, "content": { "application/json": { "schema": {
        "type": "object", "properties": { "decisions": { "type": "array", "items": { "type": "object",
        "description": "offered, accepted, assigned, released, rejected, timed_out, rescinded, activity_changed, queued, wrapping, completed or canceled, with ids" } } } } } } })
    };
    let errors = |ok: Value| {
        let mut r = json!({ "401": error_response("Not signed in"), "403": error_response("Not allowed"),
            "404": error_response("Unknown worker, task or reservation"),
            "409": error_response("Illegal transition (e.g. accepting a timed-out offer), or a duplicate id"),
            "422": error_response("Unknown channel or activity, or attributes that are not an object"),
            "503": error_response("Routing is not running on this server") });
        if let (Some(m), Some(o)) = (r.as_object_mut(), ok.as_object()) {
            m.extend(o.clone());
        }
        r
    };
    let body = |props: Value, required: &[&str]| {
        json!({ "required": true, "content": { "application/json": { "schema": {
        "type": "object", "additionalProperties": false, "required": required, "properties": props } } } })
    };
    let any = json!({ "type": "object" });
    let uuid = json!({ "type": "string", "format": "uuid" });
    let id = |name: &str, format: &str| json!({ "name": "id", "in": "path", "required": true, "description": name, "schema": { "type": "string", "format": format } });
    let paths = &mut doc["paths"];
    paths["/api/v1/routing/workers"] = json!({ "post": { "summary": "Make a staff user a worker (supervisors): attributes such as skills and languages, capacity per channel",
        "requestBody": body(json!({ "user_id": uuid, "attributes": any, "capacity": { "type": "object", "additionalProperties": { "type": "integer" } } }), &["user_id"]),
        "responses": errors(json!({ "201": decisions("The worker, and any offers made") })) } });
    paths["/api/v1/routing/workers/{id}"] = json!({ "patch": { "summary": "Replace a worker's attributes (supervisors)", "parameters": [id("worker", "uuid")],
        "requestBody": body(json!({ "attributes": any }), &["attributes"]), "responses": errors(json!({ "200": decisions("Offers made as eligibility changed") })) } });
    paths["/api/v1/routing/workers/{id}/activity"] = json!({ "post": { "summary": "Change activity (the worker themself, or a supervisor); reject_pending turns down pending offers when leaving",
        "parameters": [id("worker", "uuid")],
        "requestBody": body(json!({ "activity": { "type": "string" }, "reject_pending": { "type": "boolean" } }), &["activity"]),
        "responses": errors(json!({ "200": decisions("Offers made or withdrawn") })) } });
    paths["/api/v1/routing/tasks"] = json!({
        "post": { "summary": "Create a task (supervisors, integrations): attributes (type, language, …), channel, optional priority, due time and TTL",
            "requestBody": body(json!({ "id": uuid, "attributes": any, "channel": { "type": "string" }, "priority": { "type": "integer" },
                "due": { "type": "string", "format": "date-time" }, "ttl": { "type": "integer", "minimum": 0 } }), &["attributes", "channel"]),
            "responses": errors(json!({ "201": decisions("The task id and any offer made") })) },
        "get": { "summary": "Live tasks in the caller's jurisdictions, highest id first, in keyset pages (`next` back as `cursor`): state, queue, channel, priority, due time, worker, offers (supervisors); no attributes",
            "parameters": page_params(), "responses": errors(json!({ "200": json_ok("Tasks", any.clone()) })) } });
    paths["/api/v1/routing/tasks/{id}"] = json!({ "patch": { "summary": "Replace a task's attributes (supervisors); a waiting task is routed anew", "parameters": [id("task", "uuid")],
        "requestBody": body(json!({ "attributes": any }), &["attributes"]), "responses": errors(json!({ "200": decisions("Offers made as the task's route changed") })) } });
    for (step, what) in [
        (
            "cancel",
            "Cancel a task (supervisors), with an optional reason",
        ),
        (
            "wrap",
            "Start wrap-up (the assigned worker or a supervisor)",
        ),
        (
            "complete",
            "Complete a task (the assigned worker or a supervisor)",
        ),
    ] {
        let mut op = json!({ "summary": what, "parameters": [id("task", "uuid")], "responses": errors(json!({ "200": decisions("What followed: the freed worker's next offer") })) });
        if step == "cancel" {
            op["requestBody"] = body(json!({ "reason": { "type": "string" } }), &[]);
        }
        paths[format!("/api/v1/routing/tasks/{{id}}/{step}").as_str()] = json!({ "post": op });
    }
    for (step, what) in [
        ("accept", "Accept an offer (only the worker it was made to)"),
        (
            "reject",
            "Reject an offer (only the worker it was made to); the task is offered to someone else",
        ),
    ] {
        paths[format!("/api/v1/routing/reservations/{{id}}/{step}").as_str()] = json!({ "post": { "summary": what,
            "parameters": [id("reservation", "int64")], "responses": errors(json!({ "200": decisions("The answer and what followed") })) } });
    }
    paths["/api/v1/routing/workers/{id}/events"] = json!({ "get": { "summary": "Server-Sent Events for one worker (the worker or a supervisor): offered, accepted, assigned and released (by hand), rejected, timed_out, rescinded, activity_changed. Reconnect with Last-Event-ID to get what was missed; a first connection starts with the offers standing now",
        "parameters": [id("worker", "uuid"), { "name": "Last-Event-ID", "in": "header", "schema": { "type": "integer" } }],
        "responses": errors(json!({ "200": { "description": "text/event-stream", "content": { "text/event-stream": { "schema": { "type": "string" } } } } })) } });
    paths["/api/v1/routing/stats/stream"] = json!({ "get": { "summary": "Server-Sent Events for supervisors: a `stats` event every second (same body as /routing/stats)",
        "responses": errors(json!({ "200": { "description": "text/event-stream", "content": { "text/event-stream": { "schema": { "type": "string" } } } } })) } });
    paths["/api/v1/routing/stats"] = json!({ "get": { "summary": "Tasks by state, waiting tasks per queue, running totals, average acceptance time and wait, SLA met % (supervisors)",
        "responses": errors(json!({ "200": json_ok("Statistics", any) })) } });
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// `(METHOD, path)` of every `.route(...)` call in `src`, each path
    /// under the prefix of the router it is in (`markers`: the line that
    /// starts a router, and its prefix).
    fn routed(src: &str, markers: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        let mut prefix = markers.first().map_or("", |m| m.1);
        let mut rest = src;
        loop {
            let next_route = rest.find(".route(");
            let next_marker = markers
                .iter()
                .filter_map(|(m, p)| rest.find(m).map(|i| (i, *p, m.len())))
                .min_by_key(|x| x.0);
            match (next_route, next_marker) {
                (_, Some((i, p, len))) if next_route.is_none_or(|r| i < r) => {
                    prefix = p;
                    rest = &rest[i + len..];
                }
                (Some(r), _) => {
                    let call = &rest[r + ".route(".len()..];
                    let mut depth = 1;
                    let end = call
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += match c {
                                '(' => 1,
                                ')' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map_or(call.len(), |(i, _)| i);
                    let args = &call[..end];
                    let path = args.split('"').nth(1).unwrap_or_default();
                    let methods = &args[args.find(',').unwrap_or(0)..];
                    for m in ["get", "post", "patch", "put", "delete"] {
                        if methods.contains(&format!("{m}(")) {
                            out.insert((m.to_uppercase(), format!("{prefix}{path}")));
                        }
                    }
                    rest = &call[end..];
                }
                _ => break,
            }
        }
        out
    }

    /// Every API route behind the caller check has an access rule in
    /// `needs::TABLE`, and every rule names a routed route.
    #[test]
    fn every_api_route_has_an_access_rule() {
        let mut routes = routed(
            include_str!("api.rs"),
            &[
                ("let api = Router::new()", "/api/v1"),
                ("let steps = Router::new()", "/api/v1/auth"),
                (
                    "    Router::new()\n        .merge(crate::pages::routes())",
                    "/top",
                ),
            ],
        );
        routes.extend(routed(
            include_str!("routing.rs"),
            &[("Router::new()", "/api/v1")],
        ));
        let behind_caller: BTreeSet<String> = routes
            .into_iter()
            .filter(|(_, p)| !p.starts_with("/top"))
            .filter(|(_, p)| !p.starts_with("/api/v1/auth/") || p == "/api/v1/auth/me")
            .map(|(m, p)| format!("{m} {p}"))
            .collect();
        let table: BTreeSet<String> = crate::needs::TABLE
            .iter()
            .map(|(r, _, _)| r.to_string())
            .collect();
        assert_eq!(
            table.len(),
            crate::needs::TABLE.len(),
            "a route twice in the table"
        );
        let missing: Vec<_> = behind_caller.difference(&table).collect();
        let stale: Vec<_> = table.difference(&behind_caller).collect();
        assert!(
            missing.is_empty(),
            "routes without an access rule: {missing:?}"
        );
        assert!(stale.is_empty(), "access rules for no route: {stale:?}");
    }

    /// Every routed API path and method is documented, and every documented
    /// one is routed.
    #[test]
    fn routed_and_documented_are_the_same() {
        let mut routes = routed(
            include_str!("api.rs"),
            &[
                ("let api = Router::new()", "/api/v1"),
                ("let steps = Router::new()", "/api/v1/auth"),
                (
                    "    Router::new()\n        .merge(crate::pages::routes())",
                    "",
                ),
            ],
        );
        routes.extend(routed(
            include_str!("routing.rs"),
            &[("Router::new()", "/api/v1")],
        ));
        assert!(routes.len() > 30, "the scan found the routes: {routes:?}");
        let doc = super::document();
        let mut documented = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for m in ops.as_object().expect("operations").keys() {
                documented.insert((m.to_uppercase(), path.clone()));
            }
        }
        let undocumented: Vec<_> = routes.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routes).collect();
        assert!(
            undocumented.is_empty(),
            "routed but not documented: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "documented but not routed: {unrouted:?}"
        );
    }
}
