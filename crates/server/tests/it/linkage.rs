//! Record linkage over the API: a data manager (a supervisor) sees the
//! pairs of their jurisdictions, a pair's two records side by side, and
//! decides an open one once; a sibling jurisdiction, a tracer and an
//! analyst are refused, and a pair across jurisdictions shows to neither
//! side's supervisor.

use crate::access::world;
use reqwest::Method;
use serde_json::{Value, json};

fn lab(first: &str, last: &str, dob: &str, acc: &str, jurisdiction: &str) -> Value {
    json!({"first_name": first, "last_name": last, "dob": dob, "specimen_date": "2026-11-20",
           "result": "positive", "accession": acc, "jurisdiction": jurisdiction})
}

#[tokio::test]
async fn a_data_manager_reviews_the_pairs_of_their_jurisdiction_only() {
    let w = world().await;
    let h = &w.h;
    // The world's Adaeze Okonkwo (1980-03-04), again as "Ada" with the
    // day one off: a new person, found to be possibly her.
    for (first, last, dob, acc, j) in [
        ("Ada", "Okonkwo", "1980-03-05", "LN-1", "ny-kings"),
        // The same again in New Jersey: a pair across jurisdictions.
        ("Adaeze", "Okonkwo-Eze", "1980-03-04", "LN-2", "nj"),
    ] {
        let feed = if j == "nj" {
            h.user("nj-feed", tracedesk_identity::Role::Integration, "nj")
                .await
                .1
        } else {
            w.feed.1.clone()
        };
        let (s, v) = h
            .call(
                &feed,
                Method::POST,
                "/api/v1/lab-results",
                Some(lab(first, last, dob, acc, j)),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["person_created"], true, "{v}");
    }
    // Linked in the background, after each intake answered.
    h.cw.cases().linkage_settled().await;
    let (s, page) = h
        .call(&w.sup.1, Method::GET, "/api/v1/linkage/reviews", None)
        .await;
    assert_eq!(s, 200, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "only the pair within ny-kings: {page}");
    let pair = &items[0];
    assert_eq!(pair["person_a"], w.person.as_str());
    assert_eq!(
        (
            pair["jurisdiction_a"].as_str(),
            pair["jurisdiction_b"].as_str()
        ),
        (Some("ny-kings"), Some("ny-kings"))
    );
    let id = pair["id"].as_str().unwrap().to_string();
    assert!(
        !page.to_string().contains("Okonkwo"),
        "the list shows ids and scores, not names"
    );
    // Side by side, with how each field agreed.
    let (s, sides) = h
        .call(
            &w.sup.1,
            Method::GET,
            &format!("/api/v1/linkage/reviews/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{sides}");
    assert_eq!(sides["a"]["first_name"], "Adaeze");
    assert_eq!(sides["b"]["first_name"], "Ada");
    let level = |f: &str| {
        sides["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["field"] == f)
            .map(|x| x["level"].clone())
    };
    assert_eq!(level("dob"), Some(json!("close")), "one day off");
    assert_eq!(level("last_name"), Some(json!("exact")));
    // Refused: a supervisor of a sibling jurisdiction, a tracer (even the
    // one who holds the person's task), an analyst.
    for token in [&w.sup_nj.1, &w.tracer.1, &w.analyst.1] {
        let (s, v) = h
            .call(
                token,
                Method::GET,
                &format!("/api/v1/linkage/reviews/{id}"),
                None,
            )
            .await;
        assert_eq!(s, 403, "{v}");
        assert!(!v.to_string().contains("Adaeze"));
        let (s, _) = h
            .call(
                token,
                Method::POST,
                &format!("/api/v1/linkage/reviews/{id}/decision"),
                Some(json!({"status": "distinct"})),
            )
            .await;
        assert_eq!(s, 403);
    }
    let (_, nj) = h
        .call(&w.sup_nj.1, Method::GET, "/api/v1/linkage/reviews", None)
        .await;
    assert_eq!(
        nj["items"],
        json!([]),
        "the cross-border pair shows to neither side: {nj}"
    );
    // Decided once.
    assert_eq!(pair["status"], "open", "{pair}");
    let (s, v) = h
        .call(
            &w.sup.1,
            Method::POST,
            &format!("/api/v1/linkage/reviews/{id}/decision"),
            Some(json!({"status": "distinct"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["decided_by"], w.sup.0.to_string());
    assert_eq!(v["status"], "distinct");
    let (s, v) = h
        .call(
            &w.sup.1,
            Method::POST,
            &format!("/api/v1/linkage/reviews/{id}/decision"),
            Some(json!({"status": "same"})),
        )
        .await;
    assert_eq!(s, 409, "{v}");
    let (s, v) = h
        .call(
            &w.sup.1,
            Method::POST,
            &format!("/api/v1/linkage/reviews/{id}/decision"),
            Some(json!({"status": "maybe"})),
        )
        .await;
    assert!(s == 409 || s == 422, "{s} {v}");
}
