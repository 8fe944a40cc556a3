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

/// A data manager merges a pair's two records and undoes it; a sibling
/// jurisdiction's supervisor, a tracer and an analyst are refused every
/// step (each refusal audited, nothing changed), and both persons'
/// disclosure records hold the merge and the unmerge.
#[tokio::test]
async fn a_data_manager_merges_and_unmerges_within_their_jurisdiction_only() {
    use tracedesk_store::audit::Action;
    let w = world().await;
    let h = &w.h;
    let (s, v) = h
        .call(
            &w.feed.1,
            Method::POST,
            "/api/v1/lab-results",
            Some(lab("Ada", "Okonkwo", "1980-03-05", "MR-1", "ny-kings")),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let ada = v["person_id"].as_str().unwrap().to_string();
    let ada_case = v["case_id"].as_str().unwrap().to_string();
    h.cw.cases().linkage_settled().await;
    let (_, page) = h
        .call(&w.sup.1, Method::GET, "/api/v1/linkage/reviews", None)
        .await;
    let id = page["items"][0]["id"].as_str().unwrap().to_string();
    let merge = format!("/api/v1/linkage/reviews/{id}/merge");
    let case_person = |c: &str| {
        let c = c.parse().unwrap();
        async move {
            h.store
                .get_case(c)
                .await
                .unwrap()
                .unwrap()
                .person_id
                .to_string()
        }
    };
    // Refused, audited, and nothing moves.
    for token in [&w.sup_nj.1, &w.tracer.1, &w.analyst.1] {
        let (s, v) = h.call(token, Method::POST, &merge, None).await;
        assert_eq!(s, 403, "{v}");
    }
    assert_eq!(case_person(&ada_case).await, ada);
    let denied = h
        .store
        .audit_entries(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.draft.action == Action::Denied && e.draft.detail.ends_with("/merge"))
        .count();
    assert_eq!(denied, 3, "each refusal is audited");

    // Merged: Ada's case moves to the earlier record, and her id answers
    // with it.
    let (s, m) = h.call(&w.sup.1, Method::POST, &merge, None).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        (m["survivor_id"].as_str(), m["merged_id"].as_str()),
        (Some(w.person.as_str()), Some(ada.as_str()))
    );
    assert!(m["moved"].as_u64().unwrap() >= 3, "case, result, task: {m}");
    assert_eq!(case_person(&ada_case).await, w.person);
    let (s, p) = h
        .call(
            &w.sup.1,
            Method::GET,
            &format!("/api/v1/persons/{ada}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["person"]["id"], w.person.as_str(), "{p}");
    for person in [&w.person, &ada] {
        let log = h
            .store
            .audit_for_person(person.parse().unwrap())
            .await
            .unwrap();
        assert!(
            log.iter().any(|e| e.draft.action == Action::PhiWrite
                && e.draft.detail == "POST /api/v1/linkage/reviews/{id}/merge"),
            "the merge is in {person}'s disclosure record"
        );
    }
    let (s, v) = h.call(&w.sup.1, Method::POST, &merge, None).await;
    assert_eq!(s, 409, "merged once: {v}");
    let mid = m["id"].as_str().unwrap().to_string();
    let (_, list) = h
        .call(&w.sup.1, Method::GET, "/api/v1/linkage/merges", None)
        .await;
    assert_eq!(list["items"][0]["id"], mid.as_str(), "{list}");
    let (_, nj) = h
        .call(&w.sup_nj.1, Method::GET, "/api/v1/linkage/merges", None)
        .await;
    assert_eq!(nj["items"], json!([]), "{nj}");
    for token in [&w.tracer.1, &w.analyst.1] {
        let (s, _) = h
            .call(token, Method::GET, "/api/v1/linkage/merges", None)
            .await;
        assert_eq!(s, 403);
    }
    let unmerge = format!("/api/v1/linkage/merges/{mid}/unmerge");
    for token in [&w.sup_nj.1, &w.tracer.1, &w.analyst.1] {
        let (s, _) = h
            .call(
                token,
                Method::GET,
                &format!("/api/v1/linkage/merges/{mid}"),
                None,
            )
            .await;
        assert_eq!(s, 403);
        let (s, _) = h.call(token, Method::POST, &unmerge, None).await;
        assert_eq!(s, 403);
    }
    assert_eq!(case_person(&ada_case).await, w.person, "still merged");

    // Undone: Ada's case is hers again, and so is her id.
    let (s, u) = h.call(&w.sup.1, Method::POST, &unmerge, None).await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["unmerged_by"], w.sup.0.to_string());
    assert_eq!(case_person(&ada_case).await, ada);
    let (_, p) = h
        .call(
            &w.sup.1,
            Method::GET,
            &format!("/api/v1/persons/{ada}"),
            None,
        )
        .await;
    assert_eq!(p["person"]["id"], ada.as_str());
    let (s, _) = h.call(&w.sup.1, Method::POST, &unmerge, None).await;
    assert_eq!(s, 409, "undone once");
    let (_, r) = h
        .call(
            &w.sup.1,
            Method::GET,
            &format!("/api/v1/linkage/reviews/{id}"),
            None,
        )
        .await;
    assert_eq!(r["review"]["status"], "distinct", "{r}");
    for person in [&w.person, &ada] {
        let log = h
            .store
            .audit_for_person(person.parse().unwrap())
            .await
            .unwrap();
        assert!(
            log.iter()
                .any(|e| e.draft.detail == "POST /api/v1/linkage/merges/{id}/unmerge")
        );
    }
}
