//! Sign-in state: sessions, API tokens and failure counts, kept by the store
//! behind these methods so the HTTP layer and the CLI never hold the store.

use crate::{Casework, CaseworkError};
use chrono::{DateTime, Utc};
use tracedesk_identity::session;
use tracedesk_store::{Counts, SessionRow, TokenRow, UserRow};
use uuid::Uuid;

/// Who an API token signs in, as far as the token itself says.
#[derive(Debug)]
pub enum TokenHolder {
    /// Unknown, malformed or revoked.
    None,
    /// A token made before tokens belonged to users.
    NoUser,
    /// Its user, if the account still exists.
    User(Option<Box<UserRow>>),
}

impl crate::services::Staff<'_> {
    /// A staff account by id.
    pub async fn user(&self, id: Uuid) -> Result<Option<UserRow>, CaseworkError> {
        Ok(self.store.get_user(id).await?)
    }

    /// Creates an API token named `name` for `user`; returns its plaintext,
    /// shown once (only its hash is kept).
    pub async fn create_token(&self, name: &str, user: Uuid) -> Result<String, CaseworkError> {
        let token = session::new_api_token();
        self.store
            .insert_token(&TokenRow {
                id: Uuid::now_v7(),
                name: name.to_string(),
                hash: session::token_hash(&token),
                created_at: self.now(),
                revoked_at: None,
                user_id: Some(user),
            })
            .await?;
        Ok(token)
    }

    /// Revokes every live token named `name`; returns how many.
    pub async fn revoke_tokens(&self, name: &str) -> Result<u64, CaseworkError> {
        Ok(self.store.revoke_token(name).await?)
    }

    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>, CaseworkError> {
        Ok(self.store.list_tokens().await?)
    }

    /// The holder of a live API token.
    pub async fn token_holder(&self, token: &str) -> Result<TokenHolder, CaseworkError> {
        if !session::looks_like_api_token(token) {
            return Ok(TokenHolder::None);
        }
        let row = self
            .store
            .token_by_hash(&session::token_hash(token))
            .await?
            .filter(|t| t.revoked_at.is_none());
        Ok(match row {
            None => TokenHolder::None,
            Some(TokenRow { user_id: None, .. }) => TokenHolder::NoUser,
            Some(TokenRow {
                user_id: Some(u), ..
            }) => TokenHolder::User(self.store.get_user(u).await?.map(Box::new)),
        })
    }

    /// Starts a session with a fresh token (never one a client brought:
    /// that would allow session fixation); returns the token.
    pub async fn start_session(&self, user: Uuid, mfa_done: bool) -> Result<String, CaseworkError> {
        let token = session::new_token();
        let now = self.now();
        self.store
            .insert_session(&SessionRow {
                hash: session::token_hash(&token),
                user_id: user,
                created_at: now,
                last_seen_at: now,
                mfa_done,
            })
            .await?;
        Ok(token)
    }

    /// The session a token names, if any.
    pub async fn session(&self, token: &str) -> Result<Option<SessionRow>, CaseworkError> {
        Ok(self.store.session(&session::token_hash(token)).await?)
    }

    pub async fn touch_session(&self, token: &str, at: DateTime<Utc>) -> Result<(), CaseworkError> {
        Ok(self
            .store
            .touch_session(&session::token_hash(token), at)
            .await?)
    }

    pub async fn end_session(&self, token: &str) -> Result<(), CaseworkError> {
        Ok(self
            .store
            .delete_session(&session::token_hash(token))
            .await?)
    }

    /// Ends every session of a user (sign out everywhere, password change).
    pub async fn end_sessions_of(&self, user: Uuid) -> Result<u64, CaseworkError> {
        Ok(self.store.delete_user_sessions(user).await?)
    }

    /// Failures and the last failure time of a client address.
    pub async fn client_failures(
        &self,
        client: &str,
    ) -> Result<Option<(i32, DateTime<Utc>)>, CaseworkError> {
        Ok(self.store.client_failures(client).await?)
    }

    /// Counts a failed step of `user`'s sign-in, locking the account at
    /// `lock_at`; returns the count.
    pub async fn record_login_failure(
        &self,
        user: Uuid,
        at: DateTime<Utc>,
        lock_at: i32,
    ) -> Result<i32, CaseworkError> {
        Ok(self.store.record_login_failure(user, at, lock_at).await?)
    }

    pub async fn clear_login_failures(&self, user: Uuid) -> Result<(), CaseworkError> {
        Ok(self.store.clear_login_failures(user).await?)
    }

    pub async fn record_client_failure(
        &self,
        client: &str,
        at: DateTime<Utc>,
    ) -> Result<i32, CaseworkError> {
        Ok(self.store.record_client_failure(client, at).await?)
    }

    pub async fn clear_client_failures(&self, client: &str) -> Result<(), CaseworkError> {
        Ok(self.store.clear_client_failures(client).await?)
    }
}

impl Casework {
    /// Whether the database answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), CaseworkError> {
        Ok(self.store.ping().await?)
    }

    /// Records per table (the CLI's status and the demo; never served).
    pub async fn counts(&self) -> Result<Counts, CaseworkError> {
        Ok(self.store.counts().await?)
    }

    /// The URL of the node leading routing, if any.
    pub async fn routing_leader(&self) -> Result<Option<String>, CaseworkError> {
        Ok(self.store.routing_leader().await?)
    }
}
