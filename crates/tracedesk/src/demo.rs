//! `tracedesk demo`: a server over a synthetic outbreak, for a first look.

use crate::config::Config;
use crate::runtime;
use chrono::{Duration, NaiveDate, TimeZone, Utc};
use std::sync::Arc;
use tracedesk_casework::clusters::ClusterInput;
use tracedesk_casework::synthetic::Synthetic;
use tracedesk_casework::{
    AttemptInput, CasePatch, Casework, ContactInput, HouseholdInput, LabResultInput, NewUser,
    NoteOn, ReferralInput,
};
use tracedesk_identity::Role;

pub async fn run(mut config: Config, cases: usize) -> anyhow::Result<()> {
    // The demo keeps its own database so it never mixes with real data.
    config.data_dir = config.data_dir.join("demo");
    config.database_url = None;
    config.master_key_file = None;
    // Contacts name their own contacts in the demo; named contacts get
    // their first text at once, and the sandbox's people answer.
    config.contact_depth = config.contact_depth.max(2);
    config.messaging.notify_contacts = true;
    config.messaging.sandbox_personas = config.messaging.carrier == "sandbox";
    let cw = runtime::open(&config).await?;
    let counts = cw.counts().await.map_err(crate::admin::describe)?;
    if counts.cases == 0 {
        seed(&cw, cases).await?;
    } else {
        println!(
            "reusing the demo outbreak in {} ({} cases)",
            config.data_dir.display(),
            counts.cases
        );
    }
    // One live demo token: each run revokes the last one's before printing
    // a new one, so tokens do not pile up run after run.
    let name = "demo";
    let (user, _) = service_supervisor(&cw, "demo-supervisor").await?;
    cw.staff()
        .revoke_tokens(name)
        .await
        .map_err(crate::admin::describe)?;
    let token = cw
        .staff()
        .create_token(name, user)
        .await
        .map_err(crate::admin::describe)?;
    if config.listen.port() == 0 {
        // A free port chosen now, so the banner and the live outbreak name
        // the address the server will have.
        config.listen = std::net::TcpListener::bind(config.listen)?.local_addr()?;
    }
    let url = format!("http://{}", config.listen);
    let sign_in = staff_sign_ins(&cw).await?;
    tokio::spawn(outbreak(url.clone(), token.clone()));
    let staff = tokio::spawn(crate::demo_staff::start(
        cw.clone(),
        url.clone(),
        token.clone(),
        BOROUGHS,
    ));
    let banner = format!(
        "\ntracedesk demo is running at {url}\n\
         synthetic data only (no real people) in {}\n\n\
         {sign_in}a new positive result arrives every {}s (the outbreak goes on); two tracers of each\n\
         borough work their offers by themselves, so the floor moves\n\n\
         API token: {token}\n\n\
         try:\n  curl -s -H 'Authorization: Bearer {token}' '{url}/api/v1/cases?limit=5'\n  \
         curl -s {url}/api/v1/openapi.json\n\nCtrl-C stops it.",
        config.data_dir.display(),
        NEW_RESULT_EVERY.as_secs()
    );
    let served = crate::cli::serve(&config, Some(banner)).await;
    // The simulated tracers' tokens live only while the demo runs: none
    // is made once this has stopped the task that makes them.
    staff.abort();
    let _ = staff.await;
    if let Err(e) = cw.staff().revoke_tokens(crate::demo_staff::TOKEN).await {
        tracing::warn!(error = %e, "demo: simulation tokens not revoked");
    }
    served
}

/// How often the live outbreak reports a new positive result.
const NEW_RESULT_EVERY: std::time::Duration = std::time::Duration::from_secs(20);

/// The outbreak goes on while the demo runs: a new positive lab result in
/// a borough every [`NEW_RESULT_EVERY`], posted to the running server's
/// API like a lab feed, so interviews keep arriving on the floor and the
/// desks (and named contacts are texted, and the sandbox's people answer).
/// A failed post is skipped (the server may be starting or stopping).
async fn outbreak(url: String, token: String) {
    let http = reqwest::Client::new();
    let mut syn = Synthetic::new(
        u64::try_from(Utc::now().timestamp()).unwrap_or(1),
        Utc::now().date_naive(),
    );
    let mut n = 0usize;
    loop {
        tokio::time::sleep(NEW_RESULT_EVERY).await;
        n += 1;
        let mut lab = syn.positive_lab();
        lab.jurisdiction = Some(BOROUGHS[n % BOROUGHS.len()].0.to_string());
        lab.accession = Some(format!("DEMO-LIVE-{}-{n}", Utc::now().timestamp()));
        let sent = http
            .post(format!("{url}/api/v1/lab-results"))
            .bearer_auth(&token)
            .json(&lab)
            .send()
            .await;
        if let Err(e) = sent {
            tracing::debug!(error = %e, "the demo's new result was not posted");
        }
    }
}

/// The demo's ready sign-ins, one per role: (username, role).
const SIGN_INS: [(&str, &str); 4] = [
    ("tracer-bk-1", "tracer"),
    ("supervisor-bk", "supervisor"),
    ("analyst", "analyst"),
    ("admin", "admin"),
];

/// Readies the demo's four sign-ins and says how to use them: each run
/// gives each a fresh password, and their second factor is enrolled with
/// a key printed here — for the demo only (synthetic data); a real
/// operation never shows a password or an authenticator key.
async fn staff_sign_ins(cw: &Casework) -> anyhow::Result<String> {
    use rand::Rng;
    use tracedesk_identity::totp::step_of;
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let staff = cw.staff();
    let mut out = String::from(
        "sign in (demo only: synthetic data, so these passwords and authenticator keys are shown;\n\
         add a key to an authenticator app, or run `oathtool --totp -b KEY`):\n",
    );
    for (username, role) in SIGN_INS {
        let Some(user) = staff.user_by_username(username).await? else {
            continue;
        };
        let password: String = {
            let mut rng = rand::thread_rng();
            (0..20)
                .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
                .collect()
        };
        let mut user = staff
            .set_password(&user, &password)
            .await
            .map_err(crate::admin::describe)?;
        if !user.totp_confirmed {
            let (u, secret) = staff
                .begin_totp(&user)
                .await
                .map_err(crate::admin::describe)?;
            // Confirmed with the previous step's code, so the current one
            // still signs in.
            let code = secret.code_at(step_of(Utc::now().timestamp()) - 1);
            user = staff
                .check_totp(&u, &code)
                .await
                .map_err(crate::admin::describe)?
                .ok_or_else(|| anyhow::anyhow!("the demo's second factor did not enrol"))?;
        }
        let key = staff
            .totp_secret(&user)
            .map_err(crate::admin::describe)?
            .map(|s| s.base32())
            .unwrap_or_default();
        out.push_str(&format!(
            "  {role:<10} {username:<14} password {password}  authenticator key {key}\n"
        ));
    }
    out.push('\n');
    Ok(out)
}

/// Languages and their weights among a borough's people.
type Mix = &'static [(&'static str, u32)];

/// The city and its five boroughs: code, name, the languages its people
/// speak, and its share of the cases.
const BOROUGHS: &[(&str, &str, Mix, u32)] = &[
    (
        "nyc-mn",
        "Manhattan",
        &[("en", 55), ("es", 30), ("zh", 15)],
        17,
    ),
    (
        "nyc-bx",
        "The Bronx",
        &[("es", 50), ("en", 40), ("bn", 10)],
        18,
    ),
    (
        "nyc-bk",
        "Brooklyn",
        &[("en", 45), ("es", 20), ("ru", 15), ("ht", 10), ("zh", 10)],
        30,
    ),
    (
        "nyc-qn",
        "Queens",
        &[("en", 35), ("es", 30), ("zh", 15), ("bn", 10), ("ko", 10)],
        27,
    ),
    (
        "nyc-si",
        "Staten Island",
        &[("en", 80), ("es", 10), ("ru", 10)],
        8,
    ),
];

/// Days the outbreak has run.
const DAYS: i64 = 21;

struct Seeded {
    case: uuid::Uuid,
    person: (String, String, NaiveDate),
    borough: usize,
    age: i64,
}

/// Seeds an operation: the city and its boroughs, teams and staff, three
/// weeks of cases on a rising curve with onsets, every status of the case
/// and contact lifecycles, households, two clusters, contacts of contacts
/// and converted contacts. Prints a summary.
async fn seed(cw: &Casework, cases: usize) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let mut syn = Synthetic::new(2020, today);
    let staff = cw.staff();
    if !cw.jurisdictions().contains("nyc") {
        staff
            .add_jurisdiction("nyc", "New York City", Some("root"))
            .await?;
    }
    let mut tracers: Vec<Vec<uuid::Uuid>> = Vec::new();
    if staff.user_by_username("admin").await?.is_some() {
        anyhow::bail!(
            "the demo's staff exist but its outbreak does not: remove the demo's data directory to start again"
        );
    }
    for (code, name, mix, _) in BOROUGHS.iter() {
        if !cw.jurisdictions().contains(code) {
            staff.add_jurisdiction(code, name, Some("nyc")).await?;
        }
        let team = staff.add_team(&format!("{name} tracers"), code).await?;
        let mut mine = Vec::new();
        for i in 1..=8 {
            let p = syn.demo_person(mix);
            let username = format!("tracer-{}-{i}", &code[4..]);
            let (u, _) = staff
                .add_user(NewUser::new(
                    &username,
                    &format!("{} {}", p.first, p.last),
                    Role::Tracer,
                    code,
                ))
                .await?;
            staff.set_team_member(team.id, u.id, true).await?;
            mine.push(u.id);
        }
        let username = format!("supervisor-{}", &code[4..]);
        let (u, _) = staff
            .add_user(NewUser::new(
                &username,
                &format!("{name} Supervisor"),
                Role::Supervisor,
                code,
            ))
            .await?;
        staff.set_team_member(team.id, u.id, true).await?;
        tracers.push(mine);
    }
    for (username, role, j) in [
        ("analyst", Role::Analyst, "nyc"),
        ("admin", Role::Admin, "root"),
    ] {
        staff
            .add_user(NewUser::new(username, &format!("Demo {username}"), role, j))
            .await?;
    }

    // Three weeks of cases on a rising curve, reported day by day.
    let weights: Vec<f64> = (0..DAYS).map(|d| (0.13 * d as f64).exp()).collect();
    let total: f64 = weights.iter().sum();
    let share: u32 = BOROUGHS.iter().map(|b| b.3).sum();
    let mut seeded: Vec<Seeded> = Vec::new();
    for (d, w) in weights.iter().enumerate() {
        let age = DAYS - 1 - d as i64;
        let day = today - Duration::days(age);
        let n = (((cases as f64) * w / total).round() as usize).max(usize::from(age < 3));
        let mut labs = Vec::new();
        let mut who = Vec::new();
        for i in 0..n {
            let mut roll = syn.gen_range(0, share);
            let b = BOROUGHS
                .iter()
                .position(|x| {
                    let hit = roll < x.3;
                    roll = roll.saturating_sub(x.3);
                    hit
                })
                .unwrap_or(0);
            let p = syn.demo_person(BOROUGHS[b].2);
            let specimen = day - Duration::days(i64::from(syn.gen_range(0, 3)));
            labs.push(LabResultInput {
                first_name: Some(p.first.clone()),
                last_name: Some(p.last.clone()),
                dob: Some(p.dob.to_string()),
                phone: Some(p.phone.clone()),
                language: Some(p.language.into()),
                specimen_date: Some(specimen.to_string()),
                result: Some("positive".into()),
                test_type: Some("SARS-CoV-2 RT-PCR".into()),
                accession: Some(format!("DEMO-{}-{d:02}-{i:04}", day.format("%Y%m%d"))),
                lab: Some("Synthetic Public Health Laboratory".into()),
                jurisdiction: Some(BOROUGHS[b].0.into()),
                ..Default::default()
            });
            who.push((b, (p.first, p.last, p.dob), specimen));
        }
        let at = Utc.from_utc_datetime(&day.and_hms_opt(10, 0, 0).unwrap_or_default());
        let that_day = cw.clone().with_clock(Arc::new(move || at));
        for (o, (b, person, specimen)) in that_day
            .cases()
            .ingest_lab_results(&labs)
            .await
            .iter()
            .zip(who)
        {
            let Some(case) = o.case_id else { continue };
            // Most cases had symptoms, beginning a few days before the test.
            if syn.chance(0.8) {
                let onset = specimen - Duration::days(i64::from(syn.gen_range(1, 6)));
                that_day
                    .cases()
                    .patch_case(
                        case,
                        &CasePatch {
                            onset_date: Some(Some(onset.to_string())),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
            seeded.push(Seeded {
                case,
                person,
                borough: b,
                age,
            });
        }
    }

    let mut stats = std::collections::BTreeMap::<&str, usize>::new();
    let mut older_contacts = Vec::new();
    for s in &seeded {
        let tracer = *tracers[s.borough]
            .get(s.case.as_u128() as usize % 8)
            .unwrap_or(&tracers[s.borough][0]);
        let status = case_path(&mut syn, s.age);
        if status.len() > 1 {
            // Under investigation: the interview went to a tracer of the
            // borough, who tried the phone first.
            if let Some(t) = cw.cases().tasks_for_case(s.case).await?.first() {
                cw.cases().assign_task(t.id, Some(tracer)).await?;
                cw.cases()
                    .by(tracer)
                    .record_attempt(
                        t.id,
                        &AttemptInput {
                            channel: Some("phone".into()),
                            outcome: Some(
                                if syn.chance(0.3) {
                                    "no_answer"
                                } else {
                                    "reached"
                                }
                                .into(),
                            ),
                            ..Default::default()
                        },
                    )
                    .await?;
            }
        }
        // Every step but a last close: contacts are named while it is open.
        let closes = status.last() == Some(&"closed");
        for step in &status[1..status.len() - usize::from(closes)] {
            let patch = CasePatch {
                status: Some((*step).into()),
                ..Default::default()
            };
            cw.cases().by(tracer).patch_case(s.case, &patch).await?;
        }
        let last = status.last().copied().unwrap_or("new");
        *stats.entry(last).or_default() += 1;
        if matches!(last, "refused" | "unreachable") || s.age == 0 {
            continue;
        }
        // Contacts: 0 to 5, a household for many, ongoing exposure at home.
        let n = syn.gen_range(0, 6).min(syn.gen_range(0, 6));
        let mut household = Vec::new();
        let specimen = today - Duration::days(s.age);
        for _ in 0..n {
            let p = syn.demo_person(BOROUGHS[s.borough].2);
            let at_home = syn.chance(0.4);
            let input = ContactInput {
                first_name: Some(p.first.clone()),
                last_name: Some(if at_home {
                    s.person.1.clone()
                } else {
                    p.last.clone()
                }),
                dob: Some(p.dob.to_string()),
                phone: syn.chance(0.64).then(|| p.phone.clone()),
                language: Some(p.language.into()),
                exposure_dates: vec![
                    (specimen - Duration::days(i64::from(syn.gen_range(0, 3))))
                        .min(today)
                        .to_string(),
                ],
                setting: Some(
                    if at_home {
                        "household"
                    } else {
                        ["workplace", "school", "event", "other"][syn.gen_range(0, 4) as usize]
                    }
                    .into(),
                ),
                ongoing_exposure: at_home && syn.chance(0.6),
                ..Default::default()
            };
            let Ok(out) = cw.cases().by(tracer).add_contact(s.case, &input).await else {
                continue;
            };
            if at_home {
                household.push(out.exposure_id);
            }
            if out.resolution == "named" {
                older_contacts.push((out.exposure_id, s.age, input, s.borough));
            }
        }
        if !household.is_empty() {
            cw.cases()
                .by(tracer)
                .put_household(
                    s.case,
                    &HouseholdInput {
                        contact_ids: household,
                        ..Default::default()
                    },
                )
                .await?;
        }
        if syn.chance(0.05) {
            cw.cases()
                .by(tracer)
                .refer(
                    NoteOn::Case(s.case),
                    &ReferralInput {
                        kind: Some("food".into()),
                        details: Some("groceries for two weeks".into()),
                    },
                )
                .await?;
        }
        if closes {
            let patch = CasePatch {
                status: Some("closed".into()),
                ..Default::default()
            };
            cw.cases().by(tracer).patch_case(s.case, &patch).await?;
        }
    }

    // Contacts move along by how long ago they were named; a few test
    // positive (converted), a few name contacts of their own.
    let mut cstats = std::collections::BTreeMap::<String, usize>::new();
    let mut converted = 0;
    let mut of_contacts = 0;
    for (i, (e, age, input, b)) in older_contacts.iter().enumerate() {
        for step in contact_path(&mut syn, *age) {
            cw.cases().set_contact_status(*e, step).await?;
        }
        if *age >= 5 && *age <= 16 && syn.chance(0.1) {
            let lab = LabResultInput {
                first_name: input.first_name.clone(),
                last_name: input.last_name.clone(),
                dob: input.dob.clone(),
                specimen_date: Some((today - Duration::days(age - 3)).to_string()),
                result: Some("positive".into()),
                accession: Some(format!("DEMO-C-{i:05}")),
                lab: Some("Synthetic Public Health Laboratory".into()),
                jurisdiction: Some(BOROUGHS[*b].0.into()),
                ..Default::default()
            };
            if cw
                .cases()
                .ingest_lab_results(&[lab])
                .await
                .iter()
                .any(|o| !o.converted.is_empty())
            {
                converted += 1;
            }
        } else if of_contacts < 12 && *age >= 3 && *age <= 10 {
            let p = syn.demo_person(BOROUGHS[*b].2);
            let input = ContactInput {
                first_name: Some(p.first),
                last_name: Some(p.last),
                dob: Some(p.dob.to_string()),
                exposure_dates: vec![(today - Duration::days(age - 2)).to_string()],
                setting: Some("other".into()),
                ..Default::default()
            };
            if let Ok(mut named) = cw.cases().add_contacts_of(*e, &[input]).await
                && matches!(named.pop(), Some(Ok(_)))
            {
                of_contacts += 1;
            }
        }
        if let Some(row) = cw.cases().exposure_row(*e).await? {
            *cstats.entry(row.status).or_default() += 1;
        }
    }

    // Cases that named each other: an exposure between two cases.
    let open: Vec<&Seeded> = seeded.iter().filter(|s| (3..=9).contains(&s.age)).collect();
    for pair in open
        .windows(2)
        .filter(|w| w[0].borough == w[1].borough)
        .take(3)
    {
        let (first, last, dob) = &pair[1].person;
        let input = ContactInput {
            first_name: Some(first.clone()),
            last_name: Some(last.clone()),
            dob: Some(dob.to_string()),
            exposure_dates: vec![(today - Duration::days(pair[0].age + 1)).to_string()],
            setting: Some("workplace".into()),
            ..Default::default()
        };
        if let Ok(out) = cw.cases().add_contact(pair[0].case, &input).await {
            *cstats.entry(out.resolution.to_string()).or_default() += 1;
        }
    }

    // Two clusters: a wedding in Brooklyn, a warehouse in the Bronx.
    for (b, name, setting, from, to) in [
        (2usize, "Sunset Park wedding", "event", 16i64, 15i64),
        (1, "Hunts Point warehouse", "workplace", 12, 6),
    ] {
        let cluster = cw
            .cases()
            .create_cluster(
                &ClusterInput {
                    name: Some(name.into()),
                    setting: Some(setting.into()),
                    starts: Some((today - Duration::days(from)).to_string()),
                    ends: Some((today - Duration::days(to)).to_string()),
                    jurisdiction: None,
                },
                BOROUGHS[b].0,
            )
            .await?;
        let row = cw.cases().cluster_row(cluster.id).await?;
        let members: Vec<_> = seeded
            .iter()
            .filter(|s| s.borough == b && s.age <= from - 2 && s.age >= to.saturating_sub(6))
            .take(6)
            .collect();
        if let Some(row) = row {
            for s in members {
                if let Some(m) = cw
                    .cases()
                    .member_row(tracedesk_casework::clusters::ClusterMember::Case(s.case))
                    .await?
                {
                    cw.cases().add_cluster_member(&row, &m).await?;
                }
            }
        }
    }

    let counts = cw.counts().await?;
    println!(
        "seeded a synthetic operation: New York City and its five boroughs, {} tracers, \
         {} cases over {DAYS} days ({}), {} contact records ({}), {converted} converted \
         contacts, {of_contacts} contacts of contacts, two clusters",
        8 * BOROUGHS.len(),
        counts.cases,
        stats
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        counts.exposures,
        cstats
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    Ok(())
}

/// The statuses a case of this age (days since report) went through.
fn case_path(syn: &mut Synthetic, age: i64) -> Vec<&'static str> {
    let roll = syn.gen_range(0, 100);
    match age {
        0..=1 => vec!["new"],
        2..=6 => match roll {
            0..=19 => vec!["new"],
            20..=69 => vec!["new", "interviewing"],
            70..=89 => vec!["new", "interviewing", "isolating"],
            _ => vec!["new", "unreachable"],
        },
        7..=13 => match roll {
            0..=9 => vec!["new", "interviewing"],
            10..=84 => vec!["new", "interviewing", "isolating"],
            85..=92 => vec!["new", "unreachable"],
            _ => vec!["new", "refused"],
        },
        _ => match roll {
            0..=89 => vec!["new", "interviewing", "isolating", "closed"],
            90..=94 => vec!["new", "refused"],
            _ => vec!["new", "unreachable", "closed"],
        },
    }
}

/// The steps a contact named this many days ago took after `named`.
fn contact_path(syn: &mut Synthetic, age: i64) -> Vec<&'static str> {
    let roll = syn.gen_range(0, 100);
    match age {
        0..=1 => vec![],
        2..=5 => match roll {
            0..=29 => vec!["notified"],
            30..=79 => vec!["notified", "monitoring"],
            80..=89 => vec!["notified", "symptomatic", "referred_for_testing"],
            _ => vec!["unreachable"],
        },
        6..=13 => match roll {
            0..=69 => vec!["notified", "monitoring"],
            70..=79 => vec!["notified", "monitoring", "symptomatic"],
            80..=89 => vec!["unreachable", "lost"],
            90..=94 => vec!["refused"],
            _ => vec!["transferred"],
        },
        _ => match roll {
            0..=84 => vec!["notified", "monitoring", "completed"],
            85..=94 => vec!["unreachable", "lost"],
            _ => vec!["notified", "refused"],
        },
    }
}

/// A supervisor over every jurisdiction for the demo and benchmarks (its
/// API token reads all synthetic cases); created once, reused after.
pub async fn service_supervisor(
    cw: &tracedesk_casework::Casework,
    username: &str,
) -> anyhow::Result<(uuid::Uuid, Option<String>)> {
    if let Some(u) = cw.staff().user_by_username(username).await? {
        return Ok((u.id, None));
    }
    let (v, temp) = cw
        .staff()
        .add_user(tracedesk_casework::NewUser::new(
            username,
            "Synthetic Supervisor",
            tracedesk_identity::Role::Supervisor,
            tracedesk_identity::jurisdiction::ROOT,
        ))
        .await
        .map_err(crate::admin::describe)?;
    Ok((v.id, temp))
}
