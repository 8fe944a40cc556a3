//! One message in, one acknowledgement out. A message is acknowledged
//! `AA` only once its results are committed and audited; a message that
//! is refused is kept as a dead letter first, and if even that cannot be
//! written the answer is `AR` 207, so the sender keeps the message and
//! sends it again. A resent message that was already recorded is
//! recognised by its accession and acknowledged again, not recorded twice.

use crate::map::{Mapped, map_oru};
use tracedesk_casework::{Casework, ItemError, LabOutcomeView};
use tracedesk_hl7::{Ack, AckCode, ErrorCode, Fault, Message, Severity};
use uuid::Uuid;

/// Who sent it, for the dead letter and the audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Mllp,
    File,
    Replay,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mllp => "mllp",
            Self::File => "file",
            Self::Replay => "replay",
        }
    }
}

/// What became of one message.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The ACK message to send back.
    pub ack: String,
    pub code: AckCode,
    /// The message's own control id (`MSH-10`), when it could be read.
    pub control_id: Option<String>,
    pub recorded: usize,
    pub duplicates: usize,
    pub cases_created: usize,
    /// Where each fault is and why (`PID-7: …`), no values.
    pub faults: Vec<String>,
    pub dead_letter: Option<Uuid>,
}

/// Takes lab reports into case work.
#[derive(Clone)]
pub struct Elr {
    cw: Casework,
    /// The jurisdiction results are recorded in (the configured default
    /// when `None`).
    jurisdiction: Option<String>,
    /// Numbers this node's ACKs (their `MSH-10`).
    counter: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The message's bytes as text: UTF-8, or else ISO 8859-1 (`MSH-18`'s
/// usual other choice), where every byte is a character.
pub fn text_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
    }
}

impl Elr {
    pub fn new(cw: Casework, jurisdiction: Option<String>) -> Self {
        Self {
            cw,
            jurisdiction,
            counter: Default::default(),
        }
    }

    fn control_id(&self) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("TD{}{n:06}", chrono::Utc::now().format("%Y%m%d%H%M%S"))
    }

    /// Receives one message: parsed once, mapped, recorded and audited,
    /// kept as a dead letter when refused, answered.
    pub async fn receive(&self, bytes: &[u8], source: Source) -> Receipt {
        let text = text_of(bytes);
        let parsed = Message::parse(&text);
        let mut receipt = Receipt {
            ack: String::new(),
            code: AckCode::Accept,
            control_id: None,
            recorded: 0,
            duplicates: 0,
            cases_created: 0,
            faults: Vec::new(),
            dead_letter: None,
        };
        let mut ack = match &parsed {
            Err(e) => Ack::unreadable(e),
            Ok(m) => {
                receipt.control_id = Some(m.control_id().into_owned()).filter(|c| !c.is_empty());
                match map_oru(m, self.jurisdiction.as_deref()) {
                    Err(ack) => ack,
                    Ok(mapped) => self.record(&mapped, &mut receipt).await,
                }
            }
        };
        receipt.code = ack.code;
        receipt.faults.extend(ack.faults.iter().map(describe));
        // A replayed letter is kept already; its outcome goes on it.
        if receipt.code != AckCode::Accept && source != Source::Replay {
            let reason = receipt.faults.join("; ");
            match self
                .cw
                .cases()
                .keep_dead_letter(source.as_str(), receipt.code.as_str(), &reason, &text)
                .await
            {
                Ok(id) => receipt.dead_letter = Some(id),
                Err(e) => {
                    tracing::error!(error = %e, "a refused lab report could not be kept; answering AR so the sender keeps it");
                    ack = Ack::fault(
                        AckCode::Reject,
                        None,
                        ErrorCode::Internal,
                        "the receiver could not store the message; send it again later",
                    );
                    receipt.code = AckCode::Reject;
                }
            }
        }
        let now = chrono::Utc::now().format("%Y%m%d%H%M%S").to_string();
        receipt.ack = ack.render(parsed.as_ref().ok(), &self.control_id(), &now);
        receipt
    }

    /// Records the mapped results; the ACK their outcomes call for.
    async fn record(&self, mapped: &[Mapped], receipt: &mut Receipt) -> Ack {
        let inputs: Vec<_> = mapped.iter().map(|m| m.input.clone()).collect();
        // Audited before it acts: one entry for the report, then one per
        // result recorded (naming its person) once they are committed.
        if let Some(a) = self.cw.auditor()
            && let Err(e) = a
                .record(vec![tracedesk_casework::auditor::draft(
                    "elr",
                    tracedesk_store::audit::Action::PhiWrite,
                    "lab_report",
                    None,
                    None,
                    &format!("elr intake: {} result(s)", inputs.len()),
                )])
                .await
        {
            tracing::error!(error = %e, "a lab report could not be audited; answering AR");
            return Ack::fault(
                AckCode::Reject,
                None,
                ErrorCode::Internal,
                "the receiver could not write its audit record; send the message again",
            );
        }
        let cases = self.cw.cases();
        let outcomes = cases.ingest_lab_results(&inputs).await;
        let mut faults = Vec::new();
        let mut code = AckCode::Accept;
        for (o, m) in outcomes.iter().zip(mapped) {
            match &o.error {
                None if o.status == "duplicate" => receipt.duplicates += 1,
                None => {
                    receipt.recorded += 1;
                    receipt.cases_created += usize::from(o.case_created);
                }
                Some(e) => {
                    let (fault, c) = fault_of(e, m);
                    faults.push(fault);
                    code = code.max(c);
                }
            }
        }
        if let Err(e) = audit(&self.cw, &outcomes).await {
            tracing::error!(error = %e, "recorded lab results could not be audited; answering AR");
            return Ack::fault(
                AckCode::Reject,
                None,
                ErrorCode::Internal,
                "the receiver could not complete the audit record; send the message again",
            );
        }
        Ack::new(code, faults)
    }

    /// Replays a dead letter: received again as it was, its outcome
    /// recorded on the letter.
    pub async fn replay(&self, id: Uuid) -> Result<Receipt, tracedesk_casework::CaseworkError> {
        let (_, text) = self.cw.cases().open_dead_letter(id).await?;
        let receipt = self.receive(text.as_bytes(), Source::Replay).await;
        self.cw
            .cases()
            .dead_letter_replayed(id, receipt.code.as_str())
            .await?;
        Ok(receipt)
    }
}

/// One entry per recorded result, so each person's disclosure record
/// shows the lab report.
async fn audit(cw: &Casework, outcomes: &[LabOutcomeView]) -> Result<(), String> {
    let Some(a) = cw.auditor() else {
        return Ok(());
    };
    a.record(LabOutcomeView::audit_drafts(outcomes, "elr", "elr intake"))
        .await
        .map_err(|e| e.to_string())
}

/// The ACK fault for a result intake refused, at the place its field came
/// from, and the code it calls for.
fn fault_of(e: &ItemError, m: &Mapped) -> (Fault, AckCode) {
    let location = Some(m.source(e.field.as_deref().unwrap_or("")));
    let (code, severity, ack) = match e.code {
        "invalid_field" if e.message.contains("is required") => (
            ErrorCode::RequiredFieldMissing,
            Severity::Error,
            AckCode::Error,
        ),
        "invalid_field" => (ErrorCode::DataType, Severity::Error, AckCode::Error),
        // A resent accession with another result is kept for review.
        "conflict" => (ErrorCode::DuplicateKey, Severity::Warning, AckCode::Accept),
        _ => (ErrorCode::Internal, Severity::Error, AckCode::Reject),
    };
    (
        Fault {
            location,
            code,
            severity,
            reason: e.message.clone(),
        },
        ack,
    )
}

fn describe(f: &Fault) -> String {
    match &f.location {
        Some(l) => format!("{}: {}", l.label(), f.reason),
        None => f.reason.clone(),
    }
}
