//! The server's integration tests: one binary (each links the whole
//! server), a module per concern.

#[allow(dead_code)]
mod common;

mod access;
mod browser;
mod desk;
mod email;
mod failover;
mod fhir;
mod hardening;
mod http;
mod investigation;
mod jurisdictions;
mod linkage;
mod login;
mod messages;
mod monitoring;
mod pages;
mod routing;
mod second_factor;
mod templates;
mod tls;
mod twilio;
mod voice;
