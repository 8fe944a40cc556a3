//! Per-client request rate limit (token bucket per client address), so one
//! runaway script or scraper cannot starve everyone else. Sign-in has its
//! own, stricter throttle (`login.rs`).

use crate::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Sustained requests per second per client, and the burst allowed above it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Clone)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
}

impl Limiter {
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            buckets: Arc::default(),
        }
    }

    /// Takes one token for `ip`; false when its bucket is empty.
    fn allow(&self, ip: IpAddr) -> bool {
        let Ok(mut map) = self.buckets.lock() else {
            return true;
        };
        let now = Instant::now();
        if map.len() > 100_000 {
            // Forget clients whose buckets have refilled anyway.
            let (rate, burst) = (self.limit.per_second, self.limit.burst);
            map.retain(|_, (t, at)| *t + at.elapsed().as_secs_f64() * rate < burst);
        }
        let (tokens, at) = map.entry(ip).or_insert((self.limit.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.limit.per_second)
            .min(self.limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub async fn limit(State(l): State<Limiter>, req: Request, next: Next) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = ip
        && !l.allow(ip)
    {
        let mut r = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests from this address; slow down",
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return r;
    }
    next.run(req).await
}
