//! Messages to and from people: the outbox a send writes to, the thread a
//! tracer reads, inbound texts with opt-out done by tracedesk itself, and
//! the dispatcher that hands queued messages to a carrier.
//!
//! Addresses and bodies are sealed before they reach the store; the
//! address's blind index is the person's phone (or email) index, so a reply
//! finds its person and an opt-out holds for every record with that number.
//! A message carries the jurisdiction that sent it, and a thread shows a
//! caller only their jurisdictions' messages: a person matched across
//! jurisdictions shares no conversation.

use crate::intake::{PersonRef, page_limit, parse_cursor};
use crate::{CaseworkError, Page};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tracedesk_comms::{Carrier, Delivery, Keyword, Outgoing, templates};
use tracedesk_domain::{Phone, TaskKind};
use tracedesk_store::messages::status;
use tracedesk_store::{ConsentRow, MessageRow, SendOutcome, UnknownSender, schema};
use tracedesk_vault::{BlindKind, FieldContext};
use uuid::Uuid;

/// What the program's messages say about it, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagingSettings {
    /// The program's name, as texts and calls open with it.
    pub program_name: String,
    /// The number people are asked to call back.
    pub callback_number: String,
    /// The number (or Messaging Service) texts go from.
    pub sender: String,
    /// How long a queued message stays worth sending (Twilio's default
    /// validity period is 36,000 s).
    pub validity: chrono::Duration,
    /// Text a newly named contact the notification template at once, in
    /// the naming's transaction (a contact with no phone gets none).
    pub notify_contacts: bool,
    /// The check-in window of a newly monitored contact: `morning`,
    /// `afternoon` or `evening`.
    pub checkin_window: String,
    /// The time zone of a newly monitored contact (IANA name).
    pub time_zone: String,
    /// Whether email can be sent: the sandbox takes it, or SMTP is set up.
    pub email: bool,
    /// Record click-to-call calls (announced to both people first).
    pub record_calls: bool,
    /// Where people reach tracedesk's self-report pages
    /// (`{report_base_url}/r/{token}`).
    pub report_base_url: String,
}

impl Default for MessagingSettings {
    fn default() -> Self {
        Self {
            program_name: "Public Health".into(),
            callback_number: "+1 212 555 0100".into(),
            sender: "+12125550100".into(),
            validity: chrono::Duration::seconds(36_000),
            notify_contacts: false,
            checkin_window: "afternoon".into(),
            time_zone: "America/New_York".into(),
            email: true,
            record_calls: false,
            report_base_url: "http://127.0.0.1:8080".into(),
        }
    }
}

/// Priorities of the outbox: notification and symptomatic follow-up before
/// routine check-ins.
pub mod priority {
    pub const URGENT: i32 = 0;
    pub const NORMAL: i32 = 1;
    pub const ROUTINE: i32 = 2;

    pub fn parse(s: &str) -> Option<i32> {
        match s {
            "urgent" => Some(URGENT),
            "normal" => Some(NORMAL),
            "routine" => Some(ROUTINE),
            _ => None,
        }
    }

    pub fn name(p: i32) -> &'static str {
        match p {
            URGENT => "urgent",
            ROUTINE => "routine",
            _ => "normal",
        }
    }
}

/// A message to send to a person: a template by name, or a body.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendInput {
    /// `sms` (the default) or `email`.
    pub channel: Option<String>,
    /// A template's name (`contact_notification`, `case_outreach`, …),
    /// rendered in the person's language.
    pub template: Option<String>,
    /// Free text instead of a template; an SMS may not name a diagnosis.
    pub body: Option<String>,
    /// The task the message serves.
    pub task_id: Option<Uuid>,
    /// `urgent`, `normal` (the default) or `routine`.
    pub priority: Option<String>,
}

/// A message as a thread shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MessageView {
    pub id: Uuid,
    /// `out` or `in`.
    pub direction: String,
    pub channel: String,
    pub status: String,
    pub priority: &'static str,
    pub task_id: Option<Uuid>,
    pub template: Option<String>,
    pub body: String,
    /// `gsm7` or `ucs2`.
    #[schema(value_type = String)]
    pub encoding: tracedesk_comms::Encoding,
    pub segments: i32,
    pub error_code: Option<String>,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An inbound text, as the carrier delivered it.
#[derive(Debug, Clone)]
pub struct InboundText {
    pub from: String,
    pub to: String,
    pub body: String,
    /// The provider's id; a second delivery of it is stored once.
    pub provider_sid: String,
}

/// What became of an inbound text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundOutcome {
    pub message_id: Option<Uuid>,
    /// `false` when the same provider id was already stored.
    pub stored: bool,
    pub keyword: Option<Keyword>,
    /// The person it was matched to, if one was.
    pub person_id: Option<Uuid>,
    /// What it did as the answer to a daily check-in.
    pub checkin: Option<crate::monitoring::ReplyOutcome>,
}

/// Where an inbound text stands in triage.
#[derive(Debug, Clone)]
pub enum Triage {
    /// Matched to no person at all (stored before triage tasks): only a
    /// supervisor over the root handles it.
    Unmatched,
    /// On its sender's open triage task (this row): its holder, or a
    /// supervisor over it, handles it.
    Task(tracedesk_store::TaskRow),
}

/// A triaged text: attached, with the call-back task it made.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TriageOutcome {
    pub message: MessageView,
    pub task_id: Uuid,
}

/// What one dispatch pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchStats {
    pub claimed: usize,
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub refused: usize,
    /// Uncertain claims found already accepted by the provider.
    pub reconciled: usize,
    pub receipts: usize,
}

impl crate::services::Messages<'_> {
    fn ctx(id: Uuid, column: &'static str) -> FieldContext<'static> {
        FieldContext::new(schema::MESSAGES.name, column, id)
    }

    /// The blind index of a phone number (E.164) or email: the one persons
    /// are found by.
    fn address_index(&self, channel: &str, address: &str) -> Vec<u8> {
        match channel {
            "email" => self.vault.blind(BlindKind::Email, &address.to_lowercase()),
            _ => self.vault.blind(BlindKind::Phone, address),
        }
    }

    /// Queues a message to a person (as `person` is known to the caller's
    /// jurisdiction). A number that opted out is refused before anything is
    /// queued (409), and the refusal is kept on the person's thread.
    pub async fn send(
        &self,
        person: &PersonRef,
        jurisdiction: &str,
        input: &SendInput,
    ) -> Result<MessageView, CaseworkError> {
        let channel = input.channel.as_deref().unwrap_or("sms");
        if !["sms", "email", "voice"].contains(&channel) {
            return Err(CaseworkError::invalid(
                "channel",
                "must be sms, email or voice",
            ));
        }
        if channel == "email" && !self.settings.messaging.email {
            return Err(CaseworkError::invalid(
                "channel",
                "email is not set up on this server ([smtp] in its configuration)",
            ));
        }
        let priority = match input.priority.as_deref() {
            None => priority::NORMAL,
            Some(p) => priority::parse(p).ok_or_else(|| {
                CaseworkError::invalid("priority", "must be urgent, normal or routine")
            })?,
        };
        let (own_id, view) = match person {
            PersonRef::Person(p) => (p.id, self.cases().person_view(p)?),
            PersonRef::Facet(f) => (f.person_id, self.cases().facet_view(f)?),
        };
        let address = match channel {
            "email" => view.email.clone(),
            _ => view.phone.clone(),
        }
        .ok_or_else(|| {
            CaseworkError::invalid(
                "channel",
                if channel == "email" {
                    "the person has no email address"
                } else {
                    "the person has no phone number"
                },
            )
        })?;
        let language = view.language.as_deref().unwrap_or("en");
        // A call is said in a language with a voice (else English).
        let language = if channel == "voice" {
            crate::voice::spoken(language)
        } else {
            language
        };
        self.fresh_templates().await?;
        let (body, template) = self.body_of(channel, language, input)?;
        let bidx = self.address_index(channel, &address);
        let opted_out = self
            .store
            .consent(&bidx)
            .await?
            .is_some_and(|c| c.opted_out);
        let mut row = if channel == "voice" {
            let script = crate::voice::Script {
                say: body,
                language: language.into(),
                kind: crate::voice::kind::NOTIFICATION.into(),
                dial: None,
            };
            self.call_row(&address, bidx, &script, priority, template)?
        } else {
            queued_row(self, channel, &address, bidx, &body, priority, template)
        };
        row.person_id = Some(own_id);
        row.task_id = input.task_id;
        row.jurisdiction = Some(jurisdiction.to_string());
        if opted_out {
            row.status = status::REFUSED.into();
            row.error_code = Some("21610".into());
            self.store
                .insert_messages(std::slice::from_ref(&row))
                .await?;
            return Err(CaseworkError::Conflict(
                "this number opted out of messages (it texted STOP); nothing was sent, and it can opt back in by texting START".into(),
            ));
        }
        self.store
            .insert_messages(std::slice::from_ref(&row))
            .await?;
        self.view(&row)
    }

    /// The body to send and the template it came from.
    fn body_of(
        &self,
        channel: &str,
        language: &str,
        input: &SendInput,
    ) -> Result<(String, Option<String>), CaseworkError> {
        let bad = |field: &str, e: templates::TemplateError| {
            CaseworkError::invalid(field, &e.to_string())
        };
        match (&input.template, &input.body) {
            (Some(name), None) => {
                let t = self.template(name, channel, language).ok_or_else(|| {
                    CaseworkError::invalid("template", "no such template for this channel")
                })?;
                let body = t
                    .render(&self.template_values())
                    .map_err(|e| bad("template", e))?;
                // The rendered text too: a program name can disclose.
                templates::check(channel, &body).map_err(|e| bad("template", e))?;
                Ok((body, Some(t.name)))
            }
            (None, Some(body)) => {
                templates::check(channel, body).map_err(|e| bad("body", e))?;
                Ok((body.clone(), None))
            }
            _ => Err(CaseworkError::invalid(
                "template",
                "give a template or a body, not both",
            )),
        }
    }

    fn template_values(&self) -> BTreeMap<&'static str, String> {
        template_values(&self.settings.messaging)
    }

    fn view(&self, m: &MessageRow) -> Result<MessageView, CaseworkError> {
        let mut body = self.vault.open_string(&Self::ctx(m.id, "body"), &m.body)?;
        // A call shows what it says, never its script's workings (the
        // number a click-to-call dials).
        if m.channel == "voice"
            && m.direction == "out"
            && let Ok(script) = serde_json::from_str::<crate::voice::Script>(&body)
        {
            body = script.say;
        }
        Ok(MessageView {
            id: m.id,
            direction: m.direction.clone(),
            channel: m.channel.clone(),
            status: m.status.clone(),
            priority: priority::name(m.priority),
            task_id: m.task_id,
            template: m.template.clone(),
            encoding: tracedesk_comms::segments::count(&body).encoding,
            body,
            segments: m.segments,
            error_code: m.error_code.clone(),
            attempts: m.attempts,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }

    /// One message, opened (the caller has been entitled to it).
    pub async fn message(&self, id: Uuid) -> Result<MessageView, CaseworkError> {
        let m = self
            .store
            .get_message(id)
            .await?
            .ok_or(CaseworkError::NotFound("message"))?;
        self.view(&m)
    }

    /// A person's thread, newest first: only the messages of
    /// `jurisdictions` (the caller's, where they are entitled to the
    /// person; `None`: all, under break-glass).
    pub async fn thread(
        &self,
        person: &PersonRef,
        jurisdictions: Option<&[String]>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<MessageView>, CaseworkError> {
        let limit = page_limit(limit)?;
        let own = match person {
            PersonRef::Person(p) => p.id,
            PersonRef::Facet(f) => f.person_id,
        };
        let mut before = parse_cursor(cursor)?;
        let mut items = Vec::new();
        // Read pages until this caller's page is full: other jurisdictions'
        // messages are skipped, never shown.
        loop {
            let rows = self.store.person_messages(own, before, limit).await?;
            let full = rows.len() == limit as usize;
            before = rows.last().map(|r| r.id);
            for r in &rows {
                let shown = match jurisdictions {
                    None => true,
                    Some(js) => r.jurisdiction.as_ref().is_some_and(|j| js.contains(j)),
                };
                if shown {
                    items.push(self.view(r)?);
                    if items.len() == limit as usize {
                        let next = Some(r.id.simple().to_string());
                        return Ok(Page { items, next });
                    }
                }
            }
            if !full {
                return Ok(Page { items, next: None });
            }
        }
    }

    /// Texts from numbers no record holds and tracedesk never wrote to
    /// (the triage list), newest first. They belong to no jurisdiction:
    /// the caller has been checked to be over all of them.
    pub async fn unmatched(
        &self,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<MessageView>, CaseworkError> {
        let limit = page_limit(limit)?;
        let rows = self
            .store
            .unmatched_inbound(parse_cursor(cursor)?, limit)
            .await?;
        crate::intake::page(&rows, limit, |r| r.id, |r| self.view(r))
    }

    /// The stand-in for a number no record holds, and its triage task, in
    /// the root jurisdiction (a text from an unknown number belongs to no
    /// jurisdiction yet). The number is sealed on it so a tracer can write
    /// back from its thread; it has no blind index, so no search or match
    /// ever finds it.
    fn unknown_sender(&self, from: &str) -> UnknownSender {
        let now = self.now();
        let id = Uuid::now_v7();
        let ctx = FieldContext::new(schema::PERSONS.name, "phone", id);
        let root = tracedesk_identity::jurisdiction::ROOT;
        UnknownSender {
            person: tracedesk_store::PersonRow {
                id,
                created_at: now,
                updated_at: now,
                key_version: self.vault.current_version(),
                first_name: None,
                last_name: None,
                dob: None,
                phone: Some(self.vault.seal_str(&ctx, from)),
                email: None,
                address: None,
                language: None,
                phone_bidx: None,
                email_bidx: None,
                name_dob_bidx: None,
                phone_name_bidx: None,
                jurisdiction: root.into(),
                purged_at: None,
                age_band: None,
                merged_into: None,
            },
            task: self.triage_task(id),
        }
    }

    /// A triage task on a stand-in, in the root.
    fn triage_task(&self, stand_in: Uuid) -> tracedesk_store::TaskRow {
        let root = tracedesk_identity::jurisdiction::ROOT;
        tracedesk_store::TaskRow::pending(TaskKind::Triage, stand_in, root, self.now())
    }

    /// A text that landed on a stand-in whose triage task was finished
    /// without anyone found (a wrong number, no answer): the number wrote
    /// again, so someone looks again — a new triage task, which its later
    /// texts follow. Only texts filed in the root are looked at (stand-ins
    /// live there), so the everyday reply costs no read.
    async fn triage_again(&self, mut row: MessageRow) -> Result<MessageRow, CaseworkError> {
        let root = tracedesk_identity::jurisdiction::ROOT;
        let (Some(person), Some(task_id)) = (row.person_id, row.task_id) else {
            return Ok(row);
        };
        if row.jurisdiction.as_deref() != Some(root) {
            return Ok(row);
        }
        let Some(task) = self.store.get_task(task_id).await? else {
            return Ok(row);
        };
        let finished = tracedesk_domain::TaskStatus::parse(&task.status)
            .is_some_and(|s| tracedesk_domain::TaskStatus::FINAL.contains(&s));
        if task.kind != TaskKind::Triage.as_str() || !finished {
            return Ok(row);
        }
        let again = self.triage_task(person);
        self.store.retask_inbound(row.id, &again).await?;
        self.tasks_made();
        row.task_id = Some(again.id);
        Ok(row)
    }

    /// Where a text stands in triage: `None` if it needs none.
    pub async fn triage_of(&self, id: Uuid) -> Result<Option<Triage>, CaseworkError> {
        let Some(m) = self.store.get_message(id).await? else {
            return Ok(None);
        };
        if m.direction != "in" {
            return Ok(None);
        }
        let Some(person) = m.person_id else {
            return Ok(Some(Triage::Unmatched));
        };
        let Some(task_id) = m.task_id else {
            return Ok(None);
        };
        let Some(task) = self.store.get_task(task_id).await? else {
            return Ok(None);
        };
        let open = tracedesk_domain::TaskStatus::parse(&task.status)
            .is_some_and(|s| !tracedesk_domain::TaskStatus::FINAL.contains(&s));
        Ok(
            (task.kind == TaskKind::Triage.as_str() && task.person_id == person && open)
                .then_some(Triage::Task(task)),
        )
    }

    /// Triage: attaches a text from an unknown number — and every other
    /// text from it — to the person it is from (as the caller knows them),
    /// in that record's jurisdiction, and makes a `callback_request` task
    /// for them there: someone wrote in, so someone calls back. The triage
    /// task is withdrawn and its stand-in forgets the number. Later texts
    /// from the number find the person by these. 409 if it was attached
    /// meanwhile.
    pub async fn attach(
        &self,
        id: Uuid,
        person: &PersonRef,
    ) -> Result<TriageOutcome, CaseworkError> {
        let (own, shown, jurisdiction) = match person {
            PersonRef::Person(p) => (p.id, None, p.jurisdiction.clone()),
            PersonRef::Facet(f) => (f.person_id, Some(f.id), f.jurisdiction.clone()),
        };
        let now = self.now();
        let task = tracedesk_store::TaskRow {
            shown_person_id: shown,
            ..tracedesk_store::TaskRow::pending(TaskKind::CallbackRequest, own, &jurisdiction, now)
        };
        let attached = match self.triage_of(id).await? {
            Some(Triage::Unmatched) => self.store.attach_inbound(id, &task, now).await?,
            Some(Triage::Task(triage)) => {
                self.store
                    .identify_sender(triage.person_id, &task, now)
                    .await?
            }
            None => false,
        };
        if !attached {
            return Err(CaseworkError::Conflict(
                "the text was attached to a person already".into(),
            ));
        }
        self.tasks_made();
        Ok(TriageOutcome {
            message: self.message(id).await?,
            task_id: task.id,
        })
    }

    /// Stores an inbound text (once per provider id) and acts on an
    /// opt-out, opt-in or help keyword, queuing the confirmation. A reply
    /// is attached to the person and jurisdiction of the last message sent
    /// to that number (or attached from it by triage); a number never
    /// written to is stored for triage.
    pub async fn receive_text(&self, t: &InboundText) -> Result<InboundOutcome, CaseworkError> {
        self.fresh_templates().await?;
        let region = &self.settings.default_region;
        // Twilio sends E.164 already; parsing is for anything else (the
        // parser's regular expressions are the costliest step of a flood).
        let e164 = t.from.len() <= 16
            && t.from.strip_prefix('+').is_some_and(|d| {
                d.len() >= 8 && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0')
            });
        let from = if e164 {
            t.from.clone()
        } else {
            Phone::parse("From", &t.from, region)
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|_| t.from.trim().to_string())
        };
        let bidx = self.address_index("sms", &from);
        // Sealed as an outbound row is, then marked as what it is: received,
        // never to be dispatched, from this sender's number.
        let mut row = queued_row(
            self,
            "sms",
            &from,
            bidx.clone(),
            &t.body,
            priority::NORMAL,
            None,
        );
        row.direction = "in".into();
        row.status = status::RECEIVED.into();
        row.sender = Some(t.to.clone());
        row.provider_sid = Some(t.provider_sid.clone());
        row.expires_at = row.created_at;
        let id = row.id;
        // Attached to whoever the number is known to be (the last message
        // out to it or attached from it; else the one person holding it),
        // audited, and written — with whatever other inbound messages are
        // waiting, one transaction for a flood's worth — and only then
        // answered.
        let mut keyword = Keyword::of(&t.body);
        // A number no record holds gets a stand-in and a triage task with
        // its first text, unless the text is a keyword (it needs no one).
        let unknown = match keyword {
            Some(Keyword::Start) if Keyword::is_ambiguous_reply(&t.body) => {
                Some(self.unknown_sender(&from))
            }
            Some(_) => None,
            None => Some(self.unknown_sender(&from)),
        };
        let stand_in = unknown.as_ref().map(|u| u.person.id);
        let (stored, mut row) = self.inbox().receive(row, "inbound-text", unknown).await?;
        if stored && row.person_id.is_some() {
            if row.person_id == stand_in {
                self.tasks_made();
            } else if keyword.is_none() {
                row = self.triage_again(row).await?;
            }
        }
        if stored && let Some(k) = keyword {
            let consent = self.store.consent(&bidx).await?;
            let opted_out = consent.as_ref().is_some_and(|c| c.opted_out);
            // "yes" answers a check-in; it opts back in only a number that
            // is opted out.
            if k == Keyword::Start && Keyword::is_ambiguous_reply(&t.body) && !opted_out {
                keyword = None;
            } else {
                self.act_on_keyword(k, &from, bidx, &row, consent).await?;
            }
        }
        // Not a keyword: the answer to a check-in, if the person is
        // monitored in the jurisdiction that wrote to them.
        let checkin = match (stored, keyword, row.person_id) {
            (true, None, Some(person)) => {
                self.answer_checkin(person, row.jurisdiction.as_deref(), &row, &t.body)
                    .await?
            }
            _ => None,
        };
        Ok(InboundOutcome {
            message_id: stored.then_some(id),
            stored,
            keyword,
            person_id: row.person_id,
            checkin,
        })
    }

    async fn act_on_keyword(
        &self,
        k: Keyword,
        from: &str,
        bidx: Vec<u8>,
        inbound: &MessageRow,
        consent: Option<ConsentRow>,
    ) -> Result<(), CaseworkError> {
        let (opted_out, word, template) = match k {
            Keyword::Stop => (Some(true), "stop", "stop_confirmation"),
            Keyword::Start => (Some(false), "start", "start_confirmation"),
            Keyword::Help => (None, "help", "help"),
        };
        if let Some(out) = opted_out {
            self.store
                .set_consent(&ConsentRow {
                    address_bidx: bidx.clone(),
                    opted_out: out,
                    keyword: word.into(),
                    updated_at: self.now(),
                })
                .await?;
        } else if consent.is_some_and(|c| c.opted_out) {
            // HELP from an opted-out number is answered too (carriers
            // require it); nothing else changes.
        }
        let language = "en";
        let t = self
            .template(template, "sms", language)
            .ok_or(CaseworkError::Internal(
                "a built-in template is missing".into(),
            ))?;
        let body = t
            .render(&self.template_values())
            .map_err(|e| CaseworkError::Internal(e.to_string()))?;
        let mut row = queued_row(
            self,
            "sms",
            from,
            bidx,
            &body,
            priority::URGENT,
            Some(t.name),
        );
        row.person_id = inbound.person_id;
        row.jurisdiction = inbound.jurisdiction.clone();
        self.store.insert_messages(&[row]).await?;
        Ok(())
    }

    /// A provider's status for a message (a callback or a receipt).
    /// Returns whether it moved the message; unknown statuses are refused.
    pub async fn receipt(
        &self,
        provider_sid: &str,
        message_status: &str,
        error_code: Option<&str>,
    ) -> Result<bool, CaseworkError> {
        let Some(s) = status::FROM_PROVIDER.iter().find(|s| **s == message_status) else {
            // Twilio's intermediate statuses (accepted, queued, sending)
            // say nothing the outbox does not know.
            return Ok(false);
        };
        match self
            .store
            .message_status(provider_sid, s, error_code, self.now())
            .await
        {
            Ok(moved) => Ok(moved),
            Err(tracedesk_store::StoreError::NotFound) => Err(CaseworkError::NotFound("message")),
            Err(e) => Err(e.into()),
        }
    }

    /// One pass of the dispatcher: claims due messages for `node`, refuses
    /// those to opted-out numbers (confirmations excepted), asks the carrier
    /// about any whose earlier send has no known outcome, sends the rest
    /// and records each outcome; then applies the carrier's receipts.
    pub async fn dispatch_once(
        &self,
        carrier: &dyn Carrier,
        node: &str,
        limit: u32,
        lease: chrono::Duration,
        mut pace: Option<&mut tracedesk_comms::throughput::Pace>,
    ) -> Result<DispatchStats, CaseworkError> {
        // Claim no more than the pace lets go now: a claim waiting on the
        // pace would outlive its lease.
        let limit = match pace.as_deref_mut() {
            Some(p) => (p.room(std::time::Instant::now()).min(u64::from(limit))) as u32,
            None => limit,
        };
        if limit == 0 {
            return Ok(DispatchStats::default());
        }
        let now = self.now();
        let claimed = self
            .store
            .claim_messages(node, now, now + lease, limit)
            .await?;
        let mut stats = DispatchStats {
            claimed: claimed.len(),
            ..Default::default()
        };
        // Each message handed to a carrier is a disclosure to it, recorded
        // before it happens (to whom: the carrier; about whom: the person).
        if let Some(a) = self.auditor()
            && !claimed.is_empty()
        {
            let drafts = claimed
                .iter()
                .map(|c| {
                    let to = carrier.name_for(&c.message.channel);
                    crate::auditor::draft(
                        "dispatcher",
                        tracedesk_store::audit::Action::Disclosure,
                        "message",
                        Some(c.message.id),
                        c.message.person_id,
                        &format!("to the {to} carrier"),
                    )
                })
                .collect();
            a.record(drafts).await?;
        }
        // Opt-outs are checked again here (a STOP may have come since the
        // message was queued), in one read for the claim.
        let addresses: Vec<Vec<u8>> = claimed
            .iter()
            .map(|c| c.message.address_bidx.clone())
            .collect();
        let opted_out: std::collections::HashSet<Vec<u8>> = self
            .store
            .opted_out(&addresses)
            .await?
            .into_iter()
            .collect();
        let refuse = |c: &tracedesk_store::Claimed| {
            let confirmation = matches!(
                c.message.template.as_deref(),
                Some("stop_confirmation" | "start_confirmation" | "help")
            );
            !confirmation && opted_out.contains(&c.message.address_bidx)
        };
        // Outcomes are recorded in groups (one transaction each), and
        // before any wait for the pace: a provider's receipt finds the
        // message's id recorded within moments of the send.
        const GROUP: usize = 50;
        let mut outcomes = Vec::with_capacity(claimed.len().min(GROUP));
        // Up to `SENDS_AT_ONCE` sends in flight (a provider's answer takes a
        // round trip; the next need not wait for it), each started when the
        // pace (if any) has room for its segments.
        use futures_util::StreamExt;
        let mut inflight = futures_util::stream::FuturesUnordered::new();
        for c in &claimed {
            // The pace is the text sender's; an email does not use it.
            if let Some(p) = pace.as_deref_mut().filter(|_| c.message.channel == "sms") {
                // A text of several segments takes as many of the sender's.
                let segments = u64::try_from(c.message.segments).unwrap_or(1);
                loop {
                    let now = std::time::Instant::now();
                    if p.take(segments, now) {
                        break;
                    }
                    self.store
                        .finish_messages(node, &std::mem::take(&mut outcomes), self.now())
                        .await?;
                    let wait = tokio::time::sleep(p.wait_for(segments, now));
                    tokio::select! {
                        _ = wait => {}
                        Some((id, r)) = inflight.next(), if !inflight.is_empty() => {
                            let (outcome, s) = r?;
                            stats += s;
                            outcomes.push((id, outcome));
                        }
                    }
                }
            }
            while inflight.len() >= SENDS_AT_ONCE {
                if let Some((id, r)) = inflight.next().await {
                    let (outcome, s) = r?;
                    stats += s;
                    outcomes.push((id, outcome));
                }
            }
            inflight.push(self.send_claimed(carrier, c, refuse(c)));
            if outcomes.len() >= GROUP {
                self.store
                    .finish_messages(node, &std::mem::take(&mut outcomes), self.now())
                    .await?;
            }
        }
        while let Some((id, r)) = inflight.next().await {
            let (outcome, s) = r?;
            stats += s;
            outcomes.push((id, outcome));
            if outcomes.len() >= GROUP {
                self.store
                    .finish_messages(node, &std::mem::take(&mut outcomes), self.now())
                    .await?;
            }
        }
        self.store
            .finish_messages(node, &outcomes, self.now())
            .await?;
        Ok(stats)
    }

    /// [`dispatch_one`](Self::dispatch_one), with the message's id.
    async fn send_claimed(
        &self,
        carrier: &dyn Carrier,
        c: &tracedesk_store::Claimed,
        refused: bool,
    ) -> (Uuid, Result<(SendOutcome, DispatchStats), CaseworkError>) {
        (c.message.id, self.dispatch_one(carrier, c, refused).await)
    }

    /// Sends one claimed message (or refuses it, `refused`: its number
    /// opted out); its outcome, counted.
    async fn dispatch_one(
        &self,
        carrier: &dyn Carrier,
        c: &tracedesk_store::Claimed,
        refused: bool,
    ) -> Result<(SendOutcome, DispatchStats), CaseworkError> {
        let mut stats = DispatchStats::default();
        let m = &c.message;
        if refused {
            stats.refused += 1;
            return Ok((SendOutcome::Refused, stats));
        }
        let out = Outgoing {
            id: m.id,
            channel: m.channel.clone(),
            to: self
                .vault
                .open_string(&Self::ctx(m.id, "address"), &m.address)?,
            from: m.sender.clone(),
            body: self.vault.open_string(&Self::ctx(m.id, "body"), &m.body)?,
            template: m.template.clone(),
        };
        // A call's carrier is told only what is said first (the sandbox
        // plays it); its script is fetched when it is answered.
        let out = if m.channel == "voice" {
            let script: crate::voice::Script = serde_json::from_str(&out.body)
                .map_err(|_| CaseworkError::Vault(tracedesk_vault::VaultError::Malformed))?;
            Outgoing {
                body: script.say,
                ..out
            }
        } else {
            out
        };
        if c.uncertain {
            match carrier.find(&out).await {
                Ok(Some(sid)) => {
                    stats.reconciled += 1;
                    return Ok((SendOutcome::Sent { provider_sid: sid }, stats));
                }
                Ok(None) => {}
                Err(error) => {
                    // Not asked, not sent: ask again later.
                    stats.retried += 1;
                    return Ok((
                        SendOutcome::Uncertain {
                            at: self.now() + backoff(m.attempts),
                            error,
                        },
                        stats,
                    ));
                }
            }
        }
        let outcome = match carrier.send(&out).await {
            Delivery::Accepted { sid } => {
                stats.sent += 1;
                SendOutcome::Sent { provider_sid: sid }
            }
            Delivery::Retry { after, error } => {
                stats.retried += 1;
                let wait = after
                    .and_then(|d| chrono::Duration::from_std(d).ok())
                    .unwrap_or_else(|| backoff(m.attempts));
                SendOutcome::Retry {
                    at: self.now() + wait,
                    error,
                }
            }
            Delivery::Rejected { error } => {
                stats.failed += 1;
                SendOutcome::Failed { error }
            }
            Delivery::Unknown { error } => {
                // Never resent blindly: claimed again as uncertain, the
                // carrier is asked first.
                stats.retried += 1;
                SendOutcome::Uncertain {
                    at: self.now() + backoff(m.attempts),
                    error,
                }
            }
        };
        Ok((outcome, stats))
    }
}

/// Sends a dispatcher has in flight at once.
const SENDS_AT_ONCE: usize = 32;

impl std::ops::AddAssign for DispatchStats {
    fn add_assign(&mut self, o: Self) {
        self.claimed += o.claimed;
        self.sent += o.sent;
        self.retried += o.retried;
        self.failed += o.failed;
        self.refused += o.refused;
        self.reconciled += o.reconciled;
        self.receipts += o.receipts;
    }
}

/// Exponential backoff after `attempts` tries: 2, 4, 8 … seconds, at most
/// 15 minutes.
pub fn backoff(attempts: i32) -> chrono::Duration {
    let exp = attempts.clamp(1, 10) as u32;
    chrono::Duration::seconds((1i64 << exp).min(900))
}

/// The values every template may use, from configuration.
pub(crate) fn template_values(m: &MessagingSettings) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        ("program", m.program_name.clone()),
        ("callback", m.callback_number.clone()),
        // A link as long as a real one (for checks and segment counts);
        // each message's own is put in its place.
        (
            "link",
            format!(
                "{}/r/{}",
                m.report_base_url.trim_end_matches('/'),
                "x".repeat(54)
            ),
        ),
    ])
}

/// A queued outbound row, sealed for its own id: what a send and the
/// naming of a contact (in its transaction) write to the outbox.
pub(crate) fn queued_row(
    cw: &crate::Casework,
    channel: &str,
    address: &str,
    address_bidx: Vec<u8>,
    body: &str,
    priority: i32,
    template: Option<String>,
) -> MessageRow {
    let id = Uuid::now_v7();
    let now = cw.now();
    let ctx = |column| FieldContext::new(schema::MESSAGES.name, column, id);

    MessageRow {
        id,
        direction: "out".into(),
        channel: channel.into(),
        status: status::QUEUED.into(),
        priority,
        person_id: None,
        task_id: None,
        jurisdiction: None,
        template,
        sender: Some(cw.settings.messaging.sender.clone()),
        address_bidx,
        key_version: cw.vault.current_version(),
        address: cw.vault.seal_str(&ctx("address"), address),
        body: cw.vault.seal_str(&ctx("body"), body),
        segments: tracedesk_comms::segments::count(body).segments as i32,
        provider_sid: None,
        error_code: None,
        attempts: 0,
        next_attempt_at: now,
        claimed_by: None,
        claim_until: None,
        created_at: now,
        updated_at: now,
        expires_at: now + cw.settings.messaging.validity,
    }
}

impl crate::services::Cases<'_> {
    /// The first notification to a contact being named, when configured
    /// and the contact has a phone: the notification template in their
    /// language, urgent.
    pub(crate) fn first_notification(
        &self,
        person: &crate::input::PersonFields,
    ) -> Result<Option<MessageRow>, CaseworkError> {
        let m = &self.settings.messaging;
        let Some(phone) = person.phone.as_ref().filter(|_| m.notify_contacts) else {
            return Ok(None);
        };
        let language = person.language.as_deref().unwrap_or("en");
        let t = self
            .template("contact_notification", "sms", language)
            .ok_or(CaseworkError::Internal(
                "a built-in template is missing".into(),
            ))?;
        let body = t
            .render(&template_values(m))
            .map_err(|e| CaseworkError::Internal(e.to_string()))?;
        let bidx = self.vault.blind(BlindKind::Phone, phone.as_str());
        Ok(Some(queued_row(
            self,
            "sms",
            phone.as_str(),
            bidx,
            &body,
            priority::URGENT,
            Some(t.name),
        )))
    }
}
