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
    #[error("reinfection_days must be between 14 and 365 days")]
    Reinfection,
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
    /// Isolation after onset (or specimen) for severe illness or severe
    /// immunocompromise (CDC 2020: 20 days).
    pub isolation_severe_days: u32,
    /// A positive specimen within this many days of a prior case's
    /// specimen belongs to that case; after it, it is a new infection
    /// (CDC 2020: 90 days).
    pub reinfection_days: u32,
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
            isolation_severe_days: 20,
            reinfection_days: 90,
        }
    }
}

/// What a case's isolation end depends on beyond its dates: the
/// symptom-based release of CDC's late-2020 guidance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clinical {
    /// The first day without fever (and without fever-reducing medicine).
    pub fever_free_since: Option<NaiveDate>,
    /// Whether the other symptoms are improving (`None`: not yet asked).
    pub improving: Option<bool>,
    /// Severe illness (hospitalized with oxygen, ICU) or severe
    /// immunocompromise: the longer isolation.
    pub severe: bool,
}

/// Why a case cannot be released from isolation on a given day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum ReleaseHold {
    /// Too few days since onset (or specimen) have passed.
    TooSoon { until: NaiveDate },
    /// A symptomatic case with no fever-free date recorded.
    FeverNotRecorded,
    /// Fever-free for less than 24 hours.
    FeverTooRecent { until: NaiveDate },
    /// Symptoms are not (yet known to be) improving.
    NotImproving,
}

impl ReleaseHold {
    pub fn message(&self) -> String {
        match self {
            Self::TooSoon { until } => format!("isolation runs until {until} at the earliest"),
            Self::FeverNotRecorded => "no fever-free date is recorded".into(),
            Self::FeverTooRecent { until } => {
                format!("fever-free for under 24 hours; not before {until}")
            }
            Self::NotImproving => "symptoms are not recorded as improving".into(),
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

/// A date on a record that is possible but unlikely: kept, and flagged for
/// a data manager (the record is not refused: tracers and labs get dates
/// wrong, and the rest of the record is still right).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum DataWarning {
    /// Symptoms began more than 14 days before the specimen was taken.
    OnsetLongBeforeSpecimen {
        onset: NaiveDate,
        specimen: NaiveDate,
    },
    /// The specimen was taken before the person was born.
    SpecimenBeforeBirth { specimen: NaiveDate, dob: NaiveDate },
    /// A positive older than the program itself.
    BeforeProgram {
        specimen: NaiveDate,
        program_start: NaiveDate,
    },
    /// An exposure outside the case's infectious period.
    Exposure(ExposureWarning),
}

impl DataWarning {
    pub fn code(&self) -> &'static str {
        match self {
            Self::OnsetLongBeforeSpecimen { .. } => "onset_long_before_specimen",
            Self::SpecimenBeforeBirth { .. } => "specimen_before_birth",
            Self::BeforeProgram { .. } => "before_program",
            Self::Exposure(ExposureWarning::BeforeInfectiousPeriod { .. }) => {
                "before_infectious_period"
            }
            Self::Exposure(ExposureWarning::AfterInfectiousPeriod { .. }) => {
                "after_infectious_period"
            }
        }
    }

    pub fn message(&self) -> String {
        match self {
            Self::OnsetLongBeforeSpecimen { onset, specimen } => format!(
                "symptom onset on {onset} is more than 14 days before the specimen of {specimen}"
            ),
            Self::SpecimenBeforeBirth { specimen, .. } => {
                format!("the specimen of {specimen} is before the date of birth")
            }
            Self::BeforeProgram {
                specimen,
                program_start,
            } => {
                format!("the specimen of {specimen} is before the program began on {program_start}")
            }
            Self::Exposure(w) => w.message(),
        }
    }
}

/// Days between onset and specimen past which an onset is implausible.
pub const ONSET_BEFORE_SPECIMEN_DAYS: i64 = 14;

/// The implausible dates of a result and its case: onset long before the
/// specimen, a specimen before birth, a positive before the program.
pub fn date_warnings(
    specimen: NaiveDate,
    onset: Option<NaiveDate>,
    dob: Option<NaiveDate>,
    program_start: NaiveDate,
) -> Vec<DataWarning> {
    let mut out = Vec::new();
    if let Some(onset) = onset
        && (specimen - onset).num_days() > ONSET_BEFORE_SPECIMEN_DAYS
    {
        out.push(DataWarning::OnsetLongBeforeSpecimen { onset, specimen });
    }
    if let Some(dob) = dob
        && specimen < dob
    {
        out.push(DataWarning::SpecimenBeforeBirth { specimen, dob });
    }
    if specimen < program_start {
        out.push(DataWarning::BeforeProgram {
            specimen,
            program_start,
        });
    }
    out
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
            ("isolation_severe_days", self.isolation_severe_days),
        ] {
            if v > 60 {
                return Err(RulesError::OutOfRange(name));
            }
        }
        if !(14..=365).contains(&self.reinfection_days) {
            return Err(RulesError::Reinfection);
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

    /// The time-based isolation end: `isolation_days` after onset (or
    /// specimen). See [`DateRules::earliest_release`] for the full rule.
    pub fn isolation_end(&self, onset: Option<NaiveDate>, specimen: NaiveDate) -> NaiveDate {
        plus(self.anchor(onset, specimen), self.isolation_days)
    }

    /// The earliest day isolation can end under the symptom-based rule: at
    /// least `isolation_days` (`isolation_severe_days` when severe) after
    /// onset or, without symptoms, after the specimen; and, for a
    /// symptomatic case, a full day after the fever ended.
    pub fn earliest_release(
        &self,
        onset: Option<NaiveDate>,
        specimen: NaiveDate,
        clinical: &Clinical,
    ) -> NaiveDate {
        let days = if clinical.severe {
            self.isolation_severe_days
        } else {
            self.isolation_days
        };
        let by_days = plus(self.anchor(onset, specimen), days);
        match (onset, clinical.fever_free_since) {
            (Some(_), Some(f)) => by_days.max(plus(f, 1)),
            _ => by_days,
        }
    }

    /// What still holds a case in isolation on `today` (empty: it may be
    /// released). Without symptoms only the days count.
    pub fn release_holds(
        &self,
        onset: Option<NaiveDate>,
        specimen: NaiveDate,
        clinical: &Clinical,
        today: NaiveDate,
    ) -> Vec<ReleaseHold> {
        let mut holds = Vec::new();
        let until = self.earliest_release(
            onset,
            specimen,
            &Clinical {
                fever_free_since: None,
                ..*clinical
            },
        );
        if today < until {
            holds.push(ReleaseHold::TooSoon { until });
        }
        if onset.is_some() {
            match clinical.fever_free_since {
                None => holds.push(ReleaseHold::FeverNotRecorded),
                Some(f) if today < plus(f, 1) => {
                    holds.push(ReleaseHold::FeverTooRecent { until: plus(f, 1) })
                }
                Some(_) => {}
            }
            if clinical.improving != Some(true) {
                holds.push(ReleaseHold::NotImproving);
            }
        }
        holds
    }

    /// Whether a positive specimen taken on `specimen` belongs to a prior
    /// case whose specimen was taken on `prior` (within `reinfection_days`
    /// either way), rather than being a new infection.
    pub fn same_infection(&self, prior: NaiveDate, specimen: NaiveDate) -> bool {
        (specimen - prior).num_days().abs() <= i64::from(self.reinfection_days)
    }

    /// Quarantine end of a household contact whose exposure goes on while
    /// the case isolates at home (CDC 2020): the case's last infectious day
    /// is their last exposure, so quarantine runs from the case's isolation
    /// end and moves whenever it moves.
    pub fn household_quarantine_end(
        &self,
        case_isolation_end: NaiveDate,
        option: QuarantineOption,
        negative_test: Option<NaiveDate>,
    ) -> NaiveDate {
        self.quarantine_end(case_isolation_end, option, negative_test)
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

    /// CDC's symptom-based release, worked: onset 1 June, so 10 days end on
    /// 11 June; a fever that broke on 12 June holds isolation to 13 June;
    /// severe illness makes it 21 June; without symptoms, 10 days from the
    /// specimen.
    #[test]
    fn symptom_based_isolation() {
        let r = DateRules::default();
        let (onset, spec) = (d(2020, 6, 1), d(2020, 6, 3));
        let mild = Clinical {
            fever_free_since: Some(d(2020, 6, 5)),
            improving: Some(true),
            severe: false,
        };
        assert_eq!(r.earliest_release(Some(onset), spec, &mild), d(2020, 6, 11));
        assert!(
            r.release_holds(Some(onset), spec, &mild, d(2020, 6, 11))
                .is_empty()
        );
        assert_eq!(
            r.release_holds(Some(onset), spec, &mild, d(2020, 6, 10)),
            vec![ReleaseHold::TooSoon {
                until: d(2020, 6, 11)
            }]
        );
        let late_fever = Clinical {
            fever_free_since: Some(d(2020, 6, 12)),
            ..mild
        };
        assert_eq!(
            r.earliest_release(Some(onset), spec, &late_fever),
            d(2020, 6, 13)
        );
        assert_eq!(
            r.release_holds(Some(onset), spec, &late_fever, d(2020, 6, 12)),
            vec![ReleaseHold::FeverTooRecent {
                until: d(2020, 6, 13)
            }]
        );
        let unknown = Clinical::default();
        assert_eq!(
            r.release_holds(Some(onset), spec, &unknown, d(2020, 6, 30)),
            vec![ReleaseHold::FeverNotRecorded, ReleaseHold::NotImproving]
        );
        let severe = Clinical {
            severe: true,
            ..mild
        };
        assert_eq!(
            r.earliest_release(Some(onset), spec, &severe),
            d(2020, 6, 21)
        );
        assert_eq!(
            r.earliest_release(None, spec, &Clinical::default()),
            d(2020, 6, 13)
        );
        assert!(
            r.release_holds(None, spec, &Clinical::default(), d(2020, 6, 13))
                .is_empty()
        );
        let immunocompromised = Clinical {
            severe: true,
            ..Clinical::default()
        };
        assert_eq!(
            r.earliest_release(None, spec, &immunocompromised),
            d(2020, 6, 23)
        );
    }

    /// A household contact with ongoing exposure: the case isolates until
    /// 18 June, so full quarantine ends 14 days later, 2 July; when the
    /// case's isolation moves to 21 June, quarantine moves to 5 July.
    #[test]
    fn household_ongoing_exposure() {
        let r = DateRules::default();
        let full = QuarantineOption::Full;
        assert_eq!(
            r.household_quarantine_end(d(2020, 6, 18), full, None),
            d(2020, 7, 2)
        );
        assert_eq!(
            r.household_quarantine_end(d(2020, 6, 21), full, None),
            d(2020, 7, 5)
        );
    }

    /// Implausible dates, worked: onset 15 days before the specimen warns,
    /// 14 does not; a specimen before birth, and one before the program.
    #[test]
    fn implausible_dates_warn() {
        let start = d(2020, 1, 1);
        let spec = d(2020, 6, 20);
        assert!(date_warnings(spec, Some(d(2020, 6, 6)), None, start).is_empty());
        let w = date_warnings(spec, Some(d(2020, 6, 5)), Some(d(2021, 1, 1)), start);
        let codes: Vec<&str> = w.iter().map(DataWarning::code).collect();
        assert_eq!(
            codes,
            ["onset_long_before_specimen", "specimen_before_birth"]
        );
        let w = date_warnings(d(2019, 12, 31), None, None, start);
        assert_eq!(w[0].code(), "before_program");
        assert!(w[0].message().contains("2019-12-31"));
    }

    /// 90 days either way from the prior specimen is the same infection;
    /// day 91 is a new one.
    #[test]
    fn reinfection_window() {
        let r = DateRules::default();
        let prior = d(2020, 6, 1);
        assert!(r.same_infection(prior, d(2020, 7, 16)), "45 days");
        assert!(r.same_infection(prior, d(2020, 8, 30)), "90 days");
        assert!(!r.same_infection(prior, d(2020, 8, 31)), "91 days");
        assert!(!r.same_infection(prior, d(2020, 9, 9)), "100 days");
        assert!(
            r.same_infection(prior, d(2020, 5, 20)),
            "an earlier specimen"
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
                ..DateRules::default()
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
