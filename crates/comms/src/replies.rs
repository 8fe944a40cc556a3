//! What a monitored contact's reply to a daily check-in says. The check-in
//! asks "any symptoms today? Reply YES or NO" in the person's language;
//! people answer in their own words: "no", "Sí", "是", "нет.", "2", "NO 👍",
//! "I have a fever", "tengo tos". A reply naming a symptom is symptomatic
//! whatever else it says; a bare yes is symptomatic (the question asked
//! about symptoms); a bare no is well; anything else is unknown (a
//! clarifying reply, then a human). Tolerant of case, accents,
//! punctuation and emoji.

use serde::Serialize;

/// A reply's meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "symptoms")]
pub enum Reply {
    /// No symptoms today.
    Well,
    /// Symptoms: those named (the questionnaire's ids), or none named
    /// after a plain yes.
    Symptomatic(Vec<&'static str>),
    /// Not understood.
    Unknown,
}

/// Answers meaning yes (symptoms) or no (none), per language, folded. "1"
/// and "2" answer a keypad prompt ("press 1 for yes, 2 for no").
const YES: &[&str] = &[
    "yes",
    "y",
    "yeah",
    "yep",
    "si",
    "是",
    "有",
    "да",
    "হ্যাঁ",
    "হ্যা",
    "wi",
    "1",
];
const NO: &[&str] = &[
    "no", "n", "nope", "none", "nothing", "nada", "ninguno", "ninguna", "否", "没有", "沒有", "无",
    "нет", "না", "non", "2", "fine", "ok", "okay", "bien", "好",
];

/// Symptom words per questionnaire id, folded; matched at word starts in
/// alphabetic scripts, anywhere in Chinese and Bengali.
const SYMPTOMS: &[(&str, &[&str])] = &[
    (
        "fever",
        &[
            "fever",
            "chills",
            "fiebre",
            "escalofrio",
            "发烧",
            "发热",
            "жар",
            "температур",
            "জ্বর",
            "lafyev",
            "fyev",
        ],
    ),
    (
        "cough",
        &["cough", "tos", "咳", "кашл", "кашел", "কাশি", "tous"],
    ),
    (
        "shortness_of_breath",
        &[
            "short of breath",
            "shortness of breath",
            "breath",
            "falta de aire",
            "ahogo",
            "呼吸",
            "одышк",
            "задыха",
            "শ্বাস",
            "souf kout",
        ],
    ),
    (
        "loss_of_taste_or_smell",
        &[
            "taste",
            "smell",
            "gusto",
            "olfato",
            "味觉",
            "嗅觉",
            "вкус",
            "запах",
            "স্বাদ",
            "গন্ধ",
            "gou",
            "sant",
        ],
    ),
    (
        "sore_throat",
        &[
            "sore throat",
            "throat",
            "garganta",
            "喉咙",
            "嗓子",
            "горл",
            "গলা",
            "gòj",
        ],
    ),
    (
        "headache",
        &[
            "headache",
            "cabeza",
            "头痛",
            "头疼",
            "голов",
            "মাথা",
            "tèt fè",
        ],
    ),
    (
        "fatigue",
        &[
            "tired",
            "fatigue",
            "cansad",
            "cansancio",
            "累",
            "乏力",
            "устал",
            "слабост",
            "ক্লান্ত",
            "fatige",
            "bouke",
        ],
    ),
];

fn is_bounded(word: &str) -> bool {
    word.chars().next().is_some_and(|c| (c as u32) < 0x0980)
}

fn contains_word(text: &str, word: &str) -> bool {
    let bounded = is_bounded(word);
    text.match_indices(word).any(|(i, _)| {
        !bounded
            || text[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
    })
}

/// The meaning of a check-in reply.
pub fn parse(body: &str) -> Reply {
    let folded = crate::fold(body);
    let named: Vec<&'static str> = SYMPTOMS
        .iter()
        .filter(|(_, words)| {
            words
                .iter()
                .any(|w| contains_word(&folded, &crate::fold(w)))
        })
        .map(|(id, _)| *id)
        .collect();
    if !named.is_empty() {
        return Reply::Symptomatic(named);
    }
    // The words of the reply, emoji and punctuation dropped.
    let words: Vec<String> = folded
        .split(|c: char| !(c.is_alphanumeric() || is_mark(c)))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let has = |list: &[&str]| {
        words
            .iter()
            .any(|w| list.iter().any(|x| crate::fold(x) == *w))
    };
    let (yes, no) = (has(YES), has(NO));
    // A thumbs-up alone reads as "all is well".
    let thumbs = body.contains('👍') && words.is_empty();
    match (yes, no || thumbs) {
        (true, false) => Reply::Symptomatic(Vec::new()),
        (false, true) => Reply::Well,
        _ => Reply::Unknown,
    }
}

/// Combining marks belong to the word (Bengali vowel signs).
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0980..=0x09FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_in_every_language_is_well() {
        for body in [
            "no",
            "No.",
            " NO!! ",
            "nope",
            "No 👍",
            "👍",
            "2",
            "Non",
            "nada",
            "Ninguno",
            "否",
            "没有",
            "нет",
            "Нет.",
            "না",
            "non mèsi",
        ] {
            assert_eq!(parse(body), Reply::Well, "{body:?}");
        }
    }

    #[test]
    fn yes_in_every_language_is_symptomatic() {
        for body in [
            "yes",
            "YES",
            "Yes!",
            "si",
            "Sí",
            "是",
            "有",
            "да",
            "হ্যাঁ",
            "Wi",
            "1",
        ] {
            assert_eq!(parse(body), Reply::Symptomatic(Vec::new()), "{body:?}");
        }
    }

    #[test]
    fn symptoms_are_named_whatever_else_is_said() {
        let cases: &[(&str, &[&str])] = &[
            ("I have a fever", &["fever"]),
            ("no fever but a bad cough", &["fever", "cough"]),
            ("Tengo tos y fiebre", &["fever", "cough"]),
            ("perdí el olfato", &["loss_of_taste_or_smell"]),
            ("有点发烧，咳嗽", &["fever", "cough"]),
            ("Кашель и температура", &["fever", "cough"]),
            ("আমার জ্বর আছে", &["fever"]),
            ("M gen lafyèv", &["fever"]),
            ("my throat hurts", &["sore_throat"]),
            ("so TIRED 😩", &["fatigue"]),
        ];
        for (body, want) in cases {
            match parse(body) {
                Reply::Symptomatic(got) => {
                    let mut got = got.clone();
                    got.sort_unstable();
                    let mut want = want.to_vec();
                    want.sort_unstable();
                    assert_eq!(got, want, "{body:?}");
                }
                other => panic!("{body:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn anything_else_is_unknown() {
        for body in [
            "",
            "maybe",
            "who is this?",
            "yes no",
            "3",
            "🤔",
            "call me later",
            "STOPP",
        ] {
            assert_eq!(parse(body), Reply::Unknown, "{body:?}");
        }
    }

    #[test]
    fn words_match_at_word_starts() {
        // "throat" inside another word, "tos" inside "todos": not symptoms.
        assert_eq!(parse("todos bien"), Reply::Well);
        assert_eq!(parse("nobreath"), Reply::Unknown);
    }
}
