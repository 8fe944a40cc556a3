//! Staff sign-in over HTTP: TOTP enrolment and replay, session fixation and
//! rotation, CSRF, idle and absolute expiry, throttling, lockout and unlock,
//! forced password change and the common-password list.

use crate::common::Harness;
use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tracedesk_casework::{AuthPolicy, NewUser};
use tracedesk_identity::session::SessionPolicy;
use tracedesk_identity::throttle::ThrottlePolicy;
use tracedesk_identity::totp::{Secret, step_of};
use tracedesk_identity::{Role, session};
use tracedesk_store::audit::Action;

pub(crate) const PW: &str = "orbit lantern quietly 9";

pub(crate) async fn add(h: &Harness, name: &str, role: Role, mfa: bool) {
    h.cw.staff()
        .add_user(
            NewUser::new(name, "Wanjiru Kamau", role, "root")
                .with_password(PW)
                .mfa(mfa),
        )
        .await
        .unwrap();
}

/// One request with an optional session cookie and CSRF header; returns the
/// status, the JSON body and the session token of any Set-Cookie.
pub(crate) async fn send(
    h: &Harness,
    method: Method,
    path: &str,
    cookie: Option<&str>,
    csrf: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = h.http.request(method, format!("{}{path}", h.base));
    if let Some(c) = cookie {
        req = req.header("cookie", format!("td_session={c}"));
    }
    if let Some(t) = csrf {
        req = req.header("x-csrf-token", t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    let set = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("td_session="))
        .map(|v| v.split(';').next().unwrap_or("").to_string());
    let text = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        set,
    )
}

pub(crate) async fn login(
    h: &Harness,
    user: &str,
    pw: &str,
    cookie: Option<&str>,
) -> (StatusCode, Value, Option<String>) {
    send(
        h,
        Method::POST,
        "/api/v1/auth/login",
        cookie,
        None,
        Some(json!({"username": user, "password": pw})),
    )
    .await
}

pub(crate) async fn me(h: &Harness, token: &str) -> StatusCode {
    send(h, Method::GET, "/api/v1/auth/me", Some(token), None, None)
        .await
        .0
}

pub(crate) fn csrf(token: &str) -> String {
    session::csrf_for(token)
}

#[tokio::test]
async fn totp_enrolment_rotation_and_replay() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    add(&h, "wkamau", Role::Tracer, true).await;
    let (s, v, c1) = login(&h, "wkamau", PW, None).await;
    assert_eq!(
        (s, v["next"].as_str()),
        (StatusCode::OK, Some("enrol")),
        "{v}"
    );
    let c1 = c1.unwrap();
    assert_eq!(
        me(&h, &c1).await,
        StatusCode::FORBIDDEN,
        "no PHI API before the second factor"
    );
    let (s, v, _) = send(
        &h,
        Method::POST,
        "/api/v1/auth/enrol",
        Some(&c1),
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf"))
    );
    let (s, v, _) = send(
        &h,
        Method::POST,
        "/api/v1/auth/enrol",
        Some(&c1),
        Some(&csrf(&c1)),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert!(
        v["otpauth_uri"]
            .as_str()
            .unwrap()
            .starts_with("otpauth://totp/tracedesk:wkamau?secret=")
    );
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = Secret::from_base32(v["secret"].as_str().unwrap()).unwrap();
    let step = step_of(h.now().timestamp());
    let (s, v, c2) = send(
        &h,
        Method::POST,
        "/api/v1/auth/enrol/confirm",
        Some(&c1),
        Some(&csrf(&c1)),
        Some(json!({"code": secret.code_at(step)})),
    )
    .await;
    assert_eq!(
        (s, v["next"].as_str()),
        (StatusCode::OK, Some("done")),
        "{v}"
    );
    let c2 = c2.unwrap();
    assert_ne!(c1, c2, "the session token rotates when sign-in completes");
    assert_eq!(
        me(&h, &c1).await,
        StatusCode::UNAUTHORIZED,
        "the pre-MFA token is dead"
    );
    assert_eq!(me(&h, &c2).await, StatusCode::OK);

    // Sign in again: the code already used is refused, the next one works.
    let (s, v, c3) = login(&h, "wkamau", PW, None).await;
    assert_eq!((s, v["next"].as_str()), (StatusCode::OK, Some("totp")));
    let c3 = c3.unwrap();
    let (s, v, _) = send(
        &h,
        Method::POST,
        "/api/v1/auth/totp",
        Some(&c3),
        Some(&csrf(&c3)),
        Some(json!({"code": secret.code_at(step)})),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("wrong_code")),
        "replay refused"
    );
    let (s, v, c4) = send(
        &h,
        Method::POST,
        "/api/v1/auth/totp",
        Some(&c3),
        Some(&csrf(&c3)),
        Some(json!({"code": secret.code_at(step + 1)})),
    )
    .await;
    assert_eq!(
        (s, v["next"].as_str()),
        (StatusCode::OK, Some("done")),
        "{v}"
    );
    assert_eq!(me(&h, &c4.unwrap()).await, StatusCode::OK);
    // Successes and the failure are in the audit log.
    let log = h.store.audit_entries(0, 1000).await.unwrap();
    assert!(
        log.iter()
            .filter(|e| e.draft.action == Action::LoginSuccess)
            .count()
            >= 4
    );
    assert!(
        log.iter()
            .any(|e| e.draft.action == Action::LoginFailure && e.draft.detail.contains("reused"))
    );
    assert!(
        log.iter()
            .all(|e| !e.draft.detail.contains("wkamau") && !e.draft.detail.contains(PW))
    );
}

#[tokio::test]
async fn session_fixation_is_refused() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    add(&h, "nomfa-sup", Role::Supervisor, false).await;
    let planted = session::new_token();
    let (s, _, issued) = login(&h, "nomfa-sup", PW, Some(&planted)).await;
    assert_eq!(s, 200);
    let issued = issued.unwrap();
    assert_ne!(issued, planted);
    assert_eq!(me(&h, &planted).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&h, &issued).await, StatusCode::OK);
    // Logout everywhere ends every session of the user.
    let (_, _, other) = login(&h, "nomfa-sup", PW, None).await;
    let (s, v, _) = send(
        &h,
        Method::POST,
        "/api/v1/auth/logout-everywhere",
        Some(&issued),
        Some(&csrf(&issued)),
        None,
    )
    .await;
    assert_eq!((s, v["sessions_ended"].as_u64()), (StatusCode::OK, Some(2)));
    assert_eq!(me(&h, &other.unwrap()).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn csrf_missing_and_forged_are_refused() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    add(&h, "nomfa-sup", Role::Supervisor, false).await;
    let (_, _, mine) = login(&h, "nomfa-sup", PW, None).await;
    let (_, _, theirs) = login(&h, "nomfa-sup", PW, None).await;
    let (mine, theirs) = (mine.unwrap(), theirs.unwrap());
    let lab = json!({"first_name": "Ama", "last_name": "Mensah", "dob": "1990-01-02",
                     "specimen_date": "2026-11-20", "result": "negative", "accession": "CS-1"});
    for (token, what) in [
        (None, "missing"),
        (Some(csrf(&theirs)), "forged"),
        (Some("x".to_string()), "garbage"),
    ] {
        let (s, v, _) = send(
            &h,
            Method::POST,
            "/api/v1/lab-results",
            Some(&mine),
            token.as_deref(),
            Some(lab.clone()),
        )
        .await;
        assert_eq!(
            (s, v["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("csrf")),
            "{what}"
        );
    }
    assert_eq!(
        h.store.counts().await.unwrap().lab_results,
        0,
        "nothing was written"
    );
    let (s, v, _) = send(
        &h,
        Method::POST,
        "/api/v1/lab-results",
        Some(&mine),
        Some(&csrf(&mine)),
        Some(lab),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    // Safe methods need no token.
    assert_eq!(
        send(&h, Method::GET, "/api/v1/cases", Some(&mine), None, None)
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn idle_and_absolute_expiry() {
    // Wide margins: a slow machine may delay requests, and only lateness
    // past a limit (which still expires the session) may follow from that.
    let (idle, absolute) = (2_500u64, 7_000u64);
    let policy = AuthPolicy {
        session: SessionPolicy {
            idle: Duration::milliseconds(idle as i64),
            absolute: Duration::milliseconds(absolute as i64),
        },
        throttle: ThrottlePolicy::default(),
    };
    let ms = std::time::Duration::from_millis;
    let h = crate::common::spawn(policy).await;
    add(&h, "nomfa-sup", Role::Supervisor, false).await;
    let (_, _, t) = login(&h, "nomfa-sup", PW, None).await;
    let t = t.unwrap();
    assert_eq!(me(&h, &t).await, StatusCode::OK);
    tokio::time::sleep(ms(idle + 300)).await;
    assert_eq!(me(&h, &t).await, StatusCode::UNAUTHORIZED, "idle logoff");

    // Timed from before the login, so the session is never older than this.
    let started = std::time::Instant::now();
    let (_, _, t) = login(&h, "nomfa-sup", PW, None).await;
    let t = t.unwrap();
    let opened = started.elapsed();
    // Active every 400 ms, so idleness never ends it: it stays open until
    // the absolute limit, then closes however active.
    let ended = loop {
        let status = me(&h, &t).await;
        let at = started.elapsed();
        if status == StatusCode::UNAUTHORIZED {
            break at;
        }
        assert_eq!(status, StatusCode::OK);
        assert!(
            at < opened + ms(absolute + 2_000),
            "still open past the absolute limit"
        );
        tokio::time::sleep(ms(400)).await;
    };
    assert!(ended > ms(absolute - 1_000), "closed early, at {ended:?}");
}

#[tokio::test]
async fn lockout_and_admin_unlock() {
    let policy = AuthPolicy {
        session: SessionPolicy::default(),
        throttle: ThrottlePolicy {
            free_failures: 100,
            lockout_after: 3,
            ..ThrottlePolicy::default()
        },
    };
    let h = crate::common::spawn(policy).await;
    add(&h, "nomfa-sup", Role::Supervisor, false).await;
    for _ in 0..3 {
        assert_eq!(
            login(&h, "nomfa-sup", "wrong password entirely", None)
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (s, v, c) = login(&h, "nomfa-sup", PW, None).await;
    assert_eq!(
        (s, c),
        (StatusCode::UNAUTHORIZED, None),
        "locked: even the right password fails"
    );
    assert_eq!(v["error"]["code"], "login_failed");
    let log = h.store.audit_entries(0, 1000).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.draft.detail.contains("locked after repeated failures"))
    );
    h.cw.staff().unlock_user("nomfa-sup").await.unwrap();
    assert_eq!(login(&h, "nomfa-sup", PW, None).await.0, StatusCode::OK);
}

#[tokio::test]
async fn failures_delay_the_next_attempt_per_account_and_per_client() {
    let policy = AuthPolicy {
        session: SessionPolicy::default(),
        throttle: ThrottlePolicy {
            free_failures: 2,
            base_delay: Duration::seconds(30),
            ..ThrottlePolicy::default()
        },
    };
    let h = crate::common::spawn(policy).await;
    add(&h, "nomfa-sup", Role::Supervisor, false).await;
    add(&h, "other-sup", Role::Supervisor, false).await;
    for _ in 0..2 {
        assert_eq!(
            login(&h, "nobody-here", "whatever it is", None).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // The client is now delayed, whichever account it tries.
    let res = h
        .http
        .post(format!("{}/api/v1/auth/login", h.base))
        .json(&json!({"username": "other-sup", "password": PW}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
}

#[tokio::test]
async fn forced_password_change_and_policy() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    add(&h, "nomfa-sup", Role::Supervisor, false).await;
    let (_, temp) = h.cw.staff().reset_password("nomfa-sup").await.unwrap();
    assert_eq!(
        login(&h, "nomfa-sup", PW, None).await.0,
        StatusCode::UNAUTHORIZED,
        "old password gone"
    );
    let (s, v, t) = login(&h, "nomfa-sup", &temp, None).await;
    assert_eq!(
        (s, v["next"].as_str()),
        (StatusCode::OK, Some("change_password"))
    );
    let t = t.unwrap();
    let (s, v, _) = send(&h, Method::GET, "/api/v1/cases", Some(&t), None, None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("login_incomplete"))
    );
    let change = |new: &str| json!({"current_password": temp, "new_password": new});
    for (bad, why) in [
        ("1qaz2wsx3edc4rfv", "common"),
        ("short but mine", "at least 15"),
        ("kamau-likes-long-walks", "username or the user's name"),
    ] {
        let (s, v, _) = send(
            &h,
            Method::POST,
            "/api/v1/auth/password",
            Some(&t),
            Some(&csrf(&t)),
            Some(change(bad)),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert_eq!(v["error"]["field"], "new_password");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(why), "{msg}");
        assert!(!msg.contains(bad), "the error never repeats the password");
    }
    let (s, v, t2) = send(
        &h,
        Method::POST,
        "/api/v1/auth/password",
        Some(&t),
        Some(&csrf(&t)),
        Some(change("a river of quiet lanterns")),
    )
    .await;
    assert_eq!(
        (s, v["next"].as_str()),
        (StatusCode::OK, Some("done")),
        "{v}"
    );
    assert_eq!(
        send(
            &h,
            Method::GET,
            "/api/v1/cases",
            Some(&t2.unwrap()),
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        me(&h, &t).await,
        StatusCode::UNAUTHORIZED,
        "old sessions end with the old password"
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    for path in ["/healthz", "/api/v1/cases", "/no/such/route"] {
        let res = h
            .http
            .get(format!("{}{path}", h.base))
            .send()
            .await
            .unwrap();
        let hd = res.headers();
        let csp = hd["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert_eq!(hd["x-content-type-options"], "nosniff");
        assert_eq!(hd["referrer-policy"], "no-referrer");
        assert_eq!(hd["cache-control"], "no-store");
        assert!(
            hd.get("strict-transport-security").is_none(),
            "no HSTS over plain HTTP"
        );
    }
    // Session cookies are HttpOnly and SameSite=Strict.
    add(&h, "nomfa-sup", Role::Supervisor, false).await;
    let res = h
        .http
        .post(format!("{}/api/v1/auth/login", h.base))
        .json(&json!({"username": "nomfa-sup", "password": PW}))
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[tokio::test]
async fn each_client_is_rate_limited() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    let router = tracedesk_server::app(
        h.cw.clone(),
        tracedesk_server::ServerSettings {
            rate_limit: Some(tracedesk_server::ratelimit::RateLimit {
                per_second: 0.5,
                burst: 3.0,
            }),
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(tracedesk_server::serve(
        listener,
        router,
        std::future::pending(),
    ));
    let mut codes = Vec::new();
    for _ in 0..6 {
        let r = h.http.get(format!("{base}/healthz")).send().await.unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.headers()["retry-after"], "1");
        }
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 200, 429, 429, 429]);
}
