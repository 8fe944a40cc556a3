//! The backend-independent half of batch lab intake.
//!
//! A backend answers three set queries per batch (known accessions, persons
//! by blind index, open cases of matched persons) and hands the answers to
//! these pure functions, which decide what to insert. Doing the decisions
//! once here keeps both backends identical in behaviour, and doing the look-
//! ups per batch instead of per row is what makes sealed intake fast.

use crate::{
    Blind, CaseRow, LabIntake, LabIntakeOutcome, LabResultRow, PersonFacetRow, PersonKey,
    PersonRow, PointRow, TaskRow,
};
use chrono::NaiveDate;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// How one item of a batch resolved to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Its accession is already recorded (or repeats earlier in the
    /// batch): `of` is the lab result recorded under it.
    Duplicate { of: Uuid },
    Person {
        id: Uuid,
        created: bool,
        /// First recorded in another jurisdiction than the item's: the
        /// item's jurisdiction knows the person by a facet.
        foreign: bool,
    },
}

/// Every (key, blind index) pair the batch wants to match on.
pub fn match_keys(batch: &[LabIntake]) -> Vec<(PersonKey, Blind)> {
    let mut seen = HashSet::new();
    batch
        .iter()
        .flat_map(|i| i.match_on.iter().cloned())
        .filter(|k| seen.insert(k.clone()))
        .collect()
}

/// Phase 1: decide duplicates and which person each item belongs to. Persons
/// created earlier in the batch are matched by later items.
pub fn resolve_persons(
    batch: &[LabIntake],
    known_accessions: &HashMap<Blind, Uuid>,
    existing: &HashMap<(PersonKey, Blind), (Uuid, String)>,
) -> Vec<Resolved> {
    let mut accessions: HashMap<&[u8], Uuid> = HashMap::new();
    let mut created: HashMap<(PersonKey, Blind), (Uuid, &str)> = HashMap::new();
    batch
        .iter()
        .map(|item| {
            let acc = item.lab.accession_bidx.as_slice();
            if let Some(of) = known_accessions.get(acc).or_else(|| accessions.get(acc)) {
                return Resolved::Duplicate { of: *of };
            }
            accessions.insert(acc, item.lab.id);
            let here = item.person.jurisdiction.as_str();
            for key in &item.match_on {
                if let Some((id, home)) = existing.get(key) {
                    return Resolved::Person {
                        id: *id,
                        created: false,
                        foreign: home != here,
                    };
                }
                if let Some((id, home)) = created.get(key) {
                    return Resolved::Person {
                        id: *id,
                        created: false,
                        foreign: *home != here,
                    };
                }
            }
            for key in &item.match_on {
                created.insert(key.clone(), (item.person.id, here));
            }
            Resolved::Person {
                id: item.person.id,
                created: true,
                foreign: false,
            }
        })
        .collect()
}

/// What a backend must insert for one batch.
#[derive(Debug, Default)]
pub struct LabPlan<'a> {
    pub persons: Vec<&'a PersonRow>,
    pub facets: Vec<PersonFacetRow>,
    pub cases: Vec<CaseRow>,
    pub tasks: Vec<TaskRow>,
    pub labs: Vec<LabResultRow>,
    pub outcomes: Vec<LabIntakeOutcome>,
    /// Facts to add to matched persons (the store skips known ones).
    pub points: Vec<PointRow>,
    /// (person, case, outcome index) of each positive recorded on a case:
    /// the person's open contact records convert to that case.
    pub positives: Vec<(Uuid, Uuid, usize)>,
}

/// Phase 2: given each matched person's newest case per jurisdiction
/// (with its specimen date) and the facets they have, build the inserts. A
/// positive joins its person's newest case in its own jurisdiction when its
/// specimen falls within the reinfection window of that case's (open or
/// closed: it is the same infection), and otherwise opens a new case there.
/// An item whose person was first recorded elsewhere gets a facet of what
/// it submitted, once per jurisdiction, and reports the facet's id.
pub fn plan<'a>(
    batch: &'a [LabIntake],
    resolved: &[Resolved],
    cases: &HashMap<(Uuid, String), (Uuid, NaiveDate)>,
    facets: &HashMap<(Uuid, String), Uuid>,
) -> LabPlan<'a> {
    let mut plan = LabPlan::default();
    let mut newest = cases.clone();
    let mut facets = facets.clone();
    for (item, res) in batch.iter().zip(resolved) {
        let (person_id, mut person_created, foreign) = match *res {
            Resolved::Duplicate { of } => {
                plan.outcomes.push(LabIntakeOutcome {
                    lab_id: item.lab.id,
                    person_id: item.person.id,
                    shown_person_id: item.person.id,
                    person_created: false,
                    case_id: None,
                    case_created: false,
                    duplicate: true,
                    duplicate_of: Some(of),
                    converted: Vec::new(),
                });
                continue;
            }
            Resolved::Person {
                id,
                created,
                foreign,
            } => (id, created, foreign),
        };
        if person_created {
            plan.persons.push(&item.person);
        } else if !foreign {
            plan.points.extend(item.points.iter().map(|p| PointRow {
                person_id,
                ..p.clone()
            }));
        }
        let here = item.person.jurisdiction.clone();
        let shown_person_id = if foreign {
            *facets.entry((person_id, here.clone())).or_insert_with(|| {
                plan.facets
                    .push(PersonFacetRow::of(&item.person, person_id));
                person_created = true;
                item.person.id
            })
        } else {
            person_id
        };
        let shown = foreign.then_some(shown_person_id);
        let mut case_created = false;
        let case_id = if item.positive {
            let window = i64::from(item.reinfection_days);
            let spec = item.lab.specimen_date;
            let key = (person_id, here);
            match newest.get(&key) {
                Some((id, prior)) if (spec - *prior).num_days().abs() <= window => Some(*id),
                _ => {
                    let mut case = item.case.clone();
                    case.person_id = person_id;
                    case.shown_person_id = shown;
                    let mut task = item.task.for_person(person_id, shown);
                    task.case_id = Some(case.id);
                    newest.insert(key, (case.id, case.specimen_date));
                    plan.cases.push(case);
                    plan.tasks.push(task);
                    case_created = true;
                    Some(item.case.id)
                }
            }
        } else {
            None
        };
        if let Some(case) = case_id {
            plan.positives.push((person_id, case, plan.outcomes.len()));
        }
        let mut lab = item.lab.clone();
        lab.person_id = person_id;
        lab.case_id = case_id;
        plan.labs.push(lab);
        plan.outcomes.push(LabIntakeOutcome {
            lab_id: item.lab.id,
            person_id,
            shown_person_id,
            person_created,
            case_id,
            case_created,
            duplicate: false,
            duplicate_of: None,
            converted: Vec::new(),
        });
    }
    plan
}
