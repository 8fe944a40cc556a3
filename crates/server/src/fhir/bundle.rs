//! A FHIR transaction or batch Bundle of lab Observations read into the
//! lab results intake takes (the same intake as the JSON API, CSV and
//! HL7 v2): each value's place in the Bundle is kept, so a refusal names
//! the element it came from (`Bundle.entry[2].resource.birthDate`), never
//! the value.
//!
//! | lab result field   | read from                                                        |
//! |--------------------|------------------------------------------------------------------|
//! | names              | the subject Patient's `name` (official first): `family`, `given` |
//! | dob                | `Patient.birthDate`                                              |
//! | phone, email       | `Patient.telecom` (first of each system)                         |
//! | address            | `Patient.address[0]` (`text`, else its lines, city, state, code) |
//! | language           | `Patient.communication[0].language`                              |
//! | test type          | `Observation.code`, a LOINC code of a SARS-CoV-2 test            |
//! | result             | `valueCodeableConcept` (SNOMED CT, else its text), `valueString`, else `interpretation` |
//! | specimen date      | `effectiveDateTime` / `effectivePeriod.start`, else the Specimen's collection |
//! | accession          | `Observation.identifier[0]`, else `Specimen.accessionIdentifier` |
//! | lab                | `performer`: an Organization's `name`, else its `display`        |
//! | ordering provider  | `basedOn` → ServiceRequest `requester` (Practitioner name and NPI) |
//! | jurisdiction       | tracedesk's `jurisdiction` extension on the Observation           |

use super::resources::EXTENSION_BASE;
use serde_json::Value;
use std::collections::HashMap;
use tracedesk_casework::LabResultInput;
use tracedesk_domain::lab_codes;

/// All or nothing, or each entry on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Transaction,
    Batch,
}

/// A problem with what was sent: where, and why (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub expression: String,
    pub message: String,
}

fn problem(expression: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        expression: expression.into(),
        message: message.into(),
    }
}

/// One lab Observation of the Bundle, read.
#[derive(Debug, Clone, Default)]
pub struct Item {
    /// Its entry's index in the Bundle.
    pub entry: usize,
    /// The subject Patient's entry.
    pub patient: Option<usize>,
    pub input: LabResultInput,
    /// Where each field came from, by `LAB_FIELDS` name.
    pub sources: Vec<(&'static str, String)>,
}

impl Item {
    /// Where `field` (a `LAB_FIELDS` name) came from; the Observation when
    /// it came from nowhere (a required field missing).
    pub fn source_of(&self, field: Option<&str>) -> String {
        let at = format!("Bundle.entry[{}].resource", self.entry);
        let Some(field) = field else { return at };
        self.sources
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, s)| s.clone())
            .unwrap_or_else(|| match field {
                "first_name" | "last_name" | "dob" | "phone" | "email" | "address" => {
                    match self.patient {
                        Some(p) => format!("Bundle.entry[{p}].resource"),
                        None => format!("{at}.subject"),
                    }
                }
                "specimen_date" => format!("{at}.effective[x]"),
                "result" => format!("{at}.value[x]"),
                "accession" => format!("{at}.identifier"),
                _ => at,
            })
    }
}

/// A Bundle read: its kind, the entries that are lab Observations, what
/// was wrong with each entry that could not be read, and the Patient
/// entries (answered with the person each became).
#[derive(Debug, Default)]
pub struct Read {
    pub kind: Option<Kind>,
    pub entries: usize,
    pub items: Vec<Item>,
    /// Entry index → what was wrong with it.
    pub refused: Vec<(usize, Problem)>,
    /// Problems with the Bundle itself (no entry is read).
    pub fatal: Vec<Problem>,
}

/// The resource types a lab Bundle may carry besides its Observations.
const SUPPORTING: &[&str] = &[
    "Patient",
    "Specimen",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "ServiceRequest",
];

/// Reads a Bundle of at most `max` entries.
pub fn read(bundle: &Value, max: usize) -> Read {
    let mut out = Read::default();
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        out.fatal.push(problem(
            "resourceType",
            "is not Bundle: POST a transaction or batch Bundle",
        ));
        return out;
    }
    out.kind = match bundle.get("type").and_then(Value::as_str) {
        Some("transaction") => Some(Kind::Transaction),
        Some("batch") => Some(Kind::Batch),
        _ => {
            out.fatal
                .push(problem("Bundle.type", "must be transaction or batch"));
            return out;
        }
    };
    let entries: &[Value] = match bundle.get("entry") {
        Some(Value::Array(e)) => e,
        None => &[],
        Some(_) => {
            out.fatal.push(problem("Bundle.entry", "must be an array"));
            return out;
        }
    };
    out.entries = entries.len();
    if entries.is_empty() || entries.len() > max {
        out.fatal.push(problem(
            "Bundle.entry",
            format!("a Bundle holds 1 to {max} entries"),
        ));
        return out;
    }
    // Entries by their fullUrl, so references inside the Bundle resolve.
    let mut by_url: HashMap<&str, usize> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(u) = e.get("fullUrl").and_then(Value::as_str)
            && by_url.insert(u, i).is_some()
        {
            out.fatal.push(problem(
                format!("Bundle.entry[{i}].fullUrl"),
                "is the fullUrl of an earlier entry too",
            ));
        }
    }
    if !out.fatal.is_empty() {
        return out;
    }
    let b = Resolver { entries, by_url };
    for (i, e) in entries.iter().enumerate() {
        let at = format!("Bundle.entry[{i}]");
        let Some(r) = e.get("resource").filter(|r| r.is_object()) else {
            out.refused
                .push((i, problem(format!("{at}.resource"), "is missing")));
            continue;
        };
        let method = e.pointer("/request/method").and_then(Value::as_str);
        if method != Some("POST") {
            out.refused.push((
                i,
                problem(
                    format!("{at}.request.method"),
                    "must be POST: results are added, never replaced",
                ),
            ));
            continue;
        }
        match r.get("resourceType").and_then(Value::as_str) {
            Some("Observation") => match b.observation(i, r) {
                Ok(item) => out.items.push(item),
                Err(p) => out.refused.push((i, p)),
            },
            Some(t) if SUPPORTING.contains(&t) => {}
            _ => out.refused.push((
                i,
                problem(
                    format!("{at}.resource.resourceType"),
                    "is not one a lab Bundle carries (Observation, Patient, Specimen, Organization, Practitioner, PractitionerRole, ServiceRequest)",
                ),
            )),
        }
    }
    out
}

struct Resolver<'a> {
    entries: &'a [Value],
    by_url: HashMap<&'a str, usize>,
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn array<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], |a| a)
}

/// The date part of a FHIR date or dateTime.
fn date_part(v: &str) -> String {
    v.get(..10).unwrap_or(v).to_string()
}

impl<'a> Resolver<'a> {
    /// The entry a reference names, if it is one of this Bundle's of `kind`.
    fn entry(&self, reference: Option<&Value>, kind: &str) -> Option<(usize, &'a Value)> {
        let r = reference?.get("reference")?.as_str()?;
        let &i = self.by_url.get(r)?;
        let res = self.entries.get(i)?.get("resource")?;
        (res.get("resourceType")?.as_str()? == kind).then_some((i, res))
    }

    fn observation(&self, i: usize, o: &Value) -> Result<Item, Problem> {
        let at = format!("Bundle.entry[{i}].resource");
        let mut item = Item {
            entry: i,
            ..Item::default()
        };
        let status = o.get("status").and_then(Value::as_str).unwrap_or("");
        if !matches!(status, "final" | "amended" | "corrected") {
            return Err(problem(
                format!("{at}.status"),
                "must be final, amended or corrected: a preliminary or cancelled result is not recorded",
            ));
        }
        // The test.
        let codings = o.pointer("/code/coding").and_then(Value::as_array);
        let test = codings
            .into_iter()
            .flatten()
            .enumerate()
            .find_map(|(k, c)| {
                let loinc = c.get("system").and_then(Value::as_str) == Some("http://loinc.org");
                let code = c.get("code").and_then(Value::as_str)?;
                loinc
                    .then(|| lab_codes::test_type_of_loinc(code))
                    .flatten()
                    .map(|t| (k, t))
            });
        let Some((k, test_type)) = test else {
            return Err(problem(
                format!("{at}.code"),
                "has no LOINC code of a SARS-CoV-2 molecular or antigen test",
            ));
        };
        item.input.test_type = Some(test_type.into());
        item.sources
            .push(("test_type", format!("{at}.code.coding[{k}]")));
        // The result.
        match result_of(o) {
            Some((r, place)) => {
                item.input.result = Some(r.into());
                item.sources.push(("result", format!("{at}.{place}")));
            }
            None => {
                return Err(problem(
                    format!("{at}.value[x]"),
                    "gives no result tracedesk reads: a SNOMED CT qualifier value (detected, not detected, inconclusive), those words, or an interpretation code",
                ));
            }
        }
        // The subject.
        let Some((p, patient)) = self.entry(o.get("subject"), "Patient") else {
            return Err(problem(
                format!("{at}.subject"),
                "must reference a Patient entry of this Bundle by its fullUrl",
            ));
        };
        item.patient = Some(p);
        self.patient(p, patient, &mut item);
        // The specimen, its date and accession.
        let specimen = self.entry(o.get("specimen"), "Specimen");
        if let Some(d) = text(o.get("effectiveDateTime")) {
            item.input.specimen_date = Some(date_part(&d));
            item.sources
                .push(("specimen_date", format!("{at}.effectiveDateTime")));
        } else if let Some(d) = text(o.pointer("/effectivePeriod/start")) {
            item.input.specimen_date = Some(date_part(&d));
            item.sources
                .push(("specimen_date", format!("{at}.effectivePeriod.start")));
        } else if let Some((s, sp)) = specimen {
            let collected = text(sp.pointer("/collection/collectedDateTime"))
                .map(|d| (d, "collectedDateTime"))
                .or_else(|| {
                    text(sp.pointer("/collection/collectedPeriod/start"))
                        .map(|d| (d, "collectedPeriod.start"))
                });
            if let Some((d, place)) = collected {
                item.input.specimen_date = Some(date_part(&d));
                item.sources.push((
                    "specimen_date",
                    format!("Bundle.entry[{s}].resource.collection.{place}"),
                ));
            }
        }
        if let Some(a) = text(o.pointer("/identifier/0/value")) {
            item.input.accession = Some(a);
            item.sources
                .push(("accession", format!("{at}.identifier[0].value")));
        } else if let Some((s, sp)) = specimen
            && let Some(a) = text(sp.pointer("/accessionIdentifier/value"))
        {
            item.input.accession = Some(a);
            item.sources.push((
                "accession",
                format!("Bundle.entry[{s}].resource.accessionIdentifier.value"),
            ));
        }
        // The performing lab.
        for (k, perf) in array(o, "performer").iter().enumerate() {
            let lab = match self.entry(Some(perf), "Organization") {
                Some((_, org)) => text(org.get("name")),
                None => text(perf.get("display")),
            };
            if let Some(lab) = lab {
                item.input.lab = Some(lab);
                item.sources.push(("lab", format!("{at}.performer[{k}]")));
                break;
            }
        }
        // Who ordered it.
        for (k, based) in array(o, "basedOn").iter().enumerate() {
            if let Some((_, sr)) = self.entry(Some(based), "ServiceRequest")
                && let Some(who) = self.requester(sr.get("requester"))
            {
                item.input.ordering_provider = Some(who);
                item.sources
                    .push(("ordering_provider", format!("{at}.basedOn[{k}]")));
                break;
            }
        }
        // Whose it is.
        for (k, ext) in array(o, "extension").iter().enumerate() {
            if ext.get("url").and_then(Value::as_str)
                == Some(&format!("{EXTENSION_BASE}jurisdiction"))
            {
                item.input.jurisdiction =
                    text(ext.get("valueCode")).or_else(|| text(ext.get("valueString")));
                item.sources
                    .push(("jurisdiction", format!("{at}.extension[{k}]")));
            }
        }
        Ok(item)
    }

    /// The ordering provider: a Practitioner's name and NPI, or a display.
    fn requester(&self, r: Option<&Value>) -> Option<String> {
        if let Some((_, p)) = self.entry(r, "Practitioner") {
            let name = array(p, "name").first().map(name_text).unwrap_or_default();
            let npi = array(p, "identifier")
                .iter()
                .find(|i| {
                    i.get("system").and_then(Value::as_str)
                        == Some("http://hl7.org/fhir/sid/us-npi")
                })
                .and_then(|i| text(i.get("value")));
            let who = match npi {
                Some(n) if !name.is_empty() => format!("{name} (NPI {n})"),
                Some(n) => format!("NPI {n}"),
                None => name,
            };
            return (!who.is_empty()).then_some(who);
        }
        text(r?.get("display"))
    }

    fn patient(&self, p: usize, pt: &Value, item: &mut Item) {
        let at = format!("Bundle.entry[{p}].resource");
        let names = array(pt, "name");
        let k = names
            .iter()
            .position(|n| n.get("use").and_then(Value::as_str) == Some("official"))
            .unwrap_or(0);
        if let Some(n) = names.get(k) {
            if let Some(f) = text(n.get("family")) {
                item.input.last_name = Some(f);
                item.sources
                    .push(("last_name", format!("{at}.name[{k}].family")));
            }
            let given: Vec<&str> = array(n, "given").iter().filter_map(Value::as_str).collect();
            if !given.is_empty() {
                item.input.first_name = Some(given.join(" "));
                item.sources
                    .push(("first_name", format!("{at}.name[{k}].given")));
            }
        }
        if let Some(d) = text(pt.get("birthDate")) {
            item.input.dob = Some(d);
            item.sources.push(("dob", format!("{at}.birthDate")));
        }
        for (k, t) in array(pt, "telecom").iter().enumerate() {
            let (field, slot) = match t.get("system").and_then(Value::as_str) {
                Some("phone" | "sms") => ("phone", &mut item.input.phone),
                Some("email") => ("email", &mut item.input.email),
                _ => continue,
            };
            if slot.is_none()
                && let Some(v) = text(t.get("value"))
            {
                *slot = Some(v);
                item.sources
                    .push((field, format!("{at}.telecom[{k}].value")));
            }
        }
        if let Some(a) = array(pt, "address").first() {
            let written = text(a.get("text")).or_else(|| {
                let mut parts: Vec<String> = array(a, "line")
                    .iter()
                    .filter_map(|l| text(Some(l)))
                    .collect();
                parts.extend(
                    ["city", "state", "postalCode"]
                        .iter()
                        .filter_map(|k| text(a.get(*k))),
                );
                (!parts.is_empty()).then(|| parts.join(", "))
            });
            if let Some(w) = written {
                item.input.address = Some(w);
                item.sources.push(("address", format!("{at}.address[0]")));
            }
        }
        let lang = pt
            .pointer("/communication/0/language/coding/0/code")
            .and_then(Value::as_str)
            .and_then(|c| lab_codes::language(c.split('-').next().unwrap_or(c)));
        if let Some(l) = lang {
            item.input.language = Some(l);
            item.sources
                .push(("language", format!("{at}.communication[0].language")));
        }
    }
}

/// A HumanName as one line: given names, then the family name.
fn name_text(n: &Value) -> String {
    if let Some(t) = text(n.get("text")) {
        return t;
    }
    let mut parts: Vec<String> = array(n, "given")
        .iter()
        .filter_map(|g| text(Some(g)))
        .collect();
    parts.extend(text(n.get("family")));
    parts.join(" ")
}

/// The result an Observation gives, and where.
fn result_of(o: &Value) -> Option<(&'static str, String)> {
    if let Some(v) = o.get("valueCodeableConcept") {
        for (k, c) in array(v, "coding").iter().enumerate() {
            let snomed = c.get("system").and_then(Value::as_str) == Some("http://snomed.info/sct");
            if snomed
                && let Some(r) = c
                    .get("code")
                    .and_then(Value::as_str)
                    .and_then(lab_codes::result_of_snomed)
            {
                return Some((r, format!("valueCodeableConcept.coding[{k}]")));
            }
        }
        for (k, c) in array(v, "coding").iter().enumerate() {
            if let Some(r) = c
                .get("display")
                .and_then(Value::as_str)
                .and_then(lab_codes::result_of_word)
            {
                return Some((r, format!("valueCodeableConcept.coding[{k}]")));
            }
        }
        if let Some(r) = v
            .get("text")
            .and_then(Value::as_str)
            .and_then(lab_codes::result_of_word)
        {
            return Some((r, "valueCodeableConcept.text".into()));
        }
    }
    if let Some(r) = o
        .get("valueString")
        .and_then(Value::as_str)
        .and_then(lab_codes::result_of_word)
    {
        return Some((r, "valueString".into()));
    }
    for (k, i) in array(o, "interpretation").iter().enumerate() {
        for c in array(i, "coding") {
            let r = match c.get("code").and_then(Value::as_str) {
                Some("POS" | "DET" | "A" | "AA") => "positive",
                Some("NEG" | "ND" | "N") => "negative",
                Some("IND" | "E") => "inconclusive",
                _ => continue,
            };
            return Some((r, format!("interpretation[{k}]")));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle(obs: Value) -> Value {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:0b3c2b54-8d1f-4cda-9d36-53a4a1a0b001",
             "resource": {"resourceType": "Patient",
                "name": [{"use": "usual", "given": ["Jon"]}, {"use": "official", "family": "García López", "given": ["María", "José"]}],
                "birthDate": "1984-07-02",
                "telecom": [{"system": "email", "value": "mj@example.org"}, {"system": "phone", "value": "+1 212 555 0100"}],
                "address": [{"line": ["12 Elm St", "Apt 3"], "city": "Brooklyn", "state": "NY", "postalCode": "11201"}],
                "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "es-US"}]}}]},
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": "urn:uuid:0b3c2b54-8d1f-4cda-9d36-53a4a1a0b002",
             "resource": {"resourceType": "Organization", "name": "Bronx Reference Lab"},
             "request": {"method": "POST", "url": "Organization"}},
            {"fullUrl": "urn:uuid:0b3c2b54-8d1f-4cda-9d36-53a4a1a0b003", "resource": obs,
             "request": {"method": "POST", "url": "Observation"}},
        ]})
    }

    fn obs() -> Value {
        json!({"resourceType": "Observation", "status": "final",
            "identifier": [{"value": "ACC-77"}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "94500-6"}]},
            "subject": {"reference": "urn:uuid:0b3c2b54-8d1f-4cda-9d36-53a4a1a0b001"},
            "effectiveDateTime": "2026-11-28T09:30:00-05:00",
            "performer": [{"reference": "urn:uuid:0b3c2b54-8d1f-4cda-9d36-53a4a1a0b002"}],
            "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "260373001"}]}})
    }

    #[test]
    fn a_lab_bundle_reads_into_a_lab_result() {
        let r = read(&bundle(obs()), 100);
        assert!(r.fatal.is_empty() && r.refused.is_empty(), "{r:?}");
        assert_eq!(r.kind, Some(Kind::Transaction));
        let i = &r.items[0].input;
        assert_eq!(i.first_name.as_deref(), Some("María José"));
        assert_eq!(i.last_name.as_deref(), Some("García López"));
        assert_eq!(i.dob.as_deref(), Some("1984-07-02"));
        assert_eq!(i.phone.as_deref(), Some("+1 212 555 0100"));
        assert_eq!(i.email.as_deref(), Some("mj@example.org"));
        assert_eq!(
            i.address.as_deref(),
            Some("12 Elm St, Apt 3, Brooklyn, NY, 11201")
        );
        assert_eq!(i.language.as_deref(), Some("es"));
        assert_eq!(i.result.as_deref(), Some("positive"));
        assert_eq!(i.specimen_date.as_deref(), Some("2026-11-28"));
        assert_eq!(i.accession.as_deref(), Some("ACC-77"));
        assert_eq!(i.lab.as_deref(), Some("Bronx Reference Lab"));
        assert_eq!(i.test_type.as_deref(), Some("SARS-CoV-2 RNA (NAA)"));
        assert_eq!(
            r.items[0].source_of(Some("dob")),
            "Bundle.entry[0].resource.birthDate"
        );
        assert_eq!(r.items[0].patient, Some(0));
    }

    #[test]
    fn each_fault_is_named_at_its_element() {
        let cases: [(&str, Value, &str); 5] = [
            (
                "/code/coding/0/code",
                json!("2160-0"),
                "Bundle.entry[2].resource.code",
            ),
            (
                "/status",
                json!("preliminary"),
                "Bundle.entry[2].resource.status",
            ),
            (
                "/subject/reference",
                json!("Patient/123"),
                "Bundle.entry[2].resource.subject",
            ),
            (
                "/valueCodeableConcept",
                json!({"text": "see note"}),
                "Bundle.entry[2].resource.value[x]",
            ),
            (
                "/code",
                json!({"text": "covid"}),
                "Bundle.entry[2].resource.code",
            ),
        ];
        for (pointer, value, at) in cases {
            let mut o = obs();
            *o.pointer_mut(pointer).expect("in the sample") = value;
            let r = read(&bundle(o), 100);
            assert!(r.items.is_empty(), "{pointer}");
            assert_eq!(r.refused[0].0, 2);
            assert_eq!(r.refused[0].1.expression, at, "{pointer}");
        }
    }

    #[test]
    fn results_read_from_words_and_interpretations() {
        let mut o = obs();
        o.as_object_mut().map(|m| m.remove("valueCodeableConcept"));
        o["interpretation"] = json!([{"coding": [{"code": "NEG"}]}]);
        let r = read(&bundle(o.clone()), 100);
        assert_eq!(r.items[0].input.result.as_deref(), Some("negative"));
        o["valueString"] = json!("Detected");
        let r = read(&bundle(o), 100);
        assert_eq!(r.items[0].input.result.as_deref(), Some("positive"));
        assert_eq!(
            r.items[0].source_of(Some("result")),
            "Bundle.entry[2].resource.valueString"
        );
    }

    #[test]
    fn a_bundle_that_is_not_one_is_refused_whole() {
        assert_eq!(
            read(&json!({"resourceType": "Patient"}), 10).fatal[0].expression,
            "resourceType"
        );
        let r = read(
            &json!({"resourceType": "Bundle", "type": "collection", "entry": []}),
            10,
        );
        assert_eq!(r.fatal[0].expression, "Bundle.type");
        let r = read(&bundle(obs()), 2);
        assert_eq!(r.fatal[0].expression, "Bundle.entry");
        let mut b = bundle(obs());
        b["entry"][1]["fullUrl"] = b["entry"][0]["fullUrl"].clone();
        assert_eq!(read(&b, 10).fatal[0].expression, "Bundle.entry[1].fullUrl");
    }
}
