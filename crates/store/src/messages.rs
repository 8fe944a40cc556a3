//! Rows and statuses of the outbox, the threads and the consent registry.

use crate::{Blind, Sealed};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Where an outbound message stands. The provider's statuses move it
/// forward only: a callback that arrives late (`sent` after `delivered`)
/// changes nothing.
pub mod status {
    /// Written, waiting for a dispatcher.
    pub const QUEUED: &str = "queued";
    /// Claimed by a dispatcher, which is handing it to the carrier.
    pub const SENDING: &str = "sending";
    /// The carrier accepted it.
    pub const SENT: &str = "sent";
    pub const DELIVERED: &str = "delivered";
    pub const UNDELIVERED: &str = "undelivered";
    pub const FAILED: &str = "failed";
    /// Never sent: the address opted out.
    pub const REFUSED: &str = "refused";
    /// Never sent: it waited past its validity.
    pub const EXPIRED: &str = "expired";
    /// An inbound message, stored.
    pub const RECEIVED: &str = "received";

    /// The order statuses move in; a status of lower rank never replaces
    /// one of higher. The final ones share the top rank.
    pub fn rank(s: &str) -> u8 {
        match s {
            QUEUED => 0,
            SENDING => 1,
            SENT => 2,
            DELIVERED | UNDELIVERED | FAILED | REFUSED | EXPIRED => 3,
            _ => 0,
        }
    }

    /// Statuses a provider's callback may set, each with its rank.
    pub const FROM_PROVIDER: [&str; 4] = [SENT, DELIVERED, UNDELIVERED, FAILED];
}

/// One message, outbound or inbound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    pub id: Uuid,
    /// `out` or `in`.
    pub direction: String,
    /// `sms`, `voice` or `email`.
    pub channel: String,
    pub status: String,
    /// 0 most urgent (a notification, a symptomatic follow-up), 1 normal,
    /// 2 routine (a check-in).
    pub priority: i32,
    pub person_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    pub jurisdiction: Option<String>,
    /// The template it was rendered from, if any.
    pub template: Option<String>,
    /// The program's number or sender it goes from (not personal data).
    pub sender: Option<String>,
    pub address_bidx: Blind,
    pub key_version: u32,
    /// The person's number or email, sealed.
    pub address: Sealed,
    pub body: Sealed,
    pub segments: i32,
    /// The provider's id (Twilio's `MessageSid`), unique: a webhook
    /// delivered twice is stored once.
    pub provider_sid: Option<String>,
    pub error_code: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_by: Option<String>,
    pub claim_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a dispatcher learned handing a claimed message to the carrier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted, with the provider's id.
    Sent { provider_sid: String },
    /// A definite failure worth retrying (refused connection, 429, 5xx):
    /// queued again for `at`.
    Retry { at: DateTime<Utc>, error: String },
    /// A definite failure not worth retrying (the provider refused the
    /// message, the address is invalid).
    Failed { error: String },
    /// Refused before it left: the address opted out.
    Refused,
    /// It may have left (a timeout after the request went): kept `sending`
    /// with its claim released at `at`, when it is claimed again as
    /// uncertain and the carrier is asked before any resend.
    Uncertain { at: DateTime<Utc>, error: String },
}

/// A claimed message, and whether an earlier claim of it ended without an
/// outcome (its dispatcher died or timed out mid-send): such a message may
/// have left, so the carrier is asked before it is sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub message: MessageRow,
    pub uncertain: bool,
}

/// An address's standing in the consent registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub address_bidx: Blind,
    pub opted_out: bool,
    /// The keyword that set it (`stop`, `start`) or `staff`.
    pub keyword: String,
    pub updated_at: DateTime<Utc>,
}

/// An operator's edit of a built-in template (`message_templates`):
/// program wording, not personal data, so not sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRow {
    pub name: String,
    pub channel: String,
    pub language: String,
    pub body: String,
    /// The staff user who saved it.
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

/// A number no record holds, as the first text from it is stored: a
/// person made to hold the number (sealed, with no blind index, so no
/// search or match finds it) in the root jurisdiction, and the `triage`
/// task that asks someone to find out who wrote.
#[derive(Debug, Clone)]
pub struct UnknownSender {
    pub person: crate::PersonRow,
    pub task: crate::TaskRow,
}
