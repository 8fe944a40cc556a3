//! The acknowledgement a receiver sends for each message (original mode):
//! `AA` accepted, `AE` an error in its content, `AR` rejected outright
//! (a message type, version or processing mode this receiver does not
//! take, a message it cannot read, or the receiver unable to commit).
//! Each fault is an `ERR` segment naming where it is (`ERR-2`), its
//! HL7 code (`ERR-3`, table 0357), severity and a reason for people.

use crate::escape::encode;
use crate::message::{Message, ParseError};

/// Ordered by severity: the worse of two outcomes is their `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AckCode {
    Accept,
    Error,
    Reject,
}

impl AckCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "AA",
            Self::Error => "AE",
            Self::Reject => "AR",
        }
    }
}

/// HL7 table 0357, message error condition codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    SegmentSequence,
    RequiredFieldMissing,
    DataType,
    TableValueNotFound,
    UnsupportedMessageType,
    UnsupportedEvent,
    UnsupportedProcessingId,
    UnsupportedVersion,
    DuplicateKey,
    Internal,
}

impl ErrorCode {
    pub fn code(self) -> u16 {
        match self {
            Self::SegmentSequence => 100,
            Self::RequiredFieldMissing => 101,
            Self::DataType => 102,
            Self::TableValueNotFound => 103,
            Self::UnsupportedMessageType => 200,
            Self::UnsupportedEvent => 201,
            Self::UnsupportedProcessingId => 202,
            Self::UnsupportedVersion => 203,
            Self::DuplicateKey => 205,
            Self::Internal => 207,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::SegmentSequence => "Segment sequence error",
            Self::RequiredFieldMissing => "Required field missing",
            Self::DataType => "Data type error",
            Self::TableValueNotFound => "Table value not found",
            Self::UnsupportedMessageType => "Unsupported message type",
            Self::UnsupportedEvent => "Unsupported event code",
            Self::UnsupportedProcessingId => "Unsupported processing id",
            Self::UnsupportedVersion => "Unsupported version id",
            Self::DuplicateKey => "Duplicate key identifier",
            Self::Internal => "Application internal error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    Information,
}

impl Severity {
    fn as_str(self) -> &'static str {
        match self {
            Self::Error => "E",
            Self::Warning => "W",
            Self::Information => "I",
        }
    }
}

/// Where a fault is (`ERR-2`): segment, its sequence among segments of the
/// same name (from 1), field and component positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub segment: String,
    pub sequence: usize,
    pub field: Option<usize>,
    pub component: Option<usize>,
}

impl Location {
    pub fn field(segment: &str, sequence: usize, field: usize) -> Self {
        Self {
            segment: segment.into(),
            sequence,
            field: Some(field),
            component: None,
        }
    }

    pub fn component(segment: &str, sequence: usize, field: usize, component: usize) -> Self {
        Self {
            component: Some(component),
            ..Self::field(segment, sequence, field)
        }
    }

    /// `PID-5.2` style, for reports and logs.
    pub fn label(&self) -> String {
        let mut s = self.segment.clone();
        if self.sequence > 1 {
            s.push_str(&format!("[{}]", self.sequence));
        }
        if let Some(f) = self.field {
            s.push_str(&format!("-{f}"));
            if let Some(c) = self.component {
                s.push_str(&format!(".{c}"));
            }
        }
        s
    }
}

/// One `ERR` segment's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub location: Option<Location>,
    pub code: ErrorCode,
    pub severity: Severity,
    /// For people; never a value from the message.
    pub reason: String,
}

/// An acknowledgement to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub code: AckCode,
    pub faults: Vec<Fault>,
}

impl Ack {
    pub fn accept() -> Self {
        Self {
            code: AckCode::Accept,
            faults: Vec::new(),
        }
    }

    pub fn new(code: AckCode, faults: Vec<Fault>) -> Self {
        Self { code, faults }
    }

    /// One fault and the code it calls for.
    pub fn fault(
        code: AckCode,
        location: Option<Location>,
        error: ErrorCode,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(
            code,
            vec![Fault {
                location,
                code: error,
                severity: Severity::Error,
                reason: reason.into(),
            }],
        )
    }

    /// The `AR` for a message that could not be parsed.
    pub fn unreadable(e: &ParseError) -> Self {
        let location = e.segment.as_ref().map(|(s, n)| Location {
            segment: s.clone(),
            sequence: *n,
            field: e.field,
            component: None,
        });
        let code = if e.segment.is_none() && e.line.is_some() {
            ErrorCode::SegmentSequence
        } else {
            ErrorCode::DataType
        };
        Self::fault(AckCode::Reject, location, code, e.to_string())
    }

    /// The ACK message answering `original` (or a message that could not be
    /// read at all, when `None`): sender and receiver swapped, the
    /// original's control id in `MSA-2`, written with the original's
    /// delimiters and segments ended by carriage returns.
    pub fn render(&self, original: Option<&Message<'_>>, control_id: &str, now: &str) -> String {
        let d = original.map(|m| m.delimiters).unwrap_or_default();
        let f = d.field;
        let raw = |n: usize| original.map(|m| m.header().field(n).raw()).unwrap_or("");
        let trigger = original
            .map(|m| m.header().field(9).component(2).into_owned())
            .unwrap_or_default();
        let processing = match raw(11) {
            "" => "P",
            p => p,
        };
        let mut out = String::with_capacity(256);
        let c = d.component;
        out.push_str(&format!(
            "MSH{f}{enc}{f}{sa}{f}{sf}{f}{ra}{f}{rf}{f}{now}{f}{f}ACK{c}{trig}{c}ACK{f}{id}{f}{processing}{f}2.5.1\r",
            enc = d.encoding_characters(),
            sa = raw(5),
            sf = raw(6),
            ra = raw(3),
            rf = raw(4),
            trig = encode(&trigger, &d),
            id = encode(control_id, &d),
        ));
        out.push_str(&format!("MSA{f}{}{f}{}\r", self.code.as_str(), raw(10)));
        for fault in &self.faults {
            let loc = fault
                .location
                .as_ref()
                .map(|l| {
                    let mut s = format!("{}{c}{}", encode(&l.segment, &d), l.sequence);
                    if let Some(field) = l.field {
                        s.push_str(&format!("{c}{field}"));
                        if let Some(comp) = l.component {
                            s.push_str(&format!("{c}1{c}{comp}"));
                        }
                    }
                    s
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "ERR{f}{f}{loc}{f}{}{c}{}{c}HL70357{f}{}{f}{f}{f}{f}{}\r",
                fault.code.code(),
                encode(fault.code.text(), &d),
                fault.severity.as_str(),
                encode(&fault.reason, &d),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ack_answers_its_message() {
        let m = Message::parse(
            "MSH|^~\\&|LIS|Acme^05D0000000^CLIA|ELR|DOH|20200915||ORU^R01^ORU_R01|MSG9|T|2.5.1\r",
        )
        .unwrap();
        let ack = Ack::fault(
            AckCode::Error,
            Some(Location::component("PID", 1, 5, 1)),
            ErrorCode::RequiredFieldMissing,
            "last name: is required",
        )
        .render(Some(&m), "ACK1", "20200915120000");
        let a = Message::parse(&ack).unwrap();
        assert_eq!(a.kind(), ("ACK".into(), "R01".into()));
        assert_eq!(a.header().field(3).text(), "ELR");
        assert_eq!(a.header().field(5).text(), "LIS");
        assert_eq!(a.header().field(6).component(2), "05D0000000");
        assert_eq!(a.header().field(11).text(), "T");
        let msa = a.segment("MSA").unwrap();
        assert_eq!(msa.field(1).text(), "AE");
        assert_eq!(msa.field(2).text(), "MSG9");
        let err = a.segment("ERR").unwrap();
        assert_eq!(err.field(2).component(1), "PID");
        assert_eq!(err.field(2).component(3), "5");
        assert_eq!(err.field(2).component(5), "1");
        assert_eq!(err.field(3).component(1), "101");
        assert_eq!(err.field(4).text(), "E");
        assert_eq!(err.field(8).text(), "last name: is required");
    }

    #[test]
    fn an_unreadable_message_is_rejected() {
        let e = Message::parse("garbage").unwrap_err();
        let ack = Ack::unreadable(&e).render(None, "ACK2", "20200915120000");
        let a = Message::parse(&ack).unwrap();
        assert_eq!(a.segment("MSA").unwrap().field(1).text(), "AR");
        assert_eq!(a.segment("MSA").unwrap().field(2).text(), "");
    }
}
