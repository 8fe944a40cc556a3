//! Every lifecycle of DESIGN.md as an enum with its legal transitions.
//!
//! An illegal transition is an error, never a silent no-op: a case that jumps
//! from `new` to `closed` without an interview is a data-quality problem the
//! caller must see.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {kind} cannot go from {from} to {to}")]
pub struct TransitionError {
    pub kind: &'static str,
    pub from: &'static str,
    pub to: &'static str,
}

/// Declares a snake_case string enum with `as_str`, `parse` and `ALL`, so the
/// same names serve JSON, SQL columns and error messages.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the stored/wire name; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum! {
    /// The investigation of one case.
    CaseStatus {
        New => "new",
        Interviewing => "interviewing",
        Isolating => "isolating",
        Closed => "closed",
        Unreachable => "unreachable",
        Refused => "refused",
    }
}

named_enum! {
    /// A named contact, from naming to the end of monitoring.
    ContactStatus {
        Named => "named",
        Notified => "notified",
        Monitoring => "monitoring",
        Completed => "completed",
        Symptomatic => "symptomatic",
        ReferredForTesting => "referred_for_testing",
        Converted => "converted",
        Unreachable => "unreachable",
        Refused => "refused",
        Lost => "lost",
        Transferred => "transferred",
        AlreadyACase => "already_a_case",
    }
}

named_enum! {
    /// Where an exposure happened: a category, never a place.
    ExposureSetting {
        Household => "household",
        Workplace => "workplace",
        School => "school",
        Healthcare => "healthcare",
        Event => "event",
        Other => "other",
    }
}

named_enum! {
    /// A lab result's interpretation.
    LabOutcome {
        Positive => "positive",
        Negative => "negative",
        Inconclusive => "inconclusive",
    }
}

named_enum! {
    /// The unit of work a tracer handles. `triage`: texts from a number
    /// no record holds — find out who wrote.
    TaskKind {
        CaseInterview => "case_interview",
        ContactNotification => "contact_notification",
        SymptomaticFollowup => "symptomatic_followup",
        NonResponderFollowup => "non_responder_followup",
        CallbackRequest => "callback_request",
        Investigation => "investigation",
        SupportRequest => "support_request",
        Triage => "triage",
    }
}

named_enum! {
    /// What a referral asks for: a test, or support to isolate or
    /// quarantine at home.
    ReferralKind {
        Testing => "testing",
        Food => "food",
        Housing => "housing",
        Medicine => "medicine",
        Income => "income",
        ChildCare => "child_care",
        Other => "other",
    }
}

named_enum! {
    /// Where a referral or support request stands.
    ReferralStatus {
        Requested => "requested",
        InProgress => "in_progress",
        Fulfilled => "fulfilled",
        Declined => "declined",
        Canceled => "canceled",
    }
}

impl ReferralStatus {
    pub fn can_become(self, to: ReferralStatus) -> bool {
        use ReferralStatus::*;
        matches!(
            (self, to),
            (Requested, InProgress | Fulfilled | Declined | Canceled)
                | (InProgress, Fulfilled | Declined | Canceled)
        )
    }

    /// Nothing moves a referral out of these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReferralStatus::Fulfilled | ReferralStatus::Declined | ReferralStatus::Canceled
        )
    }

    pub fn transition(self, to: ReferralStatus) -> Result<ReferralStatus, TransitionError> {
        check("referral", self.as_str(), to.as_str(), self.can_become(to)).map(|_| to)
    }
}

named_enum! {
    /// How a tracer tried to reach someone.
    AttemptChannel {
        Phone => "phone",
        Sms => "sms",
        Email => "email",
        InPerson => "in_person",
        Letter => "letter",
    }
}

named_enum! {
    /// What an outreach attempt came to.
    AttemptOutcome {
        Reached => "reached",
        LeftVoicemail => "left_voicemail",
        NoAnswer => "no_answer",
        WrongNumber => "wrong_number",
        Refused => "refused",
        CallBack => "call_back",
        MessageSent => "message_sent",
        MessageDelivered => "message_delivered",
        MessageNotDelivered => "message_not_delivered",
        Replied => "replied",
    }
}

impl AttemptOutcome {
    /// Whether a tracer records this outcome by hand; the others are what
    /// tracedesk learns of its own messages (sent, delivered, replied to)
    /// and are shown from the message itself.
    pub fn by_hand(self) -> bool {
        !matches!(
            self,
            Self::MessageSent | Self::MessageDelivered | Self::MessageNotDelivered | Self::Replied
        )
    }

    /// A message's attempt outcome: an inbound one is a reply; an outbound
    /// one by its status (`None`: not sent, so not an attempt).
    pub fn of_message(direction: &str, status: &str) -> Option<Self> {
        match (direction, status) {
            ("in", _) => Some(Self::Replied),
            (_, "sent") => Some(Self::MessageSent),
            (_, "delivered") => Some(Self::MessageDelivered),
            (_, "undelivered" | "failed") => Some(Self::MessageNotDelivered),
            _ => None,
        }
    }
}

named_enum! {
    /// TaskRouter task states.
    TaskStatus {
        Pending => "pending",
        Reserved => "reserved",
        Assigned => "assigned",
        Wrapping => "wrapping",
        Completed => "completed",
        Canceled => "canceled",
    }
}

impl CaseStatus {
    pub fn can_become(self, to: CaseStatus) -> bool {
        use CaseStatus::*;
        matches!(
            (self, to),
            (
                New,
                Interviewing | Isolating | Unreachable | Refused | Closed
            ) | (Interviewing, Isolating | Unreachable | Refused | Closed)
                | (Isolating, Closed)
                | (Unreachable, Interviewing | Closed)
                | (Refused, Closed)
        )
    }

    /// Where an investigation has ended for good: no transition leads back
    /// to work (`refused` can only be closed). A closed case takes no new
    /// results or contacts, and retention purges it; `unreachable` is open,
    /// since the person may still be reached.
    pub const CLOSED: &'static [CaseStatus] = &[CaseStatus::Closed, CaseStatus::Refused];

    pub fn is_open(self) -> bool {
        !Self::CLOSED.contains(&self)
    }

    pub fn transition(self, to: CaseStatus) -> Result<CaseStatus, TransitionError> {
        check("case", self.as_str(), to.as_str(), self.can_become(to)).map(|_| to)
    }
}

impl ContactStatus {
    /// The moves a tracer makes (named → notified → monitoring → completed,
    /// with the ways out of follow-up), and the ones case work makes itself:
    /// `converted` when a positive result opens the contact's own case (from
    /// any open status), `completed` when monitoring ends with quarantine.
    /// `already_a_case` is where a contact who was a case when named starts
    /// and stays (no quarantine, no notification).
    pub fn can_become(self, to: ContactStatus) -> bool {
        use ContactStatus::*;
        if to == Converted {
            return !self.is_terminal();
        }
        matches!(
            (self, to),
            (Named, Notified | Unreachable | Refused | Lost | Transferred)
                | (
                    Notified,
                    Monitoring | Symptomatic | Refused | Lost | Completed | Transferred
                )
                | (
                    Monitoring,
                    Completed | Symptomatic | Lost | Refused | Transferred
                )
                | (Symptomatic, ReferredForTesting | Monitoring | Lost)
                | (ReferredForTesting, Monitoring | Lost)
                | (Unreachable, Notified | Lost | Transferred)
        )
    }

    /// Where follow-up has ended for good (no transition leads back):
    /// retention purges these; `unreachable` is open, the contact may still
    /// be reached.
    pub const CLOSED: &'static [ContactStatus] = &[
        ContactStatus::Completed,
        ContactStatus::Converted,
        ContactStatus::Refused,
        ContactStatus::Lost,
        ContactStatus::Transferred,
        ContactStatus::AlreadyACase,
    ];

    /// Under daily monitoring: what ends by itself when quarantine ends.
    pub const MONITORED: &'static [ContactStatus] =
        &[ContactStatus::Notified, ContactStatus::Monitoring];

    pub fn is_terminal(self) -> bool {
        Self::CLOSED.contains(&self)
    }

    pub fn transition(self, to: ContactStatus) -> Result<ContactStatus, TransitionError> {
        check("contact", self.as_str(), to.as_str(), self.can_become(to)).map(|_| to)
    }
}

impl TaskStatus {
    /// Live and with a worker: offered (reserved), or held.
    pub const ACTIVE: &'static [TaskStatus] = &[
        TaskStatus::Reserved,
        TaskStatus::Assigned,
        TaskStatus::Wrapping,
    ];
    /// A task in these belongs to its assignee, who may then read the
    /// person's records in the task's jurisdiction. An offer (reserved) is
    /// not among them: the person opens when the tracer accepts, so one
    /// who turns the work down never saw whom it was about (minimum
    /// necessary; with several offers at once, only the one who accepts).
    pub const HOLDING: &'static [TaskStatus] = &[TaskStatus::Assigned, TaskStatus::Wrapping];
    /// Finished: nothing moves a task out of these.
    pub const FINAL: &'static [TaskStatus] = &[TaskStatus::Completed, TaskStatus::Canceled];

    pub fn can_become(self, to: TaskStatus) -> bool {
        use TaskStatus::*;
        matches!(
            (self, to),
            (Pending, Reserved | Canceled)
                | (Reserved, Assigned | Pending | Canceled)
                | (Assigned, Wrapping | Completed | Canceled)
                | (Wrapping, Completed)
        )
    }

    pub fn transition(self, to: TaskStatus) -> Result<TaskStatus, TransitionError> {
        check("task", self.as_str(), to.as_str(), self.can_become(to)).map(|_| to)
    }
}

impl TaskKind {
    /// Whether routing offers this kind of task to tracers. An
    /// investigation is not work to offer: it is made already assigned, and
    /// holds the case's investigator to the case while it is open.
    pub fn is_routed(self) -> bool {
        self != TaskKind::Investigation
    }

    /// Hours from the triggering event (report, naming, symptom reply) to the SLA.
    pub fn default_sla_hours(self) -> i64 {
        match self {
            TaskKind::CaseInterview | TaskKind::ContactNotification => 24,
            TaskKind::SymptomaticFollowup => 4,
            TaskKind::NonResponderFollowup => 24,
            TaskKind::CallbackRequest | TaskKind::Triage => 8,
            TaskKind::SupportRequest => 24,
            // Not routed: it holds the investigator to the case while it is open.
            TaskKind::Investigation => 24 * 30,
        }
    }

    /// Base priority before SLA aging (higher goes first), on routing's
    /// scale: one step is worth an hour of due time (`priority_step`), so a
    /// symptomatic follow-up waits as if due ten hours sooner. The one
    /// source for case work's tasks and routing's task types alike.
    pub fn default_priority(self) -> i32 {
        match self {
            TaskKind::SymptomaticFollowup => 10,
            TaskKind::CallbackRequest | TaskKind::Triage => 5,
            TaskKind::CaseInterview
            | TaskKind::ContactNotification
            | TaskKind::NonResponderFollowup
            | TaskKind::SupportRequest
            | TaskKind::Investigation => 0,
        }
    }
}

fn check(
    kind: &'static str,
    from: &'static str,
    to: &'static str,
    ok: bool,
) -> Result<(), TransitionError> {
    if ok {
        Ok(())
    } else {
        Err(TransitionError { kind, from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed sets follow the transitions: nothing closed leads back to
    /// an open status, and every open status can still move.
    #[test]
    fn closed_sets_follow_the_transitions() {
        for &from in CaseStatus::CLOSED {
            for &to in CaseStatus::ALL {
                assert!(!from.can_become(to) || !to.is_open(), "{from} -> {to}");
            }
        }
        for &s in CaseStatus::ALL.iter().filter(|s| s.is_open()) {
            assert!(
                CaseStatus::ALL.iter().any(|&t| s.can_become(t)),
                "{s} is stuck"
            );
        }
        for &from in ContactStatus::CLOSED {
            for &to in ContactStatus::ALL {
                assert!(!from.can_become(to), "{from} -> {to}");
            }
        }
        for &s in ContactStatus::ALL.iter().filter(|s| !s.is_terminal()) {
            assert!(
                ContactStatus::ALL.iter().any(|&t| s.can_become(t)),
                "{s} is stuck"
            );
        }
        for &from in TaskStatus::FINAL {
            assert!(TaskStatus::ALL.iter().all(|&to| !from.can_become(to)));
        }
    }

    #[test]
    fn names_round_trip() {
        for s in ContactStatus::ALL {
            assert_eq!(ContactStatus::parse(s.as_str()), Some(*s));
        }
        for s in CaseStatus::ALL {
            assert_eq!(CaseStatus::parse(s.as_str()), Some(*s));
        }
        assert_eq!(ExposureSetting::parse("gps"), None);
    }

    #[test]
    fn contact_path_of_design() {
        use ContactStatus::*;
        let mut s = Named;
        for next in [
            Notified,
            Monitoring,
            Symptomatic,
            ReferredForTesting,
            Converted,
        ] {
            s = s.transition(next).unwrap();
        }
        assert!(s.is_terminal());
        let err = Named.transition(Completed).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a contact cannot go from named to completed"
        );
    }

    /// Every open contact status can be converted by a positive result;
    /// every closed one stays closed; the tracer's path refuses skips.
    #[test]
    fn contact_transitions_legal_and_refused() {
        use ContactStatus::*;
        for &s in ContactStatus::ALL {
            assert_eq!(s.can_become(Converted), !s.is_terminal(), "{s}");
        }
        for (from, to) in [
            (Named, Notified),
            (Notified, Monitoring),
            (Monitoring, Completed),
            (Monitoring, Transferred),
            (Named, Transferred),
            (Unreachable, Notified),
            (Notified, Lost),
        ] {
            assert!(from.transition(to).is_ok(), "{from} -> {to}");
        }
        for (from, to) in [
            (Named, Monitoring),
            (Named, Completed),
            (Completed, Monitoring),
            (AlreadyACase, Notified),
            (Transferred, Notified),
            (Monitoring, Named),
            (Named, AlreadyACase),
        ] {
            assert!(from.transition(to).is_err(), "{from} -> {to}");
        }
        assert!(ContactStatus::MONITORED.iter().all(|s| !s.is_terminal()));
    }

    #[test]
    fn referrals_end_for_good() {
        use ReferralStatus::*;
        assert!(Requested.transition(InProgress).is_ok());
        assert!(InProgress.transition(Fulfilled).is_ok());
        assert!(Fulfilled.transition(InProgress).is_err());
        assert!(Requested.transition(Requested).is_err());
        for &s in ReferralStatus::ALL.iter().filter(|s| s.is_final()) {
            assert!(ReferralStatus::ALL.iter().all(|&t| !s.can_become(t)));
        }
    }

    #[test]
    fn terminal_states_go_nowhere() {
        for from in ContactStatus::ALL.iter().filter(|s| s.is_terminal()) {
            for to in ContactStatus::ALL {
                assert!(!from.can_become(*to), "{from} -> {to}");
            }
        }
        for to in TaskStatus::ALL {
            assert!(!TaskStatus::Completed.can_become(*to));
            assert!(!TaskStatus::Canceled.can_become(*to));
        }
    }

    #[test]
    fn task_cannot_complete_from_pending() {
        assert!(
            TaskStatus::Pending
                .transition(TaskStatus::Completed)
                .is_err()
        );
        assert!(
            TaskStatus::Assigned
                .transition(TaskStatus::Wrapping)
                .is_ok()
        );
    }

    #[test]
    fn case_cannot_reopen() {
        for to in CaseStatus::ALL {
            assert!(CaseStatus::Closed.transition(*to).is_err());
        }
    }
}
