//! TwiML, the XML Twilio asks for when a call is answered: what to say
//! (`<Say>` with a voice for the person's language), what to ask
//! (`<Gather>` digits and speech, posted to an action URL), and whom to
//! connect (`<Dial>` with the program's number as caller ID). Every text
//! and attribute is escaped here, so nothing a template or a person wrote
//! can change the document's structure.

/// The `<Say>` voice and language for one of tracedesk's languages:
/// Twilio's Google standard voices. Haitian Creole has no text-to-speech
/// voice at Twilio, so its calls are spoken in English (and its voice
/// templates fall back to English); the text channels carry Creole.
pub fn voice_for(language: &str) -> (&'static str, &'static str) {
    match language {
        "es" => ("Google.es-US-Standard-A", "es-US"),
        "zh" => ("Google.cmn-CN-Standard-A", "cmn-CN"),
        "ru" => ("Google.ru-RU-Standard-A", "ru-RU"),
        "bn" => ("Google.bn-IN-Standard-A", "bn-IN"),
        _ => ("Google.en-US-Standard-C", "en-US"),
    }
}

/// Whether a language has its own voice (else its calls are in English).
pub fn has_voice(language: &str) -> bool {
    matches!(language, "en" | "es" | "zh" | "ru" | "bn")
}

/// XML-escapes text for an element or a double-quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// One verb of a TwiML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// Speak `text` in `language`.
    Say {
        language: String,
        text: String,
    },
    /// Ask: speak `prompt`, take one keypress or a short spoken answer,
    /// and post it to `action`.
    Gather {
        language: String,
        prompt: String,
        action: String,
    },
    /// Connect the call to `number`, showing `caller_id`; `announce` is a
    /// URL whose TwiML the called person hears before being connected
    /// (the recording notice); `record` records both legs from answer.
    Dial {
        caller_id: String,
        number: String,
        record: bool,
        announce: Option<String>,
    },
    Hangup,
}

/// A TwiML document of `verbs`.
pub fn document(verbs: &[Verb]) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>");
    for v in verbs {
        match v {
            Verb::Say { language, text } => say(&mut out, language, text),
            Verb::Gather {
                language,
                prompt,
                action,
            } => {
                let (_, locale) = voice_for(language);
                out.push_str(&format!(
                    "<Gather input=\"dtmf speech\" numDigits=\"1\" timeout=\"8\" speechTimeout=\"auto\" language=\"{}\" action=\"{}\" method=\"POST\">",
                    locale,
                    escape(action)
                ));
                say(&mut out, language, prompt);
                out.push_str("</Gather>");
            }
            Verb::Dial {
                caller_id,
                number,
                record,
                announce,
            } => {
                out.push_str(&format!("<Dial callerId=\"{}\"", escape(caller_id)));
                if *record {
                    out.push_str(" record=\"record-from-answer-dual\"");
                }
                out.push('>');
                match announce {
                    Some(url) => out.push_str(&format!(
                        "<Number url=\"{}\" method=\"POST\">{}</Number>",
                        escape(url),
                        escape(number)
                    )),
                    None => out.push_str(&format!("<Number>{}</Number>", escape(number))),
                }
                out.push_str("</Dial>");
            }
            Verb::Hangup => out.push_str("<Hangup/>"),
        }
    }
    out.push_str("</Response>");
    out
}

fn say(out: &mut String, language: &str, text: &str) {
    let (voice, locale) = voice_for(language);
    out.push_str(&format!(
        "<Say voice=\"{voice}\" language=\"{locale}\">{}</Say>",
        escape(text)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_break_the_document() {
        let doc = document(&[Verb::Say {
            language: "en".into(),
            text: "</Say><Dial>+15550000</Dial> & \"x\"".into(),
        }]);
        assert!(!doc.contains("<Dial>"), "{doc}");
        assert!(doc.contains("&lt;/Say&gt;&lt;Dial&gt;+15550000&lt;/Dial&gt; &amp; &quot;x&quot;"));
    }

    #[test]
    fn each_language_has_its_voice_and_creole_speaks_english() {
        let doc = document(&[Verb::Say {
            language: "es".into(),
            text: "Hola".into(),
        }]);
        assert!(doc.contains("voice=\"Google.es-US-Standard-A\" language=\"es-US\""));
        assert_eq!(voice_for("ht").1, "en-US");
        assert!(!has_voice("ht"));
        assert!(has_voice("bn"));
    }

    #[test]
    fn gather_and_dial_have_their_attributes() {
        let doc = document(&[
            Verb::Gather {
                language: "ru".into(),
                prompt: "Нажмите 1".into(),
                action: "https://t.example/webhooks/twilio/voice/gather?m=1&x=2".into(),
            },
            Verb::Dial {
                caller_id: "+12125550100".into(),
                number: "+12125550123".into(),
                record: true,
                announce: Some("https://t.example/a?m=1".into()),
            },
            Verb::Hangup,
        ]);
        assert!(
            doc.contains("<Gather input=\"dtmf speech\" numDigits=\"1\""),
            "{doc}"
        );
        assert!(doc.contains("language=\"ru-RU\" action=\"https://t.example/webhooks/twilio/voice/gather?m=1&amp;x=2\""), "{doc}");
        assert!(doc.contains("<Dial callerId=\"+12125550100\" record=\"record-from-answer-dual\"><Number url=\"https://t.example/a?m=1\" method=\"POST\">+12125550123</Number></Dial><Hangup/></Response>"), "{doc}");
    }
}
