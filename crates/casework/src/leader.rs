//! The routing leader loop: the one place where case work and routing meet
//! at run time. `dispatch` knows nothing of case work and `task_feed` only
//! reads from it; this module holds both, so neither imports the other.

use crate::dispatch::{Dispatch, Millis};
use std::sync::Arc;
use tracedesk_routing::Workspace;

/// How often a follower tries for the lead, and a leader checks its lease.
const LEAD_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Leads routing whenever this node can: takes the lease (a PostgreSQL
/// advisory lock; always granted on SQLite), rebuilds the engine from the
/// log and routes until the lease is lost; meanwhile follows (the server
/// forwards routing requests to the leader's `url`). Runs until aborted;
/// aborting drops the lease, which hands the lead over within a second.
pub async fn lead(cw: crate::Casework, workspace: Workspace, clock: Millis, url: String) {
    let store = cw.store().clone();
    loop {
        let lease = match store.try_lead_routing(&url).await {
            Ok(Some(lease)) => lease,
            Ok(None) => {
                tokio::time::sleep(LEAD_EVERY).await;
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "routing: cannot try for the lead");
                tokio::time::sleep(LEAD_EVERY).await;
                continue;
            }
        };
        let d = match Dispatch::open(
            store.clone(),
            cw.vault().clone(),
            workspace.clone(),
            clock.clone(),
        )
        .await
        {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "routing: cannot rebuild the engine from its log");
                drop(lease);
                tokio::time::sleep(LEAD_EVERY).await;
                continue;
            }
        };
        tracing::info!("routing: this node leads");
        cw.set_dispatch(Some(d.clone()));
        // Dropped when the lead ends or this future is dropped (aborted):
        // then this node no longer routes from memory.
        let _resign = Resign(cw.clone(), d.clone());
        let mut lease = lease;
        let ticking = {
            let d = d.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(LEAD_EVERY);
                loop {
                    every.tick().await;
                    d.tick().await;
                    d.snapshot_if_due().await;
                }
            })
        };
        // Held on to until it fails; dropping this future (abort) drops it.
        let _ticking = AbortOnDrop(ticking);
        let _feeding = AbortOnDrop(tokio::spawn(crate::task_feed::feed(cw.clone(), d.clone())));
        while lease.holds().await {
            tokio::time::sleep(LEAD_EVERY).await;
        }
        tracing::warn!("routing: the lease was lost; following");
    }
}

/// Stops routing on this node when dropped.
struct Resign(crate::Casework, Arc<Dispatch>);

impl Drop for Resign {
    fn drop(&mut self) {
        self.0.set_dispatch(None);
        self.1.close();
    }
}

/// Aborts a task when dropped (so aborting `lead` stops its ticker too).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
