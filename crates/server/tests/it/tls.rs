//! HTTPS with a self-signed certificate: the API answers over TLS with HSTS
//! and Secure cookies; bad key files give errors that name the file.

use tracedesk_casework::{AuthPolicy, NewUser};
use tracedesk_identity::Role;
use tracedesk_server::{ServerSettings, app, tls};

#[tokio::test]
async fn serves_https_with_hsts() {
    let h = crate::common::spawn(AuthPolicy::default()).await;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let config = tls::load(&cert_path, &key_path).unwrap();
    let router = app(
        h.cw.clone(),
        ServerSettings {
            secure_cookies: true,
            ..ServerSettings::default()
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(tls::serve(listener, router, config, std::future::pending()));
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let res = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age=")
    );
    // The session cookie is `__Host-` (HTTPS only, this host, path /), and
    // the session it carries works.
    h.cw.staff()
        .add_user(
            NewUser::new("tls-sup", "Tls Supervisor", Role::Supervisor, "root")
                .with_password("orbit lantern quietly 9")
                .mfa(false),
        )
        .await
        .unwrap();
    let res = client
        .post(format!("https://localhost:{port}/api/v1/auth/login"))
        .json(&serde_json::json!({"username": "tls-sup", "password": "orbit lantern quietly 9"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let set = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.starts_with("__Host-td_session="), "{set}");
    assert!(set.contains("; Secure") && set.contains("Path=/;"), "{set}");
    assert!(!set.contains("Domain"), "{set}");
    let token = set
        .trim_start_matches("__Host-td_session=")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let me = |name: &'static str| {
        client
            .get(format!("https://localhost:{port}/api/v1/auth/me"))
            .header("cookie", format!("{name}={token}"))
            .send()
    };
    assert_eq!(me("__Host-td_session").await.unwrap().status(), 200);
    assert_eq!(
        me("td_session").await.unwrap().status(),
        401,
        "the unprefixed name is not read under TLS"
    );
    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[test]
fn bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let e = tls::load(&junk, &junk).unwrap_err().to_string();
    assert!(e.contains("junk.pem"), "{e}");
    let e = tls::load(&dir.path().join("missing.pem"), &junk)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.pem"), "{e}");
}
