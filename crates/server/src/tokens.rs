//! API bearer tokens: shown once at creation, stored only as a SHA-256 hash.
//! A token has 256 random bits, so a fast hash is enough (no guessing to slow).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use rand::RngCore;
use sha2::{Digest, Sha256};
use tracedesk_store::{Store, StoreResult, TokenRow};
use uuid::Uuid;

/// Every token starts with this, so leaked tokens are easy to scan for.
pub const PREFIX: &str = "tdk_";

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a token named `name` for `user` and returns its plaintext (shown once).
pub async fn create(store: &dyn Store, name: &str, user: Uuid) -> StoreResult<String> {
    let mut raw = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(raw));
    store
        .insert_token(&TokenRow {
            id: Uuid::now_v7(),
            name: name.to_string(),
            hash: hash(&token),
            created_at: Utc::now(),
            revoked_at: None,
            user_id: Some(user),
        })
        .await?;
    Ok(token)
}

/// The live (not revoked) token row `token` is, if any.
pub async fn authenticate(store: &dyn Store, token: &str) -> StoreResult<Option<TokenRow>> {
    if !token.starts_with(PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    Ok(store
        .token_by_hash(&hash(token))
        .await?
        .filter(|t| t.revoked_at.is_none()))
}
