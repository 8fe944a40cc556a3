//! The pages, one struct per template. Fields are plain data the server
//! has already checked access for; askama escapes every one of them unless
//! a template marks it `safe` (only the QR code, our own SVG).

use crate::assets;
use crate::catalog::Catalog;
use askama::Template;

/// What every staff page shares: its title, the catalog, whether it loads
/// the app's scripts, and the signed-in navigation.
#[derive(Debug)]
pub struct Chrome {
    pub lang: &'static str,
    /// Already translated. Never personal data: titles land in browser
    /// history.
    pub title: String,
    pub scripts: bool,
    pub nav: Option<Nav>,
    /// The session's CSRF token on a page without the signed-in header
    /// (a refusal that still offers a form).
    pub csrf: Option<String>,
}

impl Chrome {
    /// A page titled by catalog message `title`.
    pub fn new(t: &Catalog, title: &str) -> Self {
        debug_assert!(t.has(title), "{title} is not in the catalog");
        Self {
            lang: t.lang(),
            title: t.get(title),
            scripts: false,
            nav: None,
            csrf: None,
        }
    }

    /// With the app's scripts (htmx, its SSE extension, app.js).
    pub fn with_scripts(mut self) -> Self {
        self.scripts = true;
        self
    }

    pub fn signed_in(mut self, nav: Nav) -> Self {
        self.nav = Some(nav);
        self
    }

    /// The hashed address of an embedded asset.
    pub fn asset(&self, name: &str) -> String {
        assets::url(name)
    }
}

/// The signed-in header: who, where they can go, and a sign-out form.
#[derive(Debug)]
pub struct Nav {
    pub name: String,
    pub role: String,
    pub csrf: String,
    pub links: Vec<Link>,
}

/// A link labelled by a catalog message.
#[derive(Debug, Clone)]
pub struct Link {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl Link {
    pub fn to(href: &'static str, label: &'static str) -> Self {
        debug_assert!(
            Catalog::english().has(label),
            "{label} is not in the catalog"
        );
        Self {
            href,
            label,
            current: false,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub csrf: String,
    pub error: Option<String>,
}

/// A TOTP key being set up: the QR code (SVG from our own renderer, no
/// script or style in it) and the key for typing.
#[derive(Debug)]
pub struct Setup {
    pub qr_svg: String,
    pub secret: String,
}

/// A one-button or one-code form: the second factor, and each step of its
/// enrolment.
#[derive(Template)]
#[template(path = "code.html")]
pub struct CodePage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub action: &'static str,
    pub csrf: String,
    pub intro: Option<&'static str>,
    pub setup: Option<Setup>,
    /// The code field's label; no field without one.
    pub label: Option<&'static str>,
    pub button: &'static str,
    pub back: Option<&'static str>,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "password.html")]
pub struct PasswordPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub csrf: String,
    pub error: Option<String>,
}

/// A page that only says something (an error, a refusal).
#[derive(Template)]
#[template(path = "notice.html")]
pub struct NoticePage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub message: String,
    pub alert: bool,
    pub link: Option<Link>,
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub links: Vec<Link>,
    pub csrf: String,
}

/// A task as the tracer's list shows it: no personal data.
#[derive(Debug)]
pub struct TaskLine {
    pub id: String,
    /// Translated.
    pub kind: String,
    pub status: String,
    pub priority: i32,
    /// What record the task works: a case, a contact, or a person.
    pub about: String,
    /// For people (`2026-12-01 14:00 UTC`) and for machines (RFC 3339).
    pub due: String,
    pub due_iso: String,
}

/// The tracer desk's "my work": the caller's offers and activity (when
/// they are a routing worker) and their open tasks.
#[derive(Template)]
#[template(path = "desk.html")]
pub struct DeskPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub routing: Option<RoutingPanel>,
    pub tasks: Vec<TaskLine>,
}

/// The worker's side of routing: their activity and pending offers.
#[derive(Debug)]
pub struct RoutingPanel {
    /// Every activity, and whether it is the worker's now.
    pub activities: Vec<(String, bool)>,
    pub offers: Vec<OfferLine>,
}

/// An offer as the tracer sees it before accepting: what kind of work, in
/// which language, how urgent, and how long it stays offered. No personal
/// data: the person opens to the tracer only on accepting.
#[derive(Debug)]
pub struct OfferLine {
    pub reservation: u64,
    pub kind: String,
    pub language: String,
    pub priority: i64,
    pub expires: String,
    pub expires_iso: String,
}

/// The offers alone (live updates, after a reject).
#[derive(Template)]
#[template(path = "offers.html")]
pub struct OffersPart<'a> {
    pub t: &'a Catalog,
    pub offers: &'a [OfferLine],
}

/// The person a task is about, only what the task needs.
#[derive(Debug)]
pub struct TaskPerson {
    pub name: String,
    pub phone: Option<String>,
    pub language: String,
}

/// One message on a thread.
#[derive(Debug)]
pub struct ThreadLine {
    pub direction: &'static str,
    pub inbound: bool,
    pub status: String,
    pub body: String,
    pub at: String,
    pub at_iso: String,
}

/// A thread alone: swapped in after a send.
#[derive(Template)]
#[template(path = "thread.html")]
pub struct ThreadPart<'a> {
    pub t: &'a Catalog,
    pub messages: Vec<ThreadLine>,
}

/// One task: its person (what the task needs) and their conversation.
#[derive(Template)]
#[template(path = "task.html")]
pub struct TaskPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub id: String,
    pub kind: String,
    pub status: String,
    pub due: String,
    pub due_iso: String,
    pub person: TaskPerson,
    pub messages: Vec<ThreadLine>,
    /// Templates offered as quick replies.
    pub quick: Vec<&'static str>,
    /// The segment line for an empty message.
    pub segments: String,
    /// The person's sandbox phone page, with the sandbox carrier.
    pub sandbox: Option<String>,
    /// The case interview's page, for a case interview task.
    pub interview: Option<String>,
    /// The notification script's page, for a contact notification task.
    pub script: Option<String>,
    /// The outreach attempts so far, oldest first.
    pub attempts: Vec<AttemptLine>,
    /// Channels and outcomes a tracer records by hand.
    pub channels: Vec<&'static str>,
    pub outcomes: Vec<&'static str>,
    /// Whether the caller holds the task, so may call, log and wrap up.
    pub holding: bool,
}

/// One outreach attempt on a task.
#[derive(Debug, Clone)]
pub struct AttemptLine {
    pub channel: String,
    pub outcome: String,
    pub at: String,
    pub at_iso: String,
    pub callback: Option<String>,
    pub note: Option<String>,
}

/// A task's attempts alone: swapped in after one is logged.
#[derive(Template)]
#[template(path = "attempts.html")]
pub struct AttemptsPart<'a> {
    pub t: &'a Catalog,
    pub attempts: Vec<AttemptLine>,
}

/// The live segment count under a message being typed.
#[derive(Template)]
#[template(source = "{{ line }}", ext = "html")]
pub struct SegmentsPart {
    pub line: String,
}

/// One question of an interview form, ready to render: its field name
/// (`q.{id}`), label, kind (`boolean`, `single`, `multi`, `symptoms`,
/// `date`, `number`, `text`, `entries`), the current answer, and the skip
/// logic as the field and value it waits for.
#[derive(Debug, Clone, Default)]
pub struct FormQuestion {
    pub name: String,
    pub id: String,
    pub label: String,
    pub kind: &'static str,
    pub required: bool,
    pub show_if: Option<(String, String)>,
    pub value: String,
    pub options: Vec<FormOption>,
    /// `entries`: each row's fields.
    pub rows: Vec<Vec<FormQuestion>>,
}

/// A choice (or a symptom with the day it began).
#[derive(Debug, Clone, Default)]
pub struct FormOption {
    pub value: String,
    pub label: String,
    pub on: bool,
    pub date: String,
}

#[derive(Debug)]
pub struct FormSection {
    pub id: String,
    pub title: String,
    pub questions: Vec<FormQuestion>,
}

/// A case's dates as the interview moves them.
#[derive(Debug)]
pub struct CaseDates {
    pub report: String,
    pub specimen: String,
    pub onset: String,
    pub infectious_start: String,
    pub isolation_end: String,
    /// Why the case cannot leave isolation yet.
    pub holds: Vec<String>,
    /// "Saved at …" after a save.
    pub saved: Option<String>,
}

/// The dates panel alone (after a save).
#[derive(Template)]
#[template(path = "case-dates.html")]
pub struct DatesPart<'a> {
    pub t: &'a Catalog,
    pub dates: CaseDates,
}

/// A contact record's dates, as the notification script shows them.
#[derive(Debug)]
pub struct ContactDates {
    pub last_exposure: String,
    pub quarantine_end: String,
    pub status: String,
    pub saved: Option<String>,
}

/// The contact dates panel alone (after a save).
#[derive(Template)]
#[template(path = "contact-dates.html")]
pub struct ContactDatesPart<'a> {
    pub t: &'a Catalog,
    pub dates: ContactDates,
}

/// The contact notification script: the questionnaire for a contact, the
/// record's quarantine beside it.
#[derive(Template)]
#[template(path = "script.html")]
pub struct ScriptPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub task_id: String,
    /// `script`: the form's id and the route it posts to under the task.
    pub form_id: &'static str,
    pub sections: Vec<FormSection>,
    pub dates: ContactDates,
}

/// A named contact as the interview lists them.
#[derive(Debug)]
pub struct NamedContact {
    pub name: String,
    pub setting: String,
    pub last_exposure: String,
    pub quarantine_end: String,
    /// A possible existing person, a merge, or an open case.
    pub hint: Option<String>,
}

/// The named contacts alone (after naming one).
#[derive(Template)]
#[template(path = "named.html")]
pub struct NamedPart<'a> {
    pub t: &'a Catalog,
    pub contacts: Vec<NamedContact>,
}

/// The guided case interview: the questionnaire's sections, the contacts
/// named so far with a fast entry row, and the case's dates beside them.
#[derive(Template)]
#[template(path = "interview.html")]
pub struct InterviewPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub task_id: String,
    /// `interview`: the form's id and the route it posts to under the task.
    pub form_id: &'static str,
    pub sections: Vec<FormSection>,
    pub dates: CaseDates,
    pub contacts: Vec<NamedContact>,
    /// Languages a contact may be named with; the case's own chosen.
    pub languages: Vec<(&'static str, bool)>,
    /// Exposure settings: value and label.
    pub settings: Vec<(&'static str, String)>,
    /// The case's referrals (kind, status, details) and the kinds to refer for.
    pub referrals: Vec<(String, String, String)>,
    pub referral_kinds: Vec<(&'static str, String)>,
}

/// A case's referrals alone: swapped in after one is made.
#[derive(Template)]
#[template(path = "referrals.html")]
pub struct ReferralsPart<'a> {
    pub t: &'a Catalog,
    pub referrals: Vec<(String, String, String)>,
}

/// A person as a caller entitled to them (or under break-glass) sees them.
#[derive(Template)]
#[template(path = "person.html")]
pub struct PersonPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub name: String,
    pub dob: String,
    pub phone: String,
    pub language: String,
    /// Opened by break-glass: the page says so.
    pub flagged: bool,
    /// Specimen date and result.
    pub labs: Vec<(String, String)>,
}

/// The refusal of a person's page, with the break-glass form.
#[derive(Template)]
#[template(path = "glass.html")]
pub struct GlassPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub person_id: String,
}

/// The supervisor floor's live part.
#[derive(Debug, Default)]
pub struct Floor {
    /// Label and figure.
    pub tiles: Vec<(String, String)>,
    pub queues: Vec<QueueLine>,
    /// Activity and how many tracers are in it.
    pub activities: Vec<(String, usize)>,
    pub working: Vec<WorkLine>,
    /// Waiting tasks by language: the language and how many.
    pub languages: Vec<(String, usize)>,
    /// The tracers of the supervisor's jurisdictions.
    pub tracers: Vec<TracerLine>,
    /// When these figures were read (`14:03:07 UTC`).
    pub at: String,
}

/// A tracer on the floor: their activity, how many tasks they hold, and
/// how long they have held the oldest.
#[derive(Debug)]
pub struct TracerLine {
    pub name: String,
    pub activity: String,
    pub holding: u32,
    pub oldest: String,
}

/// One task as the floor manages it: reassign, return, transfer. No
/// personal data: the kind, where it stands, its jurisdiction and holder.
#[derive(Template)]
#[template(path = "floor-task.html")]
pub struct FloorTaskPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub id: String,
    pub kind: String,
    pub status: String,
    pub jurisdiction: String,
    pub holder: String,
    pub age: String,
    /// Tracers and supervisors it may go to: id and name.
    pub assignees: Vec<(String, String)>,
    /// Jurisdictions its case may be transferred to (`None`: not about a case).
    pub transfer_to: Option<Vec<String>>,
}

#[derive(Debug)]
pub struct QueueLine {
    pub name: String,
    pub waiting: usize,
    /// `10: 2 · 0: 5`.
    pub by_priority: String,
    pub longest: String,
    /// `2 of 5`.
    pub available: String,
}

/// A task being worked, as the floor shows it: no personal data.
#[derive(Debug)]
pub struct WorkLine {
    pub id: String,
    pub kind: String,
    pub tracer: String,
    pub state: String,
    pub age: String,
}

#[derive(Template)]
#[template(path = "floor.html")]
pub struct FloorPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub floor: Floor,
    pub curve: Curve,
    /// The CDC indicators: what, today, the last 7 days.
    pub indicators: Vec<(String, String, String)>,
    /// The largest transmission chains, drawn, and what the section says.
    pub chains: Vec<crate::chains::ChainGraph>,
    pub chains_desc: String,
    /// The newest clusters: name, setting, dates.
    pub clusters: Vec<(String, String, String)>,
}

/// The epidemic curve as SVG bars, and the same figures as a table for
/// screen readers.
#[derive(Debug, Default)]
pub struct Curve {
    pub bars: Vec<Bar>,
    /// (day, cases), oldest first.
    pub days: Vec<(String, u64)>,
    pub max: u64,
    pub total: u64,
    /// What the curve shows, in words (the server fills it in).
    pub desc: String,
}

/// One day's bar, in the SVG's units (a 100-high box, 10 wide per day).
#[derive(Debug)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub h: u32,
    pub label: String,
}

impl Curve {
    /// The curve of `days` (day, cases), oldest first.
    pub fn of(days: Vec<(String, u64)>) -> Self {
        let max = days.iter().map(|d| d.1).max().unwrap_or(0);
        let total = days.iter().map(|d| d.1).sum();
        let bars = days
            .iter()
            .enumerate()
            .map(|(i, (day, n))| {
                let h = (n * 100)
                    .checked_div(max)
                    .map_or(0, |h| u32::try_from(h).unwrap_or(100));
                Bar {
                    x: u32::try_from(i).unwrap_or(0) * 10 + 1,
                    y: 100 - h,
                    h,
                    label: format!("{day}: {n}"),
                }
            })
            .collect();
        Self {
            bars,
            days,
            max,
            total,
            desc: String::new(),
        }
    }

    /// The SVG's width: 10 a day.
    pub fn width(&self) -> usize {
        self.days.len() * 10
    }
}

/// The floor's live part alone (each server-sent `floor` event).
#[derive(Template)]
#[template(path = "floor-live.html")]
pub struct FloorLive<'a> {
    pub t: &'a Catalog,
    pub floor: Floor,
}

/// One contact on a monitoring line list.
#[derive(Debug)]
pub struct MonitoringLine {
    pub person_id: String,
    pub name: String,
    pub jurisdiction: String,
    pub channel: String,
    /// `well`, or the symptoms named, with when.
    pub report: String,
    pub silent_days: i32,
    pub next: String,
}

/// The monitoring line lists: symptomatic, not reporting, reporting well,
/// closed.
#[derive(Template)]
#[template(path = "monitoring.html")]
pub struct MonitoringPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    /// (list, label, current).
    pub tabs: Vec<(&'static str, String, bool)>,
    pub list: String,
    pub rows: Vec<MonitoringLine>,
    pub next: Option<String>,
}

/// A staff account as the administration page lists it.
#[derive(Debug)]
pub struct UserLine {
    pub username: String,
    pub name: String,
    pub role: String,
    pub jurisdiction: String,
    pub mfa: String,
    pub state: String,
    /// (route under `/admin/users/`, button label, accessible name).
    pub actions: Vec<(&'static str, String, String)>,
}

#[derive(Template)]
#[template(path = "admin-users.html")]
pub struct AdminUsersPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    /// The administration tab shown as current.
    pub tab: &'static str,
    pub users: Vec<UserLine>,
    /// What a new account may be: roles and jurisdictions.
    pub roles: Vec<&'static str>,
    pub jurisdictions: Vec<String>,
}

/// Teams: name, jurisdiction, members' usernames; and the jurisdictions a
/// new team may belong to.
#[derive(Template)]
#[template(path = "admin-teams.html")]
pub struct AdminTeamsPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub tab: &'static str,
    pub teams: Vec<(String, String, String)>,
    pub jurisdictions: Vec<String>,
}

/// The jurisdiction tree: code, name, parent.
#[derive(Template)]
#[template(path = "admin-jurisdictions.html")]
pub struct AdminJurisdictionsPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub tab: &'static str,
    pub rows: Vec<(String, String, String)>,
}

/// An API token as administration lists it (never the token itself).
#[derive(Debug)]
pub struct TokenLine {
    pub name: String,
    pub user: String,
    pub created: String,
    pub state: String,
    pub live: bool,
}

#[derive(Template)]
#[template(path = "admin-tokens.html")]
pub struct AdminTokensPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub tab: &'static str,
    pub tokens: Vec<TokenLine>,
}

/// Keys, the audit log, retention and questionnaires: label and value
/// pairs, and questionnaires as id, version, questions.
#[derive(Template)]
#[template(path = "admin-status.html")]
pub struct AdminStatusPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub tab: &'static str,
    pub keys: Vec<(String, String)>,
    pub audit: Vec<(String, String)>,
    pub retention: Vec<(String, String)>,
    pub questionnaires: Vec<(String, String, String)>,
    /// The audit check's state, as the part below shows it.
    pub running: bool,
    pub failed: bool,
    pub line: String,
}

/// The audit log check from the browser: while it runs, a progress line
/// that asks again in a second; then its outcome.
#[derive(Template)]
#[template(path = "audit-verify.html")]
pub struct AuditVerifyPart<'a> {
    pub t: &'a Catalog,
    pub running: bool,
    pub failed: bool,
    pub line: String,
}

/// A text template as the administration page edits it.
#[derive(Debug)]
pub struct TemplateLine {
    /// `name-channel-language`, for element ids.
    pub key: String,
    pub title: String,
    pub name: String,
    pub channel: String,
    pub language: String,
    pub body: String,
    pub edited: bool,
    /// The body's encoding and segments.
    pub segments: String,
}

#[derive(Template)]
#[template(path = "admin-templates.html")]
pub struct AdminTemplatesPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub tab: &'static str,
    pub templates: Vec<TemplateLine>,
}

/// A page of the de-identified case line list: each row's cells in
/// column order (case id, jurisdiction, status, age band, report,
/// specimen, onset and isolation-end dates), and the next page's cursor.
#[derive(Template)]
#[template(path = "lines.html")]
pub struct LinesPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub rows: Vec<[String; 8]>,
    /// This page as CSV, and the next page, with the filters.
    pub csv: String,
    pub next: Option<String>,
    /// The filter form: the statuses and jurisdictions to choose from, and
    /// what is chosen (empty: any).
    pub statuses: Vec<&'static str>,
    pub status: String,
    pub from: String,
    pub to: String,
    pub jurisdictions: Vec<String>,
    pub jurisdiction: String,
}

/// One item on a sandbox phone's screen.
#[derive(Debug)]
pub struct ArrivalLine {
    /// Sent from the phone (a reply), not to it.
    pub mine: bool,
    /// Translated: text, call, email.
    pub channel: String,
    pub body: String,
}

/// A synthetic person's sandbox phone: what reached it, what it sent, a
/// reply box and a keypad.
#[derive(Template)]
#[template(path = "phone.html")]
pub struct PhonePage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    pub arrivals: Vec<ArrivalLine>,
}

/// The phone's screen alone (polled, and after a reply).
#[derive(Template)]
#[template(path = "arrivals.html")]
pub struct ArrivalsPart<'a> {
    pub t: &'a Catalog,
    pub arrivals: Vec<ArrivalLine>,
}

/// The self-report question's words, in the contact's language.
#[derive(Debug)]
pub struct ReportQuestion {
    pub question: String,
    pub details: String,
    pub well: String,
    pub unwell: String,
}

/// The page a check-in link opens: in the contact's language, outside the
/// staff app (no navigation, no script, no personal data).
#[derive(Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub lang: String,
    pub title: String,
    pub css: String,
    pub icon: String,
    pub program: String,
    /// The question while the link is open; else `status` says why not.
    pub form: Option<ReportQuestion>,
    pub status: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> &'static Catalog {
        Catalog::english()
    }

    #[test]
    fn values_are_escaped_and_titles_translated() {
        let page = LoginPage {
            t: t(),
            chrome: Chrome::new(t(), "sign-in"),
            csrf: "a\"b".into(),
            error: Some("<script>alert(1)</script>".into()),
        }
        .render()
        .unwrap();
        assert!(
            page.contains("<title>Sign in · tracedesk</title>"),
            "{page}"
        );
        assert!(page.contains("&#60;script&#62;"), "{page}");
        assert!(!page.contains("<script"), "no script on the sign-in page");
        assert!(page.contains("value=\"a&#34;b\""), "{page}");
        assert!(page.contains(&assets::url("app.css")));
    }

    #[test]
    fn pages_with_scripts_load_only_hashed_assets_and_turn_off_htmx_history() {
        let page = HomePage {
            t: t(),
            chrome: Chrome::new(t(), "home-title")
                .with_scripts()
                .signed_in(Nav {
                    name: "Ana <b>".into(),
                    role: "tracer".into(),
                    csrf: "c".into(),
                    links: vec![Link::to("/", "nav-home")],
                }),
            links: vec![Link::to("/password", "nav-password")],
            csrf: "c".into(),
        }
        .render()
        .unwrap();
        for name in ["htmx.min.js", "htmx-sse.min.js", "app.js"] {
            assert!(page.contains(&format!("<script src=\"{}\" defer>", assets::url(name))));
        }
        // Page snapshots in localStorage would keep personal data.
        assert!(page.contains("\"historyCacheSize\":0"));
        assert!(
            page.contains("Signed in as Ana &#60;b&#62; (tracer)"),
            "{page}"
        );
        assert!(!page.contains("style="), "no inline style");
    }
}

/// One use of break-glass, for review.
#[derive(Debug)]
pub struct GlassLine {
    pub who: String,
    pub person: String,
    pub person_href: String,
    pub opened: String,
    pub expires: String,
    pub reason: String,
}

/// Supervisors review break-glass use by the staff they oversee.
#[derive(Template)]
#[template(path = "glass-review.html")]
pub struct GlassReviewPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub rows: Vec<GlassLine>,
}

/// A pair on the data managers' record linkage page.
#[derive(Debug)]
pub struct PairLine {
    pub id: String,
    /// Both records' names as recorded.
    pub a: String,
    pub b: String,
    pub jurisdiction: String,
    pub score: String,
}

/// Record linkage: the open pairs, each to compare and decide.
#[derive(Template)]
#[template(path = "linkage.html")]
pub struct LinkagePage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub pairs: Vec<PairLine>,
    pub next: Option<String>,
}

/// One field of a pair's two records, and how it agreed.
#[derive(Debug)]
pub struct PairField {
    pub label: String,
    pub a: String,
    pub b: String,
    pub level: String,
}

/// A pair's two records side by side, with the decision and the merge.
#[derive(Template)]
#[template(path = "linkage-pair.html")]
pub struct LinkagePairPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub id: String,
    pub status: String,
    pub score: String,
    /// Still to decide: "two people" is offered.
    pub open: bool,
    /// Not decided two people: the merge is offered.
    pub mergeable: bool,
    pub fields: Vec<PairField>,
    pub swapped: bool,
}

/// A merge on the merges page.
#[derive(Debug)]
pub struct MergeLine {
    pub id: String,
    pub survivor_id: String,
    pub survivor: String,
    pub merged: String,
    pub when: String,
    pub moved: u64,
    /// When it was undone.
    pub undone: Option<String>,
}

/// The merges, each with its undo while it stands.
#[derive(Template)]
#[template(path = "linkage-merges.html")]
pub struct LinkageMergesPage<'a> {
    pub t: &'a Catalog,
    pub chrome: Chrome,
    pub merges: Vec<MergeLine>,
    pub next: Option<String>,
}
