//! The browser pages over HTTP: sign-in, TOTP enrolment and sign-out forms,
//! with CSRF missing and forged on every state-changing form.

use crate::common::Harness;
use reqwest::{StatusCode, redirect::Policy};
use tracedesk_casework::{AuthPolicy, NewUser};
use tracedesk_identity::totp::{Secret, step_of};
use tracedesk_identity::{Role, session};

const PW: &str = "orbit lantern quietly 9";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn set_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// The value of the hidden `csrf` field in a page.
fn csrf_field(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..].split('"').next().unwrap().to_string()
}

async fn post(h: &Harness, path: &str, cookies: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!("{}{path}", h.base))
        .header("cookie", cookies)
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_enrol_and_sign_out_through_the_forms() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    h.cw.staff()
        .add_user(NewUser::new("formuser", "Form User", Role::Tracer, "root").with_password(PW))
        .await
        .unwrap();

    let res = client()
        .get(format!("{}/login", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let pre = set_cookie(&res, "td_pre").expect("a pre-sign-in cookie");
    assert!(
        res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = res.text().await.unwrap();
    assert!(
        !html.contains("<script") && !html.contains("style="),
        "no inline script or style"
    );
    let csrf = csrf_field(&html);
    let pre_cookie = format!("td_pre={pre}");

    // Missing, forged, and then the right token.
    let r = post(
        &h,
        "/login",
        &pre_cookie,
        &[("username", "formuser"), ("password", PW)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let forged = session::csrf_for(&session::new_token());
    let r = post(
        &h,
        "/login",
        &pre_cookie,
        &[
            ("username", "formuser"),
            ("password", PW),
            ("csrf", &forged),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post(
        &h,
        "/login",
        "",
        &[("username", "formuser"), ("password", PW), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "the token without its cookie is worthless"
    );
    let r = post(
        &h,
        "/login",
        &pre_cookie,
        &[
            ("username", "formuser"),
            ("password", "not it at all"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.text().await.unwrap().contains("class=\"error\""));
    let r = post(
        &h,
        "/login",
        &pre_cookie,
        &[("username", "formuser"), ("password", PW), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/enrol");
    let s1 = set_cookie(&r, "td_session").unwrap();
    let c1 = format!("td_session={s1}");

    // Enrolment: the setup code needs the session's token, then the code.
    let page = client()
        .get(format!("{}/enrol", h.base))
        .header("cookie", &c1)
        .send()
        .await
        .unwrap();
    let csrf1 = csrf_field(&page.text().await.unwrap());
    assert_eq!(
        post(&h, "/enrol", &c1, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        post(&h, "/enrol", &c1, &[("csrf", &forged)]).await.status(),
        StatusCode::FORBIDDEN
    );
    let r = post(&h, "/enrol", &c1, &[("csrf", &csrf1)]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("<svg"), "a QR code");
    let key = html
        .split("<code>")
        .nth(1)
        .unwrap()
        .split("</code>")
        .next()
        .unwrap()
        .to_string();
    let secret = Secret::from_base32(&key).unwrap();
    let code = secret.code_at(step_of(h.now().timestamp()));
    assert_eq!(
        post(&h, "/enrol/confirm", &c1, &[("code", &code)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let r = post(
        &h,
        "/enrol/confirm",
        &c1,
        &[("code", &code), ("csrf", &csrf1)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
    let s2 = set_cookie(&r, "td_session").unwrap();
    assert_ne!(s1, s2, "rotated");
    let c2 = format!("td_session={s2}");
    let home = client()
        .get(format!("{}/", h.base))
        .header("cookie", &c2)
        .send()
        .await
        .unwrap();
    let html = home.text().await.unwrap();
    assert!(html.contains("Signed in as Form User (tracer)"), "{html}");

    // Sign out needs the token too.
    let csrf2 = csrf_field(&html);
    assert_eq!(
        post(&h, "/logout", &c2, &[("csrf", &csrf1)]).await.status(),
        StatusCode::FORBIDDEN,
        "the old session's token"
    );
    let r = post(&h, "/logout", &c2, &[("csrf", &csrf2)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let after = client()
        .get(format!("{}/", h.base))
        .header("cookie", &c2)
        .send()
        .await
        .unwrap();
    assert_eq!(after.headers()["location"], "/login");
}
