//! Who staff are and what they may touch, as rules without I/O.
//!
//! Password policy and hashing, TOTP, session and CSRF tokens, login
//! throttling, the jurisdiction tree and the minimum-necessary access
//! decision live here so they can be tested exhaustively on their own; the
//! store keeps the rows and the server applies the decisions.

pub mod access;
pub mod jurisdiction;
pub mod password;
mod role;
pub mod session;
pub mod throttle;
pub mod totp;

pub use access::{AccessFacts, Decision, Principal};
pub use jurisdiction::Jurisdictions;
pub use role::Role;
