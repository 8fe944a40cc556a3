//! Row decoding shared by the SQL backends.
//!
//! Both backends name their columns alike, so the decoders are written once
//! as a macro that each backend expands for its own row type (this crate does
//! not depend on sqlx; the expansion does, in the backend).

pub const PERSON_COLUMNS: &str = "id, created_at, updated_at, key_version, first_name, last_name, dob, phone, email, address, language, phone_bidx, email_bidx, name_dob_bidx, phone_name_bidx, jurisdiction, purged_at, age_band, merged_into";
pub const CASE_COLUMNS: &str = "id, person_id, status, created_at, updated_at, report_date, specimen_date, onset_date, asymptomatic, infectious_start, isolation_end, key_version, symptoms, notes, jurisdiction, shown_person_id, clinical";
pub const LAB_COLUMNS: &str = "id, person_id, case_id, created_at, specimen_date, key_version, accession, accession_bidx, result, test_type, lab, jurisdiction, ordering_provider";
pub const EXPOSURE_COLUMNS: &str = "id, case_id, contact_person_id, created_at, updated_at, first_exposure, last_exposure, setting, status, quarantine_end, key_version, notes, jurisdiction, negative_test_date, shown_person_id, contact_case_id, ongoing, source_exposure_id, depth";
pub const FACET_COLUMNS: &str = "id, person_id, jurisdiction, created_at, key_version, first_name, last_name, dob, phone, email, address, language";
pub const USER_COLUMNS: &str = "id, username, username_bidx, display_name, role, jurisdiction, password_hash, must_change_password, mfa_required, totp_secret, totp_confirmed, totp_last_step, failed_logins, last_failed_at, locked_at, disabled_at, key_version, created_at, updated_at, phi_granted";
pub const SESSION_COLUMNS: &str = "hash, user_id, created_at, last_seen_at, mfa_done";
pub const BREAK_GLASS_COLUMNS: &str =
    "id, user_id, person_id, opened_at, expires_at, key_version, reason";
pub const TOKEN_COLUMNS: &str = "id, name, hash, created_at, revoked_at, user_id";
pub const ENTRY_COLUMNS: &str = "id, kind, person_id, case_id, exposure_id, task_id, jurisdiction, author_id, created_at, status, key_version, body";
pub const POINT_COLUMNS: &str =
    "id, person_id, jurisdiction, kind, bidx, created_at, key_version, value";
pub const HOUSEHOLD_COLUMNS: &str = "id, case_id, jurisdiction, created_at, key_version, address";
pub const CLUSTER_COLUMNS: &str =
    "id, jurisdiction, setting, starts, ends, created_at, key_version, name";
pub const MESSAGE_COLUMNS: &str = "id, direction, channel, status, priority, person_id, task_id, jurisdiction, template, sender, address_bidx, key_version, address, body, segments, provider_sid, error_code, attempts, next_attempt_at, claimed_by, claim_until, created_at, updated_at, expires_at";
pub const MONITORING_COLUMNS: &str = "id, person_id, facet_id, jurisdiction, channel, checkin_window, time_zone, state, bucket, next_due_at, last_sent_at, last_reply_at, silent_days, unclear, key_version, last_report, created_at, updated_at";
pub const CONSENT_COLUMNS: &str = "address_bidx, opted_out, keyword, updated_at";
pub const TEMPLATE_COLUMNS: &str = "name, channel, language, body, updated_by, updated_at";
pub const DEAD_LETTER_COLUMNS: &str =
    "id, received_at, source, ack_code, reason, key_version, message, replayed_at, replay_code";
pub const MERGE_COLUMNS: &str = "id, survivor_id, merged_id, jurisdiction, review_id, merged_by, merged_at, moved, unmerged_by, unmerged_at";
pub const LINK_REVIEW_COLUMNS: &str = "id, person_a, person_b, jurisdiction_a, jurisdiction_b, score, status, created_at, decided_by, decided_at";
pub const TASK_COLUMNS: &str = "id, kind, status, priority, person_id, case_id, exposure_id, created_at, due_at, jurisdiction, assignee_id, shown_person_id";

/// Expands row decoders (`person`, `case`, `lab`, `exposure`, `task`,
/// `token`, `sealed_row`) for a sqlx row type.
#[macro_export]
macro_rules! sql_row_decoders {
    ($row:ty) => {
        use sqlx::Row as _;
        use $crate::schema::SealedTable;
        use $crate::*;

        fn e(err: sqlx::Error) -> StoreError {
            StoreError::Corrupt(err.to_string())
        }

        fn version(r: &$row) -> StoreResult<u32> {
            let v: i64 = r.try_get("key_version").map_err(e)?;
            u32::try_from(v).map_err(|_| StoreError::Corrupt("key_version out of range".into()))
        }

        pub fn person(r: &$row) -> StoreResult<PersonRow> {
            Ok(PersonRow {
                id: r.try_get("id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
                key_version: version(r)?,
                first_name: r.try_get("first_name").map_err(e)?,
                last_name: r.try_get("last_name").map_err(e)?,
                dob: r.try_get("dob").map_err(e)?,
                phone: r.try_get("phone").map_err(e)?,
                email: r.try_get("email").map_err(e)?,
                address: r.try_get("address").map_err(e)?,
                language: r.try_get("language").map_err(e)?,
                phone_bidx: r.try_get("phone_bidx").map_err(e)?,
                email_bidx: r.try_get("email_bidx").map_err(e)?,
                name_dob_bidx: r.try_get("name_dob_bidx").map_err(e)?,
                phone_name_bidx: r.try_get("phone_name_bidx").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                purged_at: r.try_get("purged_at").map_err(e)?,
                age_band: r.try_get("age_band").map_err(e)?,
                merged_into: r.try_get("merged_into").map_err(e)?,
            })
        }

        pub fn case(r: &$row) -> StoreResult<CaseRow> {
            Ok(CaseRow {
                id: r.try_get("id").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                status: r.try_get("status").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
                report_date: r.try_get("report_date").map_err(e)?,
                specimen_date: r.try_get("specimen_date").map_err(e)?,
                onset_date: r.try_get("onset_date").map_err(e)?,
                asymptomatic: r.try_get("asymptomatic").map_err(e)?,
                infectious_start: r.try_get("infectious_start").map_err(e)?,
                isolation_end: r.try_get("isolation_end").map_err(e)?,
                key_version: version(r)?,
                symptoms: r.try_get("symptoms").map_err(e)?,
                notes: r.try_get("notes").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                shown_person_id: r.try_get("shown_person_id").map_err(e)?,
                clinical: r.try_get("clinical").map_err(e)?,
            })
        }

        pub fn household(r: &$row) -> StoreResult<HouseholdRow> {
            Ok(HouseholdRow {
                id: r.try_get("id").map_err(e)?,
                case_id: r.try_get("case_id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                key_version: version(r)?,
                address: r.try_get("address").map_err(e)?,
            })
        }

        pub fn message(r: &$row) -> StoreResult<MessageRow> {
            Ok(MessageRow {
                id: r.try_get("id").map_err(e)?,
                direction: r.try_get("direction").map_err(e)?,
                channel: r.try_get("channel").map_err(e)?,
                status: r.try_get("status").map_err(e)?,
                priority: r.try_get("priority").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                task_id: r.try_get("task_id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                template: r.try_get("template").map_err(e)?,
                sender: r.try_get("sender").map_err(e)?,
                address_bidx: r.try_get("address_bidx").map_err(e)?,
                key_version: version(r)?,
                address: r.try_get("address").map_err(e)?,
                body: r.try_get("body").map_err(e)?,
                segments: r.try_get("segments").map_err(e)?,
                provider_sid: r.try_get("provider_sid").map_err(e)?,
                error_code: r.try_get("error_code").map_err(e)?,
                attempts: r.try_get("attempts").map_err(e)?,
                next_attempt_at: r.try_get("next_attempt_at").map_err(e)?,
                claimed_by: r.try_get("claimed_by").map_err(e)?,
                claim_until: r.try_get("claim_until").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
            })
        }

        pub fn monitoring(r: &$row) -> StoreResult<MonitoringRow> {
            Ok(MonitoringRow {
                id: r.try_get("id").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                facet_id: r.try_get("facet_id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                channel: r.try_get("channel").map_err(e)?,
                checkin_window: r.try_get("checkin_window").map_err(e)?,
                time_zone: r.try_get("time_zone").map_err(e)?,
                state: r.try_get("state").map_err(e)?,
                bucket: r.try_get("bucket").map_err(e)?,
                next_due_at: r.try_get("next_due_at").map_err(e)?,
                last_sent_at: r.try_get("last_sent_at").map_err(e)?,
                last_reply_at: r.try_get("last_reply_at").map_err(e)?,
                silent_days: r.try_get("silent_days").map_err(e)?,
                unclear: r.try_get("unclear").map_err(e)?,
                key_version: version(r)?,
                last_report: r.try_get("last_report").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        pub fn consent(r: &$row) -> StoreResult<ConsentRow> {
            Ok(ConsentRow {
                address_bidx: r.try_get("address_bidx").map_err(e)?,
                opted_out: r.try_get("opted_out").map_err(e)?,
                keyword: r.try_get("keyword").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        pub fn template(r: &$row) -> StoreResult<TemplateRow> {
            Ok(TemplateRow {
                name: r.try_get("name").map_err(e)?,
                channel: r.try_get("channel").map_err(e)?,
                language: r.try_get("language").map_err(e)?,
                body: r.try_get("body").map_err(e)?,
                updated_by: r.try_get("updated_by").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
            })
        }

        pub fn cluster(r: &$row) -> StoreResult<ClusterRow> {
            Ok(ClusterRow {
                id: r.try_get("id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                setting: r.try_get("setting").map_err(e)?,
                starts: r.try_get("starts").map_err(e)?,
                ends: r.try_get("ends").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                key_version: version(r)?,
                name: r.try_get("name").map_err(e)?,
            })
        }

        pub fn entry(r: &$row) -> StoreResult<EntryRow> {
            Ok(EntryRow {
                id: r.try_get("id").map_err(e)?,
                kind: r.try_get("kind").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                case_id: r.try_get("case_id").map_err(e)?,
                exposure_id: r.try_get("exposure_id").map_err(e)?,
                task_id: r.try_get("task_id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                author_id: r.try_get("author_id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                status: r.try_get("status").map_err(e)?,
                key_version: version(r)?,
                body: r.try_get("body").map_err(e)?,
            })
        }

        pub fn point(r: &$row) -> StoreResult<PointRow> {
            let kind: String = r.try_get("kind").map_err(e)?;
            Ok(PointRow {
                id: r.try_get("id").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                key: PersonKey::of_column(&kind)
                    .ok_or_else(|| StoreError::Corrupt("unknown person point kind".into()))?,
                bidx: r.try_get("bidx").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                key_version: version(r)?,
                value: r.try_get("value").map_err(e)?,
            })
        }

        pub fn person_merge(r: &$row) -> StoreResult<PersonMergeRow> {
            Ok(PersonMergeRow {
                id: r.try_get("id").map_err(e)?,
                survivor_id: r.try_get("survivor_id").map_err(e)?,
                merged_id: r.try_get("merged_id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                review_id: r.try_get("review_id").map_err(e)?,
                merged_by: r.try_get("merged_by").map_err(e)?,
                merged_at: r.try_get("merged_at").map_err(e)?,
                moved: r.try_get::<i64, _>("moved").map_err(e)?.unsigned_abs(),
                unmerged_by: r.try_get("unmerged_by").map_err(e)?,
                unmerged_at: r.try_get("unmerged_at").map_err(e)?,
            })
        }

        pub fn link_review(r: &$row) -> StoreResult<LinkReviewRow> {
            Ok(LinkReviewRow {
                id: r.try_get("id").map_err(e)?,
                person_a: r.try_get("person_a").map_err(e)?,
                person_b: r.try_get("person_b").map_err(e)?,
                jurisdiction_a: r.try_get("jurisdiction_a").map_err(e)?,
                jurisdiction_b: r.try_get("jurisdiction_b").map_err(e)?,
                score: r.try_get("score").map_err(e)?,
                status: r.try_get("status").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                decided_by: r.try_get("decided_by").map_err(e)?,
                decided_at: r.try_get("decided_at").map_err(e)?,
            })
        }

        pub fn dead_letter(r: &$row) -> StoreResult<DeadLetterRow> {
            Ok(DeadLetterRow {
                id: r.try_get("id").map_err(e)?,
                received_at: r.try_get("received_at").map_err(e)?,
                source: r.try_get("source").map_err(e)?,
                ack_code: r.try_get("ack_code").map_err(e)?,
                reason: r.try_get("reason").map_err(e)?,
                key_version: version(r)?,
                message: r.try_get("message").map_err(e)?,
                replayed_at: r.try_get("replayed_at").map_err(e)?,
                replay_code: r.try_get("replay_code").map_err(e)?,
            })
        }

        pub fn lab(r: &$row) -> StoreResult<LabResultRow> {
            Ok(LabResultRow {
                id: r.try_get("id").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                case_id: r.try_get("case_id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                specimen_date: r.try_get("specimen_date").map_err(e)?,
                key_version: version(r)?,
                accession: r.try_get("accession").map_err(e)?,
                accession_bidx: r.try_get("accession_bidx").map_err(e)?,
                result: r.try_get("result").map_err(e)?,
                test_type: r.try_get("test_type").map_err(e)?,
                lab: r.try_get("lab").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                ordering_provider: r.try_get("ordering_provider").map_err(e)?,
            })
        }

        pub fn facet(r: &$row) -> StoreResult<PersonFacetRow> {
            Ok(PersonFacetRow {
                id: r.try_get("id").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                key_version: version(r)?,
                first_name: r.try_get("first_name").map_err(e)?,
                last_name: r.try_get("last_name").map_err(e)?,
                dob: r.try_get("dob").map_err(e)?,
                phone: r.try_get("phone").map_err(e)?,
                email: r.try_get("email").map_err(e)?,
                address: r.try_get("address").map_err(e)?,
                language: r.try_get("language").map_err(e)?,
            })
        }

        pub fn exposure(r: &$row) -> StoreResult<ExposureRow> {
            Ok(ExposureRow {
                id: r.try_get("id").map_err(e)?,
                case_id: r.try_get("case_id").map_err(e)?,
                contact_person_id: r.try_get("contact_person_id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
                first_exposure: r.try_get("first_exposure").map_err(e)?,
                last_exposure: r.try_get("last_exposure").map_err(e)?,
                setting: r.try_get("setting").map_err(e)?,
                status: r.try_get("status").map_err(e)?,
                quarantine_end: r.try_get("quarantine_end").map_err(e)?,
                key_version: version(r)?,
                notes: r.try_get("notes").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                negative_test_date: r.try_get("negative_test_date").map_err(e)?,
                shown_person_id: r.try_get("shown_person_id").map_err(e)?,
                contact_case_id: r.try_get("contact_case_id").map_err(e)?,
                ongoing: r.try_get("ongoing").map_err(e)?,
                source_exposure_id: r.try_get("source_exposure_id").map_err(e)?,
                depth: r.try_get("depth").map_err(e)?,
            })
        }

        pub fn task(r: &$row) -> StoreResult<TaskRow> {
            Ok(TaskRow {
                id: r.try_get("id").map_err(e)?,
                kind: r.try_get("kind").map_err(e)?,
                status: r.try_get("status").map_err(e)?,
                priority: r.try_get("priority").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                case_id: r.try_get("case_id").map_err(e)?,
                exposure_id: r.try_get("exposure_id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                due_at: r.try_get("due_at").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                assignee_id: r.try_get("assignee_id").map_err(e)?,
                shown_person_id: r.try_get("shown_person_id").map_err(e)?,
            })
        }

        pub fn token(r: &$row) -> StoreResult<TokenRow> {
            Ok(TokenRow {
                id: r.try_get("id").map_err(e)?,
                name: r.try_get("name").map_err(e)?,
                hash: r.try_get("hash").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                revoked_at: r.try_get("revoked_at").map_err(e)?,
                user_id: r.try_get("user_id").map_err(e)?,
            })
        }

        pub fn user(r: &$row) -> StoreResult<UserRow> {
            Ok(UserRow {
                id: r.try_get("id").map_err(e)?,
                username: r.try_get("username").map_err(e)?,
                username_bidx: r.try_get("username_bidx").map_err(e)?,
                display_name: r.try_get("display_name").map_err(e)?,
                role: r.try_get("role").map_err(e)?,
                jurisdiction: r.try_get("jurisdiction").map_err(e)?,
                password_hash: r.try_get("password_hash").map_err(e)?,
                must_change_password: r.try_get("must_change_password").map_err(e)?,
                mfa_required: r.try_get("mfa_required").map_err(e)?,
                totp_secret: r.try_get("totp_secret").map_err(e)?,
                totp_confirmed: r.try_get("totp_confirmed").map_err(e)?,
                totp_last_step: r.try_get("totp_last_step").map_err(e)?,
                failed_logins: r.try_get("failed_logins").map_err(e)?,
                last_failed_at: r.try_get("last_failed_at").map_err(e)?,
                locked_at: r.try_get("locked_at").map_err(e)?,
                disabled_at: r.try_get("disabled_at").map_err(e)?,
                key_version: version(r)?,
                created_at: r.try_get("created_at").map_err(e)?,
                updated_at: r.try_get("updated_at").map_err(e)?,
                phi_granted: r.try_get("phi_granted").map_err(e)?,
            })
        }

        pub fn session(r: &$row) -> StoreResult<SessionRow> {
            Ok(SessionRow {
                hash: r.try_get("hash").map_err(e)?,
                user_id: r.try_get("user_id").map_err(e)?,
                created_at: r.try_get("created_at").map_err(e)?,
                last_seen_at: r.try_get("last_seen_at").map_err(e)?,
                mfa_done: r.try_get("mfa_done").map_err(e)?,
            })
        }

        pub fn break_glass(r: &$row) -> StoreResult<BreakGlassRow> {
            Ok(BreakGlassRow {
                id: r.try_get("id").map_err(e)?,
                user_id: r.try_get("user_id").map_err(e)?,
                person_id: r.try_get("person_id").map_err(e)?,
                opened_at: r.try_get("opened_at").map_err(e)?,
                expires_at: r.try_get("expires_at").map_err(e)?,
                key_version: version(r)?,
                reason: r.try_get("reason").map_err(e)?,
            })
        }

        pub fn sealed_row(r: &$row, table: &SealedTable) -> StoreResult<SealedRow> {
            let values = table
                .columns
                .iter()
                .map(|c| r.try_get::<Option<Vec<u8>>, _>(*c).map_err(e))
                .collect::<StoreResult<_>>()?;
            Ok(SealedRow {
                id: r.try_get("id").map_err(e)?,
                values,
            })
        }
    };
}
