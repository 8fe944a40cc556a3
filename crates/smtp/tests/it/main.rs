//! The SMTP carrier against a local SMTP server over real sockets:
//! STARTTLS and implicit TLS with a certificate the client must trust,
//! authentication, the message as delivered (headers, UTF-8 body), and
//! each kind of failure mapped to its outcome.

use std::time::Duration;
use tracedesk_comms::{Carrier, Delivery, Outgoing};
use tracedesk_smtp::fake::{self, Fault, Mode};
use tracedesk_smtp::{Security, Smtp, SmtpConfig};

fn config(f: &fake::Fake, security: Security) -> SmtpConfig {
    SmtpConfig {
        host: "localhost".into(),
        port: f.addr.port(),
        security,
        username: Some("tracedesk".into()),
        password: Some("s3cret-pass".into()),
        from: "NYC Test & Trace <notify@health.example.org>".into(),
        subject: "NYC Test & Trace".into(),
        ca_pem: Some(f.ca_pem.as_bytes().to_vec()),
        timeout: Duration::from_secs(5),
    }
}

fn message(to: &str, body: &str) -> Outgoing {
    Outgoing {
        id: uuid::Uuid::now_v7(),
        channel: "email".into(),
        to: to.into(),
        from: None,
        body: body.into(),
        template: None,
    }
}

fn creds() -> Option<(String, String)> {
    Some(("tracedesk".into(), "s3cret-pass".into()))
}

#[tokio::test]
async fn starttls_authenticates_and_delivers_the_message() {
    let f = fake::start(Mode::StartTls, creds()).await.unwrap();
    let smtp = Smtp::new(config(&f, Security::StartTls)).unwrap();
    let m = message(
        "rosa@example.com",
        "Hola Rosa: llámenos al +1 212 555 0100. 谢谢",
    );
    let d = smtp.send(&m).await;
    let Delivery::Accepted { sid } = d else {
        panic!("{d:?}");
    };
    assert_eq!(sid, smtp.message_id(&m));
    let mails = f.seen.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(mail.tls, "sent only after STARTTLS");
    assert_eq!(mail.user.as_deref(), Some("tracedesk"));
    assert_eq!(mail.from, "notify@health.example.org");
    assert_eq!(mail.to, vec!["rosa@example.com".to_string()]);
    assert!(
        mail.data.contains("Subject: NYC Test & Trace"),
        "{}",
        mail.data
    );
    assert!(
        mail.data.contains(&format!("Message-ID: {sid}")),
        "{}",
        mail.data
    );
    // The body, whatever transfer encoding the client chose.
    let body = decoded_body(&mail.data);
    assert!(body.contains("llámenos al +1 212 555 0100. 谢谢"), "{body}");
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let f = fake::start(Mode::Tls, creds()).await.unwrap();
    let smtp = Smtp::new(config(&f, Security::Tls)).unwrap();
    let d = smtp.send(&message("a@example.com", "hello")).await;
    assert!(matches!(d, Delivery::Accepted { .. }), "{d:?}");
    assert!(f.seen.mails()[0].tls);
}

#[tokio::test]
async fn an_untrusted_certificate_sends_nothing_and_is_retried() {
    let f = fake::start(Mode::StartTls, creds()).await.unwrap();
    let mut c = config(&f, Security::StartTls);
    c.ca_pem = None;
    let smtp = Smtp::new(c).unwrap();
    let d = smtp.send(&message("a@example.com", "hello")).await;
    assert!(matches!(d, Delivery::Retry { .. }), "{d:?}");
    assert!(f.seen.mails().is_empty());
    assert!(
        f.seen.faulted.lock().unwrap().is_empty(),
        "nothing reached DATA"
    );
}

#[tokio::test]
async fn wrong_credentials_send_nothing_and_are_retried() {
    let f = fake::start(Mode::StartTls, creds()).await.unwrap();
    let mut c = config(&f, Security::StartTls);
    c.password = Some("wrong".into());
    let smtp = Smtp::new(c).unwrap();
    let d = smtp.send(&message("a@example.com", "hello")).await;
    assert!(
        matches!(&d, Delivery::Retry { error, .. } if error == "smtp 535 (authentication)"),
        "{d:?}"
    );
    assert!(f.seen.mails().is_empty());
}

#[tokio::test]
async fn faults_map_to_retry_reject_and_unknown_without_the_servers_text() {
    let f = fake::start(Mode::StartTls, creds()).await.unwrap();
    let smtp = Smtp::new(config(&f, Security::StartTls)).unwrap();
    f.seen
        .fail_next([Fault::Reply(451), Fault::Reply(550), Fault::Hangup]);
    let to = "private.person@example.com";
    let d = smtp.send(&message(to, "one")).await;
    assert!(
        matches!(&d, Delivery::Retry { error, .. } if error == "smtp 451"),
        "{d:?}"
    );
    let d = smtp.send(&message(to, "two")).await;
    assert!(
        matches!(&d, Delivery::Rejected { error } if error == "smtp 550"),
        "{d:?}"
    );
    let lost = message(to, "three");
    let d = smtp.send(&lost).await;
    assert!(matches!(d, Delivery::Unknown { .. }), "{d:?}");
    // Nothing to look up: the copy goes again, with the same Message-ID.
    assert_eq!(smtp.find(&lost).await, Ok(None));
    let d = smtp.send(&lost).await;
    assert!(matches!(d, Delivery::Accepted { .. }), "{d:?}");
    let faulted = f.seen.faulted.lock().unwrap().clone();
    let id = smtp.message_id(&lost);
    assert!(faulted[2].data.contains(&id));
    assert!(f.seen.mails()[0].data.contains(&id));
    assert_eq!(f.seen.mails().len(), 1);
    // No outcome names the address.
    assert!(!format!("{d:?}").contains("private.person"));
}

#[tokio::test]
async fn a_closed_port_is_retried_and_a_bad_address_rejected() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let smtp = Smtp::new(SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        username: None,
        password: None,
        from: "notify@health.example.org".into(),
        subject: "Health".into(),
        ca_pem: None,
        timeout: Duration::from_secs(2),
    })
    .unwrap();
    let d = smtp.send(&message("a@example.com", "hello")).await;
    assert!(
        matches!(&d, Delivery::Retry { error, .. } if error == "smtp connection refused"),
        "{d:?}"
    );
    let d = smtp.send(&message("not an address", "hello")).await;
    assert!(matches!(d, Delivery::Rejected { .. }), "{d:?}");
}

/// The body of a message as delivered, undoing base64 or quoted-printable.
fn decoded_body(data: &str) -> String {
    use base64::Engine;
    let (headers, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    let lower = headers.to_ascii_lowercase();
    if lower.contains("content-transfer-encoding: base64") {
        let joined: String = body.split_whitespace().collect();
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(joined)
                .unwrap(),
        )
        .unwrap()
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        let mut out = Vec::new();
        let soft = body.replace("=\r\n", "");
        let bytes = soft.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(&soft[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    } else {
        body.to_string()
    }
}
