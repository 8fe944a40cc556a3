//! The monitoring line lists in the browser: contacts in daily monitoring
//! in the supervisor's jurisdictions, by what their check-ins say —
//! symptomatic, not reporting, reporting well, closed — each with the
//! person's name (linked to their page), how they check in, their last
//! report and silent days. The same read as `GET /api/v1/monitoring`,
//! under the same rule (supervisors), audited per contact shown.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Call};
use crate::guard;
use crate::pages::{html, staff_chrome};
use axum::Router;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{MonitoringLine, MonitoringPage};

pub fn routes() -> Router<AppState> {
    Router::new().route("/monitoring", get(page))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

const LISTS: [&str; 4] = ["symptomatic", "non_reporting", "asymptomatic", "closed"];

/// Contacts a page shows.
const ROWS: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    list: Option<String>,
    cursor: Option<String>,
}

async fn page(call: Call, ApiQuery(q): ApiQuery<ListQuery>) -> Result<Response, ApiError> {
    let list = q.list.unwrap_or_else(|| LISTS[0].to_string());
    let page = call
        .s
        .cw
        .messages()
        .monitoring_list(
            &list,
            Some(&call.caller.principal.scope),
            q.cursor.as_deref(),
            Some(ROWS),
        )
        .await?;
    let cases = call.s.cw.cases();
    let mut rows = Vec::new();
    let mut touch = Vec::new();
    for m in &page.items {
        let name = cases
            .view_by_id(m.person_id)
            .await?
            .map(|v| v.full_name())
            .unwrap_or_default();
        let report = match &m.last_report {
            None => t().get("mon-report-none"),
            Some(r) if r.symptoms.is_empty() => {
                format!("{} ({})", r.kind, r.at.format("%Y-%m-%d"))
            }
            Some(r) => format!(
                "{}: {} ({})",
                r.kind,
                r.symptoms.join(", "),
                r.at.format("%Y-%m-%d")
            ),
        };
        touch.push(("exposure", m.contact_id, Some(m.person_id)));
        rows.push(MonitoringLine {
            person_id: m.person_id.to_string(),
            name,
            jurisdiction: m.jurisdiction.clone(),
            channel: t().of("channel", &m.channel),
            report,
            silent_days: m.silent_days,
            next: m.next_checkin_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        });
    }
    let body = MonitoringPage {
        t: t(),
        chrome: staff_chrome(&call, "mon-title", "/monitoring"),
        tabs: LISTS
            .iter()
            .map(|l| (*l, t().of("mon-list", l), *l == list))
            .collect(),
        list,
        rows,
        next: page.next,
    };
    Ok(guard::with_touch(html(body), touch))
}
