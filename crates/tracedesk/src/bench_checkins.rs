//! `tracedesk bench checkins`: one scheduling pass over N contacts in
//! monitoring — select the due records with the contact's sealed phone and
//! language, open them, render the check-in in the contact's language, seal
//! it, and write the texts and the records moved on, round by round — on
//! PostgreSQL (the target's backend) and SQLite. The contacts are seeded
//! through the real intake first (cases, contacts named in batches, moved
//! notified → monitoring in bulk, enrolled), untimed.

use std::sync::Arc;
use std::time::Instant;
use tracedesk_casework::synthetic::Synthetic;
use tracedesk_casework::{Casework, LabOutcomeView, Settings};
use tracedesk_domain::ContactStatus;
use tracedesk_store::Store;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{Keyring, Vault};

/// Cases a seeding round makes (three contacts each).
const CASES_PER_ROUND: usize = 2_500;

pub async fn run(
    contacts: usize,
    days: usize,
    postgres: Option<String>,
    no_sqlite: bool,
) -> anyhow::Result<()> {
    println!(
        "tracedesk bench checkins: {contacts} contacts in monitoring per backend, {days} daily scheduling passes ({})",
        crate::bench::build_kind()
    );
    let mut rows = Vec::new();
    match postgres.or_else(|| std::env::var("TRACEDESK_TEST_DATABASE_URL").ok()) {
        Some(server) => {
            let (url, _) =
                tracedesk_store_postgres::testing::scratch_database(&server, "td_checkins").await?;
            let store = Arc::new(PostgresStore::connect(&url).await?);
            rows.push(("PostgreSQL", backend(store, contacts, days).await?));
        }
        None => println!(
            "(PostgreSQL skipped: pass --postgres postgres://… or set TRACEDESK_TEST_DATABASE_URL)"
        ),
    }
    if !no_sqlite {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
        rows.push(("SQLite", backend(store, contacts, days).await?));
    }
    println!("\n| backend | day | contacts | check-ins queued | pass (s) | check-ins/s |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, passes) in rows {
        for (day, (n, queued, secs)) in passes.into_iter().enumerate() {
            println!(
                "| {name} | {} | {n} | {queued} | {secs:.1} | {:.0} |",
                day + 1,
                queued as f64 / secs
            );
        }
    }
    Ok(())
}

/// For each day's pass: (contacts in monitoring, check-ins queued,
/// seconds).
async fn backend(
    store: Arc<dyn Store>,
    contacts: usize,
    days: usize,
) -> anyhow::Result<Vec<(usize, usize, f64)>> {
    store.migrate().await?;
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let seeding = Casework::new(store.clone(), vault.clone(), Settings::default());
    let today = chrono::Utc::now().date_naive();
    let mut syn = Synthetic::new(7, today);
    let (t, mut monitored) = (Instant::now(), 0usize);
    while monitored < contacts {
        let cases = CASES_PER_ROUND.min((contacts - monitored).div_ceil(3));
        let labs: Vec<_> = (0..cases).map(|_| syn.positive_lab()).collect();
        let made = LabOutcomeView::cases(&seeding.cases().ingest_lab_results(&labs).await);
        // Every contact has a phone: the pass texts each one.
        let items: Vec<_> = made
            .iter()
            .flat_map(|&case| std::iter::repeat_n(case, 3))
            .take(contacts - monitored)
            .map(|case| {
                let mut c = syn.contact(today);
                if c.phone.is_none() {
                    let n = syn.gen_range(0, 8_000_000);
                    c.phone = Some(format!("+1646{}{:04}", 200 + n / 10_000, n % 10_000));
                }
                (case, c)
            })
            .collect();
        let mut named = tokio::task::JoinSet::new();
        for chunk in items.chunks(items.len().div_ceil(4).max(1)) {
            let (cw, chunk) = (seeding.clone(), chunk.to_vec());
            named.spawn(async move {
                let mut ids = Vec::with_capacity(chunk.len());
                for o in cw.cases().add_contacts(&chunk).await {
                    let o = o.map_err(|e| anyhow::anyhow!("naming a contact: {e:?}"))?;
                    if o.resolution == "named" {
                        ids.push(o.exposure_id);
                    }
                }
                anyhow::Ok(ids)
            });
        }
        let mut ids = Vec::new();
        while let Some(r) = named.join_next().await {
            ids.extend(r??);
        }
        let cases = seeding.cases();
        cases
            .move_contacts(&ids, ContactStatus::Named, ContactStatus::Notified)
            .await?;
        cases
            .move_contacts(&ids, ContactStatus::Notified, ContactStatus::Monitoring)
            .await?;
        let before = monitored;
        monitored += ids.len();
        anyhow::ensure!(monitored > before, "a seeding round named no one");
        if monitored / 100_000 > before / 100_000 || monitored >= contacts {
            eprintln!(
                "  seeded {monitored} contacts in monitoring ({:.0}/s)",
                monitored as f64 / t.elapsed().as_secs_f64()
            );
        }
    }
    store.settle().await?;

    // One pass inside every contact's default afternoon window (12–16 in
    // New York: 17:00–21:00 UTC in winter, 16:00–20:00 in summer), after
    // every enrolment: now if that is 17:00–19:59 UTC, else 17:30
    // tomorrow.
    let now = chrono::Utc::now();
    let at = match chrono::Timelike::hour(&now) {
        17..=19 => now + chrono::Duration::seconds(1),
        _ => (today + chrono::Duration::days(1))
            .and_hms_opt(17, 30, 0)
            .ok_or_else(|| anyhow::anyhow!("no 17:30 tomorrow"))?
            .and_utc(),
    };
    // Day 1: every contact's first check-in. Day 2: the same contacts a
    // day on, none having answered (a silent day counted for each, the
    // outbox a million texts fuller).
    let mut passes = Vec::new();
    for day in 0..days {
        let at = at + chrono::Duration::days(day as i64);
        let cw = Casework::new(store.clone(), vault.clone(), Settings::default())
            .with_clock(Arc::new(move || at));
        let t = Instant::now();
        let stats = cw
            .messages()
            .schedule_checkins(false, |s| {
                if s.due % 100_000 < tracedesk_casework::monitoring::ROUND as usize {
                    eprintln!(
                        "  day {}: {} due, {} check-ins queued ({:.1} s)",
                        day + 1,
                        s.due,
                        s.checkins,
                        t.elapsed().as_secs_f64()
                    );
                }
            })
            .await?;
        let secs = t.elapsed().as_secs_f64();
        anyhow::ensure!(
            stats.checkins == monitored,
            "day {}: {} check-ins for {monitored} contacts: {stats:?}",
            day + 1,
            stats.checkins
        );
        passes.push((monitored, stats.checkins, secs));
    }
    Ok(passes)
}
