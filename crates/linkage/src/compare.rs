//! One person's record as linkage compares it, and the agreement level of
//! each field between two records.

use crate::jaro::jaro_winkler;
use crate::names::{canonical, fold, parts};
use crate::phonetic::nysiis;
use chrono::{Datelike, NaiveDate};

/// A record, folded for comparison.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    pub first: String,
    pub last: String,
    pub dob: Option<NaiveDate>,
    /// Digits only (E.164 without the `+`).
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Folded address words.
    pub address: Vec<String>,
}

impl Person {
    pub fn new(
        first: &str,
        last: &str,
        dob: Option<NaiveDate>,
        phone: Option<&str>,
        email: Option<&str>,
        address: Option<&str>,
    ) -> Self {
        let digits = |p: &str| p.chars().filter(char::is_ascii_digit).collect::<String>();
        Self {
            first: fold(first),
            last: fold(last),
            dob,
            phone: phone.map(digits).filter(|p| p.len() >= 7),
            email: email
                .map(|e| e.trim().to_lowercase())
                .filter(|e| e.contains('@')),
            address: address
                .map(|a| fold(a).split(' ').map(str::to_string).collect())
                .unwrap_or_default(),
        }
    }
}

/// How well one field agrees, best first; `Missing` when either record
/// lacks it (no evidence either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Exact,
    /// Equal through a nickname, a compound surname's part, a day/month
    /// swap, the same local part of an email, the last seven digits.
    Alias,
    /// Jaro-Winkler at least 0.92, or a date one typo away.
    Close,
    /// Jaro-Winkler at least 0.85, the same phonetic key, or an initial.
    Similar,
    Disagree,
    Missing,
}

/// Every field's level between two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    pub first: Level,
    pub last: Level,
    /// First and last name were given the other way round.
    pub swapped: bool,
    pub dob: Level,
    pub phone: Level,
    pub email: Level,
    pub address: Level,
}

fn given(a: &str, b: &str) -> Level {
    if a.is_empty() || b.is_empty() {
        return Level::Missing;
    }
    if a == b {
        return Level::Exact;
    }
    // "Maria Elena" and "Maria": the first given name decides.
    let (a1, b1) = (
        a.split(' ').next().unwrap_or(a),
        b.split(' ').next().unwrap_or(b),
    );
    if a1 == b1 || canonical(a1) == canonical(b1) {
        return Level::Alias;
    }
    similar(a1, b1)
}

fn similar(a: &str, b: &str) -> Level {
    let jw = jaro_winkler(a, b);
    if jw >= 0.92 {
        Level::Close
    } else if jw >= 0.85
        || nysiis(a) == nysiis(b)
        || ((a.len() == 1 || b.len() == 1) && a.chars().next() == b.chars().next())
    {
        // Close in spelling or sound, or an initial.
        Level::Similar
    } else {
        Level::Disagree
    }
}

fn surname(a: &str, b: &str) -> Level {
    if a.is_empty() || b.is_empty() {
        return Level::Missing;
    }
    if a == b {
        return Level::Exact;
    }
    let (pa, pb) = (parts(a), parts(b));
    if pa.iter().any(|x| pb.contains(x)) {
        return Level::Alias;
    }
    // The best of any two parts ("Garsia Lopes" and "Garcia").
    pa.iter()
        .flat_map(|x| pb.iter().map(move |y| similar(x, y)))
        .min()
        .unwrap_or(Level::Disagree)
}

fn date(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Level {
    let (Some(a), Some(b)) = (a, b) else {
        return Level::Missing;
    };
    if a == b {
        return Level::Exact;
    }
    if a.year() == b.year() && a.month() == b.day() && a.day() == b.month() {
        return Level::Alias;
    }
    let same = [
        a.year() == b.year(),
        a.month() == b.month(),
        a.day() == b.day(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if same == 2 {
        Level::Close
    } else {
        Level::Disagree
    }
}

fn phone(a: &Option<String>, b: &Option<String>) -> Level {
    let (Some(a), Some(b)) = (a, b) else {
        return Level::Missing;
    };
    if a == b {
        Level::Exact
    } else if a.len() >= 7 && b.len() >= 7 && a[a.len() - 7..] == b[b.len() - 7..] {
        Level::Alias
    } else {
        Level::Disagree
    }
}

fn email(a: &Option<String>, b: &Option<String>) -> Level {
    let (Some(a), Some(b)) = (a, b) else {
        return Level::Missing;
    };
    if a == b {
        Level::Exact
    } else if a.split('@').next() == b.split('@').next() {
        Level::Alias
    } else {
        Level::Disagree
    }
}

fn address(a: &[String], b: &[String]) -> Level {
    if a.is_empty() || b.is_empty() {
        return Level::Missing;
    }
    let shared = a.iter().filter(|w| b.contains(w)).count() as f64;
    let union = (a.len() + b.len()) as f64 - shared;
    match shared / union {
        j if j >= 0.999 => Level::Exact,
        j if j >= 0.6 => Level::Close,
        j if j >= 0.3 => Level::Similar,
        _ => Level::Disagree,
    }
}

/// Compares two records, reading names both ways round.
pub fn compare(a: &Person, b: &Person) -> Comparison {
    let straight = (given(&a.first, &b.first), surname(&a.last, &b.last));
    let crossed = (given(&a.first, &b.last), surname(&a.last, &b.first));
    let better = |x: (Level, Level)| x.0.min(x.1) as u8 + x.0.max(x.1) as u8;
    let swapped = better(crossed) < better(straight)
        && crossed.0 <= Level::Alias
        && crossed.1 <= Level::Alias;
    let (first, last) = if swapped { crossed } else { straight };
    Comparison {
        first,
        last,
        swapped,
        dob: date(a.dob, b.dob),
        phone: phone(&a.phone, &b.phone),
        email: email(&a.email, &b.email),
        address: address(&a.address, &b.address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(first: &str, last: &str, dob: &str) -> Person {
        Person::new(first, last, dob.parse().ok(), None, None, None)
    }

    #[test]
    fn the_issues_examples_agree() {
        let base = p("John", "García", "1985-04-07");
        let c = compare(&base, &p("John", "Garcia", "1985-04-07"));
        assert_eq!(
            (c.first, c.last, c.dob),
            (Level::Exact, Level::Exact, Level::Exact)
        );
        let c = compare(&base, &p("García", "John", "1985-04-07"));
        assert!(c.swapped);
        assert_eq!((c.first, c.last), (Level::Exact, Level::Exact));
        let c = compare(&base, &p("Jon", "Garcia", "1985-04-07"));
        assert_eq!(c.first, Level::Alias);
        let c = compare(&base, &p("John", "Garcia", "1985-07-04"));
        assert_eq!(c.dob, Level::Alias);
        let c = compare(&base, &p("John", "García López", "1985-04-07"));
        assert_eq!(c.last, Level::Alias);
        let c = compare(&base, &p("John", "Garsia", "1985-04-08"));
        assert_eq!((c.last, c.dob), (Level::Close, Level::Close));
        let c = compare(&base, &p("Mary", "Smith", "1990-01-01"));
        assert_eq!(
            (c.first, c.last, c.dob),
            (Level::Disagree, Level::Disagree, Level::Disagree)
        );
        assert!(!c.swapped);
    }
}
