//! The steps after the password are throttled and lock the account like
//! the password itself, and a locked account is refused everywhere: its
//! sessions and API tokens stop at once (security issue, items 1, 6, 11, 14).

use crate::common::Harness;
use crate::login::{PW, add, csrf, login, me, send};
use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tracedesk_casework::AuthPolicy;
use tracedesk_identity::Role;
use tracedesk_identity::session::SessionPolicy;
use tracedesk_identity::throttle::ThrottlePolicy;
use tracedesk_identity::totp::{Secret, step_of};

fn locking_after(n: u32) -> AuthPolicy {
    AuthPolicy {
        session: SessionPolicy::default(),
        throttle: ThrottlePolicy {
            free_failures: 100,
            lockout_after: n,
            ..ThrottlePolicy::default()
        },
    }
}

/// Signs `name` in and enrols a second factor; returns the secret and the
/// step whose code was used.
async fn enrolled(h: &Harness, name: &str) -> (Secret, i64) {
    add(h, name, Role::Supervisor, true).await;
    let (_, _, c) = login(h, name, PW, None).await;
    let c = c.unwrap();
    let (s, v, _) = post(h, "/api/v1/auth/enrol", &c, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let secret = Secret::from_base32(v["secret"].as_str().unwrap()).unwrap();
    let step = step_of(h.now().timestamp());
    let (s, v, _) = post(
        h,
        "/api/v1/auth/enrol/confirm",
        &c,
        Some(json!({"code": secret.code_at(step)})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    (secret, step)
}

/// A wrong code that can never be right for `secret` at `step` or its neighbours.
fn wrong_code(secret: &Secret, step: i64) -> String {
    let near: Vec<String> = (step - 2..=step + 3).map(|s| secret.code_at(s)).collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// A sign-in step: POST with the session cookie and its CSRF token.
async fn post(
    h: &Harness,
    path: &str,
    session: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value, Option<String>) {
    send(
        h,
        Method::POST,
        path,
        Some(session),
        Some(&csrf(session)),
        body,
    )
    .await
}

async fn code(h: &Harness, path: &str, session: &str, code: &str) -> StatusCode {
    post(h, path, session, Some(json!({ "code": code })))
        .await
        .0
}

/// Three wrong codes at `path`, each refused as wrong (not yet throttled).
async fn three_wrong(h: &Harness, path: &str, session: &str, bad: &str) {
    for _ in 0..3 {
        assert_eq!(code(h, path, session, bad).await, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn wrong_codes_are_throttled_like_passwords() {
    let policy = AuthPolicy {
        session: SessionPolicy::default(),
        throttle: ThrottlePolicy {
            free_failures: 3,
            base_delay: Duration::seconds(60),
            ..ThrottlePolicy::default()
        },
    };
    let h = crate::common::spawn(policy).await;
    let (secret, step) = enrolled(&h, "bruteforced").await;
    let (_, _, c) = login(&h, "bruteforced", PW, None).await;
    let c = c.unwrap();
    let bad = wrong_code(&secret, step);
    three_wrong(&h, "/api/v1/auth/totp", &c, &bad).await;
    // The fourth guess must wait, and so must the right code: no more
    // guesses per minute than the password allows.
    assert_eq!(
        code(&h, "/api/v1/auth/totp", &c, &bad).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let right = secret.code_at(step_of(h.now().timestamp()) + 1);
    assert_eq!(
        code(&h, "/api/v1/auth/totp", &c, &right).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn wrong_codes_lock_the_account_and_end_everything_it_had() {
    let h = crate::common::spawn(locking_after(4)).await;
    let (secret, step) = enrolled(&h, "target").await;
    let id =
        h.cw.staff()
            .user_by_username("target")
            .await
            .unwrap()
            .unwrap()
            .id;
    let token = h.cw.staff().create_token("target-token", id).await.unwrap();
    // A session that finished signing in earlier, and an API token.
    let (_, _, full) = login(&h, "target", PW, None).await;
    let full = full.unwrap();
    let (s, _, full) = post(
        &h,
        "/api/v1/auth/totp",
        &full,
        Some(json!({"code": secret.code_at(step + 1)})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let full = full.unwrap();
    assert_eq!(me(&h, &full).await, StatusCode::OK);
    assert_eq!(
        h.call(&token, Method::GET, "/api/v1/auth/me", None).await.0,
        StatusCode::OK
    );

    // Signing in again between guesses does not reset the count.
    let bad = wrong_code(&secret, step);
    let (_, _, a) = login(&h, "target", PW, None).await;
    let a = a.unwrap();
    for _ in 0..2 {
        assert_eq!(
            code(&h, "/api/v1/auth/totp", &a, &bad).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let (_, _, b) = login(&h, "target", PW, None).await;
    let b = b.unwrap();
    for _ in 0..2 {
        assert_eq!(
            code(&h, "/api/v1/auth/totp", &b, &bad).await,
            StatusCode::UNAUTHORIZED
        );
    }
    let u =
        h.cw.staff()
            .user_by_username("target")
            .await
            .unwrap()
            .unwrap();
    assert!(u.locked_at.is_some(), "four wrong codes lock the account");

    // The right code no longer opens a session, nor does the password.
    // Two steps on, a code that would be accepted were the account open.
    h.advance(Duration::seconds(60));
    let right = secret.code_at(step_of(h.now().timestamp()));
    assert_ne!(
        code(&h, "/api/v1/auth/totp", &b, &right).await,
        StatusCode::OK
    );
    assert_eq!(
        login(&h, "target", PW, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // What it had open stops working at once.
    assert_eq!(
        me(&h, &full).await,
        StatusCode::UNAUTHORIZED,
        "its session ended"
    );
    assert_eq!(
        h.call(&token, Method::GET, "/api/v1/auth/me", None).await.0,
        StatusCode::UNAUTHORIZED,
        "the API token of a locked account is refused"
    );
    let log = h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter().any(|e| e.draft.object_id == Some(id)
            && e.draft
                .detail
                .contains("locked after repeated failures (second factor)")),
        "the lockout by the second factor is audited"
    );
    h.cw.staff().unlock_user("target").await.unwrap();
    assert_eq!(
        h.call(&token, Method::GET, "/api/v1/auth/me", None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn wrong_enrolment_codes_lock_too_and_block_the_password_change() {
    let h = crate::common::spawn(locking_after(3)).await;
    add(&h, "enrolling", Role::Tracer, true).await;
    let (_, _, c) = login(&h, "enrolling", PW, None).await;
    let c = c.unwrap();
    let (s, v, _) = post(&h, "/api/v1/auth/enrol", &c, None).await;
    assert_eq!(s, StatusCode::OK);
    let secret = Secret::from_base32(v["secret"].as_str().unwrap()).unwrap();
    let step = step_of(h.now().timestamp());
    let bad = wrong_code(&secret, step);
    three_wrong(&h, "/api/v1/auth/enrol/confirm", &c, &bad).await;
    assert_ne!(
        code(&h, "/api/v1/auth/enrol/confirm", &c, &secret.code_at(step)).await,
        StatusCode::OK,
        "a locked account cannot finish enrolment"
    );
    let (s, _, _) = post(
        &h,
        "/api/v1/auth/password",
        &c,
        Some(json!({"current_password": PW, "new_password": "a brand new passphrase 77"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&h, &c).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_only_session_cannot_sign_out_everywhere() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    let (secret, step) = enrolled(&h, "victim").await;
    let (_, _, full) = login(&h, "victim", PW, None).await;
    let full = full.unwrap();
    let (_, _, full) = post(
        &h,
        "/api/v1/auth/totp",
        &full,
        Some(json!({"code": secret.code_at(step + 1)})),
    )
    .await;
    let full = full.unwrap();
    // Someone with the password alone.
    let (_, _, half) = login(&h, "victim", PW, None).await;
    let half = half.unwrap();
    let (s, _, _) = post(&h, "/api/v1/auth/logout-everywhere", &half, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        me(&h, &full).await,
        StatusCode::OK,
        "the owner's session survives"
    );
}

/// After failures for an account, a fresh address gets the same answer for
/// that account as for a name no account has.
#[tokio::test]
async fn throttled_answers_do_not_tell_which_names_exist() {
    let policy = AuthPolicy {
        session: SessionPolicy::default(),
        throttle: ThrottlePolicy {
            free_failures: 3,
            base_delay: Duration::seconds(60),
            ..ThrottlePolicy::default()
        },
    };
    let h = crate::common::spawn(policy).await;
    add(&h, "realname", Role::Supervisor, false).await;
    let from = |ip: [u8; 4]| {
        reqwest::Client::builder()
            .local_address(std::net::IpAddr::from(ip))
            .build()
            .unwrap()
    };
    let attempt = |c: reqwest::Client, user: &'static str| {
        let url = format!("{}/api/v1/auth/login", h.base);
        async move {
            c.post(url)
                .json(&json!({"username": user, "password": "not the password at all"}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for (i, user) in ["realname", "nosuchname"].into_iter().enumerate() {
        for n in 0..3u8 {
            // Each failure from its own address, so only the account counts.
            let c = from([127, 0, 10 + i as u8, 1 + n]);
            assert_eq!(attempt(c, user).await, StatusCode::UNAUTHORIZED);
        }
    }
    let real = attempt(from([127, 0, 20, 1]), "realname").await;
    let unknown = attempt(from([127, 0, 20, 2]), "nosuchname").await;
    assert_eq!(real, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(unknown, real, "an unknown name is answered like a real one");
}
