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
    }
}
