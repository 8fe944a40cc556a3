//! Case work between the offer and the wrap-up: append-only notes and
//! outreach attempts (each a sealed entry with its author and time), the
//! investigator who keeps a case while it is open, the end of monitoring
//! when quarantine ends, transmission chains, and duplicate accessions that
//! disagree with what was stored.

use crate::input::{Check, bounded_text, named, present};
use crate::{CaseworkError, LabOutcomeView, LabResultInput};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tracedesk_domain::{
    AttemptChannel, AttemptOutcome, CaseStatus, LabOutcome, TaskKind, TaskStatus,
};
use tracedesk_identity::Role;
use tracedesk_store::{EntryOwner, EntryRow, ExposureFilter, PersonKey, schema};
use tracedesk_vault::FieldContext;
use uuid::Uuid;

/// Entry kinds (`case_entries.kind`).
pub mod entry_kind {
    pub const NOTE: &str = "note";
    pub const ATTEMPT: &str = "attempt";
    pub const ACCESSION_CONFLICT: &str = "accession_conflict";
    pub const REFERRAL: &str = "referral";
    pub const WARNING: &str = "warning";
    pub const ANSWERS: &str = "answers";
}

/// What a note is written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteOn {
    Case(Uuid),
    Contact(Uuid),
}

/// A note to add: notes are never overwritten, only added to.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    #[schema(required = true)]
    pub text: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct NoteView {
    pub id: Uuid,
    /// Who wrote it (`null`: tracedesk itself, or a note from before notes
    /// were kept one by one).
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub text: String,
}

/// One try at reaching the person a task is about.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttemptInput {
    #[schema(required = true, schema_with = crate::api_schema::attempt_channel)]
    pub channel: Option<String>,
    #[schema(required = true, schema_with = crate::api_schema::attempt_outcome)]
    pub outcome: Option<String>,
    /// When it happened (RFC 3339); now when absent.
    pub at: Option<DateTime<Utc>>,
    /// For `call_back`: when the person asked to be called (RFC 3339).
    pub callback_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct AttemptView {
    #[serde(default)]
    pub id: Uuid,
    #[serde(default)]
    pub task_id: Uuid,
    #[serde(default)]
    pub author_id: Option<Uuid>,
    #[schema(schema_with = crate::api_schema::attempt_channel)]
    pub channel: String,
    #[schema(schema_with = crate::api_schema::attempt_outcome)]
    pub outcome: String,
    pub at: DateTime<Utc>,
    pub callback_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    /// The message this attempt was (a text or email sent for the task, a
    /// reply to one): recorded by tracedesk, read on the person's thread.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Uuid>,
}

/// The most messages a task's attempts show (the thread has them all).
const MESSAGE_ATTEMPTS: u32 = 200;

/// A transmission edge: `from` named the contact who is (or became) case `to`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ChainEdge {
    pub from: Uuid,
    pub to: Uuid,
    /// The contact record that links them.
    pub exposure_id: Uuid,
}

/// The cases linked to one case by transmission edges, both ways, up to a
/// depth; unscoped (the caller filters the nodes by access).
#[derive(Debug, Clone, Default)]
pub struct Chain {
    pub cases: Vec<tracedesk_store::CaseRow>,
    pub edges: Vec<ChainEdge>,
    /// The walk stopped at its node limit.
    pub truncated: bool,
}

/// Cases a chain walk visits at most.
pub const CHAIN_NODES: usize = 500;

impl crate::services::Cases<'_> {
    fn seal_entry(&self, id: Uuid, body: &serde_json::Value) -> Vec<u8> {
        self.vault.seal_str(
            &FieldContext::new(schema::CASE_ENTRIES.name, "body", id),
            &body.to_string(),
        )
    }

    pub(crate) fn open_entry(&self, e: &EntryRow) -> Result<serde_json::Value, CaseworkError> {
        let text = self.vault.open_string(
            &FieldContext::new(schema::CASE_ENTRIES.name, "body", e.id),
            &e.body,
        )?;
        serde_json::from_str(&text)
            .map_err(|_| CaseworkError::Vault(tracedesk_vault::VaultError::Malformed))
    }

    /// An entry about `person` on a record of `jurisdiction`, sealed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn entry(
        &self,
        kind: &str,
        person: Uuid,
        jurisdiction: &str,
        author: Option<Uuid>,
        owner: (Option<Uuid>, Option<Uuid>, Option<Uuid>),
        body: &serde_json::Value,
    ) -> EntryRow {
        let id = Uuid::now_v7();
        EntryRow {
            id,
            kind: kind.into(),
            person_id: person,
            case_id: owner.0,
            exposure_id: owner.1,
            task_id: owner.2,
            jurisdiction: jurisdiction.into(),
            author_id: author,
            created_at: self.now(),
            status: None,
            key_version: self.vault.current_version(),
            body: self.seal_entry(id, body),
        }
    }

    /// Adds a note to a case or a contact record.
    pub async fn add_note(&self, on: NoteOn, input: &NoteInput) -> Result<NoteView, CaseworkError> {
        let mut c = Check::default();
        if present(&input.text).is_none() {
            c.fail("text", "a note needs text");
        }
        let text = bounded_text(&mut c, "text", &input.text, 4000);
        let text = c.finish(text)?;
        let (person, jurisdiction, owner) = self.note_owner(on).await?;
        let e = self.entry(
            entry_kind::NOTE,
            person,
            &jurisdiction,
            self.author(),
            owner,
            &serde_json::json!({ "text": text }),
        );
        self.store
            .add_entries(std::slice::from_ref(&e), &[])
            .await?;
        Ok(NoteView {
            id: e.id,
            author_id: e.author_id,
            created_at: e.created_at,
            text,
        })
    }

    pub(crate) async fn note_owner(
        &self,
        on: NoteOn,
    ) -> Result<(Uuid, String, (Option<Uuid>, Option<Uuid>, Option<Uuid>)), CaseworkError> {
        Ok(match on {
            NoteOn::Case(id) => {
                let c = self
                    .store
                    .get_case(id)
                    .await?
                    .ok_or(CaseworkError::NotFound("case"))?;
                (c.person_id, c.jurisdiction, (Some(id), None, None))
            }
            NoteOn::Contact(id) => {
                let e = self
                    .store
                    .get_exposure(id)
                    .await?
                    .ok_or(CaseworkError::NotFound("contact"))?;
                (e.contact_person_id, e.jurisdiction, (None, Some(id), None))
            }
        })
    }

    /// The notes of a case or contact record, oldest first; a note written
    /// before notes were kept one by one comes first, without an author.
    pub async fn notes(&self, on: NoteOn) -> Result<Vec<NoteView>, CaseworkError> {
        let (owner, legacy) = match on {
            NoteOn::Case(id) => {
                let c = self
                    .store
                    .get_case(id)
                    .await?
                    .ok_or(CaseworkError::NotFound("case"))?;
                let text = self.open_opt(schema::CASES.name, "notes", id, &c.notes)?;
                (EntryOwner::Case(id), text.map(|t| (c.created_at, t)))
            }
            NoteOn::Contact(id) => {
                let e = self
                    .store
                    .get_exposure(id)
                    .await?
                    .ok_or(CaseworkError::NotFound("contact"))?;
                let text = self.open_opt(schema::EXPOSURES.name, "notes", id, &e.notes)?;
                (EntryOwner::Exposure(id), text.map(|t| (e.created_at, t)))
            }
        };
        let mut out: Vec<NoteView> = legacy
            .map(|(at, text)| NoteView {
                id: match owner {
                    EntryOwner::Case(id)
                    | EntryOwner::Exposure(id)
                    | EntryOwner::Task(id)
                    | EntryOwner::Person(id) => id,
                },
                author_id: None,
                created_at: at,
                text,
            })
            .into_iter()
            .collect();
        for e in self.store.entries(owner, Some(entry_kind::NOTE)).await? {
            let body = self.open_entry(&e)?;
            out.push(NoteView {
                id: e.id,
                author_id: e.author_id,
                created_at: e.created_at,
                text: body["text"].as_str().unwrap_or_default().to_string(),
            });
        }
        Ok(out)
    }

    /// Records an outreach attempt on a case-work task.
    pub async fn record_attempt(
        &self,
        task_id: Uuid,
        input: &AttemptInput,
    ) -> Result<AttemptView, CaseworkError> {
        let mut c = Check::default();
        let channel = named(
            &mut c,
            "channel",
            &input.channel,
            AttemptChannel::parse,
            Some("give how the person was tried"),
            "must be phone, sms, email, in_person or letter",
        );
        let outcome = named(
            &mut c,
            "outcome",
            &input.outcome,
            |o| AttemptOutcome::parse(o).filter(|o| o.by_hand()),
            Some("give what the attempt came to"),
            "must be reached, left_voicemail, no_answer, wrong_number, refused or call_back (messages record their own)",
        );
        let now = self.now();
        let at = input.at.unwrap_or(now);
        if at > now + chrono::Duration::minutes(5) {
            c.fail("at", "is in the future");
        }
        match (outcome, input.callback_at) {
            (Some(AttemptOutcome::CallBack), None) => {
                c.fail("callback_at", "a call back needs the time asked for")
            }
            (Some(o), Some(_)) if o != AttemptOutcome::CallBack => {
                c.fail("callback_at", "only a call_back outcome takes a time")
            }
            _ => {}
        }
        let note = bounded_text(&mut c, "note", &input.note, 2000);
        let (channel, outcome) = c.finish((|| Some((channel?, outcome?)))())?;
        let task = self
            .store
            .get_task(task_id)
            .await?
            .ok_or(CaseworkError::NotFound("task"))?;
        let mut view = AttemptView {
            id: Uuid::nil(),
            task_id,
            author_id: self.author(),
            channel: channel.as_str().into(),
            outcome: outcome.as_str().into(),
            at,
            callback_at: input.callback_at,
            note,
            message_id: None,
        };
        let body = serde_json::to_value(&view)
            .map_err(|e| CaseworkError::Internal(format!("an attempt did not encode: {e}")))?;
        let e = self.entry(
            entry_kind::ATTEMPT,
            task.person_id,
            &task.jurisdiction,
            self.author(),
            (task.case_id, task.exposure_id, Some(task_id)),
            &body,
        );
        self.store
            .add_entries(std::slice::from_ref(&e), &[])
            .await?;
        view.id = e.id;
        Ok(view)
    }

    /// The attempts on a task, oldest first: those recorded by hand, and
    /// each message sent for the task or received in answer to one (its
    /// outcome from the message's status; its body stays on the thread).
    pub async fn attempts(&self, task_id: Uuid) -> Result<Vec<AttemptView>, CaseworkError> {
        let mut out = self
            .store
            .entries(EntryOwner::Task(task_id), Some(entry_kind::ATTEMPT))
            .await?
            .iter()
            .map(|e| {
                let mut v: AttemptView = serde_json::from_value(self.open_entry(e)?)
                    .map_err(|_| CaseworkError::Vault(tracedesk_vault::VaultError::Malformed))?;
                v.id = e.id;
                v.task_id = task_id;
                v.author_id = e.author_id;
                Ok(v)
            })
            .collect::<Result<Vec<_>, CaseworkError>>()?;
        for m in self.store.task_messages(task_id, MESSAGE_ATTEMPTS).await? {
            let Some(outcome) = AttemptOutcome::of_message(&m.direction, &m.status) else {
                continue;
            };
            let channel = match m.channel.as_str() {
                "email" => AttemptChannel::Email,
                "voice" => AttemptChannel::Phone,
                _ => AttemptChannel::Sms,
            };
            out.push(AttemptView {
                id: m.id,
                task_id,
                author_id: None,
                channel: channel.as_str().into(),
                outcome: outcome.as_str().into(),
                at: m.created_at,
                callback_at: None,
                note: None,
                message_id: Some(m.id),
            });
        }
        out.sort_by_key(|a| a.at);
        Ok(out)
    }

    /// Makes a staff user the case's investigator (`None`: nobody). They
    /// hold the case and the contacts it named while it is open, after
    /// their interview task is done. The user must be a tracer or
    /// supervisor whose jurisdiction covers the case's.
    pub async fn set_investigator(
        &self,
        case_id: Uuid,
        user: Option<Uuid>,
    ) -> Result<Option<Uuid>, CaseworkError> {
        let case = self
            .store
            .get_case(case_id)
            .await?
            .ok_or(CaseworkError::NotFound("case"))?;
        if CaseStatus::parse(&case.status).is_some_and(|s| !s.is_open()) {
            return Err(CaseworkError::Conflict(
                "the case is closed: it has no investigator".into(),
            ));
        }
        if let Some(u) = user {
            let row = self.store.get_user(u).await?;
            let fits = row.as_ref().is_some_and(|r| {
                r.disabled_at.is_none()
                    && matches!(Role::parse(&r.role), Some(Role::Tracer | Role::Supervisor))
                    && self
                        .jurisdictions()
                        .within(&case.jurisdiction, &r.jurisdiction)
            });
            if !fits {
                return Err(CaseworkError::invalid(
                    "user_id",
                    "is not an active tracer or supervisor of the case's jurisdiction",
                ));
            }
        }
        self.store
            .set_investigator(case_id, user, self.now())
            .await?;
        // An interview still under way goes with the investigation: whoever
        // held it no longer holds the case.
        if let Some(u) = user {
            let interview = TaskKind::CaseInterview.as_str();
            let active = self
                .store
                .tasks_for_case(case_id)
                .await?
                .into_iter()
                .filter(|t| {
                    t.kind == interview
                        && t.case_id == Some(case_id)
                        && TaskStatus::parse(&t.status)
                            .is_some_and(|s| TaskStatus::ACTIVE.contains(&s))
                        && t.assignee_id != Some(u)
                });
            let mut moved = false;
            for t in active {
                self.store.assign_task(t.id, Some(u)).await?;
                moved = true;
            }
            if moved {
                self.tasks_made();
            }
        }
        Ok(user)
    }

    /// The case's investigator: who holds its investigation now.
    pub async fn investigator(&self, case_id: Uuid) -> Result<Option<Uuid>, CaseworkError> {
        let kind = tracedesk_domain::TaskKind::Investigation.as_str();
        Ok(self
            .store
            .tasks_for_case(case_id)
            .await?
            .into_iter()
            .find(|t| t.kind == kind && t.status == "assigned")
            .and_then(|t| t.assignee_id))
    }

    /// Ends the monitoring of contacts whose quarantine is over (the daily
    /// job); returns the contact records ended.
    /// Audited before it acts (one entry for the run) and after (one per
    /// record ended).
    pub async fn end_monitoring(&self) -> Result<Vec<Uuid>, CaseworkError> {
        use crate::auditor::draft;
        use tracedesk_store::audit::Action;
        const ACTOR: &str = "monitoring-job";
        let today = self.today();
        if let Some(a) = self.auditor() {
            let detail = format!("end monitoring of quarantines over before {today}");
            a.record(vec![draft(
                ACTOR,
                Action::PhiWrite,
                "exposure",
                None,
                None,
                &detail,
            )])
            .await?;
        }
        // The store ends up to 5,000 a round: a backlog takes several.
        let mut ended = Vec::new();
        loop {
            let round = self.store.end_monitoring(today, self.now()).await?;
            let more = round.len() >= 5_000;
            ended.extend(round);
            if !more {
                break;
            }
        }
        if !ended.is_empty() {
            self.tasks_made();
            if let Some(a) = self.auditor() {
                let drafts = ended
                    .iter()
                    .map(|id| {
                        draft(
                            ACTOR,
                            Action::PhiWrite,
                            "exposure",
                            Some(*id),
                            None,
                            "completed",
                        )
                    })
                    .collect();
                a.record(drafts).await?;
            }
        }
        Ok(ended)
    }

    /// The transmission chain around a case: cases linked by contact
    /// records whose contact is (or became) a case, walked both ways up to
    /// `depth` steps and [`CHAIN_NODES`] cases. Unscoped: the caller shows
    /// only the cases it may.
    pub async fn chain(&self, case_id: Uuid, depth: u32) -> Result<Chain, CaseworkError> {
        let start = self
            .store
            .get_case(case_id)
            .await?
            .ok_or(CaseworkError::NotFound("case"))?;
        let mut chain = Chain::default();
        let mut seen = std::collections::HashSet::from([case_id]);
        let mut edges = std::collections::HashSet::new();
        let mut frontier = vec![case_id];
        chain.cases.push(start);
        for _ in 0..depth {
            let mut next = Vec::new();
            for id in frontier {
                let out = ExposureFilter {
                    case_id: Some(id),
                    limit: 500,
                    ..ExposureFilter::default()
                };
                let into = ExposureFilter {
                    contact_case_id: Some(id),
                    limit: 500,
                    ..ExposureFilter::default()
                };
                for f in [out, into] {
                    for e in self.store.list_exposures(&f).await? {
                        let Some(to) = e.contact_case_id else {
                            continue;
                        };
                        if edges.insert(e.id) {
                            chain.edges.push(ChainEdge {
                                from: e.case_id,
                                to,
                                exposure_id: e.id,
                            });
                        }
                        for n in [e.case_id, to] {
                            if seen.len() >= CHAIN_NODES {
                                chain.truncated = true;
                            } else if seen.insert(n) {
                                next.push(n);
                            }
                        }
                    }
                }
            }
            for id in &next {
                if let Some(c) = self.store.get_case(*id).await? {
                    chain.cases.push(c);
                }
            }
            if next.is_empty() {
                break;
            }
            frontier = next;
        }
        Ok(chain)
    }

    /// A duplicate accession is checked against what was stored under it:
    /// the same result for the same person is a plain duplicate; a
    /// different result, or a person none of whose keys match, is a
    /// conflict — reported, and kept as an entry on the stored result's
    /// person for a data manager to review, never dropped.
    pub(crate) async fn check_duplicate(&self, o: &mut LabOutcomeView, input: &LabResultInput) {
        let Some(of) = o.duplicate_of else { return };
        match self.duplicate_conflict(of, input).await {
            Ok(None) => {}
            Ok(Some((reason, entry))) => {
                o.status = "conflict";
                o.error = Some(crate::ItemError {
                    code: "conflict",
                    message: format!(
                        "this accession is already recorded {reason}; kept for review"
                    ),
                    field: Some("accession".into()),
                });
                if let Err(e) = self
                    .store
                    .add_entries(std::slice::from_ref(&entry), &[])
                    .await
                {
                    tracing::error!(error = %e, index = o.index, "an accession conflict could not be kept");
                    o.status = "rejected";
                    o.error = Some(crate::ItemError::from(&CaseworkError::Store(e)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, index = o.index, "a duplicate accession could not be checked");
            }
        }
    }

    async fn duplicate_conflict(
        &self,
        of: Uuid,
        input: &LabResultInput,
    ) -> Result<Option<(&'static str, EntryRow)>, CaseworkError> {
        let Some(stored) = self.store.get_lab_result(of).await? else {
            return Ok(None);
        };
        let v = input.validate(&self.settings.default_region, self.today())?;
        let was = self.lab_view(&stored)?;
        let person = self.store.get_person(stored.person_id).await?;
        let points = self.store.person_points(stored.person_id).await?;
        let keys = crate::seal::match_keys(&self.vault, &v.person);
        let same_person = keys.is_empty()
            || keys.iter().any(|(k, b)| {
                let own = person.as_ref().and_then(|p| match k {
                    PersonKey::NameDob => p.name_dob_bidx.as_ref(),
                    PersonKey::PhoneName => p.phone_name_bidx.as_ref(),
                    PersonKey::Phone => p.phone_bidx.as_ref(),
                    PersonKey::Email => p.email_bidx.as_ref(),
                });
                own == Some(b) || points.iter().any(|pt| pt.key == *k && &pt.bidx == b)
            });
        let same_result = LabOutcome::parse(&was.result) == Some(v.outcome);
        let reason = match (same_result, same_person) {
            (true, true) => return Ok(None),
            (false, true) => "with a different result",
            (true, false) => "for a different person",
            (false, false) => "with a different result for a different person",
        };
        let body = serde_json::json!({
            "lab_result_id": of,
            "reason": reason,
            "submitted": input,
        });
        let entry = self.entry(
            entry_kind::ACCESSION_CONFLICT,
            stored.person_id,
            &stored.jurisdiction,
            None,
            (stored.case_id, None, None),
            &body,
        );
        Ok(Some((reason, entry)))
    }
}

/// A fact learned about a person after their record was made.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PointView {
    /// `phone`, `email` or `dob`.
    pub kind: &'static str,
    pub value: String,
    /// When it was first seen.
    pub seen_at: DateTime<Utc>,
}

impl crate::services::Cases<'_> {
    /// The phones, emails and dates of birth learned about a person after
    /// their record was made, oldest first — those the given jurisdictions
    /// recorded (`None`: all, for break-glass).
    pub async fn person_points(
        &self,
        person: Uuid,
        jurisdictions: Option<&[String]>,
    ) -> Result<Vec<PointView>, CaseworkError> {
        let mut out = Vec::new();
        for p in self.store.person_points(person).await? {
            if !jurisdictions.is_none_or(|js| js.contains(&p.jurisdiction)) {
                continue;
            }
            let kind = match p.key {
                PersonKey::Phone => "phone",
                PersonKey::Email => "email",
                PersonKey::NameDob => "dob",
                PersonKey::PhoneName => continue,
            };
            if let Some(value) =
                self.open_opt(schema::PERSON_POINTS.name, "value", p.id, &p.value)?
            {
                out.push(PointView {
                    kind,
                    value,
                    seen_at: p.created_at,
                });
            }
        }
        Ok(out)
    }
}

/// A case's household: who lives with the case, and where (sealed).
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdInput {
    /// The shared address (kept sealed; never used to locate anyone).
    pub address: Option<String>,
    /// Contact records on this case of the people who live with the case.
    #[serde(default)]
    pub contact_ids: Vec<Uuid>,
    /// Whether their exposure goes on while the case isolates at home
    /// (quarantine then ends 14 days after the case's isolation does).
    pub ongoing_exposure: Option<bool>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HouseholdView {
    pub id: Uuid,
    pub case_id: Uuid,
    pub address: Option<String>,
    pub members: Vec<HouseholdMemberView>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct HouseholdMemberView {
    /// As the case's jurisdiction knows them.
    pub person_id: Uuid,
    /// Their contact record on the case (none for the case's own person).
    pub exposure_id: Option<Uuid>,
}

impl crate::services::Cases<'_> {
    /// Records who lives with a case: the case's person and the contacts
    /// given (each a contact record of this case). Their records become
    /// household exposures, and with `ongoing_exposure` their quarantine
    /// follows the case's isolation end. Members are added, never removed.
    pub async fn put_household(
        &self,
        case_id: Uuid,
        input: &HouseholdInput,
    ) -> Result<HouseholdView, CaseworkError> {
        let mut c = Check::default();
        let address = bounded_text(&mut c, "address", &input.address, 300);
        if input.contact_ids.len() > 50 {
            c.fail("contact_ids", "at most 50 members at once");
        }
        c.finish(Some(()))?;
        let case = self
            .store
            .get_case(case_id)
            .await?
            .ok_or(CaseworkError::NotFound("case"))?;
        let mut records = Vec::new();
        for (i, id) in input.contact_ids.iter().enumerate() {
            match self.store.get_exposure(*id).await? {
                Some(e) if e.case_id == case_id => records.push(e),
                _ => {
                    return Err(CaseworkError::invalid(
                        &format!("contact_ids[{i}]"),
                        "is not a contact record of this case",
                    ));
                }
            }
        }
        let existing = self.store.household_of_case(case_id).await?;
        let id = existing.as_ref().map_or_else(Uuid::now_v7, |(h, _)| h.id);
        let t = schema::HOUSEHOLDS.name;
        let sealed_address = match &address {
            Some(a) => Some(a.clone()),
            None => existing
                .as_ref()
                .map(|(h, _)| self.open_opt(t, "address", h.id, &h.address))
                .transpose()?
                .flatten(),
        };
        let row = tracedesk_store::HouseholdRow {
            id,
            case_id,
            jurisdiction: case.jurisdiction.clone(),
            created_at: existing.as_ref().map_or(self.now(), |(h, _)| h.created_at),
            key_version: self.vault.current_version(),
            address: crate::seal::seal_opt(
                &self.vault,
                t,
                "address",
                id,
                sealed_address.as_deref(),
            ),
        };
        let mut members = vec![tracedesk_store::HouseholdMember {
            person_id: case.person_id,
            exposure_id: None,
        }];
        members.extend(records.iter().map(|e| tracedesk_store::HouseholdMember {
            person_id: e.contact_person_id,
            exposure_id: Some(e.id),
        }));
        self.store.put_household(&row, &members).await?;
        for e in records {
            let open =
                tracedesk_domain::ContactStatus::parse(&e.status).is_some_and(|s| !s.is_terminal());
            if !open {
                continue;
            }
            let patch = crate::ContactPatch {
                setting: Some("household".into()),
                ongoing_exposure: input.ongoing_exposure,
                ..Default::default()
            };
            self.patch_contact(e.id, &patch).await?;
        }
        self.household(case_id)
            .await?
            .ok_or(CaseworkError::NotFound("household"))
    }

    /// A case's household, if one is recorded.
    pub async fn household(&self, case_id: Uuid) -> Result<Option<HouseholdView>, CaseworkError> {
        let Some((h, members)) = self.store.household_of_case(case_id).await? else {
            return Ok(None);
        };
        let case = self
            .store
            .get_case(case_id)
            .await?
            .ok_or(CaseworkError::NotFound("case"))?;
        let mut out = Vec::new();
        for m in members {
            let shown = match m.exposure_id {
                Some(e) => self
                    .store
                    .get_exposure(e)
                    .await?
                    .and_then(|e| e.shown_person_id)
                    .unwrap_or(m.person_id),
                None => case.shown_person_id.unwrap_or(m.person_id),
            };
            out.push(HouseholdMemberView {
                person_id: shown,
                exposure_id: m.exposure_id,
            });
        }
        Ok(Some(HouseholdView {
            id: h.id,
            case_id,
            address: self.open_opt(schema::HOUSEHOLDS.name, "address", h.id, &h.address)?,
            members: out,
        }))
    }

    /// The households a person belongs to, as (household, case) ids —
    /// those of the given jurisdictions (`None`: all, for break-glass).
    pub async fn households_of(
        &self,
        person: Uuid,
        jurisdictions: Option<&[String]>,
    ) -> Result<Vec<(Uuid, Uuid)>, CaseworkError> {
        Ok(self
            .store
            .households_of_person(person)
            .await?
            .into_iter()
            .filter(|h| jurisdictions.is_none_or(|js| js.contains(&h.jurisdiction)))
            .map(|h| (h.id, h.case_id))
            .collect())
    }
}

/// A referral to make: a test, or support to isolate or quarantine.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    #[schema(required = true, schema_with = crate::api_schema::referral_kind)]
    pub kind: Option<String>,
    /// What is needed, in the tracer's words (kept sealed).
    pub details: Option<String>,
}

/// A move of a referral along its lifecycle.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralPatch {
    #[schema(required = true, schema_with = crate::api_schema::referral_status)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ReferralView {
    pub id: Uuid,
    #[schema(schema_with = crate::api_schema::referral_kind)]
    pub kind: String,
    #[schema(schema_with = crate::api_schema::referral_status)]
    pub status: String,
    pub details: Option<String>,
    /// The support-queue task that carries it out.
    pub task_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub exposure_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl crate::services::Cases<'_> {
    /// Refers a case or contact for a test or for support (food, housing,
    /// medicine, income, child care): a referral with a status, and a task
    /// for the support queue, written together.
    pub async fn refer(
        &self,
        on: NoteOn,
        input: &ReferralInput,
    ) -> Result<ReferralView, CaseworkError> {
        use tracedesk_domain::{ReferralKind, ReferralStatus};
        let mut c = Check::default();
        let kind = named(
            &mut c,
            "kind",
            &input.kind,
            ReferralKind::parse,
            Some("give what the referral is for"),
            "must be testing, food, housing, medicine, income, child_care or other",
        );
        let details = bounded_text(&mut c, "details", &input.details, 2000);
        let kind = c.finish(kind)?;
        let (person, jurisdiction, owner) = self.note_owner(on).await?;
        let shown = match on {
            NoteOn::Case(id) => self
                .store
                .get_case(id)
                .await?
                .and_then(|c| c.shown_person_id),
            NoteOn::Contact(id) => self
                .store
                .get_exposure(id)
                .await?
                .and_then(|e| e.shown_person_id),
        };
        let now = self.now();
        let task = tracedesk_store::TaskRow {
            case_id: owner.0,
            exposure_id: owner.1,
            shown_person_id: shown,
            ..tracedesk_store::TaskRow::pending(
                TaskKind::SupportRequest,
                person,
                &jurisdiction,
                now,
            )
        };
        let body = serde_json::json!({
            "kind": kind.as_str(),
            "details": details,
            "task_id": task.id,
        });
        let mut e = self.entry(
            entry_kind::REFERRAL,
            person,
            &jurisdiction,
            self.author(),
            owner,
            &body,
        );
        e.status = Some(ReferralStatus::Requested.as_str().into());
        self.store
            .add_entries(std::slice::from_ref(&e), std::slice::from_ref(&task))
            .await?;
        self.tasks_made();
        self.referral_view(&e)
    }

    fn referral_view(&self, e: &EntryRow) -> Result<ReferralView, CaseworkError> {
        let body = self.open_entry(e)?;
        Ok(ReferralView {
            id: e.id,
            kind: body["kind"].as_str().unwrap_or_default().to_string(),
            status: e.status.clone().unwrap_or_default(),
            details: body["details"].as_str().map(str::to_string),
            task_id: body["task_id"]
                .as_str()
                .and_then(|t| Uuid::try_parse(t).ok()),
            case_id: e.case_id,
            exposure_id: e.exposure_id,
            author_id: e.author_id,
            created_at: e.created_at,
        })
    }

    /// The referrals of a case or contact record, oldest first.
    pub async fn referrals(&self, on: NoteOn) -> Result<Vec<ReferralView>, CaseworkError> {
        let owner = match on {
            NoteOn::Case(id) => EntryOwner::Case(id),
            NoteOn::Contact(id) => EntryOwner::Exposure(id),
        };
        self.store
            .entries(owner, Some(entry_kind::REFERRAL))
            .await?
            .iter()
            .map(|e| self.referral_view(e))
            .collect()
    }

    /// A referral by id, for the access check: its row (person and
    /// jurisdiction), or `None` when no referral has that id.
    pub async fn referral_row(&self, id: Uuid) -> Result<Option<EntryRow>, CaseworkError> {
        Ok(self
            .store
            .get_entry(id)
            .await?
            .filter(|e| e.kind == entry_kind::REFERRAL))
    }

    /// Moves a referral along its lifecycle; once settled (fulfilled,
    /// declined, canceled) its support task ends.
    pub async fn patch_referral(
        &self,
        id: Uuid,
        patch: &ReferralPatch,
    ) -> Result<ReferralView, CaseworkError> {
        use tracedesk_domain::ReferralStatus;
        let to = match present(&patch.status) {
            None => {
                return Err(CaseworkError::invalid(
                    "status",
                    "give the referral's new status",
                ));
            }
            Some(s) => ReferralStatus::parse(s).ok_or_else(|| {
                CaseworkError::invalid(
                    "status",
                    "must be requested, in_progress, fulfilled, declined or canceled",
                )
            })?,
        };
        let mut e = self
            .referral_row(id)
            .await?
            .ok_or(CaseworkError::NotFound("referral"))?;
        let from = e
            .status
            .as_deref()
            .and_then(ReferralStatus::parse)
            .ok_or_else(|| CaseworkError::Internal("a stored referral status is unknown".into()))?;
        from.transition(to)?;
        self.store.set_entry_status(id, to.as_str()).await?;
        e.status = Some(to.as_str().into());
        let view = self.referral_view(&e)?;
        if to.is_final()
            && let Some(task) = view.task_id
            && self.store.withdraw_task(task).await? > 0
        {
            self.tasks_made();
        }
        Ok(view)
    }
}

/// An implausible date on a record, kept for a data manager.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct WarningView {
    pub code: String,
    pub message: String,
    pub created_at: DateTime<Utc>,
}

impl WarningView {
    pub(crate) fn of(w: &tracedesk_domain::DataWarning, at: DateTime<Utc>) -> Self {
        Self {
            code: w.code().into(),
            message: w.message(),
            created_at: at,
        }
    }
}

impl crate::services::Cases<'_> {
    /// A warning kept as an entry on a record.
    pub(crate) fn warning_entry(
        &self,
        w: &tracedesk_domain::DataWarning,
        person: Uuid,
        jurisdiction: &str,
        owner: (Option<Uuid>, Option<Uuid>, Option<Uuid>),
        lab: Option<Uuid>,
    ) -> EntryRow {
        let body = serde_json::json!({
            "code": w.code(),
            "message": w.message(),
            "lab_result_id": lab,
        });
        self.entry(
            entry_kind::WARNING,
            person,
            jurisdiction,
            None,
            owner,
            &body,
        )
    }

    /// The warnings kept on a case (its results' and its own) or a contact
    /// record, oldest first.
    pub async fn warnings(&self, on: NoteOn) -> Result<Vec<WarningView>, CaseworkError> {
        let owner = match on {
            NoteOn::Case(id) => EntryOwner::Case(id),
            NoteOn::Contact(id) => EntryOwner::Exposure(id),
        };
        self.warning_views(owner, None).await
    }

    /// The warnings kept on a person's records, of the given jurisdictions
    /// (`None`: all, for break-glass).
    pub async fn person_warnings(
        &self,
        person: Uuid,
        jurisdictions: Option<&[String]>,
    ) -> Result<Vec<WarningView>, CaseworkError> {
        self.warning_views(EntryOwner::Person(person), jurisdictions)
            .await
    }

    async fn warning_views(
        &self,
        owner: EntryOwner,
        jurisdictions: Option<&[String]>,
    ) -> Result<Vec<WarningView>, CaseworkError> {
        self.store
            .entries(owner, Some(entry_kind::WARNING))
            .await?
            .iter()
            .filter(|e| jurisdictions.is_none_or(|js| js.contains(&e.jurisdiction)))
            .map(|e| {
                let body = self.open_entry(e)?;
                Ok(WarningView {
                    code: body["code"].as_str().unwrap_or_default().into(),
                    message: body["message"].as_str().unwrap_or_default().into(),
                    created_at: e.created_at,
                })
            })
            .collect()
    }
}

/// Where a case went.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TransferView {
    pub case_id: Uuid,
    pub from: String,
    pub to: String,
    /// Contact records that moved with it.
    pub contacts: usize,
    /// Unfinished tasks canceled where they were and made anew there.
    pub tasks: usize,
}

impl crate::services::Cases<'_> {
    /// Transfers an open case, with the contact records it named, its
    /// results, notes and household, to another jurisdiction. The
    /// receiving jurisdiction knows each person as the sending one did (a
    /// facet of its own, unless it is their home); unfinished tasks are
    /// canceled (ending the holders' access) and made anew, pending, in the
    /// receiving jurisdiction; the sending jurisdiction no longer sees them.
    pub async fn transfer_case(
        &self,
        case_id: Uuid,
        to: &str,
    ) -> Result<TransferView, CaseworkError> {
        let to = to.trim();
        if !self.jurisdictions().contains(to) {
            self.refresh_jurisdictions().await?;
        }
        if !self.jurisdictions().contains(to) {
            return Err(CaseworkError::invalid(
                "jurisdiction",
                "is not a known jurisdiction (see `tracedesk jurisdiction list`)",
            ));
        }
        let case = self
            .store
            .get_case(case_id)
            .await?
            .ok_or(CaseworkError::NotFound("case"))?;
        if case.jurisdiction == to {
            return Err(CaseworkError::invalid(
                "jurisdiction",
                "is where the case is already",
            ));
        }
        if CaseStatus::parse(&case.status).is_some_and(|s| !s.is_open()) {
            return Err(CaseworkError::Conflict(
                "a closed case stays where it closed".into(),
            ));
        }
        let exposures = self
            .store
            .list_exposures(&ExposureFilter {
                case_id: Some(case_id),
                limit: 10_000,
                ..ExposureFilter::default()
            })
            .await?;
        let mut people: Vec<Uuid> = std::iter::once(case.person_id)
            .chain(exposures.iter().map(|e| e.contact_person_id))
            .collect();
        people.sort_unstable();
        people.dedup();
        let homes: std::collections::HashMap<Uuid, String> = self
            .store
            .get_persons(&people)
            .await?
            .into_iter()
            .map(|p| (p.id, p.jurisdiction))
            .collect();
        let mut facets = self.store.facet_ids(&people).await?;
        let mut new_facets = Vec::new();
        let mut shown_there = async |person: Uuid, shown_here: Option<Uuid>| {
            if homes.get(&person).is_some_and(|h| h == to) {
                return Ok::<_, CaseworkError>(None);
            }
            if let Some(f) = facets.get(&(person, to.to_string())) {
                return Ok(Some(*f));
            }
            // The identity as the sending jurisdiction knew it.
            let view = match shown_here {
                Some(f) => match self.store.get_facet(f).await? {
                    Some(row) => self.facet_view(&row)?,
                    None => return Err(CaseworkError::NotFound("person")),
                },
                None => match self.store.get_person(person).await? {
                    Some(row) => self.person_view(&row)?,
                    None => return Err(CaseworkError::NotFound("person")),
                },
            };
            let facet = self.seal_facet(&view, person, to);
            facets.insert((person, to.to_string()), facet.id);
            let id = facet.id;
            new_facets.push(facet);
            Ok(Some(id))
        };
        let case_shown = shown_there(case.person_id, case.shown_person_id).await?;
        let mut moved = Vec::new();
        let mut shown_of = std::collections::HashMap::new();
        shown_of.insert(case.person_id, case_shown);
        for e in &exposures {
            let s = shown_there(e.contact_person_id, e.shown_person_id).await?;
            shown_of.insert(e.contact_person_id, s);
            moved.push((e.id, s));
        }
        let now = self.now();
        let investigation = TaskKind::Investigation.as_str();
        let tasks: Vec<_> = self
            .store
            .tasks_for_case(case_id)
            .await?
            .into_iter()
            .filter(|t| {
                t.kind != investigation
                    && TaskStatus::parse(&t.status).is_some_and(|s| !TaskStatus::FINAL.contains(&s))
            })
            .map(|t| tracedesk_store::TaskRow {
                id: Uuid::now_v7(),
                status: TaskStatus::Pending.as_str().into(),
                created_at: now,
                jurisdiction: to.to_string(),
                assignee_id: None,
                shown_person_id: shown_of.get(&t.person_id).copied().flatten(),
                ..t
            })
            .collect();
        let plan = tracedesk_store::CaseTransfer {
            case_id,
            to: to.to_string(),
            case_shown,
            facets: new_facets,
            exposures: moved,
            tasks,
        };
        self.store.transfer_case(&plan).await?;
        self.tasks_made();
        Ok(TransferView {
            case_id,
            from: case.jurisdiction,
            to: to.to_string(),
            contacts: plan.exposures.len(),
            tasks: plan.tasks.len(),
        })
    }

    /// An identity, sealed anew as a facet of `jurisdiction`.
    fn seal_facet(
        &self,
        v: &crate::PersonView,
        person: Uuid,
        jurisdiction: &str,
    ) -> tracedesk_store::PersonFacetRow {
        let id = Uuid::now_v7();
        let t = schema::PERSON_FACETS.sealed_as;
        let seal = |col: &str, value: &Option<String>| {
            crate::seal::seal_opt(&self.vault, t, col, id, value.as_deref())
        };
        tracedesk_store::PersonFacetRow {
            id,
            person_id: person,
            jurisdiction: jurisdiction.to_string(),
            created_at: self.now(),
            key_version: self.vault.current_version(),
            first_name: seal("first_name", &v.first_name),
            last_name: seal("last_name", &v.last_name),
            dob: seal("dob", &v.dob),
            phone: seal("phone", &v.phone),
            email: seal("email", &v.email),
            address: seal("address", &v.address),
            language: seal("language", &v.language),
        }
    }
}
