//! Case work over a sealed store: lab intake, person matching, cases and
//! contacts, and key rotation.
//!
//! This is the only layer that sees plaintext PHI on its way in and out: it
//! validates input into domain types, seals every identifying field with the
//! vault, computes blind indexes for matching, and opens sealed rows into
//! views for the API. Everything below it holds only sealed bytes.

pub mod api_schema;
pub mod audit_journal;
pub mod auditor;
pub mod bulk_export;
pub mod clusters;
pub mod csv_import;
pub mod csv_profile;
pub mod dead_letters;
pub mod dispatch;
mod error;
mod inbox;
mod input;
mod intake;
pub mod investigation;
pub mod leader;
pub mod linelist;
pub mod linkage;
pub mod merge;
pub mod messaging;
pub mod monitoring;
pub mod questionnaire;
pub mod report;
pub mod retention;
pub mod rotation;
mod seal;
mod services;
mod signin;
mod staff;
pub mod synthetic;
pub mod task_feed;
pub mod templates;
mod views;
pub mod voice;

pub use error::{CaseworkError, ItemError};
pub use input::{CasePatch, ContactInput, ContactPatch, LAB_FIELDS, LabResultInput, PersonSearch};
pub use intake::{ContactOutcome, LabOutcomeView, PersonRef, page_limit, parse_cursor};
pub use investigation::{
    AttemptInput, AttemptView, ChainEdge, HouseholdInput, HouseholdMemberView, HouseholdView,
    NoteInput, NoteOn, NoteView, PointView, ReferralInput, ReferralPatch, ReferralView,
    TransferView, WarningView,
};
pub use services::{Cases, Messages, Retention, Staff};
pub use signin::TokenHolder;
pub use staff::{
    AuthPolicy, BREAK_GLASS_HOURS, BreakGlassView, NewUser, UserView, normalize_username,
};
pub use views::{CaseView, ContactView, LabResultView, Page, PersonView, TaskView};

use chrono::{DateTime, NaiveDate, Utc};
use std::sync::{Arc, RwLock};
use tracedesk_domain::DateRules;
use tracedesk_identity::Jurisdictions;
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
    /// Jurisdiction of records that arrive without one.
    pub default_jurisdiction: String,
    /// How many steps from a case contacts are named: 1 (the default) is
    /// the case's own contacts; 2 lets a contact name theirs.
    pub contact_depth: u32,
    /// When the program began: a positive older than this is flagged.
    pub program_start: NaiveDate,
    /// What messages say about the program, where they go from.
    pub messaging: messaging::MessagingSettings,
    /// Merge the pairs the matcher links as soon as intake finds them.
    pub merge_links: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            default_region: "US".into(),
            rules: DateRules::default(),
            default_jurisdiction: tracedesk_identity::jurisdiction::ROOT.into(),
            contact_depth: 1,
            program_start: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap_or_default(),
            messaging: messaging::MessagingSettings::default(),
            merge_links: false,
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
    /// The routing engine while this node leads routing (shared by clones).
    dispatch: Arc<RwLock<Option<Arc<dispatch::Dispatch>>>>,
    /// Woken when case work made tasks, so the leader routes them at once
    /// (it also looks every second, for tasks made on other nodes).
    new_tasks: Arc<tokio::sync::Notify>,
    /// The jurisdiction tree, cached: it changes rarely and is read on every
    /// access decision.
    pub(crate) jurisdictions: Arc<RwLock<Arc<Jurisdictions>>>,
    /// Inbound messages' group commit, started at the first one.
    inbox: Arc<std::sync::OnceLock<inbox::Inbox>>,
    /// Operators' template edits, cached (`templates`).
    pub(crate) templates: templates::Shared,
    /// Persons intake made, waiting to be linked (`linkage`).
    pub(crate) linker: Arc<linkage::Queue>,
}

impl Casework {
    pub fn new(store: Arc<dyn Store>, vault: Arc<Vault>, settings: Settings) -> Self {
        Self {
            store,
            vault,
            settings: Arc::new(settings),
            clock: Arc::new(Utc::now),
            auditor: None,
            dispatch: Arc::default(),
            new_tasks: Arc::default(),
            jurisdictions: Arc::new(RwLock::new(Arc::new(Jurisdictions::new([(
                tracedesk_identity::jurisdiction::ROOT.to_string(),
                None,
            )])))),
            inbox: Arc::default(),
            templates: templates::empty(),
            linker: Arc::default(),
        }
    }

    /// The inbound messages' writer (started on first use).
    pub(crate) fn inbox(&self) -> &inbox::Inbox {
        self.inbox
            .get_or_init(|| inbox::Inbox::start(self.store.clone(), self.auditor.clone()))
    }

    /// The cached jurisdiction tree.
    pub fn jurisdictions(&self) -> Arc<Jurisdictions> {
        match self.jurisdictions.read() {
            Ok(j) => j.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the jurisdiction tree from the store.
    pub async fn refresh_jurisdictions(&self) -> Result<(), CaseworkError> {
        let rows = self.store.list_jurisdictions().await?;
        let tree = Arc::new(Jurisdictions::new(
            rows.into_iter().map(|r| (r.code, r.parent)),
        ));
        match self.jurisdictions.write() {
            Ok(mut j) => *j = tree,
            Err(poisoned) => *poisoned.into_inner() = tree,
        }
        Ok(())
    }

    /// Attaches the audit log; the server and CLI always do.
    pub fn with_auditor(mut self, auditor: auditor::Auditor) -> Self {
        self.auditor = Some(auditor);
        self
    }

    pub fn auditor(&self) -> Option<&auditor::Auditor> {
        self.auditor.as_ref()
    }

    /// Routes tasks to workers through `dispatch`.
    pub fn with_dispatch(self, dispatch: Arc<dispatch::Dispatch>) -> Self {
        self.set_dispatch(Some(dispatch));
        self
    }

    /// Starts or stops routing on this node (leadership won or lost).
    pub fn set_dispatch(&self, dispatch: Option<Arc<dispatch::Dispatch>>) {
        *self.dispatch.write().unwrap_or_else(|p| p.into_inner()) = dispatch;
    }

    /// The routing engine, while this node leads routing.
    pub fn dispatch(&self) -> Option<Arc<dispatch::Dispatch>> {
        self.dispatch
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Tells the routing leader on this node that case work made tasks or
    /// took some back: its feed has work.
    pub(crate) fn tasks_made(&self) {
        self.new_tasks.notify_one();
    }

    /// Resolves when case work on this node has made tasks since the last call.
    pub async fn tasks_were_made(&self) {
        self.new_tasks.notified().await
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn vault(&self) -> &Arc<Vault> {
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
