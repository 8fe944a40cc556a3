//! The reply keywords carriers and Twilio honour, done by tracedesk itself
//! so opt-out holds even where the provider's own filtering is off: a
//! message that is one keyword (any case, accents, surrounding spaces or
//! punctuation) opts the number out, back in, or asks for help.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Keyword {
    /// Stop all messages to this number.
    Stop,
    /// Messages may be sent again.
    Start,
    /// Who is texting and how to stop it.
    Help,
}

const STOP: [&str; 8] = [
    "stop",
    "stopall",
    "unsubscribe",
    "cancel",
    "end",
    "quit",
    "revoke",
    "optout",
];
const START: [&str; 3] = ["start", "yes", "unstop"];
const HELP: [&str; 2] = ["help", "info"];

impl Keyword {
    /// The keyword a whole message is, if it is one.
    ///
    /// "YES" is in the opt-in family (as at Twilio), but it is also how a
    /// monitored contact answers a check-in: the caller treats it as opt-in
    /// only for a number that is opted out (`is_ambiguous_reply`).
    pub fn of(body: &str) -> Option<Keyword> {
        let folded = crate::fold(body);
        let word = folded.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation());
        if word.is_empty() || word.contains(char::is_whitespace) {
            return None;
        }
        if STOP.contains(&word) {
            Some(Keyword::Stop)
        } else if START.contains(&word) {
            Some(Keyword::Start)
        } else if HELP.contains(&word) {
            Some(Keyword::Help)
        } else {
            None
        }
    }

    /// Whether this message is also an ordinary answer ("yes") that only
    /// counts as opting back in for an opted-out number.
    pub fn is_ambiguous_reply(body: &str) -> bool {
        let folded = crate::fold(body);
        folded.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation()) == "yes"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_of_each_family() {
        for w in STOP {
            assert_eq!(Keyword::of(w), Some(Keyword::Stop), "{w}");
        }
        for w in ["START", "Yes", "unstop"] {
            assert_eq!(Keyword::of(w), Some(Keyword::Start), "{w}");
        }
        assert_eq!(Keyword::of("HELP"), Some(Keyword::Help));
        assert_eq!(Keyword::of("info"), Some(Keyword::Help));
    }

    #[test]
    fn case_space_punctuation_and_accents_are_tolerated() {
        for body in [
            "Stop", " STOP ", "stop.", "STOP!!", "Stóp", "\tquit\n", "Opt-Out",
        ] {
            // "Opt-Out" folds to "opt-out": the hyphen is inside the word,
            // which is not "optout".
            let want = (body != "Opt-Out").then_some(Keyword::Stop);
            assert_eq!(Keyword::of(body), want, "{body:?}");
        }
    }

    #[test]
    fn a_sentence_is_not_a_keyword() {
        for body in [
            "please stop",
            "stop texting me",
            "I can't stop coughing",
            "",
            "  ",
            "stopp",
            "yes I have a fever",
        ] {
            assert_eq!(Keyword::of(body), None, "{body:?}");
        }
    }

    #[test]
    fn yes_is_marked_ambiguous() {
        assert!(Keyword::is_ambiguous_reply(" Yes! "));
        assert!(!Keyword::is_ambiguous_reply("START"));
        assert!(!Keyword::is_ambiguous_reply("no"));
    }
}
