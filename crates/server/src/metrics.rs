//! Prometheus metrics, written by hand: counters by route template and
//! status class, never by raw path (ids) and never with PHI.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// (method, route template, status) → (count, total seconds).
type RequestTotals = BTreeMap<(String, String, u16), (u64, f64)>;

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<RequestTotals>,
    pub lab_results_recorded: AtomicU64,
    pub lab_results_rejected: AtomicU64,
    pub cases_created: AtomicU64,
    pub contacts_named: AtomicU64,
}

impl Metrics {
    fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let e = m
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        e.0 += 1;
        e.1 += secs;
    }

    /// Renders the Prometheus text exposition format: request figures for
    /// anyone; the case-work counters and record counts only when `counts`
    /// is given (to an authenticated supervisor or administrator), since
    /// small counts of cases can point at people.
    pub fn render(&self, counts: Option<&tracedesk_store::Counts>) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tracedesk_http_requests_total HTTP requests by route template and status."
        );
        let _ = writeln!(out, "# TYPE tracedesk_http_requests_total counter");
        let reqs = self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for ((m, r, s), (n, _)) in &reqs {
            let _ = writeln!(
                out,
                "tracedesk_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tracedesk_http_request_seconds_sum Time spent serving requests."
        );
        let _ = writeln!(out, "# TYPE tracedesk_http_request_seconds_sum counter");
        for ((m, r, s), (_, secs)) in &reqs {
            let _ = writeln!(
                out,
                "tracedesk_http_request_seconds_sum{{method=\"{m}\",route=\"{r}\",status=\"{s}\"}} {secs:.6}"
            );
        }
        let Some(c) = counts else {
            return out;
        };
        for (name, help, v) in [
            (
                "tracedesk_lab_results_recorded_total",
                "Lab results recorded.",
                &self.lab_results_recorded,
            ),
            (
                "tracedesk_lab_results_rejected_total",
                "Lab results rejected for invalid input.",
                &self.lab_results_rejected,
            ),
            (
                "tracedesk_cases_created_total",
                "Cases created from positive results.",
                &self.cases_created,
            ),
            (
                "tracedesk_contacts_named_total",
                "Contacts named by cases.",
                &self.contacts_named,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tracedesk_records Records held, by kind.\n# TYPE tracedesk_records gauge"
        );
        for (k, v) in [
            ("persons", c.persons),
            ("cases", c.cases),
            ("open_cases", c.open_cases),
            ("lab_results", c.lab_results),
            ("exposures", c.exposures),
            ("tasks", c.tasks),
        ] {
            let _ = writeln!(out, "tracedesk_records{{kind=\"{k}\"}} {v}");
        }
        out
    }
}

/// A request's method as a label: the standard ones by name, anything
/// else `other`, so a client cannot grow the label set (or write text of
/// its choosing into the metrics and the log).
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts each request under its route template and logs one line without
/// the query string or body.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let res = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = res.status().as_u16();
    state.metrics.observe(method, &route, status, secs);
    tracing::info!(%method, %route, status, ms = secs * 1000.0, "request");
    res
}
