//! The de-identified line list analysts see: one row per case with an age
//! band instead of a birth date and no name, phone, email, address or
//! person id (HIPAA safe-harbour style; dates are kept, as the issue allows
//! for surveillance analysis).

use crate::intake::{page_limit, parse_cursor};
use crate::{CaseworkError, Page};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use tracedesk_store::{CaseFilter, ListScope, schema};
use tracedesk_vault::FieldContext;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LineListRow {
    pub case_id: Uuid,
    /// Whose case it is, for the audit log and for an export's stand-ins
    /// (never sent).
    #[serde(skip)]
    pub person: Uuid,
    pub jurisdiction: String,
    #[schema(schema_with = crate::api_schema::case_status)]
    pub status: String,
    pub age_band: &'static str,
    pub report_date: NaiveDate,
    pub specimen_date: NaiveDate,
    pub onset_date: Option<NaiveDate>,
    pub asymptomatic: bool,
    pub isolation_end: NaiveDate,
}

/// The static name of a stored stub band (unknown text reads as unknown).
fn band_name(b: &str) -> &'static str {
    const BANDS: [&str; 10] = [
        "0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+", "unknown",
    ];
    BANDS.into_iter().find(|x| *x == b).unwrap_or("unknown")
}

/// Age bands of CDC's COVID-19 case surveillance public data.
pub fn age_band(dob: Option<NaiveDate>, on: NaiveDate) -> &'static str {
    let Some(dob) = dob else {
        return "unknown";
    };
    let mut age = on.year() - dob.year();
    if (on.month(), on.day()) < (dob.month(), dob.day()) {
        age -= 1;
    }
    match age {
        i32::MIN..=-1 => "unknown",
        0..=9 => "0-9",
        10..=19 => "10-19",
        20..=29 => "20-29",
        30..=39 => "30-39",
        40..=49 => "40-49",
        50..=59 => "50-59",
        60..=69 => "60-69",
        70..=79 => "70-79",
        _ => "80+",
    }
}

/// What a line list is narrowed to: a case status, and a range of report
/// dates (both ends included). The jurisdictions are the caller's.
#[derive(Debug, Clone, Default)]
pub struct LineListFilter {
    pub status: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl LineListFilter {
    /// The filter, checked: a known status, `from` not after `to`.
    fn check(&self) -> Result<(), CaseworkError> {
        if let Some(s) = &self.status
            && tracedesk_domain::CaseStatus::parse(s).is_none()
        {
            return Err(CaseworkError::invalid("status", "is not a case status"));
        }
        if let (Some(f), Some(t)) = (self.from, self.to)
            && f > t
        {
            return Err(CaseworkError::invalid("from", "is after `to`"));
        }
        Ok(())
    }
}

impl crate::services::Cases<'_> {
    /// A page of the line list within `jurisdictions`, narrowed by `filter`.
    pub async fn line_list(
        &self,
        jurisdictions: Vec<String>,
        filter: &LineListFilter,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<LineListRow>, CaseworkError> {
        filter.check()?;
        let limit = page_limit(limit)?;
        let rows = self
            .store
            .list_cases(&CaseFilter {
                status: filter.status.clone(),
                report_from: filter.from,
                report_to: filter.to,
                before: parse_cursor(cursor)?,
                limit,
                scope: Some(ListScope::Within {
                    jurisdictions,
                    team_members: Vec::new(),
                }),
                ..Default::default()
            })
            .await?;
        let ids: Vec<Uuid> = rows.iter().map(|c| c.person_id).collect();
        let persons: std::collections::HashMap<Uuid, tracedesk_store::PersonRow> = self
            .store
            .get_persons(&ids)
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        crate::intake::page(
            &rows,
            limit,
            |c| c.id,
            |c| {
                let person = persons.get(&c.person_id);
                let stub = person.and_then(|p| p.age_band.clone());
                let dob = match person {
                    Some(p) => p
                        .dob
                        .as_ref()
                        .map(|d| {
                            self.vault.open_string(
                                &FieldContext::new(schema::PERSONS.name, "dob", p.id),
                                d,
                            )
                        })
                        .transpose()?
                        .and_then(|d| d.parse::<NaiveDate>().ok()),
                    None => None,
                };
                Ok(LineListRow {
                    case_id: c.id,
                    person: c.person_id,
                    jurisdiction: c.jurisdiction.clone(),
                    status: c.status.clone(),
                    age_band: match &stub {
                        Some(b) => band_name(b),
                        None => age_band(dob, c.report_date),
                    },
                    report_date: c.report_date,
                    specimen_date: c.specimen_date,
                    onset_date: c.onset_date,
                    asymptomatic: c.asymptomatic,
                    isolation_end: c.isolation_end,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(age_band(Some(d("2000-06-15")), d("2020-06-14")), "10-19");
        assert_eq!(age_band(Some(d("2000-06-15")), d("2020-06-15")), "20-29");
        assert_eq!(age_band(Some(d("1930-01-01")), d("2020-06-15")), "80+");
        assert_eq!(age_band(None, d("2020-06-15")), "unknown");
    }
}
