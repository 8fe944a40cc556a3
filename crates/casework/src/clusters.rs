//! Clusters and events: a named setting (a wedding, a workplace) with a
//! date range, which cases and contact records attach to, and the graph of
//! its members (ids only) with the transmission and naming edges between
//! them. The name is sealed; the graph is unscoped here, and the server
//! shows only the members the caller may see.

use crate::CaseworkError;
use crate::input::{Check, bounded_text, named, parse_date, present};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tracedesk_domain::ExposureSetting;
pub use tracedesk_store::ClusterMember;
use tracedesk_store::{ClusterRow, schema};
use tracedesk_vault::FieldContext;
use uuid::Uuid;

/// A cluster to record.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterInput {
    /// What it is called ("the Smith wedding"): kept sealed.
    #[schema(required = true)]
    pub name: Option<String>,
    #[schema(required = true, schema_with = crate::api_schema::setting)]
    pub setting: Option<String>,
    #[schema(required = true, schema_with = crate::api_schema::date)]
    pub starts: Option<String>,
    #[schema(required = true, schema_with = crate::api_schema::date)]
    pub ends: Option<String>,
    /// Whose it is; the caller's own jurisdiction when absent.
    pub jurisdiction: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ClusterView {
    pub id: Uuid,
    pub name: String,
    #[schema(schema_with = crate::api_schema::setting)]
    pub setting: String,
    pub starts: NaiveDate,
    pub ends: NaiveDate,
    pub jurisdiction: String,
    pub created_at: DateTime<Utc>,
}

/// A case or contact record to attach: exactly one of the two.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub case_id: Option<Uuid>,
    pub exposure_id: Option<Uuid>,
}

impl MemberInput {
    pub fn member(&self) -> Result<ClusterMember, CaseworkError> {
        match (self.case_id, self.exposure_id) {
            (Some(c), None) => Ok(ClusterMember::Case(c)),
            (None, Some(e)) => Ok(ClusterMember::Exposure(e)),
            _ => Err(CaseworkError::invalid(
                "case_id",
                "give a case_id or an exposure_id, not both",
            )),
        }
    }
}

/// An edge between two members: `transmission` (a contact of `from`
/// became case `to`) or `named` (case `from` named contact record `to`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MemberEdge {
    pub from: Uuid,
    pub to: Uuid,
    pub kind: &'static str,
}

/// A member with what the access check needs: its person and jurisdiction.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub member: ClusterMember,
    pub person: Uuid,
    pub jurisdiction: String,
}

impl crate::services::Cases<'_> {
    /// Records a cluster in `jurisdiction` (the caller checked it is theirs).
    pub async fn create_cluster(
        &self,
        input: &ClusterInput,
        jurisdiction: &str,
    ) -> Result<ClusterView, CaseworkError> {
        let today = self.today();
        let mut c = Check::default();
        if present(&input.name).is_none() {
            c.fail("name", "a cluster needs a name");
        }
        let name = bounded_text(&mut c, "name", &input.name, 200);
        let setting = named(
            &mut c,
            "setting",
            &input.setting,
            ExposureSetting::parse,
            Some("give the kind of setting"),
            crate::input::SETTINGS,
        );
        let mut date = |field: &str, raw: &Option<String>| match present(raw) {
            None => {
                c.fail(field, "give a date (YYYY-MM-DD)");
                None
            }
            Some(v) => c
                .take(parse_date(field, v))
                .and_then(|d| c.take(tracedesk_domain::event_date(field, d, today))),
        };
        let starts = date("starts", &input.starts);
        let ends = date("ends", &input.ends);
        if let (Some(s), Some(e)) = (starts, ends)
            && e < s
        {
            c.fail("ends", "is before `starts`");
        }
        let (name, setting, starts, ends) =
            c.finish((|| Some((name?, setting?, starts?, ends?)))())?;
        let id = Uuid::now_v7();
        let row = ClusterRow {
            id,
            jurisdiction: jurisdiction.to_string(),
            setting: setting.as_str().into(),
            starts,
            ends,
            created_at: self.now(),
            key_version: self.vault.current_version(),
            name: self
                .vault
                .seal_str(&FieldContext::new(schema::CLUSTERS.name, "name", id), &name),
        };
        self.store.insert_cluster(&row).await?;
        self.cluster_view(&row)
    }

    pub fn cluster_view(&self, c: &ClusterRow) -> Result<ClusterView, CaseworkError> {
        Ok(ClusterView {
            id: c.id,
            name: self.vault.open_string(
                &FieldContext::new(schema::CLUSTERS.name, "name", c.id),
                &c.name,
            )?,
            setting: c.setting.clone(),
            starts: c.starts,
            ends: c.ends,
            jurisdiction: c.jurisdiction.clone(),
            created_at: c.created_at,
        })
    }

    pub async fn cluster_row(&self, id: Uuid) -> Result<Option<ClusterRow>, CaseworkError> {
        Ok(self.store.get_cluster(id).await?)
    }

    /// Clusters of these jurisdictions, newest first.
    pub async fn list_clusters(
        &self,
        jurisdictions: &[String],
    ) -> Result<Vec<ClusterView>, CaseworkError> {
        self.store
            .list_clusters(jurisdictions, 500)
            .await?
            .iter()
            .map(|c| self.cluster_view(c))
            .collect()
    }

    /// A case or contact record, with its person and jurisdiction (for the
    /// caller's entitlement to it); `None` when there is none.
    pub async fn member_row(&self, m: ClusterMember) -> Result<Option<MemberRow>, CaseworkError> {
        Ok(match m {
            ClusterMember::Case(id) => self.store.get_case(id).await?.map(|c| MemberRow {
                member: m,
                person: c.person_id,
                jurisdiction: c.jurisdiction,
            }),
            ClusterMember::Exposure(id) => self.store.get_exposure(id).await?.map(|e| MemberRow {
                member: m,
                person: e.contact_person_id,
                jurisdiction: e.jurisdiction,
            }),
        })
    }

    /// Attaches a member (already checked: the caller is entitled to it).
    /// A record of a jurisdiction outside the cluster's is refused.
    pub async fn add_cluster_member(
        &self,
        cluster: &ClusterRow,
        member: &MemberRow,
    ) -> Result<(), CaseworkError> {
        if !self
            .jurisdictions()
            .within(&member.jurisdiction, &cluster.jurisdiction)
        {
            return Err(CaseworkError::invalid(
                "case_id",
                "belongs to a jurisdiction outside the cluster's",
            ));
        }
        self.store
            .add_cluster_member(cluster.id, member.member, self.now())
            .await?;
        Ok(())
    }

    /// The members of a cluster, and the edges between them: transmission
    /// (a member case's contact became a member case) and naming (a member
    /// case named a member contact record). Unscoped.
    pub async fn cluster_graph(
        &self,
        cluster: Uuid,
    ) -> Result<(Vec<MemberRow>, Vec<MemberEdge>), CaseworkError> {
        let mut rows = Vec::new();
        let mut exposures = Vec::new();
        for m in self.store.cluster_members(cluster).await? {
            if let ClusterMember::Exposure(id) = m
                && let Some(e) = self.store.get_exposure(id).await?
            {
                exposures.push(e);
            }
            if let Some(r) = self.member_row(m).await? {
                rows.push(r);
            }
        }
        let cases: std::collections::HashSet<Uuid> = rows
            .iter()
            .filter_map(|r| match r.member {
                ClusterMember::Case(id) => Some(id),
                ClusterMember::Exposure(_) => None,
            })
            .collect();
        let mut edges = Vec::new();
        for e in &exposures {
            if cases.contains(&e.case_id) {
                edges.push(MemberEdge {
                    from: e.case_id,
                    to: e.id,
                    kind: "named",
                });
            }
        }
        for &case in &cases {
            let named = self
                .store
                .list_exposures(&tracedesk_store::ExposureFilter {
                    case_id: Some(case),
                    limit: 500,
                    ..Default::default()
                })
                .await?;
            for e in named {
                if let Some(to) = e.contact_case_id
                    && cases.contains(&to)
                {
                    edges.push(MemberEdge {
                        from: case,
                        to,
                        kind: "transmission",
                    });
                }
            }
        }
        Ok((rows, edges))
    }
}
