//! Configuration: `tracedesk.toml`, overlaid by `TRACEDESK_*` environment
//! variables (nested keys with `__`: `[rules] quarantine_days` is
//! `TRACEDESK_RULES__QUARANTINE_DAYS`), overlaid by command-line flags. Any
//! key `X` can instead be given as `X_file`, a path whose content is the
//! value, for secrets mounted as files. Validated once, at start; an error
//! names the key, where it came from, and the problem.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tracedesk_domain::DateRules;

pub const ENV_PREFIX: &str = "TRACEDESK_";
/// Variables read by tests and CI, not by the server.
const NOT_CONFIG: &[&str] = &[
    "TRACEDESK_CONFIG",
    "TRACEDESK_TEST_",
    "TRACEDESK_REQUIRE_",
    "TRACEDESK_PG_",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the SQLite database and the generated keyring live.
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where other nodes reach this one (they forward routing requests to
    /// the node that leads routing); default `http(s)://<listen address>`.
    #[serde(deserialize_with = "opt_string")]
    pub advertise_url: Option<String>,
    /// `postgres://…` or `sqlite://…`; default: SQLite in `data_dir`.
    #[serde(deserialize_with = "opt_string")]
    pub database_url: Option<String>,
    /// The keyring file; default `data_dir/master.key` (created on first run).
    pub master_key_file: Option<PathBuf>,
    /// The audit log's checkpoint-signing key; default
    /// `data_dir/audit-signing.key` (created on first run).
    pub audit_key_file: Option<PathBuf>,
    /// Where every signed audit checkpoint is also appended (one JSON line
    /// each); default `data_dir/audit-anchor.jsonl`. Put it somewhere the
    /// database's users cannot write (another volume, an append-only mount,
    /// a log shipper's input): `tracedesk audit verify` then catches a log
    /// that was truncated or rewritten with its checkpoints.
    pub audit_anchor_file: Option<PathBuf>,
    /// Journal audit entries in `data_dir/audit-journal` before they enter the
    /// database log (see docs/security.md); default on with SQLite, off with
    /// PostgreSQL, whose nodes may not keep their local disk.
    pub audit_journal: Option<bool>,
    /// Region for phone numbers written without a country code.
    #[serde(deserialize_with = "string")]
    pub default_region: String,
    /// Log filter (`info`, `debug`, `tracedesk=debug,sqlx=warn`, …).
    #[serde(deserialize_with = "string")]
    pub log: String,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Most lab results in one request.
    pub max_batch: usize,
    /// Sustained requests per second per client address (0: no limit).
    pub rate_limit_per_second: u32,
    /// Requests a client may burst above the sustained rate.
    pub rate_limit_burst: u32,
    /// Public-health periods (CDC 2020 defaults).
    pub rules: DateRules,
    /// Jurisdiction of records that arrive without one.
    #[serde(deserialize_with = "string")]
    pub default_jurisdiction: String,
    /// How many steps from a case contacts are named: 1 (the case's own
    /// contacts) or 2 (their contacts too).
    pub contact_depth: u32,
    /// When the program began (YYYY-MM-DD): older positives are flagged.
    pub program_start: chrono::NaiveDate,
    /// Staff sign-in: sessions, throttling, cookies.
    pub auth: AuthConfig,
    /// What messages say about the program and where they go from.
    pub messaging: MessagingConfig,
    /// The Twilio account, when `messaging.carrier = "twilio"`.
    pub twilio: TwilioSection,
    /// The mail server emails go through; none: email goes to the sandbox
    /// (with the sandbox carrier) or is not offered.
    pub smtp: SmtpSection,
    /// Days after closure before personal data is purged.
    pub retention: tracedesk_casework::retention::RetentionPolicy,
    /// PEM certificate chain: serve HTTPS (with `tls_key_file`).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
    /// The routing workspace (activities, channels, queues, workflow, task
    /// types) as JSON (`.json`) or TOML; default: the public-health one.
    pub routing_workspace_file: Option<PathBuf>,
    /// Electronic lab reports over MLLP.
    pub elr: ElrSection,
    /// Record linkage.
    pub linkage: LinkageSection,
    /// Layouts of lab CSV files (`import labs --profile NAME`).
    pub csv_profiles: BTreeMap<String, CsvProfileSection>,
}

/// `[csv_profiles.NAME]`: one testing site's lab CSV layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CsvProfileSection {
    /// `utf-8` (a byte-order mark is fine) or `windows-1252`.
    pub encoding: String,
    /// One character; `tab` for tabs.
    pub delimiter: String,
    /// How numeric dates read: `ymd`, `mdy` (11/05/2026 is November 5)
    /// or `dmy`.
    pub date_order: String,
    /// Lab field = the header that holds it.
    pub columns: BTreeMap<String, String>,
}

impl Default for CsvProfileSection {
    fn default() -> Self {
        Self {
            encoding: "utf-8".into(),
            delimiter: ",".into(),
            date_order: "ymd".into(),
            columns: BTreeMap::new(),
        }
    }
}

impl CsvProfileSection {
    /// The profile, or why this section is not one.
    pub fn profile(
        &self,
        name: &str,
    ) -> Result<tracedesk_casework::csv_profile::CsvProfile, String> {
        use tracedesk_casework::csv_profile::{CsvProfile, DateOrder, Encoding};
        let encoding =
            Encoding::parse(&self.encoding).ok_or("encoding must be utf-8 or windows-1252")?;
        let date_order =
            DateOrder::parse(&self.date_order).ok_or("date_order must be ymd, mdy or dmy")?;
        let delimiter = match self.delimiter.as_str() {
            "tab" | "\t" => b'\t',
            d if d.len() == 1 && d.is_ascii() && d != "\"" => d.as_bytes()[0],
            _ => return Err("delimiter must be one character (or tab)".into()),
        };
        for field in self.columns.keys() {
            if !tracedesk_casework::LAB_FIELDS
                .iter()
                .any(|(n, _)| n == field)
            {
                return Err(format!(
                    "columns: `{field}` is not a lab field (see the README's lab columns)"
                ));
            }
        }
        Ok(CsvProfile {
            name: name.to_string(),
            encoding,
            delimiter,
            date_order: Some(date_order),
            columns: self
                .columns
                .iter()
                .map(|(f, h)| (f.clone(), h.clone()))
                .collect(),
        })
    }
}

/// `[linkage]`: record linkage.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkageSection {
    /// Merge the pairs the matcher links as the same person as soon as
    /// intake finds them, as `tracedesk linkage merge` does (default off:
    /// linked pairs are recorded, and merged by the job or a data manager).
    pub merge_links: bool,
}

/// `[elr]`: the MLLP listener labs send HL7 v2 lab reports to. Off unless
/// `mllp_listen` is set; only the `allow` list may connect.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElrSection {
    /// Address to listen on, e.g. `0.0.0.0:2575`; none: no listener.
    pub mllp_listen: Option<SocketAddr>,
    /// Addresses or ranges (`10.0.0.0/8`) that may connect; empty: this
    /// machine only.
    pub allow: Vec<String>,
    /// Jurisdiction the results are recorded in; default:
    /// `default_jurisdiction`.
    pub jurisdiction: Option<String>,
    /// PEM certificate chain: MLLP over TLS (with `tls_key_file`).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
}

impl ElrSection {
    /// The allow list, parsed (validated at start).
    pub fn allowed(&self) -> Vec<tracedesk_elr::listener::Allowed> {
        if self.allow.is_empty() {
            return tracedesk_elr::listener::Allowed::loopback();
        }
        self.allow.iter().filter_map(|a| a.parse().ok()).collect()
    }
}

/// `[twilio]`: the account messages go through when `messaging.carrier`
/// is `twilio`. `auth_token` is a secret (`auth_token_file` reads it from
/// a file) and never printed.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TwilioSection {
    pub account_sid: String,
    pub auth_token: String,
    /// Twilio's REST API (a local fake in tests).
    pub api_base_url: String,
    /// Where Twilio reaches tracedesk, as Twilio requests it
    /// (`https://tracedesk.example.org`): webhooks are checked against it.
    pub public_base_url: String,
    /// Send from this Messaging Service instead of `messaging.sender`.
    pub messaging_service_sid: Option<String>,
    /// Milliseconds one API call may take before its outcome is unknown.
    pub timeout_ms: u32,
}

impl Default for TwilioSection {
    fn default() -> Self {
        Self {
            account_sid: String::new(),
            auth_token: String::new(),
            api_base_url: "https://api.twilio.com".into(),
            public_base_url: String::new(),
            messaging_service_sid: None,
            timeout_ms: 10_000,
        }
    }
}

impl std::fmt::Debug for TwilioSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSection")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<secret>")
            .field("api_base_url", &self.api_base_url)
            .field("public_base_url", &self.public_base_url)
            .finish_non_exhaustive()
    }
}

/// `[smtp]`: the department's mail server. Set `host` to send email over
/// it; `password` is a secret (`password_file`) and never printed.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSection {
    /// Empty: no SMTP.
    pub host: String,
    /// 587 for STARTTLS, 465 for TLS.
    pub port: u16,
    /// `starttls` (the default), `tls`, or `none` (a relay on this machine
    /// only).
    pub security: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The sender: `Name <address>` or an address.
    pub from: String,
    /// Every email's subject; default: the program's name.
    pub subject: Option<String>,
    /// A CA certificate (PEM file) to trust besides the public roots.
    pub ca_cert_file: Option<PathBuf>,
    /// Milliseconds one send may take before its outcome is unknown.
    pub timeout_ms: u32,
}

impl Default for SmtpSection {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: "starttls".into(),
            username: None,
            password: None,
            from: String::new(),
            subject: None,
            ca_cert_file: None,
            timeout_ms: 30_000,
        }
    }
}

impl std::fmt::Debug for SmtpSection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("password", &self.password.as_ref().map(|_| "<secret>"))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpSection {
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }
}

impl Config {
    /// What messages say and which channels can be sent, from
    /// `[messaging]` and `[smtp]`.
    pub fn messaging_settings(&self) -> tracedesk_casework::messaging::MessagingSettings {
        let m = self.messaging.settings();
        tracedesk_casework::messaging::MessagingSettings {
            email: m.email || self.smtp.enabled(),
            report_base_url: if m.report_base_url.trim().is_empty() {
                format!("http://{}", self.listen)
            } else {
                m.report_base_url.clone()
            },
            ..m
        }
    }
}

/// `[messaging]`: what texts say about the program, where they go from,
/// and the carrier: `sandbox` (the default; nothing leaves the process) or
/// `twilio` (`[twilio]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagingConfig {
    /// `sandbox` or `twilio`.
    pub carrier: String,
    /// The program's name, as messages open with it.
    pub program_name: String,
    /// The number people are asked to call back.
    pub callback_number: String,
    /// The number (or Messaging Service) texts go from.
    pub sender: String,
    /// Seconds a queued message stays worth sending (default 36000, as
    /// Twilio's validity period).
    pub validity_seconds: u32,
    /// Text a newly named contact the notification at once (default off).
    pub notify_contacts: bool,
    /// The sender's number type: `long_code` (1 segment a second),
    /// `toll_free` (3) or `short_code` (100); paces Twilio sends.
    pub sender_type: String,
    /// Segments a second for the sender instead of its type's rate (0: the
    /// type's).
    pub sender_rate: u32,
    /// Segments a second for the whole account (Twilio: 2,000).
    pub account_cap: u32,
    /// Seconds a dispatcher holds a claimed message before another node
    /// may take it over (as uncertain, asking the provider first): longer
    /// than any one send. Default 60.
    pub lease_seconds: u32,
    /// Send daily check-ins to contacts in monitoring (default on).
    pub checkins: bool,
    /// A newly monitored contact's check-in window: `morning` (8–12),
    /// `afternoon` (12–16, the default) or `evening` (16–19), local.
    pub checkin_window: String,
    /// A newly monitored contact's time zone (IANA name, default
    /// `America/New_York`).
    pub time_zone: String,
    /// Record click-to-call calls, announced to both people first
    /// (default off). Recordings stay with the carrier (Twilio).
    pub record_calls: bool,
    /// Where people open their self-report links
    /// (`https://report.example.org`); default: `http://{listen}`.
    pub report_base_url: String,
    /// With the sandbox carrier: simulated people answer at the sandbox
    /// phones (for demos and simulations).
    pub sandbox_personas: bool,
}

impl Default for MessagingConfig {
    fn default() -> Self {
        let d = tracedesk_casework::messaging::MessagingSettings::default();
        Self {
            carrier: "sandbox".into(),
            program_name: d.program_name,
            callback_number: d.callback_number,
            sender: d.sender,
            validity_seconds: 36_000,
            notify_contacts: d.notify_contacts,
            sender_type: "long_code".into(),
            sender_rate: 0,
            account_cap: 2000,
            lease_seconds: 60,
            checkins: true,
            checkin_window: d.checkin_window,
            time_zone: d.time_zone,
            record_calls: d.record_calls,
            report_base_url: String::new(),
            sandbox_personas: false,
        }
    }
}

impl MessagingConfig {
    /// (sender, account) segments a second for Twilio sends; the sandbox
    /// is not paced.
    pub fn pace(&self) -> Option<(f64, f64)> {
        let kind = tracedesk_comms::throughput::NumberType::parse(&self.sender_type)?;
        let rate = if self.sender_rate > 0 {
            f64::from(self.sender_rate)
        } else {
            kind.default_rate()
        };
        (self.carrier == "twilio").then_some((rate, f64::from(self.account_cap)))
    }

    pub fn settings(&self) -> tracedesk_casework::messaging::MessagingSettings {
        tracedesk_casework::messaging::MessagingSettings {
            program_name: self.program_name.clone(),
            callback_number: self.callback_number.clone(),
            sender: self.sender.clone(),
            validity: chrono::Duration::seconds(i64::from(self.validity_seconds)),
            notify_contacts: self.notify_contacts,
            checkin_window: self.checkin_window.clone(),
            time_zone: self.time_zone.clone(),
            // The sandbox takes email; with Twilio only `[smtp]` does
            // (`Config::messaging_settings`).
            email: self.carrier == "sandbox",
            record_calls: self.record_calls,
            report_base_url: self.report_base_url.clone(),
        }
    }
}

/// `[auth]`: session lifetimes and login throttling.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Idle logoff, in seconds (default 900 = 15 minutes).
    pub session_idle_seconds: u32,
    /// Absolute session lifetime, in seconds (default 43200 = 12 hours).
    pub session_absolute_seconds: u32,
    /// Consecutive failures that lock an account until an admin unlocks it.
    pub lockout_after: u32,
    /// Failures before sign-in attempts are delayed.
    pub free_failures: u32,
    /// First delay in milliseconds; doubles with each further failure (at most 5 minutes).
    pub base_delay_ms: u32,
    /// Mark cookies `Secure`: set when served over TLS or behind a TLS proxy.
    pub secure_cookies: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle_seconds: 900,
            session_absolute_seconds: 43_200,
            lockout_after: 10,
            free_failures: 3,
            base_delay_ms: 1000,
            secure_cookies: false,
        }
    }
}

impl AuthConfig {
    pub fn policy(&self) -> tracedesk_casework::AuthPolicy {
        use chrono::Duration;
        use tracedesk_identity::session::SessionPolicy;
        use tracedesk_identity::throttle::ThrottlePolicy;
        tracedesk_casework::AuthPolicy {
            session: SessionPolicy {
                idle: Duration::seconds(i64::from(self.session_idle_seconds)),
                absolute: Duration::seconds(i64::from(self.session_absolute_seconds)),
            },
            throttle: ThrottlePolicy {
                free_failures: self.free_failures,
                base_delay: Duration::milliseconds(i64::from(self.base_delay_ms)),
                max_delay: Duration::minutes(5),
                lockout_after: self.lockout_after,
            },
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./tracedesk-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            advertise_url: None,
            database_url: None,
            master_key_file: None,
            audit_key_file: None,
            audit_journal: None,
            audit_anchor_file: None,
            default_region: "US".into(),
            log: "info,sqlx=warn".into(),
            body_limit_bytes: 8 * 1024 * 1024,
            max_batch: 10_000,
            rate_limit_per_second: 200,
            rate_limit_burst: 400,
            rules: DateRules::default(),
            default_jurisdiction: "root".into(),
            contact_depth: 1,
            program_start: chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
            auth: AuthConfig::default(),
            messaging: MessagingConfig::default(),
            twilio: TwilioSection::default(),
            smtp: SmtpSection::default(),
            retention: Default::default(),
            tls_cert_file: None,
            tls_key_file: None,
            routing_workspace_file: None,
            elr: ElrSection::default(),
            linkage: LinkageSection::default(),
            csv_profiles: BTreeMap::new(),
        }
    }
}

/// Numbers from the environment arrive as TOML integers; string keys accept them.
fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum S {
        S(String),
        I(i64),
    }
    Ok(match S::deserialize(d)? {
        S::S(s) => s,
        S::I(i) => i.to_string(),
    })
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string(d).map(Some)
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Toml { path: PathBuf, message: String },
    #[error("config key `{key}` (from {origin}): {problem}")]
    Key {
        key: String,
        origin: String,
        problem: String,
    },
}

/// Command-line overrides.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
}

/// Loads and validates the configuration.
pub fn load(
    file: Option<&Path>,
    env: &[(String, String)],
    flags: &Overrides,
) -> Result<Config, ConfigError> {
    let mut table = toml::Table::new();
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let default_file = PathBuf::from("tracedesk.toml");
    let file = file
        .map(Path::to_path_buf)
        .or_else(|| default_file.exists().then_some(default_file));
    if let Some(path) = &file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        table = text.parse::<toml::Table>().map_err(|e| ConfigError::Toml {
            path: path.clone(),
            message: match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!("line {line}, column {column}: {}", e.message())
                }
                None => e.message().to_string(),
            },
        })?;
        for k in table.keys() {
            sources.insert(k.clone(), path.display().to_string());
        }
    }
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        if NOT_CONFIG.iter().any(|p| name.starts_with(p)) || rest.is_empty() {
            continue;
        }
        let path: Vec<String> = rest
            .to_ascii_lowercase()
            .split("__")
            .map(str::to_string)
            .collect();
        set_path(&mut table, &path, env_value(value)).map_err(|problem| ConfigError::Key {
            key: path.join("."),
            origin: name.clone(),
            problem,
        })?;
        sources.insert(path.join("."), name.clone());
    }
    if let Some(d) = &flags.data_dir {
        table.insert(
            "data_dir".into(),
            toml::Value::String(d.display().to_string()),
        );
        sources.insert("data_dir".into(), "--data-dir".into());
    }
    if let Some(l) = &flags.listen {
        table.insert("listen".into(), toml::Value::String(l.clone()));
        sources.insert("listen".into(), "--listen".into());
    }
    expand_files(&mut table, "", &sources)?;
    let source_of = |key: &str| {
        let top = key.split('.').next().unwrap_or(key);
        sources
            .get(key)
            .or_else(|| sources.get(top))
            .cloned()
            .unwrap_or_else(|| "defaults".into())
    };
    let config: Config =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            ConfigError::Key {
                origin: source_of(&key),
                key,
                problem: e.inner().message().to_string(),
            }
        })?;
    validate(&config, &source_of)?;
    Ok(config)
}

fn env_value(raw: &str) -> toml::Value {
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_string()),
    }
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    match path {
        [] => Err("empty key".into()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [head, rest @ ..] => {
            let entry = table
                .entry(head.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(format!("`{head}` is not a section")),
            }
        }
    }
}

/// Settings whose value is a file path, not a secret to read from a file.
const PATH_SETTINGS: &[&str] = &[
    "master_key_file",
    "audit_key_file",
    "audit_anchor_file",
    "tls_cert_file",
    "tls_key_file",
    "routing_workspace_file",
    "smtp.ca_cert_file",
    "elr.tls_cert_file",
    "elr.tls_key_file",
];

/// Replaces every `X_file = PATH` (except the [`PATH_SETTINGS`]) by
/// `X = <content of PATH>`.
fn expand_files(
    table: &mut toml::Table,
    prefix: &str,
    sources: &BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    let keys: Vec<String> = table.keys().cloned().collect();
    for k in keys {
        let full = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let Some(toml::Value::Table(t)) = table.get_mut(&k) {
            expand_files(t, &full, sources)?;
            continue;
        }
        let Some(base) = k.strip_suffix("_file") else {
            continue;
        };
        if PATH_SETTINGS.contains(&full.as_str()) {
            continue;
        }
        let origin = sources
            .get(&full)
            .cloned()
            .unwrap_or_else(|| "config".into());
        let Some(toml::Value::String(path)) = table.remove(&k) else {
            return Err(ConfigError::Key {
                key: full,
                origin,
                problem: "must be a file path".into(),
            });
        };
        let content = std::fs::read_to_string(&path).map_err(|e| ConfigError::Key {
            key: full.clone(),
            origin: origin.clone(),
            problem: format!("cannot read {path}: {e}"),
        })?;
        table.insert(
            base.to_string(),
            toml::Value::String(content.trim_end_matches(['\n', '\r']).to_string()),
        );
    }
    Ok(())
}

fn validate(c: &Config, source_of: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
    let fail = |key: &str, problem: String| ConfigError::Key {
        key: key.into(),
        origin: source_of(key),
        problem,
    };
    if let Some(url) = &c.database_url
        && !(url.starts_with("postgres://")
            || url.starts_with("postgresql://")
            || url.starts_with("sqlite:"))
    {
        return Err(fail(
            "database_url",
            "must start with postgres://, postgresql:// or sqlite:".into(),
        ));
    }
    if c.default_region
        .parse::<phonenumber::country::Id>()
        .is_err()
    {
        return Err(fail(
            "default_region",
            "must be an ISO 3166 alpha-2 country code such as US".into(),
        ));
    }
    if c.body_limit_bytes < 1024 {
        return Err(fail("body_limit_bytes", "must be at least 1024".into()));
    }
    if !(1..=100_000).contains(&c.max_batch) {
        return Err(fail("max_batch", "must be between 1 and 100000".into()));
    }
    c.rules
        .validate()
        .map_err(|e| fail("rules", e.to_string()))?;
    let m = &c.messaging;
    for (key, value) in [
        ("messaging.program_name", &m.program_name),
        ("messaging.callback_number", &m.callback_number),
        ("messaging.sender", &m.sender),
    ] {
        if value.trim().is_empty() {
            return Err(fail(key, "must not be empty".into()));
        }
    }
    // Every text opens with the program's name: it must not say what a
    // text may not.
    if let Err(e) = tracedesk_comms::templates::check("sms", &m.program_name) {
        return Err(fail("messaging.program_name", e.to_string()));
    }
    match m.carrier.as_str() {
        "sandbox" => {}
        "twilio" => {
            let t = &c.twilio;
            if !(t.account_sid.starts_with("AC") && t.account_sid.len() == 34) {
                return Err(fail(
                    "twilio.account_sid",
                    "must be an account SID (AC and 32 hex digits)".into(),
                ));
            }
            if t.auth_token.trim().is_empty() {
                return Err(fail(
                    "twilio.auth_token",
                    "must be set (or twilio.auth_token_file)".into(),
                ));
            }
            for (key, url) in [
                ("twilio.api_base_url", &t.api_base_url),
                ("twilio.public_base_url", &t.public_base_url),
            ] {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(fail(key, "must be an http(s):// URL".into()));
                }
            }
            if !(100..=120_000).contains(&t.timeout_ms) {
                return Err(fail(
                    "twilio.timeout_ms",
                    "must be between 100 and 120000".into(),
                ));
            }
        }
        _ => {
            return Err(fail(
                "messaging.carrier",
                "must be sandbox or twilio".into(),
            ));
        }
    }
    let report = &m.report_base_url;
    let is_url = report.starts_with("https://") || report.starts_with("http://");
    if !report.is_empty() && !is_url {
        return Err(fail(
            "messaging.report_base_url",
            "must be an http(s):// URL".into(),
        ));
    }
    let smtp = &c.smtp;
    if smtp.enabled() {
        let Some(security) = tracedesk_smtp::Security::parse(&smtp.security) else {
            return Err(fail(
                "smtp.security",
                "must be starttls, tls or none".into(),
            ));
        };
        if security == tracedesk_smtp::Security::None && !tracedesk_smtp::is_local(&smtp.host) {
            return Err(fail(
                "smtp.security",
                "none is allowed only for a relay on this machine (localhost); use starttls or tls"
                    .into(),
            ));
        }
        if smtp.port == 0 {
            return Err(fail("smtp.port", "must be a port number".into()));
        }
        if smtp.from.trim().is_empty() {
            return Err(fail("smtp.from", "must be set when smtp.host is".into()));
        }
        if smtp.username.is_some() != smtp.password.is_some() {
            return Err(fail(
                "smtp.password",
                "smtp.username and smtp.password (or password_file) go together".into(),
            ));
        }
        if let Some(subject) = &smtp.subject
            && let Err(e) = tracedesk_comms::templates::check("sms", subject)
        {
            return Err(fail("smtp.subject", e.to_string()));
        }
        if !(100..=300_000).contains(&smtp.timeout_ms) {
            return Err(fail(
                "smtp.timeout_ms",
                "must be between 100 and 300000".into(),
            ));
        }
    }
    if tracedesk_comms::throughput::NumberType::parse(&m.sender_type).is_none() {
        return Err(fail(
            "messaging.sender_type",
            "must be long_code, toll_free or short_code".into(),
        ));
    }
    if tracedesk_comms::windows::Window::parse(&m.checkin_window).is_none() {
        return Err(fail(
            "messaging.checkin_window",
            "must be morning, afternoon or evening".into(),
        ));
    }
    if tracedesk_comms::windows::zone(&m.time_zone).is_none() {
        return Err(fail(
            "messaging.time_zone",
            "must be an IANA time zone name such as America/New_York".into(),
        ));
    }
    if !(2..=3600).contains(&m.lease_seconds) {
        return Err(fail(
            "messaging.lease_seconds",
            "must be between 2 and 3600".into(),
        ));
    }
    if m.account_cap == 0 {
        return Err(fail("messaging.account_cap", "must be at least 1".into()));
    }
    if !(60..=259_200).contains(&m.validity_seconds) {
        return Err(fail(
            "messaging.validity_seconds",
            "must be between 60 and 259200 (3 days)".into(),
        ));
    }
    if !(1..=3).contains(&c.contact_depth) {
        return Err(fail(
            "contact_depth",
            "must be 1 (a case's own contacts), 2 or 3".into(),
        ));
    }
    if !tracedesk_identity::jurisdiction::valid_code(&c.default_jurisdiction) {
        return Err(fail(
            "default_jurisdiction",
            "must be a jurisdiction code (lower-case letters, digits, - and _)".into(),
        ));
    }
    let a = &c.auth;
    if !(60..=86_400).contains(&a.session_idle_seconds) {
        return Err(fail(
            "auth.session_idle_seconds",
            "must be between 60 and 86400".into(),
        ));
    }
    if a.session_absolute_seconds < a.session_idle_seconds
        || a.session_absolute_seconds > 7 * 86_400
    {
        return Err(fail(
            "auth.session_absolute_seconds",
            "must be at least the idle limit and at most 604800 (7 days)".into(),
        ));
    }
    for (name, p) in &c.csv_profiles {
        if let Err(e) = p.profile(name) {
            return Err(fail(&format!("csv_profiles.{name}"), e));
        }
    }
    let elr = &c.elr;
    if elr.tls_cert_file.is_some() != elr.tls_key_file.is_some() {
        return Err(fail(
            "elr.tls_cert_file",
            "elr.tls_cert_file and elr.tls_key_file go together".into(),
        ));
    }
    for a in &elr.allow {
        if let Err(e) = a.parse::<tracedesk_elr::listener::Allowed>() {
            return Err(fail("elr.allow", e.to_string()));
        }
    }
    if let Some(j) = &elr.jurisdiction
        && !tracedesk_identity::jurisdiction::valid_code(j)
    {
        return Err(fail(
            "elr.jurisdiction",
            "must be a jurisdiction code (lower-case letters, digits, - and _)".into(),
        ));
    }
    if c.tls_cert_file.is_some() != c.tls_key_file.is_some() {
        return Err(fail(
            "tls_cert_file",
            "tls_cert_file and tls_key_file go together".into(),
        ));
    }
    let r = &c.retention;
    for (key, days) in [
        ("retention.case_days", r.case_days),
        ("retention.contact_days", r.contact_days),
        ("retention.lab_days", r.lab_days),
    ] {
        if !(1..=3650).contains(&days) {
            return Err(fail(key, "must be between 1 and 3650 days".into()));
        }
    }
    if !(3..=100).contains(&a.lockout_after) {
        return Err(fail(
            "auth.lockout_after",
            "must be between 3 and 100".into(),
        ));
    }
    tracing_subscriber::EnvFilter::try_new(&c.log).map_err(|e| fail("log", e.to_string()))?;
    Ok(())
}

impl Config {
    pub fn keyring_path(&self) -> PathBuf {
        self.master_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(tracedesk_vault::KEYRING_FILE_NAME))
    }

    pub fn audit_key_path(&self) -> PathBuf {
        self.audit_key_file.clone().unwrap_or_else(|| {
            self.data_dir
                .join(tracedesk_store::audit::AUDIT_KEY_FILE_NAME)
        })
    }

    /// Where signed audit checkpoints are anchored.
    pub fn audit_anchor_path(&self) -> PathBuf {
        self.audit_anchor_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("audit-anchor.jsonl"))
    }

    /// Where `serve` journals audit entries, if it does.
    pub fn audit_journal_dir(&self) -> Option<PathBuf> {
        let postgres = self
            .database_url
            .as_deref()
            .is_some_and(|u| u.starts_with("postgres"));
        self.audit_journal
            .unwrap_or(!postgres)
            .then(|| self.data_dir.join("audit-journal"))
    }

    /// The routing workspace, read and checked (every expression parsed,
    /// every name resolved); errors name the file and the place in it.
    pub fn routing_workspace(&self) -> anyhow::Result<tracedesk_routing::Workspace> {
        let Some(path) = &self.routing_workspace_file else {
            return Ok(tracedesk_routing::Workspace::public_health());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("routing_workspace_file {}: {e}", path.display()))?;
        let ws: tracedesk_routing::Workspace = if path.extension().is_some_and(|x| x == "json") {
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{e}"))
        } else {
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{e}"))
        }
        .map_err(|e| anyhow::anyhow!("routing_workspace_file {}: {e}", path.display()))?;
        tracedesk_routing::Engine::new(&ws)
            .map_err(|e| anyhow::anyhow!("routing_workspace_file {}: {e}", path.display()))?;
        Ok(ws)
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("tracedesk.db")
    }

    /// Where the database is, without any password.
    pub fn database_label(&self) -> String {
        match &self.database_url {
            Some(u) if u.starts_with("postgres") => {
                let host = u.split('@').next_back().unwrap_or("");
                format!("PostgreSQL at {host}")
            }
            Some(u) => format!("SQLite at {u}"),
            None => format!("SQLite at {}", self.sqlite_path().display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = load(None, &[], &Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./tracedesk-data"));
        assert_eq!(c.rules.quarantine_days, 14);
    }

    #[test]
    fn file_env_and_flags_overlay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("t.toml");
        std::fs::write(
            &f,
            "listen = \"127.0.0.1:9000\"\ndefault_region = \"GB\"\n[rules]\nquarantine_days = 10\n",
        )
        .unwrap();
        let secret = dir.path().join("db-url");
        std::fs::write(&secret, "postgres://u:pw@db/tracedesk\n").unwrap();
        let c = load(
            Some(&f),
            &env(&[
                ("TRACEDESK_RULES__ISOLATION_DAYS", "5"),
                ("TRACEDESK_DEFAULT_REGION", "FR"),
                ("TRACEDESK_DATABASE_URL_FILE", secret.to_str().unwrap()),
                ("TRACEDESK_TEST_DATABASE_URL", "ignored"),
                ("OTHER", "x"),
            ]),
            &Overrides {
                listen: Some("127.0.0.1:7000".into()),
                data_dir: None,
            },
        )
        .unwrap();
        assert_eq!(c.listen.port(), 7000);
        assert_eq!(c.default_region, "FR");
        assert_eq!(c.rules.quarantine_days, 10);
        assert_eq!(c.rules.isolation_days, 5);
        assert_eq!(
            c.database_url.as_deref(),
            Some("postgres://u:pw@db/tracedesk")
        );
        assert_eq!(c.database_label(), "PostgreSQL at db/tracedesk");
    }

    #[test]
    fn errors_name_key_and_source() {
        let e = load(
            None,
            &env(&[("TRACEDESK_LISTEN", "nowhere")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`listen`") && e.contains("TRACEDESK_LISTEN"),
            "{e}"
        );
        let e = load(
            None,
            &env(&[("TRACEDESK_LISTNE", "x")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("unknown field `listne`"), "{e}");
        let e = load(
            None,
            &env(&[("TRACEDESK_RULES__QUARANTINE_DAYS", "400")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("quarantine_days must be between"), "{e}");
        // The program's name opens every text: it may not disclose.
        let e = load(
            None,
            &env(&[("TRACEDESK_MESSAGING__PROGRAM_NAME", "COVID Response")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("messaging.program_name") && e.contains("covid"),
            "{e}"
        );
        let ok = load(
            None,
            &env(&[("TRACEDESK_MESSAGING__PROGRAM_NAME", "NYC Test & Trace")]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(ok.messaging.settings().program_name, "NYC Test & Trace");
        // Twilio needs its account, and the token never shows.
        let e = load(
            None,
            &env(&[("TRACEDESK_MESSAGING__CARRIER", "twilio")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("twilio.account_sid"), "{e}");
        let ok = load(
            None,
            &env(&[
                ("TRACEDESK_MESSAGING__CARRIER", "twilio"),
                (
                    "TRACEDESK_TWILIO__ACCOUNT_SID",
                    "AC0123456789abcdef0123456789abcdef",
                ),
                ("TRACEDESK_TWILIO__AUTH_TOKEN", "s3cret-token-value"),
                (
                    "TRACEDESK_TWILIO__PUBLIC_BASE_URL",
                    "https://tracedesk.example.org",
                ),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert!(!format!("{ok:?}").contains("s3cret-token-value"));
        // With Twilio, email is offered only when SMTP is set up.
        assert!(!ok.messaging_settings().email);
        // SMTP: plain only to this machine, a sender, credentials in pairs;
        // the password never shows.
        let smtp = |extra: &[(&str, &str)]| {
            let mut vars = vec![
                ("TRACEDESK_SMTP__HOST", "mail.example.org"),
                ("TRACEDESK_SMTP__FROM", "Health <notify@example.org>"),
            ];
            vars.extend_from_slice(extra);
            load(None, &env(&vars), &Overrides::default())
        };
        let e = smtp(&[("TRACEDESK_SMTP__SECURITY", "none")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("smtp.security") && e.contains("localhost"),
            "{e}"
        );
        let e = smtp(&[("TRACEDESK_SMTP__USERNAME", "u")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("smtp.password"), "{e}");
        let e = smtp(&[("TRACEDESK_SMTP__SUBJECT", "Your COVID result")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("smtp.subject"), "{e}");
        let ok = smtp(&[
            ("TRACEDESK_SMTP__USERNAME", "u"),
            ("TRACEDESK_SMTP__PASSWORD", "mail-s3cret"),
        ])
        .unwrap();
        assert!(ok.messaging_settings().email);
        assert!(!format!("{ok:?}").contains("mail-s3cret"));
        let e = load(
            None,
            &env(&[("TRACEDESK_SMTP__HOST", "mail.example.org")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("smtp.from"), "{e}");
        let e = load(
            None,
            &env(&[("TRACEDESK_DATABASE_URL", "mysql://x")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("database_url"), "{e}");
        let e = load(
            None,
            &env(&[("TRACEDESK_DEFAULT_REGION", "ZZ")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("default_region"), "{e}");
        let e = load(
            None,
            &env(&[("TRACEDESK_DATABASE_URL_FILE", "/nonexistent/secret")]),
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("database_url_file") && e.contains("TRACEDESK_DATABASE_URL_FILE"),
            "{e}"
        );
    }
}
