//! `tracedesk bench reads`: every list route's first page and a deep keyset
//! page, per role, at growing table sizes (SQLite, and PostgreSQL when
//! given). The database grows through the real intake (lab results, then
//! contacts named on the cases) between measurements, so the figures at each
//! size come from one database and their ratio shows whether a page's cost
//! follows the table.

use crate::bench_audit::serve_locally;
use std::sync::Arc;
use std::time::Instant;
use tracedesk_casework::LabOutcomeView;
use tracedesk_casework::csv_import::IMPORT_BATCH;
use tracedesk_casework::synthetic::Synthetic;
use tracedesk_casework::{Casework, NewUser, Settings};
use tracedesk_identity::Role;
use tracedesk_store::Store;
use tracedesk_store_postgres::PostgresStore;
use tracedesk_store_sqlite::SqliteStore;
use tracedesk_vault::{Keyring, Vault};
use uuid::Uuid;

/// Counties under the root jurisdiction; cases are spread evenly over them.
const COUNTIES: usize = 10;
/// Tasks the tracer holds (and so the records a tracer's lists show).
const HELD: usize = 20;

pub async fn run(
    sizes: Vec<usize>,
    contacts_per_case: usize,
    samples: usize,
    postgres: Option<String>,
    no_sqlite: bool,
    page_clients: usize,
) -> anyhow::Result<()> {
    let mut sizes = sizes;
    sizes.sort_unstable();
    sizes.dedup();
    anyhow::ensure!(!sizes.is_empty(), "give at least one --cases size");
    println!(
        "tracedesk bench reads: cases {sizes:?}, {contacts_per_case} contacts per case, {samples} requests per figure ({})",
        crate::bench::build_kind()
    );
    if !no_sqlite {
        let dir = tempfile::tempdir()?;
        let store = Arc::new(SqliteStore::open(&dir.path().join("bench.db")).await?);
        backend(
            "SQLite",
            store,
            &sizes,
            contacts_per_case,
            samples,
            page_clients,
        )
        .await?;
    }
    match postgres.or_else(|| std::env::var("TRACEDESK_TEST_DATABASE_URL").ok()) {
        Some(server) => {
            let (url, _) =
                tracedesk_store_postgres::testing::scratch_database(&server, "td_reads").await?;
            let store = Arc::new(PostgresStore::connect(&url).await?);
            backend(
                "PostgreSQL",
                store,
                &sizes,
                contacts_per_case,
                samples,
                page_clients,
            )
            .await?;
        }
        None => println!(
            "(PostgreSQL skipped: pass --postgres postgres://… or set TRACEDESK_TEST_DATABASE_URL)"
        ),
    }
    Ok(())
}

/// One request to time: a route, the role that asks, and its query.
struct Probe {
    route: &'static str,
    role: &'static str,
    query: String,
}

async fn backend(
    name: &str,
    store: Arc<dyn Store>,
    sizes: &[usize],
    contacts_per_case: usize,
    samples: usize,
    page_clients: usize,
) -> anyhow::Result<()> {
    store.migrate().await?;
    let vault = Arc::new(Vault::from_keyring(&Keyring::generate()));
    let cw = Casework::new(store.clone(), vault, Settings::default());
    let counties: Vec<String> = (0..COUNTIES).map(|i| format!("county-{i}")).collect();
    for c in &counties {
        cw.staff().add_jurisdiction(c, c, Some("root")).await?;
    }
    let user =
        |name: &str, role: Role, j: &str| NewUser::new(name, "Bench Person", role, j).mfa(false);
    let (root, _) = cw
        .staff()
        .add_user(user("bench-root", Role::Supervisor, "root"))
        .await?;
    let (county, _) = cw
        .staff()
        .add_user(user("bench-county", Role::Supervisor, &counties[0]))
        .await?;
    let (tracer, _) = cw
        .staff()
        .add_user(user("bench-tracer", Role::Tracer, &counties[0]))
        .await?;
    let (analyst, _) = cw
        .staff()
        .add_user(user("bench-analyst", Role::Analyst, "root"))
        .await?;
    let team = cw.staff().add_team("bench-team", &counties[0]).await?;
    cw.staff().set_team_member(team.id, tracer.id, true).await?;
    cw.staff().set_team_member(team.id, county.id, true).await?;
    let mut token = std::collections::HashMap::new();
    for (role, id) in [
        ("root supervisor", root.id),
        ("county supervisor", county.id),
        ("tracer", tracer.id),
        ("analyst", analyst.id),
    ] {
        token.insert(role, cw.staff().create_token(role, id).await?);
    }

    let mut syn = Synthetic::new(11, chrono::Utc::now().date_naive());
    let mut cases: Vec<Uuid> = Vec::new();
    let mut contacts: Vec<Uuid> = Vec::new();
    let mut rows = Vec::new();
    for &size in sizes {
        grow(
            &cw,
            &mut syn,
            &counties,
            &mut cases,
            &mut contacts,
            size,
            contacts_per_case,
        )
        .await?;
        // Timed on a settled database: the maintenance a bulk load leaves
        // (PostgreSQL's vacuum and statistics) done first, not left to run
        // beside the reads it would slow.
        let t = Instant::now();
        store.settle().await?;
        eprintln!("  settled in {:.1} s", t.elapsed().as_secs_f64());
        if cases.len() >= HELD && rows.is_empty() {
            // The tracer holds the interviews of a few cases of the oldest,
            // so a tracer's lists have rows at every size.
            for &c in cases.iter().take(HELD) {
                if let Some(t) = cw.cases().tasks_for_case(c).await?.first() {
                    cw.cases().assign_task(t.id, Some(tracer.id)).await?;
                }
            }
        }
        // Deep: a cursor at the middle of everything seeded so far.
        let middle = |ids: &[Uuid]| ids.get(ids.len() / 2).map(|i| i.simple().to_string());
        let deep_case = middle(&cases).unwrap_or_default();
        let deep_contact = middle(&contacts).unwrap_or_else(|| deep_case.clone());
        let (base, server) = serve_locally(cw.clone()).await?;
        let http = reqwest::Client::new();
        // The tracer's deep page of tasks: the middle of their own tasks, so
        // it holds the same rows at every size.
        let theirs: serde_json::Value = http
            .get(format!("{base}/api/v1/tasks?limit=200"))
            .bearer_auth(&token["tracer"])
            .send()
            .await?
            .json()
            .await?;
        let tasks = theirs["items"].as_array().cloned().unwrap_or_default();
        let deep_task = tasks
            .get(tasks.len() / 2)
            .and_then(|t| t["id"].as_str())
            .map(|id| id.replace('-', ""))
            .unwrap_or_else(|| deep_case.clone());
        let probes = probes(&deep_case, &deep_contact, &deep_task);
        println!("\n### {name}, {} cases\n", cases.len());
        println!("| route | role | page | p50 ms | p95 ms | rows |");
        println!("|---|---|---|---:|---:|---:|");
        // Round-robin over the probes, one request each a round: a pause
        // of the machine (a checkpoint, the scheduler) lands on every
        // probe's tail alike rather than on whichever ran then. Round 0
        // warms up (statement caches, pages) and is not counted.
        let mut timings: Vec<Vec<f64>> = vec![Vec::with_capacity(samples); probes.len()];
        let mut rows_of = vec![0; probes.len()];
        for round in 0..=samples {
            for (i, p) in probes.iter().enumerate() {
                let t = Instant::now();
                let r = http
                    .get(format!("{base}{}{}", p.route, p.query))
                    .bearer_auth(&token[p.role])
                    .send()
                    .await?;
                anyhow::ensure!(
                    r.status().is_success(),
                    "{} as {}: {}",
                    p.route,
                    p.role,
                    r.status()
                );
                let body: serde_json::Value = r.json().await?;
                if round > 0 {
                    timings[i].push(t.elapsed().as_secs_f64() * 1000.0);
                }
                rows_of[i] = body["items"].as_array().map_or(0, Vec::len);
            }
        }
        for ((p, mut ms), n_rows) in probes.iter().zip(timings).zip(rows_of) {
            ms.sort_by(f64::total_cmp);
            let (p50, p95) = (
                ms[ms.len() / 2],
                ms[(ms.len() * 95 / 100).min(ms.len() - 1)],
            );
            let page = if p.query.contains("cursor") {
                "deep"
            } else {
                "first"
            };
            println!(
                "| {}{} | {} | {page} | {p50:.2} | {p95:.2} | {n_rows} |",
                p.route,
                filter_of(&p.query),
                p.role
            );
            rows.push((size, p.route, p.role, redact_cursor(&p.query), p50, p95));
        }
        if page_clients > 0 {
            let held = tasks
                .first()
                .and_then(|t| t["id"].as_str())
                .unwrap_or_default()
                .to_string();
            // The pages run on a server that routes, as a deployment's
            // does: the floor reads the routing engine.
            drop(server);
            let (base, routing) = serve_routing(cw.clone()).await?;
            engine_settled(&*store, &base, &token["root supervisor"]).await?;
            // The tracer is a routing worker (Offline) holding the
            // interviews assigned above; routing keeps them theirs.
            let _ = http
                .post(format!("{base}/api/v1/routing/workers"))
                .bearer_auth(&token["county supervisor"])
                .json(&serde_json::json!({"user_id": tracer.id, "attributes": {
                    "skills": ["case_investigation", "contact_notification"],
                    "languages": ["en", "es"]}}))
                .send()
                .await?;
            for &c in cases.iter().take(HELD) {
                if let Some(t) = cw.cases().tasks_for_case(c).await?.first() {
                    cw.cases().assign_task(t.id, Some(tracer.id)).await?;
                }
            }
            let opened = format!("{base}/desk/tasks/{held}");
            let mut ok = false;
            for _ in 0..200 {
                let r = http
                    .get(&opened)
                    .bearer_auth(&token["tracer"])
                    .send()
                    .await?;
                if r.status().is_success() {
                    ok = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            anyhow::ensure!(ok, "the tracer's task never opened under routing");
            pages(&base, &token, &held, page_clients, samples).await?;
            floor_latency(&base, &token["root supervisor"], 20).await?;
            drop(routing);
            // The floor's epidemic curve (one read per page load).
            let scope = cw.jurisdictions().subtree("root");
            let mut ms = Vec::new();
            for _ in 0..samples.clamp(1, 50) {
                let t = Instant::now();
                cw.cases().case_curve(&scope, 28).await?;
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            ms.sort_by(f64::total_cmp);
            println!(
                "| epidemic curve read (every jurisdiction, 28 days) | root supervisor | {:.2} | {:.2} | one client |",
                ms[ms.len() / 2],
                ms[(ms.len() * 95 / 100).min(ms.len() - 1)]
            );
        }
    }
    if let (Some(&small), Some(&large)) = (sizes.first(), sizes.last())
        && small < large
    {
        println!("\n### {name}: {large} cases ÷ {small} cases\n");
        println!("| route | role | query | p50 ratio | p95 ratio |");
        println!("|---|---|---|---:|---:|");
        for a in rows.iter().filter(|r| r.0 == small) {
            if let Some(b) = rows
                .iter()
                .find(|b| b.0 == large && (b.1, b.2, &b.3) == (a.1, a.2, &a.3))
            {
                println!(
                    "| {} | {} | {} | {:.2} | {:.2} |",
                    a.1,
                    a.2,
                    a.3,
                    b.4 / a.4,
                    b.5 / a.5
                );
            }
        }
    }
    Ok(())
}

/// How long a change takes to reach an open floor: a supervisor's floor
/// stream is open; a positive result is posted; the time until a `floor`
/// event counts one more task waiting. `trials` times, p50 / p95 / max.
async fn floor_latency(base: &str, token: &str, trials: usize) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let mut stream = http
        .get(format!("{base}/floor/stream"))
        .bearer_auth(token)
        .send()
        .await?;
    anyhow::ensure!(
        stream.status().is_success(),
        "/floor/stream: {}",
        stream.status()
    );
    let mut buffer = String::new();
    // The next event's "tasks waiting" figure.
    async fn next_waiting(
        stream: &mut reqwest::Response,
        buffer: &mut String,
    ) -> anyhow::Result<u64> {
        loop {
            if let Some(end) = buffer.find("\n\n") {
                let event: String = buffer.drain(..end + 2).collect();
                let label = "</span><span class=\"l\">tasks waiting";
                if let Some(at) = event.find(label) {
                    let before = &event[..at];
                    let digits: String = before
                        .chars()
                        .rev()
                        .take_while(char::is_ascii_digit)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    return Ok(digits.parse()?);
                }
                continue;
            }
            let chunk = stream
                .chunk()
                .await?
                .ok_or_else(|| anyhow::anyhow!("the floor stream ended"))?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    let mut syn = Synthetic::new(99, chrono::Utc::now().date_naive());
    let mut ms = Vec::with_capacity(trials);
    for i in 0..trials {
        let before = next_waiting(&mut stream, &mut buffer).await?;
        let mut lab = syn.positive_lab();
        lab.jurisdiction = Some("county-0".into());
        lab.accession = Some(format!(
            "FLOOR-LATENCY-{}-{i}",
            chrono::Utc::now().timestamp()
        ));
        let t = Instant::now();
        let r = http
            .post(format!("{base}/api/v1/lab-results"))
            .bearer_auth(token)
            .json(&lab)
            .send()
            .await?;
        anyhow::ensure!(r.status().is_success(), "posting a result: {}", r.status());
        loop {
            if next_waiting(&mut stream, &mut buffer).await? > before {
                break;
            }
            anyhow::ensure!(
                t.elapsed().as_secs() < 30,
                "the floor never showed the new task"
            );
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "| a new case's task reaching an open floor (SSE) | root supervisor | {:.0} | {:.0} | max {:.0} ms, {trials} trials |",
        ms[ms.len() / 2],
        ms[(ms.len() * 95 / 100).min(ms.len() - 1)],
        ms[ms.len() - 1]
    );
    Ok(())
}

/// A server on a local port that runs task routing (one node, the public
/// health workspace), as `tracedesk serve` does.
async fn serve_routing(
    cw: Casework,
) -> anyhow::Result<(String, tracedesk_server::assembly::Running)> {
    let app = tracedesk_server::App::start(
        cw,
        tracedesk_server::ServerSettings {
            body_limit: 1 << 20,
            max_batch: 100,
            ..Default::default()
        },
        tracedesk_server::Jobs {
            routing: Some(tracedesk_server::assembly::RoutingSetup {
                workspace: tracedesk_routing::Workspace::public_health(),
                clock: Arc::new(|| chrono::Utc::now().timestamp_millis()),
                advertise: "http://127.0.0.1".into(),
            }),
            ..Default::default()
        },
    );
    Ok(app.spawn_local().await?)
}

/// Waits until the routing engine has taken in every task (none is left
/// unrouted in the store, and the engine's count of tasks has stopped
/// growing), printing how long that took: the pages are timed on a settled
/// operation, not beside the feed's catching up.
async fn engine_settled(store: &dyn Store, base: &str, token: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let t = Instant::now();
    let (mut last, mut still) = (u64::MAX, 0);
    while still < 3 {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let r = http
            .get(format!("{base}/api/v1/routing/stats"))
            .bearer_auth(token)
            .send()
            .await?;
        if !r.status().is_success() {
            continue;
        }
        let v: serde_json::Value = r.json().await?;
        let n: u64 = v["tasks_by_state"]
            .as_object()
            .map(|m| m.values().filter_map(serde_json::Value::as_u64).sum())
            .unwrap_or(0);
        let fed = store.unrouted_tasks(1).await?.is_empty();
        still = if fed && n == last && n > 0 {
            still + 1
        } else {
            0
        };
        last = n;
    }
    eprintln!(
        "  routing holds {last} tasks after {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The staff pages' render times: `clients` browsers at once, each asking
/// for every page in turn until `samples` of each are timed; p50 and p95
/// per page (the whole request: guard, reads, audit, template).
async fn pages(
    base: &str,
    token: &std::collections::HashMap<&str, String>,
    held: &str,
    clients: usize,
    samples: usize,
) -> anyhow::Result<()> {
    let probes: Vec<(String, &str)> = vec![
        ("/desk".into(), "tracer"),
        (format!("/desk/tasks/{held}"), "tracer"),
        (format!("/desk/tasks/{held}/interview"), "tracer"),
        ("/lists".into(), "analyst"),
        ("/monitoring?list=non_reporting".into(), "county supervisor"),
        ("/floor".into(), "county supervisor"),
    ];
    let http = reqwest::Client::new();
    let rounds = samples.div_ceil(clients).max(1);
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..clients {
        let (http, base, probes) = (http.clone(), base.to_string(), probes.clone());
        let token: Vec<String> = probes.iter().map(|p| token[p.1].clone()).collect();
        running.spawn(async move {
            let mut ms: Vec<Vec<f64>> = vec![Vec::new(); probes.len()];
            for round in 0..=rounds {
                for (i, (path, _)) in probes.iter().enumerate() {
                    let t = Instant::now();
                    let r = http
                        .get(format!("{base}{path}"))
                        .bearer_auth(&token[i])
                        .send()
                        .await?;
                    anyhow::ensure!(r.status().is_success(), "{path}: {}", r.status());
                    r.bytes().await?;
                    if round > 0 {
                        ms[i].push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                }
            }
            Ok::<_, anyhow::Error>(ms)
        });
    }
    let mut all: Vec<Vec<f64>> = vec![Vec::new(); probes.len()];
    while let Some(done) = running.join_next().await {
        for (i, m) in done??.into_iter().enumerate() {
            all[i].extend(m);
        }
    }
    println!("\n| page | role | p50 ms | p95 ms | clients |");
    println!("|---|---|---:|---:|---:|");
    for ((path, role), mut ms) in probes.iter().zip(all) {
        ms.sort_by(f64::total_cmp);
        let shown = if path.starts_with("/desk/tasks/") {
            path.replacen(held, "{id}", 1)
        } else {
            path.clone()
        };
        println!(
            "| {shown} | {role} | {:.2} | {:.2} | {clients} |",
            ms[ms.len() / 2],
            ms[(ms.len() * 95 / 100).min(ms.len() - 1)]
        );
    }
    Ok(())
}

/// Seeds through the real intake until `cases` holds `target` cases, each
/// with `per_case` contacts named on it, printing progress.
async fn grow(
    cw: &Casework,
    syn: &mut Synthetic,
    counties: &[String],
    cases: &mut Vec<Uuid>,
    exposures: &mut Vec<Uuid>,
    target: usize,
    per_case: usize,
) -> anyhow::Result<()> {
    let start = Instant::now();
    let first = cases.len();
    // Where the seeding's time goes: results, contacts, case work.
    let mut phase = [std::time::Duration::ZERO; 3];
    while cases.len() < target {
        let before = cases.len();
        let t = Instant::now();
        let n = IMPORT_BATCH.min(target - cases.len());
        let labs: Vec<_> = (0..n)
            .map(|i| {
                let mut l = syn.positive_lab();
                l.jurisdiction = Some(counties[(cases.len() + i) % counties.len()].clone());
                l
            })
            .collect();
        let made = LabOutcomeView::cases(&cw.cases().ingest_lab_results(&labs).await);
        anyhow::ensure!(
            made.len() == n,
            "only {} of {n} results made cases",
            made.len()
        );
        phase[0] += t.elapsed();
        let t = Instant::now();
        // Contacts named in batches (the bulk intake), by several callers
        // at once.
        let mut named = tokio::task::JoinSet::new();
        for chunk in made.chunks(made.len().div_ceil(4).max(1)) {
            let items: Vec<_> = chunk
                .iter()
                .flat_map(|&case| (0..per_case).map(move |_| case))
                .map(|case| (case, syn.contact(chrono::Utc::now().date_naive())))
                .collect();
            let cw = cw.clone();
            named.spawn(async move {
                let mut ids = Vec::with_capacity(items.len());
                for ((case, input), o) in items.iter().zip(cw.cases().add_contacts(&items).await) {
                    ids.push((*case, o?.exposure_id, input.clone()));
                }
                anyhow::Ok(ids)
            });
        }
        let mut this_batch = Vec::new();
        while let Some(r) = named.join_next().await {
            this_batch.extend(r??);
        }
        exposures.extend(this_batch.iter().map(|(_, e, _)| *e));
        exposures.sort_unstable();
        phase[1] += t.elapsed();
        let t = Instant::now();
        let converted = case_work(cw, &made, &this_batch).await?;
        phase[2] += t.elapsed();
        cases.extend(made);
        cases.extend(converted);
        let done = cases.len() - first;
        let secs = start.elapsed().as_secs_f64();
        const EVERY: usize = 50_000;
        if cases.len() / EVERY > before / EVERY || cases.len() >= target {
            let [labs, named, work] = phase.map(|d| d.as_secs_f64());
            eprintln!(
                "  seeded {} cases, {} contacts ({:.0} cases/s; results {labs:.0} s, contacts {named:.0} s, case work {work:.0} s)",
                cases.len(),
                cases.len() * per_case,
                done as f64 / secs
            );
        }
    }
    Ok(())
}

/// What case work adds to a batch, so the tables hold what an operation's
/// do: every 20th case an outreach attempt and a household of its
/// contacts; every 50th case's first contact tests positive (a converted
/// record, a transmission edge, a new case). Returns the cases made.
async fn case_work(
    cw: &Casework,
    made: &[Uuid],
    named: &[(Uuid, Uuid, tracedesk_casework::ContactInput)],
) -> anyhow::Result<Vec<Uuid>> {
    let mut by_case: std::collections::HashMap<Uuid, Vec<_>> = std::collections::HashMap::new();
    for n in named {
        by_case.entry(n.0).or_default().push(n);
    }
    let mut labs = Vec::new();
    for (i, &case) in made.iter().enumerate() {
        let contacts = by_case.remove(&case).unwrap_or_default();
        if i % 20 == 0 {
            if let Some(t) = cw.cases().tasks_for_case(case).await?.first() {
                let attempt = tracedesk_casework::AttemptInput {
                    channel: Some("phone".into()),
                    outcome: Some("left_voicemail".into()),
                    ..Default::default()
                };
                cw.cases().record_attempt(t.id, &attempt).await?;
            }
            let household = tracedesk_casework::HouseholdInput {
                contact_ids: contacts.iter().map(|(_, e, _)| *e).collect(),
                ..Default::default()
            };
            cw.cases().put_household(case, &household).await?;
        }
        if i % 50 == 0
            && let Some((_, _, c)) = contacts.first()
        {
            labs.push(tracedesk_casework::LabResultInput {
                first_name: c.first_name.clone(),
                last_name: c.last_name.clone(),
                dob: c.dob.clone(),
                phone: c.phone.clone(),
                specimen_date: Some(chrono::Utc::now().date_naive().to_string()),
                result: Some("positive".into()),
                accession: Some(format!("CONV-{case}")),
                ..Default::default()
            });
        }
    }
    Ok(LabOutcomeView::cases(
        &cw.cases().ingest_lab_results(&labs).await,
    ))
}

/// The list routes and the roles that read them, first page and deep page.
fn probes(deep_case: &str, deep_contact: &str, deep_task: &str) -> Vec<Probe> {
    let mut v = Vec::new();
    let roles = ["root supervisor", "county supervisor", "tracer"];
    for (route, filter, deep) in [
        ("/api/v1/cases", "status=new", deep_case),
        ("/api/v1/contacts", "status=named", deep_contact),
    ] {
        for role in roles {
            for f in ["", filter] {
                for cursor in [None, Some(deep)] {
                    v.push(Probe {
                        route,
                        role,
                        query: query(f, cursor),
                    });
                }
            }
        }
    }
    for (case_cursor, task_cursor) in [(None, None), (Some(deep_case), Some(deep_task))] {
        v.push(Probe {
            route: "/api/v1/line-list",
            role: "analyst",
            query: query("", case_cursor),
        });
        v.push(Probe {
            route: "/api/v1/tasks",
            role: "tracer",
            query: query("", task_cursor),
        });
    }
    v
}

fn query(filter: &str, cursor: Option<&str>) -> String {
    let mut q = String::from("?limit=50");
    if !filter.is_empty() {
        q.push('&');
        q.push_str(filter);
    }
    if let Some(c) = cursor {
        q.push_str("&cursor=");
        q.push_str(c);
    }
    q
}

fn filter_of(query: &str) -> String {
    query
        .split(['?', '&'])
        .find(|p| p.starts_with("status="))
        .map(|f| format!(" ({f})"))
        .unwrap_or_default()
}

fn redact_cursor(query: &str) -> String {
    query
        .split('&')
        .map(|p| {
            if p.starts_with("cursor=") {
                "cursor=deep"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}
