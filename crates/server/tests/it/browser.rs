//! The sign-in pages in a real browser (headless Chromium through
//! chromedriver): sign in, enrol TOTP from the page, land signed in, sign out.
//!
//! Needs `chromedriver` (Debian: chromium-driver) on PATH or in
//! `TRACEDESK_CHROMEDRIVER`; without it the test says SKIPPED and passes,
//! unless `TRACEDESK_REQUIRE_BROWSER=1` (CI), where it fails.

use fantoccini::{ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use tracedesk_casework::{AuthPolicy, NewUser};
use tracedesk_identity::Role;
use tracedesk_identity::totp::{Secret, step_of};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver() -> Option<String> {
    if let Ok(p) = std::env::var("TRACEDESK_CHROMEDRIVER") {
        return Some(p);
    }
    ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(str::to_string)
}

/// Waits (up to 10 s) until the browser has navigated to `path`.
async fn at(c: &fantoccini::Client, path: &str) {
    for _ in 0..100 {
        if c.current_url().await.unwrap().path() == path {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "the browser is at {}, not {path}",
        c.current_url().await.unwrap()
    );
}

/// Retries a step on the current page for up to 10 s: the page may still
/// be loading, or be replaced under us by the previous click's navigation.
async fn retry<T, F, Fut>(what: &str, mut step: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, fantoccini::error::CmdError>>,
{
    let mut last = None;
    for _ in 0..100 {
        match step().await {
            Ok(v) => return v,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: {last:?}");
}

async fn click(c: &fantoccini::Client, css: &str) {
    retry(css, || async {
        c.find(Locator::Css(css)).await?.click().await
    })
    .await
}

async fn type_into(c: &fantoccini::Client, css: &str, text: &str) {
    retry(css, || async {
        c.find(Locator::Css(css)).await?.send_keys(text).await
    })
    .await
}

/// Waits (up to 10 s) until the text of `css` passes `ok`; gives it.
async fn text_until(c: &fantoccini::Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    retry(css, || async {
        let text = c.find(Locator::Css(css)).await?.text().await?;
        if ok(&text) {
            Ok(text)
        } else {
            Err(fantoccini::error::CmdError::InvalidArgument(
                css.into(),
                text,
            ))
        }
    })
    .await
}

async fn text_of(c: &fantoccini::Client, css: &str) -> String {
    retry(css, || async {
        c.find(Locator::Css(css)).await?.text().await
    })
    .await
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A headless Chromium driven through chromedriver, with the checks every
/// page must pass (`check`): no console error (a Content Security Policy
/// violation is one), no serious or critical axe-core finding, nothing in
/// browser storage, and a screenshot saved for the README.
pub struct Browser {
    pub c: fantoccini::Client,
    _driver: Driver,
}

/// axe-core, vendored (MPL-2.0, `tests/assets/axe.LICENSE`): injected by
/// the driver, never served by tracedesk.
const AXE: &str = include_str!("../assets/axe.min.js");

/// chromedriver's log endpoint (not in fantoccini): the browser console.
#[derive(Debug)]
struct ConsoleLog;

impl fantoccini::wd::WebDriverCompatibleCommand for ConsoleLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or("")))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

impl Browser {
    /// Signs `username` in (no second factor on these test accounts) and
    /// waits for home.
    pub async fn sign_in(&self, base: &str, username: &str, password: &str) {
        let c = &self.c;
        c.goto(&format!("{base}/login")).await.unwrap();
        type_into(c, "#u", username).await;
        type_into(c, "#p", password).await;
        click(c, "button").await;
        at(c, "/").await;
    }

    /// Sets the desk's activity and waits for the server to confirm it.
    pub async fn set_activity(&self, activity: &str) {
        let c = &self.c;
        retry("choose the activity", || async {
            c.find(Locator::Css("#activity"))
                .await?
                .select_by_value(activity)
                .await
        })
        .await;
        click(c, "#set-activity").await;
        text_until(c, "#activity-status", |s| s.contains(activity)).await;
    }

    /// Follows the navigation's link to `path`.
    pub async fn open(&self, path: &str) {
        click(&self.c, &format!("nav a[href='{path}']")).await;
        at(&self.c, path).await;
    }

    /// A browser, or `None` (the test prints SKIPPED) without chromedriver
    /// unless `TRACEDESK_REQUIRE_BROWSER` is set.
    pub async fn start() -> Option<Browser> {
        let Some(driver) = chromedriver() else {
            assert!(
                std::env::var("TRACEDESK_REQUIRE_BROWSER").is_err(),
                "TRACEDESK_REQUIRE_BROWSER is set but chromedriver is missing"
            );
            println!("SKIPPED: browser test (no chromedriver; install chromium-driver)");
            return None;
        };
        let port = free_port();
        let driver = Driver(
            Command::new(&driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({"args": [
                "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,720", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"
            ]}),
        );
        caps.insert(
            "goog:loggingPrefs".into(),
            serde_json::json!({"browser": "ALL"}),
        );
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..50 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    return Some(Browser { c, _driver: driver });
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            }
        }
        panic!("no chromedriver session");
    }

    /// The console's messages since the last call, as `LEVEL text`.
    pub async fn console(&self) -> Vec<String> {
        let v = self.c.issue_cmd(ConsoleLog).await.expect("the console log");
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| {
                        format!(
                            "{} {}",
                            e["level"].as_str().unwrap_or(""),
                            e["message"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// axe-core's serious and critical findings on the current page.
    pub async fn axe(&self) -> Vec<String> {
        self.c
            .execute(&format!("{AXE}\n;return typeof axe"), vec![])
            .await
            .expect("axe-core loads");
        let v = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document).then(r => done(r.violations.map(v => \
                   v.impact + ' ' + v.id + ': ' + v.help + ' at ' + \
                   v.nodes.map(n => n.target.join(' ')).join(', '))), e => done(['error ' + e]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .filter(|f| {
                        f.starts_with("serious")
                            || f.starts_with("critical")
                            || f.starts_with("error")
                    })
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The current page at tablet width (768 × 1024, portrait): nothing
    /// wider than the screen (wide tables scroll in their own box), the
    /// usual checks, and a screenshot `{name}-tablet`; then back to
    /// 1280 × 720.
    pub async fn on_tablet(&self, name: &str) {
        self.c.set_window_size(768, 1024).await.expect("resize");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let wide: serde_json::Value = self
            .c
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            wide.as_i64().is_some_and(|w| w <= 0),
            "{name}: {wide} px wider than a tablet"
        );
        self.check(&format!("{name}-tablet")).await;
        self.c.set_window_size(1280, 720).await.expect("resize");
    }

    /// Every page's checks: no console errors (CSP violations included),
    /// no serious or critical accessibility finding, nothing kept in
    /// browser storage; then a screenshot `docs/screenshots/{name}.png`.
    pub async fn check(&self, name: &str) {
        // Let deferred scripts run and any live connection open.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let errors: Vec<String> = self
            .console()
            .await
            .into_iter()
            .filter(|m| m.starts_with("SEVERE") || m.contains("Content Security Policy"))
            .collect();
        assert!(errors.is_empty(), "{name}: console errors {errors:#?}");
        let findings = self.axe().await;
        assert!(findings.is_empty(), "{name}: accessibility {findings:#?}");
        let stored: serde_json::Value = self
            .c
            .execute("return localStorage.length + sessionStorage.length", vec![])
            .await
            .unwrap();
        assert_eq!(
            stored.as_u64(),
            Some(0),
            "{name}: nothing in browser storage"
        );
        let png = self.c.screenshot().await.expect("a screenshot");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_enrol_in_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let h = crate::common::spawn(AuthPolicy::default()).await;
    h.cw.staff()
        .add_user(
            NewUser::new("browser-user", "Nadia Rahman", Role::Supervisor, "root")
                .with_password("quiet harbour lanterns 7"),
        )
        .await
        .unwrap();
    let c = &b.c;

    c.goto(&format!("{}/login", h.base)).await.unwrap();
    b.check("sign-in").await;
    type_into(c, "#u", "browser-user").await;
    type_into(c, "#p", "quiet harbour lanterns 7").await;
    click(c, "button").await;
    at(c, "/enrol").await;
    b.check("enrol").await;
    // "Show my setup code" posts back to /enrol: wait for the key to appear.
    click(c, "button").await;
    let key = text_of(c, "code").await;
    assert!(
        c.find(Locator::Css("svg")).await.is_ok(),
        "the QR code renders"
    );
    b.check("enrol-key").await;
    let secret = Secret::from_base32(&key).expect("a base32 key");
    let code = secret.code_at(step_of(h.now().timestamp()));
    type_into(c, "#c", &code).await;
    click(c, "button").await;
    at(c, "/").await;
    b.check("home").await;
    let body = text_of(c, "body").await;
    assert!(
        body.contains("Signed in as Nadia Rahman (supervisor)"),
        "{body}"
    );
    // The session cookie is out of reach of page script.
    let cookies = c.get_all_cookies().await.unwrap();
    let session = cookies
        .iter()
        .find(|k| k.name() == "td_session")
        .expect("a session cookie");
    assert_eq!(session.http_only(), Some(true));
    let script: serde_json::Value = c.execute("return document.cookie", vec![]).await.unwrap();
    assert!(!script.as_str().unwrap_or("").contains("td_session"));
    // Sign out.
    click(c, "form[action='/logout'] button").await;
    at(c, "/login").await;
    b.c.clone().close().await.unwrap();
}

/// The tracer desk in Chromium: sign in, "my work", the task page with its
/// person and thread, the live segment count, a text sent without a
/// reload; another tracer opening the same task is refused. Every page
/// passes `Browser::check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tracer_desk_in_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let f = crate::desk::routed_floor().await;
    let c = &b.c;
    b.sign_in(&f.h.base, "desk-tracer", crate::login::PW).await;
    click(c, "a[href='/desk']").await;
    at(c, "/desk").await;
    b.check("desk").await;
    // Available: the offer arrives over the live stream, without a reload.
    b.set_activity("Available").await;
    let offer = text_of(c, ".offer").await;
    assert!(offer.contains("Case interview"), "{offer}");
    assert!(!offer.contains("Marisol"), "no person before accepting");
    b.check("desk-offer").await;
    click(c, ".offer button.accept").await;
    at(c, &format!("/desk/tasks/{}", f.task)).await;
    b.check("desk-task").await;
    b.on_tablet("desk-task").await;
    let person = text_of(c, "main").await;
    assert!(person.contains("Marisol Quintero"), "{person}");

    // The segment count follows typing (htmx, posted, never in a URL).
    type_into(c, "#body", "Hola, llámenos hoy por favor ☎").await;
    text_until(c, "#segments", |line| line.contains("UCS-2")).await;
    let before = c.current_url().await.unwrap();
    click(c, "#send").await;
    text_until(c, "#thread", |thread| thread.contains("llámenos")).await;
    assert_eq!(c.current_url().await.unwrap(), before, "no reload");
    let body: String = c
        .find(Locator::Css("#body"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert_eq!(body, "", "the form is cleared after sending");
    b.check("desk-task-sent").await;

    // The person's sandbox phone: the text arrives; a reply from it comes
    // back onto the thread.
    click(c, &format!("a[href='/sandbox/persons/{}']", f.person)).await;
    at(c, &format!("/sandbox/persons/{}", f.person)).await;
    text_until(c, "#arrivals", |screen| screen.contains("llámenos")).await;
    type_into(c, "#reply", "Estoy bien, gracias").await;
    click(c, "#send-reply").await;
    text_until(c, "#arrivals", |screen| screen.contains("Estoy bien")).await;
    b.check("sandbox-phone").await;

    // The case interview: symptoms move the dates; three contacts named by
    // fast entry (Enter adds and goes back to the first name); the first
    // notification reaches a contact's sandbox phone on its own.
    c.goto(&format!("{}/desk/tasks/{}/interview", f.h.base, f.task))
        .await
        .unwrap();
    b.check("interview").await;
    let onset = (chrono::Utc::now().date_naive() - chrono::Days::new(4))
        .format("%m%d%Y")
        .to_string();
    click(c, "input[name='q.identity_confirmed'][value='true']").await;
    click(c, "input[name='q.symptomatic'][value='true']").await;
    click(c, "input[name='q.symptoms'][value='fever']").await;
    type_into(c, "input[name='q.symptoms.fever.onset']", &onset).await;
    click(c, "input[name='q.hospitalized'][value='false']").await;
    assert!(
        !c.find(Locator::Css("#q-icu"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "intensive care is asked only of the hospitalized"
    );
    retry("congregate setting", || async {
        c.find(Locator::Css("#q-congregate_setting"))
            .await?
            .select_by_value("none")
            .await
    })
    .await;
    click(c, "input[name='q.contacts_elicited'][value='true']").await;
    click(c, "#save-interview").await;
    let saved = text_of(c, "#dates").await;
    text_until(c, "#dates", |d| d.contains("Saved at")).await;
    let _ = saved;
    let exposed = (chrono::Utc::now().date_naive() - chrono::Days::new(1))
        .format("%m%d%Y")
        .to_string();
    for (i, (first, last, phone)) in [
        ("Teo", "Quintero", "2125550171"),
        ("Ana", "Beltrán", "2125550172"),
        ("Ravi", "Menon", "2125550173"),
    ]
    .into_iter()
    .enumerate()
    {
        type_into(c, "#c-first", first).await;
        type_into(c, "#c-last", last).await;
        type_into(c, "#c-phone", phone).await;
        type_into(c, "#c-date", &exposed).await;
        type_into(c, "#c-date", "\u{E007}").await;
        let want = format!("{} contact", i + 1);
        text_until(c, "#contacts", |list| {
            list.contains(&want) && list.contains(first)
        })
        .await;
    }
    let focused: serde_json::Value = c
        .execute(
            "return document.activeElement && document.activeElement.id",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused, "c-first", "ready for the next contact");
    b.check("interview-contacts").await;
    let case = crate::desk::case_of(&f).await;
    let teo =
        f.h.cw
            .cases()
            .list_contacts(Some(case), None, None, Some(10), None)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|x| x.setting == "household")
            .expect("Teo, named as household")
            .contact_person_id;
    c.goto(&format!("{}/sandbox/persons/{teo}", f.h.base))
        .await
        .unwrap();
    let first = text_until(c, "#arrivals", |screen| {
        screen.contains("Text") && !screen.contains("Nothing has reached")
    })
    .await;
    assert!(
        !first.to_lowercase().contains("positive"),
        "no diagnosis in a text: {first}"
    );
    b.check("contact-phone").await;
    // The notification script for one of them, assigned by hand.
    let notify =
        f.h.store
            .tasks_for_case(case)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.kind == "contact_notification")
            .expect("a notification task");
    f.h.cw
        .cases()
        .assign_task(notify.id, Some(f.tracer.0))
        .await
        .unwrap();
    c.goto(&format!("{}/desk/tasks/{}/script", f.h.base, notify.id))
        .await
        .unwrap();
    click(c, "input[name='q.identity_confirmed'][value='true']").await;
    click(c, "input[name='q.informed_of_exposure'][value='true']").await;
    click(c, "input[name='q.quarantine_explained'][value='true']").await;
    click(c, "input[name='q.symptomatic_now'][value='false']").await;
    click(c, "#save-script").await;
    text_until(c, "#dates", |d| d.contains("Saved at")).await;
    b.check("script").await;
    b.c.clone().close().await.unwrap();

    // Another tracer, same address: the refusal page, nothing of the person.
    let Some(b2) = Browser::start().await else {
        return;
    };
    let c2 = &b2.c;
    b2.sign_in(&f.h.base, "desk-other", crate::login::PW).await;
    c2.goto(&format!("{}/desk/tasks/{}", f.h.base, f.task))
        .await
        .unwrap();
    let refused = text_of(c2, "main").await;
    assert!(refused.contains("not entitled"), "{refused}");
    assert!(!refused.contains("Marisol"), "{refused}");
    // The person's page: refused with the break-glass form.
    c2.goto(&format!("{}/desk/persons/{}", f.h.base, f.person))
        .await
        .unwrap();
    let prompt = text_of(c2, "main").await;
    assert!(
        prompt.contains("Break-glass access") && !prompt.contains("Marisol"),
        "{prompt}"
    );
    // The refusals' own 403s are the only console errors expected here.
    for line in b2.console().await {
        assert!(
            !line.starts_with("SEVERE") || line.contains("403"),
            "{line}"
        );
    }
    b2.check("break-glass").await;
    type_into(c2, "#reason", "The person called back about their results").await;
    click(c2, "#open-glass").await;
    at(c2, &format!("/desk/persons/{}", f.person)).await;
    // The prompt stood at the same address: wait for the opened page.
    let opened = text_until(c2, "main", |t| t.contains("Opened by break-glass")).await;
    assert!(
        opened.contains("Marisol Quintero") && opened.contains("Opened by break-glass"),
        "{opened}"
    );
    b2.check("break-glass-open").await;
    b2.c.clone().close().await.unwrap();
}

/// An analyst's line list in Chromium: no names or phones on the page,
/// and the page passes `Browser::check`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analysts_line_list_in_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let f = crate::desk::floor().await;
    crate::desk::signed_in(&f.h, "desk-analyst", Role::Analyst, "ny").await;
    let c = &b.c;
    b.sign_in(&f.h.base, "desk-analyst", crate::login::PW).await;
    b.open("/lists").await;
    b.check("line-list").await;
    let page = text_of(c, "main").await;
    assert!(page.contains("40-49"), "{page}");
    for private in ["Marisol", "Quintero", "5550168", "1984-03-09"] {
        assert!(!page.contains(private), "{private} in {page}");
    }
    b.c.clone().close().await.unwrap();
}

/// The supervisor floor in Chromium: a new case's interview shows in the
/// waiting count over the live stream, without a reload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_floor_updates_without_reload_in_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let f = crate::desk::routed_floor().await;
    crate::desk::signed_in(&f.h, "floor-sup", Role::Supervisor, "ny").await;
    let c = &b.c;
    b.sign_in(&f.h.base, "floor-sup", crate::login::PW).await;
    b.open("/floor").await;
    b.check("floor").await;
    b.on_tablet("floor").await;
    c.goto(&format!("{}/floor/break-glass", f.h.base))
        .await
        .unwrap();
    b.check("break-glass-review").await;
    c.goto(&format!("{}/floor/tasks/{}", f.h.base, f.task))
        .await
        .unwrap();
    b.check("floor-task").await;
    c.goto(&format!("{}/floor", f.h.base)).await.unwrap();
    let waiting = async || -> u64 {
        let v: serde_json::Value = c
            .execute(
                "const t = [...document.querySelectorAll('.tile')].find(x => x.textContent.includes('tasks waiting'));\
                 return t ? Number(t.querySelector('.n').textContent) : -1",
                vec![],
            )
            .await
            .unwrap();
        v.as_u64().unwrap_or(u64::MAX)
    };
    let before = waiting().await;
    c.execute("window.tdNotReloaded = true", vec![])
        .await
        .unwrap();
    let (_, feed) = f.h.user("floor-feed", Role::Integration, "ny").await;
    let today = chrono::Utc::now().date_naive();
    let (st, out) = f
        .h
        .call(
            &feed,
            reqwest::Method::POST,
            "/api/v1/lab-results",
            Some(serde_json::json!({"first_name": "Ines", "last_name": "Ferreira", "dob": "1990-05-06",
                "specimen_date": (today - chrono::Days::new(1)).to_string(), "result": "positive",
                "jurisdiction": "ny", "accession": "FLOOR-2"})),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    let mut now = before;
    for _ in 0..100 {
        now = waiting().await;
        if now == before + 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(now, before + 1, "the new interview is waiting on the floor");
    let same: serde_json::Value = c
        .execute("return window.tdNotReloaded === true", vec![])
        .await
        .unwrap();
    assert_eq!(same, serde_json::json!(true), "no reload");
    b.check("floor-live").await;
    b.open("/monitoring").await;
    b.check("monitoring").await;
    b.c.clone().close().await.unwrap();
}

/// Administration in Chromium: the accounts page and the templates page,
/// where typing in a template updates its segment count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administration_in_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let f = crate::desk::floor().await;
    crate::desk::signed_in(&f.h, "root-admin", Role::Admin, "root").await;
    let c = &b.c;
    b.sign_in(&f.h.base, "root-admin", crate::login::PW).await;
    b.open("/admin/users").await;
    b.check("admin-users").await;
    for (path, name) in [
        ("/admin/teams", "admin-teams"),
        ("/admin/jurisdictions", "admin-jurisdictions"),
        ("/admin/tokens", "admin-tokens"),
        ("/admin/status", "admin-status"),
    ] {
        click(c, &format!("a[href='{path}']")).await;
        at(c, path).await;
        b.check(name).await;
    }
    // The audit log check from the browser runs to its outcome.
    click(c, "#verify-audit").await;
    text_until(c, "#verify", |s| s.contains("Audit log OK")).await;
    b.check("admin-status-verified").await;
    click(c, "a[href='/admin/templates']").await;
    at(c, "/admin/templates").await;
    b.check("admin-templates").await;
    let area = "#body-case_outreach-sms-en";
    retry("clear the template", || async {
        c.find(Locator::Css(area)).await?.clear().await
    })
    .await;
    type_into(c, area, "Llame hoy ☎").await;
    text_until(c, "#seg-case_outreach-sms-en", |s| s.contains("UCS-2")).await;
    b.c.clone().close().await.unwrap();
}

/// Record linkage in Chromium: a supervisor finds the open pair on the
/// linkage page, compares the two records side by side, merges them, and
/// undoes the merge from the merges page, each page accessible and free of
/// console errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_linkage_review_and_merge_in_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let f = crate::desk::floor().await;
    crate::desk::signed_in(&f.h, "link-browser-sup", Role::Supervisor, "ny").await;
    let (_, token) = f.h.user("link-browser-feed", Role::Supervisor, "ny").await;
    let (st, out) =
        f.h.call(
            &token,
            reqwest::Method::POST,
            "/api/v1/lab-results",
            Some(
                serde_json::json!({"first_name": "Rosa", "last_name": "Quintero",
                "dob": "1984-03-09", "phone": "(212) 555-0168",
                "specimen_date": chrono::Utc::now().date_naive().to_string(),
                "result": "positive", "jurisdiction": "ny", "accession": "LINK-BROWSER-1"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    f.h.cw.cases().linkage_settled().await;
    let c = &b.c;
    b.sign_in(&f.h.base, "link-browser-sup", crate::login::PW)
        .await;
    b.open("/linkage").await;
    b.check("linkage").await;
    let list = text_of(c, "main").await;
    assert!(
        list.contains("Rosa Quintero") && list.contains("Marisol Quintero"),
        "{list}"
    );
    click(c, "a[href^='/linkage/pairs/']").await;
    b.check("linkage-pair").await;
    click(c, "#merge").await;
    text_until(c, "#flash", |s| s.contains("Merged")).await;
    click(c, "a[href='/linkage/merges']").await;
    at(c, "/linkage/merges").await;
    b.check("linkage-merges").await;
    click(c, "button[hx-post$='/unmerge']").await;
    text_until(c, "#flash", |s| s.contains("Undone")).await;
    b.c.clone().close().await.unwrap();
}

/// A monitored contact replies with a symptom from their sandbox phone (a
/// supervisor's browser), and the symptomatic follow-up is offered, live,
/// to a clinical tracer on their desk — never to a tracer without the
/// clinical skill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symptom_from_the_sandbox_phone_reaches_a_clinical_tracer_in_chromium() {
    let Some(b) = Browser::start().await else {
        return;
    };
    let f = crate::desk::routed_floor().await;
    let (clinic, _) = crate::desk::signed_in(&f.h, "desk-clinic", Role::Tracer, "ny").await;
    crate::desk::signed_in(&f.h, "phone-sup", Role::Supervisor, "ny").await;
    let (_, sup) = f.h.user("chain-sup", Role::Supervisor, "ny").await;
    let call = async |m: reqwest::Method, path: String, body: serde_json::Value| {
        let (st, v) = f.h.call(&sup, m, &path, Some(body)).await;
        assert!(st.is_success(), "{path}: {st} {v}");
        v
    };
    call(
        reqwest::Method::POST,
        "/api/v1/routing/workers".into(),
        serde_json::json!({"user_id": clinic, "attributes": {"skills": ["clinical"], "languages": ["es", "en"]}}),
    )
    .await;
    // A contact of the case, in monitoring.
    let case = crate::desk::case_of(&f).await;
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    let named = call(
        reqwest::Method::POST,
        format!("/api/v1/cases/{case}/contacts"),
        serde_json::json!({"first_name": "Teo", "last_name": "Quintero", "phone": "(212) 555-0171",
            "language": "es", "exposure_dates": [yesterday], "setting": "household"}),
    )
    .await;
    let contact = named["exposure_id"].as_str().unwrap().to_string();
    let person = named["contact_person_id"].as_str().unwrap().to_string();
    for status in ["notified", "monitoring"] {
        call(
            reqwest::Method::PATCH,
            format!("/api/v1/contacts/{contact}"),
            serde_json::json!({ "status": status }),
        )
        .await;
    }

    // The clinical tracer is Available, with no offer yet.
    b.sign_in(&f.h.base, "desk-clinic", crate::login::PW).await;
    let c = &b.c;
    b.open("/desk").await;
    b.set_activity("Available").await;
    let offers = text_of(c, "#offers").await;
    assert!(!offers.contains("Symptomatic"), "{offers}");
    // A tracer without the clinical skill is Available too.
    let d = f.h.cw.dispatch().unwrap();
    d.apply(tracedesk_routing::Event::SetActivity {
        worker: f.tracer.0,
        activity: "Available".into(),
        reject_pending: false,
    })
    .await
    .unwrap();

    // The contact texts a symptom from their sandbox phone.
    let Some(b2) = Browser::start().await else {
        return;
    };
    b2.sign_in(&f.h.base, "phone-sup", crate::login::PW).await;
    let c2 = &b2.c;
    c2.goto(&format!("{}/sandbox/persons/{person}", f.h.base))
        .await
        .unwrap();
    type_into(c2, "#reply", "Tengo fiebre y tos").await;
    click(c2, "#send-reply").await;
    text_until(c2, "#arrivals", |s| s.contains("Tengo fiebre")).await;
    b2.c.clone().close().await.unwrap();

    // The follow-up is offered to the clinical tracer, on their open desk.
    let offer = text_until(c, "#offers", |s| s.contains("Symptomatic follow-up")).await;
    assert!(
        !offer.contains("Teo") && !offer.contains("Quintero"),
        "{offer}"
    );
    b.check("desk-clinical-offer").await;
    let followups: Vec<_> =
        f.h.store
            .tasks_for_case(case)
            .await
            .unwrap()
            .into_iter()
            .filter(|t| t.kind == "symptomatic_followup")
            .collect();
    let _ = followups;
    b.c.clone().close().await.unwrap();
}
