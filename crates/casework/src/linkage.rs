//! Record linkage in case work: is this person someone we already hold?
//!
//! Each person's blocking keys (`tracedesk_linkage::keys`: phone, email,
//! date of birth and its day/month-swapped twin, phonetic names…) are kept
//! as keyed blind indexes (`link_keys`), so the store can say who shares a
//! key without holding a name. The candidates a person shares a key with
//! are opened here, in memory, and scored (Fellegi–Sunter); a pair scored
//! the same person or a possible match is kept (`link_reviews`) for a data
//! manager: `same` pairs as found, `open` pairs to decide. It runs for each
//! person a lab result or a contact naming makes, and over the whole store
//! as a resumable job (`tracedesk linkage run`). Nothing of a person leaves
//! this module but ids and scores.

use crate::{Casework, CaseworkError};
use chrono::NaiveDate;
use tracedesk_linkage::compare::{Comparison, compare};
use tracedesk_linkage::{Decision, Person, Scorer};
use tracedesk_store::{LinkReviewFilter, LinkReviewRow, PersonRow};
use tracedesk_vault::BlindKind;
use uuid::Uuid;

/// The most candidates one person is compared with: a key shared by more
/// (a common surname and birth year) says little on its own.
pub const CANDIDATES: u32 = 200;
/// The whole-store job's name in `link_progress`.
pub const JOB: &str = "linkage";
/// Persons read per step of the job (and how often it records progress).
const STEP: u32 = 500;

/// A pair's status.
pub mod status {
    /// A possible match, for a data manager to decide.
    pub const OPEN: &str = "open";
    /// The same person: scored so, or decided so by a reviewer.
    pub const SAME: &str = "same";
    /// Decided not the same person.
    pub const DISTINCT: &str = "distinct";
    pub const ALL: &[&str] = &[OPEN, SAME, DISTINCT];
}

/// What linking one person found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Linked {
    /// How many candidates were compared.
    pub compared: usize,
    /// Pairs kept as the same person, and as possible matches (new ones).
    pub same: Vec<Uuid>,
    pub possible: Vec<Uuid>,
}

/// How far a whole-store run got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunProgress {
    pub persons: u64,
    pub compared: u64,
    pub same: u64,
    pub possible: u64,
    /// Whether it went on from where an earlier run stopped.
    pub resumed: bool,
}

/// A pair as a data manager sees it: ids, jurisdictions, score, status.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LinkReviewView {
    pub id: Uuid,
    /// The earlier record.
    pub person_a: Uuid,
    /// The later record.
    pub person_b: Uuid,
    pub jurisdiction_a: String,
    pub jurisdiction_b: String,
    /// The Fellegi–Sunter score: log₂ of how much likelier these values
    /// are for one person than for two.
    pub score: f64,
    /// `open` (to decide), `same` or `distinct`.
    pub status: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Who decided (none: the matcher, or no one yet).
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&LinkReviewRow> for LinkReviewView {
    fn from(r: &LinkReviewRow) -> Self {
        Self {
            id: r.id,
            person_a: r.person_a,
            person_b: r.person_b,
            jurisdiction_a: r.jurisdiction_a.clone(),
            jurisdiction_b: r.jurisdiction_b.clone(),
            score: r.score,
            status: r.status.clone(),
            created_at: r.created_at,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
        }
    }
}

/// How one field of the two records agreed.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FieldAgreement {
    /// `first_name`, `last_name`, `dob`, `phone`, `email` or `address`.
    pub field: &'static str,
    /// `exact`, `alias` (a nickname, a shared surname part, day and month
    /// swapped), `close`, `similar`, `disagree`, or `missing` (either lacks it).
    pub level: &'static str,
}

/// A pair's two records side by side.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LinkSides {
    pub review: LinkReviewView,
    pub a: crate::PersonView,
    pub b: crate::PersonView,
    pub fields: Vec<FieldAgreement>,
    /// First and last name agree only when read the other way round.
    pub names_swapped: bool,
}

/// A data manager's decision on an open pair.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkDecision {
    /// `same` or `distinct`.
    pub status: String,
}

fn level_name(l: tracedesk_linkage::compare::Level) -> &'static str {
    use tracedesk_linkage::compare::Level;
    match l {
        Level::Exact => "exact",
        Level::Alias => "alias",
        Level::Close => "close",
        Level::Similar => "similar",
        Level::Disagree => "disagree",
        Level::Missing => "missing",
    }
}

/// A person as linkage compares them, from their opened record.
fn person_of(v: &crate::PersonView) -> Person {
    let dob = v
        .dob
        .as_deref()
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    Person::new(
        v.first_name.as_deref().unwrap_or(""),
        v.last_name.as_deref().unwrap_or(""),
        dob,
        v.phone.as_deref(),
        v.email.as_deref(),
        v.address.as_deref(),
    )
}

impl crate::services::Cases<'_> {
    /// The record linkage compares, opened; `None` for a purged person.
    fn linkage_person(&self, row: &PersonRow) -> Result<Option<Person>, CaseworkError> {
        if row.purged_at.is_some() {
            return Ok(None);
        }
        Ok(Some(person_of(&self.person_view(row)?)))
    }

    fn link_blinds(&self, p: &Person) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = tracedesk_linkage::keys::keys(p)
            .iter()
            .map(|k| self.vault.blind(BlindKind::LinkKey, k))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Stores a person's blocking keys and returns the persons (earlier
    /// than them when `earlier_only`) that share one, opened.
    async fn candidates_of(
        &self,
        row: &PersonRow,
        earlier_only: bool,
    ) -> Result<Option<(Person, Vec<(PersonRow, Person)>)>, CaseworkError> {
        let Some(me) = self.linkage_person(row)? else {
            self.store.set_link_keys(row.id, &[]).await?;
            return Ok(None);
        };
        let blinds = self.link_blinds(&me);
        self.store.set_link_keys(row.id, &blinds).await?;
        let mut ids = self
            .store
            .link_candidates(row.id, &blinds, CANDIDATES)
            .await?;
        if earlier_only {
            ids.retain(|c| *c < row.id);
        }
        let mut out = Vec::with_capacity(ids.len());
        for other in self.store.get_persons(&ids).await? {
            if let Some(p) = self.linkage_person(&other)? {
                out.push((other, p));
            }
        }
        Ok(Some((me, out)))
    }

    /// Keeps a pair the scorer put at `decision` (nothing for distinct).
    async fn keep_pair(
        &self,
        a: &PersonRow,
        b: &PersonRow,
        score: f64,
        decision: Decision,
        found: &mut Linked,
    ) -> Result<(), CaseworkError> {
        let status = match decision {
            Decision::Same => status::SAME,
            Decision::Possible => status::OPEN,
            Decision::Distinct => return Ok(()),
        };
        let (first, second) = if a.id < b.id { (a, b) } else { (b, a) };
        let row = LinkReviewRow {
            id: Uuid::now_v7(),
            person_a: first.id,
            person_b: second.id,
            jurisdiction_a: first.jurisdiction.clone(),
            jurisdiction_b: second.jurisdiction.clone(),
            score,
            status: status.into(),
            created_at: self.now(),
            decided_by: None,
            decided_at: None,
        };
        if self.store.add_link_review(&row).await? {
            let other = if a.id == first.id {
                second.id
            } else {
                first.id
            };
            match decision {
                Decision::Same => found.same.push(other),
                _ => found.possible.push(other),
            }
        }
        Ok(())
    }

    /// Links one person: their keys stored, every candidate scored, the
    /// pairs kept. What intake runs for each person it makes.
    pub async fn link_person(&self, id: Uuid, scorer: &Scorer) -> Result<Linked, CaseworkError> {
        let Some(row) = self.store.get_person(id).await? else {
            return Err(CaseworkError::NotFound("person"));
        };
        let mut found = Linked::default();
        let Some((me, candidates)) = self.candidates_of(&row, false).await? else {
            return Ok(found);
        };
        for (other, p) in &candidates {
            found.compared += 1;
            let (d, score, _) = scorer.judge(&me, p);
            self.keep_pair(&row, other, score, d, &mut found).await?;
        }
        Ok(found)
    }

    /// Links every new person of an intake; a failure is logged, never
    /// the intake's (what was recorded stays recorded, and the job finds
    /// the pair later).
    pub(crate) async fn link_new(&self, persons: Vec<Uuid>) {
        let scorer = Scorer::default();
        for p in persons {
            if let Err(e) = self.link_person(p, &scorer).await {
                tracing::warn!(error = %e, "record linkage of a new person failed");
            }
        }
    }

    /// Weights fitted to this store (EM over the blocked pairs, u from
    /// random pairs), from at most `sample` persons; `same` and `possible`
    /// are the posterior probabilities at which pairs are linked or sent to
    /// review. Keys are stored on the way.
    pub async fn fit_linkage(
        &self,
        sample: u32,
        same: f64,
        possible: f64,
    ) -> Result<tracedesk_linkage::em::Fit, CaseworkError> {
        let mut people: Vec<Person> = Vec::new();
        let mut blocked: Vec<Comparison> = Vec::new();
        let mut after = None;
        while people.len() < sample as usize {
            let rows = self.store.persons_after(after, STEP).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            for row in &rows {
                if let Some((me, cands)) = self.candidates_of(row, true).await? {
                    blocked.extend(cands.iter().map(|(_, p)| compare(&me, p)));
                    people.push(me);
                }
            }
        }
        // Random pairs are nearly all different people: u.
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let n = people.len().max(1);
        let random: Vec<Comparison> = (0..20_000.min(n * n))
            .filter_map(|_| {
                let (i, j) = (next() as usize % n, next() as usize % n);
                (i != j).then(|| compare(&people[i], &people[j]))
            })
            .collect();
        Ok(tracedesk_linkage::em::fit(
            &blocked, &random, same, possible, None,
        ))
    }

    /// Links every person in the store, in id order, each against those
    /// before them (so each pair is scored once), recording progress every
    /// step so an interrupted run goes on where it stopped; `restart`
    /// begins again from the first person. `progress` hears of each step.
    pub async fn link_all(
        &self,
        scorer: &Scorer,
        restart: bool,
        mut progress: impl FnMut(&RunProgress),
    ) -> Result<RunProgress, CaseworkError> {
        let mut run = RunProgress::default();
        let mut after = if restart {
            None
        } else {
            self.store.link_progress(JOB).await?.flatten()
        };
        run.resumed = after.is_some();
        loop {
            let rows = self.store.persons_after(after, STEP).await?;
            let Some(last) = rows.last() else { break };
            for row in &rows {
                run.persons += 1;
                let Some((me, cands)) = self.candidates_of(row, true).await? else {
                    continue;
                };
                let mut found = Linked::default();
                for (other, p) in &cands {
                    run.compared += 1;
                    let (d, score, _) = scorer.judge(&me, p);
                    self.keep_pair(row, other, score, d, &mut found).await?;
                }
                run.same += found.same.len() as u64;
                run.possible += found.possible.len() as u64;
            }
            after = Some(last.id);
            self.store.set_link_progress(JOB, after, self.now()).await?;
            progress(&run);
        }
        self.store.set_link_progress(JOB, None, self.now()).await?;
        Ok(run)
    }

    /// Pairs found, newest first, whose two persons are both within
    /// `jurisdictions` (a pair across jurisdictions shows only to a caller
    /// over both).
    pub async fn link_reviews(
        &self,
        jurisdictions: Vec<String>,
        status: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<crate::Page<LinkReviewView>, CaseworkError> {
        if let Some(s) = status
            && !status::ALL.contains(&s)
        {
            return Err(CaseworkError::invalid(
                "status",
                "must be open, same or distinct",
            ));
        }
        let limit = crate::page_limit(limit)?;
        let rows = self
            .store
            .list_link_reviews(&LinkReviewFilter {
                status: status.map(str::to_string),
                jurisdictions,
                before: crate::parse_cursor(cursor)?,
                limit,
            })
            .await?;
        let next = (rows.len() == limit as usize)
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten();
        Ok(crate::Page {
            items: rows.iter().map(LinkReviewView::from).collect(),
            next,
        })
    }

    /// A pair's row (ids and jurisdictions: what an access check reads).
    pub async fn link_review(&self, id: Uuid) -> Result<Option<LinkReviewRow>, CaseworkError> {
        Ok(self.store.get_link_review(id).await?)
    }

    /// The two records of a pair side by side, and how each field agreed.
    pub async fn link_sides(&self, r: &LinkReviewRow) -> Result<LinkSides, CaseworkError> {
        let get = |id| async move {
            self.store
                .get_person(id)
                .await?
                .ok_or(CaseworkError::NotFound("person"))
        };
        let (a, b) = (get(r.person_a).await?, get(r.person_b).await?);
        let (va, vb) = (self.person_view(&a)?, self.person_view(&b)?);
        let c = compare(&person_of(&va), &person_of(&vb));
        let fields = [
            ("first_name", c.first),
            ("last_name", c.last),
            ("dob", c.dob),
            ("phone", c.phone),
            ("email", c.email),
            ("address", c.address),
        ]
        .into_iter()
        .map(|(field, l)| FieldAgreement {
            field,
            level: level_name(l),
        })
        .collect();
        Ok(LinkSides {
            review: r.into(),
            a: va,
            b: vb,
            fields,
            names_swapped: c.swapped,
        })
    }

    /// A reviewer's decision on an open pair (`same` or `distinct`);
    /// `Conflict` when it was decided meanwhile.
    pub async fn decide_link(&self, id: Uuid, to: &str) -> Result<LinkReviewView, CaseworkError> {
        if to != status::SAME && to != status::DISTINCT {
            return Err(CaseworkError::invalid("status", "must be same or distinct"));
        }
        let by = self.author();
        if !self
            .store
            .decide_link_review(id, status::OPEN, to, by, self.now())
            .await?
        {
            return Err(CaseworkError::Conflict(
                "this pair is not open: it was decided already".into(),
            ));
        }
        self.store
            .get_link_review(id)
            .await?
            .map(|r| LinkReviewView::from(&r))
            .ok_or(CaseworkError::NotFound("link review"))
    }
}

/// A person as a registry holds them (any field may be missing).
#[derive(Debug, Clone, Default)]
pub struct RegistryPerson {
    pub first: Option<String>,
    pub last: Option<String>,
    pub dob: Option<NaiveDate>,
    pub address: Option<String>,
}

impl Casework {
    /// Seals and inserts persons as a registry holds them (names, date of
    /// birth, address; any may be missing), without matching or records.
    /// Only the linkage benchmark uses it: everything else comes in through
    /// intake.
    pub async fn load_registry_persons(
        &self,
        people: &[RegistryPerson],
        jurisdiction: &str,
    ) -> Result<Vec<Uuid>, CaseworkError> {
        let t = tracedesk_store::schema::PERSONS.name;
        let v = &*self.vault;
        let now = self.now();
        let rows: Vec<PersonRow> = people
            .iter()
            .map(
                |RegistryPerson {
                     first,
                     last,
                     dob,
                     address,
                 }| {
                    let id = Uuid::now_v7();
                    let seal =
                        |col: &str, text: Option<&str>| crate::seal::seal_opt(v, t, col, id, text);
                    PersonRow {
                        id,
                        created_at: now,
                        updated_at: now,
                        key_version: v.current_version(),
                        first_name: seal("first_name", first.as_deref()),
                        last_name: seal("last_name", last.as_deref()),
                        dob: seal("dob", dob.map(|d| d.to_string()).as_deref()),
                        phone: None,
                        email: None,
                        address: seal("address", address.as_deref()),
                        language: None,
                        phone_bidx: None,
                        email_bidx: None,
                        name_dob_bidx: None,
                        phone_name_bidx: None,
                        jurisdiction: jurisdiction.to_string(),
                        purged_at: None,
                        age_band: None,
                    }
                },
            )
            .collect();
        for chunk in rows.chunks(1_000) {
            self.store.add_persons(chunk).await?;
        }
        Ok(rows.iter().map(|r| r.id).collect())
    }
}
