//! Calls: notification calls and IVR check-ins placed through the outbox
//! like any message, and click-to-call for tracers. A call's row in the
//! outbox carries its script sealed (what is said, in which language, what
//! kind of call, and for click-to-call the person's number), so the
//! carrier's request carries no personal data: Twilio fetches what to say
//! from tracedesk's voice webhook when the call is answered, naming only
//! the message's id.
//!
//! - A notification call says its script (the same to an answering
//!   machine, after the beep: it names no diagnosis, like a text).
//! - A check-in call asks (one keypress or a spoken answer: 1 or yes for
//!   symptoms, 2 or no for none); the answer is taken as a reply to the
//!   daily check-in, and the call thanks, advises or asks again.
//! - Click-to-call rings the tracer's phone, then dials the person with
//!   the program's number as caller ID: the person never sees the
//!   tracer's number. Recording only when configured, announced to both.

use crate::intake::PersonRef;
use crate::messaging::{MessageView, priority, queued_row};
use crate::{CaseworkError, monitoring::ReplyOutcome};
use serde::{Deserialize, Serialize};
use tracedesk_comms::twiml;
use tracedesk_domain::Phone;
use tracedesk_store::{MessageRow, schema};
use tracedesk_vault::{BlindKind, FieldContext};
use uuid::Uuid;

/// What kind of call a voice message is.
pub mod kind {
    /// Says its script and hangs up (a notification, a completion).
    pub const NOTIFICATION: &str = "notification";
    /// Asks the daily check-in question.
    pub const CHECKIN: &str = "checkin";
    /// A tracer's click-to-call: their leg, then the person's.
    pub const BRIDGE: &str = "bridge";
}

/// A call's script, sealed as the voice message's body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Script {
    /// What is said (or asked) when the call is answered.
    pub say: String,
    /// The language it is said in (one with a voice).
    pub language: String,
    pub kind: String,
    /// Click-to-call: the person's number, dialled once the tracer answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial: Option<String>,
}

impl Script {
    pub(crate) fn open(cw: &crate::Casework, m: &MessageRow) -> Result<Self, CaseworkError> {
        let body = cw.vault.open_string(
            &FieldContext::new(schema::MESSAGES.name, "body", m.id),
            &m.body,
        )?;
        serde_json::from_str(&body)
            .map_err(|_| CaseworkError::Vault(tracedesk_vault::VaultError::Malformed))
    }

    pub(crate) fn sealed_body(&self) -> Result<String, CaseworkError> {
        serde_json::to_string(self).map_err(|e| CaseworkError::Internal(e.to_string()))
    }
}

/// The language a call in `language` is said in: itself where Twilio has
/// a voice for it, else English.
pub(crate) fn spoken(language: &str) -> &str {
    if twiml::has_voice(language) {
        language
    } else {
        "en"
    }
}

/// What to do on a call now, for the voice webhook to write as TwiML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallStep {
    /// Say this and hang up.
    Say { language: String, text: String },
    /// Ask this, and post the answer back (`Gather`).
    Ask { language: String, prompt: String },
    /// Say `say` to the tracer, then connect the person's `number` with
    /// the program's `caller_id`; with a recording `notice`, say it to
    /// the tracer, have the person hear it before being connected, and
    /// record both.
    Bridge {
        language: String,
        say: String,
        caller_id: String,
        number: String,
        notice: Option<String>,
    },
}

/// A tracer's click-to-call request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallInput {
    /// The phone the tracer answers on; rung first, never shown to the
    /// person.
    pub phone: String,
}

impl crate::services::Messages<'_> {
    /// The voice template `name` in `language` (English where the language
    /// has no voice), rendered: its text and the language it is in.
    fn voice_text(&self, name: &str, language: &str) -> Result<(String, String), CaseworkError> {
        let t = self
            .template(name, "voice", spoken(language))
            .ok_or(CaseworkError::Internal(
                "a voice template is missing".into(),
            ))?;
        let text = t
            .render(&crate::messaging::template_values(&self.settings.messaging))
            .map_err(|e| CaseworkError::Internal(e.to_string()))?;
        Ok((text, t.language))
    }

    /// An outbound call's row: its script sealed as the body.
    pub(crate) fn call_row(
        &self,
        to: &str,
        bidx: Vec<u8>,
        script: &Script,
        priority: i32,
        template: Option<String>,
    ) -> Result<MessageRow, CaseworkError> {
        let mut row = queued_row(
            self,
            "voice",
            to,
            bidx,
            &script.sealed_body()?,
            priority,
            template,
        );
        row.segments = 1;
        Ok(row)
    }

    /// A voice template as a call's script: what is said, in which
    /// language, and what kind of call.
    pub(crate) fn voice_script(
        &self,
        name: &str,
        language: &str,
        kind: &str,
    ) -> Result<Script, CaseworkError> {
        let (say, language) = self.voice_text(name, language)?;
        Ok(Script {
            say,
            language,
            kind: kind.into(),
            dial: None,
        })
    }

    /// Click-to-call: rings `input.phone` (the tracer's), then the person
    /// the task is about, from the program's number. The call is on the
    /// person's thread and an attempt on the task. The person's number is
    /// sealed in the call's script, never sent anywhere but the bridge.
    pub async fn click_to_call(
        &self,
        task_id: Uuid,
        person: &PersonRef,
        jurisdiction: &str,
        input: &CallInput,
    ) -> Result<MessageView, CaseworkError> {
        let region = &self.settings.default_region;
        let tracer = Phone::parse("phone", &input.phone, region)
            .map_err(|_| CaseworkError::invalid("phone", "is not a phone number"))?;
        let view = match person {
            PersonRef::Person(p) => self.cases().person_view(p)?,
            PersonRef::Facet(f) => self.cases().facet_view(f)?,
        };
        let number = view
            .phone
            .ok_or_else(|| CaseworkError::invalid("phone", "the person has no phone number"))?;
        if number == tracer.as_str() {
            return Err(CaseworkError::invalid(
                "phone",
                "is the person's own number: give the phone you answer on",
            ));
        }
        let mut script = self.voice_script("bridge", "en", kind::BRIDGE)?;
        script.dial = Some(number);
        let bidx = self.vault.blind(BlindKind::Phone, tracer.as_str());
        let mut row = self.call_row(
            tracer.as_str(),
            bidx,
            &script,
            priority::URGENT,
            Some("bridge".into()),
        )?;
        row.person_id = Some(match person {
            PersonRef::Person(p) => p.id,
            PersonRef::Facet(f) => f.person_id,
        });
        row.task_id = Some(task_id);
        row.jurisdiction = Some(jurisdiction.to_string());
        self.store
            .insert_messages(std::slice::from_ref(&row))
            .await?;
        self.message(row.id).await
    }

    /// A keypress (or a few words) at a sandbox phone: the answer to the
    /// latest check-in call to `phone`, as if its caller pressed the keys.
    pub async fn sandbox_keypress(
        &self,
        phone: &str,
        digits: &str,
    ) -> Result<CallStep, CaseworkError> {
        let bidx = self.vault.blind(BlindKind::Phone, phone);
        let call = self
            .store
            .address_messages(&bidx, 50)
            .await?
            .into_iter()
            .find(|m| {
                m.channel == "voice"
                    && m.direction == "out"
                    && m.template.as_deref() == Some("checkin")
            })
            .ok_or_else(|| {
                CaseworkError::Conflict("no check-in call has reached this phone".into())
            })?;
        self.call_gathered(call.id, Some(digits), None).await
    }

    /// The outbound call `id` (404 for anything else).
    async fn call(&self, id: Uuid) -> Result<(MessageRow, Script), CaseworkError> {
        let m = self
            .store
            .get_message(id)
            .await?
            .filter(|m| m.channel == "voice" && m.direction == "out")
            .ok_or(CaseworkError::NotFound("call"))?;
        let script = Script::open(self, &m)?;
        Ok((m, script))
    }

    /// What to do when call `id` is answered; `machine`: an answering
    /// machine took it (after its greeting).
    pub async fn call_answered(&self, id: Uuid, machine: bool) -> Result<CallStep, CaseworkError> {
        let (m, script) = self.call(id).await?;
        Ok(match script.kind.as_str() {
            kind::BRIDGE => CallStep::Bridge {
                notice: match self.settings.messaging.record_calls {
                    true => Some(self.voice_text("call_recorded", &script.language)?.0),
                    false => None,
                },
                language: script.language,
                say: script.say,
                caller_id: m
                    .sender
                    .unwrap_or_else(|| self.settings.messaging.sender.clone()),
                number: script.dial.unwrap_or_default(),
            },
            // A machine cannot answer the question: it is asked to call.
            kind::CHECKIN if machine => {
                let (text, language) = self.voice_text("contact_notification", &script.language)?;
                CallStep::Say { language, text }
            }
            kind::CHECKIN => CallStep::Ask {
                language: script.language,
                prompt: script.say,
            },
            _ => CallStep::Say {
                language: script.language,
                text: script.say,
            },
        })
    }

    /// The recording notice the person hears before a recorded bridge.
    pub async fn call_notice(&self, id: Uuid) -> Result<CallStep, CaseworkError> {
        let (_, script) = self.call(id).await?;
        if script.kind != kind::BRIDGE {
            return Err(CaseworkError::NotFound("call"));
        }
        let (text, language) = self.voice_text("call_recorded", "en")?;
        Ok(CallStep::Say { language, text })
    }

    /// The answer to a check-in call's question (keypad `digits` or the
    /// `speech` Twilio heard), taken as the day's reply: stored on the
    /// person's thread, acted on as a texted reply is, and answered on the
    /// call (thanks, advice, or the question again).
    pub async fn call_gathered(
        &self,
        id: Uuid,
        digits: Option<&str>,
        speech: Option<&str>,
    ) -> Result<CallStep, CaseworkError> {
        let (m, script) = self.call(id).await?;
        if script.kind != kind::CHECKIN {
            return Err(CaseworkError::NotFound("call"));
        }
        let answer = digits
            .filter(|d| !d.is_empty())
            .or(speech)
            .unwrap_or_default()
            .chars()
            .take(tracedesk_comms::segments::MAX_BODY_CHARS)
            .collect::<String>();
        let address = self.vault.open_string(
            &FieldContext::new(schema::MESSAGES.name, "address", m.id),
            &m.address,
        )?;
        let mut row = queued_row(
            self,
            "voice",
            &address,
            m.address_bidx.clone(),
            &answer,
            priority::NORMAL,
            None,
        );
        row.direction = "in".into();
        row.status = tracedesk_store::messages::status::RECEIVED.into();
        row.person_id = m.person_id;
        row.task_id = m.task_id;
        row.jurisdiction = m.jurisdiction.clone();
        row.sender = m.sender.clone();
        row.expires_at = row.created_at;
        if let Some(a) = self.auditor() {
            a.record(vec![crate::auditor::draft(
                "voice-webhook",
                tracedesk_store::audit::Action::PhiWrite,
                "message",
                Some(row.id),
                row.person_id,
                "keypress or spoken answer received",
            )])
            .await?;
        }
        self.inbox().store(row.clone()).await?;
        let outcome = match m.person_id {
            Some(person) => {
                self.answer_checkin_by(
                    person,
                    m.jurisdiction.as_deref(),
                    &row,
                    &tracedesk_comms::replies::parse(&answer),
                    crate::monitoring::Via::Call,
                )
                .await?
            }
            None => None,
        };
        let language = script.language;
        let step = |name: &str| -> Result<CallStep, CaseworkError> {
            let (text, language) = self.voice_text(name, &language)?;
            Ok(CallStep::Say { language, text })
        };
        match outcome {
            Some(ReplyOutcome::Symptomatic) => step("checkin_symptomatic"),
            Some(ReplyOutcome::Clarified) => {
                let (prompt, language) = self.voice_text("checkin_unclear", &language)?;
                Ok(CallStep::Ask { language, prompt })
            }
            _ => step("checkin_thanks"),
        }
    }

    /// A call's status from the carrier (Twilio's `CallStatus`), as the
    /// message's: answered and ended → delivered; busy, unanswered or
    /// canceled → undelivered (the status kept as its code); failed →
    /// failed. Statuses on the way (queued, ringing, in progress) change
    /// nothing.
    pub async fn call_status(&self, sid: &str, call_status: &str) -> Result<bool, CaseworkError> {
        use tracedesk_store::messages::status;
        let (to, code) = match call_status {
            "completed" => (status::DELIVERED, None),
            "busy" | "no-answer" | "canceled" => (status::UNDELIVERED, Some(call_status)),
            "failed" => (status::FAILED, Some(call_status)),
            _ => return Ok(false),
        };
        self.receipt(sid, to, code).await
    }
}
