//! Operations: lab intake, cases, contacts and person look-up.

use crate::input::{ContactPatch, SearchKey, ValidLab};
use crate::seal::{
    accession_key, email_key, match_keys, name_dob_key, points_of, seal_opt, seal_person,
};
use crate::views::{CaseView, ContactView, LabResultView, Page, PersonView, TaskView};
use crate::{
    CasePatch, Casework, CaseworkError, ContactInput, ItemError, LabResultInput, PersonSearch,
};
use chrono::NaiveDate;
use serde::Serialize;
use tracedesk_domain::{CaseStatus, ContactStatus, ExposureWarning, LabOutcome, TaskKind};
use tracedesk_store::{
    CaseFilter, CaseRow, ExposureFilter, ExposureRow, LabIntake, LabResultRow, ListScope,
    PersonKey, TaskRow, schema,
};
use tracedesk_vault::BlindKind;
use uuid::Uuid;

/// Lab results per store transaction during intake. Blind indexes are random,
/// so every transaction rewrites most leaf pages of their B-trees; larger
/// transactions rewrite each page fewer times (500 → 2,500 was +25% on SQLite).
pub const INTAKE_BATCH: usize = 2_500;

/// One batch after validation and sealing.
#[derive(Default)]
struct Prepared {
    ready: Vec<(usize, LabIntake)>,
    rejected: Vec<LabOutcomeView>,
    /// Implausible dates of the ready items, by index: kept on the record.
    warnings: Vec<(usize, String, Vec<tracedesk_domain::DataWarning>)>,
}

/// What happened to one submitted lab result.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct LabOutcomeView {
    pub index: usize,
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab_result_id: Option<Uuid>,
    /// The person as the submitting jurisdiction knows them: their id, or
    /// the id of that jurisdiction's facet when they were first recorded
    /// elsewhere (a match is not revealed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<Uuid>,
    /// The person's own id, for the audit log (never sent).
    #[serde(skip)]
    pub person: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub person_created: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub case_created: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
    /// For a duplicate, the result already recorded under its accession
    /// (checked for a conflict, never sent).
    #[serde(skip)]
    pub duplicate_of: Option<Uuid>,
    /// Contact records the positive converted, for the audit log (never
    /// sent: they may be another jurisdiction's).
    #[serde(skip)]
    pub converted: Vec<Uuid>,
    /// Implausible dates, kept on the record too.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::investigation::WarningView>,
}

impl LabOutcomeView {
    /// The cases a batch's results were recorded on, in submission order.
    pub fn cases(outcomes: &[Self]) -> Vec<Uuid> {
        outcomes.iter().filter_map(|o| o.case_id).collect()
    }

    pub fn rejected(index: usize, error: ItemError) -> Self {
        Self {
            index,
            status: "rejected",
            lab_result_id: None,
            person_id: None,
            person: None,
            case_id: None,
            person_created: false,
            case_created: false,
            error: Some(error),
            duplicate_of: None,
            converted: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn is_rejected(&self) -> bool {
        self.error.is_some()
    }

    /// One audit entry per result recorded (not a duplicate), naming its
    /// person, so each person's disclosure record shows the import.
    pub fn audit_drafts(
        outcomes: &[Self],
        actor: &str,
        detail: &str,
    ) -> Vec<tracedesk_store::audit::Draft> {
        outcomes
            .iter()
            .filter(|o| o.error.is_none() && o.status != "duplicate")
            .map(|o| {
                crate::auditor::draft(
                    actor,
                    tracedesk_store::audit::Action::PhiWrite,
                    "lab_result",
                    o.lab_result_id,
                    o.person,
                    detail,
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContactOutcome {
    pub exposure_id: Uuid,
    /// As the case's jurisdiction knows the contact (see `LabOutcomeView`).
    pub contact_person_id: Uuid,
    /// The contact's own id, for the audit log (never sent).
    #[serde(skip)]
    pub person: Uuid,
    pub person_created: bool,
    /// `named`: a new contact record and its notification task; `merged`:
    /// the case had named them already, and the dates were united into
    /// that record; `already_a_case`: they are an open case, so the
    /// exposure links the two cases, with no quarantine and no task.
    pub resolution: &'static str,
    /// The notification task (`named` only).
    pub task_id: Option<Uuid>,
    /// The contact's own open case (`already_a_case` only).
    pub contact_case_id: Option<Uuid>,
    pub first_exposure: NaiveDate,
    pub last_exposure: NaiveDate,
    pub quarantine_end: NaiveDate,
    /// Exposure dates outside the case's infectious period, kept on the
    /// contact record too.
    pub warnings: Vec<Warning>,
    /// The record's jurisdiction (never sent).
    #[serde(skip)]
    pub jurisdiction: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Warning {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub detail: ExposureWarning,
    pub message: String,
}

/// What an id a caller holds names: a person, or a jurisdiction's facet.
#[derive(Debug, Clone)]
pub enum PersonRef {
    Person(tracedesk_store::PersonRow),
    Facet(tracedesk_store::PersonFacetRow),
}

/// A keyset page: a cursor only when the page is full (more may follow).
pub(crate) fn page<R, T>(
    rows: &[R],
    limit: u32,
    id: impl Fn(&R) -> Uuid,
    view: impl Fn(&R) -> Result<T, CaseworkError>,
) -> Result<Page<T>, CaseworkError> {
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| id(r).simple().to_string()))
        .flatten();
    let items = rows.iter().map(view).collect::<Result<_, _>>()?;
    Ok(Page { items, next })
}

/// Parses a page cursor; it is an opaque id, never PHI.
pub fn parse_cursor(raw: Option<&str>) -> Result<Option<Uuid>, CaseworkError> {
    raw.map(|c| {
        Uuid::try_parse(c)
            .map_err(|_| CaseworkError::invalid("cursor", "is not a cursor returned by this API"))
    })
    .transpose()
}

/// A page size: 50 unless asked, 1 to 500.
pub fn page_limit(limit: Option<u32>) -> Result<u32, CaseworkError> {
    match limit.unwrap_or(50) {
        n @ 1..=500 => Ok(n),
        _ => Err(CaseworkError::invalid("limit", "must be between 1 and 500")),
    }
}

impl crate::services::Cases<'_> {
    fn build_intake(&self, v: &ValidLab) -> LabIntake {
        let now = self.now();
        let vault = &*self.vault;
        let person_id = Uuid::now_v7();
        let lab_id = Uuid::now_v7();
        let case_id = Uuid::now_v7();
        let rules = &self.settings.rules;
        let jurisdiction = v
            .jurisdiction
            .clone()
            .unwrap_or_else(|| self.settings.default_jurisdiction.clone());
        let lt = schema::LAB_RESULTS.name;
        let lab = LabResultRow {
            id: lab_id,
            person_id,
            case_id: None,
            created_at: now,
            specimen_date: v.specimen_date,
            key_version: vault.current_version(),
            accession: vault.seal_str(
                &tracedesk_vault::FieldContext::new(lt, "accession", lab_id),
                &v.accession,
            ),
            accession_bidx: vault.blind(
                BlindKind::Accession,
                &accession_key(v.lab.as_deref(), &v.accession),
            ),
            result: vault.seal_str(
                &tracedesk_vault::FieldContext::new(lt, "result", lab_id),
                v.outcome.as_str(),
            ),
            test_type: seal_opt(vault, lt, "test_type", lab_id, v.test_type.as_deref()),
            lab: seal_opt(vault, lt, "lab", lab_id, v.lab.as_deref()),
            ordering_provider: seal_opt(
                vault,
                lt,
                "ordering_provider",
                lab_id,
                v.ordering_provider.as_deref(),
            ),
            jurisdiction: jurisdiction.clone(),
        };
        let case = CaseRow {
            id: case_id,
            person_id,
            status: CaseStatus::New.as_str().into(),
            created_at: now,
            updated_at: now,
            report_date: now.date_naive(),
            specimen_date: v.specimen_date,
            onset_date: None,
            asymptomatic: true,
            infectious_start: rules.infectious_start(None, v.specimen_date),
            isolation_end: rules.isolation_end(None, v.specimen_date),
            key_version: vault.current_version(),
            symptoms: None,
            notes: None,
            jurisdiction: jurisdiction.clone(),
            shown_person_id: None,
            clinical: None,
        };
        let task = TaskRow {
            case_id: Some(case_id),
            ..TaskRow::pending(TaskKind::CaseInterview, person_id, &jurisdiction, now)
        };
        LabIntake {
            person: seal_person(vault, person_id, &v.person, now, &jurisdiction),
            match_on: match_keys(vault, &v.person),
            lab,
            positive: v.outcome == LabOutcome::Positive,
            case,
            task,
            reinfection_days: rules.reinfection_days,
            points: points_of(vault, &v.person, now, &jurisdiction),
        }
    }

    /// Records lab results. Each item is validated on its own; invalid items
    /// are reported and the rest proceed. Items are written in transactions
    /// of [`INTAKE_BATCH`]; if one fails, its items are retried one by one so
    /// a single bad row cannot sink its neighbours. Validation and sealing of
    /// the next batch run on a blocking thread while the current batch is
    /// written, so CPU work and database work overlap.
    pub async fn ingest_lab_results(&self, inputs: &[LabResultInput]) -> Vec<LabOutcomeView> {
        self.learn_jurisdictions(inputs).await;
        let mut out: Vec<Option<LabOutcomeView>> = vec![None; inputs.len()];
        if inputs.len() <= INTAKE_BATCH {
            let prepared = self.prepare_intake(0, inputs);
            self.write_prepared(prepared, &mut out).await;
        } else {
            let mut ahead: Option<tokio::task::JoinHandle<Prepared>> = None;
            for (n, chunk) in inputs.chunks(INTAKE_BATCH).enumerate() {
                let (this, owned) = (Casework::clone(self), chunk.to_vec());
                let next = tokio::task::spawn_blocking(move || {
                    this.cases().prepare_intake(n * INTAKE_BATCH, &owned)
                });
                if let Some(current) = ahead.replace(next) {
                    self.finish_prepared(current, &mut out).await;
                }
            }
            if let Some(last) = ahead {
                self.finish_prepared(last, &mut out).await;
            }
        }
        let mut out: Vec<LabOutcomeView> = out
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                o.unwrap_or_else(|| {
                    LabOutcomeView::rejected(
                        i,
                        ItemError {
                            code: "internal",
                            message: "not processed".into(),
                            field: None,
                        },
                    )
                })
            })
            .collect();
        for o in out.iter_mut().filter(|o| o.duplicate_of.is_some()) {
            if let Some(input) = inputs.get(o.index) {
                self.check_duplicate(o, input).await;
            }
        }
        // Who each new person may already be (after the commit: what was
        // recorded stays recorded whatever linkage finds).
        let made: Vec<Uuid> = out
            .iter()
            .filter(|o| o.person_created)
            .filter_map(|o| o.person)
            .collect();
        self.link_new(made).await;
        out
    }

    /// Fills in the default jurisdiction and refuses unknown codes.
    fn known_jurisdiction(&self, mut v: ValidLab) -> Result<ValidLab, CaseworkError> {
        let code = v
            .jurisdiction
            .get_or_insert_with(|| self.settings.default_jurisdiction.clone());
        if self.jurisdictions().contains(code) {
            Ok(v)
        } else {
            Err(CaseworkError::invalid(
                "jurisdiction",
                "is not a known jurisdiction (see `tracedesk jurisdiction list`)",
            ))
        }
    }

    /// Reloads the jurisdictions when `inputs` name one not known here: one
    /// added by another node or the CLI since the last look.
    async fn learn_jurisdictions(&self, inputs: &[LabResultInput]) {
        if inputs
            .iter()
            .filter_map(|i| i.jurisdiction.as_deref())
            .any(|j| !self.jurisdictions().contains(j.trim()))
            && let Err(e) = self.refresh_jurisdictions().await
        {
            tracing::warn!(error = %e, "could not reload jurisdictions");
        }
    }

    /// What intake would refuse in each of `inputs` (`None`: it would take
    /// it), writing nothing: for a FHIR transaction, all of which is taken
    /// or none.
    pub async fn check_lab_results(&self, inputs: &[LabResultInput]) -> Vec<Option<ItemError>> {
        self.learn_jurisdictions(inputs).await;
        inputs
            .iter()
            .map(|input| self.validated(input).err().map(|e| ItemError::from(&e)))
            .collect()
    }

    /// One result as intake takes it: validated, its jurisdiction known.
    fn validated(&self, input: &LabResultInput) -> Result<ValidLab, CaseworkError> {
        input
            .validate(&self.settings.default_region, self.today())
            .and_then(|v| self.known_jurisdiction(v))
    }

    /// Validates and seals one batch; `base` is the index of its first item.
    fn prepare_intake(&self, base: usize, inputs: &[LabResultInput]) -> Prepared {
        let mut p = Prepared::default();
        for (k, input) in inputs.iter().enumerate() {
            let i = base + k;
            match self.validated(input) {
                Ok(v) => {
                    let w = tracedesk_domain::date_warnings(
                        v.specimen_date,
                        None,
                        v.person.dob.map(|d| d.date()),
                        self.settings.program_start,
                    );
                    if !w.is_empty() {
                        let j = v.jurisdiction.clone().unwrap_or_default();
                        p.warnings.push((i, j, w));
                    }
                    p.ready.push((i, self.build_intake(&v)));
                }
                Err(e) => p
                    .rejected
                    .push(LabOutcomeView::rejected(i, ItemError::from(&e))),
            }
        }
        p
    }

    async fn finish_prepared(
        &self,
        handle: tokio::task::JoinHandle<Prepared>,
        out: &mut [Option<LabOutcomeView>],
    ) {
        match handle.await {
            Ok(p) => self.write_prepared(p, out).await,
            // The items of a batch whose preparation panicked stay "not processed".
            Err(e) => tracing::error!(error = %e, "preparing an intake batch failed"),
        }
    }

    async fn write_prepared(&self, p: Prepared, out: &mut [Option<LabOutcomeView>]) {
        for r in p.rejected {
            let i = r.index;
            out[i] = Some(r);
        }
        if !p.ready.is_empty() {
            self.write_intake(p.ready, out).await;
        }
        self.keep_warnings(p.warnings, out).await;
    }

    /// Implausible dates of recorded results are kept on the record (the
    /// person's, and the case's when the result joined one) and shown in
    /// the answer.
    async fn keep_warnings(
        &self,
        warnings: Vec<(usize, String, Vec<tracedesk_domain::DataWarning>)>,
        out: &mut [Option<LabOutcomeView>],
    ) {
        let mut entries = Vec::new();
        for (i, jurisdiction, ws) in warnings {
            let Some(Some(o)) = out.get_mut(i) else {
                continue;
            };
            let (Some(person), Some(lab)) = (o.person, o.lab_result_id) else {
                continue;
            };
            for w in ws {
                entries.push(self.warning_entry(
                    &w,
                    person,
                    &jurisdiction,
                    (o.case_id, None, None),
                    Some(lab),
                ));
                o.warnings
                    .push(crate::investigation::WarningView::of(&w, self.now()));
            }
        }
        if !entries.is_empty()
            && let Err(e) = self.store.add_entries(&entries, &[]).await
        {
            tracing::error!(error = %e, "date warnings could not be kept on the record");
        }
    }

    async fn write_intake(
        &self,
        batch: Vec<(usize, LabIntake)>,
        out: &mut [Option<LabOutcomeView>],
    ) {
        let (idx, items): (Vec<usize>, Vec<LabIntake>) = batch.into_iter().unzip();
        match self.store.ingest_lab_results(&items).await {
            Ok(outcomes) => {
                if outcomes.iter().any(|o| o.case_created) {
                    self.tasks_made();
                }
                for (i, o) in idx.into_iter().zip(outcomes) {
                    out[i] = Some(outcome_view(i, &o));
                }
            }
            Err(e) if items.len() > 1 => {
                tracing::warn!(error = %e, rows = items.len(), "intake batch failed; retrying rows one by one");
                for (i, item) in idx.into_iter().zip(items) {
                    out[i] = Some(
                        match self
                            .store
                            .ingest_lab_results(std::slice::from_ref(&item))
                            .await
                        {
                            Ok(o) => o
                                .first()
                                .map(|o| {
                                    if o.case_created {
                                        self.tasks_made();
                                    }
                                    outcome_view(i, o)
                                })
                                .unwrap_or_else(|| {
                                    LabOutcomeView::rejected(
                                        i,
                                        ItemError::from(&CaseworkError::NotFound("outcome")),
                                    )
                                }),
                            Err(e) => {
                                tracing::error!(error = %e, index = i, "lab result could not be stored");
                                LabOutcomeView::rejected(
                                    i,
                                    ItemError::from(&CaseworkError::Store(e)),
                                )
                            }
                        },
                    );
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "lab result could not be stored");
                let error = ItemError::from(&CaseworkError::Store(e));
                for i in idx {
                    out[i] = Some(LabOutcomeView::rejected(i, error.clone()));
                }
            }
        }
    }

    pub async fn get_case(&self, id: Uuid) -> Result<CaseView, CaseworkError> {
        let row = self
            .store
            .get_case(id)
            .await?
            .ok_or(CaseworkError::NotFound("case"))?;
        self.case_view(&row)
    }

    pub async fn list_cases(
        &self,
        status: Option<&str>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        cursor: Option<&str>,
        limit: Option<u32>,
        scope: Option<&ListScope>,
    ) -> Result<Page<CaseView>, CaseworkError> {
        if let Some(s) = status
            && CaseStatus::parse(s).is_none()
        {
            return Err(CaseworkError::invalid("status", "is not a case status"));
        }
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(CaseworkError::invalid("from", "is after `to`"));
        }
        let limit = page_limit(limit)?;
        let rows = self
            .store
            .list_cases(&CaseFilter {
                status: status.map(str::to_string),
                person_id: None,
                report_from: from,
                report_to: to,
                before: parse_cursor(cursor)?,
                limit,
                scope: scope.cloned(),
            })
            .await?;
        page(&rows, limit, |r| r.id, |r| self.case_view(r))
    }

    /// A page of one person's cases the caller may see, newest first (by
    /// the person's own id).
    pub async fn list_person_cases(
        &self,
        person: Uuid,
        cursor: Option<&str>,
        limit: Option<u32>,
        scope: Option<&ListScope>,
    ) -> Result<Page<CaseView>, CaseworkError> {
        let limit = page_limit(limit)?;
        let rows = self
            .store
            .list_cases(&CaseFilter {
                person_id: Some(person),
                before: parse_cursor(cursor)?,
                limit,
                scope: scope.cloned(),
                ..CaseFilter::default()
            })
            .await?;
        page(&rows, limit, |r| r.id, |r| self.case_view(r))
    }

    /// One person's contact records the caller may see, newest first.
    pub async fn list_person_contacts(
        &self,
        person: Uuid,
        scope: Option<&ListScope>,
    ) -> Result<Vec<ContactView>, CaseworkError> {
        self.store
            .list_exposures(&ExposureFilter {
                contact_person_id: Some(person),
                limit: 500,
                scope: scope.cloned(),
                ..ExposureFilter::default()
            })
            .await?
            .iter()
            .map(|r| self.contact_view(r))
            .collect()
    }

    /// A page of the tasks assigned to `user`, newest first.
    pub async fn tasks_of(
        &self,
        user: Uuid,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<TaskView>, CaseworkError> {
        if let Some(s) = status
            && tracedesk_domain::lifecycle::TaskStatus::parse(s).is_none()
        {
            return Err(CaseworkError::invalid("status", "is not a task status"));
        }
        let limit = page_limit(limit)?;
        let rows = self
            .store
            .list_tasks(&tracedesk_store::TaskFilter {
                assignee: user,
                status: status.map(str::to_string),
                before: parse_cursor(cursor)?,
                limit,
            })
            .await?;
        page(&rows, limit, |t| t.id, |t| Ok(TaskView::from(t)))
    }

    /// Applies a patch. A new onset date, asymptomatic flag, fever-free
    /// date or severity recomputes the infectious period and the earliest
    /// isolation end (CDC's symptom-based rule), and the quarantine end of
    /// every household contact whose exposure goes on follows it. A note is
    /// added to the case's notes, never written over them.
    pub async fn patch_case(&self, id: Uuid, patch: &CasePatch) -> Result<CaseView, CaseworkError> {
        let author = self.author();
        let p = patch.validate(self.today())?;
        let mut row = self
            .store
            .get_case(id)
            .await?
            .ok_or(CaseworkError::NotFound("case"))?;
        let mut ended = false;
        let mut interviewed = false;
        if let Some(to) = p.status {
            let from = CaseStatus::parse(&row.status).ok_or_else(|| {
                tracedesk_store::StoreError::Corrupt("unknown case status".into())
            })?;
            if from != to {
                row.status = from.transition(to)?.as_str().into();
                ended = matches!(to, CaseStatus::Closed | CaseStatus::Refused);
                // The interview is done when the case goes on to isolate.
                interviewed = to == CaseStatus::Isolating;
            }
        }
        if let Some(onset) = p.onset_date {
            row.onset_date = onset;
            row.asymptomatic = onset.is_none();
        }
        if let Some(a) = p.asymptomatic {
            if a {
                row.onset_date = None;
            } else if row.onset_date.is_none() {
                return Err(CaseworkError::invalid(
                    "asymptomatic",
                    "a symptomatic case needs an onset_date",
                ));
            }
            row.asymptomatic = a;
        }
        let mut clinical = self.clinical_of(&row)?;
        let clinical_changed =
            p.fever_free_since.is_some() || p.improving.is_some() || p.severe.is_some();
        if let Some(f) = p.fever_free_since {
            clinical.fever_free_since = f;
        }
        if let Some(i) = p.improving {
            clinical.improving = Some(i);
        }
        if let Some(s) = p.severe {
            clinical.severe = s;
        }
        if let (Some(f), Some(onset)) = (clinical.fever_free_since, row.onset_date)
            && f < onset
        {
            return Err(CaseworkError::invalid(
                "fever_free_since",
                "is before the onset of symptoms",
            ));
        }
        let rules = &self.settings.rules;
        let isolation_was = row.isolation_end;
        row.infectious_start = rules.infectious_start(row.onset_date, row.specimen_date);
        row.isolation_end = rules.earliest_release(row.onset_date, row.specimen_date, &clinical);
        let t = schema::CASES.name;
        let vault = &*self.vault;
        let mut resealed = row.key_version != vault.current_version();
        if let Some(symptoms) = &p.symptoms {
            let json = serde_json::to_string(symptoms).unwrap_or_else(|_| "[]".into());
            row.symptoms = seal_opt(vault, t, "symptoms", id, Some(&json));
            resealed = true;
        }
        if clinical_changed {
            let json = serde_json::to_string(&clinical).unwrap_or_else(|_| "{}".into());
            row.clinical = seal_opt(vault, t, "clinical", id, Some(&json));
            resealed = true;
        }
        if resealed {
            // Every sealed column must be under the row's stamped version.
            let ctx = |c| tracedesk_vault::FieldContext::new(t, c, id);
            if let Some(s) = &row.symptoms {
                row.symptoms = Some(vault.reseal(&ctx("symptoms"), s)?);
            }
            if let Some(n) = &row.notes {
                row.notes = Some(vault.reseal(&ctx("notes"), n)?);
            }
            if let Some(c) = &row.clinical {
                row.clinical = Some(vault.reseal(&ctx("clinical"), c)?);
            }
            row.key_version = vault.current_version();
        }
        let mut kept = Vec::new();
        if let Some(Some(onset)) = p.onset_date {
            for w in tracedesk_domain::date_warnings(
                row.specimen_date,
                Some(onset),
                None,
                self.settings.program_start,
            ) {
                let owner = (Some(id), None, None);
                kept.push(self.warning_entry(&w, row.person_id, &row.jurisdiction, owner, None));
            }
        }
        if let Some(text) = &p.notes {
            kept.push(self.entry(
                crate::investigation::entry_kind::NOTE,
                row.person_id,
                &row.jurisdiction,
                author,
                (Some(id), None, None),
                &serde_json::json!({ "text": text }),
            ));
        }
        if !kept.is_empty() {
            self.store.add_entries(&kept, &[]).await?;
        }
        row.updated_at = self.now();
        self.store.update_case(&row).await.map_err(|e| match e {
            tracedesk_store::StoreError::NotFound => CaseworkError::NotFound("case"),
            e => e.into(),
        })?;
        if interviewed {
            let m = tracedesk_store::Milestone::new(
                tracedesk_store::Milestone::CASE_INTERVIEWED,
                id,
                &row.jurisdiction,
                row.created_at,
                row.updated_at,
            );
            self.store.add_milestone(&m).await?;
        }
        if row.isolation_end != isolation_was {
            self.follow_isolation(&row).await?;
        }
        // A closed or refused case needs no interview: its open tasks are
        // canceled (ending the tracer's access) and withdrawn from routing.
        if ended && self.store.withdraw_case_tasks(id).await? > 0 {
            self.tasks_made();
        }
        self.case_view(&row)
    }

    /// The household contacts whose exposure goes on follow the case's
    /// isolation end: their quarantine ends `quarantine_days` after it.
    async fn follow_isolation(&self, case: &CaseRow) -> Result<(), CaseworkError> {
        let rules = &self.settings.rules;
        let records = self
            .store
            .list_exposures(&ExposureFilter {
                case_id: Some(case.id),
                limit: 500,
                ..ExposureFilter::default()
            })
            .await?;
        for mut e in records {
            let open = ContactStatus::parse(&e.status).is_some_and(|s| !s.is_terminal());
            if !(e.ongoing && open) {
                continue;
            }
            e.quarantine_end = rules.household_quarantine_end(
                case.isolation_end,
                rules.quarantine_option,
                e.negative_test_date,
            );
            e.updated_at = self.now();
            self.store.update_exposure(&e).await?;
        }
        Ok(())
    }

    /// The facts of a case's symptom-based isolation, opened.
    pub(crate) fn clinical_of(
        &self,
        row: &CaseRow,
    ) -> Result<tracedesk_domain::Clinical, CaseworkError> {
        Ok(self
            .open_opt(schema::CASES.name, "clinical", row.id, &row.clinical)?
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|_| CaseworkError::Vault(tracedesk_vault::VaultError::Malformed))?
            .unwrap_or_default())
    }

    /// Names a contact of a case. Dates outside the infectious period are
    /// accepted with warnings.
    pub async fn add_contact(
        &self,
        case_id: Uuid,
        input: &ContactInput,
    ) -> Result<ContactOutcome, CaseworkError> {
        self.add_contacts(&[(case_id, input.clone())])
            .await
            .pop()
            .unwrap_or(Err(CaseworkError::NotFound("outcome")))
    }

    /// Names many contacts (each on its case) with one write: the intake a
    /// tracer's elicitation list or a bulk load needs. Each item is checked
    /// on its own and answered at its index; the valid ones are written in
    /// one transaction, and if that fails, one by one, so one bad item never
    /// sinks the rest.
    pub async fn add_contacts(
        &self,
        items: &[(Uuid, ContactInput)],
    ) -> Vec<Result<ContactOutcome, CaseworkError>> {
        let items: Vec<_> = items.iter().map(|(c, i)| (*c, None, i)).collect();
        self.name_and_link(&items).await
    }

    /// Names contacts, then links the persons that made (after the commit).
    async fn name_and_link(
        &self,
        items: &[(Uuid, Option<&ExposureRow>, &ContactInput)],
    ) -> Vec<Result<ContactOutcome, CaseworkError>> {
        let out = self.name_contacts(items).await;
        let made: Vec<Uuid> = out
            .iter()
            .flatten()
            .filter(|o| o.person_created)
            .map(|o| o.person)
            .collect();
        self.link_new(made).await;
        out
    }

    /// Names the contacts of a contact (contacts of contacts), when the
    /// configured `contact_depth` reaches that far (1, the default, stops
    /// at the case's own contacts). Each is a contact record on the same
    /// case, one step further from it, with its own quarantine and
    /// notification task; the naming contact is refused as their own
    /// contact, like the case's person.
    pub async fn add_contacts_of(
        &self,
        exposure_id: Uuid,
        inputs: &[ContactInput],
    ) -> Result<Vec<Result<ContactOutcome, CaseworkError>>, CaseworkError> {
        let from = self
            .store
            .get_exposure(exposure_id)
            .await?
            .ok_or(CaseworkError::NotFound("contact"))?;
        let max = self.settings.contact_depth;
        if u32::try_from(from.depth).unwrap_or(u32::MAX) >= max {
            return Err(CaseworkError::Conflict(format!(
                "contacts are named {max} step(s) from a case at most (contact_depth = {max})"
            )));
        }
        if ContactStatus::parse(&from.status).is_none_or(ContactStatus::is_terminal) {
            return Err(CaseworkError::Conflict(
                "the contact's follow-up has ended; they name no more contacts".into(),
            ));
        }
        let items: Vec<_> = inputs
            .iter()
            .map(|i| (from.case_id, Some(&from), i))
            .collect();
        Ok(self.name_and_link(&items).await)
    }

    async fn name_contacts(
        &self,
        items: &[(Uuid, Option<&ExposureRow>, &ContactInput)],
    ) -> Vec<Result<ContactOutcome, CaseworkError>> {
        // The notification is written from this node's copy of the
        // templates; a failed reload keeps the copy it has.
        if self.settings.messaging.notify_contacts
            && let Err(e) = self.fresh_templates().await
        {
            tracing::warn!(error = %e, "message templates not reloaded");
        }
        let mut out: Vec<Option<Result<ContactOutcome, CaseworkError>>> =
            (0..items.len()).map(|_| None).collect();
        let mut cases = std::collections::HashMap::new();
        // Planned items in three lists, so the sealed rows go to the store
        // as they are (no copy of each).
        let (mut at, mut intakes, mut shown) = (Vec::new(), Vec::new(), Vec::new());
        for (i, (case_id, from, input)) in items.iter().enumerate() {
            match self.plan_contact(&mut cases, *case_id, *from, input).await {
                Ok((intake, s)) => {
                    at.push(i);
                    intakes.push(intake);
                    shown.push(s);
                }
                Err(e) => out[i] = Some(Err(e)),
            }
        }
        match self.store.add_contacts(&intakes).await {
            Ok(done) => {
                for ((i, s), o) in at.into_iter().zip(shown).zip(done) {
                    out[i] = Some(s.finish(o));
                }
            }
            Err(e) if intakes.len() > 1 => {
                tracing::warn!(error = %e, rows = intakes.len(), "contact batch failed; retrying one by one");
                for ((i, s), intake) in at.into_iter().zip(shown).zip(&intakes) {
                    let one = self.store.add_contacts(std::slice::from_ref(intake)).await;
                    out[i] = Some(match one.map(|mut o| o.pop()) {
                        Ok(Some(o)) => s.finish(o),
                        Ok(None) => Err(CaseworkError::NotFound("outcome")),
                        Err(e) => Err(e.into()),
                    });
                }
            }
            Err(e) => {
                if let Some(&i) = at.first() {
                    out[i] = Some(Err(CaseworkError::Store(e)));
                }
            }
        }
        if out.iter().any(|o| matches!(o, Some(Ok(_)))) {
            self.tasks_made();
        }
        let entries: Vec<_> = out
            .iter()
            .flatten()
            .flatten()
            .flat_map(|o| {
                o.warnings.iter().map(|w| {
                    self.warning_entry(
                        &tracedesk_domain::DataWarning::Exposure(w.detail.clone()),
                        o.person,
                        &o.jurisdiction,
                        (None, Some(o.exposure_id), None),
                        None,
                    )
                })
            })
            .collect();
        if !entries.is_empty()
            && let Err(e) = self.store.add_entries(&entries, &[]).await
        {
            tracing::error!(error = %e, "exposure warnings could not be kept on the record");
        }
        out.into_iter()
            .map(|o| o.unwrap_or(Err(CaseworkError::NotFound("outcome"))))
            .collect()
    }

    /// Validates one contact against its case (read once per batch) and
    /// seals what the store will write.
    async fn plan_contact(
        &self,
        cases: &mut std::collections::HashMap<Uuid, tracedesk_store::CaseRow>,
        case_id: Uuid,
        from: Option<&ExposureRow>,
        input: &ContactInput,
    ) -> Result<(tracedesk_store::ContactIntake, PlannedContact), CaseworkError> {
        let author = self.author();
        let v = input.validate(&self.settings.default_region, self.today())?;
        let case = match cases.get(&case_id) {
            Some(c) => c.clone(),
            None => {
                let c = self
                    .store
                    .get_case(case_id)
                    .await?
                    .ok_or(CaseworkError::NotFound("case"))?;
                cases.insert(case_id, c.clone());
                c
            }
        };
        if CaseStatus::parse(&case.status).is_some_and(|s| !s.is_open()) {
            return Err(CaseworkError::Conflict(
                "the case is closed; reopen it before naming contacts".into(),
            ));
        }
        let rules = &self.settings.rules;
        let quarantine_end = if v.ongoing {
            rules.household_quarantine_end(case.isolation_end, rules.quarantine_option, None)
        } else {
            rules.quarantine_end(v.last_exposure, rules.quarantine_option, None)
        };
        // A contact of a contact was exposed by the contact, not the case:
        // the case's infectious period says nothing of those dates.
        let warnings = if from.is_some() {
            Vec::new()
        } else {
            rules.exposure_warnings(&v.dates, case.onset_date, case.specimen_date)
        }
        .into_iter()
        .map(|w| Warning {
            message: w.message(),
            detail: w,
        })
        .collect();
        let now = self.now();
        let vault = &*self.vault;
        let person_id = Uuid::now_v7();
        let exposure_id = Uuid::now_v7();
        let kind = TaskKind::ContactNotification;
        let note = v.notes.as_deref().map(|text| {
            self.entry(
                crate::investigation::entry_kind::NOTE,
                person_id,
                &case.jurisdiction,
                author,
                (None, Some(exposure_id), None),
                &serde_json::json!({ "text": text }),
            )
        });
        let intake = tracedesk_store::ContactIntake {
            person: seal_person(vault, person_id, &v.person, now, &case.jurisdiction),
            match_on: match_keys(vault, &v.person),
            exposure: ExposureRow {
                id: exposure_id,
                case_id,
                contact_person_id: person_id,
                created_at: now,
                updated_at: now,
                first_exposure: v.first_exposure,
                last_exposure: v.last_exposure,
                setting: v.setting.as_str().into(),
                status: ContactStatus::Named.as_str().into(),
                quarantine_end,
                key_version: vault.current_version(),
                notes: None,
                jurisdiction: case.jurisdiction.clone(),
                negative_test_date: None,
                shown_person_id: None,
                contact_case_id: None,
                ongoing: v.ongoing && from.is_none(),
                source_exposure_id: from.map(|e| e.id),
                depth: from.map_or(1, |e| e.depth + 1),
            },
            task: TaskRow {
                exposure_id: Some(exposure_id),
                ..TaskRow::pending(kind, person_id, &case.jurisdiction, now)
            },
            namers: std::iter::once(case.person_id)
                .chain(from.map(|e| e.contact_person_id))
                .collect(),
            note,
            points: points_of(vault, &v.person, now, &case.jurisdiction),
            notification: self.first_notification(&v.person)?,
        };
        Ok((
            intake,
            PlannedContact {
                warnings,
                jurisdiction: case.jurisdiction.clone(),
            },
        ))
    }

    /// Records a contact record's follow-up: a move along its lifecycle
    /// (named → notified → monitoring → completed, or unreachable, refused,
    /// lost, transferred, symptomatic, referred for testing), corrected
    /// exposure dates or setting, an ongoing household exposure, the date
    /// of a negative test, a note. The quarantine end is computed again
    /// from the result: from the last exposure under the configured option,
    /// or, for an ongoing household exposure, from the case's isolation
    /// end. An illegal step is an error naming both statuses and changes
    /// nothing; a final one withdraws the record's open tasks. Dates and
    /// setting of a closed record stay as they were.
    pub async fn patch_contact(
        &self,
        exposure_id: Uuid,
        patch: &ContactPatch,
    ) -> Result<ContactView, CaseworkError> {
        let author = self.author();
        let p = patch.validate(self.today())?;
        let mut e = self
            .store
            .get_exposure(exposure_id)
            .await?
            .ok_or(CaseworkError::NotFound("contact"))?;
        let from = ContactStatus::parse(&e.status)
            .ok_or_else(|| CaseworkError::Internal("a stored contact status is unknown".into()))?;
        let changes_record = p.dates.is_some()
            || p.setting.is_some()
            || p.ongoing.is_some()
            || p.negative_test_date.is_some();
        if from.is_terminal() && changes_record {
            return Err(CaseworkError::Conflict(format!(
                "the contact record is {from}: its dates and setting are final"
            )));
        }
        let to = p.status.filter(|to| *to != from);
        if let Some(to) = to {
            from.transition(to)?;
            e.status = to.as_str().into();
        }
        if let Some((first, last)) = p.dates {
            e.first_exposure = first;
            e.last_exposure = last;
        }
        if let Some(setting) = p.setting {
            e.setting = setting.as_str().into();
        }
        if let Some(ongoing) = p.ongoing {
            e.ongoing = ongoing;
        }
        if e.ongoing && e.setting != tracedesk_domain::ExposureSetting::Household.as_str() {
            return Err(CaseworkError::invalid(
                "ongoing_exposure",
                "only a household exposure goes on while the case isolates",
            ));
        }
        if let Some(t) = p.negative_test_date {
            e.negative_test_date = Some(t);
        }
        if e.negative_test_date.is_some_and(|t| t < e.last_exposure) {
            return Err(CaseworkError::invalid(
                "negative_test_date",
                "is before the last exposure",
            ));
        }
        if changes_record {
            e.quarantine_end = self.quarantine_of(&e).await?;
        }
        if let Some(text) = &p.note {
            let note = self.entry(
                crate::investigation::entry_kind::NOTE,
                e.contact_person_id,
                &e.jurisdiction,
                author,
                (None, Some(e.id), None),
                &serde_json::json!({ "text": text }),
            );
            self.store
                .add_entries(std::slice::from_ref(&note), &[])
                .await?;
        }
        e.updated_at = self.now();
        self.store.update_exposure(&e).await?;
        // Daily check-ins begin with monitoring (the scheduler's hourly
        // sweep enrolls any record this misses).
        if to == Some(ContactStatus::Notified) {
            let m = tracedesk_store::Milestone::new(
                tracedesk_store::Milestone::CONTACT_NOTIFIED,
                exposure_id,
                &e.jurisdiction,
                e.created_at,
                e.updated_at,
            );
            self.store.add_milestone(&m).await?;
        }
        if to == Some(ContactStatus::Monitoring) {
            let defaults = crate::monitoring::defaults(&self.settings.messaging);
            self.store
                .enroll_monitoring(Some(&[exposure_id]), &defaults, self.now())
                .await?;
        }
        if to.is_some_and(ContactStatus::is_terminal)
            && self.store.withdraw_exposure_tasks(exposure_id).await? > 0
        {
            self.tasks_made();
        }
        self.contact_view(&e)
    }

    /// A contact record's quarantine end under the configured option: from
    /// the last exposure, or, while a household exposure goes on, from the
    /// case's isolation end.
    async fn quarantine_of(&self, e: &ExposureRow) -> Result<NaiveDate, CaseworkError> {
        let rules = &self.settings.rules;
        let option = rules.quarantine_option;
        if e.ongoing {
            let case = self
                .store
                .get_case(e.case_id)
                .await?
                .ok_or(CaseworkError::NotFound("case"))?;
            return Ok(rules.household_quarantine_end(
                case.isolation_end,
                option,
                e.negative_test_date,
            ));
        }
        Ok(rules.quarantine_end(e.last_exposure, option, e.negative_test_date))
    }

    /// [`Cases::patch_contact`] with a status only.
    pub async fn set_contact_status(
        &self,
        exposure_id: Uuid,
        status: &str,
    ) -> Result<ContactView, CaseworkError> {
        let patch = ContactPatch {
            status: Some(status.to_string()),
            ..ContactPatch::default()
        };
        self.patch_contact(exposure_id, &patch).await
    }

    pub async fn list_contacts(
        &self,
        case_id: Option<Uuid>,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
        scope: Option<&ListScope>,
    ) -> Result<Page<ContactView>, CaseworkError> {
        if let Some(s) = status
            && ContactStatus::parse(s).is_none()
        {
            return Err(CaseworkError::invalid("status", "is not a contact status"));
        }
        let limit = page_limit(limit)?;
        let rows = self
            .store
            .list_exposures(&ExposureFilter {
                contact_case_id: None,
                case_id,
                contact_person_id: None,
                status: status.map(str::to_string),
                before: parse_cursor(cursor)?,
                limit,
                scope: scope.cloned(),
            })
            .await?;
        page(&rows, limit, |r| r.id, |r| self.contact_view(r))
    }

    pub async fn get_person(&self, id: Uuid) -> Result<PersonView, CaseworkError> {
        let row = self
            .live_person(id)
            .await?
            .ok_or(CaseworkError::NotFound("person"))?;
        self.person_view(&row)
    }

    /// A person by id; a record merged into another answers with the
    /// record it lives on now.
    async fn live_person(
        &self,
        id: Uuid,
    ) -> Result<Option<tracedesk_store::PersonRow>, CaseworkError> {
        let Some(p) = self.store.get_person(id).await? else {
            return Ok(None);
        };
        match p.merged_into {
            Some(to) => Ok(self.store.get_person(to).await?),
            None => Ok(Some(p)),
        }
    }

    /// A person's lab results, of the given jurisdictions only (`None`:
    /// all, for break-glass): no jurisdiction sees another's results.
    pub async fn person_lab_results(
        &self,
        id: Uuid,
        jurisdictions: Option<&[String]>,
    ) -> Result<Vec<LabResultView>, CaseworkError> {
        self.store
            .lab_results_for_person(id)
            .await?
            .iter()
            .filter(|l| jurisdictions.is_none_or(|js| js.contains(&l.jurisdiction)))
            .map(|l| self.lab_view(l))
            .collect()
    }

    /// A person or a facet by the id a caller holds. A record merged into
    /// another answers with the record it lives on now, so access is
    /// decided on that record.
    pub async fn person_ref(&self, id: Uuid) -> Result<Option<PersonRef>, CaseworkError> {
        if let Some(p) = self.live_person(id).await? {
            return Ok(Some(PersonRef::Person(p)));
        }
        Ok(self.store.get_facet(id).await?.map(PersonRef::Facet))
    }

    /// Finds persons by blind index; no plaintext leaves this process.
    pub async fn find_persons(&self, q: &PersonSearch) -> Result<Vec<PersonView>, CaseworkError> {
        let key = q.validate(&self.settings.default_region, self.today())?;
        let vault = &*self.vault;
        let (kind, blind) = match key {
            SearchKey::Phone(p) => (PersonKey::Phone, vault.blind(BlindKind::Phone, p.as_str())),
            SearchKey::Email(e) => (
                PersonKey::Email,
                vault.blind(BlindKind::Email, &email_key(&e)),
            ),
            SearchKey::NameDob(f, l, d) => (
                PersonKey::NameDob,
                vault.blind(BlindKind::NameDob, &name_dob_key(&f, &l, &d)),
            ),
        };
        self.store
            .find_persons(kind, &blind)
            .await?
            .iter()
            .map(|p| self.person_view(p))
            .collect()
    }
}

fn outcome_view(index: usize, o: &tracedesk_store::LabIntakeOutcome) -> LabOutcomeView {
    LabOutcomeView {
        index,
        status: if o.duplicate { "duplicate" } else { "recorded" },
        lab_result_id: (!o.duplicate).then_some(o.lab_id),
        person_id: (!o.duplicate).then_some(o.shown_person_id),
        person: (!o.duplicate).then_some(o.person_id),
        case_id: o.case_id,
        person_created: o.person_created,
        case_created: o.case_created,
        error: None,
        duplicate_of: o.duplicate_of,
        converted: o.converted.clone(),
        warnings: Vec::new(),
    }
}

/// What a contact's answer holds besides what the store reports.
struct PlannedContact {
    warnings: Vec<Warning>,
    jurisdiction: String,
}

impl PlannedContact {
    fn finish(
        self,
        o: tracedesk_store::ContactIntakeOutcome,
    ) -> Result<ContactOutcome, CaseworkError> {
        use tracedesk_store::ContactResolution as R;
        let (resolution, contact_case_id) = match o.resolution {
            R::Named => ("named", None),
            R::Merged => ("merged", None),
            R::AlreadyACase(case) => ("already_a_case", Some(case)),
            R::SelfContact => {
                return Err(CaseworkError::invalid(
                    "first_name",
                    "names the case's own person: a case cannot be its own contact",
                ));
            }
        };
        Ok(ContactOutcome {
            exposure_id: o.exposure_id,
            contact_person_id: o.shown_person_id,
            person: o.person_id,
            person_created: o.person_created,
            resolution,
            task_id: o.task_id,
            contact_case_id,
            first_exposure: o.first_exposure,
            last_exposure: o.last_exposure,
            quarantine_end: o.quarantine_end,
            warnings: self.warnings,
            jurisdiction: self.jurisdiction,
        })
    }
}
