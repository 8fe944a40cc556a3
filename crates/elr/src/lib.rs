//! Electronic lab reports: HL7 v2.5.1 ORU^R01 messages, as labs send them
//! over MLLP or in files, mapped to lab results and taken through the same
//! intake as the JSON API (validation, sealing, person matching, cases and
//! their interview tasks), each answered with an ACK once committed.
//!
//! - [`map`]: where each value of a lab result is read from;
//! - [`receive`]: one message in, one ACK out, dead letters, replay;
//! - [`listener`]: the MLLP listener `serve` runs (`[elr] mllp_listen`);
//! - [`files`]: `tracedesk import elr FILE|DIR`.

pub mod files;
pub mod listener;
pub mod map;
pub mod receive;

pub use receive::{Elr, Receipt, Source};
