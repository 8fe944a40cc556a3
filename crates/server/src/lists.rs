//! The analysts' line list in the browser: a page of de-identified cases
//! (no name, contact or date of birth; age bands) in the caller's
//! jurisdictions, and the same page as CSV. Both are audited as exports,
//! one entry per case shown, like `GET /api/v1/line-list`, under the same
//! `needs::TABLE` rule (the line-list capability).

use crate::AppState;
use crate::api::LineListQuery;
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

/// Rows a page shows, and a CSV file holds (the API's largest page).
const PAGE_ROWS: u32 = 100;
const CSV_ROWS: u32 = 500;

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

async fn rows(call: &Call, q: &LineListQuery, most: u32) -> Result<Page<LineListRow>, ApiError> {
    let scope = q.scope(call).await?;
    Ok(call
        .s
        .cw
        .cases()
        .line_list(
            scope,
            &q.filter(),
            q.cursor.as_deref(),
            Some(q.limit.unwrap_or(most).min(most)),
        )
        .await?)
}

fn touched(page: &Page<LineListRow>) -> Vec<guard::Touch> {
    page.items
        .iter()
        .map(|r| ("case", r.case_id, None))
        .collect()
}

/// The filters as a query string (`status=…&from=…`), empty ones left out:
/// carried to the CSV and the next page. Statuses, dates and jurisdiction
/// codes only — nothing personal goes into a URL.
fn filters_query(q: &LineListQuery) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    let mut add = |k, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            pairs.push((k, v));
        }
    };
    add("status", q.status.clone());
    add("from", q.from.map(|d| d.to_string()));
    add("to", q.to.map(|d| d.to_string()));
    add("jurisdiction", q.jurisdiction.clone());
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `v` percent-encoded for a query string (unreserved bytes kept).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn page(call: Call, ApiQuery(q): ApiQuery<LineListQuery>) -> Result<Response, ApiError> {
    let page = rows(&call, &q, PAGE_ROWS).await?;
    let touch = touched(&page);
    let filters = filters_query(&q);
    let with = |extra: Option<(&str, &str)>| {
        let mut parts: Vec<String> = Vec::new();
        if !filters.is_empty() {
            parts.push(filters.clone());
        }
        if let Some(pair) = extra {
            parts.push(format!("{}={}", pair.0, encode(pair.1)));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    };
    let mut jurisdictions = call.caller.principal.scope.clone();
    jurisdictions.sort();
    let body = LinesPage {
        t: t(),
        chrome: staff_chrome(&call, "lines-title", "/lists"),
        rows: page.items.iter().map(cells).collect(),
        csv: format!(
            "/lists/cases.csv{}",
            with(q.cursor.as_deref().map(|c| ("cursor", c)))
        ),
        next: page
            .next
            .as_deref()
            .map(|n| format!("/lists{}", with(Some(("cursor", n))))),
        statuses: tracedesk_domain::CaseStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        status: q.status.clone().unwrap_or_default(),
        from: q.from.map(|d| d.to_string()).unwrap_or_default(),
        to: q.to.map(|d| d.to_string()).unwrap_or_default(),
        jurisdictions,
        jurisdiction: q.jurisdiction.clone().unwrap_or_default(),
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

async fn csv(call: Call, ApiQuery(q): ApiQuery<LineListQuery>) -> Result<Response, ApiError> {
    let page = rows(&call, &q, CSV_ROWS).await?;
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
