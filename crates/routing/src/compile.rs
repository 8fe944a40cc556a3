//! A workspace compiled for the engine: names resolved to indexes,
//! expressions parsed once, and what each target's expression reads of a
//! task (which decides its bucket).

use crate::attrs::Keys;
use crate::config::Workspace;
use crate::expr::{Expr, Path, Scope};
use crate::model::Millis;
use std::collections::HashMap;
use std::sync::Arc;

/// Why a workspace could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {problem}")]
pub struct ConfigError {
    pub place: String,
    pub problem: String,
}

pub(crate) struct CTarget {
    pub(crate) queue: u16,
    pub(crate) priority: Option<i32>,
    pub(crate) timeout: Option<Millis>,
    pub(crate) expr: Option<Arc<Expr>>,
    /// Task attributes the expression reads: they decide the bucket.
    pub(crate) task_paths: Vec<Path>,
    pub(crate) order_by: Option<Path>,
    pub(crate) skip_if_none: bool,
}

pub(crate) struct CFilter {
    pub(crate) expr: Expr,
    pub(crate) targets: Vec<CTarget>,
}

pub(crate) struct Compiled {
    pub(crate) activities: Vec<(String, bool)>,
    pub(crate) default_activity: u16,
    pub(crate) timeout_activity: u16,
    pub(crate) channels: Vec<(String, u16)>,
    pub(crate) queues: Vec<(String, Expr)>,
    pub(crate) filters: Vec<CFilter>,
    pub(crate) default_target: CTarget,
    pub(crate) task_types: HashMap<String, (Millis, i32)>,
    pub(crate) type_key: u32,
    pub(crate) reservation_timeout: Millis,
    pub(crate) max_reservations: usize,
    pub(crate) priority_step: Millis,
    pub(crate) default_due: Millis,
}

pub(crate) fn seconds(s: u64) -> Millis {
    i64::try_from(s)
        .unwrap_or(i64::MAX / 2000)
        .saturating_mul(1000)
}

impl Compiled {
    pub(crate) fn new(ws: &Workspace, keys: &mut Keys) -> Result<Self, ConfigError> {
        let fail = |place: String, problem: String| ConfigError { place, problem };
        let index = |list: &[String], name: &str, place: &str| {
            list.iter()
                .position(|n| n == name)
                .map(|i| i as u16)
                .ok_or_else(|| fail(place.to_string(), format!("unknown `{name}`")))
        };
        let activities: Vec<(String, bool)> = ws
            .activities
            .iter()
            .map(|a| (a.name.clone(), a.available))
            .collect();
        let names: Vec<String> = activities.iter().map(|a| a.0.clone()).collect();
        let default_activity = index(&names, &ws.default_activity, "default_activity")?;
        let timeout_activity = index(&names, &ws.timeout_activity, "timeout_activity")?;
        let mut queues = Vec::new();
        for q in &ws.queues {
            let e = Expr::parse(&q.target_workers, keys)
                .map_err(|e| fail(format!("queue `{}`", q.name), e.to_string()))?;
            queues.push((q.name.clone(), e));
        }
        let queue_names: Vec<String> = queues.iter().map(|q| q.0.clone()).collect();
        let target = |t: &crate::config::Target, place: String, keys: &mut Keys| {
            let queue = index(&queue_names, &t.queue, &place)?;
            let expr = match &t.expression {
                Some(src) => Some(Arc::new(
                    Expr::parse(src, keys).map_err(|e| fail(place.clone(), e.to_string()))?,
                )),
                None => None,
            };
            let mut task_paths = Vec::new();
            if let Some(e) = &expr {
                e.paths(Scope::Task, Scope::Worker, &mut task_paths);
            }
            let order_by = match &t.order_by {
                Some(key) => match Expr::parse(key, keys) {
                    Ok(Expr::Path(mut p)) => {
                        p.scope = Scope::Worker;
                        Some(p)
                    }
                    _ => return Err(fail(place, format!("order_by `{key}` is not a key"))),
                },
                None => None,
            };
            let skip_if_none = match t.skip_if.as_deref().map(str::trim) {
                None => false,
                Some("workers.available == 0") => true,
                Some(other) => {
                    return Err(fail(
                        place,
                        format!("skip_if `{other}`: only `workers.available == 0` is supported"),
                    ));
                }
            };
            Ok(CTarget {
                queue,
                priority: t.priority,
                timeout: t.timeout.map(seconds),
                expr,
                task_paths,
                order_by,
                skip_if_none,
            })
        };
        let mut filters = Vec::new();
        for (i, f) in ws.workflow.filters.iter().enumerate() {
            let place = format!("filter {} `{}`", i + 1, f.name);
            let expr =
                Expr::parse(&f.expression, keys).map_err(|e| fail(place.clone(), e.to_string()))?;
            if f.targets.is_empty() || f.targets.len() > 200 {
                return Err(fail(place, "needs between 1 and 200 targets".into()));
            }
            let mut targets = Vec::new();
            for (k, t) in f.targets.iter().enumerate() {
                targets.push(target(t, format!("{place}, target {}", k + 1), keys)?);
            }
            filters.push(CFilter { expr, targets });
        }
        let default_target = CTarget {
            queue: index(&queue_names, &ws.workflow.default_queue, "default_queue")?,
            priority: None,
            timeout: None,
            expr: None,
            task_paths: Vec::new(),
            order_by: None,
            skip_if_none: false,
        };
        if ws.channels.is_empty() || ws.channels.len() > 32 {
            return Err(fail("channels".into(), "between 1 and 32 channels".into()));
        }
        if ws.queues.len() >= usize::from(u16::MAX) {
            return Err(fail("queues".into(), "too many queues".into()));
        }
        Ok(Compiled {
            activities,
            default_activity,
            timeout_activity,
            channels: ws
                .channels
                .iter()
                .map(|c| (c.name.clone(), c.default_capacity))
                .collect(),
            queues,
            filters,
            default_target,
            task_types: ws
                .task_types
                .iter()
                .map(|t| (t.name.clone(), (seconds(t.due_after), t.priority)))
                .collect(),
            type_key: keys.intern("type").map_err(|e| fail("keys".into(), e))?,
            reservation_timeout: seconds(ws.reservation_timeout),
            max_reservations: usize::from(ws.max_reservations.max(1)),
            priority_step: seconds(ws.priority_step).max(1),
            default_due: seconds(ws.default_due_after),
        })
    }

    pub(crate) fn target(&self, filter: u16, target: u8) -> &CTarget {
        self.filters
            .get(usize::from(filter))
            .and_then(|f| f.targets.get(usize::from(target)))
            .unwrap_or(&self.default_target)
    }
}
