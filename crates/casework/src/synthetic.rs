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
            ordering_provider: None,
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

/// Given and family names by language, for the demo: a person's name and
/// language agree, and no serial number is folded in (the demo's people
/// need not be distinct; their dates of birth keep them apart).
const NAMES: &[(&str, &[&str], &[&str])] = &[
    (
        "en",
        &[
            "James", "Mary", "Robert", "Linda", "Michael", "Sarah", "David", "Emily", "Kevin",
            "Grace",
        ],
        &[
            "Smith", "Johnson", "Williams", "Brown", "Miller", "Davis", "Wilson", "Taylor",
            "Moore", "Clark",
        ],
    ),
    (
        "es",
        &[
            "José", "María", "Luis", "Carmen", "Sofía", "Mateo", "Ana", "Jorge", "Lucía", "Diego",
        ],
        &[
            "García",
            "Rodríguez",
            "Martínez",
            "Hernández",
            "López",
            "González",
            "Pérez",
            "Sánchez",
            "Ramírez",
            "Torres",
        ],
    ),
    (
        "zh",
        &[
            "Wei", "Xiu Ying", "Jun", "Mei", "Li Na", "Hao", "Jing", "Lei", "Yan", "Bo",
        ],
        &[
            "Chen", "Wang", "Li", "Zhang", "Liu", "Huang", "Zhao", "Wu", "Zhou", "Lin",
        ],
    ),
    (
        "ru",
        &[
            "Ivan", "Dmitri", "Sergei", "Alexei", "Mikhail", "Pavel", "Yuri", "Oleg",
        ],
        &[
            "Ivanov", "Smirnov", "Popov", "Sokolov", "Lebedev", "Kozlov", "Novikov", "Morozov",
        ],
    ),
    (
        "bn",
        &[
            "Rahim", "Nusrat", "Ayesha", "Kamal", "Fatema", "Rafiq", "Shirin", "Arif", "Tania",
            "Sabbir",
        ],
        &[
            "Rahman",
            "Hossain",
            "Ahmed",
            "Islam",
            "Chowdhury",
            "Uddin",
            "Khan",
            "Miah",
        ],
    ),
    (
        "ht",
        &[
            "Jean",
            "Marie",
            "Widline",
            "Jean-Pierre",
            "Nadège",
            "Fritz",
            "Guerline",
            "Jacques",
            "Wilner",
        ],
        &[
            "Pierre",
            "Joseph",
            "Baptiste",
            "Jean-Louis",
            "Charles",
            "Louis",
            "Étienne",
            "Dorvil",
            "Célestin",
        ],
    ),
    (
        "ko",
        &[
            "Min-jun", "Seo-yeon", "Ji-woo", "Ha-eun", "Do-yun", "Su-bin",
        ],
        &["Kim", "Lee", "Park", "Choi", "Jung", "Kang"],
    ),
];

/// A demo person: a name and language that go together, a New York phone
/// (never dialled), a date of birth.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    pub first: String,
    pub last: String,
    pub language: &'static str,
    pub phone: String,
    pub dob: NaiveDate,
}

impl Synthetic {
    /// A person of the given language mix (language → weight).
    pub fn demo_person(&mut self, mix: &[(&'static str, u32)]) -> DemoPerson {
        let total: u32 = mix.iter().map(|(_, w)| *w).sum::<u32>().max(1);
        let mut roll = self.rng.gen_range(0..total);
        let mut language = "en";
        for (l, w) in mix {
            if roll < *w {
                language = l;
                break;
            }
            roll -= w;
        }
        let (_, firsts, lasts) = NAMES
            .iter()
            .find(|(l, _, _)| *l == language)
            .copied()
            .unwrap_or(NAMES[0]);
        let first = self.pick(firsts).to_string();
        let last = self.pick(lasts).to_string();
        self.serial += 1;
        let area = self.pick(AREAS);
        let line =
            2_000_000 + (self.serial * 7919 + u64::from(self.rng.gen_range(0..97u32))) % 7_000_000;
        DemoPerson {
            first,
            last,
            language,
            phone: format!(
                "+1{area}{}{:04}",
                200 + (line / 10_000) % 800,
                line % 10_000
            ),
            dob: self.today - Duration::days(self.rng.gen_range(365 * 2..365 * 85)),
        }
    }

    /// Whether an event with probability `p` happens.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod demo_tests {
    use super::*;

    /// A demo person's name is of their language, with no digits or serial
    /// letters folded in.
    #[test]
    fn demo_names_fit_their_language() {
        let mut s = Synthetic::new(1, NaiveDate::from_ymd_opt(2020, 6, 1).unwrap());
        for _ in 0..200 {
            let p = s.demo_person(&[("es", 1), ("zh", 1), ("ht", 1)]);
            let (_, firsts, lasts) = NAMES.iter().find(|(l, _, _)| *l == p.language).unwrap();
            assert!(firsts.contains(&p.first.as_str()) && lasts.contains(&p.last.as_str()));
            assert!(["es", "zh", "ht"].contains(&p.language));
        }
    }
}
