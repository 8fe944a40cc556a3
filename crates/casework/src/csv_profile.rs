//! Column-mapping profiles for lab CSV files as testing sites send them:
//! which header holds which field, the file's encoding and delimiter, and
//! how its dates are written. A profile is named in `tracedesk.toml`
//! (`[csv_profiles.NAME]`) and chosen with `import labs --profile NAME`;
//! without one the file uses tracedesk's own column names, UTF-8 and
//! ISO dates.

use chrono::NaiveDate;
use std::io::Read;

/// How a file's bytes are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8, with or without a byte-order mark.
    #[default]
    Utf8,
    /// Windows-1252, what spreadsheet programs on Windows save as "CSV".
    Windows1252,
}

impl Encoding {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Self::Utf8),
            "windows-1252" | "cp1252" | "latin-1" | "latin1" | "iso-8859-1" => {
                Some(Self::Windows1252)
            }
            _ => None,
        }
    }
}

/// The order of day, month and year in a numeric date such as 03/04/2026.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DateOrder {
    #[default]
    Ymd,
    /// 03/04/2026 is March 4 (the United States).
    Mdy,
    /// 03/04/2026 is 3 April.
    Dmy,
}

impl DateOrder {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ymd" => Some(Self::Ymd),
            "mdy" => Some(Self::Mdy),
            "dmy" => Some(Self::Dmy),
            _ => None,
        }
    }

    fn example(self) -> &'static str {
        match self {
            Self::Ymd => "2026-11-05",
            Self::Mdy => "11/05/2026",
            Self::Dmy => "05/11/2026",
        }
    }
}

/// One file layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProfile {
    pub name: String,
    pub encoding: Encoding,
    pub delimiter: u8,
    /// How the file writes dates; `None` (tracedesk's own layout): as
    /// intake takes them, ISO, checked by validation itself.
    pub date_order: Option<DateOrder>,
    /// (lab field, the header that holds it); a field left out keeps its
    /// own name as its header.
    pub columns: Vec<(String, String)>,
}

impl Default for CsvProfile {
    fn default() -> Self {
        Self {
            name: "tracedesk".into(),
            encoding: Encoding::Utf8,
            delimiter: b',',
            date_order: None,
            columns: Vec::new(),
        }
    }
}

impl CsvProfile {
    /// The lab field a header names under this profile (headers compare
    /// without case or surrounding space).
    pub fn field_of(&self, header: &str) -> Option<&'static str> {
        let h = header.trim().to_ascii_lowercase();
        if let Some((field, _)) = self
            .columns
            .iter()
            .find(|(_, head)| head.trim().to_ascii_lowercase() == h)
        {
            return crate::input::LAB_FIELDS
                .iter()
                .find(|(n, _)| n == field)
                .map(|(n, _)| *n);
        }
        // A field the profile maps elsewhere is not also read by its name.
        crate::input::LAB_FIELDS
            .iter()
            .find(|(n, _)| *n == h && !self.columns.iter().any(|(f, _)| f == n))
            .map(|(n, _)| *n)
    }

    /// The header a field is expected under.
    pub fn header_of<'a>(&'a self, field: &'a str) -> &'a str {
        self.columns
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, h)| h.as_str())
            .unwrap_or(field)
    }

    /// A date field's value as `YYYY-MM-DD`, read under this profile's
    /// order (as written, when the profile declares none); the error says
    /// which forms are taken.
    pub fn date(&self, value: &str) -> Result<String, String> {
        let Some(order) = self.date_order else {
            return Ok(value.to_string());
        };
        parse_date(value, order)
            .map(|d| d.to_string())
            .ok_or_else(|| {
                format!(
                    "is not a date as {} (or YYYY-MM-DD, or with the month's name: 5 Nov 2026)",
                    order.example()
                )
            })
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    if w.len() < 3 || !w.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    MONTHS
        .iter()
        .zip(full)
        .position(|(short, long)| {
            w == *short || long.starts_with(&w) || (w == "sept" && *short == "sep")
        })
        .map(|i| i as u32 + 1)
}

/// A date written as labs and spreadsheets write them: ISO (`2026-11-05`,
/// `20261105`, `2026/11/05`), numeric in `order` with a four-digit year
/// (`11/05/2026`, `05.11.2026`), or with the month's name (`5 Nov 2026`,
/// `Nov 5, 2026`, `05-NOV-2026`). A time after the date is ignored. Two-digit
/// years are refused: 01/02/03 is anyone's guess.
pub fn parse_date(value: &str, order: DateOrder) -> Option<NaiveDate> {
    let v = value.trim();
    if let Some(d) = parse_date_only(v, order) {
        return Some(d);
    }
    // "2026-11-05 13:45", "11/05/2026 1:45 PM", "2026-11-05T13:45:00Z".
    let first = v.split([' ', 'T']).next().unwrap_or("");
    if first.len() < v.len() {
        return parse_date_only(first, order);
    }
    None
}

fn parse_date_only(v: &str, order: DateOrder) -> Option<NaiveDate> {
    if v.len() == 8 && v.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(v, "%Y%m%d").ok();
    }
    let parts: Vec<&str> = v
        .split(['/', '-', '.', ' ', ','])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 3 {
        return None;
    }
    let num = |s: &str| -> Option<u32> {
        (s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let ymd = |y: &str, m: u32, d: &str| -> Option<NaiveDate> {
        if y.len() != 4 {
            return None;
        }
        NaiveDate::from_ymd_opt(num(y)? as i32, m, num(d)?)
    };
    if let Some(i) = parts.iter().position(|p| month_of(p).is_some()) {
        let m = month_of(parts[i])?;
        let rest: Vec<&str> = parts
            .iter()
            .enumerate()
            .filter(|(k, _)| *k != i)
            .map(|(_, p)| *p)
            .collect();
        let (y, d) = if rest[0].len() == 4 {
            (rest[0], rest[1])
        } else {
            (rest[1], rest[0])
        };
        return ymd(y, m, d);
    }
    let [a, b, c] = [parts[0], parts[1], parts[2]];
    if a.len() == 4 {
        return ymd(a, num(b)?, c);
    }
    match order {
        DateOrder::Mdy => ymd(c, num(a)?, b),
        DateOrder::Dmy => ymd(c, num(b)?, a),
        // Numeric dates not led by a year are not ISO.
        DateOrder::Ymd => None,
    }
}

/// Windows-1252's characters for bytes 0x80–0x9F; the rest of the range
/// is Latin-1. Bytes the code page leaves undefined stay as C1 controls.
const CP1252_HIGH: [char; 32] = [
    '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž', '\u{8f}',
    '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}', 'ž', 'Ÿ',
];

/// Reads Windows-1252 bytes as UTF-8, so the CSV reader sees text.
pub struct Cp1252<R> {
    inner: R,
    out: Vec<u8>,
    at: usize,
}

impl<R: Read> Cp1252<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            out: Vec::new(),
            at: 0,
        }
    }
}

impl<R: Read> Read for Cp1252<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.out.len() {
            let mut raw = [0u8; 8192];
            let n = self.inner.read(&mut raw)?;
            if n == 0 {
                return Ok(0);
            }
            self.out.clear();
            self.at = 0;
            for &b in &raw[..n] {
                let c = match b {
                    0x80..=0x9f => CP1252_HIGH[usize::from(b - 0x80)],
                    _ => char::from(b),
                };
                let mut tmp = [0u8; 4];
                self.out
                    .extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_forms_sites_write() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        use DateOrder::*;
        assert_eq!(parse_date("2026-11-05", Mdy), d(2026, 11, 5));
        assert_eq!(parse_date("20261105", Dmy), d(2026, 11, 5));
        assert_eq!(parse_date("11/05/2026", Mdy), d(2026, 11, 5));
        assert_eq!(parse_date("05/11/2026", Dmy), d(2026, 11, 5));
        assert_eq!(parse_date("05.11.2026", Dmy), d(2026, 11, 5));
        assert_eq!(parse_date("5 Nov 2026", Mdy), d(2026, 11, 5));
        assert_eq!(parse_date("05-NOV-2026", Ymd), d(2026, 11, 5));
        assert_eq!(parse_date("November 5, 2026", Dmy), d(2026, 11, 5));
        assert_eq!(parse_date("11/05/2026 1:45 PM", Mdy), d(2026, 11, 5));
        assert_eq!(parse_date("2026-11-05T13:45:00Z", Ymd), d(2026, 11, 5));
        assert_eq!(parse_date("11/05/26", Mdy), None, "two-digit years");
        assert_eq!(parse_date("11/05/2026", Ymd), None, "not ISO");
        assert_eq!(parse_date("13/05/2026", Mdy), None, "no month 13");
        assert_eq!(parse_date("soon", Mdy), None);
    }

    #[test]
    fn windows_1252_reads_as_text() {
        let bytes = b"Garc\xeda \x93quoted\x94 \x80";
        let mut s = String::new();
        Cp1252::new(&bytes[..]).read_to_string(&mut s).unwrap();
        assert_eq!(s, "García “quoted” €");
    }

    #[test]
    fn headers_map_to_fields() {
        let p = CsvProfile {
            columns: vec![
                ("first_name".into(), "Patient First".into()),
                ("dob".into(), "Birth Date".into()),
            ],
            ..CsvProfile::default()
        };
        assert_eq!(p.field_of(" patient first "), Some("first_name"));
        assert_eq!(p.field_of("last_name"), Some("last_name"));
        assert_eq!(p.field_of("first_name"), None, "mapped elsewhere");
        assert_eq!(p.field_of("Comments"), None);
        assert_eq!(p.header_of("dob"), "Birth Date");
        assert_eq!(p.header_of("accession"), "accession");
    }
}
