//! Lab reports that could not be recorded, kept sealed until an operator
//! replays them (`tracedesk elr dead-letters`, `tracedesk elr replay`).
//! The message is personal data and is sealed like any other; the reason
//! and the acknowledgement code name segments and fields only.

use crate::CaseworkError;
use chrono::{DateTime, Utc};
use tracedesk_store::{DeadLetterRow, schema};
use tracedesk_vault::FieldContext;
use uuid::Uuid;

/// A dead letter as an operator lists it (no message text).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub id: Uuid,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub ack_code: String,
    pub reason: String,
    pub replayed_at: Option<DateTime<Utc>>,
    pub replay_code: Option<String>,
}

impl From<&DeadLetterRow> for DeadLetter {
    fn from(r: &DeadLetterRow) -> Self {
        Self {
            id: r.id,
            received_at: r.received_at,
            source: r.source.clone(),
            ack_code: r.ack_code.clone(),
            reason: r.reason.clone(),
            replayed_at: r.replayed_at,
            replay_code: r.replay_code.clone(),
        }
    }
}

fn context(id: Uuid) -> FieldContext<'static> {
    FieldContext::new(schema::DEAD_LETTERS.name, "message", id)
}

impl crate::services::Cases<'_> {
    /// Keeps `message` (sealed) with the code it was answered with and why.
    pub async fn keep_dead_letter(
        &self,
        source: &str,
        ack_code: &str,
        reason: &str,
        message: &str,
    ) -> Result<Uuid, CaseworkError> {
        let id = Uuid::now_v7();
        let row = DeadLetterRow {
            id,
            received_at: self.now(),
            source: source.into(),
            ack_code: ack_code.into(),
            reason: reason.into(),
            key_version: self.vault.current_version(),
            message: self.vault.seal_str(&context(id), message),
            replayed_at: None,
            replay_code: None,
        };
        self.store.add_dead_letter(&row).await?;
        Ok(id)
    }

    /// Dead letters after `after` (oldest first), replayed ones included
    /// when `replayed`.
    pub async fn dead_letters(
        &self,
        replayed: bool,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<DeadLetter>, CaseworkError> {
        Ok(self
            .store
            .dead_letters(replayed, after, limit)
            .await?
            .iter()
            .map(DeadLetter::from)
            .collect())
    }

    /// A dead letter and its message, opened.
    pub async fn open_dead_letter(&self, id: Uuid) -> Result<(DeadLetter, String), CaseworkError> {
        let row = self
            .store
            .get_dead_letter(id)
            .await?
            .ok_or(CaseworkError::NotFound("dead letter"))?;
        let text = self.vault.open_string(&context(id), &row.message)?;
        Ok((DeadLetter::from(&row), text))
    }

    /// Records that a dead letter was replayed and how it was answered.
    pub async fn dead_letter_replayed(&self, id: Uuid, code: &str) -> Result<(), CaseworkError> {
        match self
            .store
            .mark_dead_letter_replayed(id, self.now(), code)
            .await
        {
            Err(tracedesk_store::StoreError::NotFound) => {
                Err(CaseworkError::NotFound("dead letter"))
            }
            other => Ok(other?),
        }
    }
}
