//! The Twilio carrier: sends a message with the Messages resource of
//! Twilio's REST API (`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`,
//! form-encoded, HTTP Basic auth with the account SID and auth token), asks
//! for status callbacks at tracedesk's webhook, and looks a message up
//! (`GET …/Messages.json?To=…&DateSent>=…`) when an earlier send's outcome
//! was lost. The API's base URL is configurable, so tests run it against a
//! local server that speaks the same protocol.
//!
//! Outcomes: 201 → accepted with the `sid`; 429 (with `Retry-After`) and
//! 5xx, or a connection that never opened → retry; any other 4xx → rejected
//! with Twilio's error `code`; a timeout or a connection lost after the
//! request was written → unknown (the dispatcher looks it up before any
//! resend).

#[cfg(feature = "fake")]
pub mod fake;

use std::time::Duration;
use tracedesk_comms::{Carrier, Delivery, Outgoing};

/// What the adapter needs of configuration.
#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
    /// `https://api.twilio.com`, or a local fake's address in tests.
    pub api_base_url: String,
    /// Where Twilio reaches tracedesk (`https://tracedesk.example.org`):
    /// status callbacks go to `{public_base_url}/webhooks/twilio/status`.
    pub public_base_url: String,
    /// A Messaging Service SID (`MG…`) to send from, instead of the
    /// message's own From number.
    pub messaging_service_sid: Option<String>,
    /// How long one API call may take before its outcome is unknown.
    pub timeout: Duration,
}

impl std::fmt::Debug for TwilioConfig {
    /// Never the auth token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("api_base_url", &self.api_base_url)
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

pub struct Twilio {
    config: TwilioConfig,
    http: reqwest::Client,
}

impl Twilio {
    pub fn new(config: TwilioConfig) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self { config, http })
    }

    fn messages_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.config.api_base_url.trim_end_matches('/'),
            self.config.account_sid
        )
    }

    /// The status callback URL: tracedesk's webhook.
    pub fn status_callback(&self) -> String {
        format!(
            "{}/webhooks/twilio/status",
            self.config.public_base_url.trim_end_matches('/')
        )
    }
}

/// Twilio's error body: `{"code": 21211, "message": "…", "status": 400}`.
#[derive(serde::Deserialize)]
struct ErrorBody {
    code: Option<i64>,
}

#[derive(serde::Deserialize)]
struct MessageBody {
    sid: String,
}

#[derive(serde::Deserialize)]
struct ListBody {
    messages: Vec<ListedMessage>,
}

#[derive(serde::Deserialize)]
struct ListedMessage {
    sid: String,
    body: Option<String>,
}

/// `Retry-After` in seconds, if given (at most an hour).
fn retry_after(r: &reqwest::Response) -> Option<Duration> {
    r.headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(3600)))
}

/// What a failed request came to: never sent (the connection did not
/// open), or unknown (it may have reached Twilio).
fn transport_failure(e: &reqwest::Error) -> Delivery {
    if e.is_connect() {
        Delivery::Retry {
            after: None,
            error: "connect".into(),
        }
    } else {
        Delivery::Unknown {
            error: if e.is_timeout() {
                "timeout"
            } else {
                "transport"
            }
            .into(),
        }
    }
}

#[async_trait::async_trait]
impl Carrier for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, m: &Outgoing) -> Delivery {
        if m.channel != "sms" {
            return Delivery::Rejected {
                error: "channel".into(),
            };
        }
        let mut form: Vec<(&str, &str)> = vec![("To", &m.to), ("Body", &m.body)];
        match (&self.config.messaging_service_sid, &m.from) {
            (Some(service), _) => form.push(("MessagingServiceSid", service)),
            (None, Some(from)) => form.push(("From", from)),
            (None, None) => {
                return Delivery::Rejected {
                    error: "no sender".into(),
                };
            }
        }
        let callback = self.status_callback();
        form.push(("StatusCallback", &callback));
        let sent = self
            .http
            .post(self.messages_url())
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .form(&form)
            .send()
            .await;
        let r = match sent {
            Ok(r) => r,
            Err(e) => return transport_failure(&e),
        };
        let status = r.status();
        if status.is_success() {
            return match r.json::<MessageBody>().await {
                Ok(b) => Delivery::Accepted { sid: b.sid },
                // Accepted, but the answer was lost on the way: look it up.
                Err(_) => Delivery::Unknown {
                    error: "unreadable answer".into(),
                },
            };
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Delivery::Retry {
                after: retry_after(&r),
                error: status.as_u16().to_string(),
            };
        }
        let code = r
            .json::<ErrorBody>()
            .await
            .ok()
            .and_then(|b| b.code)
            .map_or_else(|| status.as_u16().to_string(), |c| c.to_string());
        Delivery::Rejected { error: code }
    }

    async fn find(&self, m: &Outgoing) -> Result<Option<String>, String> {
        // Sent no earlier than the message was made: its id is a UUIDv7.
        let since =
            m.id.get_timestamp()
                .map(|t| t.to_unix().0)
                .and_then(|s| chrono::DateTime::from_timestamp(s as i64, 0))
                .map(|d| d.date_naive().to_string())
                .unwrap_or_default();
        let r = self
            .http
            .get(self.messages_url())
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .query(&[
                ("To", m.to.as_str()),
                ("DateSent>", since.as_str()),
                ("PageSize", "100"),
            ])
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    "timeout".to_string()
                } else {
                    "transport".to_string()
                }
            })?;
        if !r.status().is_success() {
            return Err(r.status().as_u16().to_string());
        }
        let list: ListBody = r
            .json()
            .await
            .map_err(|_| "unreadable answer".to_string())?;
        Ok(list
            .messages
            .into_iter()
            .find(|l| l.body.as_deref() == Some(m.body.as_str()))
            .map(|l| l.sid))
    }
}
