//! Case work's services, one per capability, each with its own small API
//! over the one `Casework` (which keeps the store, the vault, the clock and
//! the settings, private to this crate):
//!
//! - [`Cases`]: lab intake, cases, contacts, persons, tasks, the line list
//!   and CSV import — the only service that opens case records;
//! - [`Staff`]: accounts, sign-in (sessions, tokens, failure counts),
//!   teams, jurisdictions, and who may see what (the access decision,
//!   break-glass);
//! - [`Messages`]: the outbox, threads, inbound texts and opt-out, and
//!   the dispatcher (it opens a person's address through `Cases`);
//! - [`Retention`]: purge, sunset and key rotation.
//!
//! The audit log is `auditor::Auditor` (`Casework::auditor`) and routing is
//! `dispatch::Dispatch` with its leader loop (`leader`); neither calls back
//! into these services. Calls between services go one way: `Cases` asks
//! `Staff` nothing, `Staff` asks `Cases` nothing, `Messages` asks `Cases`
//! for a person's view and nothing else, `Retention` reads through the
//! store.

use crate::Casework;

/// Declares a service: a borrowed view of `Casework` whose methods are the
/// service's API.
macro_rules! service {
    ($(#[$meta:meta])* $name:ident, $getter:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(&'a Casework, Option<uuid::Uuid>);

        impl std::ops::Deref for $name<'_> {
            type Target = Casework;
            fn deref(&self) -> &Casework {
                self.0
            }
        }

        impl $name<'_> {
            /// The service acting for a staff user, who is named as the
            /// author of what it writes (notes, attempts).
            pub fn by(self, user: uuid::Uuid) -> Self {
                Self(self.0, Some(user))
            }

            /// The staff user the service acts for (`None`: tracedesk
            /// itself, or the CLI).
            pub fn author(&self) -> Option<uuid::Uuid> {
                self.1
            }
        }

        impl Casework {
            $(#[$meta])*
            pub fn $getter(&self) -> $name<'_> {
                $name(self, None)
            }
        }
    };
}

service!(
    /// Lab intake, cases, contacts, persons, tasks, the line list and CSV
    /// import.
    Cases,
    cases
);
service!(
    /// Staff accounts, sign-in, teams, jurisdictions, and who may see what.
    Staff,
    staff
);
service!(
    /// Messages to and from people: the outbox, threads, inbound texts
    /// and opt-out, and the dispatcher.
    Messages,
    messages
);
service!(
    /// Purge, sunset and key rotation.
    Retention,
    retention
);

#[cfg(test)]
mod tests {
    /// The services call one way only: case work never asks staff (the
    /// access decision is the server's layer, before case work is called),
    /// staff never opens case records, and retention goes through the
    /// store. A call across would show as `.staff()` / `.cases()` here.
    #[test]
    fn services_do_not_call_each_other() {
        let sources = [
            (
                "intake.rs",
                include_str!("intake.rs"),
                [".staff()", ".retention()"],
            ),
            (
                "views.rs",
                include_str!("views.rs"),
                [".staff()", ".retention()"],
            ),
            (
                "linelist.rs",
                include_str!("linelist.rs"),
                [".staff()", ".retention()"],
            ),
            (
                "csv_import.rs",
                include_str!("csv_import.rs"),
                [".staff()", ".retention()"],
            ),
            (
                "staff.rs",
                include_str!("staff.rs"),
                [".cases()", ".retention()"],
            ),
            (
                "signin.rs",
                include_str!("signin.rs"),
                [".cases()", ".retention()"],
            ),
            (
                "messaging.rs",
                include_str!("messaging.rs"),
                [".staff()", ".retention()"],
            ),
            (
                "monitoring.rs",
                include_str!("monitoring.rs"),
                [".staff()", ".retention()"],
            ),
            (
                "retention.rs",
                include_str!("retention.rs"),
                [".cases()", ".staff()"],
            ),
            (
                "rotation.rs",
                include_str!("rotation.rs"),
                [".cases()", ".staff()"],
            ),
        ];
        for (file, text, calls) in sources {
            for call in calls {
                assert!(!text.contains(call), "{file} calls another service: {call}");
            }
        }
    }
}
