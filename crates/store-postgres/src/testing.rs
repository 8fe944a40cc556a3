//! Scratch databases for tests and benchmarks against a real server.

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use std::str::FromStr;
use tracedesk_store::{StoreError, StoreResult};

/// The variable that names a PostgreSQL server for tests.
pub const TEST_URL_VAR: &str = "TRACEDESK_TEST_DATABASE_URL";
/// When set to 1, a missing server fails the PostgreSQL suites instead of skipping them.
pub const REQUIRE_VAR: &str = "TRACEDESK_REQUIRE_POSTGRES";

/// The test server URL, or `None` after saying loudly that the suite is
/// skipped. Panics when CI requires PostgreSQL and none is configured.
pub fn test_server(suite: &str) -> Option<String> {
    match std::env::var(TEST_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
                panic!(
                    "{REQUIRE_VAR}=1 but {TEST_URL_VAR} is not set: the PostgreSQL suite cannot run"
                );
            }
            // Written to stderr directly: the test harness captures eprintln!
            // of passing tests, and a skip must be seen.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: PostgreSQL {suite} (set {TEST_URL_VAR}=postgres://… to run it; .ci/start-postgres starts one)"
            );
            None
        }
    }
}

/// Creates an empty database on the server and returns its URL.
pub async fn scratch_database(server_url: &str, prefix: &str) -> StoreResult<(String, String)> {
    let opts =
        PgConnectOptions::from_str(server_url).map_err(|e| StoreError::Unavailable(e.into()))?;
    let mut conn = PgConnection::connect_with(&opts)
        .await
        .map_err(|e| StoreError::Unavailable(e.into()))?;
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| StoreError::Backend(e.into()))?;
    let mut url = url_with_database(server_url, &name);
    if url.is_empty() {
        url = server_url.to_string();
    }
    Ok((url, name))
}

/// Replaces the database path of a postgres URL.
fn url_with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_end = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{db}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn swaps_database() {
        assert_eq!(
            super::url_with_database("postgres://u@h:5/postgres?sslmode=disable", "x"),
            "postgres://u@h:5/x?sslmode=disable"
        );
        assert_eq!(
            super::url_with_database("postgres://h", "x"),
            "postgres://h/x"
        );
    }
}
