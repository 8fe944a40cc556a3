//! The jurisdiction hierarchy (state → county or borough) that scopes data.

use std::collections::{HashMap, HashSet};

/// Code of the jurisdiction every other one descends from; data without a
/// more specific jurisdiction belongs to it.
pub const ROOT: &str = "root";

/// Jurisdiction codes are short, lower-case, and safe in URLs and logs.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 40
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The tree of jurisdictions, loaded whole: there are tens, not millions.
#[derive(Debug, Clone, Default)]
pub struct Jurisdictions {
    parent: HashMap<String, Option<String>>,
}

impl Jurisdictions {
    /// From (code, parent) pairs.
    pub fn new(rows: impl IntoIterator<Item = (String, Option<String>)>) -> Self {
        Self {
            parent: rows.into_iter().collect(),
        }
    }

    pub fn contains(&self, code: &str) -> bool {
        self.parent.contains_key(code)
    }

    /// True if `code` is `ancestor` or lies below it. Cycles (which the
    /// store's foreign keys allow in principle) end the walk.
    pub fn within(&self, code: &str, ancestor: &str) -> bool {
        let mut seen = HashSet::new();
        let mut cur = Some(code);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            if !seen.insert(c) {
                return false;
            }
            cur = self.parent.get(c).and_then(|p| p.as_deref());
        }
        false
    }

    /// `code`, its parent, and so on up to the root (what a task carries so
    /// that staff of any enclosing jurisdiction may take it).
    pub fn ancestry(&self, code: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut cur = Some(code);
        while let Some(c) = cur {
            if out.iter().any(|x| x == c) {
                break;
            }
            out.push(c.to_string());
            cur = self.parent.get(c).and_then(|p| p.as_deref());
        }
        out
    }

    /// Every jurisdiction's code, sorted.
    pub fn codes(&self) -> Vec<String> {
        let mut out: Vec<String> = self.parent.keys().cloned().collect();
        out.sort();
        out
    }

    /// `ancestor` and every code below it, sorted.
    pub fn subtree(&self, ancestor: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .parent
            .keys()
            .filter(|c| self.within(c, ancestor))
            .cloned()
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ny() -> Jurisdictions {
        Jurisdictions::new([
            ("root".into(), None),
            ("ny".into(), Some("root".into())),
            ("ny-kings".into(), Some("ny".into())),
            ("ny-queens".into(), Some("ny".into())),
            ("nj".into(), Some("root".into())),
        ])
    }

    #[test]
    fn subtree_and_within() {
        let j = ny();
        assert_eq!(j.subtree("ny"), ["ny", "ny-kings", "ny-queens"]);
        assert!(j.within("ny-kings", "root"));
        assert!(!j.within("nj", "ny"));
        assert!(!j.within("unknown", "ny"));
        assert_eq!(j.subtree("root").len(), 5);
        assert_eq!(j.ancestry("ny-kings"), ["ny-kings", "ny", "root"]);
        assert_eq!(j.ancestry("root"), ["root"]);
        let looped = Jurisdictions::new([
            ("a".into(), Some("b".into())),
            ("b".into(), Some("a".into())),
        ]);
        assert_eq!(looped.ancestry("a"), ["a", "b"], "a cycle ends the walk");
    }

    #[test]
    fn codes() {
        assert!(valid_code("ny-kings"));
        assert!(!valid_code("NY"));
        assert!(!valid_code("a b"));
        assert!(!valid_code(""));
    }
}
