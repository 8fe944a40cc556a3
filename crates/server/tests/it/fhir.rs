//! FHIR R4: every resource the server writes validates against R4's
//! structures (fhir.resources, `TRACEDESK_TEST_FHIR_PYTHON`), a transaction is
//! all or nothing, and the JSON API's access rules hold — a tracer reads
//! only the persons of their tasks, a sibling jurisdiction nothing.

use crate::access::{World, world};
use reqwest::Method;
use serde_json::{Value, json};
use tracedesk_store::audit::Action;

/// A Patient, its lab, and an Observation of it, as a lab system sends them.
fn lab_bundle(kind: &str, accession: &str, dob: &str, jurisdiction: &str) -> Value {
    json!({"resourceType": "Bundle", "type": kind, "entry": [
        {"fullUrl": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332201",
         "resource": {"resourceType": "Patient",
            "name": [{"use": "official", "family": "Nakamura", "given": ["Hiroshi"]}],
            "birthDate": dob,
            "telecom": [{"system": "phone", "value": "+1 718 555 0142"}],
            "address": [{"line": ["40 Court St"], "city": "Brooklyn", "state": "NY", "postalCode": "11201"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"fullUrl": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332202",
         "resource": {"resourceType": "Organization", "name": "Kings County Reference Lab"},
         "request": {"method": "POST", "url": "Organization"}},
        {"fullUrl": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332203",
         "resource": {"resourceType": "Practitioner",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
            "name": [{"family": "Osei", "given": ["Ama"]}]},
         "request": {"method": "POST", "url": "Practitioner"}},
        {"fullUrl": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332204",
         "resource": {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
            "subject": {"reference": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332201"},
            "requester": {"reference": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332203"}},
         "request": {"method": "POST", "url": "ServiceRequest"}},
        {"fullUrl": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332205",
         "resource": {"resourceType": "Observation", "status": "final",
            "extension": [{"url": "https://tracedesk.org/fhir/StructureDefinition/jurisdiction", "valueCode": jurisdiction}],
            "identifier": [{"value": accession}],
            "basedOn": [{"reference": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332204"}],
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "94845-5"}]},
            "subject": {"reference": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332201"},
            "effectiveDateTime": "2026-11-27T08:15:00-05:00",
            "performer": [{"reference": "urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332202"}],
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260373001", "display": "Detected"}]}},
         "request": {"method": "POST", "url": "Observation"}}
    ]})
}

async fn get(w: &World, token: &str, path: &str) -> (u16, Value) {
    let (s, v) = w.h.call(token, Method::GET, path, None).await;
    (s.as_u16(), v)
}

/// `POST …/_search` with a form body.
async fn form_search(w: &World, token: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r =
        w.h.http
            .post(format!("{}{path}", w.h.base))
            .bearer_auth(token)
            .form(form)
            .send()
            .await
            .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn ids(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["resource"]["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs the R4 validator over `resources`; `false` (SKIPPED) without one
/// unless `TRACEDESK_REQUIRE_FHIR` is set.
fn validate(resources: &[Value]) -> bool {
    let Ok(python) = std::env::var("TRACEDESK_TEST_FHIR_PYTHON") else {
        assert!(
            std::env::var("TRACEDESK_REQUIRE_FHIR").is_err(),
            "TRACEDESK_REQUIRE_FHIR is set but TRACEDESK_TEST_FHIR_PYTHON is not"
        );
        println!(
            "SKIPPED: FHIR R4 validation (set TRACEDESK_TEST_FHIR_PYTHON=$(.ci/install-fhir-validator))"
        );
        return false;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resources.json");
    std::fs::write(&file, serde_json::to_vec(resources).unwrap()).unwrap();
    if let Ok(keep) = std::env::var("TRACEDESK_TEST_FHIR_KEEP") {
        std::fs::copy(&file, keep).unwrap();
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fhir_validate.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&file)
        .output()
        .expect("the validator runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "resources that are not valid R4:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!(
            "validated {n} of {n} resources",
            n = resources.len()
        )),
        "{text}"
    );
    true
}

#[tokio::test]
async fn every_resource_validates_against_r4() {
    let w = world().await;
    let mut all: Vec<Value> = Vec::new();
    let (s, meta) = get(&w, "", "/fhir/metadata").await;
    assert_eq!(s, 200, "{meta}");
    assert_eq!(meta["fhirVersion"], "4.0.1");
    all.push(meta);
    // A lab system's transaction: recorded, a case made in ny-kings.
    let (s, resp) =
        w.h.call(
            &w.feed.1,
            Method::POST,
            "/fhir",
            Some(lab_bundle("transaction", "FH-1", "1975-05-06", "ny-kings")),
        )
        .await;
    assert_eq!(s, 200, "{resp}");
    assert_eq!(resp["type"], "transaction-response");
    let statuses: Vec<&str> = resp["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["201 Created", "200 OK", "200 OK", "200 OK", "201 Created"]
    );
    let person =
        resp["entry"][0]["response"]["location"].as_str().unwrap()["Patient/".len()..].to_string();
    let lab = resp["entry"][4]["response"]["location"].as_str().unwrap()["Observation/".len()..]
        .to_string();
    all.push(resp);
    // What it recorded reads back from the JSON API, field by field.
    let (_, p) =
        w.h.call(
            &w.sup.1,
            Method::GET,
            &format!("/api/v1/persons/{person}"),
            None,
        )
        .await;
    assert_eq!(p["person"]["first_name"], "Hiroshi");
    assert_eq!(p["person"]["dob"], "1975-05-06");
    assert_eq!(p["person"]["address"], "40 Court St, Brooklyn, NY, 11201");
    let l = &p["lab_results"][0];
    assert_eq!(l["accession"], "FH-1");
    assert_eq!(l["result"], "positive");
    assert_eq!(l["specimen_date"], "2026-11-27");
    assert_eq!(l["lab"], "Kings County Reference Lab");
    assert_eq!(l["ordering_provider"], "Ama Osei (NPI 1234567893)");
    assert_eq!(l["test_type"], "SARS-CoV-2 RNA (NAA, saliva)");
    let case = p["cases"][0]["id"].as_str().unwrap().to_string();
    // A contact of the world's case: an exposure Observation.
    let (s, named) =
        w.h.call(
            &w.sup.1,
            Method::POST,
            &format!("/api/v1/cases/{}/contacts", w.case),
            Some(
                json!({"first_name": "Ines", "last_name": "Duarte", "phone": "+1 718 555 0177",
                        "exposure_dates": ["2026-11-19"], "setting": "household"}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{named}");
    let exposure = named["exposure_id"].as_str().unwrap().to_string();
    let sup = &w.sup.1;
    for path in [
        format!("/fhir/Patient/{person}"),
        format!("/fhir/Patient/{}", w.person),
        format!("/fhir/Observation/{lab}"),
        format!("/fhir/Observation/{exposure}"),
        format!("/fhir/Condition/{case}"),
        format!("/fhir/Condition/{}", w.case),
        format!("/fhir/Observation?subject=Patient/{person}"),
        format!("/fhir/Condition?patient={person}"),
        format!("/fhir/Patient?identifier=urn:ietf:rfc:3986|urn:uuid:{person}"),
        format!("/fhir/Observation?_id={exposure}"),
    ] {
        let (s, v) = get(&w, sup, &path).await;
        assert_eq!(s, 200, "{path}: {v}");
        all.push(v);
    }
    let (s, v) = form_search(
        &w,
        sup,
        "/fhir/Patient/_search",
        &[("phone", "+1 718 555 0142")],
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(ids(&v), vec![person.clone()]);
    all.push(v);
    // The lab Observation carries what was sent.
    let (_, o) = get(&w, sup, &format!("/fhir/Observation/{lab}")).await;
    assert_eq!(o["code"]["coding"][0]["code"], "94845-5");
    assert_eq!(o["valueCodeableConcept"]["coding"][0]["code"], "260373001");
    assert_eq!(o["subject"]["reference"], format!("Patient/{person}"));
    assert_eq!(o["effectiveDateTime"], "2026-11-27");
    let (_, x) = get(&w, sup, &format!("/fhir/Observation/{exposure}")).await;
    assert_eq!(x["focus"][0]["reference"], format!("Condition/{}", w.case));
    assert_eq!(x["effectivePeriod"]["start"], "2026-11-19");
    // Errors are OperationOutcomes.
    let (s, v) = get(
        &w,
        &w.other_tracer.1,
        &format!("/fhir/Patient/{}", w.person),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(v["resourceType"], "OperationOutcome");
    all.push(v);
    let (s, v) = get(&w, sup, "/fhir/Patient?phone=%2B17185550142").await;
    assert_eq!(s, 400);
    assert_eq!(v["issue"][0]["code"], "security");
    assert!(!v.to_string().contains("555"), "{v}");
    all.push(v);
    // The export's files.
    for line in export(&w, &w.analyst.1, "").await {
        all.push(line);
    }
    // Hiroshi's record merged into the world's person: read by its own id,
    // an inactive Patient replaced by the survivor, with nothing of them.
    let merged =
        w.h.store
            .merge_persons(&tracedesk_store::PersonMergeRow {
                id: uuid::Uuid::now_v7(),
                survivor_id: w.person.parse().unwrap(),
                merged_id: person.parse().unwrap(),
                jurisdiction: "ny-kings".into(),
                review_id: None,
                merged_by: None,
                merged_at: chrono::Utc::now(),
                moved: 0,
                unmerged_by: None,
                unmerged_at: None,
            })
            .await
            .unwrap();
    assert!(merged.is_ok(), "{merged:?}");
    let (s, v) = get(&w, sup, &format!("/fhir/Patient/{person}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["id"], person.as_str());
    assert_eq!(v["active"], false);
    assert_eq!(v["link"][0]["type"], "replaced-by");
    assert_eq!(
        v["link"][0]["other"]["reference"],
        format!("Patient/{}", w.person)
    );
    assert!(
        !v.to_string().contains("Hiroshi") && !v.to_string().contains("Adaeze"),
        "{v}"
    );
    all.push(v);
    let (s, v) = get(&w, &w.other_tracer.1, &format!("/fhir/Patient/{person}")).await;
    assert_eq!(s, 403, "the survivor's rule: {v}");
    if validate(&all) {
        println!("validated {} FHIR resources against R4", all.len());
    }
}

/// Runs an export to the end; its files' resources.
async fn export(w: &World, token: &str, query: &str) -> Vec<Value> {
    let http = &w.h.http;
    let r = http
        .get(format!("{}/fhir/$export{query}", w.h.base))
        .bearer_auth(token)
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let status = r.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    let (s, manifest) = get(w, token, &status).await;
    assert_eq!(s, 200, "{manifest}");
    assert_eq!(manifest["requiresAccessToken"], true);
    let mut out = Vec::new();
    for f in manifest["output"].as_array().unwrap() {
        let r = http
            .get(format!("{}{}", w.h.base, f["url"].as_str().unwrap()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/fhir+ndjson");
        let text = r.text().await.unwrap();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["resourceType"], f["type"]);
            out.push(v);
        }
    }
    out
}

#[tokio::test]
async fn the_export_is_de_identified_and_the_analysts_alone() {
    let w = world().await;
    let lines = export(&w, &w.analyst.1, "?_type=Patient,Condition").await;
    assert_eq!(lines.len(), 2, "one case: a Patient and a Condition");
    let text = serde_json::to_string(&lines).unwrap();
    for phi in ["Adaeze", "Okonkwo", "555", "1980-03-04", &w.person, &w.case] {
        assert!(!text.contains(phi), "the export leaks {phi}: {text}");
    }
    let patient = lines
        .iter()
        .find(|l| l["resourceType"] == "Patient")
        .unwrap();
    let condition = lines
        .iter()
        .find(|l| l["resourceType"] == "Condition")
        .unwrap();
    assert_eq!(
        condition["subject"]["reference"],
        format!("Patient/{}", patient["id"].as_str().unwrap())
    );
    assert!(text.contains("40-49"), "{text}");
    // Another job gives other stand-ins: two exports cannot be joined.
    let again = export(&w, &w.analyst.1, "?_type=Condition").await;
    assert_eq!(again.len(), 1);
    assert_ne!(again[0]["id"], condition["id"]);
    // Each case in a file is audited as an export.
    let log = w.h.store.audit_entries(0, 100_000).await.unwrap();
    let exported = log
        .iter()
        .filter(|e| {
            e.draft.action == Action::Export
                && e.draft.object_id.map(|i| i.to_string()) == Some(w.case.clone())
        })
        .count();
    assert_eq!(exported, 3, "two files, then one");
    // Only an analyst's capability starts one; a job is its caller's.
    let r =
        w.h.http
            .get(format!("{}/fhir/$export", w.h.base))
            .bearer_auth(&w.tracer.1)
            .header("Prefer", "respond-async")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 403);
    let r =
        w.h.http
            .get(format!("{}/fhir/$export", w.h.base))
            .bearer_auth(&w.analyst.1)
            .header("Prefer", "respond-async")
            .send()
            .await
            .unwrap();
    let status = r.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    // Another analyst with the same scope cannot use it.
    let (_, other_token) =
        w.h.user("analyst-2", tracedesk_identity::Role::Analyst, "ny")
            .await;
    assert_eq!(get(&w, &other_token, &status).await.0, 404);
    // A forged or altered job is unknown.
    let mut forged = status.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(get(&w, &w.analyst.1, &forged).await.0, 404);
    // Without Prefer: respond-async, or with a type it does not hold: refused.
    assert_eq!(get(&w, &w.analyst.1, "/fhir/$export").await.0, 400);
    let r =
        w.h.http
            .get(format!("{}/fhir/$export?_type=Encounter", w.h.base))
            .bearer_auth(&w.analyst.1)
            .header("Prefer", "respond-async")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn fhir_reads_follow_the_json_apis_rules() {
    let w = world().await;
    let (s, resp) =
        w.h.call(
            &w.feed.1,
            Method::POST,
            "/fhir",
            Some(lab_bundle("batch", "FH-2", "1975-05-06", "ny-kings")),
        )
        .await;
    assert_eq!(s, 200, "{resp}");
    let lab = resp["entry"][4]["response"]["location"].as_str().unwrap()["Observation/".len()..]
        .to_string();
    let (p, c) = (&w.person, &w.case);
    let reads = [
        format!("/fhir/Patient/{p}"),
        format!("/fhir/Condition/{c}"),
        format!("/fhir/Observation?subject=Patient/{p}"),
        format!("/fhir/Condition?subject=Patient/{p}"),
    ];
    // The tracer who holds the task reads the person, their case and results.
    for path in &reads {
        assert_eq!(get(&w, &w.tracer.1, path).await.0, 200, "{path}");
    }
    let (_, found) = get(
        &w,
        &w.tracer.1,
        &format!("/fhir/Condition?subject=Patient/{p}"),
    )
    .await;
    assert_eq!(ids(&found), vec![c.to_string()]);
    // A tracer without the task, a supervisor of a sibling jurisdiction, an
    // analyst and a lab feed are refused every one of them, audited.
    let before = w.h.store.audit_entries(0, 100_000).await.unwrap().len();
    for (who, token) in [
        ("another tracer", &w.other_tracer.1),
        ("a supervisor in nj", &w.sup_nj.1),
        ("an analyst", &w.analyst.1),
        ("the lab feed", &w.feed.1),
    ] {
        for path in &reads {
            let (s, v) = get(&w, token, path).await;
            assert!(s == 403 || s == 404, "{who} {path}: {s} {v}");
            assert_eq!(v["resourceType"], "OperationOutcome", "{who} {path}");
            assert!(!v.to_string().contains("Adaeze"), "{v}");
        }
    }
    let log = w.h.store.audit_entries(0, 100_000).await.unwrap();
    let denied = log[before..]
        .iter()
        .filter(|e| e.draft.action == Action::Denied)
        .count();
    assert_eq!(denied, 16, "every refusal audited");
    // The sibling supervisor's lab read and searches find nothing of ny's.
    assert_eq!(
        get(&w, &w.sup_nj.1, &format!("/fhir/Observation/{lab}"))
            .await
            .0,
        403
    );
    let (s, v) = get(&w, &w.sup_nj.1, &format!("/fhir/Observation?_id={lab}")).await;
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)));
    let (s, v) = form_search(
        &w,
        &w.sup_nj.1,
        "/fhir/Patient/_search",
        &[("phone", "+1 718 555 0199")],
    )
    .await;
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)), "{v}");
    let (s, v) = form_search(
        &w,
        &w.sup.1,
        "/fhir/Patient/_search",
        &[("phone", "+1 718 555 0199")],
    )
    .await;
    assert_eq!((s, ids(&v)), (200, vec![p.clone()]), "{v}");
    let (s, v) = form_search(
        &w,
        &w.other_tracer.1,
        "/fhir/Patient/_search",
        &[
            ("family", "Okonkwo"),
            ("given", "Adaeze"),
            ("birthdate", "1980-03-04"),
        ],
    )
    .await;
    assert_eq!((s, v["total"].as_u64()), (200, Some(0)), "{v}");
    // The tracer's read is in the person's disclosure record.
    let log = w.h.store.audit_entries(0, 100_000).await.unwrap();
    assert!(log.iter().any(|e| e.draft.action == Action::PhiRead
        && e.draft.actor == format!("user:{}", w.tracer.0)
        && e.draft.detail.starts_with("GET /fhir/Patient/{id}")));
    // A feed writes only into its own jurisdictions; a tracer not at all.
    let (s, v) =
        w.h.call(
            &w.feed.1,
            Method::POST,
            "/fhir",
            Some(lab_bundle("batch", "FH-3", "1975-05-06", "nj")),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (s, _) =
        w.h.call(
            &w.tracer.1,
            Method::POST,
            "/fhir",
            Some(lab_bundle("batch", "FH-4", "1975-05-06", "ny-kings")),
        )
        .await;
    assert_eq!(s, 403);
    let (s, _) = get(&w, "not-a-token", &format!("/fhir/Patient/{p}")).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn a_transaction_is_all_or_nothing_and_a_batch_goes_entry_by_entry() {
    let w = world().await;
    let feed = &w.feed.1;
    let before = w.h.store.counts().await.unwrap().lab_results;
    // Two results, one with an impossible birth date: nothing is recorded,
    // and the fault is named at its element.
    let mut b = lab_bundle("transaction", "FH-5", "1975-05-06", "ny-kings");
    let mut second = b["entry"][0].clone();
    second["fullUrl"] = json!("urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332299");
    second["resource"]["birthDate"] = json!("2999-01-01");
    let mut obs = b["entry"][4].clone();
    obs["fullUrl"] = json!("urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332298");
    obs["resource"]["identifier"][0]["value"] = json!("FH-6");
    obs["resource"]["subject"]["reference"] =
        json!("urn:uuid:7f0e1d2c-3b4a-4596-8877-665544332299");
    b["entry"].as_array_mut().unwrap().extend([second, obs]);
    let (s, v) = w.h.call(feed, Method::POST, "/fhir", Some(b.clone())).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["resourceType"], "OperationOutcome");
    assert_eq!(
        v["issue"][0]["expression"][0],
        "Bundle.entry[5].resource.birthDate"
    );
    assert!(!v.to_string().contains("2999"), "{v}");
    assert_eq!(w.h.store.counts().await.unwrap().lab_results, before);
    // As a batch, the good one is recorded and the bad one refused.
    b["type"] = json!("batch");
    let (s, v) = w.h.call(feed, Method::POST, "/fhir", Some(b.clone())).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["type"], "batch-response");
    assert_eq!(v["entry"][4]["response"]["status"], "201 Created");
    assert_eq!(v["entry"][6]["response"]["status"], "400 Bad Request");
    assert_eq!(
        v["entry"][6]["response"]["outcome"]["issue"][0]["expression"][0],
        "Bundle.entry[5].resource.birthDate"
    );
    assert_eq!(w.h.store.counts().await.unwrap().lab_results, before + 1);
    // Sent again: the recorded one is a duplicate, nothing is added.
    let (_, v) = w.h.call(feed, Method::POST, "/fhir", Some(b)).await;
    assert_eq!(v["entry"][4]["response"]["status"], "200 OK");
    assert_eq!(w.h.store.counts().await.unwrap().lab_results, before + 1);
    // What is not a lab Bundle is refused whole, at its element.
    for (body, at) in [
        (json!({"resourceType": "Patient"}), "resourceType"),
        (
            json!({"resourceType": "Bundle", "type": "document", "entry": []}),
            "Bundle.type",
        ),
    ] {
        let (s, v) = w.h.call(feed, Method::POST, "/fhir", Some(body)).await;
        assert_eq!(s, 400);
        assert_eq!(v["issue"][0]["expression"][0], at, "{v}");
    }
    let (s, v) =
        w.h.call(feed, Method::POST, "/fhir", Some(json!([1])))
            .await;
    assert_eq!(s, 400, "{v}");
}
