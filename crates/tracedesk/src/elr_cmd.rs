//! `tracedesk import elr`, `tracedesk elr dead-letters|replay`, and the
//! MLLP listener `serve` starts when `[elr] mllp_listen` is set.

use crate::cli::{ElrAction, bar};
use crate::config::Config;
use crate::runtime;
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use tracedesk_casework::Casework;
use tracedesk_elr::Elr;
use tracedesk_elr::files::{files_of, import as import_files};

/// The MLLP listener, bound before anything else starts (an address in use
/// is an error up front), started once case work is open.
pub struct Mllp {
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

pub async fn bind_mllp(config: &Config) -> anyhow::Result<Option<Mllp>> {
    let Some(addr) = config.elr.mllp_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for MLLP on {addr}"))?;
    let tls = match (&config.elr.tls_cert_file, &config.elr.tls_key_file) {
        (Some(cert), Some(key)) => Some(tokio_rustls::TlsAcceptor::from(
            tracedesk_server::tls::load(cert, key)?,
        )),
        _ => None,
    };
    Ok(Some(Mllp { listener, tls }))
}

impl Mllp {
    pub fn start(self, cw: Casework, config: &Config) {
        let addr = self.listener.local_addr().ok();
        let tls = self.tls.is_some();
        tracing::info!(?addr, tls, "MLLP listener for lab reports");
        println!(
            "lab reports (HL7 v2 over MLLP{}) on {}",
            if tls { ", TLS" } else { "" },
            addr.map(|a| a.to_string()).unwrap_or_default()
        );
        let elr = Elr::new(cw, config.elr.jurisdiction.clone());
        tokio::spawn(tracedesk_elr::listener::serve(
            self.listener,
            elr,
            self.tls,
            config.elr.allowed(),
        ));
    }
}

pub async fn import(
    config: &Config,
    path: &Path,
    acks: Option<PathBuf>,
    report: Option<PathBuf>,
    jurisdiction: Option<String>,
) -> anyhow::Result<()> {
    // The files first: a wrong path must not leave a new database behind.
    let files = files_of(path)?;
    if files.is_empty() {
        anyhow::bail!("{} holds no files", path.display());
    }
    let total: usize = files
        .iter()
        .map(|f| {
            std::fs::read(f)
                .map(|b| {
                    tracedesk_hl7::split_batch(&String::from_utf8_lossy(&b))
                        .messages
                        .len()
                })
                .unwrap_or(0)
        })
        .sum();
    let cw = runtime::open(config).await?;
    let elr = Elr::new(cw.clone(), jurisdiction.or(config.elr.jurisdiction.clone()));
    let mut ack_out = match &acks {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let mut report_out: Box<dyn Write> = match &report {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout()),
    };
    let pb = bar(total as u64, "lab reports");
    let summary = import_files(
        &elr,
        &files,
        &mut report_out,
        ack_out.as_mut().map(|w| w as &mut dyn Write),
        |n| pb.set_position(n as u64),
    )
    .await;
    pb.finish_and_clear();
    let summary = summary?;
    report_out.flush()?;
    if let Some(w) = ack_out.as_mut() {
        w.flush()?;
    }
    // The new persons are linked in the background: finish before leaving.
    cw.cases().linkage_settled().await;
    if let Some(a) = cw.auditor() {
        a.checkpoint().await?;
    }
    println!(
        "{} messages in {} files: {} accepted (AA), {} with errors (AE), {} rejected (AR); \
         {} results recorded ({} new cases), {} already recorded; {} kept as dead letters",
        summary.messages,
        summary.files,
        summary.accepted,
        summary.errors,
        summary.rejected,
        summary.recorded,
        summary.cases_created,
        summary.duplicates,
        summary.dead_letters,
    );
    if summary.dead_letters > 0 {
        println!("list them with `tracedesk elr dead-letters`; replay with `tracedesk elr replay`");
    }
    Ok(())
}

pub async fn run(config: &Config, action: ElrAction) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    match action {
        ElrAction::DeadLetters { all } => {
            let mut after = None;
            let mut n = 0usize;
            loop {
                let page = cw.cases().dead_letters(all, after, 500).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.id);
                for d in &page {
                    n += 1;
                    println!(
                        "{}  {}  {:<6} {}  {}{}",
                        d.id,
                        d.received_at.format("%Y-%m-%d %H:%M:%S"),
                        d.source,
                        d.ack_code,
                        d.reason,
                        d.replay_code
                            .as_deref()
                            .map(|c| format!("  (replayed: {c})"))
                            .unwrap_or_default()
                    );
                }
            }
            if n == 0 {
                println!("no dead letters");
            }
        }
        ElrAction::Replay { ids, all } => {
            let ids = if all {
                let mut ids = Vec::new();
                let mut after = None;
                loop {
                    let page = cw.cases().dead_letters(false, after, 500).await?;
                    let Some(last) = page.last() else { break };
                    after = Some(last.id);
                    ids.extend(page.iter().map(|d| d.id));
                }
                ids
            } else {
                ids
            };
            if ids.is_empty() {
                println!("nothing to replay");
                return Ok(());
            }
            let elr = Elr::new(cw.clone(), config.elr.jurisdiction.clone());
            let pb = bar(ids.len() as u64, "replaying");
            let mut accepted = 0usize;
            let mut lines = Vec::new();
            for id in &ids {
                let r = elr.replay(*id).await?;
                if r.code == tracedesk_hl7::AckCode::Accept {
                    accepted += 1;
                } else {
                    lines.push(format!("{id} {}: {}", r.code.as_str(), r.faults.join("; ")));
                }
                pb.inc(1);
            }
            pb.finish_and_clear();
            cw.cases().linkage_settled().await;
            if let Some(a) = cw.auditor() {
                a.checkpoint().await?;
            }
            for l in &lines {
                println!("{l}");
            }
            println!(
                "{} replayed: {accepted} accepted, {} refused again",
                ids.len(),
                ids.len() - accepted
            );
        }
    }
    Ok(())
}
