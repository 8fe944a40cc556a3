//! The tamper-evident audit log, without I/O.
//!
//! Every entry records who did what to which record — ids and action names,
//! never PHI values — and is chained to its predecessor:
//!
//! ```text
//! hash(n) = SHA-256("tracedesk-audit-v1" ‖ hash(n−1) ‖ canonical(entry n))
//! ```
//!
//! Each stored entry keeps both its own hash and the hash it was chained to,
//! so verification can name the entry that changed. A hash chain alone does
//! not stop someone with write access from rewriting an entry *and every hash
//! after it*; periodic checkpoints signed with the server's Ed25519 key do:
//! a re-chained log no longer matches the signed head hash. Stores append
//! entries with [`link`]; `tracedesk audit verify` runs [`Verifier`].

mod action;
mod signing;
mod verify;

pub use action::Action;
pub mod anchor;

pub use signing::{AUDIT_KEY_FILE_NAME, AuditKey, AuditKeyError};
pub use verify::{Broken, Limits, Summary, Verifier};

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Hash of the empty log, the predecessor of entry 1.
pub const GENESIS: [u8; 32] = [0; 32];

/// An entry before it is chained: what the service layer records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub at: DateTime<Utc>,
    /// Who acted: `token:<id>`, `user:<id>`, `cli` or `system`.
    pub actor: String,
    pub action: Action,
    /// The kind of record acted on (`case`, `person`, `token`, `keyring`, …).
    pub object: String,
    pub object_id: Option<Uuid>,
    /// Whose PHI was touched, when any: the key of the disclosure record.
    pub person_id: Option<Uuid>,
    /// Non-identifying context: the route, a count, a reason code.
    pub detail: String,
}

/// A stored, chained entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub draft: Draft,
    pub prev_hash: [u8; 32],
    pub hash: [u8; 32],
}

/// A signed statement "the log holds `seq` entries, the last with hash
/// `head`, as of `at`", linked to the checkpoint before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The entry it covers up to, which is also the log's entry count then
    /// (sequence numbers run from 1 without gaps).
    pub seq: i64,
    pub head: [u8; 32],
    pub at: DateTime<Utc>,
    /// `None` only for checkpoints signed before checkpoints were linked.
    pub link: Option<Link>,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

/// What links a checkpoint to the one before it; part of what is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// [`Checkpoint::digest`] of the previous checkpoint ([`GENESIS`] for
    /// the first): deleting a checkpoint breaks the next one's link.
    pub prev: [u8; 32],
    /// Signed by a process for entries that were older than the process
    /// (left unsigned by a crash): a long gap before it is explained, not
    /// suspect.
    pub late: bool,
}

impl Link {
    pub fn new(prev: [u8; 32], late: bool) -> Self {
        Self { prev, late }
    }
}

impl Checkpoint {
    /// The exact bytes that are signed.
    pub fn message(seq: i64, head: &[u8; 32], at: DateTime<Utc>, link: Option<&Link>) -> Vec<u8> {
        let mut m = match link {
            None => b"tracedesk-audit-checkpoint-v1\0".to_vec(),
            Some(_) => b"tracedesk-audit-checkpoint-v2\0".to_vec(),
        };
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(head);
        m.extend_from_slice(at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes());
        if let Some(l) = link {
            m.push(0);
            m.extend_from_slice(&l.prev);
            m.push(u8::from(l.late));
        }
        m
    }

    /// What the next checkpoint links to: a hash of this one, signature
    /// included.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"tracedesk-audit-checkpoint-link\0");
        h.update(Self::message(
            self.seq,
            &self.head,
            self.at,
            self.link.as_ref(),
        ));
        h.update(self.signature);
        h.finalize().into()
    }
}

/// Length-prefixed fields, so no two different entries encode alike.
fn canonical(seq: i64, d: &Draft) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::with_capacity(128 + d.detail.len());
    out.extend_from_slice(&seq.to_be_bytes());
    field(
        &mut out,
        d.at.to_rfc3339_opts(SecondsFormat::Micros, true).as_bytes(),
    );
    field(&mut out, d.actor.as_bytes());
    field(&mut out, d.action.as_str().as_bytes());
    field(&mut out, d.object.as_bytes());
    // An absent id is an empty field.
    let id = |u: &Option<Uuid>| u.map(|u| u.into_bytes().to_vec()).unwrap_or_default();
    field(&mut out, &id(&d.object_id));
    field(&mut out, &id(&d.person_id));
    field(&mut out, d.detail.as_bytes());
    out
}

/// The hash of entry `seq` with contents `draft` chained to `prev`.
pub fn entry_hash(prev: &[u8; 32], seq: i64, draft: &Draft) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"tracedesk-audit-v1\0");
    h.update(prev);
    h.update(canonical(seq, draft));
    h.finalize().into()
}

/// Chains drafts after the entry `(seq, hash)` (or [`GENESIS`] at seq 0).
/// Stores call this inside the transaction that holds the log's write lock.
pub fn link(mut seq: i64, mut prev: [u8; 32], drafts: &[Draft]) -> Vec<Entry> {
    drafts
        .iter()
        .map(|d| {
            seq += 1;
            let hash = entry_hash(&prev, seq, d);
            let e = Entry {
                seq,
                draft: d.clone(),
                prev_hash: prev,
                hash,
            };
            prev = hash;
            e
        })
        .collect()
}

/// Timestamps are kept at microsecond precision, the precision both
/// backends store, so an entry read back hashes the same.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn draft(n: u32) -> Draft {
        Draft {
            at: now(),
            actor: format!("token:{n}"),
            action: Action::PhiRead,
            object: "case".into(),
            object_id: Some(Uuid::now_v7()),
            person_id: Some(Uuid::now_v7()),
            detail: "GET /api/v1/cases/{id}".into(),
        }
    }

    #[test]
    fn link_chains_from_the_given_head() {
        let a = link(0, GENESIS, &[draft(1), draft(2)]);
        assert_eq!(a[0].seq, 1);
        assert_eq!(a[0].prev_hash, GENESIS);
        assert_eq!(a[1].prev_hash, a[0].hash);
        let b = link(2, a[1].hash, &[draft(3)]);
        assert_eq!(b[0].seq, 3);
        assert_eq!(b[0].prev_hash, a[1].hash);
    }

    #[test]
    fn every_field_changes_the_hash() {
        let d = draft(1);
        let base = entry_hash(&GENESIS, 1, &d);
        let mut variants = vec![];
        let mut v = d.clone();
        v.actor.push('x');
        variants.push(v);
        let mut v = d.clone();
        v.action = Action::PhiWrite;
        variants.push(v);
        let mut v = d.clone();
        v.object = "person".into();
        variants.push(v);
        let mut v = d.clone();
        v.object_id = None;
        variants.push(v);
        let mut v = d.clone();
        v.person_id = None;
        variants.push(v);
        let mut v = d.clone();
        v.detail.push('x');
        variants.push(v);
        let mut v = d.clone();
        v.at += chrono::Duration::microseconds(1);
        variants.push(v);
        for v in variants {
            assert_ne!(entry_hash(&GENESIS, 1, &v), base, "{v:?}");
        }
        assert_ne!(entry_hash(&GENESIS, 2, &d), base);
        assert_ne!(entry_hash(&[1; 32], 1, &d), base);
    }
}
