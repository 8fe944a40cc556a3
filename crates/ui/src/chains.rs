//! Transmission chains drawn for the floor: the links between cases (a
//! case named a contact who is or became a case) split into chains, each
//! laid out by generation — the first case at the left, the cases it led
//! to in the next column. Ids only; what a node says is the server's.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// Pixels between generations and between cases of one generation.
const STEP_X: u32 = 60;
const STEP_Y: u32 = 26;
const MARGIN: u32 = 14;

/// One chain, ready to draw.
#[derive(Debug, Clone)]
pub struct ChainGraph {
    /// Cases in the chain, and how many generations it spans.
    pub cases: usize,
    pub generations: usize,
    pub width: u32,
    pub height: u32,
    pub dots: Vec<Dot>,
    pub links: Vec<Line>,
}

/// A case: where it is drawn and its label (a short id).
#[derive(Debug, Clone)]
pub struct Dot {
    pub x: u32,
    pub y: u32,
    pub label: String,
}

/// A link from the case that named the contact to the case they became.
#[derive(Debug, Clone)]
pub struct Line {
    pub x1: u32,
    pub y1: u32,
    pub x2: u32,
    pub y2: u32,
}

/// The chains `edges` (from, to) make, largest first; `label` names a node
/// by its id. Cycles (which a re-exposure can make) are broken by drawing
/// each case once, at the generation it is first reached.
pub fn chains_of<K: Ord + Clone + std::hash::Hash>(
    edges: &[(K, K)],
    label: impl Fn(&K) -> String,
) -> Vec<ChainGraph> {
    // Components by union-find over the nodes' indices.
    let mut index: HashMap<&K, usize> = HashMap::new();
    let mut nodes: Vec<&K> = Vec::new();
    for (a, b) in edges {
        for k in [a, b] {
            index.entry(k).or_insert_with(|| {
                nodes.push(k);
                nodes.len() - 1
            });
        }
    }
    let mut parent: Vec<usize> = (0..nodes.len()).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let mut out_edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); nodes.len()];
    let mut has_in = vec![false; nodes.len()];
    for (a, b) in edges {
        let (ia, ib) = (index[a], index[b]);
        if ia == ib {
            continue;
        }
        out_edges[ia].insert(ib);
        has_in[ib] = true;
        let (ra, rb) = (root(&mut parent, ia), root(&mut parent, ib));
        parent[ra] = rb;
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..nodes.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut chains: Vec<ChainGraph> = groups
        .into_values()
        .map(|members| layout(&members, &out_edges, &has_in, |i| label(nodes[i])))
        .collect();
    chains.sort_by_key(|c| std::cmp::Reverse((c.cases, c.generations)));
    chains
}

/// One chain's layout: generations by breadth-first walk from the cases no
/// one named (or, in a pure cycle, from its first member).
fn layout(
    members: &[usize],
    out_edges: &[BTreeSet<usize>],
    has_in: &[bool],
    label: impl Fn(usize) -> String,
) -> ChainGraph {
    let mut generation: HashMap<usize, usize> = HashMap::new();
    let mut queue: VecDeque<usize> = members.iter().copied().filter(|&i| !has_in[i]).collect();
    if queue.is_empty() {
        queue.extend(members.first().copied());
    }
    for &i in &queue {
        generation.insert(i, 0);
    }
    while let Some(i) = queue.pop_front() {
        let g = generation[&i];
        for &j in &out_edges[i] {
            if let std::collections::hash_map::Entry::Vacant(v) = generation.entry(j) {
                v.insert(g + 1);
                queue.push_back(j);
            }
        }
    }
    // Members a walk from the roots never reached (a cycle hanging off
    // the chain) go after the last generation.
    let last = generation.values().copied().max().unwrap_or(0);
    for &i in members {
        generation.entry(i).or_insert(last + 1);
    }
    let mut rows: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut sorted: Vec<usize> = members.to_vec();
    sorted.sort_unstable();
    for i in sorted {
        rows.entry(generation[&i]).or_default().push(i);
    }
    let mut at: HashMap<usize, (u32, u32)> = HashMap::new();
    for (g, row) in &rows {
        for (k, &i) in row.iter().enumerate() {
            let x = MARGIN + STEP_X * u32::try_from(*g).unwrap_or(u32::MAX / STEP_X);
            let y = MARGIN + STEP_Y * u32::try_from(k).unwrap_or(u32::MAX / STEP_Y);
            at.insert(i, (x, y));
        }
    }
    let generations = rows.len();
    let tallest = rows.values().map(Vec::len).max().unwrap_or(1);
    let mut links = Vec::new();
    for &i in members {
        for j in &out_edges[i] {
            if let (Some(&(x1, y1)), Some(&(x2, y2))) = (at.get(&i), at.get(j)) {
                links.push(Line { x1, y1, x2, y2 });
            }
        }
    }
    let mut dots: Vec<Dot> = members
        .iter()
        .filter_map(|&i| {
            at.get(&i).map(|&(x, y)| Dot {
                x,
                y,
                label: label(i),
            })
        })
        .collect();
    dots.sort_by_key(|d| (d.x, d.y));
    ChainGraph {
        cases: members.len(),
        generations,
        width: 2 * MARGIN + STEP_X * u32::try_from(generations.saturating_sub(1)).unwrap_or(0),
        height: 2 * MARGIN + STEP_Y * u32::try_from(tallest.saturating_sub(1)).unwrap_or(0),
        dots,
        links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_split_and_lay_out_by_generation() {
        // 1 → 2 → 3, 1 → 4; and apart, 7 → 8.
        let edges = [(1, 2), (2, 3), (1, 4), (7, 8)];
        let chains = chains_of(&edges, |k| format!("c{k}"));
        assert_eq!(chains.len(), 2);
        assert_eq!((chains[0].cases, chains[0].generations), (4, 3));
        assert_eq!((chains[1].cases, chains[1].generations), (2, 2));
        assert_eq!(chains[0].links.len(), 3);
        let x = |l: &str| chains[0].dots.iter().find(|d| d.label == l).unwrap().x;
        assert!(x("c1") < x("c2") && x("c2") < x("c3"));
        assert_eq!(x("c2"), x("c4"), "one generation, one column");
    }

    #[test]
    fn a_cycle_is_drawn_once_per_case() {
        let edges = [(1, 2), (2, 1), (2, 3)];
        let chains = chains_of(&edges, |k| k.to_string());
        assert_eq!(chains.len(), 1);
        assert_eq!(chains[0].cases, 3);
        assert_eq!(chains[0].dots.len(), 3);
        assert!(chains_of::<u8>(&[], |k| k.to_string()).is_empty());
    }
}
