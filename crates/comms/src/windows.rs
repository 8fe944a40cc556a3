//! When a monitored contact is checked on: once a day inside the window
//! they chose — morning 8–12, afternoon 12–16 (the default) or evening
//! 16–19 — in their own time zone, on the days as they live them. Local
//! hours are turned into instants with the IANA database (`chrono-tz`), so
//! the window keeps its local hours across daylight-saving changes; a
//! local time the clocks skip moves to the first instant after the gap, an
//! hour they repeat takes its first occurrence.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
pub use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Morning,
    Afternoon,
    Evening,
}

impl Window {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "morning" => Some(Window::Morning),
            "afternoon" => Some(Window::Afternoon),
            "evening" => Some(Window::Evening),
            _ => None,
        }
    }

    /// Local (start, end) hours.
    pub fn hours(self) -> (u32, u32) {
        match self {
            Window::Morning => (8, 12),
            Window::Afternoon => (12, 16),
            Window::Evening => (16, 19),
        }
    }
}

/// A time zone by IANA name (`America/New_York`).
pub fn zone(name: &str) -> Option<Tz> {
    name.parse().ok()
}

/// The instant of local `hour`:00 on `date` in `tz`.
fn at(tz: Tz, date: NaiveDate, hour: u32) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN));
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // In a gap: the first minute after it.
        LocalResult::None => (1..=180)
            .find_map(|m| {
                tz.from_local_datetime(&(local + Duration::minutes(m)))
                    .earliest()
            })
            .map_or_else(|| Utc.from_utc_datetime(&local), |t| t.with_timezone(&Utc)),
    }
}

/// The window on local `date` in `tz`, as instants.
pub fn span(window: Window, tz: Tz, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let (start, end) = window.hours();
    (at(tz, date, start), at(tz, date, end))
}

/// When the next check-in is due at or after `now`: now if inside today's
/// window, the window's start if it is still to come today, else the
/// start of tomorrow's (all in the person's local days).
pub fn next_checkin(window: Window, tz: Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    let (start, end) = span(window, tz, today);
    if now < start {
        start
    } else if now < end {
        now
    } else {
        span(window, tz, today + Duration::days(1)).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn new_york_keeps_local_hours_across_both_changes() {
        let ny = zone("America/New_York").unwrap();
        // Saturday before spring forward (EST, UTC−5), and the day of it
        // (EDT, UTC−4): 8–12 local both days.
        assert_eq!(
            span(Window::Morning, ny, d("2026-03-07")),
            (utc("2026-03-07T13:00:00Z"), utc("2026-03-07T17:00:00Z"))
        );
        assert_eq!(
            span(Window::Morning, ny, d("2026-03-08")),
            (utc("2026-03-08T12:00:00Z"), utc("2026-03-08T16:00:00Z"))
        );
        // Fall back (2026-11-01): EST again.
        assert_eq!(
            span(Window::Evening, ny, d("2026-11-01")),
            (utc("2026-11-01T21:00:00Z"), utc("2026-11-02T00:00:00Z"))
        );
    }

    #[test]
    fn zones_ahead_of_utc_and_half_hour_zones() {
        let kolkata = zone("Asia/Kolkata").unwrap();
        assert_eq!(
            span(Window::Morning, kolkata, d("2026-06-01")).0,
            utc("2026-06-01T02:30:00Z")
        );
        let dhaka = zone("Asia/Dhaka").unwrap();
        // 16:00 UTC is 22:00 in Dhaka: past the evening window, so the
        // next is tomorrow's morning there, 02:00 UTC.
        assert_eq!(
            next_checkin(Window::Morning, dhaka, utc("2026-06-01T16:00:00Z")),
            utc("2026-06-02T02:00:00Z")
        );
        // 20:00 UTC on May 31 is already June 1 in Dhaka (02:00): today's
        // morning there is still to come.
        assert_eq!(
            next_checkin(Window::Morning, dhaka, utc("2026-05-31T20:00:00Z")),
            utc("2026-06-01T02:00:00Z")
        );
    }

    #[test]
    fn inside_the_window_is_now() {
        let ny = zone("America/New_York").unwrap();
        let now = utc("2026-07-01T17:30:00Z"); // 13:30 EDT
        assert_eq!(next_checkin(Window::Afternoon, ny, now), now);
        assert_eq!(
            next_checkin(Window::Morning, ny, now),
            utc("2026-07-02T12:00:00Z"),
            "the morning has passed: tomorrow's"
        );
    }

    #[test]
    fn a_skipped_local_hour_moves_to_the_end_of_the_gap() {
        // Santiago springs forward at 00:00 → 01:00 on 2026-09-06; a
        // window edge at midnight would fall in the gap. Our windows start
        // at 8 or later, but `at` must still give an instant.
        let santiago = zone("America/Santiago").unwrap();
        assert_eq!(
            at(santiago, d("2026-09-06"), 0),
            utc("2026-09-06T04:00:00Z")
        );
        assert!(zone("Mars/Olympus_Mons").is_none());
        assert_eq!(Window::parse("evening"), Some(Window::Evening));
        assert_eq!(Window::parse("night"), None);
    }
}
