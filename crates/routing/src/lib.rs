//! Task routing for the contact center: workers, queues, workflows, tasks
//! and reservations after Twilio TaskRouter's model, with public-health
//! defaults and SLA aging. Pure: no I/O and no clock, so the server drives
//! it with events and persists what it decides.

pub mod attrs;
mod compile;
pub mod config;
pub mod engine;
pub mod expr;
pub mod model;
pub mod workload;

pub use compile::ConfigError;
pub use config::Workspace;
pub use engine::Engine;
pub use model::{Decision, Event, Millis, ReservationState, RouteError, TaskState};
