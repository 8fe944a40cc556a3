//! A local SMTP server for tests and benches: it speaks enough of RFC 5321
//! (EHLO, STARTTLS per RFC 3207, AUTH PLAIN and LOGIN per RFC 4954, MAIL,
//! RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT) for a real client to
//! deliver to it, over implicit TLS, STARTTLS or plain TCP, with a
//! self-signed certificate for `localhost`. It keeps every message it
//! accepted, with whether TLS protected it and who authenticated, and can
//! be told to answer the next messages with a fault.

use base64::Engine;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// How the fake protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// TLS from the first byte.
    Tls,
    /// STARTTLS offered; mail refused before it.
    StartTls,
    /// No TLS at all.
    Plain,
}

/// What the server answers to the end of a message, in place of 250.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// This reply code (421, 451, 550, …).
    Reply(u16),
    /// Keep the message and close the connection without answering.
    Hangup,
}

/// A message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: String,
    /// Whether TLS protected the connection it came on.
    pub tls: bool,
    /// The user who authenticated, if one did.
    pub user: Option<String>,
}

/// The server's state, shared with the test.
#[derive(Default)]
pub struct Seen {
    pub mails: Mutex<Vec<Mail>>,
    /// Messages received whose answer was a fault (or a hang-up).
    pub faulted: Mutex<Vec<Mail>>,
    faults: Mutex<VecDeque<Fault>>,
}

impl Seen {
    /// Answers the next messages with these faults, in order.
    pub fn fail_next(&self, faults: impl IntoIterator<Item = Fault>) {
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(faults);
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A started fake: where it listens, the certificate to trust, what it saw.
pub struct Fake {
    pub addr: SocketAddr,
    /// The server's self-signed certificate (PEM), for the client's trust.
    pub ca_pem: String,
    pub seen: Arc<Seen>,
}

/// Starts a fake on 127.0.0.1 (an ephemeral port). With `credentials`,
/// mail is refused until a client authenticates with them.
pub async fn start(mode: Mode, credentials: Option<(String, String)>) -> std::io::Result<Fake> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()])
        .map_err(std::io::Error::other)?;
    let ca_pem = certified.cert.pem();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let chain = vec![CertificateDer::from(certified.cert.der().to_vec())];
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(std::io::Error::other)?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    let credentials = Arc::new(credentials);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, seen, credentials) =
                (acceptor.clone(), state.clone(), credentials.clone());
            tokio::spawn(async move {
                let session = Session {
                    mode,
                    seen,
                    credentials,
                    acceptor,
                };
                let _ = session.run(socket).await;
            });
        }
    });
    Ok(Fake { addr, ca_pem, seen })
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Session {
    mode: Mode,
    seen: Arc<Seen>,
    credentials: Arc<Option<(String, String)>>,
    acceptor: TlsAcceptor,
}

/// Where one connection stands.
#[derive(Default)]
struct Conn {
    tls: bool,
    user: Option<String>,
    from: Option<String>,
    to: Vec<String>,
}

impl Session {
    async fn run(self, socket: tokio::net::TcpStream) -> std::io::Result<()> {
        let mut conn = Conn::default();
        let stream: Box<dyn Io> = if self.mode == Mode::Tls {
            conn.tls = true;
            Box::new(self.acceptor.accept(socket).await?)
        } else {
            Box::new(socket)
        };
        let mut io = BufReader::new(stream);
        reply(&mut io, "220 localhost fake ESMTP").await?;
        loop {
            let Some(line) = read_line(&mut io).await? else {
                return Ok(());
            };
            let upper = line.to_ascii_uppercase();
            let verb = upper.split(' ').next().unwrap_or("");
            match verb {
                "EHLO" | "HELO" => {
                    let mut lines = vec!["250-localhost".to_string()];
                    if self.mode == Mode::StartTls && !conn.tls {
                        lines.push("250-STARTTLS".into());
                    }
                    lines.push("250-AUTH PLAIN LOGIN".into());
                    lines.push("250-8BITMIME".into());
                    lines.push("250 SMTPUTF8".into());
                    reply(&mut io, &lines.join("\r\n")).await?;
                }
                "STARTTLS" if self.mode == Mode::StartTls && !conn.tls => {
                    reply(&mut io, "220 go ahead").await?;
                    let inner = io.into_inner();
                    let upgraded = self.acceptor.accept(inner).await?;
                    io = BufReader::new(Box::new(upgraded) as Box<dyn Io>);
                    conn = Conn {
                        tls: true,
                        ..Conn::default()
                    };
                }
                "AUTH" => {
                    let user = self.auth(&mut io, &line).await?;
                    match user {
                        Some(u) => {
                            conn.user = Some(u);
                            reply(&mut io, "235 2.7.0 authenticated").await?;
                        }
                        None => reply(&mut io, "535 5.7.8 bad credentials").await?,
                    }
                }
                "MAIL" => {
                    if self.mode == Mode::StartTls && !conn.tls {
                        reply(&mut io, "530 5.7.0 STARTTLS first").await?;
                    } else if self.credentials.is_some() && conn.user.is_none() {
                        reply(&mut io, "530 5.7.0 authentication required").await?;
                    } else {
                        conn.from = Some(angle(&line));
                        conn.to.clear();
                        reply(&mut io, "250 2.1.0 ok").await?;
                    }
                }
                "RCPT" if conn.from.is_some() => {
                    conn.to.push(angle(&line));
                    reply(&mut io, "250 2.1.5 ok").await?;
                }
                "DATA" if conn.from.is_some() && !conn.to.is_empty() => {
                    reply(&mut io, "354 end with <CRLF>.<CRLF>").await?;
                    let mut data = String::new();
                    loop {
                        let Some(l) = read_line(&mut io).await? else {
                            return Ok(());
                        };
                        if l == "." {
                            break;
                        }
                        data.push_str(l.strip_prefix('.').unwrap_or(&l));
                        data.push_str("\r\n");
                    }
                    let mail = Mail {
                        from: conn.from.take().unwrap_or_default(),
                        to: std::mem::take(&mut conn.to),
                        data,
                        tls: conn.tls,
                        user: conn.user.clone(),
                    };
                    let fault = self
                        .seen
                        .faults
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .pop_front();
                    match fault {
                        None => {
                            self.seen
                                .mails
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(mail);
                            reply(&mut io, "250 2.0.0 queued").await?;
                        }
                        Some(f) => {
                            self.seen
                                .faulted
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(mail);
                            match f {
                                Fault::Reply(code) => {
                                    reply(&mut io, &format!("{code} fault for the test")).await?
                                }
                                Fault::Hangup => return Ok(()),
                            }
                        }
                    }
                }
                "RSET" => {
                    conn.from = None;
                    conn.to.clear();
                    reply(&mut io, "250 2.0.0 ok").await?;
                }
                "NOOP" => reply(&mut io, "250 2.0.0 ok").await?,
                "QUIT" => {
                    reply(&mut io, "221 2.0.0 bye").await?;
                    return Ok(());
                }
                _ => reply(&mut io, "503 5.5.1 bad sequence of commands").await?,
            }
        }
    }

    /// AUTH PLAIN (initial response or on the next line) or LOGIN; the
    /// user on success.
    async fn auth(
        &self,
        io: &mut BufReader<Box<dyn Io>>,
        line: &str,
    ) -> std::io::Result<Option<String>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let decode = |s: &str| {
            b64.decode(s.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
        };
        let mut parts = line.split_whitespace().skip(1);
        let mechanism = parts.next().unwrap_or("").to_ascii_uppercase();
        let (user, pass) = match mechanism.as_str() {
            "PLAIN" => {
                let initial = match parts.next() {
                    Some(i) => i.to_string(),
                    None => {
                        reply(io, "334 ").await?;
                        read_line(io).await?.unwrap_or_default()
                    }
                };
                let Some(plain) = decode(&initial) else {
                    return Ok(None);
                };
                let mut fields = plain.split('\0').skip(1);
                (
                    fields.next().unwrap_or("").to_string(),
                    fields.next().unwrap_or("").to_string(),
                )
            }
            "LOGIN" => {
                reply(io, "334 VXNlcm5hbWU6").await?;
                let user = decode(&read_line(io).await?.unwrap_or_default()).unwrap_or_default();
                reply(io, "334 UGFzc3dvcmQ6").await?;
                let pass = decode(&read_line(io).await?.unwrap_or_default()).unwrap_or_default();
                (user, pass)
            }
            _ => return Ok(None),
        };
        let ok = match self.credentials.as_ref() {
            Some((u, p)) => *u == user && *p == pass,
            None => true,
        };
        Ok(ok.then_some(user))
    }
}

/// The address inside `<…>` of a MAIL or RCPT line.
fn angle(line: &str) -> String {
    let start = line.find('<').map(|i| i + 1).unwrap_or(0);
    let end = line[start..]
        .find('>')
        .map(|i| start + i)
        .unwrap_or(line.len());
    line[start..end].to_string()
}

async fn read_line<R: AsyncBufReadExt + Unpin>(io: &mut R) -> std::io::Result<Option<String>> {
    let mut buf = Vec::new();
    if io.read_until(b'\n', &mut buf).await? == 0 {
        return Ok(None);
    }
    while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        buf.pop();
    }
    Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
}

async fn reply<W: AsyncWrite + Unpin>(io: &mut W, text: &str) -> std::io::Result<()> {
    io.write_all(text.as_bytes()).await?;
    io.write_all(b"\r\n").await?;
    io.flush().await
}
