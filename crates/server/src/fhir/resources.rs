//! tracedesk's records as FHIR R4 resources (JSON), and FHIR's error and
//! search shapes. Pure: views in, JSON out; what a caller may see was
//! decided before any of this runs.

use serde_json::{Map, Value, json};
use tracedesk_casework::{CaseView, ContactView, LabResultView, PersonView};
use tracedesk_domain::lab_codes;
use uuid::Uuid;

/// The FHIR version every resource here is written to.
pub const FHIR_VERSION: &str = "4.0.1";
/// The media type of FHIR's JSON.
pub const FHIR_JSON: &str = "application/fhir+json";
/// The system of tracedesk's own ids as identifiers (`urn:uuid:…`).
pub const URI_SYSTEM: &str = "urn:ietf:rfc:3986";
/// Where tracedesk's own extensions are defined.
pub const EXTENSION_BASE: &str = "https://tracedesk.org/fhir/StructureDefinition/";

const SNOMED: &str = "http://snomed.info/sct";
const LOINC: &str = "http://loinc.org";
const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
const INTERPRETATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation";
/// COVID-19, the disease (SNOMED CT).
const COVID_19: (&str, &str) = (
    "840539006",
    "Disease caused by severe acute respiratory syndrome coronavirus 2 (disorder)",
);
/// Exposure to SARS-CoV-2 (SNOMED CT).
const EXPOSURE: (&str, &str) = (
    "840546002",
    "Exposure to severe acute respiratory syndrome coronavirus 2 (event)",
);

/// One of tracedesk's own extensions.
pub fn extension(name: &str, value_kind: &str, value: Value) -> Value {
    let mut m = Map::new();
    m.insert("url".into(), json!(format!("{EXTENSION_BASE}{name}")));
    m.insert(format!("value{value_kind}"), value);
    Value::Object(m)
}

fn coding(system: &str, code: &str, display: Option<&str>) -> Value {
    let mut c = json!({"system": system, "code": code});
    if let Some(d) = display {
        c["display"] = json!(d);
    }
    c
}

fn id_identifier(id: Uuid) -> Value {
    json!({"system": URI_SYSTEM, "value": format!("urn:uuid:{id}")})
}

/// Drops empty optional elements: FHIR forbids empty strings, arrays and
/// objects (ele-1), so what is unknown is left out, never sent empty.
fn prune(v: &mut Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => {
            a.retain_mut(prune);
            !a.is_empty()
        }
        Value::Object(o) => {
            o.retain(|_, v| prune(v));
            !o.is_empty()
        }
        _ => true,
    }
}

fn pruned(mut v: Value) -> Value {
    prune(&mut v);
    v
}

/// A person as the caller's jurisdiction knows them, under `id` (theirs
/// or a facet's).
pub fn patient(id: Uuid, p: &PersonView) -> Value {
    let mut telecom = Vec::new();
    if let Some(phone) = &p.phone {
        telecom.push(json!({"system": "phone", "value": phone}));
    }
    if let Some(email) = &p.email {
        telecom.push(json!({"system": "email", "value": email}));
    }
    pruned(json!({
        "resourceType": "Patient",
        "id": id.to_string(),
        "identifier": [id_identifier(id)],
        "name": [{"family": p.last_name, "given": [p.first_name]}],
        "telecom": telecom,
        "birthDate": p.dob,
        "address": [{"text": p.address}],
        "communication": p.language.as_ref().map(|l| json!([{
            "language": {"coding": [coding("urn:ietf:bcp:47", l, None)]}
        }])),
    }))
}

/// A Patient merged into another record: inactive, replaced by the
/// survivor (FHIR's `replaced-by` link), and nothing else of the person.
pub fn replaced_patient(id: Uuid, by: Uuid) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id.to_string(),
        "identifier": [id_identifier(id)],
        "active": false,
        "link": [{"other": {"reference": format!("Patient/{by}")}, "type": "replaced-by"}],
    })
}

/// A case as a Condition: COVID-19, confirmed, active until the case is
/// closed or refused.
pub fn condition(c: &CaseView) -> Value {
    let mut v = covid_condition(CaseFacts {
        id: c.id.to_string(),
        status: &c.status,
        subject: c.person_id.to_string(),
        onset: c.onset_date,
        recorded: c.report_date,
        extensions: vec![
            extension("case-status", "Code", json!(c.status)),
            extension("isolation-end", "Date", json!(c.isolation_end)),
        ],
    });
    v["identifier"] = json!([id_identifier(c.id)]);
    v
}

/// What a Condition says of a case, whoever reads it (a case's reader,
/// an export's analyst under stand-in ids).
pub struct CaseFacts<'a> {
    pub id: String,
    pub status: &'a str,
    /// The Patient's id.
    pub subject: String,
    pub onset: Option<chrono::NaiveDate>,
    pub recorded: chrono::NaiveDate,
    pub extensions: Vec<Value>,
}

/// Every Condition tracedesk writes: a confirmed case of COVID-19, active
/// until the case is closed or refused.
pub fn covid_condition(f: CaseFacts<'_>) -> Value {
    let closed = tracedesk_domain::CaseStatus::parse(f.status)
        .is_some_and(|s| tracedesk_domain::CaseStatus::CLOSED.contains(&s));
    pruned(json!({
        "resourceType": "Condition",
        "id": f.id,
        "extension": f.extensions,
        "clinicalStatus": {"coding": [coding(
            "http://terminology.hl7.org/CodeSystem/condition-clinical",
            if closed { "resolved" } else { "active" },
            None,
        )]},
        "verificationStatus": {"coding": [coding(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "confirmed",
            None,
        )]},
        "category": [{"coding": [coding(
            "http://terminology.hl7.org/CodeSystem/condition-category",
            "encounter-diagnosis",
            None,
        )]}],
        "code": {"coding": [coding(SNOMED, COVID_19.0, Some(COVID_19.1))], "text": "COVID-19"},
        "subject": {"reference": format!("Patient/{}", f.subject)},
        "onsetDateTime": f.onset,
        "recordedDate": f.recorded,
    }))
}

/// A lab result as an Observation about the patient known as `subject`.
pub fn lab_observation(l: &LabResultView, subject: Uuid) -> Value {
    let test = l.test_type.as_deref();
    let loinc = test.and_then(lab_codes::loinc_of_test_type);
    let value = lab_codes::snomed_of_result(&l.result).map(|(code, display)| {
        json!({"coding": [coding(SNOMED, code, Some(display))], "text": l.result})
    });
    let interpretation = match l.result.as_str() {
        "positive" => Some("POS"),
        "negative" => Some("NEG"),
        "inconclusive" => Some("IND"),
        _ => None,
    };
    pruned(json!({
        "resourceType": "Observation",
        "id": l.id.to_string(),
        "extension": l.ordering_provider.as_ref().map(|o| json!([
            extension("ordering-provider", "String", json!(o))
        ])),
        "identifier": [{
            "type": {"coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0203", "ACSN", None)]},
            "value": l.accession,
        }],
        "status": "final",
        "category": [{"coding": [coding(OBS_CATEGORY, "laboratory", None)]}],
        "code": {
            "coding": loinc.map(|c| json!([coding(LOINC, c, test)])),
            "text": test.unwrap_or("SARS-CoV-2 test"),
        },
        "subject": {"reference": format!("Patient/{subject}")},
        "effectiveDateTime": l.specimen_date,
        "performer": l.lab.as_ref().map(|lab| json!([{"display": lab}])),
        "valueCodeableConcept": value,
        "interpretation": interpretation.map(|i| json!([{"coding": [coding(INTERPRETATION, i, None)]}])),
    }))
}

/// A contact record as an Observation of exposure to SARS-CoV-2 about the
/// contact, focused on the case they were exposed to.
pub fn exposure_observation(c: &ContactView) -> Value {
    pruned(json!({
        "resourceType": "Observation",
        "id": c.exposure_id.to_string(),
        "extension": [
            extension("contact-status", "Code", json!(c.status)),
            extension("quarantine-end", "Date", json!(c.quarantine_end)),
        ],
        "status": "final",
        "category": [{"coding": [coding(OBS_CATEGORY, "social-history", None)], "text": "exposure"}],
        "code": {"coding": [coding(SNOMED, EXPOSURE.0, Some(EXPOSURE.1))], "text": "Exposure to SARS-CoV-2"},
        "subject": {"reference": format!("Patient/{}", c.contact_person_id)},
        "focus": [{"reference": format!("Condition/{}", c.case_id)}],
        "effectivePeriod": {"start": c.first_exposure, "end": c.last_exposure},
        "component": [{
            "code": {"text": "exposure setting"},
            "valueString": c.setting,
        }],
    }))
}

/// A search's answer: the matches, each in full.
pub fn searchset(resources: Vec<Value>) -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": resources.len(),
        "entry": resources
            .into_iter()
            .map(|r| json!({"resource": r, "search": {"mode": "match"}}))
            .collect::<Vec<_>>(),
    })
}

/// FHIR's issue type for an HTTP status.
pub fn issue_code(status: u16) -> &'static str {
    match status {
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 | 501 => "not-supported",
        409 => "conflict",
        413 => "too-costly",
        400 | 415 | 422 => "invalid",
        429 => "throttled",
        _ => "exception",
    }
}

/// One problem, at `expression` (a FHIRPath into what was sent).
pub fn issue(code: &str, diagnostics: &str, expression: Option<&str>) -> Value {
    pruned(json!({
        "severity": "error",
        "code": code,
        "diagnostics": diagnostics,
        "expression": expression.map(|e| json!([e])),
    }))
}

/// FHIR's error body.
pub fn outcome(issues: Vec<Value>) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// What this server does, for clients to discover (`GET /fhir/metadata`).
pub fn capability_statement(date: chrono::NaiveDate) -> Value {
    let read_search = |kind: &str, params: &[(&str, &str, &str)]| {
        json!({
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": params.iter().map(|(n, t, d)| json!({
                "name": n, "type": t, "documentation": d
            })).collect::<Vec<_>>(),
        })
    };
    let subject = [
        ("_id", "token", "The resource's id"),
        (
            "subject",
            "reference",
            "Patient/{id}: the patient's, as the caller's jurisdiction knows them",
        ),
        ("patient", "reference", "As subject"),
    ];
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date.to_string(),
        "publisher": "tracedesk",
        "kind": "instance",
        "software": {"name": "tracedesk", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "tracedesk: case investigation and contact tracing"},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Personal data never goes in a URL: search by phone, email, or name and birth date with POST [type]/_search (a form body); GET searches take ids only.",
            "security": {
                "cors": false,
                "description": "A bearer API token or a staff session. Each resource is shown only to a caller entitled to it (a tracer: the persons of the tasks they hold; a supervisor: their jurisdictions), and every read is in the audit log.",
            },
            "resource": [
                read_search("Patient", &[
                    ("_id", "token", "The patient's id"),
                    ("identifier", "token", "urn:ietf:rfc:3986|urn:uuid:{id}"),
                    ("phone", "token", "POST _search only"),
                    ("email", "token", "POST _search only"),
                    ("family", "string", "POST _search only, with given and birthdate"),
                    ("given", "string", "POST _search only, with family and birthdate"),
                    ("birthdate", "date", "POST _search only, with family and given"),
                ]),
                read_search("Observation", &subject),
                read_search("Condition", &subject),
            ],
            "interaction": [
                {"code": "transaction", "documentation": "A Bundle of lab Observations and their Patients: all recorded, or none"},
                {"code": "batch", "documentation": "As transaction, each entry on its own"},
            ],
            "operation": [{
                "name": "export",
                "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
                "documentation": "Asynchronous, de-identified (Patient, Condition) for analysts",
            }],
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing unknown is sent empty: FHIR's ele-1.
    #[test]
    fn unknown_elements_are_left_out() {
        let p = PersonView {
            id: Uuid::nil(),
            first_name: Some("Ada".into()),
            last_name: None,
            dob: None,
            phone: None,
            email: Some("a@example.org".into()),
            address: None,
            language: None,
            created_at: chrono::Utc::now(),
        };
        let v = patient(Uuid::nil(), &p);
        assert_eq!(v["name"], json!([{"given": ["Ada"]}]));
        assert_eq!(
            v["telecom"],
            json!([{"system": "email", "value": "a@example.org"}])
        );
        assert!(v.get("birthDate").is_none() && v.get("address").is_none());
        assert!(v.get("communication").is_none());
    }

    #[test]
    fn statuses_have_their_issue_codes() {
        assert_eq!(issue_code(404), "not-found");
        assert_eq!(issue_code(403), "forbidden");
        assert_eq!(issue_code(422), "invalid");
        assert_eq!(issue_code(500), "exception");
    }
}
