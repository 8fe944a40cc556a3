//! SMS encoding and segment counts (3GPP TS 23.038): a body that fits the
//! GSM-7 alphabet goes as 7-bit septets, 160 in one message or 153 a
//! segment when concatenated (the rest is the concatenation header); any
//! other character makes the whole body UCS-2, 70 code units or 67 a
//! segment. Characters of the GSM-7 extension table take two septets, and
//! a segment never splits one (nor a UTF-16 surrogate pair), as handsets
//! and carriers split them.

use serde::Serialize;

/// The longest body a message may have, in characters (Twilio's limit).
pub const MAX_BODY_CHARS: usize = 1600;

/// The GSM-7 default alphabet.
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM-7 extension table: each is an escape and a septet.
const GSM7_EXTENSION: &str = "\u{c}^{}\\[~]|€";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Gsm7,
    Ucs2,
}

/// How a body goes over the air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Segments {
    pub encoding: Encoding,
    /// Septets (GSM-7) or UTF-16 code units (UCS-2).
    pub units: usize,
    pub segments: usize,
    /// Units left in the last segment before another is needed.
    pub remaining: usize,
}

/// The septets a character takes in GSM-7, or `None` outside the alphabet.
fn septets(c: char) -> Option<usize> {
    if GSM7_BASIC.contains(c) {
        Some(1)
    } else if GSM7_EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

/// The encoding and segments of `body`. An empty body is one segment.
pub fn count(body: &str) -> Segments {
    let gsm: Option<Vec<usize>> = body.chars().map(septets).collect();
    let (encoding, sizes, single, multi) = match gsm {
        Some(sizes) => (Encoding::Gsm7, sizes, 160, 153),
        None => (
            Encoding::Ucs2,
            body.chars().map(char::len_utf16).collect(),
            70,
            67,
        ),
    };
    let units: usize = sizes.iter().sum();
    if units <= single {
        return Segments {
            encoding,
            units,
            segments: 1,
            remaining: single - units,
        };
    }
    // Greedy packing: a character that does not fit opens a new segment.
    let (mut segments, mut used) = (1, 0);
    for s in sizes {
        if used + s > multi {
            segments += 1;
            used = 0;
        }
        used += s;
    }
    Segments {
        encoding,
        units,
        segments,
        remaining: multi - used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_gsm7_up_to_160_then_153_a_segment() {
        let s = count(&"a".repeat(160));
        assert_eq!(
            (s.encoding, s.units, s.segments, s.remaining),
            (Encoding::Gsm7, 160, 1, 0)
        );
        let s = count(&"a".repeat(161));
        assert_eq!((s.segments, s.remaining), (2, 153 * 2 - 161));
        assert_eq!(count(&"a".repeat(306)).segments, 2);
        assert_eq!(count(&"a".repeat(307)).segments, 3);
        assert_eq!(count("").segments, 1);
    }

    #[test]
    fn extension_characters_take_two_septets_and_are_not_split() {
        // "€" is two septets: 80 of them fill one message exactly.
        let s = count(&"€".repeat(80));
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Gsm7, 160, 1));
        // 152 plain then a "€": it would straddle the 153 boundary, so it
        // opens the second segment.
        let body = format!("{}€{}", "a".repeat(152), "a".repeat(10));
        let s = count(&body);
        assert_eq!((s.units, s.segments), (164, 2));
        assert_eq!(s.remaining, 153 - 12);
    }

    #[test]
    fn one_character_outside_gsm7_makes_the_body_ucs2() {
        // Spanish with ñ, é and ¿ stays GSM-7; á and í are not in the
        // alphabet (à is), so one of them makes the body UCS-2.
        assert_eq!(count("¿Qué tal? Mañana").encoding, Encoding::Gsm7);
        let s = count("Llámenos");
        assert_eq!((s.encoding, s.units, s.segments), (Encoding::Ucs2, 8, 1));
        assert_eq!(count("Comuníquese").encoding, Encoding::Ucs2);
        // Chinese, 70 characters in one message, 71 in two.
        assert_eq!(count(&"请".repeat(70)).segments, 1);
        assert_eq!(count(&"请".repeat(71)).segments, 2);
        assert_eq!(count(&"请".repeat(134)).segments, 2);
        assert_eq!(count(&"请".repeat(135)).segments, 3);
    }

    #[test]
    fn emoji_are_two_utf16_units_and_never_split() {
        let s = count("ok 👍");
        assert_eq!((s.encoding, s.units), (Encoding::Ucs2, 5));
        // 66 units then an emoji (2 units) must move to segment two.
        let body = format!("{}👍{}", "б".repeat(66), "б".repeat(10));
        let s = count(&body);
        assert_eq!((s.units, s.segments, s.remaining), (78, 2, 67 - 12));
    }
}
