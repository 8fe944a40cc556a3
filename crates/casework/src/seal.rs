//! Turning validated fields into sealed rows, and the blind-index keys that
//! person matching uses. The normalized forms here are the single definition
//! of "the same person" for intake, contacts and search alike.

use crate::input::PersonFields;
use chrono::{DateTime, Utc};
use tracedesk_domain::{DateOfBirth, Email, PersonName, Phone};
use tracedesk_store::{PersonKey, PersonRow, Sealed, schema};
use tracedesk_vault::{BlindKind, FieldContext, Vault};
use uuid::Uuid;

pub(crate) fn seal_opt(
    v: &Vault,
    table: &str,
    column: &str,
    row: Uuid,
    value: Option<&str>,
) -> Option<Sealed> {
    value.map(|s| v.seal_str(&FieldContext::new(table, column, row), s))
}

pub(crate) fn name_dob_key(first: &PersonName, last: &PersonName, dob: &DateOfBirth) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        first.match_key(),
        last.match_key(),
        dob.date()
    )
}

pub(crate) fn phone_name_key(phone: &Phone, first: &PersonName, last: &PersonName) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        phone.as_str(),
        first.match_key(),
        last.match_key()
    )
}

pub(crate) fn email_key(email: &Email) -> String {
    email.match_key()
}

/// Keys to match an incoming person on, most trusted first. A phone alone is
/// never enough: households share phones, and merging a parent into a child's
/// record would be worse than a duplicate a human can merge later.
pub(crate) fn match_keys(v: &Vault, p: &PersonFields) -> Vec<(PersonKey, Vec<u8>)> {
    let mut keys = Vec::with_capacity(2);
    if let Some(dob) = &p.dob {
        keys.push((
            PersonKey::NameDob,
            v.blind(
                BlindKind::NameDob,
                &name_dob_key(&p.first_name, &p.last_name, dob),
            ),
        ));
    }
    if let Some(phone) = &p.phone {
        keys.push((
            PersonKey::PhoneName,
            v.blind(
                BlindKind::PhoneName,
                &phone_name_key(phone, &p.first_name, &p.last_name),
            ),
        ));
    }
    keys
}

pub(crate) fn seal_person(
    v: &Vault,
    id: Uuid,
    p: &PersonFields,
    now: DateTime<Utc>,
    jurisdiction: &str,
) -> PersonRow {
    let t = schema::PERSONS.name;
    let keys = match_keys(v, p);
    let find = |k: PersonKey| keys.iter().find(|(kk, _)| *kk == k).map(|(_, b)| b.clone());
    PersonRow {
        id,
        created_at: now,
        updated_at: now,
        key_version: v.current_version(),
        first_name: seal_opt(v, t, "first_name", id, Some(p.first_name.as_str())),
        last_name: seal_opt(v, t, "last_name", id, Some(p.last_name.as_str())),
        dob: seal_opt(
            v,
            t,
            "dob",
            id,
            p.dob.map(|d| d.date().to_string()).as_deref(),
        ),
        phone: seal_opt(v, t, "phone", id, p.phone.as_ref().map(Phone::as_str)),
        email: seal_opt(v, t, "email", id, p.email.as_ref().map(Email::as_str)),
        address: seal_opt(v, t, "address", id, p.address.as_deref()),
        language: seal_opt(v, t, "language", id, p.language.as_deref()),
        phone_bidx: p
            .phone
            .as_ref()
            .map(|ph| v.blind(BlindKind::Phone, ph.as_str())),
        email_bidx: p
            .email
            .as_ref()
            .map(|e| v.blind(BlindKind::Email, &email_key(e))),
        name_dob_bidx: find(PersonKey::NameDob),
        phone_name_bidx: find(PersonKey::PhoneName),
        jurisdiction: jurisdiction.to_string(),
        purged_at: None,
        age_band: None,
        merged_into: None,
    }
}

/// What an item says of a person, as facts to add to a matched person whose
/// record lacks them (the store keeps the new ones only): the phone and
/// email (with their phone+name key, so the person is matched by them
/// later), and the date of birth (with its name+date key). Each is sealed
/// under its own id.
pub(crate) fn points_of(
    v: &Vault,
    p: &PersonFields,
    now: DateTime<Utc>,
    jurisdiction: &str,
) -> Vec<tracedesk_store::PointRow> {
    let t = schema::PERSON_POINTS.name;
    let point = |key: PersonKey, bidx: Vec<u8>, value: Option<&str>| {
        let id = Uuid::now_v7();
        tracedesk_store::PointRow {
            id,
            person_id: id,
            jurisdiction: jurisdiction.to_string(),
            key,
            bidx,
            created_at: now,
            key_version: v.current_version(),
            value: seal_opt(v, t, "value", id, value),
        }
    };
    let mut out = Vec::new();
    for (key, bidx) in match_keys(v, p) {
        let value = match key {
            PersonKey::NameDob => p.dob.map(|d| d.date().to_string()),
            _ => None,
        };
        out.push(point(key, bidx, value.as_deref()));
    }
    if let Some(phone) = &p.phone {
        out.push(point(
            PersonKey::Phone,
            v.blind(BlindKind::Phone, phone.as_str()),
            Some(phone.as_str()),
        ));
    }
    if let Some(email) = &p.email {
        out.push(point(
            PersonKey::Email,
            v.blind(BlindKind::Email, &email_key(email)),
            Some(email.as_str()),
        ));
    }
    out
}

/// The accession as the store indexes it: one per lab, trimmed, with case
/// ignored (`acc-1` from a lab is `ACC-1` from it), so a result sent twice
/// is recognized however it was typed.
pub(crate) fn accession_key(lab: Option<&str>, accession: &str) -> String {
    let lab = lab
        .map(|l| {
            l.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        })
        .unwrap_or_default();
    format!("{lab}\u{1f}{}", accession.trim().to_uppercase())
}
