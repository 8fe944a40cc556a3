//! Opening what every command needs: the store, the vault, case work.

use crate::config::Config;
use anyhow::Context;
use std::sync::Arc;
use tracedesk_casework::auditor::Auditor;
use tracedesk_casework::{Casework, Settings};
use tracedesk_store::Store;
use tracedesk_store::audit::AuditKey;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::Vault;

/// Opens the configured database (without migrating).
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn Store>> {
    let label = config.database_label();
    let store: Arc<dyn Store> = match config.database_url.as_deref() {
        Some(url) if url.starts_with("postgres") => Arc::new(
            PostgresStore::connect(url)
                .await
                .with_context(|| format!("cannot open {label}"))?,
        ),
        Some(url) => Arc::new(
            SqliteStore::connect(url)
                .await
                .with_context(|| format!("cannot open {label}"))?,
        ),
        None => Arc::new(
            SqliteStore::open(&config.sqlite_path())
                .await
                .with_context(|| format!("cannot open {label}"))?,
        ),
    };
    Ok(store)
}

/// Opens the keyring, creating it on first run with a loud notice.
pub fn open_vault(config: &Config) -> anyhow::Result<Arc<Vault>> {
    let path = config.keyring_path();
    let (vault, created) = Vault::open_or_create(&path)?;
    if created {
        eprintln!(
            "\n  NOTE: a new master key was generated at {}\n  \
             BACK IT UP NOW, somewhere other than this machine. Without it no\n  \
             personal data in the database can ever be read again.\n",
            path.display()
        );
    }
    Ok(Arc::new(vault))
}

/// The audit log over `store`, with the signing key (created on first run):
/// direct, as short-lived commands use it.
pub async fn open_auditor(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Auditor> {
    let key = audit_key(config)?;
    Ok(Auditor::new(store, Arc::new(key))
        .await?
        .with_anchor(anchor_path(config)?))
}

/// The audit anchor, checked writable at start (created `0600` if new), so
/// a wrong path is a clear error now rather than missing lines later.
fn anchor_path(config: &Config) -> anyhow::Result<std::path::PathBuf> {
    let path = config.audit_anchor_path();
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(&path).with_context(|| {
        format!(
            "cannot write the audit anchor {} (audit_anchor_file)",
            path.display()
        )
    })?;
    Ok(path)
}

/// The audit log as a server uses it: journaled when configured, after
/// absorbing what a previous run left in the journal.
async fn serving_auditor(config: &Config, store: Arc<dyn Store>) -> anyhow::Result<Auditor> {
    let key = Arc::new(audit_key(config)?);
    let anchor = anchor_path(config)?;
    let Some(dir) = config.audit_journal_dir() else {
        return Ok(Auditor::new(store, key).await?.with_anchor(anchor));
    };
    let (auditor, recovered) = Auditor::journaled(store, key, &dir)
        .await
        .with_context(|| format!("cannot open the audit journal in {}", dir.display()))?;
    let auditor = auditor.with_anchor(anchor);
    if recovered > 0 {
        tracing::info!(
            entries = recovered,
            "audit journal: entries left by the previous run are now in the log"
        );
    }
    Ok(auditor)
}

fn audit_key(config: &Config) -> anyhow::Result<AuditKey> {
    let path = config.audit_key_path();
    let (key, created) = AuditKey::load_or_create(&path)?;
    if created {
        eprintln!(
            "\n  NOTE: a new audit signing key was generated at {}\n  \
             Its public half is {}\n  \
             Record that somewhere else: `tracedesk audit verify --public-key` checks\n  \
             the log against it even if this machine is compromised.\n",
            path.display(),
            key.public_hex()
        );
    }
    Ok(key)
}

/// Store (migrated), vault, audit log and case work, ready for use.
pub async fn open(config: &Config) -> anyhow::Result<Casework> {
    open_as(config, false).await
}

/// [`open`] for a long-running server: its audit log may be journaled.
pub async fn open_serving(config: &Config) -> anyhow::Result<Casework> {
    open_as(config, true).await
}

async fn open_as(config: &Config, serving: bool) -> anyhow::Result<Casework> {
    let store = open_store(config).await?;
    store.migrate().await.context("database migration failed")?;
    let vault = open_vault(config)?;
    let auditor = if serving {
        serving_auditor(config, store.clone()).await?
    } else {
        open_auditor(config, store.clone()).await?
    };
    let cw = Casework::new(
        store,
        vault,
        Settings {
            default_region: config.default_region.clone(),
            rules: config.rules.clone(),
            default_jurisdiction: config.default_jurisdiction.clone(),
            contact_depth: config.contact_depth,
            program_start: config.program_start,
            messaging: config.messaging_settings(),
            merge_links: config.linkage.merge_links,
        },
    )
    .with_auditor(auditor);
    cw.refresh_jurisdictions()
        .await
        .context("cannot read the jurisdictions")?;
    if !cw.jurisdictions().contains(&config.default_jurisdiction) {
        anyhow::bail!(
            "default_jurisdiction `{}` is not a known jurisdiction; add it with `tracedesk jurisdiction add`",
            config.default_jurisdiction
        );
    }
    Ok(cw)
}

pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only for a person at a terminal: log files and collectors get
    // plain text.
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// The lock `serve` holds on its data directory for as long as it runs, so
/// that commands which must not run beside it (sunset) can refuse. Local to
/// this machine: nodes of a PostgreSQL deployment elsewhere are not seen.
pub fn serve_lock(config: &Config) -> anyhow::Result<std::fs::File> {
    let path = config.data_dir.join("serve.lock");
    if !config.data_dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(&config.data_dir)
            .with_context(|| format!("cannot create {}", config.data_dir.display()))?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "a tracedesk server is running on {}; stop it first",
            config.data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", path.display()))
        }
    }
}
