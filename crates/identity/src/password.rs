//! Password policy after NIST SP 800-63B rev 4 and argon2id hashing.
//!
//! No composition rules: length, a common-password list and the user's own
//! names are what make a password guessable.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::LazyLock;

/// Shortest password accepted when the account has a second factor.
pub const MIN_WITH_MFA: usize = 8;
/// Shortest password accepted when it is the only factor.
pub const MIN_WITHOUT_MFA: usize = 15;
/// Longest password accepted (in characters); long enough for passphrases,
/// short enough that hashing cannot be abused.
pub const MAX_LEN: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// How many common passwords the binary ships (the policy requires ≥ 10,000).
pub fn common_password_count() -> usize {
    COMMON.len()
}

/// Why a password was refused. Messages never repeat the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password must have at least {0} characters")]
    TooShort(usize),
    #[error("the password must have at most {MAX_LEN} characters")]
    TooLong,
    #[error("the password is among the most common passwords; choose another")]
    Common,
    #[error("the password must not contain the username or the user's name")]
    ContainsName,
}

/// Checks a new password. `names` are the username and the user's name
/// parts; a part shorter than 3 characters is ignored (it would forbid
/// too much and protect nothing).
pub fn check(password: &str, names: &[&str], has_mfa: bool) -> Result<(), PasswordProblem> {
    let len = password.chars().count();
    let min = if has_mfa {
        MIN_WITH_MFA
    } else {
        MIN_WITHOUT_MFA
    };
    if len < min {
        return Err(PasswordProblem::TooShort(min));
    }
    if len > MAX_LEN {
        return Err(PasswordProblem::TooLong);
    }
    let lower = password.to_lowercase();
    if COMMON.contains(lower.as_str()) {
        return Err(PasswordProblem::Common);
    }
    let contains_name = names
        .iter()
        .flat_map(|n| n.split_whitespace())
        .map(str::to_lowercase)
        .filter(|n| n.chars().count() >= 3)
        .any(|n| lower.contains(&n));
    if contains_name {
        return Err(PasswordProblem::ContainsName);
    }
    Ok(())
}

/// argon2id with 19 MiB of memory, 2 passes, 1 lane: OWASP's first
/// recommended setting, which takes tens of milliseconds on one core (see
/// docs/benchmarks.md) — slow for a guesser, quick for a person signing in.
pub fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed")]
pub struct HashError;

/// Hashes a password into a PHC string (algorithm, parameters and salt included).
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| HashError)
}

/// True if `password` matches the PHC string `phc`. A malformed stored hash
/// never matches.
pub fn verify(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification, so an unknown username answers as
/// slowly as a wrong password and usernames cannot be probed by timing.
pub fn burn_verify_time(password: &str) {
    static DUMMY: LazyLock<String> =
        LazyLock::new(|| hash("not a real password, only for timing").unwrap_or_default());
    let _ = verify(&DUMMY, password);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ships_at_least_ten_thousand_common_passwords() {
        assert!(
            common_password_count() >= 10_000,
            "{}",
            common_password_count()
        );
    }

    #[test]
    fn length_depends_on_mfa() {
        assert_eq!(
            check("k7#vq2mz", &[], false),
            Err(PasswordProblem::TooShort(15))
        );
        assert_eq!(check("k7#vq2mz", &[], true), Ok(()));
        assert_eq!(
            check("k7#vq2m", &[], true),
            Err(PasswordProblem::TooShort(8))
        );
        assert_eq!(check("orbit lantern quietly 42", &[], false), Ok(()));
        let long: String = "x9".repeat(65);
        assert_eq!(check(&long, &[], true), Err(PasswordProblem::TooLong));
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // 8 characters, 16 bytes.
        assert_eq!(check("żółwiątk", &[], true), Ok(()));
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        assert_eq!(check("password1", &[], true), Err(PasswordProblem::Common));
        assert_eq!(check("PassWord1", &[], true), Err(PasswordProblem::Common));
        assert_eq!(check("baseball", &[], true), Err(PasswordProblem::Common));
        assert_eq!(
            check("1qaz2wsx3edc", &[], true),
            Err(PasswordProblem::Common)
        );
    }

    #[test]
    fn names_are_refused() {
        assert_eq!(
            check("hello-jdoe-2026", &["jdoe", "Jane Doe"], true),
            Err(PasswordProblem::ContainsName)
        );
        assert_eq!(
            check("janeiscool2026!", &["jdoe", "Jane Doe"], true),
            Err(PasswordProblem::ContainsName)
        );
        // Two-letter name parts do not forbid anything.
        assert_eq!(check("quiet-lab-bench", &["al", "Al Li"], true), Ok(()));
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("orbit lantern quietly").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify(&h, "orbit lantern quietly"));
        assert!(!verify(&h, "orbit lantern quietlY"));
        assert!(!verify("not a hash", "x"));
        assert_ne!(h, hash("orbit lantern quietly").unwrap(), "salted");
    }
}
