//! Date rules of case investigation and quarantine, CDC 2020 by default and
//! configurable per jurisdiction.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// How quarantine of a contact ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QuarantineOption {
    /// Last exposure + `quarantine_days` (14 by default).
    #[default]
    Full,
    /// Last exposure + 10 days, without a test.
    Shortened,
    /// Last exposure + 7 days with a negative test taken on or after
    /// `negative_test_from_day`; without one, the shortened 10 days.
    ShortenedWithNegativeTest,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("{0} must be between 0 and 60 days")]
    OutOfRange(&'static str),
}

/// The periods a jurisdiction configures. Defaults follow CDC guidance of 2020.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DateRules {
    /// Days before onset (or specimen, when asymptomatic) that infectiousness starts.
    pub infectious_lead_days: u32,
    /// Days after onset (or specimen) that isolation ends.
    pub isolation_days: u32,
    /// Full quarantine after last exposure.
    pub quarantine_days: u32,
    /// The shortened quarantine without a test.
    pub quarantine_short_days: u32,
    /// The shortened quarantine with a negative test.
    pub quarantine_test_days: u32,
    /// The earliest day after last exposure a negative test counts for the
    /// 7-day option (CDC: day 5).
    pub negative_test_from_day: u32,
    /// Which quarantine contacts get.
    pub quarantine_option: QuarantineOption,
}

impl Default for DateRules {
    fn default() -> Self {
        Self {
            infectious_lead_days: 2,
            isolation_days: 10,
            quarantine_days: 14,
            quarantine_short_days: 10,
            quarantine_test_days: 7,
            negative_test_from_day: 5,
            quarantine_option: QuarantineOption::Full,
        }
    }
}

/// An exposure date that does not fall inside the case's infectious period.
/// It is recorded anyway: tracers often learn dates imprecisely.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ExposureWarning {
    BeforeInfectiousPeriod { date: NaiveDate, starts: NaiveDate },
    AfterInfectiousPeriod { date: NaiveDate, ends: NaiveDate },
}

impl ExposureWarning {
    pub fn message(&self) -> String {
        match self {
            Self::BeforeInfectiousPeriod { date, starts } => {
                format!("exposure on {date} is before the infectious period starts on {starts}")
            }
            Self::AfterInfectiousPeriod { date, ends } => {
                format!("exposure on {date} is after the infectious period ends on {ends}")
            }
        }
    }
}

fn plus(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_add_days(Days::new(days.into()))
        .unwrap_or(NaiveDate::MAX)
}

fn minus(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_sub_days(Days::new(days.into()))
        .unwrap_or(NaiveDate::MIN)
}

impl DateRules {
    /// Checks the configured periods are sane; called once at start.
    pub fn validate(&self) -> Result<(), RulesError> {
        for (name, v) in [
            ("infectious_lead_days", self.infectious_lead_days),
            ("isolation_days", self.isolation_days),
            ("quarantine_days", self.quarantine_days),
            ("quarantine_short_days", self.quarantine_short_days),
            ("quarantine_test_days", self.quarantine_test_days),
            ("negative_test_from_day", self.negative_test_from_day),
        ] {
            if v > 60 {
                return Err(RulesError::OutOfRange(name));
            }
        }
        Ok(())
    }

    /// The day the infectious period is anchored on: symptom onset when the
    /// case had symptoms, otherwise the specimen collection date.
    pub fn anchor(&self, onset: Option<NaiveDate>, specimen: NaiveDate) -> NaiveDate {
        onset.unwrap_or(specimen)
    }

    pub fn infectious_start(&self, onset: Option<NaiveDate>, specimen: NaiveDate) -> NaiveDate {
        minus(self.anchor(onset, specimen), self.infectious_lead_days)
    }

    pub fn isolation_end(&self, onset: Option<NaiveDate>, specimen: NaiveDate) -> NaiveDate {
        plus(self.anchor(onset, specimen), self.isolation_days)
    }

    /// Quarantine end for a contact under `option`: full, shortened, or
    /// — with a negative test taken on or after `negative_test_from_day` —
    /// the 7-day end (not before the test itself). Without such a test the
    /// 7-day option is the shortened one.
    pub fn quarantine_end(
        &self,
        last_exposure: NaiveDate,
        option: QuarantineOption,
        negative_test: Option<NaiveDate>,
    ) -> NaiveDate {
        let short = plus(last_exposure, self.quarantine_short_days);
        match option {
            QuarantineOption::Full => plus(last_exposure, self.quarantine_days),
            QuarantineOption::Shortened => short,
            QuarantineOption::ShortenedWithNegativeTest => match negative_test {
                Some(t) if t >= plus(last_exposure, self.negative_test_from_day) => {
                    plus(last_exposure, self.quarantine_test_days)
                        .max(t)
                        .min(short)
                }
                _ => short,
            },
        }
    }

    /// Days of daily monitoring: from the day after last exposure to quarantine end.
    pub fn monitoring_days(&self, last_exposure: NaiveDate, quarantine_end: NaiveDate) -> u32 {
        let days = (quarantine_end - last_exposure).num_days();
        u32::try_from(days).unwrap_or(0)
    }

    /// Warnings for exposure dates outside `[infectious_start, isolation_end]`.
    pub fn exposure_warnings(
        &self,
        dates: &[NaiveDate],
        onset: Option<NaiveDate>,
        specimen: NaiveDate,
    ) -> Vec<ExposureWarning> {
        let starts = self.infectious_start(onset, specimen);
        let ends = self.isolation_end(onset, specimen);
        dates
            .iter()
            .filter_map(|&date| {
                if date < starts {
                    Some(ExposureWarning::BeforeInfectiousPeriod { date, starts })
                } else if date > ends {
                    Some(ExposureWarning::AfterInfectiousPeriod { date, ends })
                } else {
                    None
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn cdc_defaults() {
        let r = DateRules::default();
        let spec = d(2020, 6, 10);
        let onset = d(2020, 6, 8);
        assert_eq!(r.infectious_start(Some(onset), spec), d(2020, 6, 6));
        assert_eq!(r.infectious_start(None, spec), d(2020, 6, 8));
        assert_eq!(r.isolation_end(Some(onset), spec), d(2020, 6, 18));
        assert_eq!(r.isolation_end(None, spec), d(2020, 6, 20));
        let last = d(2020, 6, 9);
        assert_eq!(
            r.quarantine_end(last, QuarantineOption::Full, None),
            d(2020, 6, 23)
        );
        assert_eq!(
            r.quarantine_end(last, QuarantineOption::Shortened, None),
            d(2020, 6, 19)
        );
        let tested = QuarantineOption::ShortenedWithNegativeTest;
        assert_eq!(
            r.quarantine_end(last, tested, Some(d(2020, 6, 14))),
            d(2020, 6, 16),
            "day 5"
        );
        assert_eq!(
            r.quarantine_end(last, tested, Some(d(2020, 6, 13))),
            d(2020, 6, 19),
            "day 4 is too early"
        );
        assert_eq!(
            r.quarantine_end(last, tested, Some(d(2020, 6, 17))),
            d(2020, 6, 17),
            "not before the test"
        );
        assert_eq!(
            r.quarantine_end(last, tested, None),
            d(2020, 6, 19),
            "untested: 10 days"
        );
    }

    #[test]
    fn warns_outside_infectious_period() {
        let r = DateRules::default();
        let w = r.exposure_warnings(
            &[d(2020, 6, 1), d(2020, 6, 9), d(2020, 6, 30)],
            None,
            d(2020, 6, 10),
        );
        assert_eq!(w.len(), 2);
        assert!(matches!(
            w[0],
            ExposureWarning::BeforeInfectiousPeriod { .. }
        ));
        assert!(matches!(
            w[1],
            ExposureWarning::AfterInfectiousPeriod { .. }
        ));
    }

    #[test]
    fn validate_rejects_absurd_periods() {
        let r = DateRules {
            quarantine_days: 400,
            ..DateRules::default()
        };
        assert_eq!(r.validate(), Err(RulesError::OutOfRange("quarantine_days")));
    }

    fn date() -> impl Strategy<Value = NaiveDate> {
        (0i64..20_000).prop_map(|n| d(1990, 1, 1) + chrono::Duration::days(n))
    }

    fn rules() -> impl Strategy<Value = DateRules> {
        (0u32..=30, 0u32..=30, 0u32..=30, 0u32..=30, 0u32..=30).prop_map(|(a, b, c, e, f)| {
            DateRules {
                infectious_lead_days: a,
                isolation_days: b,
                quarantine_days: c,
                quarantine_short_days: e,
                quarantine_test_days: f,
                negative_test_from_day: 5,
                quarantine_option: QuarantineOption::Full,
            }
        })
    }

    proptest! {
        #[test]
        fn infectious_period_is_ordered_and_anchored(r in rules(), spec in date(), onset in proptest::option::of(date())) {
            let start = r.infectious_start(onset, spec);
            let end = r.isolation_end(onset, spec);
            let anchor = onset.unwrap_or(spec);
            prop_assert!(start <= anchor && anchor <= end);
            prop_assert_eq!((anchor - start).num_days(), i64::from(r.infectious_lead_days));
            prop_assert_eq!((end - anchor).num_days(), i64::from(r.isolation_days));
        }

        #[test]
        fn quarantine_is_exposure_plus_period(r in rules(), last in date(), test in proptest::option::of(date())) {
            let full = r.quarantine_end(last, QuarantineOption::Full, test);
            prop_assert_eq!((full - last).num_days(), i64::from(r.quarantine_days));
            prop_assert_eq!(r.monitoring_days(last, full), r.quarantine_days);
            let short = r.quarantine_end(last, QuarantineOption::Shortened, test);
            prop_assert_eq!((short - last).num_days(), i64::from(r.quarantine_short_days));
            let tested = r.quarantine_end(last, QuarantineOption::ShortenedWithNegativeTest, test);
            prop_assert!(tested <= short.max(plus(last, r.quarantine_test_days)));
            if test.is_none_or(|t| t < plus(last, r.negative_test_from_day)) {
                prop_assert_eq!(tested, short);
            }
        }

        #[test]
        fn a_later_exposure_never_ends_quarantine_earlier(r in rules(), a in date(), b in date()) {
            let (early, late) = if a <= b { (a, b) } else { (b, a) };
            let q1 = r.quarantine_end(early, QuarantineOption::Full, None);
            let q2 = r.quarantine_end(late, QuarantineOption::Full, None);
            prop_assert!(q1 <= q2);
        }

        #[test]
        fn warnings_exactly_for_dates_outside(r in rules(), spec in date(), onset in proptest::option::of(date()), dates in proptest::collection::vec(date(), 0..8)) {
            let w = r.exposure_warnings(&dates, onset, spec);
            let start = r.infectious_start(onset, spec);
            let end = r.isolation_end(onset, spec);
            let outside = dates.iter().filter(|x| **x < start || **x > end).count();
            prop_assert_eq!(w.len(), outside);
        }
    }
}
