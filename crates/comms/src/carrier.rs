//! The one interface every carrier (the sandbox, Twilio, SMTP) offers the
//! dispatcher: send a message, and say whether a message was already
//! accepted (so a send whose outcome was lost is never repeated blindly).

use std::time::Duration;
use uuid::Uuid;

/// A message opened for sending: the only place its address and body are
/// plaintext, for as long as the carrier call lasts.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// tracedesk's id for the message; carriers pass it on where they can
    /// (a status callback URL), so a receipt finds it.
    pub id: Uuid,
    pub channel: String,
    pub to: String,
    pub from: Option<String>,
    /// For a text or email, what it says; for a call, the words spoken
    /// first (the carrier fetches the call's script when it is answered).
    pub body: String,
    /// The template it was written from (`bridge`: a tracer's
    /// click-to-call leg, which is not screened for answering machines).
    pub template: Option<String>,
}

impl std::fmt::Debug for Outgoing {
    /// Never the address or the body: this may end up in a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outgoing")
            .field("id", &self.id)
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

/// What a carrier made of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted; the provider's id for it.
    Accepted { sid: String },
    /// Definitely not sent, and worth trying again (connection refused,
    /// 429, 5xx), after `after` if the provider said.
    Retry {
        after: Option<Duration>,
        error: String,
    },
    /// Definitely not sent, and sending again would not help (an invalid
    /// number, a message the provider refuses).
    Rejected { error: String },
    /// May or may not have been sent (a timeout after the request left):
    /// the dispatcher asks `find` before any resend.
    Unknown { error: String },
}

#[async_trait::async_trait]
pub trait Carrier: Send + Sync {
    /// `sandbox`, `twilio`, `smtp`.
    fn name(&self) -> &'static str;
    /// The carrier a message on `channel` goes to (its name in the
    /// disclosure audit): this one, unless it hands channels on.
    fn name_for(&self, _channel: &str) -> &'static str {
        self.name()
    }
    async fn send(&self, message: &Outgoing) -> Delivery;
    /// The provider's id for `message` if the provider already has it (an
    /// earlier send whose outcome was lost); `Err` when the provider cannot
    /// be asked now.
    async fn find(&self, message: &Outgoing) -> Result<Option<String>, String>;
}

/// Texts (and calls) to one carrier, email to another: the dispatcher's
/// one carrier when email goes over SMTP. A channel with no carrier is
/// refused, never handed to the wrong one (an email address is not a
/// phone number).
pub struct Channels {
    pub sms: std::sync::Arc<dyn Carrier>,
    pub email: Option<std::sync::Arc<dyn Carrier>>,
}

impl Channels {
    fn of(&self, channel: &str) -> Option<&dyn Carrier> {
        match channel {
            "email" => self.email.as_deref(),
            _ => Some(self.sms.as_ref()),
        }
    }
}

#[async_trait::async_trait]
impl Carrier for Channels {
    fn name(&self) -> &'static str {
        self.sms.name()
    }

    fn name_for(&self, channel: &str) -> &'static str {
        self.of(channel).map_or("no", |c| c.name_for(channel))
    }

    async fn send(&self, message: &Outgoing) -> Delivery {
        match self.of(&message.channel) {
            Some(c) => c.send(message).await,
            None => Delivery::Rejected {
                error: format!("no carrier is configured for {}", message.channel),
            },
        }
    }

    async fn find(&self, message: &Outgoing) -> Result<Option<String>, String> {
        match self.of(&message.channel) {
            Some(c) => c.find(message).await,
            None => Ok(None),
        }
    }
}
