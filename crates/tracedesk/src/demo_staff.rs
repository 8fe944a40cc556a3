//! The demo's floor comes alive: once the server leads routing, every demo
//! tracer becomes a routing worker (their borough's languages; the eighth
//! of each borough also clinical), and two tracers of each borough are
//! simulated — Available, they accept what they are offered, work it for
//! a while and wrap it up as reached — so the supervisor floor moves and
//! the queues drain while a person uses the desk as `tracer-bk-1`.
//!
//! The simulated tracers work through the same routes a browser does
//! (`/desk`, `/desk/offers/{r}/accept`, `/desk/tasks/{id}/wrap-up`) with
//! API tokens of their own, so each step is checked and audited like a
//! person's. The tokens are named `demo-sim`; the demo revokes them when
//! it stops, and each run revokes any a killed run left first.

use rand::Rng;
use std::time::Duration;
use tracedesk_casework::Casework;

/// The simulated tracers' tokens' name.
pub const TOKEN: &str = "demo-sim";

/// Tracers of each borough the demo works itself (1 is left to people).
const SIMULATED: [usize; 2] = [2, 3];

/// The demo's boroughs' codes and languages, as seeded.
pub type Boroughs = &'static [(
    &'static str,
    &'static str,
    &'static [(&'static str, u32)],
    u32,
)];

/// Registers the demo's tracers with routing and starts the simulated ones.
/// Runs in the background; a step that fails is logged and the demo goes on.
pub async fn start(cw: Casework, url: String, token: String, boroughs: Boroughs) {
    let http = reqwest::Client::new();
    // The server is starting beside this: wait until it answers.
    let mut up = false;
    for _ in 0..120 {
        let r = http
            .get(format!("{url}/api/v1/routing/stats"))
            .bearer_auth(&token)
            .send()
            .await;
        if r.is_ok_and(|r| r.status().is_success()) {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if !up {
        tracing::warn!("demo: routing did not start; tracers are not simulated");
        return;
    }
    if let Err(e) = cw.staff().revoke_tokens(TOKEN).await {
        tracing::warn!(error = %e, "demo: old simulation tokens not revoked");
    }
    for (code, _, mix, _) in boroughs {
        let languages: Vec<&str> = mix.iter().map(|m| m.0).collect();
        for i in 1..=8 {
            let username = format!("tracer-{}-{i}", &code[4..]);
            let Ok(Some(user)) = cw.staff().user_by_username(&username).await else {
                continue;
            };
            let mut skills = vec!["case_investigation", "contact_notification"];
            if i == 8 {
                skills.push("clinical");
            }
            // Already a worker from an earlier run: routing answers 409.
            let _ = http
                .post(format!("{url}/api/v1/routing/workers"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"user_id": user.id, "attributes": {
                    "skills": skills, "languages": languages}}))
                .send()
                .await;
            if SIMULATED.contains(&i) {
                match cw.staff().create_token(TOKEN, user.id).await {
                    Ok(t) => {
                        tokio::spawn(simulate(url.clone(), t, user.id));
                    }
                    Err(e) => tracing::warn!(error = %e, "demo: a simulated tracer has no token"),
                }
            }
        }
    }
}

/// One simulated tracer: Available, then accept each offer, work it for 20
/// to 90 seconds and wrap it up as reached, forever.
async fn simulate(url: String, token: String, id: uuid::Uuid) {
    let http = reqwest::Client::new();
    let _ = http
        .post(format!("{url}/api/v1/routing/workers/{id}/activity"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"activity": "Available"}))
        .send()
        .await;
    loop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        let Ok(r) = http
            .get(format!("{url}/desk"))
            .bearer_auth(&token)
            .send()
            .await
        else {
            continue;
        };
        let Ok(page) = r.text().await else { continue };
        let Some(offer) = offer_in(&page) else {
            continue;
        };
        let Ok(r) = http
            .post(format!("{url}/desk/offers/{offer}/accept"))
            .bearer_auth(&token)
            .header("hx-request", "true")
            .send()
            .await
        else {
            continue;
        };
        let Some(task) = r
            .headers()
            .get("hx-redirect")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
        else {
            continue;
        };
        let work = rand::thread_rng().gen_range(20..=90);
        tokio::time::sleep(Duration::from_secs(work)).await;
        let wrapped = http
            .post(format!("{url}{task}/wrap-up"))
            .bearer_auth(&token)
            .header("hx-request", "true")
            .form(&[
                ("channel", "phone"),
                ("outcome", "reached"),
                ("note", "simulated"),
            ])
            .send()
            .await;
        if let Err(e) = wrapped {
            tracing::debug!(error = %e, "demo: a simulated wrap-up failed");
        }
    }
}

/// The first offer's reservation number on a desk page (the page also
/// links `/desk/offers/stream`, which is no offer).
fn offer_in(html: &str) -> Option<String> {
    html.split("/desk/offers/").skip(1).find_map(|rest| {
        let r = rest.split('/').next()?;
        (!r.is_empty()
            && r.chars().all(|c| c.is_ascii_digit())
            && rest[r.len()..].starts_with("/accept"))
        .then(|| r.to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn offers_are_read_from_the_desk() {
        let page = r#"<div sse-connect="/desk/offers/stream"></div>
            <button hx-post="/desk/offers/42/accept">Accept</button>"#;
        assert_eq!(super::offer_in(page).as_deref(), Some("42"));
        assert_eq!(super::offer_in("<p>No offer waiting</p>"), None);
    }
}
