//! HL7 version 2 as labs send it: pipe-delimited messages (`MSH|^~\&|…`),
//! batch files (`FHS`/`BHS` … `BTS`/`FTS`), escape sequences, the `ACK`
//! that answers each message, and MLLP, the framing a TCP feed wraps them
//! in.
//!
//! The parser borrows the message text and splits lazily: a message is cut
//! into segments and fields once, and components, repetitions and
//! subcomponents are found only when a field is read. Nothing here knows
//! what a lab result is (that is `tracedesk-elr`), and nothing here does
//! I/O, so every function can be fuzzed over arbitrary bytes.
//!
//! Error messages name a segment, a field position and a reason, never a
//! value from the message: a message carries personal data.

mod ack;
mod batch;
mod escape;
mod message;
pub mod mllp;
mod time;

pub use ack::{Ack, AckCode, ErrorCode, Fault, Location, Severity};
pub use batch::{Batch, split_batch};
pub use escape::{decode, encode};
pub use message::{Delimiters, Field, Message, ParseError, Segment};
pub use time::{TsError, date_of};

#[cfg(test)]
mod fuzz;
