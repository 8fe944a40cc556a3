//! Daily monitoring (Sara Alert's core): each contact in `monitoring` is
//! checked on once a day inside their window in their own time zone; a
//! reply is understood in any of the six languages; symptoms make a
//! `symptomatic_followup` task and get testing advice; two silent days make
//! a `non_responder_followup` task; a reply not understood gets a
//! clarifying text, a second one a `callback_request` for a person; the day
//! after quarantine ends brings a completion text and the record completes.
//!
//! The scheduler runs on the routing leader only (one node), in rounds of
//! [`ROUND`] records, each round written whole in one transaction: the
//! records moved on, the check-ins queued in the outbox, the tasks made.
//! What it writes names no one in the clear: the check-ins are sealed like
//! every message, the last reply's meaning is sealed on the record.

use crate::messaging::{priority, queued_row};
use crate::{CaseworkError, Page};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use tracedesk_comms::replies::{self, Reply};
use tracedesk_comms::windows::{self, Tz, Window};
use tracedesk_domain::{ContactStatus, TaskKind};
use tracedesk_store::monitoring::{bucket, state};
use tracedesk_store::{
    DueCheckin, ExposureMove, MessageRow, MonitoringDefaults, MonitoringRound, MonitoringRow,
    TaskRow, schema,
};
use tracedesk_vault::{BlindKind, FieldContext};
use uuid::Uuid;

/// Records a scheduling round reads and writes at once.
pub const ROUND: u32 = 5_000;
/// Check-ins in a row without an answer before a person is asked to call.
pub const SILENT_DAYS: i32 = 2;
/// Channels a check-in can go by: a text to answer, a call that asks, a
/// text with a self-report link (`web`), an email with one (`email`).
pub const CHANNELS: &[&str] = &["sms", "voice", "web", "email"];

/// How a reply to a check-in came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    Text,
    Call,
    Web,
}

/// What one scheduling pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CheckinStats {
    /// Contact records that began monitoring.
    pub enrolled: u64,
    /// Records that came due.
    pub due: usize,
    /// Check-ins queued.
    pub checkins: usize,
    /// Due check-ins that could not be sent (no phone, or it opted out):
    /// the silence counts toward a non-responder task.
    pub unreachable: usize,
    pub non_responder_tasks: usize,
    /// Records completed with quarantine over (completion texts queued).
    pub completed: usize,
    /// Records whose contact left monitoring otherwise.
    pub closed: usize,
    /// Records not due today after all (outside their window, waiting).
    pub deferred: usize,
}

impl std::ops::AddAssign for CheckinStats {
    fn add_assign(&mut self, o: Self) {
        self.enrolled += o.enrolled;
        self.due += o.due;
        self.checkins += o.checkins;
        self.unreachable += o.unreachable;
        self.non_responder_tasks += o.non_responder_tasks;
        self.completed += o.completed;
        self.closed += o.closed;
        self.deferred += o.deferred;
    }
}

/// What a check-in reply said, as sealed on the record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Report {
    /// `well`, `symptomatic` or `unknown`.
    pub kind: String,
    /// The symptoms named (the questionnaire's ids).
    pub symptoms: Vec<String>,
    pub at: DateTime<Utc>,
}

/// A contact record's monitoring, as the API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MonitoringView {
    /// The contact record (exposure) id.
    pub contact_id: Uuid,
    /// The person as the record's jurisdiction knows them.
    pub person_id: Uuid,
    pub jurisdiction: String,
    pub channel: String,
    /// `morning` (8–12), `afternoon` (12–16) or `evening` (16–19), local.
    pub window: String,
    pub time_zone: String,
    /// `active` or `closed`.
    pub state: String,
    /// The line list it is on: `symptomatic`, `non_reporting`,
    /// `asymptomatic` or `closed`.
    pub list: String,
    pub next_checkin_at: DateTime<Utc>,
    pub last_checkin_at: Option<DateTime<Utc>>,
    pub last_reply_at: Option<DateTime<Utc>>,
    pub silent_days: i32,
    pub last_report: Option<Report>,
}

/// How a contact wants to be checked on.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MonitoringPreferences {
    /// `sms` (a text to answer) or `voice` (a call that asks; press 1 or
    /// say yes for symptoms, 2 or no for none). Email and web check-ins
    /// are not available yet.
    pub channel: Option<String>,
    /// `morning`, `afternoon` or `evening`.
    pub window: Option<String>,
    /// An IANA time zone (`America/New_York`).
    pub time_zone: Option<String>,
}

/// A reply's effect on a monitoring record, decided before anything is
/// written.
struct Answer {
    row: MonitoringRow,
    moves: Vec<ExposureMove>,
    tasks: Vec<TaskRow>,
    template: Option<&'static str>,
    outcome: ReplyOutcome,
}

/// What a check-in reply came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyOutcome {
    Well,
    /// Symptoms: the contact is `symptomatic`, a follow-up task is made.
    Symptomatic,
    /// Not understood: a clarifying text went back.
    Clarified,
    /// Not understood twice: a person will call.
    CallbackTask,
    /// Not understood again: the callback task is already there.
    Unclear,
}

impl crate::services::Messages<'_> {
    fn defaults(&self) -> MonitoringDefaults {
        defaults(&self.settings.messaging)
    }

    fn zone_of(&self, row: &MonitoringRow) -> (Window, Tz) {
        let window = Window::parse(&row.checkin_window).unwrap_or(Window::Afternoon);
        let tz = windows::zone(&row.time_zone)
            .or_else(|| windows::zone(&self.settings.messaging.time_zone))
            .unwrap_or(Tz::UTC);
        (window, tz)
    }

    /// Starts monitoring contact records that entered `monitoring` (those
    /// of `only`, or every one not yet enrolled).
    pub async fn enroll(&self, only: Option<&[Uuid]>) -> Result<u64, CaseworkError> {
        Ok(self
            .store
            .enroll_monitoring(only, &self.defaults(), self.now())
            .await?)
    }

    /// One scheduling pass: enrolls records that entered monitoring, then
    /// works every record due now, round by round, calling `progress` after
    /// each. Audited before it acts (one entry for the pass) and for each
    /// record it completes or hands to a person.
    pub async fn schedule_checkins(
        &self,
        enroll_all: bool,
        mut progress: impl FnMut(&CheckinStats),
    ) -> Result<CheckinStats, CaseworkError> {
        use crate::auditor::draft;
        use tracedesk_store::audit::Action;
        const ACTOR: &str = "monitoring-job";
        let now = self.now();
        let mut stats = CheckinStats::default();
        self.fresh_templates().await?;
        if enroll_all {
            stats.enrolled = self.enroll(None).await?;
        }
        let mut audited = false;
        // A record is worked once a pass: what a round moves to later is
        // not due again before `now`. Three stages overlap: the next round
        // is read while this one is planned (opened, rendered, sealed), and
        // up to `WRITERS` planned rounds are written at once — rounds hold
        // different records, and each is written whole or not at all.
        let read = |after| {
            let store = self.store.clone();
            tokio::spawn(async move { store.due_checkins(now, after, ROUND).await })
        };
        let mut reading = read(None);
        let mut writing = std::collections::VecDeque::new();
        loop {
            let due = (&mut reading).await.map_err(stopped)??;
            let Some(last) = due.last() else {
                break;
            };
            let full = due.len() == ROUND as usize;
            reading = read(Some((last.row.next_due_at, last.row.id)));
            if !audited && let Some(a) = self.auditor() {
                let detail = format!("daily check-ins due by {}", now.format("%Y-%m-%dT%H:%MZ"));
                a.record(vec![draft(
                    ACTOR,
                    Action::PhiWrite,
                    "monitoring",
                    None,
                    None,
                    &detail,
                )])
                .await?;
                audited = true;
            }
            let cw = (**self).clone();
            let (round, s) =
                tokio::task::spawn_blocking(move || cw.messages().plan_round(&due, now))
                    .await
                    .map_err(stopped)??;
            self.audit_round(ACTOR, &round, None).await?;
            while writing.len() >= WRITERS {
                if let Some(w) = writing.pop_front() {
                    finish(w.await, &mut stats, &mut progress, self)?;
                }
            }
            let store = self.store.clone();
            writing.push_back(tokio::spawn(async move {
                let tasks = !round.tasks.is_empty() || !round.moves.is_empty();
                store.record_monitoring(&round).await.map(|_| (s, tasks))
            }));
            if !full {
                break;
            }
        }
        reading.abort();
        while let Some(w) = writing.pop_front() {
            finish(w.await, &mut stats, &mut progress, self)?;
        }
        Ok(stats)
    }

    /// Decides a round: what each due record gets, and the rows, messages
    /// and tasks that say so. Pure but for the vault.
    fn plan_round(
        &self,
        due: &[DueCheckin],
        now: DateTime<Utc>,
    ) -> Result<(MonitoringRound, CheckinStats), CaseworkError> {
        let mut round = MonitoringRound {
            rows: Vec::with_capacity(due.len()),
            messages: Vec::with_capacity(due.len()),
            ..Default::default()
        };
        let mut stats = CheckinStats {
            due: due.len(),
            ..Default::default()
        };
        // One rendering per template and language a round.
        let mut bodies: std::collections::HashMap<(&'static str, String), (String, String)> =
            std::collections::HashMap::new();
        for d in due {
            let mut row = d.row.clone();
            row.updated_at = now;
            let (window, tz) = self.zone_of(&row);
            let local_today = now.with_timezone(&tz).date_naive();
            let next_window = windows::span(window, tz, local_today + Duration::days(1)).0;
            let status = ContactStatus::parse(&d.exposure_status);
            let mut template = None;
            match status {
                Some(ContactStatus::Monitoring) if local_today > d.quarantine_end => {
                    round.moves.push(ExposureMove {
                        id: row.id,
                        from: ContactStatus::Monitoring.as_str().into(),
                        to: ContactStatus::Completed.as_str().into(),
                    });
                    template = Some("monitoring_complete");
                    close(&mut row, bucket::CLOSED);
                    stats.completed += 1;
                }
                Some(ContactStatus::Completed) => {
                    template = Some("monitoring_complete");
                    close(&mut row, bucket::CLOSED);
                    stats.completed += 1;
                }
                Some(s) if s.is_terminal() => {
                    close(&mut row, bucket::CLOSED);
                    stats.closed += 1;
                }
                Some(ContactStatus::Symptomatic | ContactStatus::ReferredForTesting) => {
                    row.bucket = bucket::SYMPTOMATIC.into();
                    row.next_due_at = next_window;
                    stats.deferred += 1;
                }
                Some(ContactStatus::Monitoring) => {
                    let next = windows::next_checkin(window, tz, now);
                    if next > now {
                        // Not inside today's window (enrolled outside it, or
                        // the scheduler was down through it).
                        row.next_due_at = next;
                        stats.deferred += 1;
                    } else {
                        let silent = row
                            .last_sent_at
                            .is_some_and(|sent| row.last_reply_at.is_none_or(|r| r < sent));
                        if silent {
                            row.silent_days += 1;
                            row.bucket = bucket::NON_REPORTING.into();
                            if row.silent_days == SILENT_DAYS {
                                round
                                    .tasks
                                    .push(self.task_for(&row, TaskKind::NonResponderFollowup));
                                stats.non_responder_tasks += 1;
                            }
                        } else {
                            row.silent_days = 0;
                            // Back in monitoring after symptoms (a negative
                            // test): off the symptomatic list.
                            if row.bucket == bucket::SYMPTOMATIC {
                                row.bucket = bucket::ASYMPTOMATIC.into();
                            }
                        }
                        row.last_sent_at = Some(now);
                        row.unclear = 0;
                        row.next_due_at = next_window;
                        template = Some("checkin");
                    }
                }
                // Not in monitoring yet (named, notified) or back before
                // it: looked at again tomorrow.
                _ => {
                    row.next_due_at = next_window;
                    stats.deferred += 1;
                }
            }
            if let Some(name) = template {
                match self.checkin_message(d, &row, name, &mut bodies)? {
                    Some(m) => {
                        round.messages.push(m);
                        if name == "checkin" {
                            stats.checkins += 1;
                        }
                    }
                    None => stats.unreachable += 1,
                }
            }
            round.rows.push(row);
        }
        Ok((round, stats))
    }

    /// The text `template` for a due record, to the phone its
    /// jurisdiction knows, in the contact's language; `None` with no phone
    /// or one that opted out.
    fn checkin_message(
        &self,
        d: &DueCheckin,
        row: &MonitoringRow,
        template: &'static str,
        bodies: &mut std::collections::HashMap<(&'static str, String), (String, String)>,
    ) -> Result<Option<MessageRow>, CaseworkError> {
        let ctx = |column| FieldContext::new(schema::PERSONS.name, column, d.sealed_id);
        let language = || -> Result<String, CaseworkError> {
            Ok(match &d.language {
                Some(l) => self.vault.open_string(&ctx("language"), l)?,
                None => "en".into(),
            })
        };
        // By email, where the contact asked for it and email can be sent:
        // the check-in as a self-report link, the completion as its text.
        if row.channel == "email"
            && self.settings.messaging.email
            && let Some(email) = &d.email
        {
            let email = self.vault.open_string(&ctx("email"), email)?;
            let language = language()?;
            let bidx = self.vault.blind(BlindKind::Email, &email.to_lowercase());
            let (body, name) = self.checkin_text(row, template, &language)?;
            let mut m = queued_row(
                self,
                "email",
                &email,
                bidx,
                &body,
                priority::ROUTINE,
                Some(name),
            );
            m.person_id = Some(row.person_id);
            m.jurisdiction = Some(row.jurisdiction.clone());
            return Ok(Some(m));
        }
        if d.opted_out {
            return Ok(None);
        }
        let Some(phone) = &d.phone else {
            return Ok(None);
        };
        let phone = self.vault.open_string(&ctx("phone"), phone)?;
        let language = language()?;
        let bidx = match &d.phone_bidx {
            Some(b) => b.clone(),
            None => self.vault.blind(BlindKind::Phone, &phone),
        };
        // By call, where the contact asked for one: the check-in asks on
        // the call; the completion is said.
        if row.channel == "voice" {
            let kind = if template == "checkin" {
                crate::voice::kind::CHECKIN
            } else {
                crate::voice::kind::NOTIFICATION
            };
            let script = self.voice_script(template, &language, kind)?;
            let mut m = self.call_row(
                &phone,
                bidx,
                &script,
                priority::ROUTINE,
                Some(template.into()),
            )?;
            m.person_id = Some(row.person_id);
            m.jurisdiction = Some(row.jurisdiction.clone());
            return Ok(Some(m));
        }
        let (body, name) = if matches!(row.channel.as_str(), "web" | "email") {
            // A text with the contact's own link (an email contact with no
            // email address gets it by text).
            self.checkin_text(row, template, &language)?
        } else {
            match bodies.get(&(template, language.clone())) {
                Some(b) => b.clone(),
                None => {
                    let b = self.render(template, &language)?;
                    bodies.insert((template, language), b.clone());
                    b
                }
            }
        };
        let mut m = queued_row(
            self,
            "sms",
            &phone,
            bidx,
            &body,
            priority::ROUTINE,
            Some(name),
        );
        m.person_id = Some(row.person_id);
        m.jurisdiction = Some(row.jurisdiction.clone());
        Ok(Some(m))
    }

    /// A built-in SMS template rendered in `language` (English where it
    /// has none): the body and the template's name.
    /// A link contact's message: the check-in as `checkin_link` with their
    /// own signed link, anything else as its usual text.
    fn checkin_text(
        &self,
        row: &MonitoringRow,
        template: &str,
        language: &str,
    ) -> Result<(String, String), CaseworkError> {
        if template != "checkin" {
            return self.render(template, language);
        }
        let t = self
            .template("checkin_link", "sms", language)
            .ok_or(CaseworkError::Internal(
                "a built-in template is missing".into(),
            ))?;
        let mut values = crate::messaging::template_values(&self.settings.messaging);
        values.insert("link", self.report_link(row.id, self.now()));
        let body = t
            .render(&values)
            .map_err(|e| CaseworkError::Internal(e.to_string()))?;
        Ok((body, t.name))
    }

    fn render(&self, template: &str, language: &str) -> Result<(String, String), CaseworkError> {
        let t = self
            .template(template, "sms", language)
            .ok_or(CaseworkError::Internal(
                "a built-in template is missing".into(),
            ))?;
        let body = t
            .render(&crate::messaging::template_values(&self.settings.messaging))
            .map_err(|e| CaseworkError::Internal(e.to_string()))?;
        Ok((body, t.name))
    }

    /// A follow-up task about a monitored contact, for their record's
    /// jurisdiction.
    fn task_for(&self, row: &MonitoringRow, kind: TaskKind) -> TaskRow {
        TaskRow {
            exposure_id: Some(row.id),
            shown_person_id: row.facet_id,
            ..TaskRow::pending(kind, row.person_id, &row.jurisdiction, self.now())
        }
    }

    /// Acts on a text from a monitored person that is not a keyword: the
    /// answer to their check-in. `None` when they are not monitored (in the
    /// inbound text's jurisdiction) — the text stays on the thread for a
    /// tracer.
    pub(crate) async fn answer_checkin(
        &self,
        person_id: Uuid,
        jurisdiction: Option<&str>,
        inbound: &MessageRow,
        body: &str,
    ) -> Result<Option<ReplyOutcome>, CaseworkError> {
        self.answer_checkin_by(
            person_id,
            jurisdiction,
            inbound,
            &replies::parse(body),
            Via::Text,
        )
        .await
    }

    /// [`answer_checkin`](Self::answer_checkin) with the reply understood,
    /// and how it came.
    pub(crate) async fn answer_checkin_by(
        &self,
        person_id: Uuid,
        jurisdiction: Option<&str>,
        inbound: &MessageRow,
        reply: &Reply,
        via: Via,
    ) -> Result<Option<ReplyOutcome>, CaseworkError> {
        let rows = self.store.person_monitoring(person_id).await?;
        let Some(row) = rows
            .into_iter()
            .find(|r| jurisdiction.is_none_or(|j| r.jurisdiction == j))
        else {
            return Ok(None);
        };
        self.apply_reply(row, Some(inbound), reply, via).await
    }

    /// Applies a reply to a monitored record: the record, its list, its
    /// contact's move and task, and (answering a text) the follow-up text
    /// to the number it came from. `None` when the record is no longer
    /// monitored.
    pub(crate) async fn apply_reply(
        &self,
        row: MonitoringRow,
        inbound: Option<&MessageRow>,
        reply: &Reply,
        via: Via,
    ) -> Result<Option<ReplyOutcome>, CaseworkError> {
        let person_id = row.person_id;
        let Some(exposure) = self.store.get_exposure(row.id).await? else {
            return Ok(None);
        };
        if exposure.status != ContactStatus::Monitoring.as_str() {
            return Ok(None);
        }
        let answer = self.answer(row, reply)?;
        let mut round = MonitoringRound {
            moves: answer.moves,
            tasks: answer.tasks,
            ..Default::default()
        };
        // A call asks again itself; a web page shows its answer itself.
        let template = match via {
            Via::Text => answer.template,
            Via::Call => answer.template.filter(|t| *t != "checkin_unclear"),
            Via::Web => None,
        };
        if let (Some(name), Some(inbound)) = (template, inbound) {
            let language = self.language_of(&answer.row).await?;
            let (text, template) = self.render(name, &language)?;
            let address = self.vault.open_string(
                &FieldContext::new(schema::MESSAGES.name, "address", inbound.id),
                &inbound.address,
            )?;
            let mut m = queued_row(
                self,
                "sms",
                &address,
                inbound.address_bidx.clone(),
                &text,
                priority::URGENT,
                Some(template),
            );
            m.person_id = Some(person_id);
            m.jurisdiction = Some(answer.row.jurisdiction.clone());
            round.messages.push(m);
        }
        round.rows.push(answer.row);
        self.audit_round("checkin-reply", &round, Some(person_id))
            .await?;
        self.store.record_monitoring(&round).await?;
        if !round.tasks.is_empty() {
            self.tasks_made();
        }
        Ok(Some(answer.outcome))
    }

    /// The contact's language as their record's jurisdiction knows it.
    pub(crate) async fn language_of(&self, row: &MonitoringRow) -> Result<String, CaseworkError> {
        let sealed = match row.facet_id {
            Some(f) => self.store.get_facet(f).await?.and_then(|f| f.language),
            None => None,
        };
        let (sealed, id) = match (sealed, row.facet_id) {
            (Some(s), Some(f)) => (Some(s), f),
            _ => (
                self.store
                    .get_person(row.person_id)
                    .await?
                    .and_then(|p| p.language),
                row.person_id,
            ),
        };
        Ok(match sealed {
            Some(s) => self
                .vault
                .open_string(&FieldContext::new(schema::PERSONS.name, "language", id), &s)?,
            None => "en".into(),
        })
    }

    /// What a reply does to a record (nothing written yet).
    fn answer(&self, mut row: MonitoringRow, reply: &Reply) -> Result<Answer, CaseworkError> {
        let now = self.now();
        let mut moves = Vec::new();
        let mut tasks = Vec::new();
        let mut template = None;
        let (kind, symptoms, outcome) = match reply {
            Reply::Well => {
                row.bucket = bucket::ASYMPTOMATIC.into();
                row.silent_days = 0;
                row.last_reply_at = Some(now);
                ("well", Vec::new(), ReplyOutcome::Well)
            }
            Reply::Symptomatic(named) => {
                row.bucket = bucket::SYMPTOMATIC.into();
                row.silent_days = 0;
                row.last_reply_at = Some(now);
                moves.push(ExposureMove {
                    id: row.id,
                    from: ContactStatus::Monitoring.as_str().into(),
                    to: ContactStatus::Symptomatic.as_str().into(),
                });
                tasks.push(self.task_for(&row, TaskKind::SymptomaticFollowup));
                template = Some("checkin_symptomatic");
                let named = named.iter().map(|s| s.to_string()).collect();
                ("symptomatic", named, ReplyOutcome::Symptomatic)
            }
            Reply::Unknown => {
                // An answer all the same: the person is not silent.
                row.last_reply_at = Some(now);
                row.unclear += 1;
                let outcome = match row.unclear {
                    1 => {
                        template = Some("checkin_unclear");
                        ReplyOutcome::Clarified
                    }
                    2 => {
                        tasks.push(self.task_for(&row, TaskKind::CallbackRequest));
                        ReplyOutcome::CallbackTask
                    }
                    _ => ReplyOutcome::Unclear,
                };
                ("unknown", Vec::new(), outcome)
            }
        };
        let report = Report {
            kind: kind.into(),
            symptoms,
            at: now,
        };
        let json =
            serde_json::to_string(&report).map_err(|e| CaseworkError::Internal(e.to_string()))?;
        let ctx = FieldContext::new(schema::MONITORING.name, "last_report", row.id);
        row.last_report = Some(self.vault.seal_str(&ctx, &json));
        row.key_version = self.vault.current_version();
        row.updated_at = now;
        Ok(Answer {
            row,
            moves,
            tasks,
            template,
            outcome,
        })
    }

    /// A contact record's monitoring (the caller is entitled to the record).
    pub async fn monitoring(&self, contact_id: Uuid) -> Result<MonitoringView, CaseworkError> {
        let row = self
            .store
            .get_monitoring(contact_id)
            .await?
            .ok_or(CaseworkError::NotFound("monitoring"))?;
        self.monitoring_view(&row)
    }

    /// Sets how a contact is checked on. A record not yet monitored keeps
    /// the preferences for when it is; the next check-in moves to the new
    /// window.
    pub async fn set_preferences(
        &self,
        contact_id: Uuid,
        p: &MonitoringPreferences,
    ) -> Result<MonitoringView, CaseworkError> {
        if let Some(c) = &p.channel
            && !CHANNELS.contains(&c.as_str())
        {
            return Err(CaseworkError::invalid(
                "channel",
                "must be sms or voice: email and web check-ins are not available yet",
            ));
        }
        if let Some(w) = &p.window
            && Window::parse(w).is_none()
        {
            return Err(CaseworkError::invalid(
                "window",
                "must be morning, afternoon or evening",
            ));
        }
        if let Some(z) = &p.time_zone
            && windows::zone(z).is_none()
        {
            return Err(CaseworkError::invalid(
                "time_zone",
                "must be an IANA time zone name such as America/New_York",
            ));
        }
        let exposure = self
            .store
            .get_exposure(contact_id)
            .await?
            .ok_or(CaseworkError::NotFound("contact"))?;
        let now = self.now();
        let mut row = match self.store.get_monitoring(contact_id).await? {
            Some(r) => r,
            None => {
                let d = self.defaults();
                MonitoringRow {
                    id: exposure.id,
                    person_id: exposure.contact_person_id,
                    facet_id: exposure.shown_person_id,
                    jurisdiction: exposure.jurisdiction.clone(),
                    channel: d.channel,
                    checkin_window: d.checkin_window,
                    time_zone: d.time_zone,
                    state: state::ACTIVE.into(),
                    bucket: bucket::ASYMPTOMATIC.into(),
                    next_due_at: now,
                    last_sent_at: None,
                    last_reply_at: None,
                    silent_days: 0,
                    unclear: 0,
                    key_version: self.vault.current_version(),
                    last_report: None,
                    created_at: now,
                    updated_at: now,
                }
            }
        };
        if let Some(c) = &p.channel {
            row.channel = c.clone();
        }
        if let Some(w) = &p.window {
            row.checkin_window = w.clone();
        }
        if let Some(z) = &p.time_zone {
            row.time_zone = z.clone();
        }
        row.updated_at = now;
        if row.state == state::ACTIVE {
            // Due again in the new window: not before the next one if
            // today's check-in went already.
            let (window, tz) = self.zone_of(&row);
            let sent_today = row.last_sent_at.is_some_and(|s| {
                s.with_timezone(&tz).date_naive() == now.with_timezone(&tz).date_naive()
            });
            let from = if sent_today {
                let tomorrow = now.with_timezone(&tz).date_naive() + Duration::days(1);
                windows::span(window, tz, tomorrow).0
            } else {
                now
            };
            row.next_due_at = windows::next_checkin(window, tz, from);
        }
        self.store
            .record_monitoring(&MonitoringRound {
                rows: vec![row.clone()],
                ..Default::default()
            })
            .await?;
        self.monitoring_view(&row)
    }

    /// A monitoring line list within `jurisdictions` (`None`: all), in
    /// keyset pages.
    pub async fn monitoring_list(
        &self,
        list: &str,
        jurisdictions: Option<&[String]>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<MonitoringView>, CaseworkError> {
        if !bucket::ALL.contains(&list) {
            return Err(CaseworkError::invalid(
                "list",
                "must be symptomatic, non_reporting, asymptomatic or closed",
            ));
        }
        let limit = crate::intake::page_limit(limit)?;
        let after = crate::intake::parse_cursor(cursor)?;
        let rows = self
            .store
            .monitoring_list(list, jurisdictions, after, limit)
            .await?;
        crate::intake::page(&rows, limit, |r| r.id, |r| self.monitoring_view(r))
    }

    /// Audits what a round is about to do, before it is written: each
    /// contact record it moves and each task it makes (`person`: whom the
    /// moves are about, when one person's reply caused them).
    async fn audit_round(
        &self,
        actor: &str,
        round: &MonitoringRound,
        person: Option<Uuid>,
    ) -> Result<(), CaseworkError> {
        use crate::auditor::draft;
        use tracedesk_store::audit::Action;
        let Some(a) = self.auditor() else {
            return Ok(());
        };
        let moves = round.moves.iter().map(|m| {
            draft(
                actor,
                Action::PhiWrite,
                "exposure",
                Some(m.id),
                person,
                &m.to,
            )
        });
        let tasks = round.tasks.iter().map(|t| {
            draft(
                actor,
                Action::PhiWrite,
                "task",
                Some(t.id),
                Some(t.person_id),
                &t.kind,
            )
        });
        let drafts: Vec<_> = moves.chain(tasks).collect();
        if !drafts.is_empty() {
            a.record(drafts).await?;
        }
        Ok(())
    }

    fn monitoring_view(&self, r: &MonitoringRow) -> Result<MonitoringView, CaseworkError> {
        let last_report = match &r.last_report {
            Some(sealed) => {
                let ctx = FieldContext::new(schema::MONITORING.name, "last_report", r.id);
                let json = self.vault.open_string(&ctx, sealed)?;
                Some(serde_json::from_str(&json).map_err(|_| {
                    CaseworkError::Internal("a stored check-in report is unreadable".into())
                })?)
            }
            None => None,
        };
        Ok(MonitoringView {
            contact_id: r.id,
            person_id: r.facet_id.unwrap_or(r.person_id),
            jurisdiction: r.jurisdiction.clone(),
            channel: r.channel.clone(),
            window: r.checkin_window.clone(),
            time_zone: r.time_zone.clone(),
            state: r.state.clone(),
            list: r.bucket.clone(),
            next_checkin_at: r.next_due_at,
            last_checkin_at: r.last_sent_at,
            last_reply_at: r.last_reply_at,
            silent_days: r.silent_days,
            last_report,
        })
    }
}

/// How a newly monitored contact is checked on until someone says
/// otherwise: by text, in the configured window and time zone.
pub(crate) fn defaults(m: &crate::messaging::MessagingSettings) -> MonitoringDefaults {
    MonitoringDefaults {
        channel: "sms".into(),
        checkin_window: m.checkin_window.clone(),
        time_zone: m.time_zone.clone(),
    }
}

impl crate::services::Cases<'_> {
    /// Moves contact records from `from` to `to` in bulk (an import, a
    /// bench): only a legal step, and only records still in `from` move;
    /// records entering monitoring are enrolled. Audited by its caller.
    /// Returns how many were asked to move.
    pub async fn move_contacts(
        &self,
        ids: &[Uuid],
        from: ContactStatus,
        to: ContactStatus,
    ) -> Result<usize, CaseworkError> {
        from.transition(to)
            .map_err(|e| CaseworkError::Conflict(e.to_string()))?;
        let moves = ids
            .iter()
            .map(|id| ExposureMove {
                id: *id,
                from: from.as_str().into(),
                to: to.as_str().into(),
            })
            .collect();
        self.store
            .record_monitoring(&MonitoringRound {
                moves,
                ..Default::default()
            })
            .await?;
        if to == ContactStatus::Monitoring {
            let defaults = defaults(&self.settings.messaging);
            self.store
                .enroll_monitoring(Some(ids), &defaults, self.now())
                .await?;
        }
        Ok(ids.len())
    }
}

/// Rounds being written at once by one scheduling pass.
const WRITERS: usize = 3;

type Written =
    Result<Result<(CheckinStats, bool), tracedesk_store::StoreError>, tokio::task::JoinError>;

/// A stage of a scheduling pass that stopped (panicked or was aborted).
fn stopped(e: tokio::task::JoinError) -> CaseworkError {
    CaseworkError::Internal(format!("a check-in round stopped: {e}"))
}

/// Counts a written round (and wakes routing for the tasks it made).
fn finish(
    w: Written,
    stats: &mut CheckinStats,
    progress: &mut impl FnMut(&CheckinStats),
    cw: &crate::Casework,
) -> Result<(), CaseworkError> {
    let (s, tasks) = w.map_err(stopped)??;
    if tasks {
        cw.tasks_made();
    }
    *stats += s;
    progress(stats);
    Ok(())
}

fn close(row: &mut MonitoringRow, list: &str) {
    row.state = state::CLOSED.into();
    row.bucket = list.into();
}
