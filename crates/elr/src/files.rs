//! Lab reports from files (`tracedesk import elr FILE|DIR`): each file a
//! message, several messages, or a batch (`FHS`/`BHS` … `BTS`/`FTS`).
//! Every message is received as if it came over MLLP; the ACKs can be
//! written out for the lab, and the report names each refused message by
//! file, line and control id with where its faults are — never a value.

use crate::{Elr, Source};
use std::io::Write;
use std::path::{Path, PathBuf};
use tracedesk_hl7::{AckCode, split_batch};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FilesSummary {
    pub files: usize,
    pub messages: usize,
    pub accepted: usize,
    pub errors: usize,
    pub rejected: usize,
    pub recorded: usize,
    pub duplicates: usize,
    pub cases_created: usize,
    pub dead_letters: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write the report: {0}")]
    Report(std::io::Error),
}

/// The files to import: `path` itself, or the regular files of the
/// directory `path` (not recursive), in name order.
pub fn files_of(path: &Path) -> Result<Vec<PathBuf>, FilesError> {
    let read = |e: std::io::Error| FilesError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(read)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.') || n.ends_with(".ack"))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Imports `files`, writing a line per refused message to `report`
/// (`file:line control-id CODE where: why`) and, when given, every ACK to
/// `acks`; `progress` gets the messages done so far after each.
pub async fn import(
    elr: &Elr,
    files: &[PathBuf],
    report: &mut dyn Write,
    mut acks: Option<&mut dyn Write>,
    mut progress: impl FnMut(usize),
) -> Result<FilesSummary, FilesError> {
    let mut s = FilesSummary::default();
    for path in files {
        let bytes = std::fs::read(path).map_err(|e| FilesError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let text = crate::receive::text_of(&bytes);
        s.files += 1;
        let batch = split_batch(&text);
        let name = path.display();
        for (said, held) in batch.count_mismatches() {
            writeln!(
                report,
                "{name}: the batch trailer (BTS-1) counts {said} messages; the batch holds {held}"
            )
            .map_err(FilesError::Report)?;
        }
        for line in &batch.stray_lines {
            writeln!(
                report,
                "{name}:{line}: a line outside any message was skipped"
            )
            .map_err(FilesError::Report)?;
        }
        for m in &batch.messages {
            let r = elr.receive(m.text.as_bytes(), Source::File).await;
            s.messages += 1;
            s.recorded += r.recorded;
            s.duplicates += r.duplicates;
            s.cases_created += r.cases_created;
            s.dead_letters += usize::from(r.dead_letter.is_some());
            match r.code {
                AckCode::Accept => s.accepted += 1,
                AckCode::Error => s.errors += 1,
                AckCode::Reject => s.rejected += 1,
            }
            if r.code != AckCode::Accept || !r.faults.is_empty() {
                writeln!(
                    report,
                    "{name}:{} {} {}: {}",
                    m.line,
                    r.control_id.as_deref().unwrap_or("-"),
                    r.code.as_str(),
                    r.faults.join("; ")
                )
                .map_err(FilesError::Report)?;
            }
            if let Some(w) = acks.as_deref_mut() {
                w.write_all(r.ack.replace('\r', "\r\n").as_bytes())
                    .map_err(FilesError::Report)?;
            }
            progress(s.messages);
        }
    }
    Ok(s)
}
