//! The audit journal: a local append-only file that makes an audit entry
//! durable before the database log holds it.
//!
//! Auditing every read must not halve read throughput, and on a small machine
//! a database commit per group of reads does (see docs/benchmarks.md). So a
//! serving process writes each group of entries to a segment file here with
//! one `write` — as durable as a SQLite commit with `synchronous = NORMAL`:
//! it survives the process, not the power — answers the callers, and a
//! background task moves whole segments into the chained log in one
//! transaction each, then deletes them. At start any segment left by a crash
//! is absorbed first, unless its entries are already in the log (the crash
//! came between the commit and the delete).
//!
//! Entries carry ids and actions, never personal data, so the segment files
//! hold none either. A directory lock keeps two processes from sharing one
//! journal.

use chrono::DateTime;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use tracedesk_store::audit::{Action, Draft};
use uuid::Uuid;

/// What one line of a segment holds.
#[derive(Serialize, Deserialize)]
struct Line {
    /// Microseconds since the Unix epoch.
    at: i64,
    actor: String,
    action: String,
    object: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    object_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    person_id: Option<Uuid>,
    detail: String,
}

/// Appends one JSON line per draft to `out`.
pub fn encode(drafts: &[Draft], out: &mut Vec<u8>) {
    for d in drafts {
        let line = Line {
            at: d.at.timestamp_micros(),
            actor: d.actor.clone(),
            action: d.action.as_str().to_string(),
            object: d.object.clone(),
            object_id: d.object_id,
            person_id: d.person_id,
            detail: d.detail.clone(),
        };
        // Serializing plain strings, numbers and ids cannot fail.
        if serde_json::to_writer(&mut *out, &line).is_ok() {
            out.push(b'\n');
        }
    }
}

/// A segment's drafts, or why one of its lines is unreadable.
///
/// A last line without its newline is a write the crash cut short; its
/// caller never got an answer, so it is dropped. Any other bad line means the
/// file was damaged: the whole segment is refused so nothing is lost silently.
pub fn decode(bytes: &[u8]) -> Result<Vec<Draft>, String> {
    let mut drafts = Vec::new();
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[][..],
    };
    for (i, raw) in complete.split(|&b| b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let bad = |why: String| format!("line {}: {why}", i + 1);
        let line: Line = serde_json::from_slice(raw).map_err(|e| bad(e.to_string()))?;
        let action = Action::parse(&line.action)
            .ok_or_else(|| bad(format!("unknown action `{}`", line.action)))?;
        let at = DateTime::from_timestamp_micros(line.at)
            .ok_or_else(|| bad("timestamp out of range".into()))?;
        drafts.push(Draft {
            at,
            actor: line.actor,
            action,
            object: line.object,
            object_id: line.object_id,
            person_id: line.person_id,
            detail: line.detail,
        });
    }
    Ok(drafts)
}

/// A journal directory this process holds the lock of.
pub struct Journal {
    dir: PathBuf,
    /// Held open for its lock; released when the journal is dropped.
    _lock: File,
    next: u64,
}

/// A segment file being written.
pub struct Segment {
    pub path: PathBuf,
    file: File,
}

impl Segment {
    /// Writes `bytes` in one call; the entries are journaled when it returns.
    pub fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)
    }
}

impl Journal {
    /// Creates `dir` if needed and takes its lock.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("LOCK"))?;
        lock.try_lock().map_err(|_| {
            std::io::Error::other(format!(
                "another tracedesk process is using the audit journal in {}",
                dir.display()
            ))
        })?;
        let next = chrono::Utc::now().timestamp_micros().max(0) as u64;
        Ok(Self {
            dir: dir.to_path_buf(),
            _lock: lock,
            next,
        })
    }

    /// Segments left behind, oldest first.
    pub fn leftovers(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                found.push(path);
            }
        }
        found.sort();
        Ok(found)
    }

    /// Starts a new segment, named after every earlier one.
    pub fn segment(&mut self) -> std::io::Result<Segment> {
        let now = chrono::Utc::now().timestamp_micros().max(0) as u64;
        self.next = self.next.max(now) + 1;
        let path = self.dir.join(format!("{:020}.jsonl", self.next));
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)?;
        Ok(Segment { path, file })
    }

    /// Keeps a segment that could not be read beside the journal, renamed so
    /// it is not retried, for an operator to inspect.
    pub fn set_aside(path: &Path) -> std::io::Result<PathBuf> {
        let kept = path.with_extension("unreadable");
        std::fs::rename(path, &kept)?;
        Ok(kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(detail: &str) -> Draft {
        Draft {
            at: tracedesk_store::audit::now(),
            actor: "user:1".into(),
            action: Action::PhiRead,
            object: "case".into(),
            object_id: Some(Uuid::new_v4()),
            person_id: None,
            detail: detail.into(),
        }
    }

    #[test]
    fn round_trip_and_torn_tail() {
        let drafts = vec![draft("GET /a\n\"quoted\""), draft("")];
        let mut bytes = Vec::new();
        encode(&drafts, &mut bytes);
        assert_eq!(decode(&bytes).unwrap(), drafts);
        // A write cut short by a crash: the incomplete line is dropped.
        let torn = &bytes[..bytes.len() - 5];
        assert_eq!(decode(torn).unwrap(), drafts[..1].to_vec());
    }

    #[test]
    fn damage_is_refused_with_the_line() {
        let mut bytes = Vec::new();
        encode(&[draft("x")], &mut bytes);
        bytes.extend_from_slice(b"{not json}\n");
        encode(&[draft("y")], &mut bytes);
        let e = decode(&bytes).unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
    }

    #[test]
    fn one_process_per_journal() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path()).unwrap();
        let e = Journal::open(dir.path()).err().unwrap();
        assert!(e.to_string().contains("another tracedesk process"), "{e}");
        let a = j.segment().unwrap().path;
        let b = j.segment().unwrap().path;
        assert!(a < b);
        assert_eq!(j.leftovers().unwrap(), vec![a, b]);
    }
}
