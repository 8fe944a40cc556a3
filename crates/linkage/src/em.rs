//! Estimating the weights from the records themselves (the EM algorithm
//! of Fellegi–Sunter as Winkler and Splink apply it): u — how often each
//! level occurs between different people — from random pairs, which are
//! nearly all different people; then m — how often between the same
//! person — and the share of matches among blocked pairs, by expectation
//! maximisation with u held. The weights then fit the data: where birth
//! dates are often mistyped, a disagreeing one costs less.

use crate::compare::{Comparison, Level};
use crate::score::{Scorer, Thresholds};

const FIELDS: usize = 6;
const LEVELS: usize = 5;

fn levels(c: &Comparison) -> [Level; FIELDS] {
    [c.first, c.last, c.dob, c.phone, c.email, c.address]
}

fn index(l: Level) -> Option<usize> {
    match l {
        Level::Exact => Some(0),
        Level::Alias => Some(1),
        Level::Close => Some(2),
        Level::Similar => Some(3),
        Level::Disagree => Some(4),
        Level::Missing => None,
    }
}

type Table = [[f64; LEVELS]; FIELDS];

/// Frequencies per field and level, smoothed so no level is impossible.
fn frequencies<'a>(pairs: impl Iterator<Item = (&'a Comparison, f64)>) -> Table {
    let mut t = [[0.5; LEVELS]; FIELDS];
    for (c, w) in pairs {
        for (f, l) in levels(c).into_iter().enumerate() {
            if let Some(i) = index(l) {
                t[f][i] += w;
            }
        }
    }
    for row in &mut t {
        let sum: f64 = row.iter().sum();
        for v in row.iter_mut() {
            *v /= sum;
        }
    }
    t
}

/// `count` pairs of indexes drawn at random from `0..a` × `0..b`
/// (deterministic: the same every run), the pairs u is measured on.
pub fn random_pairs(a: usize, b: usize, count: usize) -> Vec<(usize, usize)> {
    let (a, b) = (a.max(1), b.max(1));
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..count)
        .map(|_| (next() as usize % a, next() as usize % b))
        .collect()
}

/// What the fit found.
#[derive(Debug, Clone)]
pub struct Fit {
    pub scorer: Scorer,
    /// The share of blocked pairs that are the same person.
    pub share: f64,
    pub iterations: usize,
}

/// Fits weights to `blocked` (the pairs blocking found) with u from
/// `random` (pairs drawn at random). `same` and `possible` are the
/// posterior probabilities of a match at which pairs are linked or sent to
/// review. `prior`, when known, is the share of blocked pairs that are
/// matches (linking two files where each record has at most one match:
/// the smaller file's size over the pairs); it is held rather than
/// estimated, which keeps EM from drifting to "everything matches".
pub fn fit(
    blocked: &[Comparison],
    random: &[Comparison],
    same: f64,
    possible: f64,
    prior: Option<f64>,
) -> Fit {
    let u = frequencies(random.iter().map(|c| (c, 1.0)));
    let mut m: Table = [[0.02; LEVELS]; FIELDS];
    for row in &mut m {
        row[0] = 0.9;
    }
    let mut share: f64 = prior.unwrap_or(0.5).clamp(1e-6, 1.0 - 1e-6);
    let mut iterations = 0;
    for _ in 0..100 {
        iterations += 1;
        let g: Vec<f64> = blocked
            .iter()
            .map(|c| {
                let (mut lm, mut lu) = (share.ln(), (1.0 - share).ln());
                for (f, l) in levels(c).into_iter().enumerate() {
                    if let Some(i) = index(l) {
                        lm += m[f][i].ln();
                        lu += u[f][i].ln();
                    }
                }
                1.0 / (1.0 + (lu - lm).exp())
            })
            .collect();
        let next = frequencies(blocked.iter().zip(g.iter().copied()));
        let next_share = match prior {
            Some(_) => share,
            None => (g.iter().sum::<f64>() / g.len().max(1) as f64).clamp(1e-6, 1.0 - 1e-6),
        };
        let moved = (next_share - share).abs()
            + next
                .iter()
                .zip(&m)
                .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
                .sum::<f64>();
        m = next;
        share = next_share;
        if moved < 1e-6 {
            break;
        }
    }
    let w = |f: usize| -> [f64; LEVELS] {
        let mut out = [0.0; LEVELS];
        for (i, o) in out.iter_mut().enumerate() {
            *o = (m[f][i] / u[f][i]).log2();
        }
        out
    };
    // Posterior odds = prior odds × 2^weight.
    let at = |p: f64| (p / (1.0 - p)).log2() - (share / (1.0 - share)).log2();
    let base = Scorer::default();
    Fit {
        scorer: Scorer {
            first: w(0),
            last: w(1),
            dob: w(2),
            phone: w(3),
            email: w(4),
            address: w(5),
            swapped: base.swapped,
            thresholds: Thresholds {
                same: at(same),
                possible: at(possible),
            },
        },
        share,
        iterations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Person, compare};

    #[test]
    fn a_fit_learns_that_agreement_means_a_match() {
        let d = |s: &str| s.parse().ok();
        let people: Vec<Person> = (0..200)
            .map(|i| {
                Person::new(
                    ["Ana", "Luis", "Mei", "Omar", "Kofi"][i % 5],
                    &format!("Family{i}"),
                    d(&format!("19{:02}-0{}-1{}", 40 + i % 50, 1 + i % 9, i % 10)),
                    None,
                    None,
                    Some(&format!("{i} Main Street")),
                )
            })
            .collect();
        // Each person again with a typo, and everyone against a neighbour.
        let mut blocked = Vec::new();
        for (i, p) in people.iter().enumerate() {
            let mut twin = p.clone();
            twin.last.push('x');
            blocked.push(compare(p, &twin));
            blocked.push(compare(p, &people[(i + 1) % people.len()]));
        }
        let random: Vec<_> = (0..people.len())
            .map(|i| compare(&people[i], &people[(i * 7 + 3) % people.len()]))
            .collect();
        let fit = fit(&blocked, &random, 0.9, 0.1, None);
        assert!((0.3..0.7).contains(&fit.share), "{}", fit.share);
        let s = &fit.scorer;
        assert!(s.dob[0] > 3.0 && s.dob[4] < 0.0, "{:?}", s.dob);
        let linked = blocked
            .iter()
            .step_by(2)
            .filter(|c| s.score(c) >= s.thresholds.same)
            .count();
        assert_eq!(linked, people.len());
        let wrong = blocked
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|c| s.score(c) >= s.thresholds.same)
            .count();
        assert_eq!(wrong, 0);
    }
}
