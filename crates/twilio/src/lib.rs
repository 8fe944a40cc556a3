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

    fn calls_url(&self) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/Calls.json",
            self.config.api_base_url.trim_end_matches('/'),
            self.config.account_sid
        )
    }

    /// Where Twilio asks what to say when call `m` is answered: the voice
    /// webhook, naming the message by its id (no personal data).
    pub fn voice_url(&self, m: &Outgoing) -> String {
        format!(
            "{}/webhooks/twilio/voice?m={}",
            self.config.public_base_url.trim_end_matches('/'),
            m.id
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
struct CallList {
    calls: Vec<ListedCall>,
}

#[derive(serde::Deserialize)]
struct ListedCall {
    sid: String,
    /// RFC 2822, as Twilio writes dates.
    date_created: Option<String>,
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
        match m.channel.as_str() {
            "sms" => {}
            "voice" => return self.place_call(m).await,
            _ => {
                return Delivery::Rejected {
                    error: "channel".into(),
                };
            }
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
        outcome(sent).await
    }

    async fn find(&self, m: &Outgoing) -> Result<Option<String>, String> {
        if m.channel == "voice" {
            return self.find_call(m).await;
        }
        self.find_message(m).await
    }
}

/// What Twilio's answer to a create request came to.
async fn outcome(sent: Result<reqwest::Response, reqwest::Error>) -> Delivery {
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

/// When message `m` was made (its id is a UUIDv7), in whole seconds.
fn made_at(m: &Outgoing) -> Option<chrono::DateTime<chrono::Utc>> {
    m.id.get_timestamp()
        .map(|t| t.to_unix().0)
        .and_then(|s| chrono::DateTime::from_timestamp(s as i64, 0))
}

impl Twilio {
    /// Places a call with the Calls resource: `Url` is tracedesk's voice
    /// webhook (the script is fetched when the call is answered), status
    /// callbacks at each step, and answering-machine detection that waits
    /// for the greeting's end (so a message is left after the beep) —
    /// except on a tracer's click-to-call leg.
    async fn place_call(&self, m: &Outgoing) -> Delivery {
        let Some(from) = &m.from else {
            return Delivery::Rejected {
                error: "no sender".into(),
            };
        };
        let url = self.voice_url(m);
        let callback = format!(
            "{}/webhooks/twilio/voice/status",
            self.config.public_base_url.trim_end_matches('/')
        );
        let mut form: Vec<(&str, &str)> = vec![
            ("To", &m.to),
            ("From", from),
            ("Url", &url),
            ("Method", "POST"),
            ("StatusCallback", &callback),
            ("StatusCallbackMethod", "POST"),
            ("StatusCallbackEvent", "initiated"),
            ("StatusCallbackEvent", "ringing"),
            ("StatusCallbackEvent", "answered"),
            ("StatusCallbackEvent", "completed"),
        ];
        if m.template.as_deref() != Some("bridge") {
            form.push(("MachineDetection", "DetectMessageEnd"));
        }
        let sent = self
            .http
            .post(self.calls_url())
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .form(&form)
            .send()
            .await;
        outcome(sent).await
    }

    /// A list resource (`Messages.json`, `Calls.json`) filtered to the
    /// messages to `m.to` since the day `m` was made (`since` names the
    /// date filter: `DateSent>` or `StartTime>`).
    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        url: String,
        since: &str,
        m: &Outgoing,
    ) -> Result<T, String> {
        let day = made_at(m)
            .map(|d| d.date_naive().to_string())
            .unwrap_or_default();
        let r = self
            .http
            .get(url)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .query(&[
                ("To", m.to.as_str()),
                (since, day.as_str()),
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
        r.json().await.map_err(|_| "unreadable answer".to_string())
    }

    /// A call to `m.to` placed since `m` was made: calls carry no body to
    /// match, and tracedesk places one call to a number at a time.
    async fn find_call(&self, m: &Outgoing) -> Result<Option<String>, String> {
        let made = made_at(m);
        let list: CallList = self.list(self.calls_url(), "StartTime>", m).await?;
        Ok(list
            .calls
            .into_iter()
            .find(|c| {
                let created = c
                    .date_created
                    .as_deref()
                    .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok());
                match (created, made) {
                    (Some(c), Some(made)) => c >= made,
                    _ => true,
                }
            })
            .map(|c| c.sid))
    }

    /// A message to `m.to` sent since the day `m` was made (its id is a
    /// UUIDv7) with `m`'s body.
    async fn find_message(&self, m: &Outgoing) -> Result<Option<String>, String> {
        let list: ListBody = self.list(self.messages_url(), "DateSent>", m).await?;
        Ok(list
            .messages
            .into_iter()
            .find(|l| l.body.as_deref() == Some(m.body.as_str()))
            .map(|l| l.sid))
    }
}
