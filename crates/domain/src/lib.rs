//! Pure domain types and public-health rules of tracedesk.
//!
//! Nothing here performs I/O: the rules are plain functions of their inputs so
//! that they can be property-tested and reused by every layer above (case work,
//! routing, monitoring) without dragging a database or a clock along.

pub mod identity;
pub mod lab_codes;
pub mod lifecycle;
pub mod rules;

pub use identity::{DateOfBirth, Email, FieldError, PersonName, Phone, event_date, hides_text};
pub use lifecycle::{
    AttemptChannel, AttemptOutcome, CaseStatus, ContactStatus, ExposureSetting, LabOutcome,
    ReferralKind, ReferralStatus, TaskKind, TaskStatus, TransitionError,
};
pub use rules::{
    Clinical, DataWarning, DateRules, ExposureWarning, QuarantineOption, ReleaseHold, RulesError,
    date_warnings,
};
