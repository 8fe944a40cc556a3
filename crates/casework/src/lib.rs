//! Case work over a sealed store: lab intake, person matching, cases and
//! contacts, and key rotation.
//!
//! This is the only layer that sees plaintext PHI on its way in and out: it
//! validates input into domain types, seals every identifying field with the
//! vault, computes blind indexes for matching, and opens sealed rows into
//! views for the API. Everything below it holds only sealed bytes.

pub mod auditor;
pub mod csv_import;
mod error;
mod input;
mod intake;
pub mod rotation;
mod seal;
pub mod synthetic;
mod views;

pub use error::{CaseworkError, ItemError};
pub use input::{CasePatch, ContactInput, LabResultInput, PersonSearch};
pub use intake::{ContactOutcome, LabOutcomeView};
pub use views::{CaseView, ContactView, LabResultView, Page, PersonView};

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::Arc;
use tracedesk_domain::DateRules;
use tracedesk_store::Store;
use tracedesk_vault::Vault;

/// Supplies "now"; injectable so tests and the demo can pin time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Settings case work needs from configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Region for phone numbers written without a country code (ISO alpha-2).
    pub default_region: String,
    pub rules: DateRules,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_region: "US".into(),
            rules: DateRules::default(),
        }
    }
}

/// The case-work service shared by the HTTP server and the CLI.
#[derive(Clone)]
pub struct Casework {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) vault: Arc<Vault>,
    pub(crate) settings: Arc<Settings>,
    pub(crate) clock: Clock,
    pub(crate) auditor: Option<auditor::Auditor>,
}

impl Casework {
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>, settings: Settings) -> Self {
        Self {
            store,
            vault,
            settings: Arc::new(settings),
            clock: Arc::new(Utc::now),
            auditor: None,
        }
    }

    /// Attaches the audit log; the server and CLI always do.
    pub fn with_auditor(mut self, auditor: auditor::Auditor) -> Self {
        self.auditor = Some(auditor);
        self
    }

    pub fn auditor(&self) -> Option<&auditor::Auditor> {
        self.auditor.as_ref()
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn vault(&self) -> &Arc<Vault> {
        &self.vault
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    pub(crate) fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}
