//! Blocking keys: values a record shares with its true matches often
//! enough that comparing only records that share one finds nearly all of
//! them, and few enough that the comparisons stay cheap. The store keeps
//! each as a keyed blind index (HMAC), never as text.

use crate::compare::Person;
use crate::names::{canonical, parts};
use crate::phonetic::nysiis;
use chrono::{Datelike, NaiveDate};

/// The record's blocking keys, each prefixed by its kind.
pub fn keys(p: &Person) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(phone) = &p.phone {
        let tail = &phone[phone.len().saturating_sub(10)..];
        out.push(format!("phone:{tail}"));
    }
    if let Some(e) = &p.email {
        out.push(format!("email:{e}"));
    }
    if let Some(d) = p.dob {
        out.push(format!("dob:{d}"));
        // The day/month-swapped twin, so either spelling meets the other.
        if let Some(s) = NaiveDate::from_ymd_opt(d.year(), d.day(), d.month())
            && s != d
        {
            out.push(format!("dob:{s}"));
        }
    }
    let first = p
        .first
        .split(' ')
        .next()
        .map(canonical)
        .map(nysiis)
        .unwrap_or_default();
    for last in parts(&p.last) {
        let last = nysiis(last);
        if last.is_empty() {
            continue;
        }
        if !first.is_empty() {
            // Either order, so swapped names meet.
            let (x, y) = if first <= last {
                (&first, &last)
            } else {
                (&last, &first)
            };
            out.push(format!("names:{x}:{y}"));
        }
        if let Some(d) = p.dob {
            out.push(format!("last-year:{last}:{}", d.year()));
        }
    }
    // The street: its first name-like word and first number ("12 pinkerton
    // circuit"), and the surname at the postal code — what a record keeps
    // when names and dates were mistyped.
    let words: Vec<&str> = p
        .address
        .iter()
        .map(String::as_str)
        .filter(|w| w.len() >= 4 && w.bytes().all(|b| b.is_ascii_alphabetic()))
        .collect();
    let numbers: Vec<&str> = p
        .address
        .iter()
        .map(String::as_str)
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    if let (Some(w), Some(n)) = (words.first(), numbers.first()) {
        out.push(format!("street:{}:{n}", nysiis(w)));
    }
    if let Some(post) = numbers.iter().rev().find(|n| (4..=5).contains(&n.len())) {
        for last in parts(&p.last) {
            out.push(format!("last-post:{}:{post}", nysiis(last)));
        }
    }
    if !first.is_empty()
        && let Some(d) = p.dob
    {
        // A changed surname (marriage) keeps the first name and birth date.
        out.push(format!("first-dob:{first}:{d}"));
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(first: &str, last: &str, dob: &str) -> Person {
        Person::new(first, last, dob.parse().ok(), None, None, None)
    }

    fn share(a: &Person, b: &Person) -> bool {
        let kb = keys(b);
        keys(a).iter().any(|k| kb.contains(k))
    }

    #[test]
    fn variants_meet_in_a_block() {
        let base = p("John", "García", "1985-04-07");
        for other in [
            p("Jon", "Garcia", "1979-01-01"),
            p("Garcia", "John", "1990-01-01"),
            p("Juan", "Garcia", "1985-07-04"),
            p("John", "García López", "2001-02-03"),
            p("Johnny", "Smith", "1985-04-07"),
        ] {
            assert!(share(&base, &other), "{other:?}");
        }
        assert!(!share(&base, &p("Mary", "Smith", "1990-01-01")));
    }
}
