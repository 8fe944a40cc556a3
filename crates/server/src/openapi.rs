//! The OpenAPI 3.1 description served at `/api/v1/openapi.json`, made by
//! utoipa from the handlers' `#[utoipa::path]` attributes and the request
//! and response types themselves, so what is documented is what is parsed
//! and sent. The statuses every API route can answer with (400, 401, 403,
//! 422, 429, 500) are added here once rather than on every route.

use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tracedesk API",
        description = "Case investigation and contact tracing. Every /api/v1 route needs a caller: `Authorization: Bearer <token>` (a user's token: `tracedesk token create --name N --user U`), or the session cookie from /api/v1/auth/login with `X-CSRF-Token` on state-changing requests. What a caller sees depends on their role, jurisdictions and assignments (docs/security.md); every read and write of personal data is audited. Personal data is never accepted in URLs."
    ),
    servers((url = "/")),
    paths(
        crate::api::post_lab_results,
        crate::api::list_cases,
        crate::api::get_case,
        crate::api::patch_case,
        crate::api::post_contact,
        crate::api::list_contacts,
        crate::api::patch_contact,
        crate::linkage::link_reviews,
        crate::linkage::link_review,
        crate::linkage::decide_link_review,
        crate::linkage::merge_link_review,
        crate::linkage::person_merges,
        crate::linkage::person_merge,
        crate::linkage::unmerge_person_merge,
        crate::investigation::case_notes,
        crate::investigation::add_case_note,
        crate::investigation::contact_notes,
        crate::investigation::add_contact_note,
        crate::investigation::attempts,
        crate::investigation::add_attempt,
        crate::investigation::set_investigator,
        crate::investigation::chain,
        crate::investigation::post_contact_of_contact,
        crate::investigation::household,
        crate::investigation::put_household,
        crate::investigation::case_referrals,
        crate::investigation::refer_case,
        crate::investigation::contact_referrals,
        crate::investigation::refer_contact,
        crate::investigation::patch_referral,
        crate::investigation::contact_warnings,
        crate::investigation::transfer_case,
        crate::investigation::create_cluster,
        crate::investigation::list_clusters,
        crate::investigation::cluster,
        crate::investigation::add_member,
        crate::investigation::questionnaires,
        crate::investigation::questionnaire,
        crate::investigation::case_interview,
        crate::investigation::save_case_interview,
        crate::investigation::contact_interview,
        crate::investigation::save_contact_interview,
        crate::messaging::thread,
        crate::messaging::send,
        crate::messaging::sandbox_phone,
        crate::messaging::sandbox_reply,
        crate::messaging::unmatched,
        crate::messaging::attach,
        crate::messaging::sandbox_keypad,
        crate::messaging::click_to_call,
        crate::templates::list,
        crate::templates::one,
        crate::templates::put,
        crate::templates::reset,
        crate::monitoring::contact_monitoring,
        crate::monitoring::set_preferences,
        crate::monitoring::monitoring_list,
        crate::webhooks::inbound_sms,
        crate::webhooks::status_callback,
        crate::webhooks::voice_answered,
        crate::webhooks::voice_gathered,
        crate::webhooks::voice_announce,
        crate::webhooks::voice_status,
        crate::api::search_persons,
        crate::api::get_person,
        crate::api::line_list,
        crate::api::my_tasks,
        crate::api::assign_task,
        crate::api::open_break_glass,
        crate::api::review_break_glass,
        crate::api::openapi,
        crate::api::healthz,
        crate::api::readyz,
        crate::api::metrics,
        crate::login::login,
        crate::login::totp,
        crate::login::enrol_start,
        crate::login::enrol_confirm,
        crate::login::change_password,
        crate::login::logout,
        crate::login::logout_everywhere,
        crate::login::me,
        crate::routing::add_worker,
        crate::routing::update_worker,
        crate::routing::set_activity,
        crate::routing::worker_events,
        crate::routing::create_task,
        crate::routing::list_tasks,
        crate::routing::update_task,
        crate::routing::cancel_task,
        crate::routing::wrap_task,
        crate::routing::complete_task,
        crate::routing::accept_offer,
        crate::routing::reject_offer,
        crate::routing::stats,
        crate::routing::stats_stream,
    ),
    components(schemas(crate::error::ErrorBody)),
    modifiers(&Refusals),
)]
struct ApiDoc;

/// The document, as JSON.
pub fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or_default()
}

/// Security schemes, and the answers every API route may give besides its
/// own: added to each operation under `/api/v1` that does not name them.
struct Refusals;

const REFUSALS: [(&str, &str); 6] = [
    ("400", "Malformed JSON, query or id"),
    (
        "401",
        "No caller: a missing or revoked token, or no session",
    ),
    (
        "403",
        "Not allowed for this role or record (the refusal is audited), or a missing or wrong CSRF token",
    ),
    ("422", "A field is invalid; `field` names it"),
    ("429", "Rate limited; see Retry-After"),
    (
        "500",
        "An internal failure, with an operation id that is also logged",
    ),
];

impl Modify for Refusals {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("td_session"))),
        );
        doc.security = Some(vec![
            utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()),
            utoipa::openapi::security::SecurityRequirement::new("session", Vec::<String>::new()),
        ]);
        let error = || {
            Content::new(Some(RefOr::<utoipa::openapi::schema::Schema>::Ref(
                Ref::from_schema_name("ErrorBody"),
            )))
        };
        for (path, item) in doc.paths.paths.iter_mut() {
            if !path.starts_with("/api/v1/") || path == "/api/v1/openapi.json" {
                continue;
            }
            let ops: [&mut Option<Operation>; 5] = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                for (status, why) in REFUSALS {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| {
                            RefOr::T(
                                ResponseBuilder::new()
                                    .description(why)
                                    .content("application/json", error())
                                    .build(),
                            )
                        });
                }
            }
        }
    }
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
        for src in [
            include_str!("routing.rs"),
            include_str!("investigation.rs"),
            include_str!("linkage.rs"),
            include_str!("messaging.rs"),
            include_str!("monitoring.rs"),
            include_str!("templates.rs"),
        ] {
            routes.extend(routed(src, &[("Router::new()", "/api/v1")]));
        }
        // The staff pages behind the same caller check, at the top level.
        for src in [
            include_str!("desk.rs"),
            include_str!("offers.rs"),
            include_str!("phone.rs"),
            include_str!("lists.rs"),
            include_str!("interview.rs"),
            include_str!("script.rs"),
            include_str!("people.rs"),
            include_str!("floor.rs"),
            include_str!("watch.rs"),
            include_str!("linkage_pages.rs"),
            include_str!("admin.rs"),
            include_str!("admin_org.rs"),
            include_str!("admin_status.rs"),
        ] {
            routes.extend(routed(src, &[("Router::new()", "")]));
        }
        // FHIR: at full paths; its metadata is public.
        routes.extend(routed(
            include_str!("fhir/mod.rs"),
            &[
                ("let authed = Router::new()", ""),
                ("let public = Router::new()", "/top"),
            ],
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
        for src in [
            include_str!("routing.rs"),
            include_str!("investigation.rs"),
            include_str!("linkage.rs"),
            include_str!("messaging.rs"),
            include_str!("monitoring.rs"),
            include_str!("templates.rs"),
        ] {
            routes.extend(routed(src, &[("Router::new()", "/api/v1")]));
        }
        routes.extend(routed(
            include_str!("webhooks.rs"),
            &[("Router::new()", "")],
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

    /// The document is sound OpenAPI 3.1: every `$ref` names a schema that
    /// is there, every `{parameter}` of a path is declared by each of its
    /// operations, every operation answers some 2xx and has a summary, and
    /// operation ids are unique.
    #[test]
    fn the_document_holds_together() {
        let doc = super::document();
        assert_eq!(doc["openapi"], "3.1.0");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let text = doc.to_string();
        for (n, _) in text.match_indices("\"$ref\":\"") {
            let rest = &text[n + 8..];
            let target = &rest[..rest.find('"').unwrap_or(0)];
            let name = target
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("a $ref outside the schemas: {target}"));
            assert!(
                schemas.contains_key(name),
                "$ref to a missing schema: {name}"
            );
        }
        let mut ids = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            let wanted: Vec<&str> = path
                .split('/')
                .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            for (method, op) in ops.as_object().expect("operations") {
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p["in"] == "path")
                            .filter_map(|p| p["name"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                assert_eq!(declared, wanted, "{method} {path}: path parameters");
                let statuses: Vec<&String> = op["responses"]
                    .as_object()
                    .expect("responses")
                    .keys()
                    .collect();
                assert!(
                    statuses.iter().any(|s| s.starts_with('2')),
                    "{method} {path} answers no 2xx"
                );
                assert!(op["summary"].is_string(), "{method} {path} has no summary");
                if let Some(id) = op["operationId"].as_str() {
                    assert!(ids.insert(id.to_string()), "operation id {id} twice");
                }
            }
        }
    }

    /// The lab result's documented fields are `LAB_FIELDS` — the list that
    /// validation, the CSV importer and the README follow — required where
    /// it says so; and the fields a domain enum defines list its names.
    #[test]
    fn schemas_follow_the_one_definitions() {
        use tracedesk_casework::LAB_FIELDS;
        use tracedesk_domain::{CaseStatus, ContactStatus, TaskStatus};
        let doc = super::document();
        let schema = |name: &str| doc["components"]["schemas"][name].clone();
        let lab = schema("LabResultInput");
        let props: BTreeSet<String> = lab["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .cloned()
            .collect();
        let fields: BTreeSet<String> = LAB_FIELDS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(props, fields);
        let mut required: Vec<String> = lab["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        required.sort();
        let mut want: Vec<String> = LAB_FIELDS
            .iter()
            .filter(|(_, r)| *r)
            .map(|(n, _)| n.to_string())
            .collect();
        want.sort();
        assert_eq!(required, want);
        let names = |v: &serde_json::Value| -> Vec<String> {
            v["enum"]
                .as_array()
                .expect("an enum")
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        };
        let all = |xs: &[String]| xs.to_vec();
        let case_names: Vec<String> = CaseStatus::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            names(&schema("CaseView")["properties"]["status"]),
            all(&case_names)
        );
        let contact_names: Vec<String> =
            ContactStatus::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            names(&schema("ContactPatch")["properties"]["status"]),
            all(&contact_names)
        );
        let task_names: Vec<String> = TaskStatus::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(
            names(&schema("TaskView")["properties"]["status"]),
            all(&task_names)
        );
        // Errors have one documented body.
        assert!(schema("ErrorBody")["properties"]["error"].is_object());
    }
}
