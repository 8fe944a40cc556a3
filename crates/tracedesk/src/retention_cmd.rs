//! `tracedesk purge` and `tracedesk sunset`, and the daily purge `serve` runs.

use crate::config::Config;
use crate::runtime;
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use tracedesk_casework::Casework;
use tracedesk_casework::retention::PurgeReport;

fn describe(r: &PurgeReport) -> String {
    format!(
        "{} person(s): {} case(s), {} lab result(s), {} contact record(s); {} lab report(s) \
         kept as dead letters",
        r.persons, r.cases, r.lab_results, r.exposures, r.dead_letters
    )
}

fn spinner() -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} persons {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar
}

/// Purges PHI of records closed longer than the retention periods.
pub async fn purge(config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    let bar = spinner();
    let r = cw
        .retention()
        .purge(Some(config.retention), dry_run, "cli", |n| {
            bar.set_position(n)
        })
        .await
        .map_err(crate::admin::describe)?;
    bar.finish_and_clear();
    let p = &config.retention;
    let periods = format!(
        "cases closed > {} days, contact records closed > {} days, lab-only persons > {} days",
        p.case_days, p.contact_days, p.lab_days
    );
    if dry_run {
        println!(
            "would purge {} ({periods}); nothing was changed",
            describe(&r)
        );
    } else {
        println!("purged {} ({periods})", describe(&r));
        checkpoint(&cw).await?;
    }
    Ok(())
}

/// Removes all PHI program-wide.
pub async fn sunset(config: &Config, confirm: bool) -> anyhow::Result<()> {
    if !confirm {
        bail!(
            "sunset removes every person's personal data and the routing log for good, leaving \
             de-identified aggregates and the audit log (stop `serve` first); run `tracedesk purge --dry-run` to see the retention \
             purge instead, or add --confirm"
        );
    }
    let _alone = runtime::serve_lock(config)?;
    let cw = runtime::open(config).await?;
    let bar = spinner();
    let r = cw
        .retention()
        .purge(None, false, "cli", |n| bar.set_position(n))
        .await
        .map_err(crate::admin::describe)?;
    bar.finish_and_clear();
    println!(
        "sunset: removed the personal data of {} and the routing log ({} event(s)); kept \
         de-identified stubs (age band, jurisdiction, outcomes, dates by week), staff accounts \
         and the audit log; the database was compacted",
        describe(&r),
        r.routing_events
    );
    checkpoint(&cw).await
}

async fn checkpoint(cw: &Casework) -> anyhow::Result<()> {
    if let Some(a) = cw.auditor() {
        a.checkpoint().await?;
    }
    Ok(())
}
