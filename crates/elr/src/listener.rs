//! The MLLP listener: frames in, each message received and its ACK framed
//! back on the same connection, in order. Only addresses on the allow list
//! may connect (loopback by default); TLS is optional. A frame is answered
//! only after its results are committed, so a sender that loses the
//! connection mid-stream resends what it has no ACK for, and the resend is
//! recognised by its accession.

use crate::{Elr, Source};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tracedesk_hl7::mllp::{Decoder, frame};

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 64;
/// A feed connection with nothing sent for this long is closed.
const IDLE: Duration = Duration::from_secs(3600);

/// An address range that may connect (`10.0.0.0/8`, `::1`, `192.0.2.7`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    net: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an address or a range such as 10.0.0.0/8")]
pub struct BadRange(pub String);

impl std::str::FromStr for Allowed {
    type Err = BadRange;
    fn from_str(s: &str) -> Result<Self, BadRange> {
        let bad = || BadRange(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { net, prefix })
    }
}

impl Allowed {
    pub fn loopback() -> Vec<Self> {
        vec![
            Self {
                net: IpAddr::from([127, 0, 0, 0]),
                prefix: 8,
            },
            Self {
                net: IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1]),
                prefix: 128,
            },
        ]
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// Serves MLLP on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, elr: Elr, tls: Option<TlsAcceptor>, allow: Vec<Allowed>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "MLLP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if !allow.iter().any(|a| a.contains(peer.ip())) {
            tracing::warn!(%peer, "MLLP connection refused: not on the allow list");
            continue;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (elr, tls) = (elr.clone(), tls.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let done = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => connection(s, &elr, peer).await,
                    Err(e) => {
                        tracing::warn!(%peer, error = %e, "MLLP TLS handshake failed");
                        return;
                    }
                },
                None => connection(stream, &elr, peer).await,
            };
            if let Err(e) = done {
                tracing::info!(%peer, error = %e, "MLLP connection ended");
            }
        });
    }
}

/// One sender's connection: every whole frame is received and answered
/// before the next is read.
pub async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    elr: &Elr,
    peer: SocketAddr,
) -> std::io::Result<()> {
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(f) = decoder.next_frame() {
            let message = match f {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "MLLP frame refused; closing");
                    return Ok(());
                }
            };
            let r = elr.receive(&message, Source::Mllp).await;
            tracing::info!(
                %peer,
                ack = r.code.as_str(),
                recorded = r.recorded,
                duplicates = r.duplicates,
                cases = r.cases_created,
                "lab report received"
            );
            stream.write_all(&frame(r.ack.as_bytes())).await?;
            stream.flush().await?;
        }
        let n = match tokio::time::timeout(IDLE, stream.read(&mut buf)).await {
            Ok(n) => n?,
            Err(_) => return Ok(()),
        };
        if n == 0 {
            return Ok(());
        }
        decoder.push(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let a: Allowed = "10.0.0.0/8".parse().unwrap();
        assert!(a.contains("10.2.3.4".parse().unwrap()));
        assert!(!a.contains("11.0.0.1".parse().unwrap()));
        assert!(a.contains("::ffff:10.0.0.9".parse().unwrap()));
        let one: Allowed = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        assert!(!one.contains("192.0.2.8".parse().unwrap()));
        let all: Allowed = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.1".parse().unwrap()));
        assert!(Allowed::loopback()[1].contains("::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Allowed>().is_err());
        assert!("nonsense".parse::<Allowed>().is_err());
    }
}
