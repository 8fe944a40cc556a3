//! The master keyring file: one line per key version, newest is current.
//!
//! ```text
//! # tracedesk keyring: BACK THIS FILE UP. Without it no sealed field can be read.
//! v1 <base64 of 32 random bytes>
//! v2 <base64 of 32 random bytes>
//! ```
//!
//! Per-version sealing keys and the blind-index key are derived with HKDF, so
//! the file holds only master secrets. The blind-index key always derives from
//! the first version: rotating sealing keys must not change look-up indexes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Default name of the keyring inside the data directory.
pub const KEYRING_FILE_NAME: &str = "master.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot read keyring {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write keyring {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("keyring {path}, line {line}: {reason}")]
    Parse {
        path: PathBuf,
        line: usize,
        reason: &'static str,
    },
    #[error("keyring {0} holds no key")]
    Empty(PathBuf),
    #[error("this vault was not loaded from a file, so it cannot add a key version")]
    NotFileBacked,
}

/// Master secrets by version.
pub struct Keyring {
    keys: BTreeMap<u32, Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Keyring")
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn random_key() -> Zeroizing<[u8; 32]> {
    let mut k = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(k.as_mut());
    k
}

fn derive(master: &[u8; 32], info: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(b"tracedesk keyring"), master)
        .expand(info, out.as_mut())
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 length"));
    out
}

impl Keyring {
    /// A fresh keyring with one version.
    pub fn generate() -> Self {
        Self {
            keys: BTreeMap::from([(1, random_key())]),
        }
    }

    pub fn versions(&self) -> impl Iterator<Item = (u32, ())> + '_ {
        self.keys.keys().map(|v| (*v, ()))
    }

    pub fn current_version(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(1)
    }

    pub(crate) fn seal_key(&self, version: u32) -> Zeroizing<[u8; 32]> {
        derive(&self.keys[&version], b"tracedesk seal v1")
    }

    pub(crate) fn blind_key(&self) -> Zeroizing<[u8; 32]> {
        let first = self
            .keys
            .values()
            .next()
            .unwrap_or_else(|| unreachable!("a keyring always holds a key"));
        derive(first, b"tracedesk blind index v1")
    }

    /// Adds a new random version and returns its number.
    pub fn add_version(&mut self) -> u32 {
        let v = self.current_version() + 1;
        self.keys.insert(v, random_key());
        v
    }

    pub fn load(path: &Path) -> Result<Self, KeyringError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|source| KeyringError::Read {
                    path: path.to_path_buf(),
                    source,
                })?,
            );
        let parse_err = |line, reason| KeyringError::Parse {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let mut keys = BTreeMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (ver, key) = line
                .split_once(' ')
                .ok_or_else(|| parse_err(n + 1, "expected `vN <base64 key>`"))?;
            let ver: u32 = ver
                .strip_prefix('v')
                .and_then(|v| v.parse().ok())
                .filter(|v| *v > 0)
                .ok_or_else(|| parse_err(n + 1, "version must look like v1, v2, …"))?;
            let bytes = Zeroizing::new(
                STANDARD
                    .decode(key.trim())
                    .map_err(|_| parse_err(n + 1, "key is not base64"))?,
            );
            let arr: [u8; 32] = bytes
                .as_slice()
                .try_into()
                .map_err(|_| parse_err(n + 1, "key must be 32 bytes"))?;
            if keys.insert(ver, Zeroizing::new(arr)).is_some() {
                return Err(parse_err(n + 1, "version appears twice"));
            }
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty(path.to_path_buf()));
        }
        Ok(Self { keys })
    }

    pub fn load_or_create(path: &Path) -> Result<(Self, bool), KeyringError> {
        if path.exists() {
            return Ok((Self::load(path)?, false));
        }
        let ring = Self::generate();
        ring.save(path)?;
        Ok((ring, true))
    }

    /// Writes atomically (temp file + rename) with mode 0600.
    pub fn save(&self, path: &Path) -> Result<(), KeyringError> {
        let werr = |source| KeyringError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut text = Zeroizing::new(String::from(
            "# tracedesk keyring: BACK THIS FILE UP. Without it no sealed field can be read.\n\
             # One line per key version; the highest is current. Never edit by hand.\n",
        ));
        for (v, k) in &self.keys {
            text.push_str(&format!("v{v} {}\n", STANDARD.encode(k.as_ref())));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(werr)?;
        }
        let tmp = path.with_extension("key.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(werr)?;
        f.write_all(text.as_bytes()).map_err(werr)?;
        f.sync_all().map_err(werr)?;
        std::fs::rename(&tmp, path).map_err(werr)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k").join(KEYRING_FILE_NAME);
        let (mut ring, created) = Keyring::load_or_create(&p).unwrap();
        assert!(created);
        ring.add_version();
        ring.save(&p).unwrap();
        let back = Keyring::load(&p).unwrap();
        assert_eq!(back.current_version(), 2);
        assert_eq!(*back.blind_key(), *ring.blind_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_lines_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.key");
        std::fs::write(&p, "# c\nv1 notbase64!!\n").unwrap();
        let e = Keyring::load(&p).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        std::fs::write(&p, "").unwrap();
        assert!(matches!(Keyring::load(&p), Err(KeyringError::Empty(_))));
    }
}
