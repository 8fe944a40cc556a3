//! Every string the staff app shows goes through one message catalog in
//! Project Fluent's format (`locales/{lang}.ftl`), so the app can be
//! translated without touching a template. English ships; a translation is
//! one more file. A message id used by a template but missing from the
//! catalog fails the `every_template_message_is_in_the_catalog` test.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use std::sync::OnceLock;

const ENGLISH: &str = include_str!("../locales/en.ftl");

/// The strings of one language.
pub struct Catalog {
    bundle: FluentBundle<FluentResource>,
    lang: &'static str,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog").field("lang", &self.lang).finish()
    }
}

impl Catalog {
    fn parse(lang: &'static str, source: &str) -> Result<Self, String> {
        let resource = FluentResource::try_new(source.to_string())
            .map_err(|(_, errors)| format!("{lang}.ftl does not parse: {errors:?}"))?;
        let id: unic_langid::LanguageIdentifier = lang
            .parse()
            .map_err(|_| format!("{lang} is not a language tag"))?;
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // Pages are HTML, not bidirectional plain text: no isolation marks
        // around arguments.
        bundle.set_use_isolating(false);
        bundle
            .add_resource(resource)
            .map_err(|errors| format!("{lang}.ftl repeats ids: {errors:?}"))?;
        Ok(Self { bundle, lang })
    }

    /// The English catalog, parsed once. The file is compiled in and
    /// checked by the tests, so a parse failure here is a build defect; it
    /// still yields an empty catalog (every id shown as itself) rather than
    /// a panic in a request.
    pub fn english() -> &'static Catalog {
        static EN: OnceLock<Catalog> = OnceLock::new();
        EN.get_or_init(|| {
            Catalog::parse("en", ENGLISH).unwrap_or_else(|_| Catalog {
                bundle: FluentBundle::new_concurrent(Vec::new()),
                lang: "en",
            })
        })
    }

    /// The catalog's language tag, for `<html lang>`.
    pub fn lang(&self) -> &'static str {
        self.lang
    }

    /// The message `id`; the id itself if the catalog lacks it.
    pub fn get(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with its variables (`{ $name }`) filled in.
    pub fn with(&self, id: &str, args: &[(&str, &str)]) -> String {
        let mut a = FluentArgs::new();
        for &(k, v) in args {
            a.set(k, v.to_string());
        }
        self.format(id, Some(&a))
    }

    /// The message `id` with its variables and one number variable (so
    /// plural forms apply to it).
    pub fn with_count(&self, id: &str, args: &[(&str, &str)], count: (&str, i64)) -> String {
        let mut a = FluentArgs::new();
        for &(k, v) in args {
            a.set(k, v.to_string());
        }
        a.set(count.0, count.1);
        self.format(id, Some(&a))
    }

    /// The message `id` with one number variable, so plural forms apply.
    /// (Templates hand over references; both are taken.)
    pub fn count(&self, id: &str, name: &str, n: impl std::borrow::Borrow<i64>) -> String {
        let mut a = FluentArgs::new();
        a.set(name, *n.borrow());
        self.format(id, Some(&a))
    }

    fn format(&self, id: &str, args: Option<&FluentArgs>) -> String {
        let Some(pattern) = self.bundle.get_message(id).and_then(|m| m.value()) else {
            return id.to_string();
        };
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }

    /// The message `{prefix}-{value}` for a value from a closed list (a
    /// task kind, a status); the value itself where the catalog has none.
    pub fn of(&self, prefix: &str, value: &str) -> String {
        let id = format!("{prefix}-{value}");
        if self.has(&id) {
            self.get(&id)
        } else {
            value.to_string()
        }
    }

    /// Whether the catalog has `id` (tests).
    pub fn has(&self, id: &str) -> bool {
        self.bundle.has_message(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_parses_and_fills_variables() {
        let en = Catalog::parse("en", ENGLISH).unwrap();
        assert_eq!(en.get("sign-in"), "Sign in");
        assert_eq!(
            en.with("signed-in-as", &[("name", "Ana"), ("role", "tracer")]),
            "Signed in as Ana (tracer)"
        );
        assert_eq!(en.count("tasks-waiting", "n", 1), "1 task waiting");
        assert_eq!(en.count("tasks-waiting", "n", 3), "3 tasks waiting");
        assert_eq!(en.get("no-such-message"), "no-such-message");
    }

    #[test]
    fn a_broken_catalog_is_refused_with_its_reason() {
        assert!(Catalog::parse("en", "a = 1\na = 2\n").is_err());
        assert!(Catalog::parse("en", "= nothing\n").is_err());
    }

    /// Every `t.get("…")`, `t.with("…"` and `t.count("…"` in a template
    /// names a message the English catalog has.
    #[test]
    fn every_template_message_is_in_the_catalog() {
        let en = Catalog::english();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for call in ["t.get(\"", "t.with(\"", "t.count(\""] {
                for (at, _) in text.match_indices(call) {
                    let id = text[at + call.len()..].split('"').next().unwrap();
                    assert!(en.has(id), "{} uses {id}, not in en.ftl", path.display());
                    seen += 1;
                }
            }
        }
        assert!(seen > 15, "the templates use the catalog ({seen} uses)");
    }
}
