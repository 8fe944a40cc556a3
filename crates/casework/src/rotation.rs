//! Online key rotation: re-seal every sealed column under the newest key
//! version, in small transactions, so the server keeps running and an
//! interrupted run simply continues where it stopped (rows already on the new
//! version are not selected again).

use crate::CaseworkError;
use tracedesk_store::SealedRow;
use tracedesk_store::schema::{SEALED_TABLES, SealedTable};
use tracedesk_vault::FieldContext;

/// Where a rotation run stands, reported after every batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationProgress {
    pub table: &'static str,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationReport {
    pub version: u32,
    /// True when this run finished an earlier, interrupted rotation instead of
    /// starting a new key version.
    pub resumed: bool,
    pub rows: u64,
    /// False when `max_rows` stopped the run early.
    pub complete: bool,
}

impl crate::services::Retention<'_> {
    async fn rows_below(&self, version: u32) -> Result<u64, CaseworkError> {
        let mut n = 0;
        for t in SEALED_TABLES {
            n += self.store.count_below_version(t, version).await?;
        }
        Ok(n)
    }

    /// The current key version and how many sealed rows are still under
    /// an older one (what a rotation has left to rewrap).
    pub async fn key_status(&self) -> Result<(u32, u64), CaseworkError> {
        let version = self.vault.current_version();
        Ok((version, self.rows_below(version).await?))
    }

    /// Rotates keys. If rows remain under an older version (an interrupted
    /// run), finishes that rotation; otherwise adds a new key version first.
    /// `max_rows` stops early (used to test interruption).
    pub async fn rotate_keys(
        &self,
        batch: u32,
        max_rows: Option<u64>,
        mut progress: impl FnMut(&RotationProgress),
    ) -> Result<RotationReport, CaseworkError> {
        let current = self.vault.current_version();
        let resumed = self.rows_below(current).await? > 0;
        let version = if resumed {
            current
        } else {
            self.vault.add_version()?
        };
        tracing::info!(version, resumed, "key rotation started");
        let mut rows = 0u64;
        for table in SEALED_TABLES {
            let total = self.store.count_below_version(table, version).await?;
            let mut done = 0u64;
            let mut after = None;
            progress(&RotationProgress {
                table: table.name,
                done,
                total,
            });
            loop {
                let mut limit = batch.max(1);
                if let Some(max) = max_rows {
                    let left = max.saturating_sub(rows);
                    if left == 0 {
                        return Ok(RotationReport {
                            version,
                            resumed,
                            rows,
                            complete: false,
                        });
                    }
                    limit = limit.min(u32::try_from(left).unwrap_or(u32::MAX));
                }
                let found = self
                    .store
                    .sealed_batch(table, version, after, limit)
                    .await?;
                let Some(last) = found.last() else { break };
                after = Some(last.id);
                let resealed = self.reseal_rows(table, &found)?;
                self.store.write_sealed(table, &resealed, version).await?;
                done += found.len() as u64;
                rows += found.len() as u64;
                progress(&RotationProgress {
                    table: table.name,
                    done,
                    total: total.max(done),
                });
            }
        }
        tracing::info!(version, rows, "key rotation complete");
        Ok(RotationReport {
            version,
            resumed,
            rows,
            complete: true,
        })
    }

    fn reseal_rows(
        &self,
        table: &'static SealedTable,
        rows: &[SealedRow],
    ) -> Result<Vec<SealedRow>, CaseworkError> {
        rows.iter()
            .map(|r| {
                let values = table
                    .columns
                    .iter()
                    .zip(&r.values)
                    .map(|(col, v)| {
                        // Purged values are empty: nothing to re-seal.
                        v.as_ref()
                            .filter(|s| !s.is_empty())
                            .map(|s| {
                                self.vault
                                    .reseal(&FieldContext::new(table.sealed_as, col, r.id), s)
                            })
                            .transpose()
                            .map(|r| r.or_else(|| v.clone()))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(SealedRow { id: r.id, values })
            })
            .collect()
    }
}
