//! The email carrier: hands a message to the department's mail server over
//! SMTP, encrypted — implicit TLS (port 465) or STARTTLS (port 587), the
//! server's certificate checked against the Mozilla roots or a configured
//! CA — and authenticated when credentials are given. Plain SMTP is allowed
//! only to a server on this machine (a local relay), so a person's address
//! and message never cross a network in the clear.
//!
//! Outcomes: 2xx after the message → accepted, its `Message-ID` kept as the
//! provider's id; 4xx, a refused connection, a TLS failure or refused
//! credentials → retry (the message is not at fault); any other 5xx →
//! rejected with the reply code; anything else (a timeout, a connection
//! lost mid-message) → unknown. SMTP has no look-up, so an unknown send is
//! sent again with the same `Message-ID`, by which mail systems drop the
//! copy. Errors carry reply codes, never the server's text: a mail server
//! echoes the recipient's address in it.

#[cfg(feature = "fake")]
pub mod fake;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;
use tracedesk_comms::{Carrier, Delivery, Outgoing};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (port 465).
    Tls,
    /// Plain connection upgraded by STARTTLS before anything is sent; a
    /// server that does not offer it is refused (port 587).
    StartTls,
    /// No encryption: a relay on this machine only.
    None,
}

impl Security {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tls" => Some(Self::Tls),
            "starttls" => Some(Self::StartTls),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

/// What the carrier needs of configuration.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender, `Name <address>` or an address.
    pub from: String,
    /// Every email's subject: the program's name, never anything about
    /// the person (a subject line shows on a lock screen).
    pub subject: String,
    /// A CA certificate (PEM) to trust besides the Mozilla roots: a
    /// department's own CA, or a test server's.
    pub ca_pem: Option<Vec<u8>>,
    /// How long one send may take before its outcome is unknown.
    pub timeout: Duration,
}

impl std::fmt::Debug for SmtpConfig {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Whether `host` is this machine (where plain SMTP is allowed).
pub fn is_local(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1" | "[::1]")
}

pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    subject: String,
    /// The domain of Message-IDs: the sender's.
    domain: String,
}

impl Smtp {
    /// The carrier, or what is wrong with the configuration. Called
    /// inside a Tokio runtime (its connection pool runs there).
    pub fn new(config: SmtpConfig) -> Result<Self, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|_| "smtp.from is not an email address (name <address> or address)")?;
        if config.security == Security::None && !is_local(&config.host) {
            return Err(format!(
                "smtp.security = \"none\" is allowed only for a relay on this machine, not {}: use \"starttls\" or \"tls\"",
                config.host
            ));
        }
        let tls = || -> Result<TlsParameters, String> {
            let mut b = TlsParameters::builder(config.host.clone());
            if let Some(pem) = &config.ca_pem {
                let marked = pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----");
                if !marked {
                    return Err("smtp.ca_file is not a PEM certificate".to_string());
                }
                let cert = Certificate::from_pem(pem)
                    .map_err(|_| "smtp.ca_file is not a PEM certificate".to_string())?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls()
                .map_err(|e| format!("cannot set up TLS for smtp: {e}"))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(config.timeout))
            .tls(match config.security {
                Security::Tls => Tls::Wrapper(tls()?),
                Security::StartTls => Tls::Required(tls()?),
                Security::None => Tls::None,
            });
        match (&config.username, &config.password) {
            (Some(u), Some(p)) => {
                builder = builder.credentials(Credentials::new(u.clone(), p.clone()))
            }
            (None, None) => {}
            _ => return Err("smtp.username and smtp.password go together".into()),
        }
        let domain = from.email.domain().to_string();
        Ok(Self {
            transport: builder.build(),
            from,
            subject: config.subject,
            domain,
        })
    }

    /// The Message-ID of a message: the same at every attempt, so a copy
    /// sent after a lost answer is recognised as one.
    pub fn message_id(&self, m: &Outgoing) -> String {
        format!("<{}@{}>", m.id.simple(), self.domain)
    }
}

/// What a failed send came to, by the reply code or the kind of failure;
/// never the server's text.
fn outcome_of(e: &lettre::transport::smtp::Error) -> Delivery {
    let code = e.status().map(|c| c.to_string());
    // Authentication refused (530, 534, 535, 538): tracedesk's settings,
    // not the message; it goes when an operator mends them.
    if let Some(c) = code
        .as_deref()
        .filter(|c| ["530", "534", "535", "538"].contains(c))
    {
        return Delivery::Retry {
            after: None,
            error: format!("smtp {c} (authentication)"),
        };
    }
    if e.is_permanent() {
        return Delivery::Rejected {
            error: format!("smtp {}", code.unwrap_or_else(|| "5xx".into())),
        };
    }
    if e.is_transient() {
        return Delivery::Retry {
            after: None,
            error: format!("smtp {}", code.unwrap_or_else(|| "4xx".into())),
        };
    }
    if e.is_tls() {
        // The server's certificate or TLS setup: an operator fixes it and
        // the message goes then.
        return Delivery::Retry {
            after: None,
            error: "smtp tls handshake failed".into(),
        };
    }
    if let Some(kind) = never_opened(e) {
        return Delivery::Retry {
            after: None,
            error: kind.into(),
        };
    }
    Delivery::Unknown {
        error: if e.is_timeout() {
            "smtp timed out".into()
        } else {
            "smtp connection lost".into()
        },
    }
}

/// Why the connection never opened (so nothing was sent), if it did not.
fn never_opened(e: &lettre::transport::smtp::Error) -> Option<&'static str> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            // InvalidData: the TLS handshake refused the server (rustls
            // reports a certificate it cannot trust so), before any mail.
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable => {
                    Some("smtp connection refused")
                }
                std::io::ErrorKind::InvalidData => Some("smtp tls handshake failed"),
                _ => None,
            };
        }
        source = err.source();
    }
    None
}

#[async_trait::async_trait]
impl Carrier for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, m: &Outgoing) -> Delivery {
        let Ok(to) = m.to.parse::<Mailbox>() else {
            return Delivery::Rejected {
                error: "not an email address".into(),
            };
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(self.subject.clone())
            .message_id(Some(self.message_id(m)))
            .header(ContentType::TEXT_PLAIN)
            .body(m.body.clone());
        let message = match message {
            Ok(message) => message,
            Err(_) => {
                return Delivery::Rejected {
                    error: "the email could not be built".into(),
                };
            }
        };
        match self.transport.send(message).await {
            Ok(_) => Delivery::Accepted {
                sid: self.message_id(m),
            },
            Err(e) => outcome_of(&e),
        }
    }

    async fn find(&self, _m: &Outgoing) -> Result<Option<String>, String> {
        // SMTP cannot be asked: sent again, with the same Message-ID.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(security: Security, host: &str) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 587,
            security,
            username: None,
            password: None,
            from: "NYC Test & Trace <notify@health.example.org>".into(),
            subject: "NYC Test & Trace".into(),
            ca_pem: None,
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn plain_smtp_only_to_this_machine() {
        assert!(Smtp::new(config(Security::None, "127.0.0.1")).is_ok());
        let e = Smtp::new(config(Security::None, "mail.example.org"))
            .err()
            .unwrap();
        assert!(e.contains("starttls"), "{e}");
        assert!(Smtp::new(config(Security::StartTls, "mail.example.org")).is_ok());
    }

    #[tokio::test]
    async fn bad_settings_are_named() {
        let mut c = config(Security::Tls, "mail.example.org");
        c.from = "not an address".into();
        assert!(Smtp::new(c).err().unwrap().contains("smtp.from"));
        let mut c = config(Security::Tls, "mail.example.org");
        c.username = Some("u".into());
        assert!(Smtp::new(c).err().unwrap().contains("together"));
        let mut c = config(Security::Tls, "mail.example.org");
        c.ca_pem = Some(b"not pem".to_vec());
        assert!(Smtp::new(c).err().unwrap().contains("ca_file"));
    }

    #[tokio::test]
    async fn message_ids_are_the_messages_own() {
        let s = Smtp::new(config(Security::StartTls, "mail.example.org")).unwrap();
        let m = Outgoing {
            id: uuid::Uuid::nil(),
            channel: "email".into(),
            to: "rosa@example.com".into(),
            from: None,
            body: "hello".into(),
            template: None,
        };
        assert_eq!(
            s.message_id(&m),
            "<00000000000000000000000000000000@health.example.org>"
        );
    }
}
