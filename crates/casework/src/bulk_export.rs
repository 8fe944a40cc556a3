//! Bulk export jobs (FHIR `$export`). A job is a signed token, not a row:
//! it names who asked, when, and which resource types, under the vault's
//! MAC key, so any node can answer its status and serve its files, and a
//! forged or altered job is refused. What a file holds is read when it is
//! fetched, as of the job's time, within the scope its caller has then
//! (a narrowed scope exports less, never more).

use crate::Casework;
use base64::Engine;
use chrono::{DateTime, Utc};
use tracedesk_vault::BlindKind;
use uuid::Uuid;

/// How long a job's files can be fetched.
pub const VALIDITY: chrono::Duration = chrono::Duration::hours(24);

/// user (16) + issued (8) + nonce (8) + types (1).
const PAYLOAD: usize = 33;
/// The MAC the vault gives.
const MAC: usize = 16;

/// The resource types a job exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportType {
    /// A de-identified person: an age band, no name, date of birth or
    /// address.
    Patient,
    /// A case: its status and dates.
    Condition,
}

impl ExportType {
    pub const ALL: [ExportType; 2] = [ExportType::Patient, ExportType::Condition];

    pub fn name(self) -> &'static str {
        match self {
            ExportType::Patient => "Patient",
            ExportType::Condition => "Condition",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    fn bit(self) -> u8 {
        match self {
            ExportType::Patient => 1,
            ExportType::Condition => 2,
        }
    }
}

/// One export job, as its token names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportJob {
    /// Who asked: only they may fetch it.
    pub user: Uuid,
    /// The job's time: records made after it are not in it.
    pub issued: DateTime<Utc>,
    nonce: [u8; 8],
    types: u8,
}

impl ExportJob {
    pub fn types(&self) -> Vec<ExportType> {
        ExportType::ALL
            .into_iter()
            .filter(|t| self.types & t.bit() != 0)
            .collect()
    }

    pub fn has(&self, t: ExportType) -> bool {
        self.types & t.bit() != 0
    }

    fn payload(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(PAYLOAD);
        b.extend_from_slice(self.user.as_bytes());
        b.extend_from_slice(&self.issued.timestamp().to_be_bytes());
        b.extend_from_slice(&self.nonce);
        b.push(self.types);
        b
    }
}

impl crate::services::Cases<'_> {
    fn job_mac(&self, payload: &[u8]) -> Vec<u8> {
        self.vault
            .blind(BlindKind::ExportJob, &hex::encode(payload))
    }

    /// A new job for `user` over `types` (none: every type), and its token.
    pub fn start_export(&self, user: Uuid, types: &[ExportType]) -> (ExportJob, String) {
        let types = if types.is_empty() {
            &ExportType::ALL[..]
        } else {
            types
        };
        let job = ExportJob {
            user,
            issued: DateTime::from_timestamp(self.now().timestamp(), 0).unwrap_or_default(),
            nonce: rand::random(),
            types: types.iter().fold(0, |b, t| b | t.bit()),
        };
        let mut bytes = job.payload();
        bytes.extend_from_slice(&self.job_mac(&bytes));
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        (job, token)
    }

    /// The job a token names, if its MAC holds and it has not expired;
    /// `None` for anything else.
    pub fn open_export(&self, token: &str) -> Option<ExportJob> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .filter(|b| b.len() == PAYLOAD + MAC)?;
        let (payload, mac) = bytes.split_at(PAYLOAD);
        let expected = self.job_mac(payload);
        // Constant time: a MAC is not found byte by byte.
        let diff = expected.iter().zip(mac).fold(0u8, |d, (a, b)| d | (a ^ b));
        if diff != 0 || expected.len() != mac.len() {
            return None;
        }
        let user = Uuid::from_slice(&payload[..16]).ok()?;
        let secs = i64::from_be_bytes(payload[16..24].try_into().ok()?);
        let issued = DateTime::from_timestamp(secs, 0)?;
        if self.now() - issued > VALIDITY {
            return None;
        }
        Some(ExportJob {
            user,
            issued,
            nonce: payload[24..32].try_into().ok()?,
            types: payload[32],
        })
    }

    /// The stand-in for record `id` in `job`'s files: the same within a
    /// job (a case's Condition names its Patient), different in every job,
    /// and not to be reversed without the vault's key.
    pub fn export_pseudonym(&self, job: &ExportJob, id: Uuid) -> String {
        let mut input = hex::encode(job.nonce);
        input.push_str(&id.simple().to_string());
        hex::encode(self.vault.blind(BlindKind::ExportPseudonym, &input))
    }
}

impl Casework {
    /// Whether record id `id` (time-ordered) was made by `at`.
    pub fn made_by(id: Uuid, at: DateTime<Utc>) -> bool {
        id.get_timestamp()
            .map(|t| {
                let (secs, _) = t.to_unix();
                i64::try_from(secs).unwrap_or(i64::MAX) <= at.timestamp()
            })
            .unwrap_or(true)
    }
}
