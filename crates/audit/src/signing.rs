//! The server's checkpoint-signing key: an Ed25519 seed in a 0600 file in
//! the data directory, generated on first use. Its public half is printed by
//! `tracedesk audit verify`; keep a copy elsewhere, since anyone who can
//! replace the file could re-sign a rewritten log.

use crate::{Checkpoint, Link};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rand::RngCore;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Default name of the signing key inside the data directory.
pub const AUDIT_KEY_FILE_NAME: &str = "audit-signing.key";

#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    #[error("cannot read audit signing key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write audit signing key {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit signing key {0} is not 64 hex digits")]
    Malformed(PathBuf),
}

pub struct AuditKey {
    key: SigningKey,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditKey")
            .field("public", &self.public_hex())
            .finish()
    }
}

impl AuditKey {
    pub fn generate() -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(seed.as_mut());
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Loads the key, or creates it (mode 0600) when the file does not exist;
    /// the flag says whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), AuditKeyError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let bytes = Zeroizing::new(
                    hex::decode(text.trim())
                        .map_err(|_| AuditKeyError::Malformed(path.to_path_buf()))?,
                );
                let seed: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| AuditKeyError::Malformed(path.to_path_buf()))?;
                let seed = Zeroizing::new(seed);
                Ok((
                    Self {
                        key: SigningKey::from_bytes(&seed),
                    },
                    false,
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                key.save(path)?;
                Ok((key, true))
            }
            Err(source) => Err(AuditKeyError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn save(&self, path: &Path) -> Result<(), AuditKeyError> {
        let werr = |source| AuditKeyError::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(werr)?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(werr)?;
        let text = Zeroizing::new(hex::encode(self.key.to_bytes()));
        f.write_all(text.as_bytes()).map_err(werr)?;
        f.write_all(b"\n").map_err(werr)?;
        f.sync_all().map_err(werr)
    }

    pub fn public(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn public_hex(&self) -> String {
        hex::encode(self.public())
    }

    /// Signs "entry `seq` has hash `head`" as of `at`, linked by `link`.
    pub fn checkpoint(
        &self,
        seq: i64,
        head: [u8; 32],
        at: DateTime<Utc>,
        link: Link,
    ) -> Checkpoint {
        let sig: Signature = self
            .key
            .sign(&Checkpoint::message(seq, &head, at, Some(&link)));
        Checkpoint {
            seq,
            head,
            at,
            link: Some(link),
            public_key: self.public(),
            signature: sig.to_bytes(),
        }
    }
}

/// Whether `cp` carries a valid signature by `public`.
pub(crate) fn signed_by(cp: &Checkpoint, public: &[u8; 32]) -> bool {
    let Ok(vk) = VerifyingKey::from_bytes(public) else {
        return false;
    };
    let sig = Signature::from_bytes(&cp.signature);
    vk.verify_strict(
        &Checkpoint::message(cp.seq, &cp.head, cp.at, cp.link.as_ref()),
        &sig,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_loaded_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUDIT_KEY_FILE_NAME);
        let (a, created) = AuditKey::load_or_create(&path).unwrap();
        assert!(created);
        let (b, created) = AuditKey::load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(a.public(), b.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "zz").unwrap();
        assert!(matches!(
            AuditKey::load_or_create(&path),
            Err(AuditKeyError::Malformed(_))
        ));
    }

    #[test]
    fn signatures_bind_seq_head_and_key() {
        let k = AuditKey::generate();
        let cp = k.checkpoint(7, [3; 32], crate::now(), Link::new([1; 32], false));
        assert!(signed_by(&cp, &k.public()));
        let mut bad = cp.clone();
        bad.head[0] ^= 1;
        assert!(!signed_by(&bad, &k.public()));
        let mut bad = cp.clone();
        bad.seq = 8;
        assert!(!signed_by(&bad, &k.public()));
        assert!(!signed_by(&cp, &AuditKey::generate().public()));
        let mut bad = cp.clone();
        bad.link = Some(Link::new([2; 32], false));
        assert!(!signed_by(&bad, &k.public()), "the link is signed");
        let mut bad = cp.clone();
        bad.link = Some(Link::new([1; 32], true));
        assert!(!signed_by(&bad, &k.public()), "so is lateness");
    }
}
