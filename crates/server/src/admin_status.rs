//! What an administrator checks: the encryption keys (the current version,
//! rows a rotation has yet to rewrap), the audit log (its signing key, and
//! `audit verify` run from the browser with its progress), the retention
//! policy this server purges by, and the questionnaires it asks. Root
//! administrators only (`needs::TABLE`); starting a check is audited.
//!
//! One check runs at a time per server; its progress is kept here and read
//! by the page every second until it ends.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, Call, NoBody};
use crate::pages::{html, staff_chrome};
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use std::sync::Mutex;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{AdminStatusPage, AuditVerifyPart};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/status", get(status))
        .route("/admin/audit/verify", get(progress).post(start))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// The audit log check: how far it got, and how it ended.
#[derive(Default)]
pub struct VerifyRun {
    running: bool,
    seen: u64,
    /// `Ok(line)` or `Err(why)` once it ends.
    outcome: Option<Result<String, String>>,
}

pub type VerifyState = Mutex<VerifyRun>;

/// The part the page shows for the check as it stands.
fn part_of(s: &AppState) -> (bool, bool, String) {
    let Ok(v) = s.verify.lock() else {
        return (false, true, String::new());
    };
    match (&v.outcome, v.running) {
        (_, true) => (
            true,
            false,
            t().with("admin-verify-running", &[("n", &v.seen.to_string())]),
        ),
        (Some(Ok(line)), false) => (false, false, line.clone()),
        (Some(Err(why)), false) => (
            false,
            true,
            t().with("admin-verify-broken", &[("why", why)]),
        ),
        (None, false) => (false, false, String::new()),
    }
}

async fn status(call: Call) -> Result<Response, ApiError> {
    let s = &call.s;
    let (version, behind) = s.cw.retention().key_status().await?;
    let keys = vec![
        (t().get("admin-keys-current"), version.to_string()),
        (t().get("admin-keys-behind"), behind.to_string()),
    ];
    let audit = match s.cw.auditor() {
        Some(a) => vec![(t().get("admin-audit-key"), a.public_key_hex())],
        None => vec![(t().get("admin-audit"), t().get("admin-audit-off"))],
    };
    let days = |d: u32| t().with("admin-retention-days", &[("days", &d.to_string())]);
    let retention = match &s.retention {
        Some(p) => vec![
            (t().get("admin-retention-case"), days(p.case_days)),
            (t().get("admin-retention-contact"), days(p.contact_days)),
            (t().get("admin-retention-lab"), days(p.lab_days)),
        ],
        None => vec![(t().get("admin-retention"), t().get("admin-retention-off"))],
    };
    let cases = s.cw.cases();
    let questionnaires = cases
        .questionnaires()
        .into_iter()
        .map(|q| {
            let questions = cases
                .questionnaire(&q.id)
                .map_or(0, |d| d.sections.iter().map(|s| s.questions.len()).sum());
            (q.id, q.version.to_string(), questions.to_string())
        })
        .collect();
    let (running, failed, line) = part_of(s);
    Ok(html(AdminStatusPage {
        t: t(),
        chrome: staff_chrome(&call, "admin-title", "/admin/users"),
        tab: "/admin/status",
        keys,
        audit,
        retention,
        questionnaires,
        running,
        failed,
        line,
    }))
}

/// Starts the audit log check in the background (unless one is running)
/// and answers its progress.
async fn start(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let s = call.s.clone();
    let Some(auditor) = s.cw.auditor().cloned() else {
        return Err(ApiError::invalid(
            "audit",
            "the audit log is not kept on this server",
        ));
    };
    let fresh = match s.verify.lock() {
        Ok(mut v) if !v.running => {
            *v = VerifyRun {
                running: true,
                ..VerifyRun::default()
            };
            true
        }
        _ => false,
    };
    if fresh {
        let state = s.clone();
        tokio::spawn(async move {
            let options = tracedesk_casework::auditor::VerifyOptions {
                public: None,
                anchor: None,
                limits: Default::default(),
            };
            let progress = |n: u64| {
                if let Ok(mut v) = state.verify.lock() {
                    v.seen = n;
                }
            };
            let outcome = match auditor.verify_with(&options, progress).await {
                Ok(Ok(sum)) => Ok(t().with(
                    "admin-verify-ok",
                    &[
                        ("entries", &sum.entries.to_string()),
                        ("checkpoints", &sum.checkpoints.to_string()),
                        ("head", &hex::encode(sum.last_hash)),
                    ],
                )),
                Ok(Err(broken)) => Err(broken.to_string()),
                Err(e) => Err(format!("the log could not be read: {e}")),
            };
            if let Ok(mut v) = state.verify.lock() {
                v.running = false;
                v.outcome = Some(outcome);
            }
        });
    }
    Ok(answer(&call.s))
}

async fn progress(call: Call) -> Result<Response, ApiError> {
    Ok(answer(&call.s))
}

fn answer(s: &AppState) -> Response {
    let (running, failed, line) = part_of(s);
    html(AuditVerifyPart {
        t: t(),
        running,
        failed,
        line,
    })
}
