//! Staff accounts, teams, jurisdictions, logins and break-glass, over the
//! store. Usernames, names, TOTP secrets and break-glass reasons are sealed
//! like PHI; the rules themselves live in `tracedesk-identity`.

use crate::CaseworkError;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use tracedesk_identity::access::{self, Capability};
use tracedesk_identity::session::SessionPolicy;
use tracedesk_identity::throttle::ThrottlePolicy;
use tracedesk_identity::totp::Secret;
use tracedesk_identity::{AccessFacts, Decision, Principal, Role, jurisdiction, password};
use tracedesk_store::{BreakGlassRow, JurisdictionRow, TeamRow, UserRow, schema};
use tracedesk_vault::{BlindKind, FieldContext};
use uuid::Uuid;

/// How long a break-glass grant lasts.
pub const BREAK_GLASS_HOURS: i64 = 1;

/// Login and session rules from configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuthPolicy {
    pub session: SessionPolicy,
    pub throttle: ThrottlePolicy,
}

/// A user as lists and admin commands show them (opened, never the hash or secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub jurisdiction: String,
    pub mfa_required: bool,
    pub mfa_enrolled: bool,
    pub must_change_password: bool,
    pub locked: bool,
    pub disabled: bool,
    pub phi_granted: bool,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub jurisdiction: String,
    /// `None`: a random temporary password is generated and must be changed
    /// at first login.
    pub password: Option<String>,
    pub mfa_required: bool,
}

impl NewUser {
    /// An account as `user add` makes one by default: a temporary password
    /// to change at first sign-in, and a second factor required.
    pub fn new(username: &str, display_name: &str, role: Role, jurisdiction: &str) -> Self {
        Self {
            username: username.into(),
            display_name: display_name.into(),
            role,
            jurisdiction: jurisdiction.into(),
            password: None,
            mfa_required: true,
        }
    }

    /// With this password (already chosen, not temporary).
    pub fn with_password(self, password: &str) -> Self {
        Self {
            password: Some(password.into()),
            ..self
        }
    }

    /// Whether the account must set up a second factor.
    pub fn mfa(self, required: bool) -> Self {
        Self {
            mfa_required: required,
            ..self
        }
    }
}

/// Usernames: 3–64 characters of letters, digits, `.`, `-`, `_`, `@`;
/// compared without case.
pub fn normalize_username(u: &str) -> Result<String, CaseworkError> {
    let u = u.trim().to_lowercase();
    let ok = (3..=64).contains(&u.chars().count())
        && u.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(u)
    } else {
        Err(CaseworkError::invalid(
            "username",
            "must be 3 to 64 letters, digits, '.', '-', '_' or '@'",
        ))
    }
}

/// A random temporary password (20 characters, ~119 bits).
fn temporary_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rngs::OsRng;
    (0..20)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

fn ctx(column: &str, id: Uuid) -> FieldContext<'_> {
    FieldContext::new(schema::USERS.name, column, id)
}

impl crate::services::Staff<'_> {
    fn open_user_field(
        &self,
        column: &str,
        id: Uuid,
        sealed: &[u8],
    ) -> Result<String, CaseworkError> {
        Ok(self.vault.open_string(&ctx(column, id), sealed)?)
    }

    pub fn user_view(&self, u: &UserRow) -> Result<UserView, CaseworkError> {
        Ok(UserView {
            id: u.id,
            username: self.open_user_field("username", u.id, &u.username)?,
            display_name: self.open_user_field("display_name", u.id, &u.display_name)?,
            role: u.role.clone(),
            jurisdiction: u.jurisdiction.clone(),
            mfa_required: u.mfa_required,
            mfa_enrolled: u.totp_confirmed,
            must_change_password: u.must_change_password,
            locked: u.locked_at.is_some(),
            disabled: u.disabled_at.is_some(),
            phi_granted: u.phi_granted,
        })
    }

    /// Hashes on a blocking thread: argon2id takes tens of milliseconds.
    async fn hash_password(&self, pw: String) -> Result<String, CaseworkError> {
        tokio::task::spawn_blocking(move || password::hash(&pw))
            .await
            .map_err(|_| CaseworkError::Internal("password hashing was interrupted".into()))?
            .map_err(|_| CaseworkError::Internal("password hashing failed".into()))
    }

    /// Checks `pw` against the policy for this user.
    fn check_password(
        pw: &str,
        username: &str,
        display_name: &str,
        has_mfa: bool,
    ) -> Result<(), CaseworkError> {
        password::check(pw, &[username, display_name], has_mfa)
            .map_err(|p| CaseworkError::invalid("password", &p.to_string()))
    }

    /// Creates an account; returns it and the temporary password if one was generated.
    pub async fn add_user(&self, n: NewUser) -> Result<(UserView, Option<String>), CaseworkError> {
        let username = normalize_username(&n.username)?;
        let display_name = n.display_name.trim().to_string();
        if display_name.is_empty() || display_name.chars().count() > 100 {
            return Err(CaseworkError::invalid(
                "display_name",
                "must be 1 to 100 characters",
            ));
        }
        self.refresh_jurisdictions().await?;
        if !self.jurisdictions().contains(&n.jurisdiction) {
            return Err(CaseworkError::invalid(
                "jurisdiction",
                "is not a known jurisdiction",
            ));
        }
        let bidx = self.vault.blind(BlindKind::Username, &username);
        if self.store.user_by_username(&bidx).await?.is_some() {
            return Err(CaseworkError::Conflict(
                "a user with this username exists".into(),
            ));
        }
        let (pw, temp) = match n.password {
            Some(p) => {
                Self::check_password(&p, &username, &display_name, n.mfa_required)?;
                (p, None)
            }
            None => {
                let t = temporary_password();
                (t.clone(), Some(t))
            }
        };
        let id = Uuid::now_v7();
        let now = self.now();
        let row = UserRow {
            id,
            username: self.vault.seal_str(&ctx("username", id), &username),
            username_bidx: bidx,
            display_name: self.vault.seal_str(&ctx("display_name", id), &display_name),
            role: n.role.as_str().into(),
            jurisdiction: n.jurisdiction,
            password_hash: self.hash_password(pw).await?,
            must_change_password: temp.is_some(),
            mfa_required: n.mfa_required && n.role.is_staff(),
            totp_secret: None,
            totp_confirmed: false,
            totp_last_step: None,
            failed_logins: 0,
            last_failed_at: None,
            locked_at: None,
            disabled_at: None,
            key_version: self.vault.current_version(),
            created_at: now,
            updated_at: now,
            phi_granted: false,
        };
        self.store.insert_user(&row).await?;
        Ok((self.user_view(&row)?, temp))
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, CaseworkError> {
        let Ok(u) = normalize_username(username) else {
            return Ok(None);
        };
        Ok(self
            .store
            .user_by_username(&self.vault.blind(BlindKind::Username, &u))
            .await?)
    }

    /// The sign-in throttle's key for a name that belongs to no account: a
    /// keyed hash, so the throttle table never holds what was typed.
    pub fn username_throttle_key(&self, username: &str) -> String {
        let u = normalize_username(username).unwrap_or_else(|_| username.trim().to_lowercase());
        format!(
            "name:{}",
            hex::encode(self.vault.blind(BlindKind::Username, &u))
        )
    }

    /// The account named `username`, or a not-found error.
    pub async fn require_user(&self, username: &str) -> Result<UserRow, CaseworkError> {
        self.user_by_username(username)
            .await?
            .ok_or(CaseworkError::NotFound("user"))
    }

    pub async fn list_users(&self) -> Result<Vec<UserView>, CaseworkError> {
        self.store
            .list_users()
            .await?
            .iter()
            .map(|u| self.user_view(u))
            .collect()
    }

    async fn save_user(&self, mut u: UserRow) -> Result<UserRow, CaseworkError> {
        u.updated_at = self.now();
        self.store.update_user(&u).await?;
        Ok(u)
    }

    /// Disables an account and ends its sessions; its API tokens stop working.
    pub async fn disable_user(&self, username: &str) -> Result<UserRow, CaseworkError> {
        let mut u = self.require_user(username).await?;
        u.disabled_at.get_or_insert(self.now());
        let u = self.save_user(u).await?;
        self.store.delete_user_sessions(u.id).await?;
        Ok(u)
    }

    pub async fn enable_user(&self, username: &str) -> Result<UserRow, CaseworkError> {
        let mut u = self.require_user(username).await?;
        u.disabled_at = None;
        self.save_user(u).await
    }

    /// Grants (or withdraws) PHI access within the user's jurisdictions,
    /// beyond their role (for analysts who need more than the line list).
    pub async fn set_phi_grant(
        &self,
        username: &str,
        granted: bool,
    ) -> Result<UserRow, CaseworkError> {
        let mut u = self.require_user(username).await?;
        if Role::parse(&u.role) == Some(Role::Integration) {
            return Err(CaseworkError::invalid(
                "username",
                "integration accounts never read records",
            ));
        }
        u.phi_granted = granted;
        self.save_user(u).await
    }

    /// Lifts a lockout and forgets the failures.
    pub async fn unlock_user(&self, username: &str) -> Result<UserRow, CaseworkError> {
        let mut u = self.require_user(username).await?;
        u.locked_at = None;
        u.failed_logins = 0;
        u.last_failed_at = None;
        self.save_user(u).await
    }

    /// Sets a temporary password that must be changed at next login, ends
    /// the user's sessions, and returns the temporary password.
    pub async fn reset_password(&self, username: &str) -> Result<(UserRow, String), CaseworkError> {
        let mut u = self.require_user(username).await?;
        let temp = temporary_password();
        u.password_hash = self.hash_password(temp.clone()).await?;
        u.must_change_password = true;
        let u = self.save_user(u).await?;
        self.store.delete_user_sessions(u.id).await?;
        Ok((u, temp))
    }

    /// Forgets the second factor; the user enrols again at next login.
    pub async fn reset_mfa(&self, username: &str) -> Result<UserRow, CaseworkError> {
        let mut u = self.require_user(username).await?;
        u.totp_secret = None;
        u.totp_confirmed = false;
        u.totp_last_step = None;
        let u = self.save_user(u).await?;
        self.store.delete_user_sessions(u.id).await?;
        Ok(u)
    }

    /// Changes a user's password after checking it against the policy.
    pub async fn set_password(&self, user: &UserRow, new: &str) -> Result<UserRow, CaseworkError> {
        let v = self.user_view(user)?;
        Self::check_password(
            new,
            &v.username,
            &v.display_name,
            user.mfa_required || user.totp_confirmed,
        )?;
        if password::verify(&user.password_hash, new) {
            return Err(CaseworkError::invalid(
                "password",
                "must differ from the current password",
            ));
        }
        let mut u = user.clone();
        u.password_hash = self.hash_password(new.to_string()).await?;
        u.must_change_password = false;
        self.save_user(u).await
    }

    /// Verifies a password on a blocking thread.
    pub async fn verify_password(&self, user: Option<&UserRow>, pw: &str) -> bool {
        let hash = user.map(|u| u.password_hash.clone());
        let pw = pw.to_string();
        tokio::task::spawn_blocking(move || match hash {
            Some(h) => password::verify(&h, &pw),
            None => {
                password::burn_verify_time(&pw);
                false
            }
        })
        .await
        .unwrap_or(false)
    }

    /// Starts TOTP enrolment: stores a new, unconfirmed secret and returns it.
    pub async fn begin_totp(&self, user: &UserRow) -> Result<(UserRow, Secret), CaseworkError> {
        if user.totp_confirmed {
            return Err(CaseworkError::Conflict(
                "a second factor is already enrolled; an administrator can reset it".into(),
            ));
        }
        let secret = Secret::generate();
        let mut u = user.clone();
        u.totp_secret = Some(
            self.vault
                .seal(&ctx("totp_secret", u.id), secret.as_bytes()),
        );
        Ok((self.save_user(u).await?, secret))
    }

    /// The user's TOTP secret, opened.
    pub fn totp_secret(&self, user: &UserRow) -> Result<Option<Secret>, CaseworkError> {
        user.totp_secret
            .as_ref()
            .map(|s| {
                Ok(Secret::from_bytes(
                    self.vault.open(&ctx("totp_secret", user.id), s)?,
                ))
            })
            .transpose()
    }

    /// Checks a TOTP code; on success records its step (so it cannot be
    /// replayed) and, during enrolment, confirms the secret.
    pub async fn check_totp(
        &self,
        user: &UserRow,
        code: &str,
    ) -> Result<Option<UserRow>, CaseworkError> {
        let Some(secret) = self.totp_secret(user)? else {
            return Ok(None);
        };
        let Some(step) = secret.verify(code, self.now().timestamp(), user.totp_last_step) else {
            return Ok(None);
        };
        let mut u = user.clone();
        u.totp_last_step = Some(step);
        u.totp_confirmed = true;
        Ok(Some(self.save_user(u).await?))
    }

    // --- jurisdictions and teams ---

    pub async fn add_jurisdiction(
        &self,
        code: &str,
        name: &str,
        parent: Option<&str>,
    ) -> Result<(), CaseworkError> {
        if !jurisdiction::valid_code(code) {
            return Err(CaseworkError::invalid(
                "code",
                "must be lower-case letters, digits, '-' or '_' (at most 40)",
            ));
        }
        self.refresh_jurisdictions().await?;
        let parent = parent.unwrap_or(jurisdiction::ROOT);
        if code == jurisdiction::ROOT {
            return Err(CaseworkError::invalid("code", "root exists already"));
        }
        if !self.jurisdictions().contains(parent) {
            return Err(CaseworkError::invalid(
                "parent",
                "is not a known jurisdiction",
            ));
        }
        if self.jurisdictions().within(parent, code) {
            return Err(CaseworkError::invalid("parent", "would make a cycle"));
        }
        self.store
            .upsert_jurisdiction(&JurisdictionRow {
                code: code.into(),
                name: name.trim().into(),
                parent: Some(parent.into()),
            })
            .await?;
        self.refresh_jurisdictions().await
    }

    pub async fn add_team(&self, name: &str, jurisdiction: &str) -> Result<TeamRow, CaseworkError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(CaseworkError::invalid(
                "name",
                "must be 1 to 100 characters",
            ));
        }
        self.refresh_jurisdictions().await?;
        if !self.jurisdictions().contains(jurisdiction) {
            return Err(CaseworkError::invalid(
                "jurisdiction",
                "is not a known jurisdiction",
            ));
        }
        let team = TeamRow {
            id: Uuid::now_v7(),
            name: name.into(),
            jurisdiction: jurisdiction.into(),
            created_at: self.now(),
        };
        self.store.insert_team(&team).await?;
        Ok(team)
    }

    pub async fn team_by_name(&self, name: &str) -> Result<TeamRow, CaseworkError> {
        self.store
            .list_teams()
            .await?
            .into_iter()
            .find(|t| t.name == name.trim())
            .ok_or(CaseworkError::NotFound("team"))
    }

    /// Adds (`member`) or removes `user` from `team`.
    pub async fn set_team_member(
        &self,
        team: Uuid,
        user: Uuid,
        member: bool,
    ) -> Result<(), CaseworkError> {
        Ok(self.store.set_team_member(team, user, member).await?)
    }

    /// Every team with its members' ids.
    pub async fn teams(&self) -> Result<Vec<(TeamRow, Vec<Uuid>)>, CaseworkError> {
        let members = self.store.team_memberships().await?;
        Ok(self
            .store
            .list_teams()
            .await?
            .into_iter()
            .map(|t| {
                let ids = members
                    .iter()
                    .filter(|(team, _)| *team == t.id)
                    .map(|(_, u)| *u)
                    .collect();
                (t, ids)
            })
            .collect())
    }

    /// The jurisdiction tree's rows, by code.
    pub async fn jurisdiction_rows(
        &self,
    ) -> Result<Vec<tracedesk_store::JurisdictionRow>, CaseworkError> {
        Ok(self.store.list_jurisdictions().await?)
    }

    // --- access ---

    /// The user as access decisions see them.
    pub async fn principal(&self, user: &UserRow) -> Result<Principal, CaseworkError> {
        let role = Role::parse(&user.role)
            .ok_or_else(|| CaseworkError::Internal("an account has an unknown role".into()))?;
        let mut tree = self.jurisdictions();
        if !tree.contains(&user.jurisdiction) {
            self.refresh_jurisdictions().await?;
            tree = self.jurisdictions();
        }
        let team_members = if role == Role::Supervisor {
            self.store.teammates(user.id).await?
        } else {
            Vec::new()
        };
        Ok(Principal {
            user_id: user.id,
            role,
            scope: tree.subtree(&user.jurisdiction),
            team_members,
            phi_granted: user.phi_granted,
        })
    }

    /// May `p` touch `person`'s PHI now?
    pub async fn decide(&self, p: &Principal, person: Uuid) -> Result<Decision, CaseworkError> {
        if !access::can(p.role, Capability::WorkRecords)
            && !access::can(p.role, Capability::BreakGlass)
        {
            return Ok(Decision::Deny);
        }
        let facts = self.access_facts(p, person).await?;
        // `decide` entitles analysts and admins only through a PHI grant.
        Ok(access::decide(p, &facts, self.now()))
    }

    /// May `p` touch what `jurisdiction` holds about `person` (a case, a
    /// contact record, that jurisdiction's facet)?
    pub async fn decide_in(
        &self,
        p: &Principal,
        person: Uuid,
        jurisdiction: &str,
    ) -> Result<Decision, CaseworkError> {
        if !access::can(p.role, Capability::WorkRecords)
            && !access::can(p.role, Capability::BreakGlass)
        {
            return Ok(Decision::Deny);
        }
        let facts = self.access_facts(p, person).await?;
        Ok(access::decide_in(p, &facts, jurisdiction, self.now()))
    }

    /// [`Casework::decide`] together with the jurisdictions in which `p` is
    /// entitled to `person`'s records (what a person view may show), from
    /// one gathering of the facts.
    pub async fn decide_with_entitlement(
        &self,
        p: &Principal,
        person: Uuid,
    ) -> Result<(Decision, Vec<String>), CaseworkError> {
        if !access::can(p.role, Capability::WorkRecords)
            && !access::can(p.role, Capability::BreakGlass)
        {
            return Ok((Decision::Deny, Vec::new()));
        }
        let facts = self.access_facts(p, person).await?;
        Ok((
            access::decide(p, &facts, self.now()),
            access::entitled_in(p, &facts),
        ))
    }

    async fn access_facts(
        &self,
        p: &Principal,
        person: Uuid,
    ) -> Result<AccessFacts, CaseworkError> {
        let rows = self.store.access_rows(p.user_id, person).await?;
        Ok(AccessFacts {
            home: rows.home,
            jurisdictions: rows.jurisdictions,
            assignees: rows.assignees,
            case_assignees: rows.case_assignees,
            break_glass_until: rows.break_glass_until,
        })
    }

    /// Opens one hour of access to `person` for `p`, with a stated reason.
    pub async fn break_glass(
        &self,
        p: &Principal,
        person: Uuid,
        reason: &str,
    ) -> Result<BreakGlassRow, CaseworkError> {
        if !access::can(p.role, Capability::BreakGlass) {
            return Err(CaseworkError::Forbidden);
        }
        let reason = reason.trim();
        if reason.chars().count() < 10 || reason.chars().count() > 500 {
            return Err(CaseworkError::invalid(
                "reason",
                "must say why, in 10 to 500 characters",
            ));
        }
        if self.store.get_person(person).await?.is_none() {
            return Err(CaseworkError::NotFound("person"));
        }
        let id = Uuid::now_v7();
        let now = self.now();
        let row = BreakGlassRow {
            id,
            user_id: p.user_id,
            person_id: person,
            opened_at: now,
            expires_at: now + Duration::hours(BREAK_GLASS_HOURS),
            key_version: self.vault.current_version(),
            reason: self.vault.seal_str(
                &FieldContext::new(schema::BREAK_GLASS.name, "reason", id),
                reason,
            ),
        };
        self.store.insert_break_glass(&row).await?;
        Ok(row)
    }

    /// Break-glass use since `since`, with the reasons opened, by the staff
    /// a supervisor oversees: the members of their teams and everyone whose
    /// jurisdiction is within theirs (so staff on no team are reviewed too).
    pub async fn break_glass_review(
        &self,
        p: &Principal,
        since: DateTime<Utc>,
    ) -> Result<Vec<BreakGlassView>, CaseworkError> {
        if !access::can(p.role, Capability::Supervise) {
            return Err(CaseworkError::Forbidden);
        }
        let mut users: Vec<Uuid> = self
            .store
            .list_users()
            .await?
            .into_iter()
            .filter(|u| p.scope.contains(&u.jurisdiction) && u.id != p.user_id)
            .map(|u| u.id)
            .collect();
        users.extend(p.team_members.iter().copied());
        users.sort();
        users.dedup();
        self.store
            .break_glass_by_users(&users, since)
            .await?
            .into_iter()
            .map(|g| {
                Ok(BreakGlassView {
                    id: g.id,
                    user_id: g.user_id,
                    person_id: g.person_id,
                    opened_at: g.opened_at,
                    expires_at: g.expires_at,
                    reason: self.vault.open_string(
                        &FieldContext::new(schema::BREAK_GLASS.name, "reason", g.id),
                        &g.reason,
                    )?,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreakGlassView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub person_id: Uuid,
    pub opened_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub reason: String,
}
