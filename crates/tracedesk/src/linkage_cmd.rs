//! `tracedesk linkage run`: record linkage over the whole store, with a
//! progress bar, resumable; `tracedesk linkage merge`: the matcher's
//! same-person pairs merged (docs/linkage.md).

use crate::admin::record;
use crate::cli::bar;
use crate::config::Config;
use crate::runtime;
use tracedesk_store::audit::Action;

/// What `linkage run` takes.
pub struct RunOptions {
    /// Begin again from the first person, not where a run stopped.
    pub restart: bool,
    /// Fit the weights to this store first (EM) instead of the defaults.
    pub fit: bool,
}

pub async fn run(config: &Config, o: RunOptions) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    let total = cw.counts().await?.persons;
    // Every person's record is opened: the run is in the audit log before
    // it reads anything.
    let detail = "linkage run: every person's record compared with those sharing a blocking key";
    record(&cw, Action::PhiRead, "person", None, detail).await?;
    let cases = cw.cases();
    let pb = bar(total, "persons");
    let mut fitted = None;
    let run = if o.fit {
        pb.set_message("fitting");
        let out = cases
            .fit_and_link_all(
                u32::MAX,
                0.9999,
                tracedesk_casework::linkage::REVIEW,
                o.restart,
                |p| {
                    pb.set_message("persons");
                    pb.set_position(p.persons)
                },
            )
            .await;
        out.map(|(fit, run)| {
            fitted = Some(fit);
            run
        })
    } else {
        cases
            .link_all(&tracedesk_linkage::Scorer::default(), o.restart, |p| {
                pb.set_position(p.persons)
            })
            .await
    };
    pb.finish_and_clear();
    let run = run?;
    if let Some(fit) = fitted {
        println!(
            "weights fitted to this store by EM ({} iterations; {:.4} of blocked pairs are the same person)",
            fit.iterations, fit.share
        );
    }
    let summary = format!(
        "{}{} persons: {} pairs compared; {} new pairs the same person, {} new possible matches open for review",
        if run.resumed { "resumed; " } else { "" },
        run.persons,
        run.compared,
        run.same,
        run.possible
    );
    record(
        &cw,
        Action::PhiRead,
        "person",
        None,
        &format!("linkage run: {summary}"),
    )
    .await?;
    println!("{summary}");
    if run.possible > 0 {
        println!("review them with GET /api/v1/linkage/reviews?status=open (supervisors)");
    }
    Ok(())
}

/// `linkage merge`: merges the pairs the matcher linked, within
/// `jurisdiction`'s subtree (all, if none). Audited before it changes
/// anything, and again with its counts.
pub async fn merge(config: &Config, jurisdiction: Option<&str>) -> anyhow::Result<()> {
    let cw = runtime::open(config).await?;
    let tree = cw.jurisdictions();
    let scope = match jurisdiction {
        Some(j) if !tree.contains(j) => anyhow::bail!("no jurisdiction has the code {j}"),
        Some(j) => tree.subtree(j),
        None => tree.codes(),
    };
    let detail = format!(
        "linkage merge: the matcher's same-person pairs merged, in {}",
        jurisdiction.unwrap_or("every jurisdiction")
    );
    record(&cw, Action::PhiWrite, "person_merge", None, &detail).await?;
    let pb = bar(0, "merged");
    let out = cw
        .cases()
        .merge_linked(scope, |merged, _| pb.set_position(merged))
        .await;
    pb.finish_and_clear();
    let (merged, refused) = out?;
    let summary = format!(
        "{merged} pairs merged; {refused} left for a reviewer (across jurisdictions, or refused)"
    );
    record(
        &cw,
        Action::PhiWrite,
        "person_merge",
        None,
        &format!("linkage merge: {summary}"),
    )
    .await?;
    println!("{summary}");
    if merged > 0 {
        println!("each merge is listed at GET /api/v1/linkage/merges, and can be undone");
    }
    Ok(())
}
