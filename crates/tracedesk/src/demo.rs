//! `tracedesk demo`: a server over a synthetic outbreak, for a first look.

use crate::config::Config;
use crate::runtime;
use chrono::NaiveDate;
use tracedesk_casework::synthetic::Synthetic;

pub async fn run(mut config: Config, cases: usize) -> anyhow::Result<()> {
    // The demo keeps its own database so it never mixes with real data.
    config.data_dir = config.data_dir.join("demo");
    config.database_url = None;
    config.master_key_file = None;
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
    let (user, temp) = service_supervisor(&cw, "demo-supervisor").await?;
    cw.staff()
        .revoke_tokens(name)
        .await
        .map_err(crate::admin::describe)?;
    let token = cw
        .staff()
        .create_token(name, user)
        .await
        .map_err(crate::admin::describe)?;
    let url = format!("http://{}", config.listen);
    let sign_in = match temp {
        Some(pw) => format!(
            "browser: {url}/login as demo-supervisor, temporary password {pw}\n\
             (you will enrol an authenticator app and choose a new password)\n\n"
        ),
        None => String::new(),
    };
    let banner = format!(
        "\ntracedesk demo is running at {url}\n\
         synthetic data only (no real people) in {}\n\n\
         {sign_in}API token: {token}\n\n\
         try:\n  curl -s -H 'Authorization: Bearer {token}' '{url}/api/v1/cases?limit=5'\n  \
         curl -s {url}/api/v1/openapi.json\n\nCtrl-C stops it.",
        config.data_dir.display()
    );
    crate::cli::serve(&config, Some(banner)).await
}

async fn seed(cw: &tracedesk_casework::Casework, cases: usize) -> anyhow::Result<()> {
    let today = chrono::Utc::now().date_naive();
    let mut syn = Synthetic::new(2020, today);
    let labs: Vec<_> = (0..cases).map(|_| syn.positive_lab()).collect();
    let outcomes = cw.cases().ingest_lab_results(&labs).await;
    let mut contacts = 0;
    for (lab, o) in labs.iter().zip(&outcomes) {
        let Some(case_id) = o.case_id else { continue };
        let specimen = lab
            .specimen_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or(today);
        // Contacts per case: 0 to 4, median near the 1.2 CDC reported.
        for _ in 0..syn.gen_range(0, 5).min(syn.gen_range(0, 5)) {
            cw.cases()
                .add_contact(case_id, &syn.contact(specimen))
                .await?;
            contacts += 1;
        }
    }
    println!("seeded a synthetic outbreak: {cases} cases, {contacts} contacts");
    Ok(())
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
