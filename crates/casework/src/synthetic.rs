//! Synthetic people for the demo, the benchmarks and the privacy scans.
//!
//! Names are drawn from small lists in the languages New York's program met
//! most often, combined at random: no real person is described. Phone numbers
//! are valid-format New York numbers and are never dialled by anything here.

use crate::{ContactInput, LabResultInput};
use chrono::{Duration, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const FIRST: &[&str] = &[
    "Ana",
    "José",
    "María",
    "Luis",
    "Carmen",
    "Wei",
    "Xiu Ying",
    "Jun",
    "Мария",
    "Иван",
    "Ольга",
    "Ayesha",
    "রহিম",
    "Nusrat",
    "Jean",
    "Marie-Claude",
    "Widline",
    "민준",
    "서연",
    "Ji-woo",
    "محمد",
    "فاطمة",
    "Omar",
    "Grace",
    "Samuel",
    "Aaliyah",
    "Dmitri",
    "Sofía",
    "Mateo",
    "Mei",
];
const LAST: &[&str] = &[
    "García",
    "Rodríguez",
    "Martínez",
    "Chen",
    "王",
    "Li",
    "Иванов",
    "Петрова",
    "Rahman",
    "হোসেন",
    "Pierre",
    "Joseph",
    "Baptiste",
    "김",
    "Park",
    "Lee",
    "الحسن",
    "Haddad",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Okafor",
    "Nguyen",
    "Kowalski",
    "Cohen",
    "Singh",
    "Ali",
];
const LANGS: &[&str] = &["en", "es", "zh", "ru", "bn", "ht", "ko", "ar"];
const SETTINGS: &[&str] = &[
    "household",
    "workplace",
    "school",
    "healthcare",
    "event",
    "other",
];
const AREAS: &[&str] = &["212", "718", "347", "646", "917", "929"];

/// A deterministic generator: the same seed yields the same people.
pub struct Synthetic {
    rng: StdRng,
    serial: u64,
    today: NaiveDate,
}

impl Synthetic {
    pub fn new(seed: u64, today: NaiveDate) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            serial: 0,
            today,
        }
    }

    fn pick<'a>(&mut self, list: &[&'a str]) -> &'a str {
        list[self.rng.gen_range(0..list.len())]
    }

    /// A unique-ish person: a serial number is folded into the first name,
    /// the phone and the email, so every generated person is distinct.
    fn person(&mut self) -> (String, String, String, String, String) {
        self.serial += 1;
        let n = self.serial;
        let first = format!("{} {}", self.pick(FIRST), roman(n));
        let last = self.pick(LAST).to_string();
        let area = self.pick(AREAS);
        let line = 2_000_000 + (n * 7919) % 7_000_000;
        let phone = format!(
            "+1{area}{}{:04}",
            200 + (line / 10_000) % 800,
            line % 10_000
        );
        let email = format!("person{n}.{}@example.org", self.rng.gen_range(100..999));
        let dob = (self.today - Duration::days(self.rng.gen_range(365..365 * 90))).to_string();
        (first, last, phone, email, dob)
    }

    pub fn positive_lab(&mut self) -> LabResultInput {
        let (first, last, phone, email, dob) = self.person();
        let days_ago = self.rng.gen_range(0..10);
        LabResultInput {
            first_name: Some(first),
            last_name: Some(last),
            dob: Some(dob),
            phone: Some(phone),
            email: Some(email),
            address: Some(format!(
                "{} Example Avenue, New York, NY",
                self.rng.gen_range(1..999)
            )),
            language: Some(self.pick(LANGS).into()),
            specimen_date: Some((self.today - Duration::days(days_ago)).to_string()),
            result: Some("positive".into()),
            test_type: Some("SARS-CoV-2 RT-PCR".into()),
            accession: Some(format!(
                "SYN-{:010}-{}",
                self.serial,
                self.rng.gen_range(1000..9999)
            )),
            lab: Some("Synthetic Public Health Laboratory".into()),
            jurisdiction: None,
        }
    }

    pub fn contact(&mut self, specimen: NaiveDate) -> ContactInput {
        let (first, last, phone, email, dob) = self.person();
        let offset = self.rng.gen_range(0..4);
        let date = (specimen - Duration::days(offset)).min(self.today);
        let with_phone = self.rng.gen_bool(0.64);
        let setting = self.pick(SETTINGS);
        ContactInput {
            first_name: Some(first),
            last_name: Some(last),
            // NYC's early weeks: 64% of named contacts had a phone number;
            // the others are identified by date of birth.
            dob: (!with_phone).then_some(dob),
            phone: with_phone.then_some(phone),
            email: (!with_phone || self.rng.gen_bool(0.3)).then_some(email),
            language: Some(self.pick(LANGS).into()),
            exposure_dates: vec![date.to_string()],
            setting: Some(setting.into()),
            ongoing_exposure: setting == "household" && self.rng.gen_bool(0.5),
            notes: None,
        }
    }

    pub fn gen_range(&mut self, lo: u32, hi: u32) -> u32 {
        self.rng.gen_range(lo..hi)
    }
}

/// Folds a number into letters so names stay names (no digits).
fn roman(mut n: u64) -> String {
    const L: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let mut s = String::new();
    loop {
        s.push(L[(n % 26) as usize] as char);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
        None => s,
    }
}
