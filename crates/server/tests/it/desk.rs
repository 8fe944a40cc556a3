//! The tracer desk's pages over HTTP (issue 15): "my work" lists the
//! caller's open tasks; a task's page shows its person and thread to the
//! task's holder (audited) and to no one else; a text sent from it is
//! queued for the task, CSRF-checked; the segment count; and a browser
//! without a session is sent to sign in.

use crate::common::Harness;
use crate::login::{PW, csrf, login};
use reqwest::redirect::Policy;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tracedesk_casework::{AuthPolicy, NewUser};
use tracedesk_identity::Role;
use tracedesk_store::audit::Action;
use uuid::Uuid;

/// A staff member signed in through the JSON steps (no second factor for
/// these accounts): their id and session token.
pub(crate) async fn signed_in(
    h: &Harness,
    name: &str,
    role: Role,
    jurisdiction: &str,
) -> (Uuid, String) {
    let (v, _) =
        h.cw.staff()
            .add_user(
                NewUser::new(name, &format!("{name} Staff"), role, jurisdiction)
                    .with_password(PW)
                    .mfa(false),
            )
            .await
            .unwrap();
    let (st, out, cookie) = login(h, name, PW, None).await;
    assert_eq!(st, StatusCode::OK, "{out}");
    (v.id, cookie.expect("a session"))
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

async fn get(h: &Harness, path: &str, session: Option<&str>) -> (StatusCode, String) {
    let mut req = client().get(format!("{}{path}", h.base));
    if let Some(s) = session {
        req = req.header("cookie", format!("td_session={s}"));
    }
    let r = req.send().await.unwrap();
    let st = r.status();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    let body = r.text().await.unwrap();
    (st, location.unwrap_or(body))
}

async fn post_form(
    h: &Harness,
    path: &str,
    session: &str,
    token: Option<&str>,
    form: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut req = client()
        .post(format!("{}{path}", h.base))
        .header("cookie", format!("td_session={session}"))
        .header("hx-request", "true")
        .form(form);
    if let Some(t) = token {
        req = req.header("x-csrf-token", t);
    }
    let r = req.send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A case in New York whose interview task is assigned to `desk-tracer`
/// (password `login::PW`, no second factor), beside another tracer and a
/// sibling jurisdiction's supervisor, all signed in.
pub(crate) struct Floor {
    pub h: Harness,
    pub tracer: (Uuid, String),
    pub other: (Uuid, String),
    pub sup_nj: (Uuid, String),
    pub task: String,
    pub person: String,
}

pub(crate) async fn floor() -> Floor {
    floor_on(crate::common::spawn(AuthPolicy::default()).await, true).await
}

/// [`floor`] with task routing: both tracers are routing workers (Offline
/// until they say otherwise) and the interview is left to routing; newly
/// named contacts are texted their first notification.
pub(crate) async fn routed_floor() -> Floor {
    floor_on(crate::common::spawn_routing_notifying().await, false).await
}

async fn floor_on(h: Harness, assign: bool) -> Floor {
    let tracer = signed_in(&h, "desk-tracer", Role::Tracer, "ny").await;
    let other = signed_in(&h, "desk-other", Role::Tracer, "ny").await;
    let sup_nj = signed_in(&h, "desk-sup-nj", Role::Supervisor, "nj").await;
    let (_, sup) = h.user("desk-sup", Role::Supervisor, "ny").await;
    if !assign {
        for (id, _) in [&tracer, &other] {
            let (st, out) = h
                .call(
                    &sup,
                    Method::POST,
                    "/api/v1/routing/workers",
                    Some(json!({"user_id": id, "attributes": {
                        "skills": ["case_investigation", "contact_notification"],
                        "languages": ["en", "es"]}})),
                )
                .await;
            assert_eq!(st, 201, "{out}");
        }
    }
    let today = chrono::Utc::now().date_naive();
    let (st, out) = h
        .call(
            &sup,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Marisol", "last_name": "Quintero", "dob": "1984-03-09",
                "phone": "(212) 555-0168", "language": "es",
                "specimen_date": (today - chrono::Days::new(2)).to_string(),
                "result": "positive", "jurisdiction": "ny", "accession": "DESK-1"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    let case: Uuid = out["case_id"].as_str().unwrap().parse().unwrap();
    let person = out["person_id"].as_str().unwrap().to_string();
    let task = h.store.tasks_for_case(case).await.unwrap()[0]
        .id
        .to_string();
    if !assign {
        return Floor {
            h,
            tracer,
            other,
            sup_nj,
            task,
            person,
        };
    }
    let (st, out) = h
        .call(
            &sup,
            Method::POST,
            &format!("/api/v1/tasks/{task}/assign"),
            Some(json!({"user_id": tracer.0})),
        )
        .await;
    assert_eq!(st, 200, "{out}");
    Floor {
        h,
        tracer,
        other,
        sup_nj,
        task,
        person,
    }
}

#[tokio::test]
async fn my_work_lists_the_callers_open_tasks_without_personal_data() {
    let f = floor().await;
    let (st, html) = get(&f.h, "/desk", Some(&f.tracer.1)).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Case interview"), "{html}");
    assert!(html.contains(&format!("/desk/tasks/{}", f.task)), "{html}");
    assert!(
        !html.contains("Marisol") && !html.contains("5550168"),
        "{html}"
    );
    // Another tracer's desk does not list it.
    let (st, html) = get(&f.h, "/desk", Some(&f.other.1)).await;
    assert_eq!(st, 200);
    assert!(!html.contains(&f.task), "{html}");
    assert!(html.contains("Nothing is assigned to you"), "{html}");
    // No session: to sign in, not a JSON refusal.
    let (st, to) = get(&f.h, "/desk", None).await;
    assert_eq!((st, to.as_str()), (StatusCode::SEE_OTHER, "/login"));
}

#[tokio::test]
async fn the_holder_reads_the_task_page_and_the_read_is_audited() {
    let f = floor().await;
    let path = format!("/desk/tasks/{}", f.task);
    let (st, html) = get(&f.h, &path, Some(&f.tracer.1)).await;
    assert_eq!(st, 200, "{html}");
    for shown in ["Marisol Quintero", "+12125550168", "es", "Send a text"] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    assert!(html.contains("<meta name=\"csrf-token\""), "{html}");
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter().any(|e| e.draft.action == Action::PhiRead
            && e.draft.detail == "GET /desk/tasks/{id}"
            && e.draft.person_id.map(|p| p.to_string()) == Some(f.person.clone())),
        "the read is in the disclosure record"
    );

    // A tracer without the task, and a sibling jurisdiction's supervisor:
    // refused with a page that shows nothing of the person.
    for (who, session) in [("other tracer", &f.other.1), ("nj supervisor", &f.sup_nj.1)] {
        let (st, html) = get(&f.h, &path, Some(session)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{who}: {html}");
        assert!(html.contains("not entitled"), "{who}: {html}");
        assert!(
            !html.contains("Marisol") && !html.contains("5550168"),
            "{who}: {html}"
        );
        assert!(
            html.starts_with("<!doctype html>"),
            "{who}: a page, not JSON"
        );
    }
    // An id that is no task: the same refusal.
    let (st, _) = get(
        &f.h,
        &format!("/desk/tasks/{}", Uuid::now_v7()),
        Some(&f.tracer.1),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_text_from_the_task_page_is_queued_for_the_task_and_csrf_checked() {
    let f = floor().await;
    let path = format!("/desk/tasks/{}/messages", f.task);
    let body = [("template", ""), ("body", "Hola, por favor llámenos hoy.")];
    // No CSRF token, and another session's: refused, nothing queued.
    let (st, _) = post_form(&f.h, &path, &f.tracer.1, None, &body).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = post_form(&f.h, &path, &f.tracer.1, Some(&csrf(&f.other.1)), &body).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    // Another tracer with their own token: refused.
    let (st, html) = post_form(&f.h, &path, &f.other.1, Some(&csrf(&f.other.1)), &body).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{html}");
    let (_, page) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
    assert!(!page.contains("llámenos"), "nothing was queued: {page}");

    // The holder: queued, on the thread, an attempt on the task.
    let (st, html) = post_form(&f.h, &path, &f.tracer.1, Some(&csrf(&f.tracer.1)), &body).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Hola, por favor llámenos hoy."), "{html}");
    assert!(!html.contains("<html"), "a fragment for htmx: {html}");
    let (_, page) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
    assert!(page.contains("llámenos"), "{page}");
    let (_, sup) = f.h.user("desk-sup-2", Role::Supervisor, "ny").await;
    let mut attempts = json!(null);
    for _ in 0..100 {
        let (st, v) =
            f.h.call(
                &sup,
                Method::GET,
                &format!("/api/v1/tasks/{}/attempts", f.task),
                None,
            )
            .await;
        assert_eq!(st, 200, "{v}");
        attempts = v;
        if attempts["items"].as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        attempts.to_string().contains("\"message_"),
        "an attempt on the task: {attempts}"
    );

    // A quick reply in the person's language; nothing typed → a clear error
    // for the page's alert region; a diagnosis in free text → refused.
    let (st, html) = post_form(
        &f.h,
        &path,
        &f.tracer.1,
        Some(&csrf(&f.tracer.1)),
        &[("template", "case_outreach"), ("body", "")],
    )
    .await;
    assert_eq!(st, 200, "{html}");
    let (st, html) = post_form(
        &f.h,
        &path,
        &f.tracer.1,
        Some(&csrf(&f.tracer.1)),
        &[("template", ""), ("body", " ")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        html.contains("choose a quick reply or type a message"),
        "{html}"
    );
    let (st, html) = post_form(
        &f.h,
        &path,
        &f.tracer.1,
        Some(&csrf(&f.tracer.1)),
        &[
            ("template", ""),
            ("body", "You tested positive for COVID-19"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(
        !html.contains("tested positive"),
        "the error never echoes the text: {html}"
    );
}

#[tokio::test]
async fn the_segment_count_follows_the_encoding() {
    let f = floor().await;
    let t = csrf(&f.tracer.1);
    let (st, line) = post_form(
        &f.h,
        "/desk/segments",
        &f.tracer.1,
        Some(&t),
        &[("body", "Please call us")],
    )
    .await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "14 characters · GSM-7 · 1 segment")
    );
    let long = "é".repeat(71);
    let (_, line) = post_form(
        &f.h,
        "/desk/segments",
        &f.tracer.1,
        Some(&t),
        &[("body", &long)],
    )
    .await;
    assert_eq!(line, "71 characters · GSM-7 · 1 segment");
    let (_, line) = post_form(
        &f.h,
        "/desk/segments",
        &f.tracer.1,
        Some(&t),
        &[("body", "请给我们回电话 ☎")],
    )
    .await;
    assert_eq!(line, "9 characters · UCS-2 · 1 segment");
    let (_, line) = post_form(
        &f.h,
        "/desk/segments",
        &f.tracer.1,
        Some(&t),
        &[("body", &"ж".repeat(71))],
    )
    .await;
    assert_eq!(line, "71 characters · UCS-2 · 2 segments");
}

/// The reservation number of the first offer in a page.
fn offer_in(html: &str) -> Option<String> {
    html.split("/desk/offers/").skip(1).find_map(|rest| {
        let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (!n.is_empty()).then_some(n)
    })
}

#[tokio::test]
async fn an_offer_is_shown_without_the_person_and_only_its_worker_answers_it() {
    let f = routed_floor().await;
    let (st, html) = get(&f.h, "/desk", Some(&f.tracer.1)).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("No offer waiting"), "{html}");
    assert!(
        html.contains("sse-connect=\"/desk/offers/stream\""),
        "{html}"
    );
    // The live stream opens with the panel.
    let r = client()
        .get(format!("{}/desk/offers/stream", f.h.base))
        .header("cookie", format!("td_session={}", f.tracer.1))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    drop(r);

    // Available: the interview is offered to them.
    let token = csrf(&f.tracer.1);
    let (st, line) = post_form(
        &f.h,
        "/desk/activity",
        &f.tracer.1,
        Some(&token),
        &[("activity", "Available")],
    )
    .await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "You are now Available.")
    );
    let mut page = String::new();
    for _ in 0..100 {
        page = get(&f.h, "/desk", Some(&f.tracer.1)).await.1;
        if offer_in(&page).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = offer_in(&page).unwrap_or_else(|| panic!("an offer: {page}"));
    assert!(
        page.contains("Case interview") && page.contains("language es"),
        "{page}"
    );
    assert!(
        !page.contains("Marisol") && !page.contains("5550168"),
        "no person before accepting"
    );

    // Another tracer cannot answer it, and the person is still closed to
    // the one offered.
    let path = format!("/desk/offers/{r}/accept");
    let (st, _) = post_form(&f.h, &path, &f.other.1, Some(&csrf(&f.other.1)), &[]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "an offer is not the task");
    // Without the CSRF token: refused.
    let (st, _) = post_form(&f.h, &path, &f.tracer.1, None, &[]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Accepted: on to the task, which now opens.
    let res = client()
        .post(format!("{}{path}", f.h.base))
        .header("cookie", format!("td_session={}", f.tracer.1))
        .header("x-csrf-token", &token)
        .header("hx-request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["hx-redirect"],
        format!("/desk/tasks/{}", f.task).as_str()
    );
    let mut opened = StatusCode::FORBIDDEN;
    for _ in 0..100 {
        opened = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1))
            .await
            .0;
        if opened == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(opened, StatusCode::OK, "the accepted task opens");
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.draft.detail == "POST /desk/offers/{id}/accept"
                && e.draft.object_id.map(|i| i.to_string()) == Some(f.task.clone())),
        "the accept is audited"
    );
}

/// The sandbox phone page: the task's holder opens the person's phone from
/// the task; a text sent from the desk arrives there; a reply typed there
/// comes back through the inbound path onto the thread; a keypress with no
/// check-in call is a clear error; others are refused and store nothing.
#[tokio::test]
async fn the_sandbox_phone_shows_what_arrived_and_replies_through_the_inbound_path() {
    let f = floor().await;
    let token = csrf(&f.tracer.1);
    let (_, task_page) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
    let phone = format!("/sandbox/persons/{}", f.person);
    assert!(
        task_page.contains(&format!("href=\"{phone}\"")),
        "{task_page}"
    );
    let (st, html) = get(&f.h, &phone, Some(&f.tracer.1)).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Marisol Quintero"), "{html}");
    assert!(
        html.contains("Nothing has reached this phone yet"),
        "{html}"
    );

    let (st, _) = post_form(
        &f.h,
        &format!("/desk/tasks/{}/messages", f.task),
        &f.tracer.1,
        Some(&token),
        &[
            ("template", ""),
            ("body", "Por favor llámenos al número del programa."),
        ],
    )
    .await;
    assert_eq!(st, 200);
    let arrivals = format!("{phone}/arrivals");
    let mut screen = String::new();
    for _ in 0..100 {
        screen = get(&f.h, &arrivals, Some(&f.tracer.1)).await.1;
        if screen.contains("Por favor llámenos") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        screen.contains("Por favor llámenos"),
        "it arrived: {screen}"
    );

    // Others: refused, nothing stored.
    for (who, session) in [("other tracer", &f.other.1), ("nj supervisor", &f.sup_nj.1)] {
        let (st, html) = get(&f.h, &phone, Some(session)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{who}");
        assert!(!html.contains("Marisol"), "{who}: {html}");
        let (st, _) = post_form(
            &f.h,
            &format!("{phone}/reply"),
            session,
            Some(&csrf(session)),
            &[("body", "Intruso")],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{who}");
    }

    // The phone replies: on its screen and on the task's thread.
    let (st, screen) = post_form(
        &f.h,
        &format!("{phone}/reply"),
        &f.tracer.1,
        Some(&token),
        &[("body", "Estoy bien, gracias")],
    )
    .await;
    assert_eq!(st, 200, "{screen}");
    assert!(
        screen.contains("Sent from this phone") && screen.contains("Estoy bien, gracias"),
        "{screen}"
    );
    let (_, task_page) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
    assert!(task_page.contains("Estoy bien, gracias"), "{task_page}");
    assert!(!task_page.contains("Intruso"), "{task_page}");
    // An empty reply, and a keypress with no check-in call: clear errors.
    let (st, msg) = post_form(
        &f.h,
        &format!("{phone}/reply"),
        &f.tracer.1,
        Some(&token),
        &[("body", " ")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{msg}");
    assert!(msg.contains("type a reply"), "{msg}");
    let (st, msg) = post_form(
        &f.h,
        &format!("{phone}/keypad"),
        &f.tracer.1,
        Some(&token),
        &[("digits", "1")],
    )
    .await;
    assert_eq!(st, StatusCode::CONFLICT, "{msg}");
}

/// The analysts' line list page and its CSV: de-identified (no name,
/// phone or date of birth; an age band), the caller's jurisdictions only,
/// audited as an export; a tracer is refused.
#[tokio::test]
async fn the_line_list_page_and_csv_are_de_identified_and_audited() {
    let f = floor().await;
    let (_, analyst) = signed_in(&f.h, "desk-analyst", Role::Analyst, "ny").await;
    let (_, analyst_nj) = signed_in(&f.h, "desk-analyst-nj", Role::Analyst, "nj").await;
    let case =
        f.h.store
            .get_task(f.task.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .case_id
            .unwrap()
            .to_string();
    let private = ["Marisol", "Quintero", "5550168", "1984-03-09", "+1212"];
    let (st, html) = get(&f.h, "/lists", Some(&analyst)).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains(&case) && html.contains("40-49"), "{html}");
    assert!(
        html.contains("href=\"/lists\""),
        "the nav links the line list"
    );
    assert!(
        !html.contains("href=\"/desk\""),
        "an analyst works no records"
    );
    for p in private {
        assert!(!html.contains(p), "{p} in {html}");
    }
    let r = client()
        .get(format!("{}/lists/cases.csv", f.h.base))
        .header("cookie", format!("td_session={analyst}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "case_id,jurisdiction,status,age_band,report_date,specimen_date,onset_date,isolation_end"
        )
    );
    assert!(
        lines.any(|l| l.starts_with(&case) && l.contains(",ny,")),
        "{csv}"
    );
    for p in private {
        assert!(!csv.contains(p), "{p} in {csv}");
    }
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    for route in ["GET /lists", "GET /lists/cases.csv"] {
        assert!(
            log.iter().any(|e| e.draft.action == Action::Export
                && e.draft.detail == route
                && e.draft.object_id.map(|i| i.to_string()) == Some(case.clone())),
            "{route} is audited as an export"
        );
    }
    // Another jurisdiction's analyst sees none of it; a tracer is refused.
    let (st, html) = get(&f.h, "/lists", Some(&analyst_nj)).await;
    assert_eq!(st, 200);
    assert!(!html.contains(&case), "{html}");
    let (st, html) = get(&f.h, "/lists", Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{html}");
    let (st, _) = get(&f.h, "/lists/cases.csv", Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Filters: by status and report dates, carried to the CSV link; a
    // jurisdiction outside the caller's is refused and the refusal audited.
    let today = chrono::Utc::now().date_naive();
    let (_, html) = get(&f.h, "/lists?status=new", Some(&analyst)).await;
    assert!(html.contains(&case), "{html}");
    assert!(
        html.contains("href=\"/lists/cases.csv?status=new\""),
        "{html}"
    );
    let (_, html) = get(&f.h, "/lists?status=closed", Some(&analyst)).await;
    assert!(!html.contains(&case), "{html}");
    let tomorrow = (today + chrono::Days::new(1)).to_string();
    let (_, html) = get(&f.h, &format!("/lists?from={tomorrow}"), Some(&analyst)).await;
    assert!(!html.contains(&case), "{html}");
    let (_, html) = get(
        &f.h,
        &format!("/lists?to={tomorrow}&jurisdiction=ny"),
        Some(&analyst),
    )
    .await;
    assert!(html.contains(&case), "{html}");
    let (st, html) = get(&f.h, "/lists?status=lost", Some(&analyst)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("is not a case status"), "{html}");
    let (st, html) = get(&f.h, "/lists?jurisdiction=ny", Some(&analyst_nj)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{html}");
    assert!(!html.contains(&case));
    let (st, _) = get(&f.h, "/lists/cases.csv?jurisdiction=ny", Some(&analyst_nj)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, api_nj) = f.h.user("desk-api-nj", Role::Analyst, "nj").await;
    let (st, out) =
        f.h.call(
            &api_nj,
            Method::GET,
            "/api/v1/line-list?jurisdiction=ny",
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{out}");
    let (st, out) =
        f.h.call(&api_nj, Method::GET, "/api/v1/line-list?status=new", None)
            .await;
    assert_eq!(
        (st.as_u16(), out["items"].as_array().map(Vec::len)),
        (200, Some(0))
    );
}

/// The guided case interview: the holder sees the questionnaire and the
/// case's dates; saving symptoms moves the onset and isolation end; a
/// missing required answer is named; contacts named by fast entry are
/// listed, a repeat with a hint; another tracer is refused and changes
/// nothing.
#[tokio::test]
async fn the_case_interview_moves_the_dates_and_names_contacts() {
    let f = floor().await;
    let token = csrf(&f.tracer.1);
    let page_path = format!("/desk/tasks/{}/interview", f.task);
    let (_, task_page) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
    assert!(
        task_page.contains(&format!("href=\"{page_path}\"")),
        "{task_page}"
    );
    let (st, html) = get(&f.h, &page_path, Some(&f.tracer.1)).await;
    assert_eq!(st, 200, "{html}");
    for shown in [
        "Confirmed name and date of birth with the person",
        "name=\"q.symptoms.fever.onset\"",
        "data-show-if-name=\"q.hospitalized\" data-show-if-value=\"true\"",
        "Isolation ends",
        "No contacts named yet",
    ] {
        assert!(html.contains(shown), "{shown} in {html}");
    }
    let today = chrono::Utc::now().date_naive();
    let before = f.h.cw.cases().get_case(case_of(&f).await).await.unwrap();

    // A required answer missing: named, nothing saved.
    let (st, msg) = post_form(
        &f.h,
        &page_path,
        &f.tracer.1,
        Some(&token),
        &[("q.symptomatic", "false")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{msg}");
    assert!(msg.contains("identity_confirmed"), "{msg}");

    let onset = (today - chrono::Days::new(5)).to_string();
    let (st, dates) = post_form(
        &f.h,
        &page_path,
        &f.tracer.1,
        Some(&token),
        &[
            ("q.identity_confirmed", "true"),
            ("q.symptomatic", "true"),
            ("q.symptoms", "fever"),
            ("q.symptoms.fever.onset", &onset),
            ("q.hospitalized", "false"),
            ("q.congregate_setting", "none"),
            ("q.contacts_elicited", "true"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{dates}");
    let after = f.h.cw.cases().get_case(before.id).await.unwrap();
    assert_eq!(after.onset_date.map(|d| d.to_string()), Some(onset.clone()));
    assert_ne!(
        after.isolation_end, before.isolation_end,
        "the isolation end moved"
    );
    assert!(
        dates.contains("Saved at") && dates.contains(&onset),
        "{dates}"
    );
    assert!(dates.contains(&after.isolation_end.to_string()), "{dates}");
    // The page shows the saved answers again.
    let (_, html) = get(&f.h, &page_path, Some(&f.tracer.1)).await;
    assert!(
        html.contains(&format!(
            "name=\"q.symptoms.fever.onset\" value=\"{onset}\""
        )),
        "{html}"
    );

    // Three contacts by fast entry, then one of them again.
    let contacts = format!("/desk/tasks/{}/contacts", f.task);
    let last = (today - chrono::Days::new(1)).to_string();
    let mut list = String::new();
    for (first, last_name, phone, setting) in [
        ("Teo", "Quintero", "(212) 555-0171", "household"),
        ("Ana", "Beltrán", "(212) 555-0172", "workplace"),
        ("Ravi", "Menon", "(212) 555-0173", "event"),
    ] {
        let (st, out) = post_form(
            &f.h,
            &contacts,
            &f.tracer.1,
            Some(&token),
            &[
                ("first_name", first),
                ("last_name", last_name),
                ("phone", phone),
                ("language", "es"),
                ("exposure_date", &last),
                ("setting", setting),
            ],
        )
        .await;
        assert_eq!(st, 200, "{out}");
        list = out;
    }
    assert!(list.contains("3 contacts named"), "{list}");
    for name in ["Teo Quintero", "Ana Beltrán", "Ravi Menon"] {
        assert!(list.contains(name), "{name} in {list}");
    }
    let (st, again) = post_form(
        &f.h,
        &contacts,
        &f.tracer.1,
        Some(&token),
        &[
            ("first_name", "Ana"),
            ("last_name", "Beltrán"),
            ("phone", "(212) 555-0172"),
            ("language", "es"),
            ("exposure_date", &last),
            ("setting", "workplace"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{again}");
    assert!(
        again.contains("3 contacts named") && again.contains("Already named by this case"),
        "{again}"
    );
    // A contact without a name: refused with the field.
    let (st, msg) = post_form(
        &f.h,
        &contacts,
        &f.tracer.1,
        Some(&token),
        &[("exposure_date", &last)],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{msg}");

    // Another tracer: refused everywhere, nothing named.
    let other = csrf(&f.other.1);
    let (st, html) = get(&f.h, &page_path, Some(&f.other.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(!html.contains("Quintero"), "{html}");
    let (st, _) = post_form(
        &f.h,
        &contacts,
        &f.other.1,
        Some(&other),
        &[
            ("first_name", "Intruso"),
            ("last_name", "X"),
            ("exposure_date", &last),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = post_form(
        &f.h,
        &page_path,
        &f.other.1,
        Some(&other),
        &[("q.identity_confirmed", "false")],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, html) = get(&f.h, &page_path, Some(&f.tracer.1)).await;
    assert!(
        html.contains("3 contacts named") && !html.contains("Intruso"),
        "{html}"
    );

    // Referrals from the interview: the holder refers the case for food
    // (listed at once, a support task made); an unknown kind is named;
    // another tracer is refused and refers nothing.
    assert!(html.contains("No referral yet."), "{html}");
    let refer = format!("/desk/tasks/{}/referrals", f.task);
    let token = csrf(&f.tracer.1);
    let (st, body) = post_form(
        &f.h,
        &refer,
        &f.tracer.1,
        Some(&token),
        &[("kind", "spaceship")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (st, _) = post_form(&f.h, &refer, &f.other.1, Some(&other), &[("kind", "food")]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, part) = post_form(
        &f.h,
        &refer,
        &f.tracer.1,
        Some(&token),
        &[("kind", "food"), ("details", "family of four")],
    )
    .await;
    assert_eq!(st, 200, "{part}");
    assert!(
        part.contains("<strong>Food</strong> · requested · family of four"),
        "{part}"
    );
    let case = case_of(&f).await;
    let refs =
        f.h.cw
            .cases()
            .referrals(tracedesk_casework::NoteOn::Case(case))
            .await
            .unwrap();
    assert_eq!(refs.len(), 1, "the refused one made nothing");
    assert!(refs[0].task_id.is_some(), "a support task carries it out");
}

pub(crate) async fn case_of(f: &Floor) -> Uuid {
    f.h.store
        .get_task(f.task.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .case_id
        .unwrap()
}

/// A tracer opening another tracer's person gets the refusal with the
/// break-glass form; a reason too short is refused; a good one opens the
/// person for them, flagged on the page and in the audit log. The holder
/// sees the person without the flag; a form without the CSRF token opens
/// nothing.
#[tokio::test]
async fn another_tracers_person_offers_break_glass_and_says_when_it_is_used() {
    let f = floor().await;
    let path = format!("/desk/persons/{}", f.person);
    let (st, html) = get(&f.h, &path, Some(&f.tracer.1)).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains("Marisol Quintero") && !html.contains("Opened by break-glass"),
        "{html}"
    );

    let (st, html) = get(&f.h, &path, Some(&f.other.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{html}");
    assert!(
        html.contains("Break-glass access") && html.contains("hx-post=\"/desk/break-glass\""),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "<meta name=\"csrf-token\" content=\"{}\"",
            csrf(&f.other.1)
        )),
        "{html}"
    );
    assert!(!html.contains("Marisol"), "{html}");

    let other = csrf(&f.other.1);
    let (st, msg) = post_form(
        &f.h,
        "/desk/break-glass",
        &f.other.1,
        Some(&other),
        &[("person_id", &f.person), ("reason", "urgent")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{msg}");
    let (st, _) = post_form(
        &f.h,
        "/desk/break-glass",
        &f.other.1,
        None,
        &[
            ("person_id", &f.person),
            ("reason", "The person called me back"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "no CSRF token");
    let res = client()
        .post(format!("{}/desk/break-glass", f.h.base))
        .header("cookie", format!("td_session={}", f.other.1))
        .header("x-csrf-token", &other)
        .header("hx-request", "true")
        .form(&[
            ("person_id", f.person.as_str()),
            ("reason", "The person called me back about their results"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["hx-redirect"], path.as_str());
    let (st, html) = get(&f.h, &path, Some(&f.other.1)).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains("Marisol Quintero") && html.contains("Opened by break-glass"),
        "{html}"
    );
    let log =
        f.h.store
            .audit_for_person(f.person.parse().unwrap())
            .await
            .unwrap();
    assert!(log.iter().any(|e| e.draft.action == Action::BreakGlass));
    assert!(
        log.iter().any(|e| e.draft.action == Action::PhiRead
            && e.draft.detail == "GET /desk/persons/{id} (break-glass)"),
        "the read is flagged"
    );
    assert!(
        log.iter()
            .all(|e| !e.draft.detail.contains("called me back")),
        "the reason stays sealed"
    );

    // Reviewed on the floor by a supervisor over the tracer, audited; a
    // sibling jurisdiction's supervisor sees none of it; a tracer is refused.
    let (_, sup) = signed_in(&f.h, "glass-sup", Role::Supervisor, "ny").await;
    let (st, html) = get(&f.h, "/floor/break-glass", Some(&sup)).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains("called me back") && html.contains("desk-other Staff"),
        "{html}"
    );
    assert!(!html.contains("Marisol"), "{html}");
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter().any(
            |e| e.draft.action == Action::PhiRead && e.draft.detail == "GET /floor/break-glass"
        ),
        "reading the reasons is audited"
    );
    let (st, html) = get(&f.h, "/floor/break-glass", Some(&f.sup_nj.1)).await;
    assert_eq!(st, 200);
    assert!(!html.contains("called me back"), "{html}");
    let (st, _) = get(&f.h, "/floor/break-glass", Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// The supervisor floor: queues and work in progress for a supervisor
/// (no person on it), refused to a tracer; a live stream; returning a task
/// to the queue takes it from its tracer (the case's investigator keeps
/// the case), and a sibling jurisdiction's supervisor cannot.
#[tokio::test]
async fn the_floor_shows_the_work_and_returns_a_task_to_its_queue() {
    let f = routed_floor().await;
    let (_, sup) = signed_in(&f.h, "floor-sup", Role::Supervisor, "ny").await;
    let (st, html) = get(&f.h, "/floor", Some(&sup)).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains("case_investigation") && html.contains("tasks waiting"),
        "{html}"
    );
    assert!(html.contains("sse-connect=\"/floor/stream\""), "{html}");
    assert!(!html.contains("Marisol"), "{html}");
    // The epidemic curve: the one case, on its specimen day, in their
    // jurisdictions only.
    let specimen = (chrono::Utc::now().date_naive() - chrono::Days::new(2)).to_string();
    assert!(
        html.contains("over the last 28 days in your jurisdictions: 1 case."),
        "{html}"
    );
    assert!(
        html.contains(&format!("<title>{specimen}: 1</title>")),
        "{html}"
    );
    let (_, nj) = get(&f.h, "/floor", Some(&f.sup_nj.1)).await;
    assert!(nj.contains("in your jurisdictions: 0 cases."), "{nj}");
    let (st, _) = get(&f.h, "/floor", Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "tracers do not see the floor");
    let r = client()
        .get(format!("{}/floor/stream", f.h.base))
        .header("cookie", format!("td_session={sup}"))
        .send()
        .await
        .unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    drop(r);

    // The tracer takes the interview; it shows as worked, by them.
    let token = csrf(&f.tracer.1);
    post_form(
        &f.h,
        "/desk/activity",
        &f.tracer.1,
        Some(&token),
        &[("activity", "Available")],
    )
    .await;
    let mut offer = None;
    for _ in 0..100 {
        offer = offer_in(&get(&f.h, "/desk", Some(&f.tracer.1)).await.1);
        if offer.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let offer = offer.expect("an offer");
    let (st, _) = post_form(
        &f.h,
        &format!("/desk/offers/{offer}/accept"),
        &f.tracer.1,
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(st, 200);
    let mut floor = String::new();
    for _ in 0..100 {
        floor = get(&f.h, "/floor", Some(&sup)).await.1;
        if floor.contains(&format!("/floor/tasks/{}/return", f.task)) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        floor.contains("desk-tracer Staff") && floor.contains("Case interview"),
        "{floor}"
    );
    assert!(
        floor.contains(&format!("/floor/tasks/{}/return", f.task)),
        "{floor}"
    );

    // A sibling jurisdiction's supervisor cannot return it; theirs can.
    let back = format!("/floor/tasks/{}/return", f.task);
    let (st, _) = post_form(&f.h, &back, &f.sup_nj.1, Some(&csrf(&f.sup_nj.1)), &[]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, line) = post_form(&f.h, &back, &sup, Some(&csrf(&sup)), &[]).await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "Returned to the queue.")
    );
    let task =
        f.h.store
            .get_task(f.task.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
    assert_eq!(
        (task.status.as_str(), task.assignee_id),
        ("pending", None),
        "in its queue again"
    );
}

/// The monitoring line lists page: a supervisor sees a monitored contact
/// by name on the list their check-ins put them on, audited; a tracer is
/// refused; a sibling jurisdiction's supervisor sees no one.
#[tokio::test]
async fn the_monitoring_lists_show_monitored_contacts_to_supervisors() {
    let f = floor().await;
    let (_, sup_token) = f.h.user("mon-sup-token", Role::Supervisor, "ny").await;
    let (_, sup) = signed_in(&f.h, "mon-sup", Role::Supervisor, "ny").await;
    let case = case_of(&f).await;
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    let (st, named) =
        f.h.call(
            &sup_token,
            Method::POST,
            &format!("/api/v1/cases/{case}/contacts"),
            Some(
                json!({"first_name": "Lucía", "last_name": "Reis", "phone": "(212) 555-0181",
                "language": "es", "exposure_dates": [yesterday]}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{named}");
    let contact = named["exposure_id"].as_str().unwrap().to_string();
    for status in ["notified", "monitoring"] {
        let (st, v) =
            f.h.call(
                &sup_token,
                Method::PATCH,
                &format!("/api/v1/contacts/{contact}"),
                Some(json!({ "status": status })),
            )
            .await;
        assert_eq!(st, 200, "{v}");
    }
    let mut found = String::new();
    for list in ["symptomatic", "non_reporting", "asymptomatic", "closed"] {
        let (st, html) = get(&f.h, &format!("/monitoring?list={list}"), Some(&sup)).await;
        assert_eq!(st, 200, "{html}");
        if html.contains("Lucía Reis") {
            found = list.to_string();
        }
    }
    assert!(!found.is_empty(), "the monitored contact is on a list");
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter().any(|e| e.draft.detail == "GET /monitoring"
            && e.draft.object_id.map(|i| i.to_string()) == Some(contact.clone())),
        "the page is audited per contact"
    );
    let (st, _) = get(&f.h, "/monitoring", Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, html) = get(
        &f.h,
        &format!("/monitoring?list={found}"),
        Some(&f.sup_nj.1),
    )
    .await;
    assert!(!html.contains("Lucía"), "{html}");
    let (st, _) = get(&f.h, "/monitoring?list=everyone", Some(&sup)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The contact notification script: a notification task's holder opens
/// the script from the task, sees the quarantine end beside it, and saves
/// the answers onto the contact record; another tracer is refused.
#[tokio::test]
async fn the_notification_script_is_saved_on_the_contact_record() {
    let f = floor().await;
    let token = csrf(&f.tracer.1);
    let last = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    let (st, out) = post_form(
        &f.h,
        &format!("/desk/tasks/{}/contacts", f.task),
        &f.tracer.1,
        Some(&token),
        &[
            ("first_name", "Nadia"),
            ("last_name", "Quintero"),
            ("phone", "(212) 555-0174"),
            ("language", "es"),
            ("exposure_date", &last),
            ("setting", "household"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{out}");
    let case = case_of(&f).await;
    let contact =
        f.h.cw
            .cases()
            .list_contacts(Some(case), None, None, Some(10), None)
            .await
            .unwrap()
            .items
            .remove(0);
    let notify =
        f.h.store
            .tasks_for_case(case)
            .await
            .unwrap()
            .into_iter()
            .find(|t| t.exposure_id == Some(contact.exposure_id))
            .expect("a notification task");
    let (_, sup) = f.h.user("script-sup", Role::Supervisor, "ny").await;
    let (st, v) =
        f.h.call(
            &sup,
            Method::POST,
            &format!("/api/v1/tasks/{}/assign", notify.id),
            Some(json!({"user_id": f.tracer.0})),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    let (_, task_page) = get(
        &f.h,
        &format!("/desk/tasks/{}", notify.id),
        Some(&f.tracer.1),
    )
    .await;
    let script = format!("/desk/tasks/{}/script", notify.id);
    assert!(
        task_page.contains(&format!("href=\"{script}\"")),
        "{task_page}"
    );
    assert!(
        !task_page.contains("/interview\""),
        "no case interview on a notification task"
    );
    let (st, html) = get(&f.h, &script, Some(&f.tracer.1)).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("Told of a possible exposure"), "{html}");
    assert!(html.contains(&contact.quarantine_end.to_string()), "{html}");
    let (st, dates) = post_form(
        &f.h,
        &script,
        &f.tracer.1,
        Some(&token),
        &[
            ("q.identity_confirmed", "true"),
            ("q.informed_of_exposure", "true"),
            ("q.quarantine_explained", "true"),
            ("q.symptomatic_now", "false"),
            ("q.monitoring_channel", "sms"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{dates}");
    assert!(dates.contains("Saved at"), "{dates}");
    let (st, saved) =
        f.h.call(
            &sup,
            Method::GET,
            &format!("/api/v1/contacts/{}/interview", contact.exposure_id),
            None,
        )
        .await;
    assert_eq!(st, 200, "{saved}");
    assert_eq!(saved["answers"]["informed_of_exposure"], true, "{saved}");
    let (st, _) = get(&f.h, &script, Some(&f.other.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = post_form(
        &f.h,
        &script,
        &f.other.1,
        Some(&csrf(&f.other.1)),
        &[("q.identity_confirmed", "false")],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// Administration: a root administrator lists accounts, disables one
/// (whose session then stops) and enables it again, cannot disable their
/// own, and edits a text template with the lint applied; a jurisdiction's
/// administrator and a tracer are refused.
#[tokio::test]
async fn administration_manages_accounts_and_templates_for_root_admins_only() {
    let f = floor().await;
    let (_, admin) = signed_in(&f.h, "root-admin", Role::Admin, "root").await;
    let (_, ny_admin) = signed_in(&f.h, "ny-admin", Role::Admin, "ny").await;
    let token = csrf(&admin);
    let (st, html) = get(&f.h, "/admin/users", Some(&admin)).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains("desk-tracer") && html.contains("href=\"/admin/users\""),
        "{html}"
    );
    for (who, session) in [("ny admin", &ny_admin), ("tracer", &f.tracer.1)] {
        let (st, _) = get(&f.h, "/admin/users", Some(session)).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{who}");
        let (st, _) = post_form(
            &f.h,
            "/admin/users/disable",
            session,
            Some(&csrf(session)),
            &[("username", "desk-other")],
        )
        .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{who}");
    }
    let (_, ny_home) = get(&f.h, "/", Some(&ny_admin)).await;
    assert!(
        !ny_home.contains("href=\"/admin/users\""),
        "no link they cannot use"
    );

    let (st, line) = post_form(
        &f.h,
        "/admin/users/disable",
        &admin,
        Some(&token),
        &[("username", "desk-other")],
    )
    .await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "Done: desk-other is now disabled.")
    );
    let (st, to) = get(&f.h, "/desk", Some(&f.other.1)).await;
    assert_eq!(
        (st, to.as_str()),
        (StatusCode::SEE_OTHER, "/login"),
        "their session ended"
    );
    let (st, _) = post_form(
        &f.h,
        "/admin/users/enable",
        &admin,
        Some(&token),
        &[("username", "desk-other")],
    )
    .await;
    assert_eq!(st, 200);
    let (st, msg) = post_form(
        &f.h,
        "/admin/users/disable",
        &admin,
        Some(&token),
        &[("username", "root-admin")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{msg}");
    assert!(msg.contains("your own account"), "{msg}");
    let (st, _) = post_form(
        &f.h,
        "/admin/users/unlock",
        &admin,
        Some(&token),
        &[("username", "nobody-here")],
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, html) = get(&f.h, "/admin/templates", Some(&admin)).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains("name=\"language\" value=\"es\""), "{html}");
    let key = [
        ("name", "case_outreach"),
        ("channel", "sms"),
        ("language", "en"),
    ];
    let with = |body: &'static str| {
        let mut v = key.to_vec();
        v.push(("body", body));
        v
    };
    let (st, msg) = post_form(
        &f.h,
        "/admin/templates",
        &admin,
        Some(&token),
        &with("{program}: you tested positive. Call {callback}. Reply STOP to opt out."),
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{msg}");
    let (st, line) = post_form(
        &f.h,
        "/admin/templates",
        &admin,
        Some(&token),
        &with("{program}: please call us today at {callback}. Reply STOP to opt out."),
    )
    .await;
    assert_eq!((st.as_u16(), line.as_str()), (200, "Saved."));
    let (_, html) = get(&f.h, "/admin/templates", Some(&admin)).await;
    assert!(html.contains("please call us today at"), "{html}");
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.draft.detail == "POST /admin/templates"),
        "audited"
    );
    assert!(
        log.iter()
            .any(|e| e.draft.detail == "POST /admin/users/disable"),
        "audited"
    );
}

/// The routed floor's interview, offered to and accepted by `desk-tracer`
/// through the desk's own routes; answers once its page opens.
async fn accepted(f: &Floor) {
    let token = csrf(&f.tracer.1);
    let (st, _) = post_form(
        &f.h,
        "/desk/activity",
        &f.tracer.1,
        Some(&token),
        &[("activity", "Available")],
    )
    .await;
    assert_eq!(st, 200);
    let mut page = String::new();
    for _ in 0..100 {
        page = get(&f.h, "/desk", Some(&f.tracer.1)).await.1;
        if offer_in(&page).is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let r = offer_in(&page).unwrap_or_else(|| panic!("an offer: {page}"));
    let path = format!("/desk/offers/{r}/accept");
    let (st, _) = post_form(&f.h, &path, &f.tracer.1, Some(&token), &[]).await;
    assert_eq!(st, 200);
    for _ in 0..100 {
        let (st, _) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
        if st == StatusCode::OK {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the accepted task never opened");
}

/// Working a task from its page: the holder logs attempts (shown at once,
/// audited), asks for click-to-call, and wraps up with a disposition that
/// completes the task through routing. Another tracer, a sibling
/// jurisdiction's supervisor and a request without the CSRF token are
/// refused and change nothing; a bad call-back time or a missing
/// disposition is a clear error.
#[tokio::test]
async fn the_holder_logs_attempts_calls_and_wraps_up_a_task() {
    let f = routed_floor().await;
    accepted(&f).await;
    let task = f.task.clone();
    let (st, page) = get(&f.h, &format!("/desk/tasks/{task}"), Some(&f.tracer.1)).await;
    assert_eq!(st, 200);
    assert!(page.contains("No attempts yet."), "{page}");
    assert!(
        page.contains("id=\"wrap-up\"") && page.contains("id=\"call\""),
        "{page}"
    );
    let attempts = format!("/desk/tasks/{task}/attempts");
    let token = csrf(&f.tracer.1);

    // Refused: another tracer, a sibling supervisor, no CSRF token.
    let no_answer = [
        ("channel", "phone"),
        ("outcome", "no_answer"),
        ("note", "rang twice"),
    ];
    for (session, token) in [
        (&f.other.1, Some(csrf(&f.other.1))),
        (&f.sup_nj.1, Some(csrf(&f.sup_nj.1))),
        (&f.tracer.1, None),
    ] {
        let (st, body) = post_form(&f.h, &attempts, session, token.as_deref(), &no_answer).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
        assert!(!body.contains("rang twice"));
    }
    let id: Uuid = task.parse().unwrap();
    let before = f.h.cw.cases().attempts(id).await.unwrap().len();
    assert_eq!(before, 0, "a refusal records nothing");

    // A bad call-back time names the field.
    let (st, body) = post_form(
        &f.h,
        &attempts,
        &f.tracer.1,
        Some(&token),
        &[
            ("channel", "phone"),
            ("outcome", "call_back"),
            ("callback_at", "tomorrow"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("call back at: give a date"), "{body}");

    let (st, part) = post_form(&f.h, &attempts, &f.tracer.1, Some(&token), &no_answer).await;
    assert_eq!(st, 200, "{part}");
    assert!(
        part.contains("No answer") && part.contains("rang twice"),
        "{part}"
    );
    let (st, part) = post_form(
        &f.h,
        &attempts,
        &f.tracer.1,
        Some(&token),
        &[
            ("channel", "phone"),
            ("outcome", "call_back"),
            ("callback_at", "2030-01-02T09:30"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{part}");
    assert!(part.contains("call back 2030-01-02 09:30 UTC"), "{part}");
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.draft.detail == "POST /desk/tasks/{id}/attempts"
                && e.draft.object_id == Some(id)),
        "the attempt is audited"
    );

    // Click-to-call: a number that is none is refused by name; another
    // tracer cannot ring through someone else's task.
    let call = format!("/desk/tasks/{task}/call");
    let (st, body) = post_form(&f.h, &call, &f.tracer.1, Some(&token), &[("phone", "12")]).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (st, _) = post_form(
        &f.h,
        &call,
        &f.other.1,
        Some(&csrf(&f.other.1)),
        &[("phone", "(212) 555-0100")],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = post_form(
        &f.h,
        &call,
        &f.tracer.1,
        Some(&token),
        &[("phone", "(212) 555-0100")],
    )
    .await;
    assert_eq!(
        (st.as_u16(), body.contains("Ringing your phone")),
        (200, true),
        "{body}"
    );

    // Wrap-up: a disposition is required; then the task completes.
    let wrap = format!("/desk/tasks/{task}/wrap-up");
    let (st, _) = post_form(
        &f.h,
        &wrap,
        &f.other.1,
        Some(&csrf(&f.other.1)),
        &[("channel", "phone"), ("outcome", "reached")],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = post_form(
        &f.h,
        &wrap,
        &f.tracer.1,
        Some(&token),
        &[("channel", "phone")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let r = client()
        .post(format!("{}{wrap}", f.h.base))
        .header("cookie", format!("td_session={}", f.tracer.1))
        .header("x-csrf-token", &token)
        .header("hx-request", "true")
        .form(&[
            ("channel", "phone"),
            ("outcome", "reached"),
            ("note", "done"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["hx-redirect"], "/desk");
    let mut status = String::new();
    for _ in 0..100 {
        status = f.h.store.get_task(id).await.unwrap().unwrap().status;
        if status == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "completed");
    let outcomes: Vec<String> =
        f.h.cw
            .cases()
            .attempts(id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.outcome)
            .collect();
    assert!(outcomes.contains(&"reached".to_string()), "{outcomes:?}");
    // Reached on a case interview: the case moves on to isolating, and the
    // floor's indicators count it interviewed on time.
    let case =
        f.h.store
            .get_task(id)
            .await
            .unwrap()
            .unwrap()
            .case_id
            .unwrap();
    assert_eq!(
        f.h.store.get_case(case).await.unwrap().unwrap().status,
        "isolating"
    );
    let (_, sup) = signed_in(&f.h, "wrap-sup", Role::Supervisor, "ny").await;
    let (_, floor) = get(&f.h, "/floor", Some(&sup)).await;
    assert!(
        floor.contains("Cases interviewed within 24 h of report</th><td>1 of 1 (100 %)</td><td>1 of 1 (100 %)</td>"),
        "{floor}"
    );
    let (_, nj) = get(&f.h, "/floor", Some(&f.sup_nj.1)).await;
    assert!(
        nj.contains("Cases interviewed within 24 h of report</th><td>–</td><td>–</td>"),
        "not a sibling's cases: {nj}"
    );
    // Completed: no longer the tracer's to work.
    let (st, _) = post_form(&f.h, &attempts, &f.tracer.1, Some(&token), &no_answer).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
}

/// The floor by language and by tracer, and managing one task from it:
/// a supervisor reassigns a held task to another tracer of its
/// jurisdiction (never to a sibling jurisdiction's staff) and transfers its
/// case to another jurisdiction; a sibling jurisdiction's supervisor cannot
/// open or touch it; no personal data is shown.
#[tokio::test]
async fn the_floor_reassigns_and_transfers_a_task() {
    let f = routed_floor().await;
    let (_, sup) = signed_in(&f.h, "floor-sup", Role::Supervisor, "ny").await;
    let (_, html) = get(&f.h, "/floor", Some(&sup)).await;
    assert!(html.contains("Waiting by language"), "{html}");
    assert!(html.contains("<tr><td>es</td><td>1</td></tr>"), "{html}");
    assert!(
        html.contains("desk-tracer Staff") && html.contains("desk-other Staff"),
        "the jurisdiction's tracers: {html}"
    );
    let (_, nj) = get(&f.h, "/floor", Some(&f.sup_nj.1)).await;
    assert!(
        !nj.contains("desk-tracer Staff"),
        "not a sibling's tracers: {nj}"
    );

    accepted(&f).await;
    let manage = format!("/floor/tasks/{}", f.task);
    let (st, _) = get(&f.h, &manage, Some(&f.sup_nj.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = get(&f.h, &manage, Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, page) = get(&f.h, &manage, Some(&sup)).await;
    assert_eq!(st, 200, "{page}");
    assert!(
        page.contains("desk-other Staff") && page.contains("desk-tracer Staff"),
        "{page}"
    );
    assert!(
        !page.contains("Marisol") && !page.contains("5550168"),
        "{page}"
    );

    // Reassign: not to a sibling's staff, not by a sibling; then to the
    // other tracer of New York.
    let assign = format!("{manage}/assign");
    let (st, body) = post_form(
        &f.h,
        &assign,
        &sup,
        Some(&csrf(&sup)),
        &[("user_id", &f.sup_nj.0.to_string())],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let other = f.other.0.to_string();
    let (st, _) = post_form(
        &f.h,
        &assign,
        &f.sup_nj.1,
        Some(&csrf(&f.sup_nj.1)),
        &[("user_id", &other)],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, line) = post_form(
        &f.h,
        &assign,
        &sup,
        Some(&csrf(&sup)),
        &[("user_id", &other)],
    )
    .await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "Reassigned to desk-other Staff.")
    );
    let id: Uuid = f.task.parse().unwrap();
    let task = f.h.store.get_task(id).await.unwrap().unwrap();
    assert_eq!(task.assignee_id, Some(f.other.0));
    let log = f.h.store.audit_entries(0, 10_000).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.draft.detail == "POST /floor/tasks/{id}/assign"
                && e.draft.object_id == Some(id)),
        "the reassignment is audited"
    );
    // The new holder opens it; the old one no longer does.
    let mut opened = StatusCode::FORBIDDEN;
    for _ in 0..100 {
        opened = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.other.1))
            .await
            .0;
        if opened == StatusCode::OK {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(opened, StatusCode::OK);
    let (st, _) = get(&f.h, &format!("/desk/tasks/{}", f.task), Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);

    // Transfer the case to New Jersey.
    assert!(page.contains("<option value=\"nj\">nj</option>"), "{page}");
    let transfer = format!("{manage}/transfer");
    let (st, _) = post_form(
        &f.h,
        &transfer,
        &f.sup_nj.1,
        Some(&csrf(&f.sup_nj.1)),
        &[("jurisdiction", "nj")],
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, body) = post_form(
        &f.h,
        &transfer,
        &sup,
        Some(&csrf(&sup)),
        &[("jurisdiction", "nowhere")],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (st, line) = post_form(
        &f.h,
        &transfer,
        &sup,
        Some(&csrf(&sup)),
        &[("jurisdiction", "nj")],
    )
    .await;
    assert_eq!((st.as_u16(), line.as_str()), (200, "Transferred to nj."));
    let case =
        f.h.store
            .get_task(id)
            .await
            .unwrap()
            .unwrap()
            .case_id
            .unwrap();
    assert_eq!(
        f.h.store
            .get_case(case)
            .await
            .unwrap()
            .unwrap()
            .jurisdiction,
        "nj"
    );
}

/// The floor's transmission chains and clusters: a contact named by the
/// case becomes a case; the chain of two is drawn (short ids only) for
/// the jurisdiction's supervisor, with the cluster recorded there; a
/// sibling jurisdiction's supervisor sees neither.
#[tokio::test]
async fn the_floor_draws_chains_and_clusters_within_scope() {
    let f = routed_floor().await;
    let (_, sup) = f.h.user("chain-sup", Role::Supervisor, "ny").await;
    let case = case_of(&f).await;
    let yesterday = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    let (st, out) =
        f.h.call(
            &sup,
            Method::POST,
            &format!("/api/v1/cases/{case}/contacts"),
            Some(
                json!({"first_name": "Teo", "last_name": "Quintero", "dob": "1990-05-06",
                "phone": "(212) 555-0171", "exposure_dates": [yesterday], "setting": "household"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    let (st, out) =
        f.h.call(
            &sup,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Teo", "last_name": "Quintero", "dob": "1990-05-06",
                "phone": "(212) 555-0171", "specimen_date": yesterday,
                "result": "positive", "jurisdiction": "ny", "accession": "CHAIN-2"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    let (st, out) =
        f.h.call(
            &sup,
            Method::POST,
            "/api/v1/clusters",
            Some(json!({"name": "Harbour office party", "setting": "event",
                "starts": yesterday, "ends": yesterday, "jurisdiction": "ny"})),
        )
        .await;
    assert_eq!(st, 201, "{out}");

    let (_, session) = signed_in(&f.h, "chain-floor", Role::Supervisor, "ny").await;
    let (st, html) = get(&f.h, "/floor", Some(&session)).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains("One chain of cases linked by named contacts"),
        "{html}"
    );
    assert!(
        html.contains("Chain of 2 cases over 2 generations")
            && html.matches("<circle").count() == 2,
        "{html}"
    );
    assert!(html.contains("Harbour office party"), "{html}");
    assert!(!html.contains("Teo") && !html.contains("Marisol"), "{html}");
    let (_, nj) = get(&f.h, "/floor", Some(&f.sup_nj.1)).await;
    assert!(
        nj.contains("No chain yet") && !nj.contains("<circle"),
        "{nj}"
    );
    assert!(!nj.contains("Harbour office party"), "{nj}");
}

/// The rest of administration in the browser, for root administrators
/// only: a new account with a temporary password that signs in; a team and
/// a member; a jurisdiction (a bad code named); an API token that works
/// until revoked; and the status page, whose audit log check runs with
/// progress to its outcome. A jurisdiction's administrator and a
/// supervisor are refused and change nothing.
#[tokio::test]
async fn administration_manages_teams_jurisdictions_tokens_and_checks_the_audit_log() {
    let f = floor().await;
    let (_, admin) = signed_in(&f.h, "root-admin", Role::Admin, "root").await;
    let (_, ny_admin) = signed_in(&f.h, "ny-admin", Role::Admin, "ny").await;
    let (_, sup) = signed_in(&f.h, "org-sup", Role::Supervisor, "root").await;
    let token = csrf(&admin);
    for path in [
        "/admin/teams",
        "/admin/jurisdictions",
        "/admin/tokens",
        "/admin/status",
    ] {
        let (st, html) = get(&f.h, path, Some(&admin)).await;
        assert_eq!(st, 200, "{path}: {html}");
        assert!(
            html.contains(&format!("href=\"{path}\" aria-current=\"page\"")),
            "{html}"
        );
        for session in [&ny_admin, &sup] {
            let (st, _) = get(&f.h, path, Some(session)).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        }
    }
    let refused: [(&str, Vec<(&str, &str)>); 4] = [
        (
            "/admin/users/add",
            vec![
                ("username", "sneaky"),
                ("display_name", "S"),
                ("role", "admin"),
                ("jurisdiction", "root"),
            ],
        ),
        (
            "/admin/jurisdictions",
            vec![("code", "sneaky"), ("name", "S"), ("parent", "root")],
        ),
        (
            "/admin/tokens",
            vec![("name", "sneaky"), ("username", "org-sup")],
        ),
        ("/admin/audit/verify", vec![]),
    ];
    for (path, form) in &refused {
        for session in [&ny_admin, &sup] {
            let (st, _) = post_form(&f.h, path, session, Some(&csrf(session)), form).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        }
    }
    assert!(
        f.h.cw
            .staff()
            .user_by_username("sneaky")
            .await
            .unwrap()
            .is_none()
    );

    // A new account: its temporary password signs in (to the password change).
    let (st, line) = post_form(
        &f.h,
        "/admin/users/add",
        &admin,
        Some(&token),
        &[
            ("username", "new-tracer"),
            ("display_name", "New Tracer"),
            ("role", "tracer"),
            ("jurisdiction", "ny"),
        ],
    )
    .await;
    assert_eq!(st, 200, "{line}");
    let password = line
        .split("Temporary password: ")
        .nth(1)
        .unwrap_or_else(|| panic!("{line}"))
        .trim()
        .to_string();
    let (st, out, _) = crate::login::login(&f.h, "new-tracer", &password, None).await;
    assert_eq!(st, StatusCode::OK, "{out}");
    let (st, line) = post_form(
        &f.h,
        "/admin/users/add",
        &admin,
        Some(&token),
        &[
            ("username", "x2"),
            ("display_name", "X"),
            ("role", "wizard"),
            ("jurisdiction", "ny"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(line.contains("role: is not a role"), "{line}");

    // A team with a member.
    let (st, line) = post_form(
        &f.h,
        "/admin/teams",
        &admin,
        Some(&token),
        &[("name", "Brooklyn A"), ("jurisdiction", "ny")],
    )
    .await;
    assert_eq!((st.as_u16(), line.as_str()), (200, "Team Brooklyn A made."));
    let (st, line) = post_form(
        &f.h,
        "/admin/teams/members",
        &admin,
        Some(&token),
        &[
            ("team", "Brooklyn A"),
            ("username", "desk-tracer"),
            ("action", "add"),
        ],
    )
    .await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "desk-tracer is now on Brooklyn A.")
    );
    let (_, html) = get(&f.h, "/admin/teams", Some(&admin)).await;
    assert!(
        html.contains("<td>Brooklyn A</td><td>ny</td><td>desk-tracer</td>"),
        "{html}"
    );

    // A jurisdiction: a bad code is named; a good one is added.
    let (st, line) = post_form(
        &f.h,
        "/admin/jurisdictions",
        &admin,
        Some(&token),
        &[
            ("code", "Kings County"),
            ("name", "Kings"),
            ("parent", "ny"),
        ],
    )
    .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(line.contains("lower-case"), "{line}");
    let (st, line) = post_form(
        &f.h,
        "/admin/jurisdictions",
        &admin,
        Some(&token),
        &[("code", "ny-kings"), ("name", "Kings"), ("parent", "ny")],
    )
    .await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "Jurisdiction ny-kings added.")
    );
    assert!(f.h.cw.jurisdictions().within("ny-kings", "ny"));

    // A token works for the API until revoked; creation and revocation
    // are audited.
    let (st, line) = post_form(
        &f.h,
        "/admin/tokens",
        &admin,
        Some(&token),
        &[("name", "lab-feed"), ("username", "org-sup")],
    )
    .await;
    assert_eq!(st, 200, "{line}");
    let api = line.rsplit(' ').next().unwrap().trim().to_string();
    let (st, _) = f.h.call(&api, Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(st, 200);
    let (_, html) = get(&f.h, "/admin/tokens", Some(&admin)).await;
    assert!(
        html.contains("lab-feed") && !html.contains(&api),
        "the token is shown once: {html}"
    );
    let (st, line) = post_form(
        &f.h,
        "/admin/tokens/revoke",
        &admin,
        Some(&token),
        &[("name", "lab-feed")],
    )
    .await;
    assert_eq!(
        (st.as_u16(), line.as_str()),
        (200, "Revoked 1 token(s) named lab-feed.")
    );
    let (st, _) = f.h.call(&api, Method::GET, "/api/v1/auth/me", None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let log = f.h.store.audit_entries(0, 100_000).await.unwrap();
    for route in [
        "POST /admin/tokens",
        "POST /admin/tokens/revoke",
        "POST /admin/users/add",
    ] {
        assert!(
            log.iter().any(|e| e.draft.detail == route),
            "{route} audited"
        );
    }
    assert!(
        !log.iter()
            .any(|e| e.draft.detail.contains(&api) || e.draft.detail.contains(&password))
    );

    // Status, and the audit log check run to its end.
    let (_, html) = get(&f.h, "/admin/status", Some(&admin)).await;
    assert!(
        html.contains("Current key version") && html.contains("case_interview"),
        "{html}"
    );
    let (st, part) = post_form(&f.h, "/admin/audit/verify", &admin, Some(&token), &[]).await;
    assert_eq!(st, 200, "{part}");
    let mut part = part;
    for _ in 0..200 {
        if part.contains("Audit log OK") || part.contains("does not verify") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        part = get(&f.h, "/admin/audit/verify", Some(&admin)).await.1;
    }
    assert!(part.contains("Audit log OK"), "{part}");
}

/// The record linkage pages: a supervisor sees the open pair (twins, as
/// far as the matcher can tell) by both names, compares the two records side by side, merges them and undoes
/// it, each step audited for both persons; a tracer is refused, a sibling
/// jurisdiction's supervisor sees nothing and is refused the pair, and a
/// merge without the CSRF token is refused.
#[tokio::test]
async fn the_linkage_pages_review_merge_and_undo_within_scope() {
    let f = floor().await;
    let (_, sup_token) = f.h.user("link-sup-token", Role::Supervisor, "ny").await;
    let (_, sup) = signed_in(&f.h, "link-sup", Role::Supervisor, "ny").await;
    let (st, out) =
        f.h.call(
            &sup_token,
            Method::POST,
            "/api/v1/lab-results",
            Some(
                json!({"first_name": "Rosa", "last_name": "Quintero", "dob": "1984-03-09",
                "phone": "(212) 555-0168",
                "specimen_date": chrono::Utc::now().date_naive().to_string(),
                "result": "positive", "jurisdiction": "ny", "accession": "LINK-PAGE-1"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{out}");
    assert_eq!(out["person_created"], true, "{out}");
    let later = out["person_id"].as_str().unwrap().to_string();
    f.h.cw.cases().linkage_settled().await;
    let pair =
        f.h.cw
            .cases()
            .link_reviews(vec!["ny".into()], Some("open"), None, Some(10))
            .await
            .unwrap()
            .items
            .into_iter()
            .next()
            .expect("an open pair");
    assert_eq!(pair.person_b.to_string(), later);
    let id = pair.id.to_string();
    let (st, html) = get(&f.h, "/linkage", Some(&sup)).await;
    assert_eq!(st, 200, "{html}");
    assert!(html.contains(&format!("/linkage/pairs/{id}")), "{html}");
    assert!(
        html.contains("Marisol Quintero") && html.contains("Rosa Quintero"),
        "{html}"
    );
    let (st, _) = get(&f.h, "/linkage", Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (_, nj) = get(&f.h, "/linkage", Some(&f.sup_nj.1)).await;
    assert!(!nj.contains("Marisol"), "{nj}");
    let pair_page = format!("/linkage/pairs/{id}");
    let (st, nj) = get(&f.h, &pair_page, Some(&f.sup_nj.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(!nj.contains("Marisol"), "{nj}");
    let (st, html) = get(&f.h, &pair_page, Some(&sup)).await;
    assert_eq!(st, 200, "{html}");
    assert!(
        html.contains("Rosa") && html.contains("1984-03-09"),
        "{html}"
    );
    assert!(
        html.contains("id=\"merge\"") && html.contains("id=\"distinct\""),
        "{html}"
    );

    // The merge: refused to others and without the token, then done.
    let merge = format!("{pair_page}/merge");
    let distinct = format!("{pair_page}/distinct");
    for who in [&f.sup_nj.1, &f.tracer.1] {
        for path in [&merge, &distinct] {
            let (st, _) = post_form(&f.h, path, who, Some(&csrf(who)), &[]).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{path}");
        }
    }
    let (st, _) = get(&f.h, "/linkage/merges", Some(&f.tracer.1)).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, _) = post_form(&f.h, &merge, &sup, None, &[]).await;
    assert_eq!(st, StatusCode::FORBIDDEN, "no CSRF token");
    let person_of_case = |p: &str| {
        let p: Uuid = p.parse().unwrap();
        let store = f.h.store.clone();
        async move { store.lab_results_for_person(p).await.unwrap().len() }
    };
    assert_eq!(person_of_case(&later).await, 1, "nothing moved yet");
    let (st, done) = post_form(&f.h, &merge, &sup, Some(&csrf(&sup)), &[]).await;
    assert_eq!(st, 200, "{done}");
    assert!(done.contains("Merged"), "{done}");
    assert_eq!(
        person_of_case(&later).await,
        0,
        "moved to the earlier record"
    );
    for p in [&f.person, &later] {
        let log =
            f.h.store
                .audit_for_person(p.parse().unwrap())
                .await
                .unwrap();
        assert!(
            log.iter().any(|e| e.draft.action == Action::PhiWrite
                && e.draft.detail == "POST /linkage/pairs/{id}/merge"),
            "the merge is in {p}'s disclosure record"
        );
    }
    let (st, html) = get(&f.h, "/linkage/merges", Some(&sup)).await;
    assert_eq!(st, 200, "{html}");
    let m =
        f.h.cw
            .cases()
            .person_merges(vec!["ny".into()], None, None, Some(10))
            .await
            .unwrap()
            .items[0]
            .id;
    let unmerge = format!("/linkage/merges/{m}/unmerge");
    assert!(html.contains(&unmerge), "{html}");
    let (_, nj) = get(&f.h, "/linkage/merges", Some(&f.sup_nj.1)).await;
    assert!(!nj.contains(&unmerge), "{nj}");
    let (st, _) = post_form(&f.h, &unmerge, &f.sup_nj.1, Some(&csrf(&f.sup_nj.1)), &[]).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    let (st, done) = post_form(&f.h, &unmerge, &sup, Some(&csrf(&sup)), &[]).await;
    assert_eq!(st, 200, "{done}");
    assert!(done.contains("Undone"), "{done}");
    assert_eq!(person_of_case(&later).await, 1, "back on its record");
    let (st, again) = post_form(&f.h, &unmerge, &sup, Some(&csrf(&sup)), &[]).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(again.contains("undone already"), "{again}");
    let (_, html) = get(&f.h, "/linkage/merges", Some(&sup)).await;
    assert!(html.contains("undone"), "{html}");
}
