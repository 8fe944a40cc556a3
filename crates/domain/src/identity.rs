//! Validated newtypes for the identifying fields of a person.
//!
//! Each `parse` returns a [`FieldError`] that names the field and the reason
//! but never echoes the rejected value: the value is PHI and error text ends up
//! in logs and HTTP bodies.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Why a field was rejected. `field` is a schema name, `reason` is fixed text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A telephone number normalized to E.164 (`+14155550100`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Parses a number written nationally (in `default_region`, an ISO 3166
    /// alpha-2 code such as `US`) or internationally, and keeps it only when
    /// libphonenumber's metadata says it is a valid number.
    pub fn parse(field: &str, raw: &str, default_region: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::new(field, "is empty"));
        }
        if raw.len() > 40 {
            return Err(FieldError::new(field, "is longer than 40 characters"));
        }
        // Letters would be read as keypad digits ("O" as 6) and an extension
        // would be dropped: neither may reach a dialled number unseen.
        if raw.chars().any(|c| c.is_alphabetic()) {
            return Err(FieldError::new(
                field,
                "contains letters; write the number in digits, without an extension",
            ));
        }
        if raw
            .chars()
            .any(|c| !(c.is_ascii_digit() || " +()-./".contains(c)))
        {
            return Err(FieldError::new(
                field,
                "may contain only digits, spaces and + ( ) - . /",
            ));
        }
        let region = default_region
            .parse::<phonenumber::country::Id>()
            .map_err(|_| FieldError::new(field, "default region is not a known country code"))?;
        let number = phonenumber::parse(Some(region), raw)
            .map_err(|_| FieldError::new(field, "is not a phone number"))?;
        if number.extension().is_some() {
            return Err(FieldError::new(
                field,
                "has an extension, which a text or a call cannot reach; leave it out",
            ));
        }
        if !phonenumber::is_valid(&number) {
            return Err(FieldError::new(
                field,
                "is not a valid phone number for its country",
            ));
        }
        Ok(Phone(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// Wraps a value that was already normalized (read back from the vault).
    pub fn from_e164(value: String) -> Self {
        Phone(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, trimmed, with the domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::new(field, "is empty"));
        }
        if raw.len() > 254 {
            return Err(FieldError::new(field, "is longer than 254 characters"));
        }
        let (local, domain) = raw
            .rsplit_once('@')
            .ok_or_else(|| FieldError::new(field, "has no @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(FieldError::new(
                field,
                "has an empty or overlong local part",
            ));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(field, "contains white space"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2
            || labels
                .iter()
                .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
        {
            return Err(FieldError::new(field, "has no valid domain"));
        }
        Ok(Email(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn from_normalized(value: String) -> Self {
        Email(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for blind indexing: the whole address lower-cased, since
    /// real mail systems treat local parts case-insensitively.
    pub fn match_key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A date of birth: not in the future and not more than 120 years ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    pub const MAX_AGE_YEARS: i32 = 120;

    pub fn parse(field: &str, raw: &str, today: NaiveDate) -> Result<Self, FieldError> {
        let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
            .map_err(|_| FieldError::new(field, "is not a date in YYYY-MM-DD form"))?;
        Self::new(field, date, today)
    }

    pub fn new(field: &str, date: NaiveDate, today: NaiveDate) -> Result<Self, FieldError> {
        if date > today {
            return Err(FieldError::new(field, "is in the future"));
        }
        if today.year() - date.year() > Self::MAX_AGE_YEARS {
            return Err(FieldError::new(field, "is more than 120 years ago"));
        }
        Ok(DateOfBirth(date))
    }

    pub fn date(&self) -> NaiveDate {
        self.0
    }
}

/// Whether `s` holds characters that change how text looks without being
/// seen (zero-width spaces, bidirectional overrides and isolates, BOMs):
/// they let two names that read alike differ, or one read backwards.
/// Zero-width (non-)joiners stay allowed between letters, where scripts
/// such as Persian and Devanagari need them.
pub fn hides_text(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    chars.iter().enumerate().any(|(i, &c)| match c {
        '\u{200C}' | '\u{200D}' => {
            let letter = |j: Option<&char>| j.is_some_and(|c| c.is_alphabetic());
            !(i > 0 && letter(chars.get(i - 1)) && letter(chars.get(i + 1)))
        }
        '\u{00AD}'
        | '\u{061C}'
        | '\u{180E}'
        | '\u{200B}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}' => true,
        _ => false,
    })
}

/// How far back an event date (specimen, onset, exposure) may lie: an
/// outbreak's records are recent, and a date decades back is a typing
/// error that would skew every computed period.
pub const EVENT_DATE_MAX_YEARS: i32 = 5;

/// An event date: not in the future, not more than
/// [`EVENT_DATE_MAX_YEARS`] back.
pub fn event_date(field: &str, date: NaiveDate, today: NaiveDate) -> Result<NaiveDate, FieldError> {
    if date > today {
        return Err(FieldError::new(field, "is in the future"));
    }
    let earliest = today
        .with_year(today.year() - EVENT_DATE_MAX_YEARS)
        .unwrap_or(NaiveDate::MIN);
    if date < earliest {
        return Err(FieldError::new(
            field,
            format!("is more than {EVENT_DATE_MAX_YEARS} years ago"),
        ));
    }
    Ok(date)
}

/// A personal name: NFC-normalized, trimmed, inner white space collapsed,
/// 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let normalized: String = raw.nfc().collect();
        let collapsed = normalized.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            return Err(FieldError::new(field, "is empty"));
        }
        if collapsed.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(field, "is longer than 100 characters"));
        }
        if collapsed.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(field, "contains control characters"));
        }
        if hides_text(&collapsed) {
            return Err(FieldError::new(
                field,
                "contains invisible or direction-changing characters",
            ));
        }
        if !collapsed.chars().any(|c| c.is_alphabetic()) {
            return Err(FieldError::new(field, "contains no letters"));
        }
        Ok(PersonName(collapsed))
    }

    pub fn from_normalized(value: String) -> Self {
        PersonName(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-folded, compatibility-normalized form used for matching, so that
    /// "JOSÉ" and "José" (composed or not) find the same person.
    pub fn match_key(&self) -> String {
        self.0.nfkc().collect::<String>().to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
    }

    #[test]
    fn phone_normalizes_to_e164() {
        let p = Phone::parse("phone", "(212) 555-0123", "US");
        // 555-01xx are fictional but valid-format numbers in the NANP metadata.
        assert_eq!(p.unwrap().as_str(), "+12125550123");
        let p = Phone::parse("phone", "+44 20 7946 0958", "US").unwrap();
        assert_eq!(p.as_str(), "+442079460958");
    }

    #[test]
    fn phone_rejects_garbage_without_echoing_it() {
        let e = Phone::parse("phone", "12345", "US").unwrap_err();
        assert_eq!(e.field, "phone");
        assert!(!e.to_string().contains("12345"));
        assert!(Phone::parse("phone", "call me", "US").is_err());
        assert!(Phone::parse("phone", "", "US").is_err());
    }

    #[test]
    fn email_rules() {
        assert_eq!(
            Email::parse("email", " Ana@Example.ORG ").unwrap().as_str(),
            "Ana@example.org"
        );
        assert!(Email::parse("email", "no-at-sign").is_err());
        assert!(Email::parse("email", "a@localhost").is_err());
        assert!(Email::parse("email", "a b@example.org").is_err());
    }

    #[test]
    fn dob_bounds() {
        assert!(DateOfBirth::parse("dob", "2030-01-01", today()).is_err());
        assert!(DateOfBirth::parse("dob", "1890-01-01", today()).is_err());
        assert!(DateOfBirth::parse("dob", "01/02/1990", today()).is_err());
        assert!(DateOfBirth::parse("dob", "1990-02-01", today()).is_ok());
    }

    #[test]
    fn phones_with_letters_or_extensions_are_refused() {
        for raw in [
            "212-555-O101",
            "(212) 555-0101 ext. 7",
            "212 555 0101 x7",
            "2125550101;ext=7",
            "212#5550101",
        ] {
            let e = Phone::parse("phone", raw, "US").unwrap_err();
            assert_eq!(e.field, "phone", "{raw}");
            assert!(!e.reason.contains("555"), "{raw}");
        }
        assert!(Phone::parse("phone", "(212) 555-0101", "US").is_ok());
    }

    #[test]
    fn event_dates_are_recent() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(event_date("specimen_date", d("0001-01-01"), today()).is_err());
        assert!(event_date("specimen_date", d("2021-11-27"), today()).is_err());
        assert!(event_date("specimen_date", d("2021-11-28"), today()).is_ok());
        assert!(event_date("specimen_date", d("2026-11-29"), today()).is_err());
    }

    #[test]
    fn invisible_and_direction_characters_are_refused_in_names() {
        for raw in [
            "Ana\u{200B}Lopez",
            "\u{202E}zepoL",
            "Ana\u{2066}x\u{2069}",
            "\u{FEFF}Ana",
            "Ana\u{200D}",
        ] {
            assert!(PersonName::parse("last_name", raw).is_err(), "{raw:?}");
        }
        // A zero-width non-joiner inside a Persian name is part of it.
        assert!(
            PersonName::parse(
                "last_name",
                "\u{0645}\u{06CC}\u{200C}\u{0634}\u{0648}\u{062F}"
            )
            .is_ok()
        );
    }

    #[test]
    fn names_are_normalized_and_bounded() {
        let n = PersonName::parse("first_name", "  Jose\u{301}   María ").unwrap();
        assert_eq!(n.as_str(), "José María");
        assert_eq!(
            n.match_key(),
            PersonName::parse("x", "JOSÉ MARÍA").unwrap().match_key()
        );
        assert!(PersonName::parse("first_name", "   ").is_err());
        assert!(PersonName::parse("first_name", &"a".repeat(101)).is_err());
        assert!(PersonName::parse("first_name", "a\u{7}b").is_err());
        assert!(PersonName::parse("first_name", "王秀英").is_ok());
    }
}
