//! Streaming verification: entries are fed in sequence order, so a log of
//! millions is checked in constant memory.
//!
//! What it proves: every entry hashes to what is stored and is chained to
//! its predecessor; every checkpoint is signed by the server's key and
//! linked to the one before it (a deleted checkpoint breaks the next
//! link); every signed head matches the entry it covers (a rewritten and
//! re-chained stretch no longer does); no stretch of entries went longer
//! without a checkpoint than the signing interval allows (checkpoints
//! deleted from the end); and, given an anchor kept outside the database,
//! that the log is neither shorter than nor different from what was
//! anchored (a truncated log).

use crate::signing::signed_by;
use crate::{Checkpoint, Entry, GENESIS, entry_hash};
use chrono::{DateTime, Duration, Utc};

/// The first thing found wrong, with the entry it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit log broken at entry {seq}: {reason}")]
pub struct Broken {
    pub seq: i64,
    pub reason: String,
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub entries: u64,
    pub last_seq: i64,
    pub last_hash: [u8; 32],
    pub checkpoints: usize,
    pub last_checkpoint_seq: Option<i64>,
    /// Entries after the last signed checkpoint: protected by the chain only
    /// until the next checkpoint is written.
    pub unsigned_tail: i64,
    /// Checkpoints a process signed for entries older than itself (after a
    /// crash left them unsigned).
    pub late_checkpoints: usize,
    /// Checkpoints also found in the anchor.
    pub anchored: usize,
}

/// How long entries may go without a signed checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From the first entry after a checkpoint to the next checkpoint (or,
    /// at the end of the log, to the last entry). The server signs every
    /// 10 s and each command at its end; the default leaves a wide margin
    /// for a slow database.
    pub max_gap: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_gap: Duration::seconds(120),
        }
    }
}

pub struct Verifier {
    public: [u8; 32],
    checkpoints: Vec<Checkpoint>,
    limits: Limits,
    anchored: usize,
    next_cp: usize,
    last_cp_seq: i64,
    /// Sequence number and time of the first entry since the last checkpoint.
    open_since: Option<(i64, DateTime<Utc>)>,
    last_at: Option<DateTime<Utc>>,
    expect: i64,
    prev: [u8; 32],
    entries: u64,
}

fn broken(seq: i64, reason: impl Into<String>) -> Broken {
    Broken {
        seq,
        reason: reason.into(),
    }
}

impl Verifier {
    /// Checks every checkpoint's signature against `public`, and the links
    /// between them, up front.
    pub fn new(public: [u8; 32], mut checkpoints: Vec<Checkpoint>) -> Result<Self, Broken> {
        checkpoints.sort_by_key(|c| c.seq);
        let mut prev: Option<&Checkpoint> = None;
        for cp in &checkpoints {
            if cp.public_key != public || !signed_by(cp, &public) {
                return Err(broken(
                    cp.seq,
                    "the checkpoint for this entry is not signed by this server's audit key",
                ));
            }
            match (&cp.link, prev) {
                (Some(l), p) => {
                    let expected = p.map_or(GENESIS, Checkpoint::digest);
                    if l.prev != expected {
                        return Err(broken(
                            cp.seq,
                            format!(
                                "the signed checkpoint for this entry does not follow the one \
                                 before it (entry {}): a checkpoint between them was deleted",
                                p.map_or(0, |p| p.seq)
                            ),
                        ));
                    }
                }
                (None, Some(p)) if p.link.is_some() => {
                    return Err(broken(
                        cp.seq,
                        "an unlinked checkpoint stands after linked ones",
                    ));
                }
                (None, _) => {}
            }
            prev = Some(cp);
        }
        Ok(Self {
            public,
            checkpoints,
            limits: Limits::default(),
            anchored: 0,
            next_cp: 0,
            last_cp_seq: 0,
            open_since: None,
            last_at: None,
            expect: 1,
            prev: GENESIS,
            entries: 0,
        })
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Holds the log to checkpoints anchored outside the database: each
    /// must be signed, and stand in the database exactly as anchored. One
    /// missing there means checkpoints (and usually entries) were deleted.
    pub fn with_anchor(mut self, anchored: &[Checkpoint]) -> Result<Self, Broken> {
        for a in anchored {
            if a.public_key != self.public || !signed_by(a, &self.public) {
                return Err(broken(
                    a.seq,
                    "the anchor's checkpoint for this entry is not signed by this server's audit key",
                ));
            }
            match self.checkpoints.binary_search_by_key(&a.seq, |c| c.seq) {
                Ok(i) if self.checkpoints[i] == *a => self.anchored += 1,
                Ok(_) => {
                    return Err(broken(
                        a.seq,
                        "the database's signed checkpoint for this entry differs from the anchor's",
                    ));
                }
                Err(_) => {
                    let last = self.checkpoints.last().map_or(0, |c| c.seq);
                    return Err(broken(
                        a.seq,
                        if a.seq > last {
                            format!(
                                "log truncated: the anchor holds a signed checkpoint for this entry \
                                 but the database's last checkpoint covers entry {last}"
                            )
                        } else {
                            "the anchor's signed checkpoint for this entry is missing from the \
                             database (deleted)"
                                .to_string()
                        },
                    ));
                }
            }
        }
        Ok(self)
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    fn too_long(&self, from: (i64, DateTime<Utc>), until: DateTime<Utc>) -> bool {
        until - from.1 > self.limits.max_gap
    }

    pub fn feed(&mut self, e: &Entry) -> Result<(), Broken> {
        if e.seq > self.expect {
            return Err(broken(
                self.expect,
                format!(
                    "entry is missing (deleted): the log goes from entry {} to entry {}",
                    self.expect - 1,
                    e.seq
                ),
            ));
        }
        if e.seq < self.expect {
            return Err(broken(e.seq, "entry is out of order or duplicated"));
        }
        if entry_hash(&e.prev_hash, e.seq, &e.draft) != e.hash {
            return Err(broken(
                e.seq,
                "entry's contents do not match its hash (modified)",
            ));
        }
        if e.prev_hash != self.prev {
            // This entry was chained to a different predecessor than the one
            // now stored: the predecessor changed after this entry was written.
            let seq = e.seq - 1;
            return Err(broken(
                seq.max(1),
                if seq == 0 {
                    "the first entry is not chained to the start of the log".into()
                } else {
                    format!(
                        "entry was changed after entry {} was chained to it (hash recomputed)",
                        e.seq
                    )
                },
            ));
        }
        let since = *self.open_since.get_or_insert((e.seq, e.draft.at));
        while let Some(cp) = self.checkpoints.get(self.next_cp) {
            if cp.seq != e.seq {
                break;
            }
            if cp.head != e.hash {
                return Err(broken(
                    e.seq,
                    format!(
                        "does not match the signed checkpoint for it: an entry from {} to {} was \
                         rewritten and the chain recomputed",
                        self.last_cp_seq + 1,
                        e.seq
                    ),
                ));
            }
            if cp.link.is_some_and(|l| !l.late) && self.too_long(since, cp.at) {
                return Err(broken(
                    since.0,
                    format!(
                        "entries {} to {} went {} s before a signed checkpoint, longer than the \
                         signing interval allows: a checkpoint was deleted, or a server ran \
                         without signing",
                        since.0,
                        e.seq,
                        (cp.at - since.1).num_seconds()
                    ),
                ));
            }
            self.last_cp_seq = cp.seq;
            self.next_cp += 1;
            self.open_since = None;
        }
        self.prev = e.hash;
        self.last_at = Some(e.draft.at);
        self.expect = e.seq + 1;
        self.entries += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<Summary, Broken> {
        let last_seq = self.expect - 1;
        if let Some(cp) = self.checkpoints.last()
            && cp.seq > last_seq
        {
            return Err(broken(
                last_seq + 1,
                format!(
                    "log truncated: a signed checkpoint covers entry {} but the log ends at entry {}",
                    cp.seq, last_seq
                ),
            ));
        }
        if let (Some(since), Some(last)) = (self.open_since, self.last_at)
            && self.too_long(since, last)
        {
            return Err(broken(
                since.0,
                format!(
                    "entries {} to {} (the end of the log) span {} s with no signed checkpoint, \
                     longer than the signing interval allows: checkpoints after entry {} were \
                     deleted",
                    since.0,
                    last_seq,
                    (last - since.1).num_seconds(),
                    self.last_cp_seq
                ),
            ));
        }
        Ok(Summary {
            entries: self.entries,
            last_seq,
            last_hash: self.prev,
            checkpoints: self.checkpoints.len(),
            last_checkpoint_seq: (self.last_cp_seq > 0).then_some(self.last_cp_seq),
            unsigned_tail: last_seq - self.last_cp_seq,
            late_checkpoints: self
                .checkpoints
                .iter()
                .filter(|c| c.link.is_some_and(|l| l.late))
                .count(),
            anchored: self.anchored,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::draft;
    use crate::{AuditKey, link};

    fn log(n: u32) -> Vec<Entry> {
        link(0, GENESIS, &(1..=n).map(draft).collect::<Vec<_>>())
    }

    fn verify(key: &AuditKey, entries: &[Entry], cps: Vec<Checkpoint>) -> Result<Summary, Broken> {
        let mut v = Verifier::new(key.public(), cps)?;
        for e in entries {
            v.feed(e)?;
        }
        v.finish()
    }

    /// Linked checkpoints at `at` (1-based entry numbers).
    fn signed(key: &AuditKey, entries: &[Entry], at: &[usize]) -> Vec<Checkpoint> {
        let mut prev = GENESIS;
        at.iter()
            .map(|&s| {
                let cp = key.checkpoint(
                    s as i64,
                    entries[s - 1].hash,
                    entries[s - 1].draft.at,
                    crate::Link { prev, late: false },
                );
                prev = cp.digest();
                cp
            })
            .collect()
    }

    fn setup() -> (AuditKey, Vec<Entry>, Vec<Checkpoint>) {
        let key = AuditKey::generate();
        let entries = log(10);
        let cps = signed(&key, &entries, &[5, 10]);
        (key, entries, cps)
    }

    #[test]
    fn untouched_log_passes() {
        let (key, entries, cps) = setup();
        let s = verify(&key, &entries, cps).unwrap();
        assert_eq!(s.entries, 10);
        assert_eq!(s.last_checkpoint_seq, Some(10));
        assert_eq!(s.unsigned_tail, 0);
    }

    #[test]
    fn modified_entry_is_named() {
        let (key, mut entries, cps) = setup();
        entries[3].draft.detail = "changed".into();
        assert_eq!(verify(&key, &entries, cps).unwrap_err().seq, 4);
    }

    #[test]
    fn deleted_entry_is_named() {
        let (key, mut entries, cps) = setup();
        entries.remove(6);
        assert_eq!(verify(&key, &entries, cps).unwrap_err().seq, 7);
    }

    #[test]
    fn swapped_entries_are_caught() {
        let (key, mut entries, cps) = setup();
        entries.swap(2, 3);
        let (a, b) = (entries[2].seq, entries[3].seq);
        entries[2].seq = b;
        entries[3].seq = a;
        assert_eq!(verify(&key, &entries, cps).unwrap_err().seq, 3);
    }

    #[test]
    fn truncated_tail_is_caught() {
        let (key, mut entries, cps) = setup();
        entries.truncate(8);
        let err = verify(&key, &entries, cps).unwrap_err();
        assert_eq!(err.seq, 9);
        assert!(err.reason.contains("truncated"));
    }

    #[test]
    fn rewritten_entry_with_recomputed_hash_is_named() {
        let (key, mut entries, cps) = setup();
        entries[5].draft.actor = "someone-else".into();
        entries[5].hash = entry_hash(&entries[5].prev_hash, 6, &entries[5].draft);
        assert_eq!(verify(&key, &entries, cps).unwrap_err().seq, 6);
    }

    #[test]
    fn rechained_log_is_caught_by_the_signed_checkpoint() {
        let (key, entries, cps) = setup();
        let mut drafts: Vec<_> = entries.iter().map(|e| e.draft.clone()).collect();
        drafts[7].actor = "someone-else".into();
        let forged = link(0, GENESIS, &drafts);
        let err = verify(&key, &forged, cps).unwrap_err();
        assert_eq!(err.seq, 10);
        assert!(err.reason.contains("from 6 to 10"), "{}", err.reason);
    }

    #[test]
    fn forged_checkpoint_is_caught() {
        let (key, entries, mut cps) = setup();
        let other = AuditKey::generate();
        cps.push(other.checkpoint(
            3,
            entries[2].hash,
            crate::now(),
            crate::Link::new(GENESIS, false),
        ));
        assert_eq!(verify(&key, &entries, cps).unwrap_err().seq, 3);
    }

    /// A log whose entries are `secs` apart.
    fn spaced(n: u32, secs: i64) -> Vec<Entry> {
        let t0 = crate::now();
        let drafts: Vec<_> = (1..=n)
            .map(|i| {
                let mut d = draft(i);
                d.at = t0 + Duration::seconds(secs * i64::from(i));
                d
            })
            .collect();
        link(0, GENESIS, &drafts)
    }

    #[test]
    fn a_deleted_checkpoint_breaks_the_next_link() {
        let key = AuditKey::generate();
        let entries = log(10);
        let mut cps = signed(&key, &entries, &[3, 6, 10]);
        cps.remove(1);
        let err = verify(&key, &entries, cps).unwrap_err();
        assert_eq!(err.seq, 10);
        assert!(err.reason.contains("deleted"), "{}", err.reason);
    }

    #[test]
    fn checkpoints_deleted_from_the_end_leave_a_tail_too_long_unsigned() {
        let key = AuditKey::generate();
        // An entry a minute for 10 minutes, signed every other entry.
        let entries = spaced(10, 60);
        let cps = signed(&key, &entries, &[2, 4, 6, 8, 10]);
        assert!(verify(&key, &entries, cps.clone()).is_ok());
        // Drop every checkpoint after entry 4, rewrite entry 5, re-chain.
        let mut drafts: Vec<_> = entries.iter().map(|e| e.draft.clone()).collect();
        drafts[4].actor = "someone-else".into();
        let forged = link(0, GENESIS, &drafts);
        let err = verify(&key, &forged, cps[..2].to_vec()).unwrap_err();
        assert_eq!(err.seq, 5);
        assert!(
            err.reason.contains("no signed checkpoint"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn a_long_gap_before_a_checkpoint_fails_unless_signed_late() {
        let key = AuditKey::generate();
        let entries = spaced(4, 600);
        let cps = signed(&key, &entries, &[4]);
        let err = verify(&key, &entries, cps).unwrap_err();
        assert_eq!(err.seq, 1);
        let late = vec![key.checkpoint(
            4,
            entries[3].hash,
            entries[3].draft.at,
            crate::Link::new(GENESIS, true),
        )];
        assert_eq!(verify(&key, &entries, late).unwrap().late_checkpoints, 1);
    }

    #[test]
    fn the_anchor_catches_truncation_and_disagreement() {
        let key = AuditKey::generate();
        let entries = log(10);
        let cps = signed(&key, &entries, &[3, 6, 10]);
        let with = |db: Vec<Checkpoint>, entries: &[Entry]| -> Result<Summary, Broken> {
            let mut v = Verifier::new(key.public(), db)?.with_anchor(&cps)?;
            for e in entries {
                v.feed(e)?;
            }
            v.finish()
        };
        assert_eq!(with(cps.clone(), &entries).unwrap().anchored, 3);
        // Entries and checkpoints after 6 deleted: consistent by itself.
        assert!(verify(&key, &entries[..6], cps[..2].to_vec()).is_ok());
        let err = with(cps[..2].to_vec(), &entries[..6]).unwrap_err();
        assert_eq!(err.seq, 10);
        assert!(err.reason.contains("truncated"), "{}", err.reason);
        // A re-signed checkpoint by someone else's key is not the anchored one.
        let other = AuditKey::generate();
        let err = Verifier::new(key.public(), cps.clone())
            .unwrap()
            .with_anchor(&signed(&other, &entries, &[3]))
            .err()
            .unwrap();
        assert_eq!(err.seq, 3);
    }
}
