//! Opened (plaintext) views of stored rows, as the API returns them.

use crate::CaseworkError;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracedesk_domain::CaseStatus;
use tracedesk_store::{
    CaseRow, ExposureRow, LabResultRow, PersonFacetRow, PersonRow, Sealed, schema,
};
use tracedesk_vault::FieldContext;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PersonView {
    pub id: Uuid,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub dob: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl PersonView {
    /// First and last name as one, what is known of them.
    pub fn full_name(&self) -> String {
        [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CaseView {
    pub id: Uuid,
    /// The person as the case's jurisdiction knows them.
    pub person_id: Uuid,
    /// The person's own id, for the audit log (never sent).
    #[serde(skip)]
    pub person: Uuid,
    #[schema(schema_with = crate::api_schema::case_status)]
    pub status: String,
    pub report_date: NaiveDate,
    pub specimen_date: NaiveDate,
    pub onset_date: Option<NaiveDate>,
    pub asymptomatic: bool,
    pub infectious_start: NaiveDate,
    pub isolation_end: NaiveDate,
    pub symptoms: Vec<String>,
    /// The first day without fever.
    #[schema(schema_with = crate::api_schema::date)]
    pub fever_free_since: Option<NaiveDate>,
    pub improving: Option<bool>,
    /// Severe illness or immunocompromise: the longer isolation.
    pub severe: bool,
    /// What holds the case in isolation today (empty: it may be released).
    pub release_holds: Vec<ReleaseHoldView>,
    /// The tracer who holds the investigation (single-case reads only).
    pub investigator_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One reason a case cannot yet leave isolation.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ReleaseHoldView {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub detail: tracedesk_domain::ReleaseHold,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LabResultView {
    pub id: Uuid,
    pub case_id: Option<Uuid>,
    pub specimen_date: NaiveDate,
    pub accession: String,
    #[schema(schema_with = crate::api_schema::lab_result)]
    pub result: String,
    pub test_type: Option<String>,
    pub lab: Option<String>,
    pub ordering_provider: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ContactView {
    pub exposure_id: Uuid,
    pub case_id: Uuid,
    /// The contact as the case's jurisdiction knows them.
    pub contact_person_id: Uuid,
    /// The contact's own id, for the audit log (never sent).
    #[serde(skip)]
    pub person: Uuid,
    pub first_exposure: NaiveDate,
    pub last_exposure: NaiveDate,
    #[schema(schema_with = crate::api_schema::setting)]
    pub setting: String,
    #[schema(schema_with = crate::api_schema::contact_status)]
    pub status: String,
    pub quarantine_end: NaiveDate,
    pub monitoring_days_left: i64,
    pub negative_test_date: Option<NaiveDate>,
    pub notes: Option<String>,
    /// The household exposure goes on while the case isolates.
    pub ongoing_exposure: bool,
    /// The contact's own case (converted, or already a case when named).
    pub contact_case_id: Option<Uuid>,
    /// For a contact of a contact: the record of the contact who named them.
    pub source_exposure_id: Option<Uuid>,
    /// Steps from the case: 1 for its own contacts, 2 for theirs.
    pub depth: i32,
}

/// A task as its assignee's list shows it: ids, kind and schedule, no PHI.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TaskView {
    pub id: Uuid,
    #[schema(schema_with = crate::api_schema::task_kind)]
    pub kind: String,
    #[schema(schema_with = crate::api_schema::task_status)]
    pub status: String,
    pub priority: i32,
    /// The person as the task's jurisdiction knows them.
    pub person_id: Uuid,
    pub case_id: Option<Uuid>,
    pub exposure_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
    pub jurisdiction: String,
}

impl From<&tracedesk_store::TaskRow> for TaskView {
    fn from(t: &tracedesk_store::TaskRow) -> Self {
        Self {
            id: t.id,
            kind: t.kind.clone(),
            status: t.status.clone(),
            priority: t.priority,
            person_id: t.shown_person_id.unwrap_or(t.person_id),
            case_id: t.case_id,
            exposure_id: t.exposure_id,
            due_at: t.due_at,
            jurisdiction: t.jurisdiction.clone(),
        }
    }
}

/// A keyset page: pass `next` back as `cursor` for the following page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl crate::services::Cases<'_> {
    /// The epidemic curve of `jurisdictions`: cases by specimen date over
    /// the last `days` days up to today, every day present (zeros
    /// included), oldest first.
    pub async fn case_curve(
        &self,
        jurisdictions: &[String],
        days: u32,
    ) -> Result<Vec<(NaiveDate, u64)>, CaseworkError> {
        let today = self.today();
        let from = today - chrono::Days::new(u64::from(days.max(1)) - 1);
        let counts: std::collections::BTreeMap<NaiveDate, u64> = self
            .store
            .case_curve(jurisdictions, from)
            .await?
            .into_iter()
            .collect();
        Ok(from
            .iter_days()
            .take_while(|d| *d <= today)
            .map(|d| (d, counts.get(&d).copied().unwrap_or(0)))
            .collect())
    }

    /// The counts behind the CDC indicators in `jurisdictions`: for records
    /// made since the start of today (UTC), and over the last 7 days
    /// (today and the six days before). "Reported today" counts from the
    /// start of today either way.
    pub async fn indicator_counts(
        &self,
        jurisdictions: &[String],
    ) -> Result<
        (
            tracedesk_store::IndicatorCounts,
            tracedesk_store::IndicatorCounts,
        ),
        CaseworkError,
    > {
        let start = self.today().and_time(chrono::NaiveTime::MIN).and_utc();
        let week = start - chrono::Days::new(6);
        let today = self
            .store
            .indicator_counts(jurisdictions, start, start)
            .await?;
        let last7 = self
            .store
            .indicator_counts(jurisdictions, week, start)
            .await?;
        Ok((today, last7))
    }

    /// Transmission links (the case that named a contact, the case they
    /// are or became) made over the last `days` days in `jurisdictions`,
    /// newest first, at most `limit`: ids only.
    pub async fn transmission_links(
        &self,
        jurisdictions: &[String],
        days: u32,
        limit: u32,
    ) -> Result<Vec<(Uuid, Uuid)>, CaseworkError> {
        let since = self.now() - chrono::Days::new(u64::from(days));
        Ok(self
            .store
            .transmission_links(jurisdictions, since, limit)
            .await?)
    }

    /// Assigns a task by hand (`Some`) or returns it to the queue (`None`),
    /// and returns its new status. Routing follows at once when this node
    /// leads routing, else within a second: it assigns the task to the same
    /// person (or lets go, if they are not a routing worker), or lets go of
    /// a returned task and routes it anew.
    pub async fn assign_task(
        &self,
        id: uuid::Uuid,
        assignee: Option<uuid::Uuid>,
    ) -> Result<&'static str, CaseworkError> {
        // An investigation is not routed work: it follows the case's
        // investigator, who is changed on the case.
        let investigation = tracedesk_domain::TaskKind::Investigation.as_str();
        if self
            .store
            .get_task(id)
            .await?
            .is_some_and(|t| t.kind == investigation)
        {
            return Err(CaseworkError::Conflict(
                "an investigation follows the case: use PUT /api/v1/cases/{id}/investigator".into(),
            ));
        }
        let status = self.store.assign_task(id, assignee).await?;
        self.tasks_made();
        Ok(status)
    }

    pub(crate) fn open_opt(
        &self,
        table: &str,
        column: &str,
        row: Uuid,
        v: &Option<Sealed>,
    ) -> Result<Option<String>, CaseworkError> {
        v.as_ref()
            .map(|s| {
                self.vault
                    .open_string(&FieldContext::new(table, column, row), s)
            })
            .transpose()
            .map_err(Into::into)
    }

    /// Opens a person row the caller has already been allowed to see.
    pub fn person_view(&self, p: &PersonRow) -> Result<PersonView, CaseworkError> {
        let t = schema::PERSONS.name;
        Ok(PersonView {
            id: p.id,
            first_name: self.open_opt(t, "first_name", p.id, &p.first_name)?,
            last_name: self.open_opt(t, "last_name", p.id, &p.last_name)?,
            dob: self.open_opt(t, "dob", p.id, &p.dob)?,
            phone: self.open_opt(t, "phone", p.id, &p.phone)?,
            email: self.open_opt(t, "email", p.id, &p.email)?,
            address: self.open_opt(t, "address", p.id, &p.address)?,
            language: self.open_opt(t, "language", p.id, &p.language)?,
            created_at: p.created_at,
        })
    }

    /// Opens a facet: the person as its jurisdiction recorded them, under
    /// the facet's id (sealed as the person row it would have been).
    /// A person or facet, opened, as the record it is.
    pub fn view_of(&self, p: &crate::PersonRef) -> Result<PersonView, CaseworkError> {
        match p {
            crate::PersonRef::Person(row) => self.person_view(row),
            crate::PersonRef::Facet(f) => self.facet_view(f),
        }
    }

    /// The person named by `id` (a person or a facet), opened; `None` when
    /// no such record exists.
    pub async fn view_by_id(&self, id: Uuid) -> Result<Option<PersonView>, CaseworkError> {
        self.person_ref(id)
            .await?
            .map(|p| self.view_of(&p))
            .transpose()
    }

    pub fn facet_view(&self, f: &PersonFacetRow) -> Result<PersonView, CaseworkError> {
        let t = schema::PERSON_FACETS.sealed_as;
        Ok(PersonView {
            id: f.id,
            first_name: self.open_opt(t, "first_name", f.id, &f.first_name)?,
            last_name: self.open_opt(t, "last_name", f.id, &f.last_name)?,
            dob: self.open_opt(t, "dob", f.id, &f.dob)?,
            phone: self.open_opt(t, "phone", f.id, &f.phone)?,
            email: self.open_opt(t, "email", f.id, &f.email)?,
            address: self.open_opt(t, "address", f.id, &f.address)?,
            language: self.open_opt(t, "language", f.id, &f.language)?,
            created_at: f.created_at,
        })
    }

    /// Opens a case row the caller has already been allowed to see; its
    /// person is shown as the case's jurisdiction knows them.
    pub fn case_view(&self, c: &CaseRow) -> Result<CaseView, CaseworkError> {
        let t = schema::CASES.name;
        let symptoms = self
            .open_opt(t, "symptoms", c.id, &c.symptoms)?
            .map(|s| serde_json::from_str::<Vec<String>>(&s))
            .transpose()
            .map_err(|_| CaseworkError::Vault(tracedesk_vault::VaultError::Malformed))?
            .unwrap_or_default();
        let clinical = self.clinical_of(c)?;
        let open = CaseStatus::parse(&c.status).is_some_and(CaseStatus::is_open);
        let release_holds = if open {
            self.settings
                .rules
                .release_holds(c.onset_date, c.specimen_date, &clinical, self.today())
                .into_iter()
                .map(|h| ReleaseHoldView {
                    message: h.message(),
                    detail: h,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(CaseView {
            id: c.id,
            person_id: c.shown_person_id.unwrap_or(c.person_id),
            person: c.person_id,
            status: c.status.clone(),
            report_date: c.report_date,
            specimen_date: c.specimen_date,
            onset_date: c.onset_date,
            asymptomatic: c.asymptomatic,
            infectious_start: c.infectious_start,
            isolation_end: c.isolation_end,
            symptoms,
            fever_free_since: clinical.fever_free_since,
            improving: clinical.improving,
            severe: clinical.severe,
            release_holds,
            investigator_id: None,
            created_at: c.created_at,
            updated_at: c.updated_at,
        })
    }

    pub(crate) fn lab_view(&self, l: &LabResultRow) -> Result<LabResultView, CaseworkError> {
        let t = schema::LAB_RESULTS.name;
        // A purged result keeps no accession or result to open.
        let open = |col: &str, v: &Sealed| {
            if v.is_empty() {
                return Ok(String::new());
            }
            self.vault.open_string(&FieldContext::new(t, col, l.id), v)
        };
        Ok(LabResultView {
            id: l.id,
            case_id: l.case_id,
            specimen_date: l.specimen_date,
            accession: open("accession", &l.accession)?,
            result: open("result", &l.result)?,
            test_type: self.open_opt(t, "test_type", l.id, &l.test_type)?,
            lab: self.open_opt(t, "lab", l.id, &l.lab)?,
            ordering_provider: self.open_opt(t, "ordering_provider", l.id, &l.ordering_provider)?,
        })
    }

    pub fn contact_view(&self, e: &ExposureRow) -> Result<ContactView, CaseworkError> {
        Ok(ContactView {
            exposure_id: e.id,
            case_id: e.case_id,
            contact_person_id: e.shown_person_id.unwrap_or(e.contact_person_id),
            person: e.contact_person_id,
            first_exposure: e.first_exposure,
            last_exposure: e.last_exposure,
            setting: e.setting.clone(),
            status: e.status.clone(),
            quarantine_end: e.quarantine_end,
            monitoring_days_left: (e.quarantine_end - self.today()).num_days().max(0),
            negative_test_date: e.negative_test_date,
            notes: self.open_opt(schema::EXPOSURES.name, "notes", e.id, &e.notes)?,
            ongoing_exposure: e.ongoing,
            contact_case_id: e.contact_case_id,
            source_exposure_id: e.source_exposure_id,
            depth: e.depth,
        })
    }
}

impl crate::services::Cases<'_> {
    /// A case's row, unopened: what an access check reads (jurisdiction,
    /// person) before anything is opened.
    pub async fn case_row(&self, id: Uuid) -> Result<Option<CaseRow>, CaseworkError> {
        Ok(self.store.get_case(id).await?)
    }

    /// A contact record's row, unopened (see [`Casework::case_row`]).
    pub async fn exposure_row(&self, id: Uuid) -> Result<Option<ExposureRow>, CaseworkError> {
        Ok(self.store.get_exposure(id).await?)
    }

    /// A lab result's row, unopened (see [`Casework::case_row`]).
    pub async fn lab_row(&self, id: Uuid) -> Result<Option<LabResultRow>, CaseworkError> {
        Ok(self.store.get_lab_result(id).await?)
    }

    /// A lab result, opened: for a caller already entitled to it.
    pub fn lab_result_view(&self, l: &LabResultRow) -> Result<LabResultView, CaseworkError> {
        self.lab_view(l)
    }

    /// A person's lab results as rows (the jurisdiction each belongs to
    /// decides who sees it).
    pub async fn person_lab_rows(&self, person: Uuid) -> Result<Vec<LabResultRow>, CaseworkError> {
        Ok(self.store.lab_results_for_person(person).await?)
    }

    /// The id each jurisdiction knows each of these persons by, where it
    /// is a facet's: `(person, jurisdiction)` → facet id. A jurisdiction
    /// missing from it knows the person by their own id.
    pub async fn shown_ids(
        &self,
        persons: &[Uuid],
    ) -> Result<std::collections::HashMap<(Uuid, String), Uuid>, CaseworkError> {
        Ok(self.store.facet_ids(persons).await?)
    }

    /// A task's row (ids, kind, status, schedule; no PHI).
    pub async fn task_row(
        &self,
        id: Uuid,
    ) -> Result<Option<tracedesk_store::TaskRow>, CaseworkError> {
        Ok(self.store.get_task(id).await?)
    }

    /// The tasks of a case and of the contact records it named.
    pub async fn tasks_for_case(
        &self,
        case: Uuid,
    ) -> Result<Vec<tracedesk_store::TaskRow>, CaseworkError> {
        Ok(self.store.tasks_for_case(case).await?)
    }
}
