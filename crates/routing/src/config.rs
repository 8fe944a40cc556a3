//! The workspace: activities, channels, queues, the workflow and task types.
//!
//! [`Workspace::public_health`] is what a health department gets out of the
//! box; any part can be replaced from configuration (JSON or TOML).

use serde::{Deserialize, Serialize};
use tracedesk_domain::lifecycle::TaskKind;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    pub name: String,
    /// Whether a worker in this activity is offered tasks.
    pub available: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    pub name: String,
    /// Tasks of this channel a worker holds at once unless their own
    /// capacity says otherwise.
    pub default_capacity: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub name: String,
    /// Which workers serve the queue (worker attributes; bare keys).
    pub target_workers: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub queue: String,
    /// Replaces the task's priority while it waits on this target.
    #[serde(default)]
    pub priority: Option<i32>,
    /// Seconds before the task moves on to the next target.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Narrows the queue's workers for this task (`task.*` and `worker.*`).
    #[serde(default)]
    pub expression: Option<String>,
    /// A numeric worker attribute: the highest is offered first (then the
    /// longest idle).
    #[serde(default)]
    pub order_by: Option<String>,
    /// `"workers.available == 0"`: pass over this target when none of its
    /// workers is available right now.
    #[serde(default)]
    pub skip_if: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub name: String,
    /// Over task attributes (bare keys).
    pub expression: String,
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// Tried in order; the first whose expression holds routes the task.
    pub filters: Vec<Filter>,
    /// Where a task goes when no filter matches or its last target timed out.
    pub default_queue: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaskType {
    pub name: String,
    /// Seconds from the task's start (report, naming) to its due time.
    pub due_after: u64,
    #[serde(default)]
    pub priority: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Workspace {
    pub activities: Vec<Activity>,
    /// The activity a worker starts in.
    pub default_activity: String,
    /// Where a worker goes when an offer to them times out.
    pub timeout_activity: String,
    pub channels: Vec<Channel>,
    pub queues: Vec<Queue>,
    pub workflow: Workflow,
    pub task_types: Vec<TaskType>,
    /// Seconds an offer waits for an answer.
    pub reservation_timeout: u64,
    /// Workers offered the same task at once; the first to accept wins.
    pub max_reservations: u16,
    /// How many seconds of due time one step of priority is worth: a task
    /// one priority higher is treated as if due this much sooner.
    pub priority_step: u64,
    /// Due time of tasks whose type names none.
    pub default_due_after: u64,
}

impl Workspace {
    /// Contact-tracing defaults: CDC timeliness goals as due times, clinical
    /// follow-up only to clinical staff, language matching with an
    /// interpreter-line fallback, and escalation to supervisors.
    pub fn public_health() -> Self {
        let act = |name: &str, available| Activity {
            name: name.into(),
            available,
        };
        let ch = |name: &str, default_capacity| Channel {
            name: name.into(),
            default_capacity,
        };
        let q = |name: &str, target_workers: &str| Queue {
            name: name.into(),
            target_workers: target_workers.into(),
        };
        let t = |queue: &str, timeout: Option<u64>, expression: Option<&str>| Target {
            queue: queue.into(),
            priority: None,
            timeout,
            expression: expression.map(Into::into),
            order_by: None,
            skip_if: None,
        };
        let speaks = "task.language == null OR task.language IN worker.languages";
        // Staff take work of their own jurisdiction or one inside it: case
        // work gives each task its jurisdiction and those enclosing it, and
        // the server gives each worker their staff jurisdiction.
        let area = "task.jurisdictions == null OR worker.jurisdiction IN task.jurisdictions";
        let both = format!("({speaks}) AND ({area})");
        let (speaks, area) = (both.as_str(), area);
        Workspace {
            activities: vec![
                act("Available", true),
                act("Break", false),
                act("Training", false),
                act("Offline", false),
                act("Missed", false),
            ],
            default_activity: "Offline".into(),
            timeout_activity: "Missed".into(),
            channels: vec![ch("voice", 1), ch("sms", 5), ch("email", 5), ch("task", 1)],
            queues: vec![
                q("case_investigation", "skills HAS 'case_investigation'"),
                q("contact_notification", "skills HAS 'contact_notification'"),
                q("clinical", "skills HAS 'clinical'"),
                q("interpreter_line", "skills HAS 'interpreter_line'"),
                q("support", "skills HAS 'support'"),
                q("supervisors", "role == 'supervisor'"),
                q("everyone", "1 == 1"),
            ],
            workflow: Workflow {
                filters: vec![
                    Filter {
                        name: "symptomatic follow-up needs clinical staff".into(),
                        expression: "type == 'symptomatic_followup'".into(),
                        targets: vec![
                            t("clinical", Some(1800), Some(speaks)),
                            t("clinical", Some(1800), Some(area)),
                            t("supervisors", None, Some(area)),
                        ],
                    },
                    Filter {
                        name: "case interviews".into(),
                        expression: "type == 'case_interview'".into(),
                        targets: vec![
                            t("case_investigation", Some(3600), Some(speaks)),
                            t("interpreter_line", Some(3600), Some(area)),
                            t("supervisors", None, Some(area)),
                        ],
                    },
                    Filter {
                        name: "support to isolate and quarantine".into(),
                        expression: "type == 'support_request'".into(),
                        targets: vec![
                            t("support", Some(3600), Some(speaks)),
                            t("support", Some(3600), Some(area)),
                            t("supervisors", None, Some(area)),
                        ],
                    },
                    Filter {
                        // A text from an unknown number is the root's (it
                        // belongs to no jurisdiction yet): staff there only.
                        name: "texts from unknown numbers".into(),
                        expression: "type == 'triage'".into(),
                        targets: vec![
                            t("contact_notification", Some(3600), Some(speaks)),
                            t("supervisors", None, Some(area)),
                        ],
                    },
                    Filter {
                        name: "contact notification and follow-up".into(),
                        expression: "type IN ['contact_notification', 'non_responder_followup', 'callback_request']".into(),
                        targets: vec![
                            t("contact_notification", Some(3600), Some(speaks)),
                            t("interpreter_line", Some(3600), Some(area)),
                            t("supervisors", None, Some(area)),
                        ],
                    },
                ],
                default_queue: "everyone".into(),
            },
            // Case work's kinds of task, with the SLA and priority the
            // domain gives them (one source for both).
            task_types: TaskKind::ALL
                .iter()
                .filter(|k| k.is_routed())
                .map(|k| TaskType {
                    name: k.as_str().into(),
                    due_after: k.default_sla_hours().unsigned_abs() * 3600,
                    priority: k.default_priority(),
                })
                .collect(),
            reservation_timeout: 120,
            max_reservations: 1,
            priority_step: 3600,
            default_due_after: 24 * 3600,
        }
    }
}
