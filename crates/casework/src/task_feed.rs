//! Hands case-work tasks to routing.
//!
//! Lab intake and named contacts write their tasks (case interview, contact
//! notification) to the store with the case or contact, in one
//! transaction; they do not wait for routing, which may lead on another
//! node. The routing leader takes tasks not yet routed, oldest first, and
//! creates them in the engine. The transaction that logs a task's routing
//! also marks it routed, so each task is routed exactly once, however the
//! nodes crash. A task case work takes back (its case closed, assigned by
//! hand, returned to the queue) carries the reason in `withdrawal`: the
//! feed assigns a hand-assigned task to the same person in the engine, and
//! cancels the others, after which routing no longer holds them.

use crate::dispatch::{Dispatch, DispatchError};
use crate::error::CaseworkError;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tracedesk_identity::jurisdiction::Jurisdictions;
use tracedesk_routing::{Event, RouteError};
use tracedesk_store::{UnroutedTask, schema, withdrawal};
use tracedesk_vault::FieldContext;

/// Tasks taken per round; their events share group commits.
const ROUND: u32 = 500;

/// Routes every case-work task not yet routed. Returns how many were
/// routed; tasks routing refuses are logged (ids only) and set aside as
/// routed so they are not retried every second.
pub async fn route_new_tasks(
    cw: &crate::Casework,
    d: &Arc<Dispatch>,
) -> Result<usize, CaseworkError> {
    let mut routed = 0;
    loop {
        let page = d.store().unrouted_tasks(ROUND).await?;
        let mut jurisdictions = cw.jurisdictions();
        if page
            .iter()
            .any(|t| !jurisdictions.contains(&t.task.jurisdiction))
        {
            // Added on another node or by the CLI since the last look.
            cw.refresh_jurisdictions().await?;
            jurisdictions = cw.jurisdictions();
        }
        let last_round = page.len() < ROUND as usize;
        let mut running = tokio::task::JoinSet::new();
        for t in page {
            let withdrawing = t.withdrawal.is_some();
            let attempts = attempts(d, &jurisdictions, &t);
            let d = d.clone();
            running.spawn(async move {
                let mut result = Err(DispatchError::Refused(RouteError::UnknownTask(t.task.id)));
                for event in attempts {
                    result = d.apply(event).await;
                    if !matches!(result, Err(DispatchError::Refused(_))) {
                        break;
                    }
                }
                (t.task.id, withdrawing, result)
            });
        }
        let mut refused = Vec::new();
        let mut let_go = Vec::new();
        let mut failed = None;
        while let Some(done) = running.join_next().await {
            match done {
                Ok((_, _, Ok(_))) => routed += 1,
                // Already in the engine: made through the API with this id.
                Ok((id, false, Err(DispatchError::Refused(RouteError::Duplicate(_))))) => {
                    refused.push(id)
                }
                // To withdraw, but routing had already finished with it (or
                // had set it aside), and could not take a hand assignment.
                Ok((id, true, Err(DispatchError::Refused(_)))) => let_go.push(id),
                Ok((id, false, Err(DispatchError::Refused(e)))) => {
                    tracing::warn!(task = %id, error = %kind(&e), "routing refused a case-work task; it stays in the task list unrouted");
                    refused.push(id);
                }
                Ok((_, _, Err(DispatchError::Failed(e)))) => failed = Some(e),
                Err(e) => failed = Some(CaseworkError::Internal(format!("routing a task: {e}"))),
            }
        }
        d.store().set_tasks_routed(&refused).await?;
        d.store().finish_withdrawals(&let_go).await?;
        if let Some(e) = failed {
            return Err(e);
        }
        // Tasks routing let go of may be pending again: route them now.
        if last_round && let_go.is_empty() {
            return Ok(routed);
        }
    }
}

/// What the feed asks of routing for a task, in order; the first that
/// routing accepts is done, and if it accepts none, routing lets go.
fn attempts(d: &Dispatch, jurisdictions: &Jurisdictions, t: &UnroutedTask) -> Vec<Event> {
    let cancel = |reason: &str| Event::CancelTask {
        id: t.task.id,
        reason: reason.to_string(),
    };
    match (t.withdrawal.as_deref(), t.task.assignee_id) {
        (None, _) => vec![create_event(d, jurisdictions, t, None)],
        // Assigned by hand: routing assigns it to the same person, so it
        // counts against their room and they finish it like any task. If
        // routing does not hold it, it is made already theirs; if they are
        // not a routing worker, routing lets go.
        (Some(withdrawal::BY_HAND), Some(worker)) => vec![
            Event::Assign {
                task: t.task.id,
                worker,
            },
            create_event(d, jurisdictions, t, Some(worker)),
            cancel(withdrawal::BY_HAND),
        ],
        // Closed case, returned to the queue.
        (Some(reason), _) => vec![cancel(reason)],
    }
}

/// The refusal without any attribute values it might quote.
fn kind(e: &RouteError) -> String {
    match e {
        RouteError::BadAttributes(_) => "bad attributes".into(),
        other => other.to_string(),
    }
}

/// The routing task for a case-work task: its type, jurisdiction, ids and
/// the person's language (primary subtag: `es` for `es-MX`, since workers
/// speak languages, not regions). No other personal data goes to routing.
fn create_event(
    d: &Dispatch,
    jurisdictions: &Jurisdictions,
    t: &UnroutedTask,
    worker: Option<uuid::Uuid>,
) -> Event {
    let task = &t.task;
    let mut attributes = Map::new();
    attributes.insert("type".into(), json!(task.kind));
    attributes.insert("jurisdiction".into(), json!(task.jurisdiction));
    // The task's jurisdiction and those enclosing it: staff of any of them
    // may take it (the default workspace matches `worker.jurisdiction`).
    attributes.insert(
        "jurisdictions".into(),
        json!(jurisdictions.ancestry(&task.jurisdiction)),
    );
    attributes.insert("person_id".into(), json!(task.person_id));
    if let Some(c) = task.case_id {
        attributes.insert("case_id".into(), json!(c));
    }
    if let Some(e) = task.exposure_id {
        attributes.insert("exposure_id".into(), json!(e));
    }
    if let Some(sealed) = &t.language {
        let ctx = FieldContext::new(schema::PERSONS.name, "language", task.person_id);
        match d.vault().open_string(&ctx, sealed) {
            Ok(tag) => {
                if let Some(primary) = primary_language(&tag) {
                    attributes.insert("language".into(), Value::String(primary));
                }
            }
            // Routed without it (any language) rather than not at all.
            Err(e) => {
                tracing::warn!(task = %task.id, error = %e, "a person's language cannot be opened; routing without it")
            }
        }
    }
    Event::CreateTask {
        id: task.id,
        attributes: Value::Object(attributes),
        channel: d.task_channel().to_string(),
        // The task's own priority (the domain's, as the workspace's task
        // type has it too): `/tasks` and routing show the same number.
        priority: Some(task.priority),
        due: Some(task.due_at.timestamp_millis()),
        ttl: None,
        worker,
    }
}

fn primary_language(tag: &str) -> Option<String> {
    let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
    (!primary.is_empty()).then_some(primary)
}

/// Routes new tasks whenever case work on this node makes some, and every
/// second for those made on other nodes, until aborted.
pub async fn feed(cw: crate::Casework, d: Arc<Dispatch>) {
    loop {
        if let Err(e) = route_new_tasks(&cw, &d).await {
            tracing::warn!(error = %e, "routing: case-work tasks could not be routed; retrying");
        }
        tokio::select! {
            _ = cw.tasks_were_made() => {}
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn languages_route_by_primary_subtag() {
        assert_eq!(super::primary_language("es-MX").as_deref(), Some("es"));
        assert_eq!(super::primary_language("zh_Hant").as_deref(), Some("zh"));
        assert_eq!(super::primary_language("EN").as_deref(), Some("en"));
        assert_eq!(super::primary_language(""), None);
    }
}
