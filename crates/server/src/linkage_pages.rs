//! Record linkage in the browser, for data managers (supervisors): the
//! open pairs of their jurisdictions with both names, a pair's two records
//! side by side with how each field agreed, a decision (two people) or a
//! merge, and the merges with their undo. The same rules and audit as
//! `/api/v1/linkage/…` (`needs::TABLE`): a pair by a supervisor over both
//! persons' jurisdictions, a merge by one over its jurisdiction; each name
//! shown is a read of that person's record, and a merge or undo writes
//! both persons' entries before it acts.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Act, ApiQuery, Call, NoBody};
use crate::guard::{self, Found};
use crate::linkage::both;
use crate::pages::{html, staff_chrome};
use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use tracedesk_casework::linkage::status;
use tracedesk_ui::Catalog;
use tracedesk_ui::pages::{
    LinkageMergesPage, LinkagePage, LinkagePairPage, MergeLine, PairField, PairLine, SegmentsPart,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/linkage", get(pairs_page))
        .route("/linkage/pairs/{id}", get(pair_page))
        .route("/linkage/pairs/{id}/merge", post(merge_pair_page))
        .route("/linkage/pairs/{id}/distinct", post(distinct_pair_page))
        .route("/linkage/merges", get(merges_page))
        .route("/linkage/merges/{id}/unmerge", post(unmerge_page))
}

fn t() -> &'static Catalog {
    Catalog::english()
}

/// Rows a page shows.
const ROWS: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CursorQuery {
    cursor: Option<String>,
}

/// The open pairs of the caller's jurisdictions, newest first.
async fn pairs_page(call: Call, ApiQuery(q): ApiQuery<CursorQuery>) -> Result<Response, ApiError> {
    let cases = call.s.cw.cases();
    let page = cases
        .link_reviews(
            call.caller.principal.scope.clone(),
            Some(status::OPEN),
            q.cursor.as_deref(),
            Some(ROWS),
        )
        .await?;
    let mut pairs = Vec::with_capacity(page.items.len());
    let mut touch = Vec::new();
    for r in &page.items {
        pairs.push(PairLine {
            id: r.id.to_string(),
            a: cases.record_name(r.person_a).await?,
            b: cases.record_name(r.person_b).await?,
            jurisdiction: if r.jurisdiction_a == r.jurisdiction_b {
                r.jurisdiction_a.clone()
            } else {
                format!("{} / {}", r.jurisdiction_a, r.jurisdiction_b)
            },
            score: format!("{:.1}", r.score),
        });
        touch.extend(both(r.person_a, r.person_b));
    }
    let body = LinkagePage {
        t: t(),
        chrome: staff_chrome(&call, "link-title", "/linkage"),
        pairs,
        next: page.next,
    };
    Ok(guard::with_touch(html(body), touch))
}

/// A pair's two records side by side.
async fn pair_page(call: Call) -> Result<Response, ApiError> {
    let row = guard::found!(call.record()?, Found::LinkReview);
    let sides = call.s.cw.cases().link_sides(row).await?;
    let of = |v: &tracedesk_casework::PersonView, field: &str| -> String {
        match field {
            "first_name" => v.first_name.clone(),
            "last_name" => v.last_name.clone(),
            "dob" => v.dob.clone(),
            "phone" => v.phone.clone(),
            "email" => v.email.clone(),
            _ => v.address.clone(),
        }
        .unwrap_or_default()
    };
    let fields = sides
        .fields
        .iter()
        .map(|f| PairField {
            label: t().of("link-field", f.field),
            a: of(&sides.a, f.field),
            b: of(&sides.b, f.field),
            level: t().of("link-level", f.level),
        })
        .collect();
    let body = LinkagePairPage {
        t: t(),
        chrome: staff_chrome(&call, "link-pair-title", "/linkage"),
        id: row.id.to_string(),
        status: t().of("link-status", &row.status),
        score: format!("{:.1}", row.score),
        open: row.status == status::OPEN,
        mergeable: row.status != status::DISTINCT,
        fields,
        swapped: sides.names_swapped,
    };
    let touch = both(row.person_a, row.person_b);
    Ok(guard::with_touch(html(body), touch))
}

/// Merges the pair's two records (both persons' entries first).
async fn merge_pair_page(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let m = crate::linkage::merge_named_pair(&call).await?;
    let line = t().with("link-merged", &[("moved", &m.moved.to_string())]);
    Ok(guard::with_touch(
        html(SegmentsPart { line }),
        both(m.survivor_id, m.merged_id),
    ))
}

/// Decides the pair two people.
async fn distinct_pair_page(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let id = call.record()?.id;
    let v = call
        .s
        .cw
        .cases()
        .by(call.caller.user.id)
        .decide_link(id, status::DISTINCT)
        .await?;
    Ok(guard::with_touch(
        html(SegmentsPart {
            line: t().get("link-decided-distinct"),
        }),
        both(v.person_a, v.person_b),
    ))
}

/// The merges of the caller's jurisdictions, newest first, each with its
/// undo while it stands.
async fn merges_page(call: Call, ApiQuery(q): ApiQuery<CursorQuery>) -> Result<Response, ApiError> {
    let cases = call.s.cw.cases();
    let page = cases
        .person_merges(
            call.caller.principal.scope.clone(),
            None,
            q.cursor.as_deref(),
            Some(ROWS),
        )
        .await?;
    let mut merges = Vec::with_capacity(page.items.len());
    let mut touch = Vec::new();
    for m in &page.items {
        merges.push(MergeLine {
            id: m.id.to_string(),
            survivor_id: m.survivor_id.to_string(),
            survivor: cases.record_name(m.survivor_id).await?,
            merged: cases.record_name(m.merged_id).await?,
            when: m.merged_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            moved: m.moved,
            undone: m
                .unmerged_at
                .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
        });
        touch.extend(both(m.survivor_id, m.merged_id));
    }
    let body = LinkageMergesPage {
        t: t(),
        chrome: staff_chrome(&call, "link-merges-title", "/linkage"),
        merges,
        next: page.next,
    };
    Ok(guard::with_touch(html(body), touch))
}

/// Undoes a merge (both persons' entries first).
async fn unmerge_page(Act(call, NoBody): Act<NoBody>) -> Result<Response, ApiError> {
    let m = crate::linkage::unmerge_named(&call).await?;
    Ok(guard::with_touch(
        html(SegmentsPart {
            line: t().get("link-unmerged"),
        }),
        both(m.survivor_id, m.merged_id),
    ))
}
