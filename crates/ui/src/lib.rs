//! The staff web app's rendering, with no I/O: page templates compiled and
//! auto-escaped by askama, one message catalog (Fluent) for every string a
//! page shows, and the embedded assets (the app's CSS and script, vendored
//! htmx and its SSE extension) served under content-hashed names.
//!
//! Pages carry no inline script or style, so the server's strict Content
//! Security Policy holds on every page. The server crate checks access and
//! fills these structs; nothing here decides who sees what.

pub mod assets;
pub mod catalog;
pub mod chains;
pub mod pages;

pub use askama::Template;
pub use catalog::Catalog;
