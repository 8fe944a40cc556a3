//! The anchor: every signed checkpoint, one JSON line each, appended to a
//! file kept apart from the database. Someone who can rewrite the database
//! cannot shorten or change the anchor unless they also reach that file;
//! `audit verify --anchor` holds the log to it.

use crate::{Checkpoint, Link};
use chrono::{DateTime, Utc};

/// One checkpoint as an anchor line (no newline).
pub fn line(cp: &Checkpoint) -> String {
    let link = cp.link.unwrap_or(Link::new(crate::GENESIS, false));
    serde_json::json!({
        "seq": cp.seq,
        "head": hex::encode(cp.head),
        "at": cp.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "linked": cp.link.is_some(),
        "prev": hex::encode(link.prev),
        "late": link.late,
        "public_key": hex::encode(cp.public_key),
        "signature": hex::encode(cp.signature),
    })
    .to_string()
}

/// Why an anchor could not be read: the line (1-based) and what is wrong
/// with it. Anchor lines hold hashes and signatures only, so the message
/// may name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("anchor line {line}: {reason}")]
pub struct BadLine {
    pub line: usize,
    pub reason: String,
}

/// Reads an anchor's text. A last line cut short (a crash while appending)
/// is ignored; any other bad line is an error.
pub fn parse(text: &str) -> Result<Vec<Checkpoint>, BadLine> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match parse_line(l) {
            Ok(cp) => out.push(cp),
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(reason) => {
                return Err(BadLine {
                    line: i + 1,
                    reason,
                });
            }
        }
    }
    Ok(out)
}

fn parse_line(l: &str) -> Result<Checkpoint, String> {
    let v: serde_json::Value = serde_json::from_str(l).map_err(|_| "not JSON".to_string())?;
    let bytes = |k: &str, n: usize| -> Result<Vec<u8>, String> {
        let b = v
            .get(k)
            .and_then(|x| x.as_str())
            .and_then(|x| hex::decode(x).ok())
            .ok_or_else(|| format!("`{k}` is missing or not hex"))?;
        if b.len() == n {
            Ok(b)
        } else {
            Err(format!("`{k}` is not {n} bytes"))
        }
    };
    let arr32 = |k: &str| -> Result<[u8; 32], String> {
        bytes(k, 32)?
            .try_into()
            .map_err(|_| format!("`{k}` is not 32 bytes"))
    };
    let seq = v
        .get("seq")
        .and_then(|x| x.as_i64())
        .ok_or("`seq` is missing or not a number")?;
    let at: DateTime<Utc> = v
        .get("at")
        .and_then(|x| x.as_str())
        .and_then(|x| DateTime::parse_from_rfc3339(x).ok())
        .ok_or("`at` is missing or not a time")?
        .with_timezone(&Utc);
    let linked = v.get("linked").and_then(|x| x.as_bool()).unwrap_or(true);
    let link = linked
        .then(|| -> Result<Link, String> {
            Ok(Link {
                prev: arr32("prev")?,
                late: v.get("late").and_then(|x| x.as_bool()).unwrap_or(false),
            })
        })
        .transpose()?;
    Ok(Checkpoint {
        seq,
        head: arr32("head")?,
        at,
        link,
        public_key: arr32("public_key")?,
        signature: bytes("signature", 64)?
            .try_into()
            .map_err(|_| "`signature` is not 64 bytes".to_string())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AuditKey;

    #[test]
    fn lines_round_trip_and_bad_lines_are_named() {
        let k = AuditKey::generate();
        let a = k.checkpoint(3, [7; 32], crate::now(), Link::new([1; 32], true));
        let b = k.checkpoint(9, [8; 32], crate::now(), Link::new(a.digest(), false));
        let text = format!("{}\n{}\n", line(&a), line(&b));
        assert_eq!(parse(&text).unwrap(), vec![a.clone(), b.clone()]);
        // A crash mid-append leaves a cut last line: ignored.
        let cut = format!("{}\n{}", line(&a), &line(&b)[..20]);
        assert_eq!(parse(&cut).unwrap(), vec![a.clone()]);
        let bad = format!("{}\nnot json\n{}\n", line(&a), line(&b));
        assert_eq!(parse(&bad).unwrap_err().line, 2);
    }
}
