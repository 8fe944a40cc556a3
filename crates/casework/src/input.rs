//! Wire inputs (JSON bodies and CSV rows share them) and their validation
//! into domain types. Every field is a string on the wire so that one bad
//! value yields a field error naming it, rather than a generic parse failure.

use crate::CaseworkError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tracedesk_domain::{
    CaseStatus, ContactStatus, DateOfBirth, Email, ExposureSetting, FieldError, LabOutcome,
    PersonName, Phone,
};

/// One lab result as a lab or an ELR feed sends it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabResultInput {
    #[schema(required = true)]
    pub first_name: Option<String>,
    #[schema(required = true)]
    pub last_name: Option<String>,
    #[schema(schema_with = crate::api_schema::date)]
    pub dob: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub language: Option<String>,
    #[schema(schema_with = crate::api_schema::date)]
    #[schema(required = true)]
    pub specimen_date: Option<String>,
    #[schema(schema_with = crate::api_schema::lab_result)]
    #[schema(required = true)]
    pub result: Option<String>,
    pub test_type: Option<String>,
    #[schema(required = true)]
    pub accession: Option<String>,
    pub lab: Option<String>,
    /// Who ordered the test (name, and an identifier such as an NPI).
    pub ordering_provider: Option<String>,
    /// Code of the jurisdiction the result belongs to; the configured
    /// default when absent.
    pub jurisdiction: Option<String>,
}

/// A lab result's fields, once: JSON and CSV names, and which are
/// required. Validation, the CSV importer, the OpenAPI document and the
/// README's table all follow this list (tests fail when they drift).
pub const LAB_FIELDS: &[(&str, bool)] = &[
    ("first_name", true),
    ("last_name", true),
    ("dob", false),
    ("phone", false),
    ("email", false),
    ("address", false),
    ("language", false),
    ("specimen_date", true),
    ("result", true),
    ("test_type", false),
    ("accession", true),
    ("lab", false),
    ("ordering_provider", false),
    ("jurisdiction", false),
];

impl LabResultInput {
    /// Sets the field named `name` (a `LAB_FIELDS` name); false for any
    /// other name.
    pub fn set(&mut self, name: &str, value: String) -> bool {
        let slot = match name {
            "first_name" => &mut self.first_name,
            "last_name" => &mut self.last_name,
            "dob" => &mut self.dob,
            "phone" => &mut self.phone,
            "email" => &mut self.email,
            "address" => &mut self.address,
            "language" => &mut self.language,
            "specimen_date" => &mut self.specimen_date,
            "result" => &mut self.result,
            "test_type" => &mut self.test_type,
            "accession" => &mut self.accession,
            "lab" => &mut self.lab,
            "ordering_provider" => &mut self.ordering_provider,
            "jurisdiction" => &mut self.jurisdiction,
            _ => return false,
        };
        *slot = Some(value);
        true
    }
}

/// A contact named by a case.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schema(required = true)]
    pub first_name: Option<String>,
    #[schema(required = true)]
    pub last_name: Option<String>,
    #[schema(schema_with = crate::api_schema::date)]
    pub dob: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub language: Option<String>,
    /// One or more dates (YYYY-MM-DD) of exposure.
    #[serde(default)]
    #[schema(required = true)]
    pub exposure_dates: Vec<String>,
    #[schema(schema_with = crate::api_schema::setting)]
    pub setting: Option<String>,
    /// A household contact whose exposure goes on while the case isolates
    /// at home: quarantine runs from the case's isolation end, and moves
    /// when it moves (only with `setting: household`).
    #[serde(default)]
    pub ongoing_exposure: bool,
    /// Kept as the contact record's first note.
    pub notes: Option<String>,
}

/// Follow-up of a contact record. Absent fields stay as they are; the
/// quarantine end is computed again from what results.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactPatch {
    /// A move along the lifecycle. `converted` is made by a positive lab
    /// result and `already_a_case` at naming, never by hand.
    #[schema(schema_with = crate::api_schema::contact_status)]
    pub status: Option<String>,
    /// The date of a negative test (the 7-day quarantine option).
    #[schema(schema_with = crate::api_schema::date)]
    pub negative_test_date: Option<String>,
    /// Every date of exposure, replacing the recorded first and last.
    pub exposure_dates: Option<Vec<String>>,
    #[schema(schema_with = crate::api_schema::setting)]
    pub setting: Option<String>,
    /// See `ContactInput::ongoing_exposure`.
    pub ongoing_exposure: Option<bool>,
    /// A note to add (notes are never overwritten).
    pub note: Option<String>,
}

/// A validated contact patch.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValidContactPatch {
    pub status: Option<ContactStatus>,
    pub negative_test_date: Option<NaiveDate>,
    pub dates: Option<(NaiveDate, NaiveDate)>,
    pub setting: Option<ExposureSetting>,
    pub ongoing: Option<bool>,
    pub note: Option<String>,
}

impl ContactPatch {
    pub(crate) fn validate(&self, today: NaiveDate) -> Result<ValidContactPatch, CaseworkError> {
        let mut c = Check { errors: Vec::new() };
        let status = present(&self.status).and_then(|s| {
            match ContactStatus::parse(s) {
                None => c.fail(
                    "status",
                    "is not a contact status (named, notified, monitoring, completed, symptomatic, \
                     referred_for_testing, unreachable, refused, lost, transferred)",
                ),
                Some(ContactStatus::Converted | ContactStatus::AlreadyACase) => c.fail(
                    "status",
                    "is set by case work itself (a positive result, or naming a case)",
                ),
                Some(s) => return Some(s),
            }
            None
        });
        let tested = present(&self.negative_test_date).and_then(|raw| {
            c.take(parse_date("negative_test_date", raw))
                .and_then(|d| c.take(tracedesk_domain::event_date("negative_test_date", d, today)))
        });
        let dates = self.exposure_dates.as_ref().and_then(|list| {
            let dates = exposure_dates(&mut c, list, today);
            Some((*dates.first()?, *dates.last()?))
        });
        let setting = present(&self.setting).and_then(|v| parse_setting(&mut c, v));
        let note = bounded_text(&mut c, "note", &self.note, 4000);
        if self.status.is_none()
            && self.negative_test_date.is_none()
            && self.exposure_dates.is_none()
            && self.setting.is_none()
            && self.ongoing_exposure.is_none()
            && self.note.is_none()
        {
            c.fail(
                "status",
                "give at least one of status, negative_test_date, exposure_dates, setting, \
                 ongoing_exposure, note",
            );
        }
        c.finish(Some(ValidContactPatch {
            status,
            negative_test_date: tested,
            dates,
            setting,
            ongoing: self.ongoing_exposure,
            note,
        }))
    }
}

/// Exposure dates: one to 60, each a past event date; sorted, unique.
fn exposure_dates(c: &mut Check, raw: &[String], today: NaiveDate) -> Vec<NaiveDate> {
    if raw.is_empty() {
        c.fail("exposure_dates", "at least one exposure date is required");
    }
    if raw.len() > 60 {
        c.fail("exposure_dates", "at most 60 dates");
    }
    let mut dates = Vec::new();
    for (i, raw) in raw.iter().enumerate() {
        let field = format!("exposure_dates[{i}]");
        if let Some(d) = c
            .take(parse_date(&field, raw))
            .and_then(|d| c.take(tracedesk_domain::event_date(&field, d, today)))
        {
            dates.push(d);
        }
    }
    dates.sort_unstable();
    dates.dedup();
    dates
}

/// What a setting must be, said once.
pub(crate) const SETTINGS: &str =
    "must be household, workplace, school, healthcare, event or other";

fn parse_setting(c: &mut Check, v: &str) -> Option<ExposureSetting> {
    named(
        c,
        "setting",
        &Some(v.to_string()),
        ExposureSetting::parse,
        None,
        SETTINGS,
    )
}

/// Changes to a case. Absent fields are left as they are; `onset_date: null`
/// clears a recorded onset.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatch {
    #[schema(schema_with = crate::api_schema::case_status)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::api_schema::date)]
    pub onset_date: Option<Option<String>>,
    pub asymptomatic: Option<bool>,
    pub symptoms: Option<Vec<String>>,
    /// A note to add to the case (notes are never overwritten; see
    /// `GET /cases/{id}/notes`).
    pub notes: Option<String>,
    /// The first day without fever (without fever-reducing medicine);
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = crate::api_schema::date)]
    pub fever_free_since: Option<Option<String>>,
    /// Whether the other symptoms are improving.
    pub improving: Option<bool>,
    /// Severe illness or severe immunocompromise (the longer isolation).
    pub severe: Option<bool>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Find persons by phone or by name and date of birth (sent in a body, never a URL).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonSearch {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub dob: Option<String>,
}

/// Validated identity of a person.
#[derive(Debug, Clone)]
pub(crate) struct PersonFields {
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub dob: Option<DateOfBirth>,
    pub phone: Option<Phone>,
    pub email: Option<Email>,
    pub address: Option<String>,
    pub language: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ValidLab {
    pub person: PersonFields,
    pub specimen_date: NaiveDate,
    pub outcome: LabOutcome,
    pub test_type: Option<String>,
    pub accession: String,
    pub lab: Option<String>,
    pub ordering_provider: Option<String>,
    pub jurisdiction: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct ValidContact {
    pub person: PersonFields,
    pub first_exposure: NaiveDate,
    pub last_exposure: NaiveDate,
    pub dates: Vec<NaiveDate>,
    pub setting: ExposureSetting,
    pub ongoing: bool,
    pub notes: Option<String>,
}

/// Collects field errors so a caller sees every problem of a record at once.
#[derive(Default)]
pub(crate) struct Check {
    pub errors: Vec<FieldError>,
}

impl Check {
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        r.map_err(|e| self.errors.push(e)).ok()
    }

    pub fn fail(&mut self, field: &str, reason: &str) {
        self.errors.push(FieldError::new(field, reason));
    }

    pub fn finish<T>(self, value: Option<T>) -> Result<T, CaseworkError> {
        match value {
            Some(v) if self.errors.is_empty() => Ok(v),
            _ => Err(CaseworkError::Invalid(self.errors)),
        }
    }
}

pub(crate) fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub(crate) fn parse_date(field: &str, raw: &str) -> Result<NaiveDate, FieldError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, "is not a date in YYYY-MM-DD form"))
}

/// One name from a fixed list (a domain enum's): `missing` is the error
/// when the field is absent (`None`: it may be), `bad` when it is not one
/// of the names.
pub(crate) fn named<T>(
    c: &mut Check,
    field: &str,
    raw: &Option<String>,
    parse: impl Fn(&str) -> Option<T>,
    missing: Option<&str>,
    bad: &str,
) -> Option<T> {
    match present(raw) {
        None => {
            if let Some(m) = missing {
                c.fail(field, m);
            }
            None
        }
        Some(v) => parse(&v.to_ascii_lowercase()).or_else(|| {
            c.fail(field, bad);
            None
        }),
    }
}

pub(crate) fn bounded_text(
    c: &mut Check,
    field: &str,
    v: &Option<String>,
    max: usize,
) -> Option<String> {
    let s = present(v)?;
    if s.chars().count() > max {
        c.fail(field, &format!("is longer than {max} characters"));
        return None;
    }
    if s.chars().any(|ch| ch.is_control() && ch != '\n') {
        c.fail(field, "contains control characters");
        return None;
    }
    Some(s.to_string())
}

fn language(c: &mut Check, v: &Option<String>) -> Option<String> {
    let s = present(v)?;
    let ok =
        (2..=35).contains(&s.len()) && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
    if !ok {
        c.fail(
            "language",
            "must be a language tag such as en, es or zh-Hant",
        );
        return None;
    }
    Some(s.to_ascii_lowercase())
}

/// Names, DOB, phone, email, address, language; `need_dob_or_phone` is the
/// rule that makes a person matchable later.
#[allow(clippy::too_many_arguments)]
fn person_fields(
    c: &mut Check,
    first: &Option<String>,
    last: &Option<String>,
    dob: &Option<String>,
    phone: &Option<String>,
    email: &Option<String>,
    address: &Option<String>,
    lang: &Option<String>,
    region: &str,
    today: NaiveDate,
) -> Option<PersonFields> {
    let first_name = match present(first) {
        Some(v) => c.take(PersonName::parse("first_name", v)),
        None => {
            c.fail("first_name", "is required");
            None
        }
    };
    let last_name = match present(last) {
        Some(v) => c.take(PersonName::parse("last_name", v)),
        None => {
            c.fail("last_name", "is required");
            None
        }
    };
    let dob_v = present(dob).and_then(|v| c.take(DateOfBirth::parse("dob", v, today)));
    let phone_v = present(phone).and_then(|v| c.take(Phone::parse("phone", v, region)));
    let email_v = present(email).and_then(|v| c.take(Email::parse("email", v)));
    let address = bounded_text(c, "address", address, 300);
    let language = language(c, lang);
    if present(dob).is_none() && present(phone).is_none() {
        c.fail(
            "dob",
            "a date of birth or a phone number is required to identify the person",
        );
    }
    Some(PersonFields {
        first_name: first_name?,
        last_name: last_name?,
        dob: dob_v,
        phone: phone_v,
        email: email_v,
        address,
        language,
    })
}

impl LabResultInput {
    pub(crate) fn validate(
        &self,
        region: &str,
        today: NaiveDate,
    ) -> Result<ValidLab, CaseworkError> {
        let mut c = Check::default();
        let person = person_fields(
            &mut c,
            &self.first_name,
            &self.last_name,
            &self.dob,
            &self.phone,
            &self.email,
            &self.address,
            &self.language,
            region,
            today,
        );
        let specimen_date = match present(&self.specimen_date) {
            Some(v) => c
                .take(parse_date("specimen_date", v))
                .and_then(|d| c.take(tracedesk_domain::event_date("specimen_date", d, today))),
            None => {
                c.fail("specimen_date", "is required");
                None
            }
        };
        let outcome = match present(&self.result) {
            Some(v) => parse_outcome(v).or_else(|| {
                c.fail(
                    "result",
                    "must be positive, negative or inconclusive (or detected / not detected)",
                );
                None
            }),
            None => {
                c.fail("result", "is required");
                None
            }
        };
        let accession = match present(&self.accession) {
            Some(v) if v.len() <= 64 && v.chars().all(|ch| ch.is_ascii_graphic()) => {
                Some(v.to_string())
            }
            Some(_) => {
                c.fail("accession", "must be 1 to 64 printable ASCII characters");
                None
            }
            None => {
                c.fail("accession", "is required");
                None
            }
        };
        let test_type = bounded_text(&mut c, "test_type", &self.test_type, 100);
        let lab = bounded_text(&mut c, "lab", &self.lab, 200);
        let ordering_provider =
            bounded_text(&mut c, "ordering_provider", &self.ordering_provider, 200);
        let jurisdiction = present(&self.jurisdiction).and_then(|j| {
            if tracedesk_identity::jurisdiction::valid_code(j) {
                Some(j.to_string())
            } else {
                c.fail(
                    "jurisdiction",
                    "must be a jurisdiction code (lower-case letters, digits, - and _)",
                );
                None
            }
        });
        let value = (|| {
            Some(ValidLab {
                person: person?,
                specimen_date: specimen_date?,
                outcome: outcome?,
                test_type,
                accession: accession?,
                lab,
                ordering_provider,
                jurisdiction,
            })
        })();
        c.finish(value)
    }
}

/// Accepts the words labs actually send, including HL7-style "detected".
fn parse_outcome(v: &str) -> Option<LabOutcome> {
    match v.trim().to_ascii_lowercase().as_str() {
        "positive" | "pos" | "detected" | "p" => Some(LabOutcome::Positive),
        "negative" | "neg" | "not detected" | "undetected" | "n" => Some(LabOutcome::Negative),
        "inconclusive" | "indeterminate" | "equivocal" | "invalid" => {
            Some(LabOutcome::Inconclusive)
        }
        _ => None,
    }
}

impl ContactInput {
    pub(crate) fn validate(
        &self,
        region: &str,
        today: NaiveDate,
    ) -> Result<ValidContact, CaseworkError> {
        let mut c = Check::default();
        let person = person_fields(
            &mut c,
            &self.first_name,
            &self.last_name,
            &self.dob,
            &self.phone,
            &self.email,
            &None,
            &self.language,
            region,
            today,
        );
        let dates = exposure_dates(&mut c, &self.exposure_dates, today);
        let setting = match present(&self.setting) {
            Some(v) => parse_setting(&mut c, v),
            None => Some(ExposureSetting::Other),
        };
        if self.ongoing_exposure && setting != Some(ExposureSetting::Household) {
            c.fail(
                "ongoing_exposure",
                "only a household exposure goes on while the case isolates",
            );
        }
        let notes = bounded_text(&mut c, "notes", &self.notes, 2000);
        let value = (|| {
            Some(ValidContact {
                person: person?,
                first_exposure: *dates.first()?,
                last_exposure: *dates.last()?,
                dates: dates.clone(),
                setting: setting?,
                ongoing: self.ongoing_exposure,
                notes,
            })
        })();
        c.finish(value)
    }
}

/// A validated case patch.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValidPatch {
    pub status: Option<CaseStatus>,
    pub onset_date: Option<Option<NaiveDate>>,
    pub asymptomatic: Option<bool>,
    pub symptoms: Option<Vec<String>>,
    pub notes: Option<String>,
    pub fever_free_since: Option<Option<NaiveDate>>,
    pub improving: Option<bool>,
    pub severe: Option<bool>,
}

impl CasePatch {
    pub(crate) fn validate(&self, today: NaiveDate) -> Result<ValidPatch, CaseworkError> {
        let mut c = Check::default();
        let status = self.status.as_deref().and_then(|s| {
            CaseStatus::parse(s).or_else(|| {
                c.fail("status", "is not a case status (new, interviewing, isolating, closed, unreachable, refused)");
                None
            })
        });
        let onset_date = match &self.onset_date {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => c
                .take(parse_date("onset_date", raw))
                .and_then(|d| c.take(tracedesk_domain::event_date("onset_date", d, today)))
                .map(Some),
        };
        let symptoms = self.symptoms.as_ref().map(|list| {
            if list.len() > 30 {
                c.fail("symptoms", "at most 30 symptoms");
            }
            list.iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    bounded_text(&mut c, &format!("symptoms[{i}]"), &Some(s.clone()), 100)
                })
                .collect::<Vec<_>>()
        });
        let notes = bounded_text(&mut c, "notes", &self.notes, 4000);
        let fever_free_since = match &self.fever_free_since {
            None => None,
            Some(None) => Some(None),
            Some(Some(raw)) => c
                .take(parse_date("fever_free_since", raw))
                .and_then(|d| c.take(tracedesk_domain::event_date("fever_free_since", d, today)))
                .map(Some),
        };
        c.finish(Some(ValidPatch {
            status,
            onset_date,
            asymptomatic: self.asymptomatic,
            symptoms,
            notes,
            fever_free_since,
            improving: self.improving,
            severe: self.severe,
        }))
    }
}

impl PersonSearch {
    pub(crate) fn validate(
        &self,
        region: &str,
        today: NaiveDate,
    ) -> Result<SearchKey, CaseworkError> {
        let mut c = Check::default();
        if let Some(p) = present(&self.phone) {
            let phone = c.take(Phone::parse("phone", p, region));
            return c.finish(phone.map(SearchKey::Phone));
        }
        if let Some(e) = present(&self.email) {
            let email = c.take(Email::parse("email", e));
            return c.finish(email.map(SearchKey::Email));
        }
        let (Some(f), Some(l), Some(d)) = (
            present(&self.first_name),
            present(&self.last_name),
            present(&self.dob),
        ) else {
            return Err(CaseworkError::invalid(
                "phone",
                "give a phone, an email, or first_name + last_name + dob",
            ));
        };
        let first = c.take(PersonName::parse("first_name", f));
        let last = c.take(PersonName::parse("last_name", l));
        let dob = c.take(DateOfBirth::parse("dob", d, today));
        let key = (|| Some(SearchKey::NameDob(first?, last?, dob?)))();
        c.finish(key)
    }
}

pub(crate) enum SearchKey {
    Phone(Phone),
    Email(Email),
    NameDob(PersonName, PersonName, DateOfBirth),
}

#[cfg(test)]
mod lab_field_tests {
    use super::*;

    /// The struct, its setter and the list name the same fields.
    #[test]
    fn lab_fields_match_the_wire_struct() {
        let mut full = LabResultInput::default();
        for (name, _) in LAB_FIELDS {
            assert!(full.set(name, "x".into()), "{name} cannot be set");
        }
        let json = serde_json::to_value(&full).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut names: Vec<&str> = LAB_FIELDS.iter().map(|(n, _)| *n).collect();
        keys.sort_unstable();
        names.sort_unstable();
        assert_eq!(keys, names);
        assert!(
            json.as_object().unwrap().values().all(|v| v == "x"),
            "every field was set"
        );
        assert!(!full.set("surname", "x".into()));
    }

    /// The README's paragraph on lab columns lists the same fields, and the
    /// same required ones, in the same order.
    #[test]
    fn the_readme_lists_the_lab_fields() {
        let readme = include_str!("../../../README.md");
        let para = readme
            .split("\n\n")
            .find(|p| p.starts_with("Lab CSV columns"))
            .expect("the README has the lab columns paragraph");
        let (all, required) = para
            .split_once("Required:")
            .expect("and says which are required");
        let ticked = |s: &str| {
            s.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let names: Vec<String> = LAB_FIELDS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(ticked(all), names);
        let mut req = ticked(required);
        req.retain(|n| names.contains(n) && n != "dob" && n != "phone");
        let want: Vec<String> = LAB_FIELDS
            .iter()
            .filter(|(_, r)| *r)
            .map(|(n, _)| n.to_string())
            .filter(|n| n != "first_name" && n != "last_name")
            .collect();
        assert_eq!(req, want, "the README's required fields");
    }
}
