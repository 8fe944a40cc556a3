# The staff web app's strings (English). Ids are kebab-case; a variable is
# written { $name }. Translations copy this file to locales/{lang}.ftl.

app-name = tracedesk
skip-to-content = Skip to content
nav-label = Main
signed-in-as = Signed in as { $name } ({ $role })
sign-in = Sign in
sign-out = Sign out
sign-out-everywhere = Sign out everywhere
username = Username
password = Password
continue = Continue
start-again = Start again

totp-title = Second factor
totp-label = 6-digit code from your authenticator app
enrol-title = Set up your second factor
enrol-intro = tracedesk needs a code from an authenticator app at every sign-in.
enrol-show = Show my setup code
enrol-scan = Scan this code with your authenticator app, or type the key.
enrol-key = Key:
enrol-confirm-label = Then enter the 6-digit code it shows

password-title = Change your password
password-rule = At least 15 characters (8 with a second factor). A few unrelated words make a good one.
password-current = Current password
password-new = New password
password-change = Change password

form-expired-title = Form expired
form-expired = This form's security token is missing or wrong. Start again from the sign-in page.
not-found-title = Page not found
not-found = There is no page at this address.

home-title = Home
home-intro = Choose where to work.
nav-home = Home
nav-desk = Tracer desk
nav-floor = Supervisor floor
nav-lists = Line lists
nav-password = Change password

tasks-waiting = { $n ->
    [one] 1 task waiting
   *[other] { $n } tasks waiting
}

## Tracer desk
desk-title = My work
desk-intro = Tasks assigned to you, most urgent first. Open one to see the person and talk with them.
desk-empty = Nothing is assigned to you right now.
desk-my-tasks = My cases, contacts and tasks
offers-title = Offers
offers-none = No offer waiting. Set yourself Available to be offered work.
offer-language = language
offer-expires = Answer within
offer-accept = Accept
offer-reject = Reject
activity = Activity
activity-set = Set activity
activity-now = You are now { $activity }.
offers-off = Task routing is not running, so no offers are made.
desk-col-task = Task
desk-col-about = About
desk-about-case = A case
desk-about-contact = A contact
desk-about-person = A person
desk-col-status = Status
desk-col-priority = Priority
desk-col-due = Due
desk-open = Open
desk-open-task = Open task: { $kind }, due { $due }
desk-back = Back to my work
task-title = Task
task-person = Person
task-name = Name
task-phone = Phone
task-language = Language
task-none = not recorded
thread-title = Conversation
thread-empty = No messages yet.
thread-out = Sent
thread-in = Received
send-title = Send a text
send-template = Quick reply
send-template-none = Free text
send-body = Message
send-body-hint = Never name a diagnosis in a text: ask the person to call.
send-button = Send
send-queued = Queued for sending.
segments = { $chars } characters · { $encoding } · { $segments ->
    [one] 1 segment
   *[other] { $segments } segments
}
refused-title = Not available
refused = You are not entitled to this record. Records open to the tracer who holds their task and to supervisors over their jurisdiction.
failed-title = Something went wrong

task-kind-case_interview = Case interview
task-kind-contact_notification = Contact notification
task-kind-symptomatic_followup = Symptomatic follow-up
task-kind-non_responder_followup = Non-responder follow-up
task-kind-callback_request = Callback request
task-kind-investigation = Investigation
task-kind-support_request = Support request
task-kind-triage = Text from an unknown number
task-status-pending = Waiting
task-status-reserved = Offered
task-status-assigned = Assigned
task-status-wrapping = Wrapping up
task-status-completed = Completed
task-status-canceled = Canceled
message-status-queued = Queued
message-status-sending = Sending
message-status-sent = Sent
message-status-delivered = Delivered
message-status-undelivered = Not delivered
message-status-failed = Failed
message-status-received = Received
message-status-refused = Refused (opted out)
message-status-expired = Expired
template-contact_notification = Contact notification
template-case_outreach = Case outreach

## Sandbox phone
task-sandbox-phone = Open this person's sandbox phone
call-title = Call
call-phone = Your phone
call-hint = We ring your phone first, then connect the person. They see the program's number, never yours.
call-button = Call the person
call-queued = Ringing your phone now: answer it to be connected.
attempts-title = Attempts
attempts-empty = No attempts yet.
attempt-log = Log an attempt
attempt-at = When
attempt-channel = Channel
attempt-outcome = Outcome
attempt-note = Note
attempt-save = Log attempt
attempt-callback = Call back at (UTC)
attempt-callback-hint = Only for "Asked to be called back".
attempt-callback-at = call back { $at }
attempt-channel-phone = Phone
attempt-channel-sms = Text
attempt-channel-email = Email
attempt-channel-in_person = In person
attempt-channel-letter = Letter
attempt-outcome-reached = Reached
attempt-outcome-left_voicemail = Left a voicemail
attempt-outcome-no_answer = No answer
attempt-outcome-wrong_number = Wrong number
attempt-outcome-refused = Refused
attempt-outcome-call_back = Asked to be called back
attempt-outcome-message_sent = Message sent
attempt-outcome-message_delivered = Message delivered
attempt-outcome-message_not_delivered = Message not delivered
attempt-outcome-replied = Replied
wrap-title = Wrap up
wrap-disposition = Disposition
wrap-hint = Records the disposition as the last attempt and completes the task; routing may offer you your next task at once. Reached on a case interview moves the case on to isolating; on a contact notification, marks the contact notified.
wrap-button = Complete the task
wrap-done = Task completed.
phone-title = Sandbox phone
phone-intro = A synthetic person's phone on the sandbox carrier: what reached it, and what it sends back through tracedesk's inbound path. No real phone is involved.
phone-of = { $name }'s phone
phone-empty = Nothing has reached this phone yet.
phone-you = Sent from this phone
phone-reply-title = Reply as this person
phone-reply = Text
phone-send = Send from the phone
phone-keypad = Keypad
phone-keypad-hint = Answers the latest check-in call: 1 for symptoms, 2 for well.
channel-sms = Text
channel-voice = Call
channel-email = Email

## Line lists
nav-lists-cases = Line list
lines-title = Case line list
lines-intro = De-identified cases in your jurisdictions: no names, contact details or dates of birth (age bands instead). Viewing and downloading are recorded as exports.
case-status-new = New
case-status-interviewing = Interviewing
case-status-isolating = Isolating
case-status-closed = Closed
case-status-unreachable = Unreachable
case-status-refused = Refused
lines-filters = Filter the line list
lines-any = Any
lines-from = Reported from
lines-to = Reported to
lines-filter = Filter
lines-csv = Download this page as CSV
lines-empty = No cases in your jurisdictions.
lines-count = { $n ->
    [one] 1 case on this page
   *[other] { $n } cases on this page
}
lines-case = Case
lines-jurisdiction = Jurisdiction
lines-status = Status
lines-age = Age band
lines-report = Reported
lines-specimen = Specimen
lines-onset = Onset
lines-isolation-end = Isolation ends
lines-next = Next page

## Case interview
interview-title = Case interview
interview-open = Start or continue the case interview
interview-back = Back to the task
referrals-title = Referrals
referrals-none = No referral yet.
referral-kind = Refer for
referral-details = What is needed
referral-make = Refer
referral-kind-testing = Testing
referral-kind-food = Food
referral-kind-housing = Housing
referral-kind-medicine = Medicine
referral-kind-income = Income support
referral-kind-child_care = Child care
referral-kind-other = Other support
referral-status-requested = requested
referral-status-in_progress = in progress
referral-status-fulfilled = fulfilled
referral-status-declined = declined
referral-status-canceled = canceled
interview-save = Save answers
interview-saved = Saved at { $at }.
required = (required)
yes = Yes
no = No
choose = Choose…
symptom-onset = began
symptom-onset-of = Day { $symptom } began
dates-title = Dates
dates-report = Reported
dates-specimen = Specimen collected
dates-onset = Symptom onset
dates-asymptomatic = none (asymptomatic)
dates-unknown = not known yet
dates-infectious = Infectious from
dates-isolation-end = Isolation ends
contacts-title = Contacts
contacts-hint = Name everyone the person was near from the start of the infectious period. Press Enter to add and go straight to the next.
contacts-none = No contacts named yet.
contacts-count = { $n ->
    [one] 1 contact named
   *[other] { $n } contacts named
}
contact-first = First name
contact-last-name = Last name
contact-last = Last exposure
contact-setting = Setting
contact-quarantine = Quarantine ends
contact-note = Note
contact-add = Add contact
contact-known = Possible existing person: matched someone already known
contact-merged = Already named by this case: dates joined
contact-a-case = Already a case: linked, no quarantine
setting-household = Household
setting-workplace = Workplace
setting-school = School
setting-healthcare = Health care
setting-event = Event or gathering
setting-other = Other

## A person, and break-glass
person-title = Person
person-dob = Date of birth
person-labs = Lab results
person-no-labs = No lab results in your jurisdictions.
person-result = Result
person-glass-banner = Opened by break-glass. This access is recorded, and your supervisor reviews it.
glass-title = Break-glass access
glass-explain = In an emergency you may open this record for one hour. Say why: your reason is kept, sealed, with your name, and your supervisor reviews every use.
glass-reason = Reason (at least 10 characters)
glass-open = Open for one hour

## Supervisor floor
floor-title = Supervisor floor
floor-intro = Live: queues, tracers and work in progress, updated every second without reloading.
floor-queues = Queues
floor-queue = Queue
floor-waiting = Waiting
floor-by-priority = By priority
floor-longest = Longest wait
floor-available = Available tracers
floor-tracers = Tracers by activity
floor-no-workers = No routing workers yet.
floor-count = Tracers
floor-working = Work in progress
floor-none-working = No task is being worked right now.
floor-tracer = Tracer
floor-age = Age
floor-actions = Actions
floor-return = Return to queue
floor-returned = Returned to the queue.
floor-updated = Updated { $at }.
floor-off = Task routing is not running on this server.
floor-languages = Waiting by language
indicators-title = CDC indicators
chains-title = Transmission chains and clusters
chains-desc = { $chains ->
    [0] No chain yet: no named contact has become a case in your jurisdictions over the last 28 days.
    [one] One chain of cases linked by named contacts over the last 28 days.
   *[other] { $chains } chains of cases linked by named contacts over the last 28 days; the largest { $shown } are drawn, first case at the left.
}
chain-case = case …{ $id }
chain-label = Chain of { $cases } cases over { $generations } generations
clusters-title = Clusters
clusters-none = No cluster recorded yet.
cluster-name = Name
cluster-setting = Setting
cluster-dates = Dates
indicators-intro = Cases reported and contacts named today and over the last 7 days in your jurisdictions. A case counts as interviewed when it moves on to isolating; a contact as notified when marked notified. Read at most a minute ago.
indicators-what = Indicator
indicators-today = Today
indicators-week = Last 7 days
indicator-interviewed = Cases interviewed within 24 h of report
indicator-notified = Contacts notified within 24 h of being named
indicator-per-case = Contacts named per case interviewed
indicator-reporting = Monitored contacts reporting today
indicator-share = { $part } of { $whole } ({ $percent })
floor-none-waiting = Nothing is waiting.
floor-your-tracers = Your tracers
floor-holding = Tasks held
floor-oldest = Oldest held
floor-manage = Reassign or transfer
floor-manage-task = Reassign or transfer: { $kind }, { $tracer }
floor-back = Back to the floor
floor-glass-link = Review break-glass use
glass-review-title = Break-glass review
glass-review-intro = Each time someone you oversee opened a record they were not entitled to, over the last 7 days, with the reason they gave. Reading this page is audited.
glass-review-none = No break-glass use in the last 7 days.
glass-opened = Opened
glass-until = Until
glass-why = Reason
floor-task-title = Manage a task
floor-jurisdiction = Jurisdiction
floor-reassign = Reassign
floor-no-assignees = No tracer of this jurisdiction is a routing worker.
floor-assign-to = Assign to
floor-reassign-button = Reassign
floor-reassigned = Reassigned to { $name }.
floor-transfer = Transfer the case
floor-transfer-hint = The case, its contacts and results move to the other health department; its unfinished tasks are canceled here and made again there.
floor-transfer-to = To jurisdiction
floor-transfer-button = Transfer
floor-transferred = Transferred to { $to }.
tile-waiting = tasks waiting
tile-offered = offered now
tile-working = being worked
tile-created = created, last hour
tile-completed = completed, last hour
tile-sla = SLA met, last hour
tile-wait = average wait, last hour

## Monitoring line lists
nav-monitoring = Monitoring
mon-title = Monitoring line lists
mon-intro = Contacts in daily monitoring in your jurisdictions, by what their check-ins say.
mon-lists = Monitoring lists
mon-list-symptomatic = Symptomatic
mon-list-non_reporting = Not reporting
mon-list-asymptomatic = Reporting well
mon-list-closed = Closed
mon-empty = No one is on this list.
mon-channel = Check-in by
mon-last-report = Last report
mon-silent = Silent days
mon-next = Next check-in
mon-report-none = none yet

## Epidemic curve
curve-title = Epidemic curve
curve-desc = Cases by specimen date over the last { $days } days in your jurisdictions: { $total ->
    [one] 1 case
   *[other] { $total } cases
}.
curve-max = busiest day: { $max }
curve-cases = Cases

## Contact notification script
script-title = Contact notification
script-open = Start or continue the notification script
script-intro = Tell the person they may have been exposed, never who exposed them. Explain quarantine and its end date, and ask about symptoms.

## Administration
nav-admin = Administration
admin-title = Administration
admin-sections = Administration sections
admin-users = Staff accounts
admin-templates = Text templates
admin-teams = Teams
admin-jurisdictions = Jurisdictions
admin-tokens = API tokens
admin-status = Keys, audit and retention
admin-add-user = Add a staff account
admin-add-user-button = Add account
admin-add-user-hint = The new account gets a temporary password, shown once here: give it to the person directly. They choose their own and enrol a second factor at first sign-in.
admin-user-added = Account { $user } made. Temporary password: { $password }
admin-teams-intro = A supervisor oversees the members of their teams as well as the staff of their jurisdictions.
admin-add-team = Add a team
admin-add-team-button = Add team
admin-team = Team
admin-team-added = Team { $team } made.
admin-members = Members
admin-member-action = Change
admin-member-add = Add to the team
admin-member-remove = Remove from the team
admin-member-save = Save
admin-member-added = { $user } is now on { $team }.
admin-member-removed = { $user } is no longer on { $team }.
admin-no-teams = No team yet.
admin-jurisdictions-intro = Staff see and work the records of their jurisdiction and every jurisdiction within it.
admin-add-jurisdiction = Add a jurisdiction
admin-add-jurisdiction-button = Add jurisdiction
admin-jurisdiction-added = Jurisdiction { $code } added.
admin-code = Code
admin-code-hint = Lower-case letters, digits, - or _; at most 40.
admin-parent = Within
admin-tokens-intro = A token lets a program (a lab feed, a data export) call the API as the account it is made for, with that account's role and jurisdiction. The token is shown once when made; tracedesk keeps only its hash.
admin-add-token = Make a token
admin-add-token-button = Make token
admin-token-name = Name
admin-token-made = Token { $name } made. Copy it now, it is not shown again: { $token }
admin-created = Made
admin-token-live = live
admin-token-revoked = revoked
admin-revoke = Revoke
admin-revoke-of = Revoke the token { $name }
admin-revoked = Revoked { $count } token(s) named { $name }.
admin-no-tokens = No API token yet.
admin-keys = Encryption keys
admin-keys-current = Current key version
admin-keys-behind = Rows sealed under an older key
admin-keys-hint = After a key rotation, tracedesk rewraps older rows in the background; the count above falls to zero.
admin-audit = Audit log
admin-audit-key = Checkpoint signing key (public)
admin-audit-off = The audit log is not kept on this server.
admin-verify = Verify the audit log
admin-verify-progress = Verifying the audit log
admin-verify-running = Checked { $n } entries so far…
admin-verify-ok = Audit log OK: { $entries } entries, { $checkpoints } signed checkpoints, head { $head }.
admin-verify-broken = The audit log does not verify: { $why }
admin-retention = Retention
admin-retention-off = No purge runs on this server (retention is off).
admin-retention-case = Cases, after the last one closed
admin-retention-contact = Contact records, after the last one closed
admin-retention-lab = Lab results only, after the first arrived
admin-retention-days = { $days } days
admin-retention-hint = Set in tracedesk.toml ([retention]); a purge runs once a day.
admin-questionnaires = Questionnaires
admin-questionnaire = Questionnaire
admin-version = Version
admin-questions = Questions
admin-questionnaires-hint = Questionnaires are versioned with the program: a saved interview keeps the version it was asked with.
admin-user-count = { $n ->
    [one] 1 account
   *[other] { $n } accounts
}
admin-role = Role
admin-mfa = Second factor
admin-mfa-on = enrolled
admin-mfa-off = not enrolled
admin-active = active
admin-locked = locked
admin-disabled = disabled
admin-unlock = Unlock
admin-unlock-of = Unlock { $user }
admin-reset-mfa = Reset second factor
admin-reset-mfa-of = Reset the second factor of { $user }
admin-disable = Disable
admin-disable-of = Disable { $user }
admin-enable = Enable
admin-enable-of = Enable { $user }
admin-done = Done: { $user } is now { $state }.
admin-templates-intro = The texts tracedesk sends, in each language. A text may not name a diagnosis, must keep STOP where the built-in has it, and may use only {"{"}program{"}"}, {"{"}callback{"}"} and {"{"}link{"}"}. The count below each text is its encoding and segments as you type.
admin-template-body = Text
admin-template-edited = (edited)
admin-template-save = Save
admin-template-saved = Saved.

## Record linkage (data managers)
nav-linkage = Record linkage
link-title = Record linkage
link-intro = Records that may be the same person, in your jurisdictions: compare them, then merge them or keep them apart.
link-views = Record linkage views
link-open = To review
link-merges = Merges
link-empty = No pairs are waiting for review.
link-record-a = Earlier record
link-record-b = Later record
link-score = Score
link-compare = Compare
link-compare-of = Compare { $a } and { $b }
link-pair-title = Two records compared
link-back = Back to the pairs to review
link-pair-status = Status: { $status }. Score { $score } (log₂ of how much likelier these values are for one person than for two).
link-status-open = to review
link-status-same = the same person
link-status-distinct = two people
link-side-by-side = The two records side by side
link-field = Field
link-agreement = Agreement
link-field-first_name = First name
link-field-last_name = Last name
link-field-dob = Date of birth
link-field-phone = Phone
link-field-email = Email
link-field-address = Address
link-level-exact = the same
link-level-alias = the same, written another way
link-level-close = nearly the same
link-level-similar = similar
link-level-disagree = different
link-level-missing = missing on one side
link-swapped = The names agree only when first and last name are read the other way round.
link-merge-hint = Merging moves the later record's cases, results, contact records, tasks and messages to the earlier record. It can be undone from Merges.
link-merge = Same person: merge
link-distinct = Two people
link-merged = Merged: { $moved } rows moved to the earlier record. Undo it from Merges if it was wrong.
link-decided-distinct = Decided: two people. The records stay apart.
link-merges-title = Merges
link-merges-intro = Records merged in your jurisdictions, newest first. Undoing a merge moves the merged record's rows back.
link-merges-empty = No records have been merged.
link-survivor = Record kept
link-merged-record = Record merged into it
link-when = Merged
link-moved = Rows moved
link-unmerge = Undo
link-unmerge-of = Undo the merge of { $b } into { $a }
link-unmerged = Undone: the merged record's rows are back on it, and the pair is marked two people.
link-undone-at = undone { $when }
