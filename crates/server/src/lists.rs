//! The analysts' line list in the browser: a page of de-identified cases
//! (no name, contact or date of birth; age bands) in the caller's
//! jurisdictions, and the same page as CSV. Both are audited as exports,
//! one entry per case shown, like `GET /api/v1/line-list`, under the same
//! `needs::TABLE` rule (the line-list capability).

use crate::AppState;
use crate::api::PageQuery;
use crate::error::ApiError;
use crate::extract::{ApiQuery, Call};
use crate::guard;
use crate::pages::{html, staff_chrome};
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracedesk_casework::Page;
use tracedesk_casework::linelist::LineListRow;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::LinesPage;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lists", get(page))
        .route("/lists/cases.csv", get(csv))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// Rows a page shows (the API's largest page).
const ROWS: u32 = 500;

const HEADER: [&str; 8] = [
    "case_id",
    "jurisdiction",
    "status",
    "age_band",
    "report_date",
    "specimen_date",
    "onset_date",
    "isolation_end",
];

fn cells(r: &LineListRow) -> [String; 8] {
    [
        r.case_id.to_string(),
        r.jurisdiction.clone(),
        r.status.clone(),
        r.age_band.to_string(),
        r.report_date.to_string(),
        r.specimen_date.to_string(),
        r.onset_date.map(|d| d.to_string()).unwrap_or_default(),
        r.isolation_end.to_string(),
    ]
}

async fn rows(call: &Call, q: &PageQuery) -> Result<Page<LineListRow>, ApiError> {
    Ok(call
        .s
        .cw
        .cases()
        .line_list(
            call.caller.principal.scope.clone(),
            q.cursor.as_deref(),
            Some(q.limit.unwrap_or(ROWS).min(ROWS)),
        )
        .await?)
}

fn touched(page: &Page<LineListRow>) -> Vec<guard::Touch> {
    page.items
        .iter()
        .map(|r| ("case", r.case_id, None))
        .collect()
}

async fn page(call: Call, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Response, ApiError> {
    let page = rows(&call, &q).await?;
    let touch = touched(&page);
    let body = LinesPage {
        t: t(),
        chrome: staff_chrome(&call, "lines-title", "/lists"),
        rows: page.items.iter().map(cells).collect(),
        cursor: q.cursor.clone(),
        next: page.next.clone(),
    };
    Ok(guard::with_touch(html(body), touch))
}

/// One CSV field: quoted when it holds a separator, quote or line break.
/// Every value here is an id, a date, a band or a status, but the rule is
/// kept whole so the file stays valid whatever a jurisdiction is called.
fn field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

async fn csv(call: Call, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Response, ApiError> {
    let page = rows(&call, &q).await?;
    let mut out = HEADER.join(",");
    out.push_str("\r\n");
    for r in &page.items {
        let line: Vec<String> = cells(r).iter().map(|c| field(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let touch = touched(&page);
    let r = (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"line-list.csv\"",
            ),
        ],
        out,
    )
        .into_response();
    Ok(guard::with_touch(r, touch))
}
