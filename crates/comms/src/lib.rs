//! What tracedesk knows about reaching people, without touching a network:
//! how an SMS body is encoded and split into segments, which replies are
//! opt-out, opt-in and help keywords, the message templates in each
//! supported language and the lint that keeps diagnoses out of texts, and
//! the signature Twilio puts on every webhook. The outbox, carriers and
//! webhooks build on these; keeping them pure lets each rule be tested with
//! worked examples.

pub mod carrier;
pub mod keywords;
pub mod replies;
pub mod sandbox;
pub mod segments;
pub mod signature;
pub mod templates;
pub mod throughput;
pub mod twiml;
pub mod windows;

pub use carrier::{Carrier, Channels, Delivery, Outgoing};
pub use keywords::Keyword;
pub use segments::{Encoding, Segments};
pub use templates::{Lint, Template, TemplateError};

/// Folds text for keyword and lint matching: compatibility-normalized,
/// accents removed, lower case. "STÓP" and "stop" fold alike; so do
/// "Diagnóstico" and "diagnostico". Only the combining diacritics that
/// accent Latin, Greek and Cyrillic letters go: the vowel signs of scripts
/// such as Bengali are letters' own parts, and removing them would make
/// different words alike.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfkd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .collect::<String>()
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn folding_removes_accents_not_letters() {
        assert_eq!(
            super::fold("STÓP Diagnóstico заражён"),
            "stop diagnostico заражен"
        );
        // Bengali "corona" and "please call" differ only in vowel signs.
        assert_ne!(super::fold("করোনা"), super::fold("করুন"));
    }
}
