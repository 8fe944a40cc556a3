//! Record linkage: is this the same person as that one?
//!
//! The same person arrives many times: "Garcia" and "García", "Jon" and
//! "John", first and last name swapped, day and month of birth swapped,
//! "García López" shortened to "Garcia", a new phone. This crate compares
//! two records field by field, each comparison graded into agreement
//! levels (exact, close, phonetic, swapped…), and adds up Fellegi–Sunter
//! weights — log₂(m/u): how much likelier that level is among true matches
//! than among non-matches — into a score with two thresholds: the same
//! person, a possible match for a person to review, or distinct.
//!
//! It also gives each record's blocking keys, the few values that a true
//! match is likely to share with it (phone, email, date of birth and its
//! day/month-swapped twin, phonetic keys of names): only records that share
//! a key are compared. The store keeps the keys as keyed blind indexes, so
//! they reveal nothing. Pure functions, no I/O: the plaintext comparison
//! happens in memory on records case work has opened.

pub mod compare;
pub mod em;
pub mod jaro;
pub mod keys;
pub mod names;
pub mod phonetic;
pub mod score;

pub use compare::Person;
pub use score::{Decision, Scorer, Thresholds};
