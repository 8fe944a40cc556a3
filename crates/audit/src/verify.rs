//! Streaming verification: entries are fed in sequence order, so a log of
//! millions is checked in constant memory.

use crate::signing::signed_by;
use crate::{Checkpoint, Entry, GENESIS, entry_hash};

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
}

pub struct Verifier {
    public: [u8; 32],
    checkpoints: Vec<Checkpoint>,
    next_cp: usize,
    last_cp_seq: i64,
    expect: i64,
    prev: [u8; 32],
    entries: u64,
}

impl Verifier {
    /// Checks every checkpoint's signature against `public` up front.
    pub fn new(public: [u8; 32], mut checkpoints: Vec<Checkpoint>) -> Result<Self, Broken> {
        checkpoints.sort_by_key(|c| c.seq);
        for cp in &checkpoints {
            if cp.public_key != public || !signed_by(cp, &public) {
                return Err(Broken {
                    seq: cp.seq,
                    reason:
                        "the checkpoint for this entry is not signed by this server's audit key"
                            .into(),
                });
            }
        }
        Ok(Self {
            public,
            checkpoints,
            next_cp: 0,
            last_cp_seq: 0,
            expect: 1,
            prev: GENESIS,
            entries: 0,
        })
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    pub fn feed(&mut self, e: &Entry) -> Result<(), Broken> {
        if e.seq > self.expect {
            return Err(Broken {
                seq: self.expect,
                reason: format!(
                    "entry is missing (deleted): the log goes from entry {} to entry {}",
                    self.expect - 1,
                    e.seq
                ),
            });
        }
        if e.seq < self.expect {
            return Err(Broken {
                seq: e.seq,
                reason: "entry is out of order or duplicated".into(),
            });
        }
        if entry_hash(&e.prev_hash, e.seq, &e.draft) != e.hash {
            return Err(Broken {
                seq: e.seq,
                reason: "entry's contents do not match its hash (modified)".into(),
            });
        }
        if e.prev_hash != self.prev {
            // This entry was chained to a different predecessor than the one
            // now stored: the predecessor changed after this entry was written.
            let seq = e.seq - 1;
            return Err(Broken {
                seq: seq.max(1),
                reason: if seq == 0 {
                    "the first entry is not chained to the start of the log".into()
                } else {
                    format!(
                        "entry was changed after entry {} was chained to it (hash recomputed)",
                        e.seq
                    )
                },
            });
        }
        while let Some(cp) = self.checkpoints.get(self.next_cp) {
            if cp.seq != e.seq {
                break;
            }
            if cp.head != e.hash {
                return Err(Broken {
                    seq: e.seq,
                    reason: format!(
                        "does not match the signed checkpoint for it: an entry from {} to {} was \
                         rewritten and the chain recomputed",
                        self.last_cp_seq + 1,
                        e.seq
                    ),
                });
            }
            self.last_cp_seq = cp.seq;
            self.next_cp += 1;
        }
        self.prev = e.hash;
        self.expect = e.seq + 1;
        self.entries += 1;
        Ok(())
    }

    pub fn finish(self) -> Result<Summary, Broken> {
        let last_seq = self.expect - 1;
        if let Some(cp) = self.checkpoints.last()
            && cp.seq > last_seq
        {
            return Err(Broken {
                seq: last_seq + 1,
                reason: format!(
                    "log truncated: a signed checkpoint covers entry {} but the log ends at entry {}",
                    cp.seq, last_seq
                ),
            });
        }
        Ok(Summary {
            entries: self.entries,
            last_seq,
            last_hash: self.prev,
            checkpoints: self.checkpoints.len(),
            last_checkpoint_seq: (self.last_cp_seq > 0).then_some(self.last_cp_seq),
            unsigned_tail: last_seq - self.last_cp_seq,
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

    fn setup() -> (AuditKey, Vec<Entry>, Vec<Checkpoint>) {
        let key = AuditKey::generate();
        let entries = log(10);
        let cps = [5usize, 10]
            .iter()
            .map(|&s| key.checkpoint(s as i64, entries[s - 1].hash, crate::now()))
            .collect();
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
        cps.push(other.checkpoint(3, entries[2].hash, crate::now()));
        assert_eq!(verify(&key, &entries, cps).unwrap_err().seq, 3);
    }
}
