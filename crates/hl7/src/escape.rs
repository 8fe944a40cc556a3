//! Escape sequences (HL7 v2.5.1, chapter 2.7): a delimiter inside a value
//! is written `\F\`, `\S\`, `\T\`, `\R\` or `\E\`; `\Xhh…\` carries bytes;
//! `\.br\` is a line break. Formatting (`\H\`, `\N\`, `\.sp…\` and the
//! like) and character-set switches are dropped, their text kept. An escape
//! that never closes is kept as written.

use crate::Delimiters;
use std::borrow::Cow;

/// `raw` with its escape sequences resolved.
pub fn decode<'a>(raw: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let Some(esc) = d.escape else {
        return Cow::Borrowed(raw);
    };
    if !raw.contains(esc) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(start) = rest.find(esc) {
        out.push_str(&rest[..start]);
        let after = &rest[start + esc.len_utf8()..];
        let Some(end) = after.find(esc) else {
            // Unclosed: the rest is text.
            out.push_str(&rest[start..]);
            return Cow::Owned(out);
        };
        let body = &after[..end];
        match body {
            "F" => out.push(d.field),
            "S" => out.push(d.component),
            "T" => out.push(d.subcomponent),
            "R" => out.push(d.repetition),
            "E" => out.push(esc),
            ".br" => out.push('\n'),
            "H" | "N" => {}
            _ if body.starts_with('X') => hex(&body[1..], &mut out),
            // Formatting commands and character-set escapes (\.sp\, \.in\,
            // \C…\, \M…\, \Z…\): not text.
            _ if body.starts_with(['.', 'C', 'M', 'Z']) => {}
            // Not an escape sequence this parser knows: kept as written.
            _ => {
                out.push(esc);
                out.push_str(body);
                out.push(esc);
            }
        }
        rest = &after[end + esc.len_utf8()..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `\Xhh…\`: pairs of hexadecimal digits, read as UTF-8 when they form it,
/// else as Latin-1; a bad pair ends the sequence.
fn hex(digits: &str, out: &mut String) {
    let bytes: Vec<u8> = digits
        .as_bytes()
        .chunks(2)
        .map_while(|p| {
            std::str::from_utf8(p)
                .ok()
                .filter(|s| s.len() == 2)
                .and_then(|s| u8::from_str_radix(s, 16).ok())
        })
        .collect();
    match std::str::from_utf8(&bytes) {
        Ok(s) => out.extend(s.chars().filter(|c| !c.is_control() || *c == '\n')),
        Err(_) => out.extend(
            bytes
                .iter()
                .map(|b| char::from(*b))
                .filter(|c| !c.is_control()),
        ),
    }
}

/// `text` written as a field value: delimiters escaped, line breaks as
/// `\.br\`, other control characters dropped.
pub fn encode(text: &str, d: &Delimiters) -> String {
    let esc = d.escape.unwrap_or('\\');
    let mut out = String::with_capacity(text.len());
    let seq = |out: &mut String, s: &str| {
        out.push(esc);
        out.push_str(s);
        out.push(esc);
    };
    for c in text.chars() {
        if c == esc {
            seq(&mut out, "E");
        } else if c == d.field {
            seq(&mut out, "F");
        } else if c == d.component {
            seq(&mut out, "S");
        } else if c == d.subcomponent {
            seq(&mut out, "T");
        } else if c == d.repetition {
            seq(&mut out, "R");
        } else if c == '\n' {
            seq(&mut out, ".br");
        } else if !c.is_control() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_resolve() {
        let d = Delimiters::default();
        assert_eq!(decode("plain", &d), "plain");
        assert_eq!(decode("A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\", &d), "A|B^C&D~E\\");
        assert_eq!(decode("line\\.br\\two", &d), "line\ntwo");
        assert_eq!(decode("\\H\\bold\\N\\", &d), "bold");
        assert_eq!(decode("Garc\\XC3AD\\a", &d), "García");
        assert_eq!(decode("Garc\\XED\\a", &d), "García");
        assert_eq!(decode("open \\F", &d), "open \\F");
        assert_eq!(decode("\\Q\\", &d), "\\Q\\");
    }

    #[test]
    fn encode_then_decode_is_identity() {
        let d = Delimiters::default();
        for s in ["a|b^c&d~e\\f", "two\nlines", "O'Brien-Smith", ""] {
            assert_eq!(decode(&encode(s, &d), &d), s);
        }
    }
}
