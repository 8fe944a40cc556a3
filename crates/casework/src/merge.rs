//! Merging two records of one person, and undoing it.
//!
//! A pair record linkage found (or a reviewer decided) to be one person is
//! merged: the later record's cases, lab results, contact records, tasks,
//! entries, messages, monitoring, identity points and facets move to the
//! earlier one, which survives. The merged record stays, sealed as it was
//! and marked, so its phone or name still finds the survivor and an
//! unmerge can put every moved row back. A merge never crosses a
//! jurisdiction: the store refuses it, so no jurisdiction is shown
//! another's record by a match.

use crate::CaseworkError;
use tracedesk_linkage::Scorer;
use tracedesk_store::{
    LinkReviewRow, MergeRefusal, PersonMergeFilter, PersonMergeRow, UnmergeRefusal,
};
use uuid::Uuid;

use crate::linkage::status;

/// A merge as a data manager sees it: ids, jurisdiction, who and when.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct MergeView {
    pub id: Uuid,
    /// The record that stays (the earlier one).
    pub survivor_id: Uuid,
    /// The record merged into it.
    pub merged_id: Uuid,
    pub jurisdiction: String,
    /// The pair it was decided on.
    pub review_id: Option<Uuid>,
    /// Who merged (none: a job).
    pub merged_by: Option<Uuid>,
    pub merged_at: chrono::DateTime<chrono::Utc>,
    /// How many rows moved to the survivor.
    pub moved: u64,
    pub unmerged_by: Option<Uuid>,
    pub unmerged_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<&PersonMergeRow> for MergeView {
    fn from(r: &PersonMergeRow) -> Self {
        Self {
            id: r.id,
            survivor_id: r.survivor_id,
            merged_id: r.merged_id,
            jurisdiction: r.jurisdiction.clone(),
            review_id: r.review_id,
            merged_by: r.merged_by,
            merged_at: r.merged_at,
            moved: r.moved,
            unmerged_by: r.unmerged_by,
            unmerged_at: r.unmerged_at,
        }
    }
}

fn refused(r: MergeRefusal) -> CaseworkError {
    CaseworkError::Conflict(
        match r {
            MergeRefusal::Unknown => "one of the two records is unknown",
            MergeRefusal::Same => "the two are one record already",
            MergeRefusal::AlreadyMerged => "one of the two records has been merged already",
            MergeRefusal::Purged => "one of the two records was purged by retention",
            MergeRefusal::AcrossJurisdictions => {
                "the two records belong to different jurisdictions, which a merge never joins"
            }
            MergeRefusal::ContactOfTheOther => {
                "one record was named as a contact of the other's case: a person is never their own contact"
            }
            MergeRefusal::FacetsMeet => {
                "both records have a record in one other jurisdiction; that jurisdiction's two records must be resolved there first"
            }
        }
        .into(),
    )
}

fn unrefused(r: UnmergeRefusal) -> CaseworkError {
    match r {
        UnmergeRefusal::Unknown => CaseworkError::NotFound("merge"),
        UnmergeRefusal::Undone => CaseworkError::Conflict("this merge was undone already".into()),
        UnmergeRefusal::SurvivorMerged => CaseworkError::Conflict(
            "the surviving record has since been merged into another: undo that merge first".into(),
        ),
        UnmergeRefusal::Purged => {
            CaseworkError::Conflict("one of the two records was purged by retention".into())
        }
    }
}

impl crate::services::Cases<'_> {
    /// The record a merged record now lives on (itself if not merged).
    async fn current(&self, id: Uuid) -> Result<Uuid, CaseworkError> {
        match self.store.get_person(id).await? {
            Some(p) => Ok(p.merged_into.unwrap_or(id)),
            None => Err(CaseworkError::NotFound("person")),
        }
    }

    /// Merges a pair's two records: the later into the earlier. An open
    /// pair is decided `same` by the merge; a `distinct` one is refused.
    /// Records merged before are followed to where they live now.
    pub async fn merge_pair(&self, review: &LinkReviewRow) -> Result<MergeView, CaseworkError> {
        if review.status == status::DISTINCT {
            return Err(CaseworkError::Conflict(
                "this pair was decided to be two people".into(),
            ));
        }
        let (a, b) = (
            self.current(review.person_a).await?,
            self.current(review.person_b).await?,
        );
        let (survivor, merged) = if a <= b { (a, b) } else { (b, a) };
        let row = PersonMergeRow {
            id: Uuid::now_v7(),
            survivor_id: survivor,
            merged_id: merged,
            jurisdiction: review.jurisdiction_a.clone(),
            review_id: Some(review.id),
            merged_by: self.author(),
            merged_at: self.now(),
            moved: 0,
            unmerged_by: None,
            unmerged_at: None,
        };
        let moved = self.store.merge_persons(&row).await?.map_err(refused)?;
        if review.status == status::OPEN {
            // Decided by the merge; a decision made meanwhile stands.
            self.store
                .decide_link_review(
                    review.id,
                    status::OPEN,
                    status::SAME,
                    self.author(),
                    row.merged_at,
                )
                .await?;
        }
        tracing::info!(merge = %row.id, moved, "records merged");
        Ok(MergeView::from(&PersonMergeRow { moved, ..row }))
    }

    /// Undoes a merge: every row it moved, and every row made since on a
    /// moved case or contact record, goes back to the merged record, which
    /// gets its blocking keys again and is linked anew. The pair it was
    /// decided on becomes `distinct`, so no job merges it again.
    pub async fn unmerge(&self, id: Uuid) -> Result<MergeView, CaseworkError> {
        let at = self.now();
        let back = self
            .store
            .unmerge_persons(id, self.author(), at)
            .await?
            .map_err(unrefused)?;
        let row = self
            .store
            .get_person_merge(id)
            .await?
            .ok_or(CaseworkError::NotFound("merge"))?;
        if let Some(r) = row.review_id {
            for from in [status::SAME, status::OPEN] {
                self.store
                    .decide_link_review(r, from, status::DISTINCT, self.author(), at)
                    .await?;
            }
        }
        tracing::info!(merge = %id, moved_back = back, "merge undone");
        if let Err(e) = self.link_person(row.merged_id, &Scorer::default()).await {
            tracing::warn!(error = %e, "record linkage after an unmerge failed");
        }
        Ok(MergeView::from(&row))
    }

    /// A merge's row (what an access check reads).
    pub async fn person_merge(&self, id: Uuid) -> Result<Option<PersonMergeRow>, CaseworkError> {
        Ok(self.store.get_person_merge(id).await?)
    }

    /// Merges of `jurisdictions`, newest first, optionally of one person.
    pub async fn person_merges(
        &self,
        jurisdictions: Vec<String>,
        person: Option<Uuid>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<crate::Page<MergeView>, CaseworkError> {
        let limit = crate::page_limit(limit)?;
        let rows = self
            .store
            .list_person_merges(&PersonMergeFilter {
                jurisdictions,
                person,
                before: crate::parse_cursor(cursor)?,
                limit,
            })
            .await?;
        crate::intake::page(&rows, limit, |r| r.id, |r| Ok(MergeView::from(r)))
    }

    /// Merges one pair the matcher linked, as the job (actor `linkage`):
    /// each person's disclosure record holds the merge before it. `false`
    /// when the store refused it (left for a reviewer).
    pub(crate) async fn merge_linked_pair(&self, r: &LinkReviewRow) -> Result<bool, CaseworkError> {
        if r.jurisdiction_a != r.jurisdiction_b {
            return Ok(false);
        }
        if let Some(a) = &self.auditor {
            let entry = |p: Uuid| {
                crate::auditor::draft(
                    "linkage",
                    tracedesk_store::audit::Action::PhiWrite,
                    "person",
                    Some(p),
                    Some(p),
                    "linkage merge: merging the matcher's same-person pair",
                )
            };
            a.record(vec![entry(r.person_a), entry(r.person_b)])
                .await
                .map_err(|e| CaseworkError::Internal(e.to_string()))?;
        }
        match self.merge_pair(r).await {
            Ok(_) => Ok(true),
            Err(CaseworkError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Merges the pairs the matcher linked (`same`, not yet merged) whose
    /// two records are in one of `jurisdictions`, newest first: what
    /// `tracedesk linkage merge` runs. A pair the store refuses (across
    /// jurisdictions, facets meeting) is counted and left for a reviewer.
    pub async fn merge_linked(
        &self,
        jurisdictions: Vec<String>,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(u64, u64), CaseworkError> {
        let (mut merged, mut refused) = (0u64, 0u64);
        let mut before = None;
        loop {
            let rows = self
                .store
                .list_link_reviews(&tracedesk_store::LinkReviewFilter {
                    status: Some(status::SAME.into()),
                    jurisdictions: jurisdictions.clone(),
                    before,
                    limit: 500,
                })
                .await?;
            let Some(last) = rows.last() else { break };
            before = Some(last.id);
            for r in &rows {
                if self.current(r.person_a).await? == self.current(r.person_b).await? {
                    continue;
                }
                match self.merge_linked_pair(r).await? {
                    true => merged += 1,
                    false => refused += 1,
                }
            }
            progress(merged, refused);
        }
        Ok((merged, refused))
    }
}
