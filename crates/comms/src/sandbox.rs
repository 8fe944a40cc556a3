//! The embedded default carrier: nothing leaves the process. Every message
//! "arrives" at a sandbox phone (one per address) that the API reads, with
//! delivery receipts after a configurable latency and failures at a
//! configurable rate, so the whole path — outbox, dispatch, retries,
//! receipts, replies — runs as it would against a real provider.

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
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            latency: Duration::from_millis(200),
            retry_rate: 0.0,
            undelivered_rate: 0.0,
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
}
