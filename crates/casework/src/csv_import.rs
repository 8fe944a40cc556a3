//! Lab results from CSV files (`tracedesk import labs --csv FILE`).
//!
//! A broken line (wrong number of fields, invalid UTF-8, a bad value) is
//! reported with its line number and column and every other line is still
//! imported. The report holds line numbers, column names and reasons only,
//! never a value from the file.

use crate::csv_profile::{CsvProfile, Encoding};
use crate::{LabResultInput, input::LAB_FIELDS};
use std::io::{Read, Write};

/// Lines handed to intake at once; intake pipelines them in transactions of
/// `INTAKE_BATCH`, sealing one batch while the previous one is written.
pub const IMPORT_BATCH: usize = 10 * crate::intake::INTAKE_BATCH;

/// Columns a lab CSV must have.
pub fn required_columns() -> impl Iterator<Item = &'static str> {
    LAB_FIELDS.iter().filter(|(_, r)| *r).map(|(n, _)| *n)
}

/// Columns a lab CSV may have.
pub fn known_columns() -> impl Iterator<Item = &'static str> {
    LAB_FIELDS.iter().map(|(n, _)| *n)
}

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("the CSV header cannot be read: {0}")]
    Header(String),
    #[error("the CSV header lacks required column(s): {0}")]
    MissingColumns(String),
    #[error("column `{0}` appears twice in the header")]
    DuplicateColumn(String),
    #[error("cannot write the error report: {0}")]
    Report(std::io::Error),
    /// The batch was recorded but its audit entries could not be written;
    /// the import stops rather than go on unaudited.
    #[error("the audit log could not record the imported batch: {0}")]
    Audit(String),
}

/// One rejected line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub lines: u64,
    pub recorded: u64,
    pub duplicates: u64,
    pub cases_created: u64,
    pub rejected: u64,
    pub ignored_columns: Vec<String>,
}

/// Progress after each batch: lines read so far and bytes consumed.
pub struct ImportProgress {
    pub lines: u64,
    pub bytes: u64,
}

impl crate::services::Cases<'_> {
    /// Imports a lab CSV, writing one report line per rejected input line
    /// (`line,field,error`) to `report`.
    pub async fn import_lab_csv<R: Read, W: Write>(
        &self,
        reader: R,
        report: &mut W,
        progress: impl FnMut(&ImportProgress),
    ) -> Result<ImportSummary, CsvError> {
        self.import_lab_csv_as(&CsvProfile::default(), reader, report, progress)
            .await
    }

    /// [`Self::import_lab_csv`] for a file laid out as `profile` says:
    /// its headers, encoding, delimiter and date order. Rejected lines are
    /// reported under the file's own header names.
    pub async fn import_lab_csv_as<R: Read, W: Write>(
        &self,
        profile: &CsvProfile,
        reader: R,
        report: &mut W,
        mut progress: impl FnMut(&ImportProgress),
    ) -> Result<ImportSummary, CsvError> {
        let reader: Box<dyn Read + '_> = match profile.encoding {
            Encoding::Utf8 => Box::new(reader),
            Encoding::Windows1252 => Box::new(crate::csv_profile::Cp1252::new(reader)),
        };
        let mut rdr = csv::ReaderBuilder::new()
            .flexible(true)
            .delimiter(profile.delimiter)
            .trim(csv::Trim::All)
            .from_reader(reader);
        let header = rdr
            .byte_headers()
            .map_err(|e| CsvError::Header(e.to_string()))?
            .clone();
        let mut columns = Vec::with_capacity(header.len());
        let mut summary = ImportSummary::default();
        for raw in header.iter() {
            let name = std::str::from_utf8(raw)
                .map_err(|_| CsvError::Header("a column name is not valid UTF-8".into()))?
                .trim_start_matches('\u{feff}')
                .trim()
                .to_string();
            match profile.field_of(&name) {
                Some(field) => {
                    if columns.iter().any(|c| c == field) {
                        return Err(CsvError::DuplicateColumn(name.to_ascii_lowercase()));
                    }
                    columns.push(field.to_string());
                }
                None => {
                    summary.ignored_columns.push(name.to_ascii_lowercase());
                    // Not a field: `set` ignores it.
                    columns.push(format!(" {name}"));
                }
            }
        }
        let missing: Vec<String> = required_columns()
            .filter(|c| !columns.iter().any(|x| x == c))
            .map(|c| match profile.header_of(c) {
                h if h == c => c.to_string(),
                h => format!("{c} (as \"{h}\")"),
            })
            .collect();
        if !missing.is_empty() {
            return Err(CsvError::MissingColumns(missing.join(", ")));
        }
        writeln!(report, "line,field,error").map_err(CsvError::Report)?;

        let mut batch: Vec<(u64, LabResultInput)> = Vec::with_capacity(IMPORT_BATCH);
        let mut record = csv::ByteRecord::new();
        loop {
            let read = rdr.read_byte_record(&mut record);
            let line = record
                .position()
                .map(|p| p.line())
                .unwrap_or(summary.lines + 2);
            let more = match read {
                Ok(more) => more,
                Err(e) => {
                    summary.lines += 1;
                    let line = e.position().map(|p| p.line()).unwrap_or(line);
                    self.reject(report, &mut summary, line, "", "the line is not valid CSV")?;
                    continue;
                }
            };
            if more {
                // A quoted field may hold line breaks, so one record can run
                // over several lines; every one of them is accounted for.
                // The reader now stands at the next record's first line.
                let last = rdr.position().line().saturating_sub(1).max(line);
                summary.lines += last - line + 1;
                match self.row_input(profile, &columns, &record) {
                    Ok(input) => batch.push((line, input)),
                    Err((field, msg)) if last > line => {
                        self.reject(
                            report,
                            &mut summary,
                            line,
                            &field,
                            &format!(
                                "{msg}; the record runs from line {line} to line {last}: \
                                 is a quote left open on line {line}?"
                            ),
                        )?;
                        for swallowed in line + 1..=last {
                            self.reject(
                                report,
                                &mut summary,
                                swallowed,
                                "",
                                &format!(
                                    "not imported: read as part of the record that starts on \
                                     line {line}; fix that line and import the file again"
                                ),
                            )?;
                        }
                    }
                    Err((field, msg)) => self.reject(report, &mut summary, line, &field, &msg)?,
                }
            }
            if batch.len() >= IMPORT_BATCH || (!more && !batch.is_empty()) {
                let (lines, inputs): (Vec<u64>, Vec<LabResultInput>) =
                    std::mem::take(&mut batch).into_iter().unzip();
                let outcomes = self.ingest_lab_results(&inputs).await;
                // One entry per recorded result, so each person's disclosure
                // record shows the import.
                if let Some(a) = &self.auditor {
                    let drafts =
                        crate::LabOutcomeView::audit_drafts(&outcomes, "cli", "import labs --csv");
                    a.record(drafts)
                        .await
                        .map_err(|e| CsvError::Audit(e.to_string()))?;
                }
                for (o, line) in outcomes.iter().zip(lines) {
                    match &o.error {
                        Some(e) => self.reject(
                            report,
                            &mut summary,
                            line,
                            profile.header_of(e.field.as_deref().unwrap_or("")),
                            &e.message,
                        )?,
                        None if o.status == "duplicate" => summary.duplicates += 1,
                        None => {
                            summary.recorded += 1;
                            summary.cases_created += u64::from(o.case_created);
                        }
                    }
                }
                progress(&ImportProgress {
                    lines: summary.lines,
                    bytes: rdr.position().byte(),
                });
            }
            if !more {
                break;
            }
        }
        report.flush().map_err(CsvError::Report)?;
        Ok(summary)
    }

    fn row_input(
        &self,
        profile: &CsvProfile,
        columns: &[String],
        record: &csv::ByteRecord,
    ) -> Result<LabResultInput, (String, String)> {
        let own = |c: &str| profile.header_of(c).to_string();
        if record.len() != columns.len() {
            return Err((
                String::new(),
                format!(
                    "has {} fields; the header has {}",
                    record.len(),
                    columns.len()
                ),
            ));
        }
        let mut input = LabResultInput::default();
        for (col, raw) in columns.iter().zip(record.iter()) {
            let value = std::str::from_utf8(raw)
                .map_err(|_| (own(col), "is not valid UTF-8 text".to_string()))?;
            if value.is_empty() {
                continue;
            }
            let value = if matches!(col.as_str(), "dob" | "specimen_date") {
                profile.date(value).map_err(|msg| (own(col), msg))?
            } else {
                value.to_string()
            };
            input.set(col, value);
        }
        Ok(input)
    }

    fn reject<W: Write>(
        &self,
        report: &mut W,
        s: &mut ImportSummary,
        line: u64,
        field: &str,
        msg: &str,
    ) -> Result<(), CsvError> {
        s.rejected += 1;
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record([line.to_string().as_str(), field, msg]);
        let bytes = w.into_inner().unwrap_or_default();
        report.write_all(&bytes).map_err(CsvError::Report)
    }
}
