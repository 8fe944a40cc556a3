//! Command-line interface.

use crate::config::{self, Config, Overrides};
use crate::runtime;
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::Arc;
use tracedesk_casework::auditor::draft;
use tracedesk_server::ServerSettings;
use tracedesk_store::audit::Action;

#[derive(Parser)]
#[command(
    name = "tracedesk",
    version,
    about = "Case investigation and contact tracing, privacy first"
)]
pub struct Cli {
    /// Config file (default: ./tracedesk.toml if present).
    #[arg(long, global = true, env = "TRACEDESK_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (SQLite database, generated keyring).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrates first).
    Serve {
        /// Address to listen on (overrides `listen`; port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
        /// PEM certificate chain: serve HTTPS (overrides `tls_cert_file`).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Exit 0 if the server at --url (default: the listen address) is ready.
    Healthcheck {
        /// Base URL of the server to ask (default: http://<listen address>).
        #[arg(long)]
        url: Option<String>,
        /// The listen address to ask when no --url is given.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage staff and integration accounts.
    User {
        #[command(subcommand)]
        action: crate::admin::UserAction,
    },
    /// Manage teams.
    Team {
        #[command(subcommand)]
        action: crate::admin::TeamAction,
    },
    /// Manage the jurisdiction hierarchy.
    Jurisdiction {
        #[command(subcommand)]
        action: crate::admin::JurisdictionAction,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Manage the master keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Check configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Import data.
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Electronic lab reports: dead letters and their replay.
    Elr {
        #[command(subcommand)]
        action: ElrAction,
    },
    /// Record linkage: find persons recorded more than once.
    Linkage {
        #[command(subcommand)]
        action: LinkageAction,
    },
    /// Serve a demo on SQLite with a synthetic outbreak (no real people).
    /// Its data goes to `<data dir>/demo` (default ./tracedesk-data/demo),
    /// apart from real data; run it again to continue where it stopped.
    Demo {
        /// Positive cases to seed.
        #[arg(long, default_value_t = 400)]
        cases: usize,
        /// Address to listen on (overrides `listen`).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Purge the personal data of records closed longer than the retention
    /// periods (`[retention]`), keeping de-identified stubs. `serve` runs it daily.
    Purge {
        /// Show what would be purged and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// End of the emergency: remove all personal data program-wide, keeping
    /// de-identified aggregates and the audit log.
    Sunset {
        /// Really do it: without this flag sunset only explains itself.
        #[arg(long)]
        confirm: bool,
    },
    /// Check and read the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Benchmarks that print figures.
    Bench {
        #[command(subcommand)]
        what: crate::bench::BenchWhat,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token for a user and print it once; it carries the user's
    /// role and scope.
    Create {
        /// A name to tell the token by (it is listed and revoked by name).
        #[arg(long)]
        name: String,
        /// The username of the account the token acts as.
        #[arg(long)]
        user: String,
    },
    /// Revoke every live token with this name.
    Revoke {
        /// The token's name, as given at `token create`.
        #[arg(long)]
        name: String,
    },
    /// List tokens (names and dates; never the tokens).
    List,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Re-seal every row under a new key version (resumes an interrupted run).
    Rotate {
        /// Rows re-sealed per transaction (smaller: shorter locks).
        #[arg(long, default_value_t = 1000)]
        batch: u32,
        /// Stop after this many rows (to rehearse an interrupted rotation).
        #[arg(long, hide = true)]
        stop_after: Option<u64>,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Verify the whole log: chain, sequence and signed checkpoints. Exits 1
    /// and names the first bad entry if anything was modified, deleted,
    /// reordered or truncated.
    Verify {
        /// The audit key's public half (hex) to check checkpoints against;
        /// default: this data directory's key. Pass a copy kept elsewhere.
        #[arg(long)]
        public_key: Option<String>,
        /// The anchor file to hold the log to (every checkpoint it lists must
        /// be in the database as it is there); default: the configured
        /// `audit_anchor_file`, when it exists.
        #[arg(long)]
        anchor: Option<std::path::PathBuf>,
        /// Longest a stretch of entries may go without a signed checkpoint
        /// before the log counts as tampered with (the server signs every
        /// 10 s, each command at its end).
        #[arg(long, default_value_t = 120)]
        max_gap_seconds: u32,
    },
    /// The disclosure record of one person: every access to their data,
    /// by whom, when, and why.
    Disclosures {
        /// The person's id (as `GET /api/v1/persons/{id}` shows it).
        #[arg(long)]
        person: uuid::Uuid,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate the configuration and print the effective settings (no secrets).
    Check,
}

#[derive(Subcommand)]
enum ImportWhat {
    /// Import lab results from a CSV file with a header row.
    Labs {
        /// The CSV file (columns: see the README's lab table).
        #[arg(long)]
        csv: PathBuf,
        /// Where to write rejected lines (default: FILE.errors.csv).
        #[arg(long)]
        report: Option<PathBuf>,
        /// The file's layout: a `[csv_profiles.NAME]` of the configuration
        /// (default: tracedesk's column names, UTF-8, ISO dates).
        #[arg(long)]
        profile: Option<String>,
    },
    /// Import HL7 v2 lab reports (ORU^R01; single messages, several, or
    /// FHS/BHS batches) from a file or every file of a directory.
    Elr {
        /// A file, or a directory whose files are each imported.
        path: PathBuf,
        /// Write every ACK here, one after another.
        #[arg(long)]
        acks: Option<PathBuf>,
        /// Where to write refused messages (default: standard output).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Jurisdiction to record the results in (default: `[elr]
        /// jurisdiction`, then `default_jurisdiction`).
        #[arg(long)]
        jurisdiction: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum LinkageAction {
    /// Compare every person with those sharing a blocking key, keeping the
    /// pairs that are the same person or may be (for review). Resumes where
    /// an interrupted run stopped.
    Run {
        /// Begin again from the first person.
        #[arg(long)]
        restart: bool,
        /// Fit the weights to this store (EM) instead of the defaults.
        #[arg(long)]
        fit: bool,
    },
    /// Merge the pairs the matcher linked as the same person (status
    /// `same`, not yet merged): each later record into the earlier, its
    /// cases, results, contact records, tasks and messages moved, every
    /// merge kept for an unmerge (`POST /api/v1/linkage/merges/{id}/unmerge`).
    /// Pairs across jurisdictions are left for a reviewer.
    Merge {
        /// Only pairs within this jurisdiction and those below it.
        #[arg(long)]
        jurisdiction: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ElrAction {
    /// List lab reports that could not be recorded (not yet replayed).
    DeadLetters {
        /// Include the ones already replayed.
        #[arg(long)]
        all: bool,
    },
    /// Receive dead letters again (after fixing what refused them).
    Replay {
        /// The dead letters' ids.
        ids: Vec<uuid::Uuid>,
        /// Every dead letter not yet replayed.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let env: Vec<(String, String)> = std::env::vars().collect();
    let listen = match &cli.command {
        Command::Serve { listen, .. }
        | Command::Demo { listen, .. }
        | Command::Healthcheck { listen, .. } => listen.clone(),
        _ => None,
    };
    let flags = Overrides {
        data_dir: cli.data_dir.clone(),
        listen,
    };
    Ok(config::load(cli.config.as_deref(), &env, &flags)?)
}

/// Commands that set a data directory up, and may create its database;
/// every other command works on data that must already be there.
fn may_create_data(c: &Command) -> bool {
    use crate::admin::{JurisdictionAction, TeamAction, UserAction};
    matches!(
        c,
        Command::Serve { .. }
            | Command::Migrate
            | Command::Demo { .. }
            | Command::Healthcheck { .. }
            | Command::Config { .. }
            | Command::Bench { .. }
            | Command::Import { .. }
            | Command::User {
                action: UserAction::Add { .. }
            }
            | Command::Team {
                action: TeamAction::Add { .. }
            }
            | Command::Jurisdiction {
                action: JurisdictionAction::Add { .. }
            }
    )
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = load_config(&cli)?;
    runtime::init_logging(&config.log);
    // Pointed at a directory that holds no database (a mistyped or missing
    // --data-dir), a command stops instead of creating an empty database
    // and new keys there.
    if config.database_url.is_none()
        && !may_create_data(&cli.command)
        && !config.sqlite_path().exists()
    {
        let demo = config.data_dir.join("demo").join("tracedesk.db");
        bail!(
            "there is no tracedesk database in {}{}; `tracedesk serve` or `tracedesk migrate` \
             creates one",
            config.data_dir.display(),
            if demo.exists() {
                format!(
                    " (the demo's data is in {}: add --data-dir {})",
                    config.data_dir.join("demo").display(),
                    config.data_dir.join("demo").display()
                )
            } else {
                String::new()
            }
        );
    }
    match cli.command {
        Command::Serve {
            tls_cert, tls_key, ..
        } => {
            let mut config = config;
            if tls_cert.is_some() {
                config.tls_cert_file = tls_cert;
                config.tls_key_file = tls_key;
            }
            serve(&config, None).await
        }
        Command::Migrate => {
            let store = runtime::open_store(&config).await?;
            store.migrate().await.context("migration failed")?;
            println!("migrations applied to {}", config.database_label());
            Ok(())
        }
        Command::Healthcheck { url, .. } => healthcheck(&config, url).await,
        Command::Token { action } => token(&config, action).await,
        Command::User { action } => crate::admin::user(&config, action).await,
        Command::Team { action } => crate::admin::team(&config, action).await,
        Command::Jurisdiction { action } => crate::admin::jurisdiction(&config, action).await,
        Command::Keys {
            action: KeysAction::Rotate { batch, stop_after },
        } => rotate(&config, batch, stop_after).await,
        Command::Config {
            action: ConfigAction::Check,
        } => {
            println!("configuration is valid");
            println!("  data_dir        {}", config.data_dir.display());
            println!("  listen          {}", config.listen);
            let ws = config.routing_workspace()?;
            println!(
                "  routing         {} ({} queues, {} workflow filters, {} task types)",
                config
                    .routing_workspace_file
                    .as_ref()
                    .map_or("public-health defaults".to_string(), |p| p
                        .display()
                        .to_string()),
                ws.queues.len(),
                ws.workflow.filters.len(),
                ws.task_types.len()
            );
            println!(
                "  advertise_url   {}",
                config
                    .advertise_url
                    .clone()
                    .unwrap_or_else(|| format!("http(s)://{} (default)", config.listen))
            );
            println!("  database        {}", config.database_label());
            println!("  keyring         {}", config.keyring_path().display());
            println!(
                "  audit journal   {}",
                match config.audit_journal_dir() {
                    Some(d) => d.display().to_string(),
                    None => "off (each group of entries commits to the database)".into(),
                }
            );
            println!("  audit anchor    {}", config.audit_anchor_path().display());
            println!("  default_region  {}", config.default_region);
            let r = &config.rules;
            println!(
                "  rules           infectious from {} d before onset/specimen, isolation {} d; \
                 quarantine {} ({} d full, {} d shortened, {} d with a negative test from day {})",
                r.infectious_lead_days,
                r.isolation_days,
                match r.quarantine_option {
                    tracedesk_domain::QuarantineOption::Full => "full",
                    tracedesk_domain::QuarantineOption::Shortened => "shortened",
                    tracedesk_domain::QuarantineOption::ShortenedWithNegativeTest => {
                        "shortened with a negative test"
                    }
                },
                r.quarantine_days,
                r.quarantine_short_days,
                r.quarantine_test_days,
                r.negative_test_from_day
            );
            println!(
                "  jurisdiction    {} (default)",
                config.default_jurisdiction
            );
            let a = &config.auth;
            println!(
                "  auth            idle {} s, absolute {} s, lockout after {}, delays after {} ({} ms doubling), secure cookies {}",
                a.session_idle_seconds,
                a.session_absolute_seconds,
                a.lockout_after,
                a.free_failures,
                a.base_delay_ms,
                a.secure_cookies || config.tls_cert_file.is_some()
            );
            let r = &config.retention;
            println!(
                "  retention       cases {} d, contacts {} d, lab-only {} d after closure",
                r.case_days, r.contact_days, r.lab_days
            );
            println!(
                "  tls             {}",
                match &config.tls_cert_file {
                    Some(c) => c.display().to_string(),
                    None => "off (plain HTTP; use a TLS proxy or --tls-cert)".into(),
                }
            );
            println!(
                "  rate limit      {} requests/s per client, burst {}",
                config.rate_limit_per_second, config.rate_limit_burst
            );
            Ok(())
        }
        Command::Import {
            what:
                ImportWhat::Labs {
                    csv,
                    report,
                    profile,
                },
        } => import_labs(&config, csv, report, profile).await,
        Command::Import {
            what:
                ImportWhat::Elr {
                    path,
                    acks,
                    report,
                    jurisdiction,
                },
        } => crate::elr_cmd::import(&config, &path, acks, report, jurisdiction).await,
        Command::Elr { action } => crate::elr_cmd::run(&config, action).await,
        Command::Linkage {
            action: LinkageAction::Run { restart, fit },
        } => {
            crate::linkage_cmd::run(&config, crate::linkage_cmd::RunOptions { restart, fit }).await
        }
        Command::Linkage {
            action: LinkageAction::Merge { jurisdiction },
        } => crate::linkage_cmd::merge(&config, jurisdiction.as_deref()).await,
        Command::Demo { cases, .. } => crate::demo::run(config, cases).await,
        Command::Audit { action } => audit(&config, action).await,
        Command::Purge { dry_run } => crate::retention_cmd::purge(&config, dry_run).await,
        Command::Sunset { confirm } => crate::retention_cmd::sunset(&config, confirm).await,
        Command::Bench { what } => crate::bench::run(&config, what).await,
    }
}

/// Runs the server until Ctrl-C / SIGTERM; `banner` is printed once listening.
pub async fn serve(config: &Config, banner: Option<String>) -> anyhow::Result<()> {
    // Listening first: an address in use is an error before anything is
    // created on disk.
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    // Held until serve returns: `sunset` refuses to run beside it.
    let _running = runtime::serve_lock(config)?;
    let tls = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => Some(tracedesk_server::tls::load(cert, key)?),
        _ => None,
    };
    let mllp = crate::elr_cmd::bind_mllp(config).await?;
    let workspace = config.routing_workspace()?;
    let cw = runtime::open_serving(config).await?;
    if let Some(m) = mllp {
        m.start(cw.clone(), config);
    }
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // Route tasks whenever this node holds the lead (always, on SQLite);
    // otherwise forward routing requests to the node that does.
    let advertise = config
        .advertise_url
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{addr}"));
    let (messaging, twilio_hooks) = carrier(config)?;
    let app = tracedesk_server::App::start(
        cw,
        ServerSettings {
            sandbox: messaging.sandbox.clone(),
            twilio: twilio_hooks,
            body_limit: config.body_limit_bytes,
            max_batch: config.max_batch,
            auth: config.auth.policy(),
            secure_cookies: config.auth.secure_cookies || tls.is_some(),
            rate_limit: (config.rate_limit_per_second > 0).then(|| {
                tracedesk_server::ratelimit::RateLimit {
                    per_second: f64::from(config.rate_limit_per_second),
                    burst: f64::from(config.rate_limit_burst.max(config.rate_limit_per_second)),
                }
            }),
            ..ServerSettings::default()
        },
        tracedesk_server::Jobs {
            routing: Some(tracedesk_server::RoutingSetup {
                workspace,
                clock: Arc::new(|| chrono::Utc::now().timestamp_millis()),
                advertise,
            }),
            retention: Some(config.retention),
            checkpoint_every: Some(std::time::Duration::from_secs(10)),
            messaging: Some(messaging),
            checkins: config
                .messaging
                .checkins
                .then_some(std::time::Duration::from_secs(60)),
        },
    );
    let stop = shutdown_signal();
    tracing::info!(%addr, scheme, database = %config.database_label(), "tracedesk listening");
    if let Some(b) = banner {
        println!("{b}");
    } else {
        println!(
            "tracedesk listening on {scheme}://{addr} ({})",
            config.database_label()
        );
    }
    app.serve(listener, tls, stop)
        .await
        .map_err(|e| anyhow::anyhow!(e))?;
    tracing::info!("tracedesk stopped");
    Ok(())
}

/// The carrier `serve` dispatches through: the sandbox (the embedded
/// default: messages reach sandbox phones the API reads and replies from)
/// or Twilio, with the webhooks' check.
fn carrier(
    config: &Config,
) -> anyhow::Result<(
    tracedesk_server::MessagingSetup,
    Option<tracedesk_server::webhooks::TwilioHooks>,
)> {
    let lease = std::time::Duration::from_secs(u64::from(config.messaging.lease_seconds));
    let (mut setup, hooks) = texts(config, lease)?;
    // Email over SMTP when it is set up; else the sandbox takes it, or
    // (with Twilio) it is refused before it is queued.
    let email: Option<Arc<dyn tracedesk_comms::Carrier>> = if config.smtp.enabled() {
        Some(Arc::new(smtp(config)?))
    } else {
        setup
            .sandbox
            .clone()
            .map(|s| s as Arc<dyn tracedesk_comms::Carrier>)
    };
    setup.carrier = Arc::new(tracedesk_comms::Channels {
        sms: setup.carrier.clone(),
        email,
    });
    Ok((setup, hooks))
}

/// The SMTP carrier `[smtp]` describes.
fn smtp(config: &Config) -> anyhow::Result<tracedesk_smtp::Smtp> {
    let s = &config.smtp;
    let ca_pem = match &s.ca_cert_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read smtp.ca_cert_file {}", path.display()))?,
        ),
        None => None,
    };
    tracedesk_smtp::Smtp::new(tracedesk_smtp::SmtpConfig {
        host: s.host.clone(),
        port: s.port,
        security: tracedesk_smtp::Security::parse(&s.security)
            .unwrap_or(tracedesk_smtp::Security::StartTls),
        username: s.username.clone(),
        password: s.password.clone(),
        from: s.from.clone(),
        subject: s
            .subject
            .clone()
            .unwrap_or_else(|| config.messaging.program_name.clone()),
        ca_pem,
        timeout: std::time::Duration::from_millis(u64::from(s.timeout_ms)),
    })
    .map_err(|e| anyhow::anyhow!(e))
}

/// The carrier texts go through, and Twilio's webhook check.
fn texts(
    config: &Config,
    lease: std::time::Duration,
) -> anyhow::Result<(
    tracedesk_server::MessagingSetup,
    Option<tracedesk_server::webhooks::TwilioHooks>,
)> {
    if config.messaging.carrier != "twilio" {
        let mut sandbox =
            tracedesk_server::MessagingSetup::sandbox(tracedesk_comms::sandbox::SandboxConfig {
                personas: config.messaging.sandbox_personas,
                ..Default::default()
            });
        sandbox.lease = lease;
        return Ok((sandbox, None));
    }
    let t = &config.twilio;
    let twilio = tracedesk_twilio::Twilio::new(tracedesk_twilio::TwilioConfig {
        account_sid: t.account_sid.clone(),
        auth_token: t.auth_token.clone(),
        api_base_url: t.api_base_url.clone(),
        public_base_url: t.public_base_url.clone(),
        messaging_service_sid: t.messaging_service_sid.clone(),
        timeout: std::time::Duration::from_millis(u64::from(t.timeout_ms)),
    })
    .map_err(|e| anyhow::anyhow!(e))?;
    let hooks = tracedesk_server::webhooks::TwilioHooks {
        account_sid: t.account_sid.clone(),
        auth_token: t.auth_token.clone(),
        public_base_url: t.public_base_url.clone(),
    };
    Ok((
        tracedesk_server::MessagingSetup {
            carrier: Arc::new(twilio),
            sandbox: None,
            node: format!("node-{}", uuid::Uuid::now_v7().simple()),
            lease,
            pace: config.messaging.pace(),
        },
        Some(hooks),
    ))
}

/// Resolves at SIGTERM or Ctrl-C. The handlers are installed when this is
/// called, not when it is first polled: `serve` calls it before it prints
/// that it is listening, so a supervisor that stops it the moment it
/// reads that line stops it cleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let (term, int) = {
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::terminate()).ok(),
            signal(SignalKind::interrupt()).ok(),
        )
    };
    async move {
        #[cfg(unix)]
        {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! { _ = wait(term) => {}, _ = wait(int) => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn healthcheck(config: &Config, url: Option<String>) -> anyhow::Result<()> {
    let base = url.unwrap_or_else(|| format!("http://{}", config.listen));
    let target = format!("{}/readyz", base.trim_end_matches('/'));
    let res = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()?
        .get(&target)
        .send()
        .await
        .with_context(|| format!("{target} is unreachable"))?;
    if !res.status().is_success() {
        bail!("{target} answered {}", res.status());
    }
    println!("ok: {target}");
    Ok(())
}

async fn token(config: &Config, action: TokenAction) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    // Recorded in the audit log, and signed, before the command reports.
    let audited = |action: Action, name: String| {
        let cw = cw.clone();
        async move { crate::admin::record(&cw, action, "token", None, &name).await }
    };
    match action {
        TokenAction::Create { name, user } => {
            let name = name.trim();
            if name.is_empty() || name.len() > 64 {
                bail!("--name must be 1 to 64 characters");
            }
            let u = cw
                .staff()
                .require_user(&user)
                .await
                .map_err(crate::admin::describe)?;
            if u.disabled_at.is_some() {
                bail!("user `{user}` is disabled");
            }
            let t = cw
                .staff()
                .create_token(name, u.id)
                .await
                .map_err(crate::admin::describe)?;
            audited(Action::TokenCreate, name.to_string()).await?;
            eprintln!("token `{name}` created; it is shown only this once:");
            println!("{t}");
        }
        TokenAction::Revoke { name } => {
            let n = cw
                .staff()
                .revoke_tokens(&name)
                .await
                .map_err(crate::admin::describe)?;
            audited(Action::TokenRevoke, name.clone()).await?;
            if n == 0 {
                bail!("no live token is named `{name}`");
            }
            println!("revoked {n} token(s) named `{name}`");
        }
        TokenAction::List => {
            println!("{:<24} {:<26} status", "name", "created");
            for t in cw
                .staff()
                .list_tokens()
                .await
                .map_err(crate::admin::describe)?
            {
                let status = match t.revoked_at {
                    Some(r) => format!("revoked {}", r.format("%Y-%m-%d %H:%M")),
                    None => "live".into(),
                };
                println!(
                    "{:<24} {:<26} {status}",
                    t.name,
                    t.created_at.format("%Y-%m-%d %H:%M:%S UTC")
                );
            }
        }
    }
    Ok(())
}

async fn audit(config: &Config, action: AuditAction) -> anyhow::Result<()> {
    // Looked at before the auditor opens (which creates it when missing).
    let configured_anchor = {
        let p = config.audit_anchor_path();
        p.exists().then_some(p)
    };
    let store = runtime::open_store(config).await?;
    store.migrate().await.context("database migration failed")?;
    let auditor = runtime::open_auditor(config, store.clone()).await?;
    match action {
        AuditAction::Verify {
            public_key,
            anchor,
            max_gap_seconds,
        } => {
            let public = match public_key {
                Some(h) => Some(
                    hex::decode(h.trim())
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .context("--public-key must be 64 hex digits")?,
                ),
                None => None,
            };
            let anchor_path = anchor.or(configured_anchor);
            let anchored = match &anchor_path {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read the anchor {}", p.display()))?;
                    Some(
                        tracedesk_store::audit::anchor::parse(&text)
                            .with_context(|| format!("the anchor {} is damaged", p.display()))?,
                    )
                }
                None => None,
            };
            let options = tracedesk_casework::auditor::VerifyOptions {
                public,
                anchor: anchored,
                limits: tracedesk_store::audit::Limits {
                    max_gap: chrono::Duration::seconds(i64::from(max_gap_seconds)),
                },
            };
            let pb = bar(0, "verifying");
            let result = auditor
                .verify_with(&options, |n| pb.set_position(n))
                .await?;
            pb.finish_and_clear();
            match result {
                Ok(s) => {
                    match &anchor_path {
                        Some(p) if s.anchored == 0 && s.checkpoints > 0 => println!(
                            "note: the anchor {} holds none of the log's {} checkpoint(s): it is \
                             new, or it was emptied; a truncated log is only caught against an \
                             anchor that kept its lines",
                            p.display(),
                            s.checkpoints
                        ),
                        Some(p) => println!(
                            "anchor {}: {} checkpoint(s), every one in the log as anchored",
                            p.display(),
                            s.anchored
                        ),
                        None => println!(
                            "note: no anchor checked; a log truncated together with its \
                             checkpoints is only caught against an anchor (--anchor)"
                        ),
                    }
                    if s.late_checkpoints > 0 {
                        println!(
                            "note: {} checkpoint(s) were signed late, for entries a stopped \
                             process had left unsigned",
                            s.late_checkpoints
                        );
                    }
                    println!(
                        "audit log OK: {} entries, {} signed checkpoints (last at entry {}), head {}",
                        s.entries,
                        s.checkpoints,
                        s.last_checkpoint_seq
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "none".into()),
                        hex::encode(s.last_hash)
                    );
                    if s.unsigned_tail > 0 {
                        println!(
                            "note: the last {} entries are chained but not yet covered by a signed checkpoint",
                            s.unsigned_tail
                        );
                    }
                    Ok(())
                }
                Err(b) => bail!("{b}"),
            }
        }
        AuditAction::Disclosures { person } => {
            let entries = store.audit_for_person(person).await?;
            if entries.is_empty() {
                println!("no recorded access to person {person}");
                return Ok(());
            }
            println!(
                "{:<27} {:<28} {:<14} {:<9} why",
                "when (UTC)", "who", "action", "record"
            );
            for e in entries {
                let d = &e.draft;
                println!(
                    "{:<27} {:<28} {:<14} {:<9} {}",
                    d.at.format("%Y-%m-%d %H:%M:%S%.3f"),
                    d.actor,
                    d.action.as_str(),
                    d.object,
                    d.detail
                );
            }
            Ok(())
        }
    }
}

pub(crate) fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

async fn rotate(config: &Config, batch: u32, stop_after: Option<u64>) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    let pb = bar(0, "re-sealing");
    let mut current = "";
    let report = cw
        .retention()
        .rotate_keys(batch, stop_after, |p| {
            if p.table != current {
                current = p.table;
                pb.set_message(p.table);
                pb.set_length(p.total);
            }
            pb.set_position(p.done);
        })
        .await?;
    pb.finish_and_clear();
    if let Some(a) = cw.auditor() {
        let detail = format!(
            "keys rotate to v{}: {} rows re-sealed{}",
            report.version,
            report.rows,
            if report.complete {
                ""
            } else {
                " (stopped early)"
            }
        );
        a.record(vec![draft(
            "cli",
            Action::KeyRotation,
            "keyring",
            None,
            None,
            &detail,
        )])
        .await?;
        a.checkpoint().await?;
    }
    if !report.complete {
        bail!(
            "rotation to key version {} stopped after {} rows; run `tracedesk keys rotate` again to finish it",
            report.version,
            report.rows
        );
    }
    println!(
        "{} key version {}: {} rows re-sealed; every sealed field now uses v{}.",
        if report.resumed {
            "finished rotating to"
        } else {
            "rotated to new"
        },
        report.version,
        report.rows,
        report.version
    );
    println!(
        "The keyring {} now holds the new key: back it up again.",
        config.keyring_path().display()
    );
    Ok(())
}

async fn import_labs(
    config: &Config,
    csv: PathBuf,
    report: Option<PathBuf>,
    profile: Option<String>,
) -> anyhow::Result<()> {
    let profile = match &profile {
        None => tracedesk_casework::csv_profile::CsvProfile::default(),
        Some(name) => match config.csv_profiles.get(name) {
            Some(p) => p
                .profile(name)
                .map_err(|e| anyhow::anyhow!("csv_profiles.{name}: {e}"))?,
            None => anyhow::bail!(
                "no CSV profile `{name}` in the configuration (known: {})",
                if config.csv_profiles.is_empty() {
                    "none".to_string()
                } else {
                    config
                        .csv_profiles
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        },
    };
    // The file first: a wrong path must not leave a new database behind.
    let file =
        std::fs::File::open(&csv).with_context(|| format!("cannot open {}", csv.display()))?;
    let cw = runtime::open(config).await?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let report_path = report.unwrap_or_else(|| csv.with_extension("errors.csv"));
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&report_path)
            .with_context(|| format!("cannot create {}", report_path.display()))?,
    );
    let pb = bar(size, "importing");
    pb.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let summary = cw
        .cases()
        .import_lab_csv_as(&profile, std::io::BufReader::new(file), &mut out, |p| {
            pb.set_position(p.bytes)
        })
        .await?;
    pb.finish_and_clear();
    // The new persons are linked in the background: finish before leaving.
    cw.cases().linkage_settled().await;
    // Each recorded result was audited as its batch was written.
    if let Some(a) = cw.auditor() {
        a.checkpoint().await?;
    }
    println!(
        "{} lines read: {} recorded ({} new cases), {} duplicates, {} rejected",
        summary.lines,
        summary.recorded,
        summary.cases_created,
        summary.duplicates,
        summary.rejected
    );
    if !summary.ignored_columns.is_empty() {
        println!(
            "ignored unknown column(s): {}",
            summary.ignored_columns.join(", ")
        );
    }
    if summary.rejected > 0 {
        println!(
            "rejected lines, with line number, column and reason: {}",
            report_path.display()
        );
    } else {
        let _ = std::fs::remove_file(&report_path);
    }
    Ok(())
}
