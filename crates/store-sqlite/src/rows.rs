//! Row decoding for SQLite rows.

pub use tracedesk_store::sqlrows::*;

tracedesk_store::sql_row_decoders!(sqlx::sqlite::SqliteRow);
