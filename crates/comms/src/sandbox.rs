//! The embedded default carrier: nothing leaves the process. Every message
//! "arrives" at a sandbox phone (one per address) that the API reads, with
//! delivery receipts after a configurable latency and failures at a
//! configurable rate, so the whole path — outbox, dispatch, retries,
//! receipts, replies — runs as it would against a real provider.
//!
//! With personas on, the people at the sandbox phones answer as real
//! contacts do, each phone always the same kind of person (chosen by its
//! number, so a demo repeats): most answer their check-ins well, some
//! ignore them, some report symptoms, some text STOP, some ask to be called
//! back. Their answers come back after a delay, through the same path as a
//! carrier's inbound texts and keypresses.

use crate::carrier::{Carrier, Delivery, Outgoing};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// How the sandbox behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxConfig {
    /// How long after acceptance a delivery receipt is due.
    pub latency: Duration,
    /// The share of sends answered with a retryable failure (a 503).
    pub retry_rate: f64,
    /// The share of accepted messages that end undelivered (30003).
    pub undelivered_rate: f64,
    /// Simulated people who answer (see [`Persona`]).
    pub personas: bool,
    /// How long a persona takes to answer.
    pub reply_latency: Duration,
}

/// The kind of person at a sandbox phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// Answers every check-in: no symptoms.
    Answers,
    /// Never answers.
    Ignores,
    /// Answers check-ins with symptoms.
    Symptomatic,
    /// Texts STOP to the first text.
    OptsOut,
    /// Asks to be called back (in words tracedesk does not take for an
    /// answer, so a person is given the task).
    CallsBack,
}

impl Persona {
    /// The persona at `address`: the same every time, spread 50 / 20 / 10
    /// / 10 / 10 over a hash of the number.
    pub fn of(address: &str) -> Self {
        // FNV-1a: stable across runs and platforms (not for security).
        let h = address.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        match h % 10 {
            0..=4 => Self::Answers,
            5 | 6 => Self::Ignores,
            7 => Self::Symptomatic,
            8 => Self::OptsOut,
            _ => Self::CallsBack,
        }
    }

    /// What this persona answers to a message (its template), if anything:
    /// a text's body, or a keypress on a check-in call.
    pub fn answer(self, channel: &str, template: Option<&str>, first: bool) -> Option<String> {
        let checkin = template == Some("checkin");
        let answer = match (self, channel) {
            (Self::Ignores, _) => None,
            (Self::OptsOut, "sms") if first => Some("STOP"),
            (Self::OptsOut, _) => None,
            (Self::Answers, "voice") if checkin => Some("2"),
            (Self::Answers, "sms") if checkin => Some("No, all good 👍"),
            (Self::Symptomatic, "voice") if checkin => Some("1"),
            (Self::Symptomatic, "sms") if checkin => Some("I have a fever and a cough"),
            (Self::CallsBack, "sms") if checkin || first => Some("please call me back"),
            _ => None,
        };
        answer.map(str::to_string)
    }
}

/// A persona's answer, due for tracedesk to take in as the carrier's
/// inbound text (`sms`) or keypress on a call (`voice`).
#[derive(Clone, PartialEq, Eq)]
pub struct PersonaReply {
    /// The persona's number (where the message went).
    pub from: String,
    /// The program's number it answers.
    pub to: Option<String>,
    pub channel: String,
    pub body: String,
}

impl std::fmt::Debug for PersonaReply {
    /// Neither number nor body: this may be logged.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersonaReply")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(200),
            retry_rate: 0.0,
            undelivered_rate: 0.0,
            personas: false,
            reply_latency: Duration::from_secs(5),
        }
    }
}

/// A message at a sandbox phone.
#[derive(Clone, PartialEq, Eq)]
pub struct Arrived {
    pub sid: String,
    pub id: Uuid,
    pub channel: String,
    pub body: String,
    pub from: Option<String>,
}

impl std::fmt::Debug for Arrived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Arrived")
            .field("sid", &self.sid)
            .finish_non_exhaustive()
    }
}

/// A status the sandbox reports for a message, as a provider's callback
/// would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub sid: String,
    pub status: &'static str,
    pub error_code: Option<String>,
}

#[derive(Default)]
struct State {
    phones: HashMap<String, Vec<Arrived>>,
    by_id: HashMap<Uuid, String>,
    pending: Vec<(Instant, Receipt)>,
    replies: Vec<(Instant, PersonaReply)>,
    sends: u64,
    serial: u64,
}

pub struct Sandbox {
    config: SandboxConfig,
    state: Mutex<State>,
}

impl std::fmt::Debug for Sandbox {
    /// The configuration only: the phones hold message bodies.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data that
        // is still whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What has arrived at the phone (or mailbox) `address`, oldest first.
    pub fn phone(&self, address: &str) -> Vec<Arrived> {
        self.state()
            .phones
            .get(address)
            .cloned()
            .unwrap_or_default()
    }

    /// Receipts whose time has come, taken (each is given once).
    pub fn due_receipts(&self, now: Instant) -> Vec<Receipt> {
        let mut s = self.state();
        let (due, later): (Vec<_>, Vec<_>) = s.pending.drain(..).partition(|(at, _)| *at <= now);
        s.pending = later;
        due.into_iter().map(|(_, r)| r).collect()
    }

    /// Personas' answers whose time has come, taken (each given once).
    pub fn due_replies(&self, now: Instant) -> Vec<PersonaReply> {
        let mut s = self.state();
        let (due, later): (Vec<_>, Vec<_>) = s.replies.drain(..).partition(|(at, _)| *at <= now);
        s.replies = later;
        due.into_iter().map(|(_, r)| r).collect()
    }

    /// How many sends the sandbox accepted (each message once).
    pub fn accepted(&self) -> usize {
        self.state().by_id.len()
    }

    /// How many send calls it answered, failures included.
    pub fn send_calls(&self) -> u64 {
        self.state().sends
    }

    /// A deterministic, evenly spread share: the `n`th event (from 1) falls
    /// when it carries `n × rate` past a whole number, so exactly
    /// `⌊N × rate⌋` of the first N fall (no randomness: tests and demos
    /// repeat).
    fn falls(n: u64, rate: f64) -> bool {
        let rate = rate.clamp(0.0, 1.0);
        (n as f64 * rate).floor() > ((n - 1) as f64 * rate).floor()
    }
}

#[async_trait::async_trait]
impl Carrier for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn send(&self, m: &Outgoing) -> Delivery {
        let mut s = self.state();
        s.sends += 1;
        let n = s.sends;
        if let Some(sid) = s.by_id.get(&m.id) {
            // A provider would send it twice; the sandbox keeps count of
            // that in `accepted` staying put and answers as it did.
            return Delivery::Accepted { sid: sid.clone() };
        }
        if Self::falls(n, self.config.retry_rate) {
            return Delivery::Retry {
                after: None,
                error: "503".into(),
            };
        }
        s.serial += 1;
        let sid = format!("SB{:032x}", s.serial);
        s.by_id.insert(m.id, sid.clone());
        let first = s.phones.get(&m.to).is_none_or(Vec::is_empty);
        if self.config.personas
            && let Some(body) = Persona::of(&m.to).answer(&m.channel, m.template.as_deref(), first)
        {
            let at = Instant::now() + self.config.reply_latency;
            s.replies.push((
                at,
                PersonaReply {
                    from: m.to.clone(),
                    to: m.from.clone(),
                    channel: m.channel.clone(),
                    body,
                },
            ));
        }
        s.phones.entry(m.to.clone()).or_default().push(Arrived {
            sid: sid.clone(),
            id: m.id,
            channel: m.channel.clone(),
            body: m.body.clone(),
            from: m.from.clone(),
        });
        let undelivered = Self::falls(s.serial, self.config.undelivered_rate);
        let at = Instant::now() + self.config.latency;
        s.pending.push((
            at,
            Receipt {
                sid: sid.clone(),
                status: if undelivered {
                    "undelivered"
                } else {
                    "delivered"
                },
                error_code: undelivered.then(|| "30003".to_string()),
            },
        ));
        Delivery::Accepted { sid }
    }

    async fn find(&self, m: &Outgoing) -> Result<Option<String>, String> {
        Ok(self.state().by_id.get(&m.id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(to: &str) -> Outgoing {
        Outgoing {
            id: Uuid::now_v7(),
            channel: "sms".into(),
            to: to.into(),
            from: None,
            body: "hello".into(),
            template: None,
        }
    }

    #[tokio::test]
    async fn messages_arrive_with_receipts_after_the_latency() {
        let sb = Sandbox::new(SandboxConfig {
            latency: Duration::from_secs(60),
            ..Default::default()
        });
        let m = msg("+12125550123");
        let Delivery::Accepted { sid } = sb.send(&m).await else {
            panic!("accepted")
        };
        assert_eq!(sb.phone("+12125550123").len(), 1);
        assert!(sb.due_receipts(Instant::now()).is_empty(), "not yet");
        let r = sb.due_receipts(Instant::now() + Duration::from_secs(61));
        assert_eq!(
            r,
            vec![Receipt {
                sid: sid.clone(),
                status: "delivered",
                error_code: None
            }]
        );
        assert!(
            sb.due_receipts(Instant::now() + Duration::from_secs(61))
                .is_empty(),
            "given once"
        );
        assert_eq!(sb.find(&m).await, Ok(Some(sid)));
        assert_eq!(sb.find(&msg("+12125550123")).await, Ok(None));
    }

    #[tokio::test]
    async fn failures_come_at_the_configured_rates() {
        let sb = Sandbox::new(SandboxConfig {
            latency: Duration::ZERO,
            retry_rate: 0.1,
            undelivered_rate: 0.5,
            ..Default::default()
        });
        let mut retries = 0;
        for _ in 0..100 {
            if matches!(sb.send(&msg("+1")).await, Delivery::Retry { .. }) {
                retries += 1;
            }
        }
        assert_eq!(retries, 10);
        let r = sb.due_receipts(Instant::now());
        assert_eq!(r.len(), 90);
        assert_eq!(r.iter().filter(|r| r.status == "undelivered").count(), 45);
    }

    #[tokio::test]
    async fn a_resend_of_an_accepted_message_is_not_a_second_message() {
        let sb = Sandbox::new(SandboxConfig::default());
        let m = msg("+1");
        let a = sb.send(&m).await;
        assert_eq!(sb.send(&m).await, a);
        assert_eq!(sb.accepted(), 1);
        assert_eq!(sb.phone("+1").len(), 1);
    }

    #[test]
    fn personas_are_stable_and_spread() {
        let mut counts = std::collections::HashMap::new();
        for n in 0..1000 {
            let a = format!("+1212555{n:04}");
            assert_eq!(Persona::of(&a), Persona::of(&a));
            *counts.entry(format!("{:?}", Persona::of(&a))).or_insert(0) += 1;
        }
        for (kind, share) in [("Answers", 500), ("Ignores", 200), ("Symptomatic", 100)] {
            let n = counts[kind];
            assert!((share - 60..share + 60).contains(&n), "{kind}: {n}");
        }
        assert_eq!(
            Persona::Symptomatic.answer("voice", Some("checkin"), false),
            Some("1".into())
        );
        assert_eq!(
            Persona::OptsOut.answer("sms", Some("checkin"), true),
            Some("STOP".into())
        );
        assert_eq!(Persona::OptsOut.answer("sms", Some("checkin"), false), None);
        assert_eq!(Persona::Ignores.answer("sms", Some("checkin"), true), None);
    }

    #[tokio::test]
    async fn personas_answer_after_their_latency() {
        let sb = Sandbox::new(SandboxConfig {
            personas: true,
            reply_latency: Duration::from_millis(0),
            ..Default::default()
        });
        // A phone whose persona answers check-ins.
        let to = (0..1000)
            .map(|n| format!("+1212555{n:04}"))
            .find(|a| Persona::of(a) == Persona::Symptomatic)
            .unwrap();
        let mut m = msg(&to);
        m.template = Some("checkin".into());
        sb.send(&m).await;
        let replies = sb.due_replies(Instant::now() + Duration::from_millis(1));
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0].body, "I have a fever and a cough");
        assert_eq!(replies[0].from, to);
        assert!(
            sb.due_replies(Instant::now() + Duration::from_secs(1))
                .is_empty()
        );
    }
}
