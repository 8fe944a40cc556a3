//! Structured interviews: versioned questionnaire definitions (JSON:
//! sections, typed questions, required, skip logic, choice lists,
//! translations), the default COVID-19 case interview and contact
//! notification script, and answers validated against the definition they
//! were given under, sealed as entries (each save kept, the newest shown).

use crate::input::Check;
use crate::investigation::{NoteOn, entry_kind};
use crate::{CasePatch, CaseworkError};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tracedesk_store::EntryOwner;
use uuid::Uuid;

/// Text in each language it is given in (`en` always).
pub type Translations = BTreeMap<String, String>;

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Questionnaire {
    pub id: String,
    pub version: u32,
    /// `case` (a case interview) or `contact` (a notification script).
    pub kind: String,
    #[schema(value_type = Object)]
    pub title: Translations,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub id: String,
    #[schema(value_type = Object)]
    pub title: Translations,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    Boolean,
    Text,
    Date,
    Number,
    SingleChoice,
    MultiChoice,
    /// Symptoms, each with the day it began: `[{"symptom", "onset"}]`.
    SymptomOnsets,
    /// Repeated entries of the question's `fields`: `[{field: value}]`.
    Entries,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Question {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: QuestionType,
    #[serde(default)]
    pub required: bool,
    #[schema(value_type = Object)]
    pub text: Translations,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<Choice>,
    /// Asked only when an earlier question has this answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<ShowIf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<usize>,
    /// The fields of each entry (`entries` questions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(no_recursion)]
    pub fields: Vec<Question>,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    #[schema(value_type = Object)]
    pub text: Translations,
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowIf {
    pub question: String,
    #[schema(value_type = Object)]
    pub equals: Value,
}

/// The questionnaires tracedesk ships.
const BUILT_IN: &[&str] = &[
    include_str!("../questionnaires/covid19_case_interview.json"),
    include_str!("../questionnaires/contact_notification.json"),
];

/// The built-in questionnaires, parsed and checked once. One that fails
/// (a shipping mistake, caught by the tests) is left out and logged.
pub fn built_in() -> &'static [Questionnaire] {
    static ALL: OnceLock<Vec<Questionnaire>> = OnceLock::new();
    ALL.get_or_init(|| {
        BUILT_IN
            .iter()
            .filter_map(|text| match serde_json::from_str::<Questionnaire>(text) {
                Ok(q) => match q.check() {
                    Ok(()) => Some(q),
                    Err(e) => {
                        tracing::error!(questionnaire = %q.id, error = %e, "a built-in questionnaire is malformed");
                        None
                    }
                },
                Err(e) => {
                    tracing::error!(error = %e, "a built-in questionnaire does not parse");
                    None
                }
            })
            .collect()
    })
}

impl Questionnaire {
    /// Checks a definition holds together: ids unique, English text
    /// everywhere, choices where a choice is asked, skip logic pointing
    /// back to an earlier question.
    pub fn check(&self) -> Result<(), String> {
        if !matches!(self.kind.as_str(), "case" | "contact") {
            return Err(format!("kind `{}` is neither case nor contact", self.kind));
        }
        let mut seen: Vec<&str> = Vec::new();
        for s in &self.sections {
            if !s.title.contains_key("en") {
                return Err(format!("section `{}` has no English title", s.id));
            }
            for q in &s.questions {
                if let Some(cond) = &q.show_if
                    && !seen.contains(&cond.question.as_str())
                {
                    return Err(format!(
                        "`{}` depends on `{}`, which is not asked before it",
                        q.id, cond.question
                    ));
                }
                if seen.contains(&q.id.as_str()) {
                    return Err(format!("question `{}` is there twice", q.id));
                }
                check_question(q)?;
                seen.push(&q.id);
            }
        }
        Ok(())
    }

    /// Every question, section by section.
    pub fn questions(&self) -> impl Iterator<Item = &Question> {
        self.sections.iter().flat_map(|s| s.questions.iter())
    }

    /// Validates answers: every field error at once (unknown question,
    /// wrong type, a choice not offered, a date in the future, a required
    /// answer missing, an answer to a question the skip logic leaves out).
    pub fn validate(
        &self,
        answers: &Map<String, Value>,
        today: NaiveDate,
    ) -> Result<(), CaseworkError> {
        let mut c = Check::default();
        for key in answers.keys() {
            if !self.questions().any(|q| &q.id == key) {
                c.fail(
                    &format!("answers.{key}"),
                    &format!("is not a question of {} version {}", self.id, self.version),
                );
            }
        }
        for q in self.questions() {
            let field = format!("answers.{}", q.id);
            let asked = q
                .show_if
                .as_ref()
                .is_none_or(|cond| answers.get(&cond.question) == Some(&cond.equals));
            match answers.get(&q.id).filter(|v| !v.is_null()) {
                Some(_) if !asked => c.fail(&field, "is not asked given the earlier answers"),
                Some(v) => answer(&mut c, &field, q, v, today),
                None if asked && q.required => c.fail(&field, "is required"),
                None => {}
            }
        }
        c.finish(Some(()))
    }
}

fn check_question(q: &Question) -> Result<(), String> {
    if !q.text.contains_key("en") {
        return Err(format!("question `{}` has no English text", q.id));
    }
    let choosy = matches!(
        q.kind,
        QuestionType::SingleChoice | QuestionType::MultiChoice | QuestionType::SymptomOnsets
    );
    if choosy == q.choices.is_empty() {
        return Err(format!(
            "question `{}`: choices go with single_choice, multi_choice and symptom_onsets",
            q.id
        ));
    }
    if (q.kind == QuestionType::Entries) == q.fields.is_empty() {
        return Err(format!("question `{}`: fields go with entries", q.id));
    }
    for f in &q.fields {
        if f.kind == QuestionType::Entries {
            return Err(format!("`{}`: entries do not nest", f.id));
        }
        check_question(f)?;
    }
    Ok(())
}

fn choice<'a>(c: &mut Check, field: &str, q: &Question, v: &'a Value) -> Option<&'a str> {
    match v.as_str() {
        Some(s) if q.choices.iter().any(|ch| ch.id == s) => Some(s),
        _ => {
            c.fail(field, "is not one of the question's choices");
            None
        }
    }
}

fn date(c: &mut Check, field: &str, v: &Value, today: NaiveDate) -> Option<NaiveDate> {
    let Some(raw) = v.as_str() else {
        c.fail(field, "is not a date in YYYY-MM-DD form");
        return None;
    };
    c.take(crate::input::parse_date(field, raw))
        .and_then(|d| c.take(tracedesk_domain::event_date(field, d, today)))
}

fn answer(c: &mut Check, field: &str, q: &Question, v: &Value, today: NaiveDate) {
    match q.kind {
        QuestionType::Boolean => {
            if !v.is_boolean() {
                c.fail(field, "is not true or false");
            }
        }
        QuestionType::Number => {
            if !v.as_f64().is_some_and(f64::is_finite) {
                c.fail(field, "is not a number");
            }
        }
        QuestionType::Text => match v.as_str() {
            None => c.fail(field, "is not text"),
            Some(s) if s.chars().count() > q.max_length.unwrap_or(500) => {
                c.fail(field, "is too long")
            }
            Some(s) if s.chars().any(|ch| ch.is_control() && ch != '\n') => {
                c.fail(field, "contains control characters")
            }
            Some(_) => {}
        },
        QuestionType::Date => {
            date(c, field, v, today);
        }
        QuestionType::SingleChoice => {
            choice(c, field, q, v);
        }
        QuestionType::MultiChoice => match v.as_array() {
            None => c.fail(field, "is not a list of choices"),
            Some(items) => {
                let mut got = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = choice(c, &format!("{field}[{i}]"), q, item) {
                        if got.contains(&s) {
                            c.fail(&format!("{field}[{i}]"), "is chosen twice");
                        }
                        got.push(s);
                    }
                }
            }
        },
        QuestionType::SymptomOnsets => match v.as_array() {
            None => c.fail(field, "is not a list of symptoms with their onset"),
            Some(items) => {
                let mut got = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    let f = format!("{field}[{i}]");
                    let (Some(s), Some(onset), 2) = (
                        item.get("symptom"),
                        item.get("onset"),
                        item.as_object().map_or(0, Map::len),
                    ) else {
                        c.fail(&f, "needs `symptom` and `onset`, nothing else");
                        continue;
                    };
                    if let Some(s) = choice(c, &format!("{f}.symptom"), q, s) {
                        if got.contains(&s) {
                            c.fail(&format!("{f}.symptom"), "is given twice");
                        }
                        got.push(s);
                    }
                    date(c, &format!("{f}.onset"), onset, today);
                }
            }
        },
        QuestionType::Entries => match v.as_array() {
            None => c.fail(field, "is not a list of entries"),
            Some(items) if items.len() > 50 => c.fail(field, "holds at most 50 entries"),
            Some(items) => {
                for (i, item) in items.iter().enumerate() {
                    let f = format!("{field}[{i}]");
                    let Some(obj) = item.as_object() else {
                        c.fail(&f, "is not an entry");
                        continue;
                    };
                    for key in obj.keys() {
                        if !q.fields.iter().any(|fq| &fq.id == key) {
                            c.fail(&format!("{f}.{key}"), "is not a field of the entry");
                        }
                    }
                    for fq in &q.fields {
                        let ff = format!("{f}.{}", fq.id);
                        match obj.get(&fq.id).filter(|v| !v.is_null()) {
                            Some(v) => answer(c, &ff, fq, v, today),
                            None if fq.required => c.fail(&ff, "is required"),
                            None => {}
                        }
                    }
                }
            }
        },
    }
}

/// Answers to save, under the questionnaire and version they were given in.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InterviewInput {
    #[schema(required = true)]
    pub questionnaire: Option<String>,
    #[schema(required = true)]
    pub version: Option<u32>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub answers: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct InterviewView {
    pub questionnaire: String,
    pub version: u32,
    #[schema(value_type = Object)]
    pub answers: Map<String, Value>,
    pub saved_at: DateTime<Utc>,
    pub author_id: Option<Uuid>,
    /// Earlier saves (each is kept).
    pub earlier_saves: usize,
}

/// What a list of questionnaires shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuestionnaireSummary {
    pub id: String,
    pub version: u32,
    pub kind: String,
    #[schema(value_type = Object)]
    pub title: Translations,
}

impl crate::services::Cases<'_> {
    pub fn questionnaires(&self) -> Vec<QuestionnaireSummary> {
        built_in()
            .iter()
            .map(|q| QuestionnaireSummary {
                id: q.id.clone(),
                version: q.version,
                kind: q.kind.clone(),
                title: q.title.clone(),
            })
            .collect()
    }

    pub fn questionnaire(&self, id: &str) -> Option<&'static Questionnaire> {
        built_in().iter().find(|q| q.id == id)
    }

    /// Saves interview answers on a case or contact record, validated
    /// against the questionnaire and version named (kept sealed, each save
    /// kept). A case interview's facts reach the case: the earliest symptom
    /// onset and the symptoms, the fever-free day, improvement, and severity
    /// (intensive care or severe immunocompromise), so its isolation end
    /// follows.
    pub async fn save_interview(
        &self,
        on: NoteOn,
        input: &InterviewInput,
    ) -> Result<InterviewView, CaseworkError> {
        let id = input.questionnaire.as_deref().unwrap_or_default();
        let Some(q) = self.questionnaire(id) else {
            return Err(CaseworkError::invalid(
                "questionnaire",
                "is not a questionnaire (see GET /api/v1/questionnaires)",
            ));
        };
        let kind = match on {
            NoteOn::Case(_) => "case",
            NoteOn::Contact(_) => "contact",
        };
        if q.kind != kind {
            return Err(CaseworkError::invalid(
                "questionnaire",
                &format!("is not for a {kind} record"),
            ));
        }
        if input.version != Some(q.version) {
            return Err(CaseworkError::invalid(
                "version",
                &format!("this questionnaire is at version {}", q.version),
            ));
        }
        q.validate(&input.answers, self.today())?;
        let (person, jurisdiction, owner) = self.note_owner(on).await?;
        if let NoteOn::Case(case) = on {
            self.apply_interview(case, &input.answers).await?;
        }
        let body = serde_json::json!({
            "questionnaire": q.id,
            "version": q.version,
            "answers": input.answers,
        });
        let e = self.entry(
            entry_kind::ANSWERS,
            person,
            &jurisdiction,
            self.author(),
            owner,
            &body,
        );
        self.store
            .add_entries(std::slice::from_ref(&e), &[])
            .await?;
        self.interview(on)
            .await?
            .ok_or(CaseworkError::NotFound("interview"))
    }

    /// The case facts an interview gives.
    async fn apply_interview(
        &self,
        case: Uuid,
        a: &Map<String, Value>,
    ) -> Result<(), CaseworkError> {
        let yes = |k: &str| a.get(k).and_then(Value::as_bool);
        let mut patch = CasePatch::default();
        match yes("symptomatic") {
            Some(false) => patch.asymptomatic = Some(true),
            Some(true) => {
                let onsets: Vec<(String, String)> = a
                    .get("symptoms")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| {
                        Some((
                            s.get("symptom")?.as_str()?.to_string(),
                            s.get("onset")?.as_str()?.to_string(),
                        ))
                    })
                    .collect();
                if let Some(first) = onsets.iter().map(|(_, d)| d.clone()).min() {
                    patch.onset_date = Some(Some(first));
                    patch.asymptomatic = Some(false);
                }
                patch.symptoms = Some(onsets.into_iter().map(|(s, _)| s).collect());
                if let Some(f) = a.get("fever_free_since").and_then(Value::as_str) {
                    patch.fever_free_since = Some(Some(f.to_string()));
                }
                patch.improving = yes("improving");
            }
            None => {}
        }
        let severe = yes("icu") == Some(true) || yes("severely_immunocompromised") == Some(true);
        if yes("icu").is_some() || yes("severely_immunocompromised").is_some() {
            patch.severe = Some(severe);
        }
        self.patch_case(case, &patch).await.map(|_| ())
    }

    /// The newest answers saved on a case or contact record.
    pub async fn interview(&self, on: NoteOn) -> Result<Option<InterviewView>, CaseworkError> {
        let owner = match on {
            NoteOn::Case(id) => EntryOwner::Case(id),
            NoteOn::Contact(id) => EntryOwner::Exposure(id),
        };
        let saves = self.store.entries(owner, Some(entry_kind::ANSWERS)).await?;
        let Some(last) = saves.last() else {
            return Ok(None);
        };
        let body = self.open_entry(last)?;
        Ok(Some(InterviewView {
            questionnaire: body["questionnaire"].as_str().unwrap_or_default().into(),
            version: body["version"]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or_default(),
            answers: body["answers"].as_object().cloned().unwrap_or_default(),
            saved_at: last.created_at,
            author_id: last.author_id,
            earlier_saves: saves.len() - 1,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2020, 11, 20).unwrap()
    }

    fn errors(q: &Questionnaire, answers: Value) -> Vec<String> {
        match q.validate(answers.as_object().unwrap(), today()) {
            Ok(()) => Vec::new(),
            Err(CaseworkError::Invalid(errs)) => errs.iter().map(|e| e.field.clone()).collect(),
            Err(e) => panic!("{e}"),
        }
    }

    /// Every shipped questionnaire parses and holds together.
    #[test]
    fn the_built_in_questionnaires_hold_together() {
        assert_eq!(built_in().len(), BUILT_IN.len());
        for q in built_in() {
            q.check().unwrap();
            assert!(q.title.contains_key("es"), "{} is in Spanish too", q.id);
        }
    }

    #[test]
    fn answers_are_checked_against_the_definition() {
        let q = built_in().iter().find(|q| q.kind == "case").unwrap();
        let good = json!({
            "identity_confirmed": true,
            "symptomatic": true,
            "symptoms": [{"symptom": "fever", "onset": "2020-11-10"},
                         {"symptom": "cough", "onset": "2020-11-12"}],
            "fever_free_since": "2020-11-18",
            "improving": true,
            "hospitalized": false,
            "congregate_setting": "school",
            "gatherings": [{"kind": "worship", "date": "2020-11-08"}],
            "contacts_elicited": true
        });
        assert!(errors(q, good.clone()).is_empty(), "{:?}", errors(q, good));
        let bad = json!({
            "identity_confirmed": "yes",
            "symptomatic": false,
            "symptoms": [{"symptom": "fever", "onset": "2020-11-10"}],
            "hospitalized": false,
            "icu": true,
            "congregate_setting": "stadium",
            "gatherings": [{"kind": "work", "date": "2031-01-01", "where": "x"}],
            "favourite_colour": "blue"
        });
        let mut got = errors(q, bad);
        got.sort();
        assert_eq!(
            got,
            [
                "answers.congregate_setting",
                "answers.contacts_elicited",
                "answers.favourite_colour",
                "answers.gatherings[0].date",
                "answers.gatherings[0].where",
                "answers.icu",
                "answers.identity_confirmed",
                "answers.symptoms",
            ]
        );
    }

    #[test]
    fn a_malformed_definition_is_refused() {
        let mut q = built_in()[0].clone();
        q.sections[1].questions[1].show_if = Some(ShowIf {
            question: "later".into(),
            equals: json!(true),
        });
        assert!(q.check().unwrap_err().contains("not asked before"));
    }
}
