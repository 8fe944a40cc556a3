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

/// A page keeps the strict policy: no inline script, style or event
/// handler; every script and stylesheet it loads is an embedded asset
/// under its hashed name, served with a year's caching and its type.
async fn strict_page(h: &Harness, html: &str) {
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<style"), "inline style element: {html}");
    assert!(!lower.contains(" style="), "style attribute: {html}");
    assert!(!lower.contains("javascript:"), "{html}");
    for tag in lower.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap_or("");
        assert!(open.contains("src=\"/assets/"), "inline script: {html}");
        assert!(tag[open.len() + 1..].starts_with("</script"), "{html}");
    }
    let handler = lower
        .split(|c: char| c.is_whitespace())
        .find(|w| w.starts_with("on") && w.contains('=') && !w.starts_with("one"));
    assert_eq!(handler, None, "an inline event handler: {html}");
    let mut loaded = 0;
    for part in html.split("=\"/assets/").skip(1) {
        let name = part.split('"').next().unwrap();
        let r = client()
            .get(format!("{}/assets/{name}", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            (name.ends_with(".css") && kind.starts_with("text/css"))
                || (name.ends_with(".js") && kind.starts_with("text/javascript"))
                || (name.ends_with(".svg") && kind == "image/svg+xml"),
            "{name}: {kind}"
        );
        loaded += 1;
    }
    assert!(loaded >= 1, "the page loads its stylesheet: {html}");
}

#[tokio::test]
async fn assets_are_served_only_under_their_hashed_names_and_pages_are_not_cached() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    let page = client()
        .get(format!("{}/login", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    for part in [
        "script-src 'self'",
        "style-src 'self'",
        "default-src 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let html = page.text().await.unwrap();
    strict_page(&h, &html).await;
    let css = html.split("stylesheet\" href=\"/assets/").nth(1).unwrap();
    let css = css.split('"').next().unwrap();
    for wrong in [
        "app.css".to_string(),
        css.replace(".css", ".js"),
        format!("x{css}"),
        "../Cargo.toml".to_string(),
    ] {
        let r = client()
            .get(format!("{}/assets/{wrong}", h.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{wrong}");
    }
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
    strict_page(&h, &html).await;
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
    let html = r.text().await.unwrap();
    assert!(html.contains("Form expired"), "{html}");
    strict_page(&h, &html).await;
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
    let html = page.text().await.unwrap();
    strict_page(&h, &html).await;
    let csrf1 = csrf_field(&html);
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
    strict_page(&h, &html).await;
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
    strict_page(&h, &html).await;

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
