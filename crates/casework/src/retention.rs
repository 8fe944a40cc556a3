//! Retention and sunset: PHI of closed records is replaced by de-identified
//! stubs after a period, and all of it at the end of the emergency. The
//! audit log and the stubs (age band, jurisdiction, outcomes, dates
//! coarsened to their week) stay, so counts and line lists still add up.

use crate::CaseworkError;
use crate::auditor::draft;
use crate::linelist::age_band;
use chrono::{Datelike, Duration, NaiveDate};
use rand::RngCore;
use serde::Serialize;
use tracedesk_store::audit::Action;
use tracedesk_store::{
    CaseFilter, CaseStub, ExposureFilter, ExposureStub, LabStub, PersonPurge, PurgeCutoffs, schema,
};
use tracedesk_vault::FieldContext;
use uuid::Uuid;

/// Days after closure before each record type's PHI is purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionPolicy {
    /// After a person's last case closed.
    pub case_days: u32,
    /// After a person's last contact (exposure) record closed.
    pub contact_days: u32,
    /// For persons with lab results only, after the first result arrived.
    pub lab_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            case_days: 30,
            contact_days: 30,
            lab_days: 30,
        }
    }
}

/// What a purge removed (or, in a dry run, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    pub persons: u64,
    pub cases: u64,
    pub lab_results: u64,
    pub exposures: u64,
    /// Routing log entries deleted (sunset only).
    pub routing_events: u64,
    /// Lab reports kept as dead letters, older than the lab results'
    /// period (all of them, at sunset).
    pub dead_letters: u64,
    pub dry_run: bool,
}

/// The Monday of `d`'s week: the stub keeps when, not which day.
pub fn week_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

const BATCH: u32 = 200;

impl crate::services::Retention<'_> {
    /// Purges persons whose records closed long enough ago under `policy`,
    /// or everyone with `None` (sunset). `progress` gets the persons done.
    pub async fn purge(
        &self,
        policy: Option<RetentionPolicy>,
        dry_run: bool,
        actor: &str,
        progress: impl Fn(u64),
    ) -> Result<PurgeReport, CaseworkError> {
        let now = self.now();
        let days = |d: u32| now - Duration::days(i64::from(d));
        let cutoffs = policy.map(|p| PurgeCutoffs {
            cases: days(p.case_days),
            contacts: days(p.contact_days),
            labs: days(p.lab_days),
        });
        let mut report = PurgeReport {
            dry_run,
            ..Default::default()
        };
        // A dead letter holds a whole lab report: it goes when the lab
        // results' period has passed, replayed or not.
        let letters_before = match cutoffs {
            Some(c) => c.labs,
            None => now + Duration::seconds(1),
        };
        report.dead_letters = self
            .store
            .purge_dead_letters(letters_before, dry_run)
            .await?;
        if report.dead_letters > 0
            && !dry_run
            && let Some(a) = &self.auditor
        {
            a.record(vec![draft(
                actor,
                Action::Purge,
                "elr_dead_letter",
                None,
                None,
                &format!("{} dead letter(s) deleted", report.dead_letters),
            )])
            .await
            .map_err(|e| CaseworkError::Internal(format!("audit failed: {e}")))?;
        }
        if !dry_run {
            // Sign-in failure counters of addresses and unknown names that
            // have been quiet for a day: every name an attacker tried
            // would otherwise stay a row forever.
            self.store
                .prune_client_failures(now - Duration::days(1))
                .await?;
        }
        let mut after = None;
        loop {
            let ids = self.store.purge_candidates(cutoffs, after, BATCH).await?;
            let Some(last) = ids.last() else { break };
            after = Some(*last);
            let mut plans = Vec::with_capacity(ids.len());
            for id in ids {
                plans.push(self.purge_plan(id).await?);
            }
            report.persons += plans.len() as u64;
            for p in &plans {
                report.cases += p.cases.len() as u64;
                report.lab_results += p.labs.len() as u64;
                report.exposures += p.exposures.len() as u64;
            }
            if !dry_run {
                self.store.purge_persons(&plans, now).await?;
                if let Some(a) = &self.auditor {
                    let what = if policy.is_some() {
                        "retention purge"
                    } else {
                        "sunset"
                    };
                    a.record(
                        plans
                            .iter()
                            .map(|p| {
                                draft(
                                    actor,
                                    Action::Purge,
                                    "person",
                                    Some(p.person_id),
                                    Some(p.person_id),
                                    what,
                                )
                            })
                            .collect(),
                    )
                    .await
                    .map_err(|e| CaseworkError::Internal(format!("audit failed: {e}")))?;
                }
            }
            progress(report.persons);
        }
        let mut routing_events = 0;
        if policy.is_none() && !dry_run {
            // Sunset ends routing too: its log may name people's languages.
            routing_events = self.store.clear_routing().await?;
            if routing_events > 0
                && let Some(a) = &self.auditor
            {
                a.record(vec![draft(
                    actor,
                    Action::Purge,
                    "routing_log",
                    None,
                    None,
                    "sunset",
                )])
                .await
                .map_err(|e| CaseworkError::Internal(format!("audit failed: {e}")))?;
            }
        }
        if !dry_run && (report.persons > 0 || routing_events > 0) {
            self.store.compact().await?;
        }
        report.routing_events = routing_events;
        Ok(report)
    }

    /// The stub values for one person, computed from their opened rows.
    async fn purge_plan(&self, person_id: Uuid) -> Result<PersonPurge, CaseworkError> {
        let person = self
            .store
            .get_person(person_id)
            .await?
            .ok_or(CaseworkError::NotFound("person"))?;
        let cases = self
            .store
            .list_cases(&CaseFilter {
                person_id: Some(person_id),
                limit: 10_000,
                ..Default::default()
            })
            .await?;
        let dob = person
            .dob
            .as_ref()
            .map(|d| {
                self.vault.open_string(
                    &FieldContext::new(schema::PERSONS.name, "dob", person_id),
                    d,
                )
            })
            .transpose()?
            .and_then(|d| d.parse::<NaiveDate>().ok());
        let on = cases
            .iter()
            .map(|c| c.report_date)
            .min()
            .unwrap_or_else(|| person.created_at.date_naive());
        let labs = self.store.lab_results_for_person(person_id).await?;
        let exposures = self
            .store
            .list_exposures(&ExposureFilter {
                contact_case_id: None,
                contact_person_id: Some(person_id),
                limit: 10_000,
                ..Default::default()
            })
            .await?;
        let mut lab_stubs = Vec::with_capacity(labs.len());
        for l in &labs {
            let outcome = if l.result.is_empty() {
                "unknown".to_string()
            } else {
                self.vault.open_string(
                    &FieldContext::new(schema::LAB_RESULTS.name, "result", l.id),
                    &l.result,
                )?
            };
            let mut bidx = vec![0u8; 16];
            rand::rngs::OsRng.fill_bytes(&mut bidx);
            lab_stubs.push(LabStub {
                id: l.id,
                specimen_date: week_of(l.specimen_date),
                outcome,
                accession_bidx: bidx,
            });
        }
        Ok(PersonPurge {
            person_id,
            age_band: person
                .age_band
                .clone()
                .unwrap_or_else(|| age_band(dob, on).to_string()),
            cases: cases
                .iter()
                .map(|c| CaseStub {
                    id: c.id,
                    report_date: week_of(c.report_date),
                    specimen_date: week_of(c.specimen_date),
                    onset_date: c.onset_date.map(week_of),
                    infectious_start: week_of(c.infectious_start),
                    isolation_end: week_of(c.isolation_end),
                })
                .collect(),
            labs: lab_stubs,
            exposures: exposures
                .iter()
                .map(|e| ExposureStub {
                    id: e.id,
                    first_exposure: week_of(e.first_exposure),
                    last_exposure: week_of(e.last_exposure),
                    quarantine_end: week_of(e.quarantine_end),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(week_of(d("2026-11-29")), d("2026-11-23")); // a Sunday
        assert_eq!(week_of(d("2026-11-23")), d("2026-11-23"));
    }
}
