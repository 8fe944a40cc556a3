//! HL7 date/time values (`DTM`, and `TS`'s first component):
//! `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`.

use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TsError {
    #[error("is empty")]
    Empty,
    #[error("must begin with a date as YYYYMMDD")]
    Format,
    #[error("gives a year or month but no day")]
    NoDay,
    #[error("is not a calendar date")]
    NotADate,
}

/// The calendar date a date/time value names, as the sender wrote it (its
/// own time zone: a specimen collected at 23:30 local time belongs to that
/// local day).
pub fn date_of(ts: &str) -> Result<NaiveDate, TsError> {
    let ts = ts.trim();
    if ts.is_empty() {
        return Err(TsError::Empty);
    }
    let digits: &str = {
        let end = ts.find(|c: char| !c.is_ascii_digit()).unwrap_or(ts.len());
        &ts[..end]
    };
    let mut rest = &ts[digits.len()..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let zone_ok = match rest.strip_prefix(['+', '-']) {
        Some(z) => z.len() == 4 && z.bytes().all(|b| b.is_ascii_digit()),
        None => rest.is_empty(),
    };
    if !zone_ok {
        return Err(TsError::Format);
    }
    match digits.len() {
        4 | 6 => return Err(TsError::NoDay),
        8 | 10 | 12 | 14 => {}
        _ => return Err(TsError::Format),
    }
    let num = |r: std::ops::Range<usize>| digits[r].parse::<u32>().map_err(|_| TsError::Format);
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    NaiveDate::from_ymd_opt(y as i32, m, d).ok_or(TsError::NotADate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_from_timestamps() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(date_of("20200914"), Ok(d(2020, 9, 14)));
        assert_eq!(date_of("202009142330-0400"), Ok(d(2020, 9, 14)));
        assert_eq!(date_of("20200914233015.1234+0000"), Ok(d(2020, 9, 14)));
        assert_eq!(date_of("202009"), Err(TsError::NoDay));
        assert_eq!(date_of("20200231"), Err(TsError::NotADate));
        assert_eq!(date_of("2020-09-14"), Err(TsError::Format));
        assert_eq!(date_of(""), Err(TsError::Empty));
    }
}
