//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s),
//! the second factor every staff role needs by default.

use data_encoding::BASE32_NOPAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub const STEP_SECONDS: i64 = 30;
pub const DIGITS: u32 = 6;
/// Steps accepted either side of now, for clocks that drift.
pub const DRIFT_STEPS: i64 = 1;

/// A shared TOTP secret (160 bits, as RFC 4226 recommends).
pub struct Secret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn generate() -> Self {
        let mut raw = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        Self(Zeroizing::new(raw))
    }

    pub fn from_bytes(raw: Vec<u8>) -> Self {
        Self(Zeroizing::new(raw))
    }

    /// From the base32 text an authenticator app is given.
    pub fn from_base32(text: &str) -> Option<Self> {
        BASE32_NOPAD
            .decode(text.trim().to_ascii_uppercase().as_bytes())
            .ok()
            .map(Self::from_bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The secret as authenticator apps take it when typed in.
    pub fn base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// The code for a time step.
    pub fn code_at(&self, step: i64) -> String {
        let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[19] & 0x0f);
        let bin = u32::from_be_bytes([
            digest[offset] & 0x7f,
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ]);
        format!("{:06}", bin % 10u32.pow(DIGITS))
    }

    /// Checks `code` at Unix time `now` within the drift window and returns
    /// the step it matched. A step at or before `last_used` is refused, so a
    /// code (or an older one) cannot be replayed.
    pub fn verify(&self, code: &str, now: i64, last_used: Option<i64>) -> Option<i64> {
        let code = code.trim();
        if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let current = step_of(now);
        (current - DRIFT_STEPS..=current + DRIFT_STEPS)
            .filter(|s| last_used.is_none_or(|l| *s > l))
            .find(|s| bool::from(self.code_at(*s).as_bytes().ct_eq(code.as_bytes())))
    }

    /// The `otpauth://` URI that enrolment shows as a QR code.
    pub fn uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
            percent(issuer),
            percent(account),
            self.base32(),
            percent(issuer)
        )
    }
}

pub fn step_of(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The URI as an SVG QR code, for the enrolment page.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1 rows (8 digits there; the last 6 here).
    #[test]
    fn matches_rfc_6238_vectors() {
        let s = Secret::from_bytes(b"12345678901234567890".to_vec());
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(s.code_at(step_of(t)), code, "t={t}");
        }
    }

    #[test]
    fn drift_of_one_step_is_accepted_and_two_is_not() {
        let s = Secret::generate();
        let now = 1_800_000_000;
        let step = step_of(now);
        assert_eq!(s.verify(&s.code_at(step), now, None), Some(step));
        assert_eq!(s.verify(&s.code_at(step - 1), now, None), Some(step - 1));
        assert_eq!(s.verify(&s.code_at(step + 1), now, None), Some(step + 1));
        let far = s.code_at(step - 2);
        if far != s.code_at(step) && far != s.code_at(step - 1) && far != s.code_at(step + 1) {
            assert_eq!(s.verify(&far, now, None), None);
        }
    }

    #[test]
    fn a_used_code_cannot_be_replayed() {
        let s = Secret::generate();
        let now = 1_800_000_000;
        let used = s.verify(&s.code_at(step_of(now)), now, None).unwrap();
        assert_eq!(s.verify(&s.code_at(step_of(now)), now, Some(used)), None);
        // Nor an older one still inside the drift window.
        assert_eq!(s.verify(&s.code_at(used - 1), now, Some(used)), None);
    }

    #[test]
    fn malformed_codes_fail() {
        let s = Secret::generate();
        for bad in ["", "12345", "1234567", "12a456", "      "] {
            assert_eq!(s.verify(bad, 1_800_000_000, None), None, "{bad:?}");
        }
    }

    #[test]
    fn uri_and_qr() {
        let s = Secret::from_bytes(b"12345678901234567890".to_vec());
        let uri = s.uri("tracedesk", "j doe");
        assert_eq!(
            uri,
            "otpauth://totp/tracedesk:j%20doe?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=tracedesk&algorithm=SHA1&digits=6&period=30"
        );
        assert!(qr_svg(&uri).unwrap().contains("<svg"));
    }
}
