//! Row decoding for PostgreSQL rows.

pub use tracedesk_store::sqlrows::*;

tracedesk_store::sql_row_decoders!(sqlx::postgres::PgRow);
