//! OpenAPI schemas of the fields whose values a domain enum defines, built
//! from the enum's own list of names, so the document cannot drift from
//! what the service accepts and sends (`#[schema(schema_with = …)]`).

use tracedesk_domain::{
    AttemptChannel, AttemptOutcome, CaseStatus, ContactStatus, ExposureSetting, LabOutcome,
    ReferralKind, ReferralStatus, TaskKind, TaskStatus,
};
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

fn one_of<T: std::fmt::Display>(all: &[T], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(all.iter().map(ToString::to_string)))
        .description(Some(description))
        .build()
}

pub fn case_status() -> Object {
    one_of(
        CaseStatus::ALL,
        "A case's status; moves only along its lifecycle",
    )
}

pub fn contact_status() -> Object {
    one_of(
        ContactStatus::ALL,
        "A contact record's status; moves only along its lifecycle",
    )
}

pub fn setting() -> Object {
    one_of(ExposureSetting::ALL, "Where the exposure happened")
}

pub fn lab_result() -> Object {
    one_of(LabOutcome::ALL, "The test's result")
}

pub fn attempt_channel() -> Object {
    one_of(AttemptChannel::ALL, "How the person was tried")
}

pub fn attempt_outcome() -> Object {
    one_of(AttemptOutcome::ALL, "What the attempt came to")
}

pub fn referral_kind() -> Object {
    one_of(ReferralKind::ALL, "What the referral asks for")
}

pub fn referral_status() -> Object {
    one_of(
        ReferralStatus::ALL,
        "Where the referral stands; moves only along its lifecycle",
    )
}

pub fn task_kind() -> Object {
    one_of(TaskKind::ALL, "What the task is")
}

pub fn task_status() -> Object {
    one_of(TaskStatus::ALL, "Where the task stands")
}

/// A calendar date as the API takes it (`YYYY-MM-DD`).
pub fn date() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Date,
        )))
        .build()
}
