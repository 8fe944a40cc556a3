//! Fellegi–Sunter scoring: each field's agreement level carries a weight,
//! log₂(m/u) — m the chance of that level between two records of the same
//! person, u between two different people — and the weights add up. A
//! rare, specific agreement (the same date of birth) weighs more than a
//! common one (the same first name); a disagreement weighs against, less
//! so for what people change (phones, addresses).

use crate::compare::{Comparison, Level, Person, compare};

/// What the score says about two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The same person: link them.
    Same,
    /// Perhaps the same person: a person should look.
    Possible,
    Distinct,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// At or above: the same person.
    pub same: f64,
    /// At or above (and below `same`): a possible match to review.
    pub possible: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            same: 12.0,
            possible: 6.0,
        }
    }
}

/// Weights per field, by level: Exact, Alias, Close, Similar, Disagree
/// (Missing weighs nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct Scorer {
    pub first: [f64; 5],
    pub last: [f64; 5],
    pub dob: [f64; 5],
    pub phone: [f64; 5],
    pub email: [f64; 5],
    pub address: [f64; 5],
    /// Taken off when the names matched only the other way round.
    pub swapped: f64,
    pub thresholds: Thresholds,
}

impl Default for Scorer {
    /// Weights from m and u probabilities typical of person registers
    /// (first names repeat more than surnames; a birth date is one day in
    /// some 30,000; households share phones and addresses).
    fn default() -> Self {
        Self {
            first: [4.5, 3.5, 2.5, 0.5, -4.5],
            last: [6.0, 4.5, 3.5, 1.0, -4.0],
            dob: [9.0, 5.5, 3.5, 0.0, -6.0],
            phone: [6.0, 3.0, 1.0, 0.0, -1.0],
            email: [8.0, 4.0, 1.0, 0.0, -1.0],
            address: [3.0, 2.5, 1.5, 0.5, -1.5],
            swapped: 1.0,
            thresholds: Thresholds::default(),
        }
    }
}

fn weight(table: &[f64; 5], level: Level) -> f64 {
    match level {
        Level::Exact => table[0],
        Level::Alias => table[1],
        Level::Close => table[2],
        Level::Similar => table[3],
        Level::Disagree => table[4],
        Level::Missing => 0.0,
    }
}

impl Scorer {
    /// The score of a comparison.
    pub fn score(&self, c: &Comparison) -> f64 {
        weight(&self.first, c.first)
            + weight(&self.last, c.last)
            + weight(&self.dob, c.dob)
            + weight(&self.phone, c.phone)
            + weight(&self.email, c.email)
            + weight(&self.address, c.address)
            - if c.swapped { self.swapped } else { 0.0 }
    }

    pub fn decide(&self, score: f64) -> Decision {
        if score >= self.thresholds.same {
            Decision::Same
        } else if score >= self.thresholds.possible {
            Decision::Possible
        } else {
            Decision::Distinct
        }
    }

    /// The decision on a compared pair: the score's, except that a pair is
    /// linked without a reviewer only on evidence a household, twins or two
    /// people of a common name cannot give. It must have
    /// - an anchor: the date of birth (at worst one component off), the
    ///   phone or email, or the address agreeing;
    /// - a name agreeing (first or last, at least phonetically);
    /// - at most one of first name, last name and birth date disagreeing
    ///   (a household shares a surname and an address, not first names
    ///   and birth dates);
    /// - not a first name disagreeing beside the same birth date (twins).
    ///
    /// Anything short of that is sent to review instead.
    pub fn verdict(&self, c: &Comparison, score: f64) -> Decision {
        let d = self.decide(score);
        if d != Decision::Same {
            return d;
        }
        let agrees = |l: Level, worst: Level| l <= worst;
        let anchor = agrees(c.dob, Level::Close)
            || agrees(c.phone, Level::Alias)
            || agrees(c.email, Level::Alias)
            || agrees(c.address, Level::Close);
        let named = agrees(c.first, Level::Similar) || agrees(c.last, Level::Similar);
        let disagreeing = [c.first, c.last, c.dob]
            .iter()
            .filter(|l| **l == Level::Disagree)
            .count();
        let twins = c.first == Level::Disagree && c.dob == Level::Exact;
        if anchor && named && disagreeing <= 1 && !twins {
            Decision::Same
        } else {
            Decision::Possible
        }
    }

    /// Compares, scores and decides.
    pub fn judge(&self, a: &Person, b: &Person) -> (Decision, f64, Comparison) {
        let c = compare(a, b);
        let s = self.score(&c);
        (self.verdict(&c, s), s, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(first: &str, last: &str, dob: &str, phone: Option<&str>) -> Person {
        Person::new(first, last, dob.parse().ok(), phone, None, None)
    }

    #[test]
    fn the_same_person_written_five_ways_is_linked() {
        let s = Scorer::default();
        let base = p("John", "García", "1985-04-07", Some("+12125550101"));
        for other in [
            p("John", "Garcia", "1985-04-07", None),
            p("Garcia", "John", "1985-04-07", None),
            p("Jon", "Garcia", "1985-04-07", None),
            p("John", "Garcia", "1985-07-04", Some("+12125550101")),
            p("John", "García López", "1985-04-07", None),
        ] {
            let (d, score, c) = s.judge(&base, &other);
            assert_eq!(d, Decision::Same, "{other:?}: {score} {c:?}");
        }
    }

    /// Twins share a surname and a birth date: a reviewer decides.
    #[test]
    fn twins_are_not_linked_without_a_reviewer() {
        let s = Scorer::default();
        let a = p("Adaeze", "Okonkwo", "1980-03-04", None);
        let (d, score, _) = s.judge(&a, &p("Chidi", "Okonkwo", "1980-03-04", None));
        assert_eq!(d, Decision::Possible, "{score}");
    }

    #[test]
    fn relatives_and_strangers_are_not() {
        let s = Scorer::default();
        let base = p("John", "García", "1985-04-07", Some("+12125550101"));
        // A brother at the same number.
        let (d, _, _) = s.judge(
            &base,
            &p("Luis", "García", "1988-11-30", Some("+12125550101")),
        );
        assert_ne!(d, Decision::Same);
        // A stranger.
        let (d, _, _) = s.judge(&base, &p("Mary", "Smith", "1990-01-01", None));
        assert_eq!(d, Decision::Distinct);
        // The same name, another birth date: worth a look, no more.
        let (d, _, _) = s.judge(&base, &p("John", "Garcia", "1962-10-21", None));
        assert_ne!(d, Decision::Same);
    }
}
