//! Field-level sealing of personal data, and keyed blind indexes.
//!
//! Every PHI field is sealed on its own with XChaCha20-Poly1305 before it
//! reaches a store. The table, column and row id (and key version) are bound
//! in as associated data, so a sealed value copied into another row or column
//! no longer opens: an attacker with write access to the database cannot move
//! a name onto someone else's record. Equality look-ups use HMAC-SHA256 of the
//! normalized value under a separate derived key ("blind index"), so the store
//! can match people without ever holding plaintext.
//!
//! Wire format of a sealed value:
//! `0x01 | key version (u32 BE) | 24-byte nonce | ciphertext | 16-byte tag`.

mod keyring;

pub use keyring::{KEYRING_FILE_NAME, Keyring, KeyringError};

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use uuid::Uuid;

const FORMAT: u8 = 0x01;
const HEADER: usize = 1 + 4 + 24;
const TAG: usize = 16;

/// Sealing and opening errors. None carries plaintext.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("sealed value uses key version {0}, which this keyring does not hold")]
    UnknownKeyVersion(u32),
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open for {table}.{column} (tampered, moved or wrong key)")]
    Tampered { table: String, column: String },
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

/// Where a sealed value lives; bound into its associated data.
#[derive(Debug, Clone, Copy)]
pub struct FieldContext<'a> {
    pub table: &'a str,
    pub column: &'a str,
    pub row: Uuid,
}

impl<'a> FieldContext<'a> {
    pub fn new(table: &'a str, column: &'a str, row: Uuid) -> Self {
        Self { table, column, row }
    }
}

/// What a blind index is computed over; each kind gets its own domain so an
/// email index can never equal a phone index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlindKind {
    Phone,
    Email,
    NameDob,
    PhoneName,
    Accession,
    /// Staff usernames, lower-cased.
    Username,
    /// The signature of a self-report link (not an index: a MAC).
    ReportLink,
    /// A record-linkage blocking key (a phonetic name key, a date of birth
    /// and its day/month-swapped twin…): who might be the same person.
    LinkKey,
    /// The signature of a bulk export's job (not an index: a MAC).
    ExportJob,
    /// A bulk export's stand-in for a record id, different in every job
    /// so that two exports cannot be joined on it.
    ExportPseudonym,
}

impl BlindKind {
    fn label(self) -> &'static [u8] {
        match self {
            BlindKind::Phone => b"phone",
            BlindKind::Email => b"email",
            BlindKind::Username => b"username",
            BlindKind::NameDob => b"name+dob",
            BlindKind::PhoneName => b"phone+name",
            BlindKind::Accession => b"accession",
            BlindKind::ReportLink => b"report-link",
            BlindKind::LinkKey => b"link-key",
            BlindKind::ExportJob => b"export-job",
            BlindKind::ExportPseudonym => b"export-pseudonym",
        }
    }
}

struct Keys {
    ciphers: BTreeMap<u32, XChaCha20Poly1305>,
    current: u32,
    blind: Hmac<Sha256>,
}

impl Keys {
    fn from_keyring(ring: &Keyring) -> Self {
        let ciphers = ring
            .versions()
            .map(|(v, _)| {
                (
                    v,
                    XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(
                        ring.seal_key(v).as_ref(),
                    )),
                )
            })
            .collect();
        let blind = <Hmac<Sha256> as Mac>::new_from_slice(ring.blind_key().as_ref())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        Self {
            ciphers,
            current: ring.current_version(),
            blind,
        }
    }
}

/// The sealing service. Cheap to share behind an `Arc`.
pub struct Vault {
    keys: RwLock<Keys>,
    path: Option<PathBuf>,
    watch: std::sync::Mutex<Watch>,
}

/// When the keyring file was last looked at, and its modification time then.
/// A server seals with the newest key version within `every` of a
/// `keys rotate` run by another process, at the cost of one `stat` per period.
struct Watch {
    every: std::time::Duration,
    last_check: std::time::Instant,
    mtime: Option<std::time::SystemTime>,
}

impl Watch {
    fn new(path: Option<&Path>) -> Self {
        Self {
            every: std::time::Duration::from_secs(5),
            last_check: std::time::Instant::now(),
            mtime: path.and_then(mtime),
        }
    }
}

fn mtime(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("current_version", &self.current_version())
            .finish_non_exhaustive()
    }
}

/// Bytes of a blind index (a truncated HMAC-SHA256).
pub const BLIND_LEN: usize = 16;

fn aad(ctx: &FieldContext<'_>, version: u32) -> Vec<u8> {
    let mut a = Vec::with_capacity(ctx.table.len() + ctx.column.len() + 22);
    a.extend_from_slice(ctx.table.as_bytes());
    a.push(0);
    a.extend_from_slice(ctx.column.as_bytes());
    a.push(0);
    a.extend_from_slice(ctx.row.as_bytes());
    a.extend_from_slice(&version.to_be_bytes());
    a
}

impl Vault {
    /// A vault over an in-memory keyring (tests, benchmarks).
    pub fn from_keyring(ring: &Keyring) -> Self {
        Self {
            keys: RwLock::new(Keys::from_keyring(ring)),
            path: None,
            watch: std::sync::Mutex::new(Watch::new(None)),
        }
    }

    /// Opens the keyring file, or creates one with a fresh key (mode 0600)
    /// when it does not exist. Returns whether it was created, so the caller
    /// can tell the operator loudly to back it up.
    pub fn open_or_create(path: &Path) -> Result<(Self, bool), VaultError> {
        let (ring, created) = Keyring::load_or_create(path)?;
        Ok((
            Self {
                keys: RwLock::new(Keys::from_keyring(&ring)),
                path: Some(path.to_path_buf()),
                watch: std::sync::Mutex::new(Watch::new(Some(path))),
            },
            created,
        ))
    }

    /// Opens an existing keyring file; a missing file is an error.
    pub fn open_file(path: &Path) -> Result<Self, VaultError> {
        let ring = Keyring::load(path)?;
        Ok(Self {
            keys: RwLock::new(Keys::from_keyring(&ring)),
            path: Some(path.to_path_buf()),
            watch: std::sync::Mutex::new(Watch::new(Some(path))),
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// How often sealing checks the keyring file for a new key version.
    pub fn with_recheck_interval(self, every: std::time::Duration) -> Self {
        if let Ok(mut w) = self.watch.lock() {
            w.every = every;
        }
        self
    }

    /// Reloads the keyring if its file changed since the last look. Never
    /// blocks sealing: a busy watch or an unreadable file keeps current keys.
    fn refresh_if_changed(&self) {
        let Some(path) = &self.path else { return };
        let Ok(mut w) = self.watch.try_lock() else {
            return;
        };
        if w.last_check.elapsed() < w.every {
            return;
        }
        w.last_check = std::time::Instant::now();
        let now = mtime(path);
        if now != w.mtime && self.reload().is_ok() {
            w.mtime = now;
        }
    }

    pub fn current_version(&self) -> u32 {
        self.read().current
    }

    /// Seals `plaintext` under the current key version.
    pub fn seal(&self, ctx: &FieldContext<'_>, plaintext: &[u8]) -> Vec<u8> {
        self.refresh_if_changed();
        let keys = self.read();
        let version = keys.current;
        let mut out = Vec::with_capacity(HEADER + plaintext.len() + TAG);
        out.push(FORMAT);
        out.extend_from_slice(&version.to_be_bytes());
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let cipher = &keys.ciphers[&version];
        let tag = cipher
            .encrypt_in_place_detached(
                XNonce::from_slice(&nonce),
                &aad(ctx, version),
                &mut out[HEADER..],
            )
            .unwrap_or_else(|_| unreachable!("XChaCha20-Poly1305 seals any length we store"));
        out.extend_from_slice(&tag);
        out
    }

    pub fn seal_str(&self, ctx: &FieldContext<'_>, plaintext: &str) -> Vec<u8> {
        self.seal(ctx, plaintext.as_bytes())
    }

    /// The key version a sealed value was made with.
    pub fn version_of(sealed: &[u8]) -> Result<u32, VaultError> {
        if sealed.len() < HEADER + TAG || sealed[0] != FORMAT {
            return Err(VaultError::Malformed);
        }
        Ok(u32::from_be_bytes([
            sealed[1], sealed[2], sealed[3], sealed[4],
        ]))
    }

    /// Opens a sealed value; fails if it was sealed for another place.
    pub fn open(&self, ctx: &FieldContext<'_>, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let version = Self::version_of(sealed)?;
        if !self.read().ciphers.contains_key(&version) {
            // Another process (`keys rotate`) may have added a version since we loaded.
            self.reload()?;
        }
        let keys = self.read();
        let cipher = keys
            .ciphers
            .get(&version)
            .ok_or(VaultError::UnknownKeyVersion(version))?;
        let body_end = sealed.len() - TAG;
        let mut buf = sealed[HEADER..body_end].to_vec();
        cipher
            .decrypt_in_place_detached(
                XNonce::from_slice(&sealed[5..HEADER]),
                &aad(ctx, version),
                &mut buf,
                sealed[body_end..].into(),
            )
            .map_err(|_| VaultError::Tampered {
                table: ctx.table.to_string(),
                column: ctx.column.to_string(),
            })?;
        Ok(buf)
    }

    pub fn open_string(&self, ctx: &FieldContext<'_>, sealed: &[u8]) -> Result<String, VaultError> {
        String::from_utf8(self.open(ctx, sealed)?).map_err(|_| VaultError::Malformed)
    }

    /// Re-seals under the current version (key rotation).
    pub fn reseal(&self, ctx: &FieldContext<'_>, sealed: &[u8]) -> Result<Vec<u8>, VaultError> {
        let plain = zeroize::Zeroizing::new(self.open(ctx, sealed)?);
        Ok(self.seal(ctx, &plain))
    }

    /// Keyed blind index of an already-normalized value.
    pub fn blind(&self, kind: BlindKind, normalized: &str) -> Vec<u8> {
        let mut mac = self.read().blind.clone();
        mac.update(kind.label());
        mac.update(&[0]);
        mac.update(normalized.as_bytes());
        mac.finalize().into_bytes()[..16].to_vec()
    }

    /// Adds a new key version to the keyring file and makes it current.
    pub fn add_version(&self) -> Result<u32, VaultError> {
        let path = self.path.as_deref().ok_or(KeyringError::NotFileBacked)?;
        let mut ring = Keyring::load(path)?;
        let version = ring.add_version();
        ring.save(path)?;
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Keys::from_keyring(&ring);
        if let Ok(mut w) = self.watch.lock() {
            w.mtime = mtime(path);
        }
        Ok(version)
    }

    /// Re-reads the keyring file (no-op for in-memory vaults).
    pub fn reload(&self) -> Result<(), VaultError> {
        if let Some(path) = &self.path {
            let ring = Keyring::load(path)?;
            *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Keys::from_keyring(&ring);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault() -> Vault {
        Vault::from_keyring(&Keyring::generate())
    }

    #[test]
    fn seal_open_round_trip() {
        let v = vault();
        let row = Uuid::now_v7();
        let ctx = FieldContext::new("persons", "first_name", row);
        let s = v.seal_str(&ctx, "Ana");
        assert!(!s.windows(3).any(|w| w == b"Ana"));
        assert_eq!(v.open_string(&ctx, &s).unwrap(), "Ana");
        assert_eq!(Vault::version_of(&s).unwrap(), 1);
    }

    #[test]
    fn moved_value_does_not_open() {
        let v = vault();
        let a = Uuid::now_v7();
        let s = v.seal_str(&FieldContext::new("persons", "first_name", a), "Ana");
        let other_row = FieldContext::new("persons", "first_name", Uuid::now_v7());
        assert!(matches!(
            v.open(&other_row, &s),
            Err(VaultError::Tampered { .. })
        ));
        let other_col = FieldContext::new("persons", "last_name", a);
        assert!(v.open(&other_col, &s).is_err());
        let mut flipped = s.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(
            v.open(&FieldContext::new("persons", "first_name", a), &flipped)
                .is_err()
        );
        assert!(matches!(
            v.open(&other_row, b"short"),
            Err(VaultError::Malformed)
        ));
    }

    #[test]
    fn blind_index_is_deterministic_and_domain_separated() {
        let v = vault();
        assert_eq!(
            v.blind(BlindKind::Phone, "+1"),
            v.blind(BlindKind::Phone, "+1")
        );
        assert_ne!(
            v.blind(BlindKind::Phone, "+1"),
            v.blind(BlindKind::Email, "+1")
        );
        assert_ne!(
            v.blind(BlindKind::Phone, "+1"),
            vault().blind(BlindKind::Phone, "+1")
        );
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_blind_index_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYRING_FILE_NAME);
        let (v, created) = Vault::open_or_create(&path).unwrap();
        assert!(created);
        let ctx = FieldContext::new("persons", "email", Uuid::now_v7());
        let old = v.seal_str(&ctx, "a@example.org");
        let idx = v.blind(BlindKind::Email, "a@example.org");
        assert_eq!(v.add_version().unwrap(), 2);
        let new = v.reseal(&ctx, &old).unwrap();
        assert_eq!(Vault::version_of(&new).unwrap(), 2);
        assert_eq!(v.open_string(&ctx, &old).unwrap(), "a@example.org");
        assert_eq!(v.blind(BlindKind::Email, "a@example.org"), idx);
        // A second process that loaded v1 opens v2 values on demand.
        let (stale, created) = Vault::open_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(stale.open_string(&ctx, &new).unwrap(), "a@example.org");
    }

    #[test]
    fn a_running_process_seals_with_a_version_added_elsewhere() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(KEYRING_FILE_NAME);
        let (server, _) = Vault::open_or_create(&path).unwrap();
        let server = server.with_recheck_interval(std::time::Duration::ZERO);
        let ctx = FieldContext::new("persons", "email", Uuid::now_v7());
        assert_eq!(Vault::version_of(&server.seal_str(&ctx, "x")).unwrap(), 1);
        // `keys rotate` in another process adds v2 (a different mtime).
        std::thread::sleep(std::time::Duration::from_millis(20));
        let (cli, _) = Vault::open_or_create(&path).unwrap();
        cli.add_version().unwrap();
        assert_eq!(Vault::version_of(&server.seal_str(&ctx, "x")).unwrap(), 2);
        assert_eq!(server.current_version(), 2);
    }
}
