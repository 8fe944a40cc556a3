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
pub const CANDIDATES: u32 = 50;
/// The posterior probability of a match at which fitted weights send a
/// pair to review: below it, a pair is taken for two people.
pub const REVIEW: f64 = 0.999;
/// The whole-store job's name in `link_progress`.
pub const JOB: &str = "linkage";
/// The share of true matches a strict rule (names and birth date exact or
/// nearly) is taken to find, to estimate how many matches there are.
const STRICT_RECALL: f64 = 0.6;
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
    /// The new same-person pairs, as kept.
    pub same_pairs: Vec<LinkReviewRow>,
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

/// Persons waiting to be linked, and whether a worker is on them.
#[derive(Default)]
pub struct Queue {
    state: std::sync::Mutex<QueueState>,
    idle: tokio::sync::Notify,
}

#[derive(Default)]
struct QueueState {
    pending: Vec<Uuid>,
    running: bool,
}

/// A person opened for comparison: what a pair needs of them.
#[derive(Clone)]
struct Opened {
    id: Uuid,
    jurisdiction: String,
    person: Person,
}

/// What a walk over many pages (the job, the fit) keeps between pages, so
/// each person is opened once a walk and keys written once an invocation.
#[derive(Default)]
struct Walk {
    /// Persons opened so far; cleared when it reaches [`WALK_CACHE`].
    opened: std::collections::HashMap<Uuid, Opened>,
    /// Every person's keys are stored already (an earlier walk of this
    /// invocation wrote them).
    keys_stored: bool,
    /// Each person's earlier candidates as an earlier walk found them, so
    /// a walk after it (the run after the fit) need not ask the store.
    earlier: std::collections::HashMap<Uuid, Vec<Uuid>>,
}

/// The most opened persons a walk keeps in memory.
const WALK_CACHE: usize = 200_000;

impl Walk {
    fn keep(&mut self, o: &Opened) {
        if self.opened.len() >= WALK_CACHE {
            self.opened.clear();
            self.earlier.clear();
        }
        self.opened.insert(o.id, o.clone());
    }

    /// A page's block from what an earlier walk kept, when it kept all of
    /// it (every person opened, with their earlier candidates, and the
    /// keys stored).
    fn cached(&self, rows: &[PersonRow]) -> Option<Block> {
        if !self.keys_stored {
            return None;
        }
        let mut block = Block::default();
        let mut mine: Vec<(usize, &Vec<Uuid>)> = Vec::with_capacity(rows.len());
        for row in rows {
            if row.purged_at.is_some() || row.merged_into.is_some() {
                continue;
            }
            let (o, cands) = (self.opened.get(&row.id)?, self.earlier.get(&row.id)?);
            block.index.insert(row.id, block.pool.len());
            mine.push((block.pool.len(), cands));
            block.pool.push(o.clone());
        }
        for (me, cands) in mine {
            let mut idx = Vec::with_capacity(cands.len());
            for c in cands {
                let i = match block.index.get(c) {
                    Some(i) => *i,
                    None => {
                        block.index.insert(*c, block.pool.len());
                        block.pool.push(self.opened.get(c)?.clone());
                        block.pool.len() - 1
                    }
                };
                idx.push(i);
            }
            block.pairs.push((me, idx));
        }
        Some(block)
    }
}

/// A page of persons and the candidates each shares a key with, opened
/// once each.
#[derive(Default)]
struct Block {
    pool: Vec<Opened>,
    index: std::collections::HashMap<Uuid, usize>,
    /// (a person of the page, the candidates), as indexes into `pool`.
    pairs: Vec<(usize, Vec<usize>)>,
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
    /// The record linkage compares, opened; `None` for a purged person or
    /// a record merged into another.
    fn linkage_person(&self, row: &PersonRow) -> Result<Option<Person>, CaseworkError> {
        if row.purged_at.is_some() || row.merged_into.is_some() {
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

    /// Stores the blocking keys of `rows` (one transaction) and finds, for
    /// each, the persons sharing a key with them (earlier than them when
    /// `earlier_only`), opened: a handful of statements a page, whatever
    /// its size. A key more than [`CANDIDATES`] persons share is passed
    /// over: it says little on its own.
    async fn block(
        &self,
        rows: &[PersonRow],
        earlier_only: bool,
        walk: &mut Walk,
    ) -> Result<Block, CaseworkError> {
        if earlier_only && let Some(block) = walk.cached(rows) {
            return Ok(block);
        }
        let mut block = Block::default();
        let mut keys: Vec<(Uuid, Vec<Vec<u8>>)> = Vec::with_capacity(rows.len());
        let mut mine: Vec<(usize, Vec<Vec<u8>>)> = Vec::new();
        for row in rows {
            match self.linkage_person(row)? {
                Some(p) => {
                    let blinds = self.link_blinds(&p);
                    keys.push((row.id, blinds.clone()));
                    block.index.insert(row.id, block.pool.len());
                    mine.push((block.pool.len(), blinds));
                    let o = Opened {
                        id: row.id,
                        jurisdiction: row.jurisdiction.clone(),
                        person: p,
                    };
                    walk.keep(&o);
                    block.pool.push(o);
                }
                // A purged or merged person keeps no keys and is compared
                // with no one.
                None => keys.push((row.id, Vec::new())),
            }
        }
        if !walk.keys_stored {
            self.store.set_link_keys(&keys).await?;
        }
        let mut wanted: Vec<Vec<u8>> = mine.iter().flat_map(|(_, b)| b.iter().cloned()).collect();
        wanted.sort();
        wanted.dedup();
        let mut holders: std::collections::HashMap<Vec<u8>, Vec<Uuid>> =
            std::collections::HashMap::new();
        for (k, p) in self.store.link_key_holders(&wanted).await? {
            holders.entry(k).or_default().push(p);
        }
        let mut found: Vec<(usize, Vec<Uuid>)> = Vec::with_capacity(mine.len());
        let mut missing: Vec<Uuid> = Vec::new();
        for (me, blinds) in mine {
            let id = block.pool[me].id;
            let mut cands: Vec<Uuid> = blinds
                .iter()
                .filter_map(|k| holders.get(k))
                .filter(|h| h.len() <= CANDIDATES as usize)
                .flatten()
                .copied()
                .filter(|c| *c != id && (!earlier_only || *c < id))
                .collect();
            cands.sort();
            cands.dedup();
            missing.extend(cands.iter().filter(|c| !block.index.contains_key(c)));
            found.push((me, cands));
        }
        missing.sort();
        missing.dedup();
        missing.retain(|c| match walk.opened.get(c) {
            Some(o) => {
                block.index.insert(*c, block.pool.len());
                block.pool.push(o.clone());
                false
            }
            None => true,
        });
        for chunk in missing.chunks(1_000) {
            for row in self.store.get_persons(chunk).await? {
                if let Some(p) = self.linkage_person(&row)? {
                    let o = Opened {
                        id: row.id,
                        jurisdiction: row.jurisdiction.clone(),
                        person: p,
                    };
                    walk.keep(&o);
                    block.index.insert(row.id, block.pool.len());
                    block.pool.push(o);
                }
            }
        }
        block.pairs = found
            .into_iter()
            .map(|(me, cands)| {
                let idx = cands
                    .iter()
                    .filter_map(|c| block.index.get(c).copied())
                    .collect();
                (me, idx)
            })
            .collect();
        if earlier_only {
            for (me, idx) in &block.pairs {
                let ids = idx.iter().map(|i| block.pool[*i].id).collect();
                walk.earlier.insert(block.pool[*me].id, ids);
            }
        }
        Ok(block)
    }

    /// Scores a block's pairs and keeps those the scorer puts at same or
    /// possible (one transaction), adding the new ones to `found`.
    async fn keep_pairs(
        &self,
        block: &Block,
        scorer: &Scorer,
        found: &mut Linked,
    ) -> Result<(), CaseworkError> {
        let now = self.now();
        let mut rows: Vec<(LinkReviewRow, Decision, Uuid)> = Vec::new();
        for (me, cands) in &block.pairs {
            let mine = &block.pool[*me];
            for c in cands {
                let other = &block.pool[*c];
                found.compared += 1;
                let (d, score, _) = scorer.judge(&mine.person, &other.person);
                let status = match d {
                    Decision::Same => status::SAME,
                    Decision::Possible => status::OPEN,
                    Decision::Distinct => continue,
                };
                let (a, b) = if mine.id < other.id {
                    (mine, other)
                } else {
                    (other, mine)
                };
                rows.push((
                    LinkReviewRow {
                        id: Uuid::now_v7(),
                        person_a: a.id,
                        person_b: b.id,
                        jurisdiction_a: a.jurisdiction.clone(),
                        jurisdiction_b: b.jurisdiction.clone(),
                        score,
                        status: status.into(),
                        created_at: now,
                        decided_by: None,
                        decided_at: None,
                    },
                    d,
                    other.id,
                ));
            }
        }
        // One row a pair, even when both of it were in the block.
        rows.sort_by_key(|(r, _, _)| (r.person_a, r.person_b));
        rows.dedup_by_key(|(r, _, _)| (r.person_a, r.person_b));
        let only: Vec<LinkReviewRow> = rows.iter().map(|(r, _, _)| r.clone()).collect();
        let added = self.store.add_link_reviews(&only).await?;
        for ((row, d, other), new) in rows.iter().zip(added) {
            if new {
                match d {
                    Decision::Same => {
                        found.same.push(*other);
                        found.same_pairs.push(row.clone());
                    }
                    _ => found.possible.push(*other),
                }
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
        let block = self
            .block(std::slice::from_ref(&row), false, &mut Walk::default())
            .await?;
        self.keep_pairs(&block, scorer, &mut found).await?;
        Ok(found)
    }

    /// Queues the new persons of an intake to be linked by a worker in
    /// the background, so intake never waits on linkage: a page of them at
    /// a time (their keys in one transaction). A failure is logged, never
    /// the intake's; persons left unlinked (a failure, a stop) are found by
    /// `tracedesk linkage run`.
    pub(crate) async fn link_new(&self, persons: Vec<Uuid>) {
        if persons.is_empty() {
            return;
        }
        let q = &self.linker;
        let start = {
            let Ok(mut s) = q.state.lock() else { return };
            s.pending.extend(persons);
            !std::mem::replace(&mut s.running, true)
        };
        if start {
            let cw = Casework::clone(self);
            tokio::spawn(async move { cw.cases().link_queued().await });
        }
    }

    /// The worker: pages of queued persons until none are left.
    async fn link_queued(&self) {
        let q = &self.linker;
        // Candidates opened for one page serve the next (until the walk's
        // cache is full): a burst of intake shares its candidates.
        let mut walk = Walk::default();
        loop {
            let page: Vec<Uuid> = {
                let Ok(mut s) = q.state.lock() else { return };
                if s.pending.is_empty() {
                    s.running = false;
                    q.idle.notify_waiters();
                    return;
                }
                let n = s.pending.len().min(STEP as usize);
                s.pending.drain(..n).collect()
            };
            let run = async {
                let rows = self.store.get_persons(&page).await?;
                let block = self.block(&rows, false, &mut walk).await?;
                let mut found = Linked::default();
                self.keep_pairs(&block, &Scorer::default(), &mut found)
                    .await?;
                if self.settings.merge_links {
                    for r in &found.same_pairs {
                        self.merge_linked_pair(r).await?;
                    }
                }
                Ok::<_, CaseworkError>(())
            };
            if let Err(e) = run.await {
                tracing::warn!(error = %e, persons = page.len(), "record linkage of new persons failed");
            }
        }
    }

    /// Waits until every person queued so far has been linked (tests, and
    /// a command about to exit).
    pub async fn linkage_settled(&self) {
        loop {
            let idle = self.linker.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            let busy = self
                .linker
                .state
                .lock()
                .map(|s| s.running || !s.pending.is_empty())
                .unwrap_or(false);
            if !busy {
                return;
            }
            idle.await;
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
        self.fit_walk(sample, same, possible, &mut Walk::default())
            .await
    }

    /// [`Self::fit_linkage`], then [`Self::link_all`] with the weights
    /// fitted, in one walk's memory: each person opened once, and their
    /// keys written once when the fit went over the whole store. What
    /// `tracedesk linkage run --fit` runs.
    pub async fn fit_and_link_all(
        &self,
        sample: u32,
        same: f64,
        possible: f64,
        restart: bool,
        progress: impl FnMut(&RunProgress),
    ) -> Result<(tracedesk_linkage::em::Fit, RunProgress), CaseworkError> {
        let mut walk = Walk::default();
        let fit = self.fit_walk(sample, same, possible, &mut walk).await?;
        let run = self
            .link_walk(&fit.scorer, restart, &mut walk, progress)
            .await?;
        Ok((fit, run))
    }

    async fn fit_walk(
        &self,
        sample: u32,
        same: f64,
        possible: f64,
        walk: &mut Walk,
    ) -> Result<tracedesk_linkage::em::Fit, CaseworkError> {
        let mut people: Vec<Person> = Vec::new();
        let mut blocked: Vec<Comparison> = Vec::new();
        let mut after = None;
        loop {
            if people.len() >= sample as usize {
                break;
            }
            let rows = self.store.persons_after(after, STEP).await?;
            let Some(last) = rows.last() else {
                // Gone over the whole store: every person's keys are in.
                walk.keys_stored = true;
                break;
            };
            after = Some(last.id);
            let block = self.block(&rows, true, walk).await?;
            for (me, cands) in &block.pairs {
                let p = &block.pool[*me].person;
                blocked.extend(cands.iter().map(|c| compare(p, &block.pool[*c].person)));
                people.push(p.clone());
            }
        }
        // Random pairs are nearly all different people: u.
        let n = people.len();
        let random: Vec<Comparison> = tracedesk_linkage::em::random_pairs(n, n, 20_000.min(n * n))
            .into_iter()
            .filter(|(i, j)| i != j)
            .map(|(i, j)| compare(&people[i], &people[j]))
            .collect();
        // EM left to estimate the share of matches among blocked pairs
        // drifts towards "everything matches"; it is held instead, at an
        // estimate made as Splink makes one: the pairs agreeing on a strict
        // rule (names and birth date exact or nearly), taken to be 60% of
        // the matches.
        use tracedesk_linkage::compare::Level;
        let strict = blocked
            .iter()
            .filter(|c| c.first <= Level::Alias && c.last <= Level::Alias && c.dob <= Level::Alias)
            .count();
        let prior = (strict as f64 / STRICT_RECALL / blocked.len().max(1) as f64).clamp(1e-4, 0.5);
        Ok(tracedesk_linkage::em::fit(
            &blocked,
            &random,
            same,
            possible,
            Some(prior),
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
        progress: impl FnMut(&RunProgress),
    ) -> Result<RunProgress, CaseworkError> {
        self.link_walk(scorer, restart, &mut Walk::default(), progress)
            .await
    }

    async fn link_walk(
        &self,
        scorer: &Scorer,
        restart: bool,
        walk: &mut Walk,
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
            let block = self.block(&rows, true, walk).await?;
            let mut found = Linked::default();
            self.keep_pairs(&block, scorer, &mut found).await?;
            run.persons += rows.len() as u64;
            run.compared += found.compared as u64;
            run.same += found.same.len() as u64;
            run.possible += found.possible.len() as u64;
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
        crate::intake::page(&rows, limit, |r| r.id, |r| Ok(LinkReviewView::from(r)))
    }

    /// The name on a record as it was recorded (a merged record's own, not
    /// its survivor's), for a data manager's lists; empty when purged.
    pub async fn record_name(&self, id: Uuid) -> Result<String, CaseworkError> {
        match self.store.get_person(id).await? {
            Some(p) => Ok(self.person_view(&p)?.full_name()),
            None => Err(CaseworkError::NotFound("person")),
        }
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
                        merged_into: None,
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
