//! Session and CSRF tokens, and the session lifetime rules.
//!
//! A session token is 256 random bits, held only by the browser (in an
//! HttpOnly cookie); the server stores its SHA-256 so a stolen database
//! cannot be replayed as a login. The CSRF token is derived from the
//! session token, so it needs no storage and dies with the session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Session limits: idle logoff and an absolute lifetime.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(15),
            absolute: Duration::hours(12),
        }
    }
}

impl SessionPolicy {
    /// True while a session created at `created` and last used at
    /// `last_seen` may still be used at `now`.
    pub fn is_live(
        &self,
        created: DateTime<Utc>,
        last_seen: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> bool {
        now - last_seen < self.idle && now - created < self.absolute
    }
}

/// A fresh 256-bit token, URL-safe base64.
pub fn new_token() -> String {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Every API token starts with this, so leaked tokens are easy to scan for.
pub const API_TOKEN_PREFIX: &str = "tdk_";

/// A fresh API token: the prefix and 256 random bits. Stored, like a session
/// token, only as its SHA-256 ([`token_hash`]); 256 random bits need no slow
/// hash, there is nothing to guess.
pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", new_token())
}

/// Whether `token` has an API token's shape (checked before any look-up).
pub fn looks_like_api_token(token: &str) -> bool {
    token.starts_with(API_TOKEN_PREFIX) && token.len() <= 100
}

/// What the store keeps of a session token.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The CSRF token that goes with a session (or pre-login) token.
pub fn csrf_for(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"tracedesk csrf v1\0");
    h.update(token.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Constant-time check of a submitted CSRF token against the session's.
pub fn csrf_ok(token: &str, submitted: &str) -> bool {
    bool::from(csrf_for(token).as_bytes().ct_eq(submitted.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_256_bits() {
        let a = new_token();
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 32);
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        let (a, b) = (new_token(), new_token());
        assert!(csrf_ok(&a, &csrf_for(&a)));
        assert!(!csrf_ok(&a, &csrf_for(&b)));
        assert!(!csrf_ok(&a, ""));
    }

    #[test]
    fn idle_and_absolute_limits() {
        let p = SessionPolicy::default();
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        assert!(p.is_live(t0, t0, t0 + Duration::minutes(14)));
        assert!(!p.is_live(t0, t0, t0 + Duration::minutes(15)));
        let busy = t0 + Duration::hours(12) - Duration::minutes(1);
        assert!(p.is_live(t0, busy, busy));
        assert!(!p.is_live(t0, busy, t0 + Duration::hours(12)));
    }
}
