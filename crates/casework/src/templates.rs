//! The templates messages are written from: the built-in ones in six
//! languages, and operators' edits of them, which win until deleted.
//!
//! Edits are few and read on every message (a million check-ins render a
//! handful of templates), so each node keeps them in memory and reloads
//! them when they are older than [`FRESH`] — an edit made on one node is in
//! use on every node within that time, and at once on the node that made it.

use crate::CaseworkError;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tracedesk_comms::templates::{self, Template};
use tracedesk_store::TemplateRow;
use uuid::Uuid;

/// How long a node trusts its copy of the edits.
pub const FRESH: Duration = Duration::from_secs(30);

/// The edits a node holds, and when it read them.
#[derive(Debug)]
pub(crate) struct Book {
    edits: BTreeMap<(String, String, String), TemplateRow>,
    /// `None`: never read.
    read_at: Option<Instant>,
}

pub(crate) type Shared = Arc<RwLock<Arc<Book>>>;

pub(crate) fn empty() -> Shared {
    Arc::new(RwLock::new(Arc::new(Book {
        edits: BTreeMap::new(),
        read_at: None,
    })))
}

/// A template as operators see it: what is in effect for its name,
/// channel and language, and whether it is the built-in or an edit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TemplateView {
    pub name: String,
    pub channel: String,
    pub language: String,
    pub body: String,
    /// `builtin` or `edited`.
    pub source: &'static str,
    /// The built-in body an edit replaces (to compare or go back to).
    pub builtin: Option<String>,
    /// `gsm7` or `ucs2` (an SMS's encoding decides its segments).
    #[schema(value_type = String)]
    pub encoding: tracedesk_comms::Encoding,
    /// Segments of the body as rendered with this program's values.
    pub segments: usize,
    pub updated_by: Option<Uuid>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What an operator may edit: the names tracedesk sends, on a channel it
/// has, in a language it supports.
fn editable(name: &str, channel: &str, language: &str) -> Result<(), CaseworkError> {
    if !templates::BUILTIN.iter().any(|(n, ..)| *n == name) {
        return Err(CaseworkError::NotFound("template"));
    }
    if !templates::CHANNELS.contains(&channel) {
        return Err(CaseworkError::invalid(
            "channel",
            "must be sms, voice or email",
        ));
    }
    if !templates::LANGUAGES.contains(&language) {
        return Err(CaseworkError::invalid(
            "language",
            "must be one of en, es, zh, ru, bn, ht",
        ));
    }
    Ok(())
}

impl crate::Casework {
    fn book(&self) -> Arc<Book> {
        match self.templates.read() {
            Ok(b) => b.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The template `name` for `channel` in `language`: an edit in that
    /// language, else the built-in in it, else the same in English; an
    /// email with none of these is written from the text's template.
    pub(crate) fn template(&self, name: &str, channel: &str, language: &str) -> Option<Template> {
        let book = self.book();
        let edit = |lang: &str| {
            book.edits
                .get(&(name.to_string(), channel.to_string(), lang.to_string()))
                .map(|r| Template {
                    name: r.name.clone(),
                    channel: r.channel.clone(),
                    language: r.language.clone(),
                    body: r.body.clone(),
                })
        };
        let exact = |lang: &str| {
            edit(lang)
                .or_else(|| templates::builtin(name, channel, lang).filter(|t| t.language == lang))
        };
        let found = exact(language).or_else(|| exact("en"));
        // An email says what the text says, where no email wording exists.
        match found {
            None if channel == "email" => self.template(name, "sms", language).map(|t| Template {
                channel: "email".into(),
                ..t
            }),
            found => found,
        }
    }

    /// Reloads the edits from the store.
    pub async fn refresh_templates(&self) -> Result<(), CaseworkError> {
        let rows = self.store.list_templates().await?;
        let book = Arc::new(Book {
            edits: rows
                .into_iter()
                .map(|r| ((r.name.clone(), r.channel.clone(), r.language.clone()), r))
                .collect(),
            read_at: Some(Instant::now()),
        });
        match self.templates.write() {
            Ok(mut b) => *b = book,
            Err(poisoned) => *poisoned.into_inner() = book,
        }
        Ok(())
    }

    /// Reloads the edits if this node's copy is older than [`FRESH`]
    /// (before work that renders messages).
    pub(crate) async fn fresh_templates(&self) -> Result<(), CaseworkError> {
        let stale = self.book().read_at.is_none_or(|at| at.elapsed() >= FRESH);
        if stale {
            self.refresh_templates().await?;
        }
        Ok(())
    }
}

impl crate::services::Messages<'_> {
    fn template_view(&self, name: &str, channel: &str, language: &str) -> TemplateView {
        let book = self.book();
        let key = (name.to_string(), channel.to_string(), language.to_string());
        let builtin = templates::builtin(name, channel, language)
            .filter(|t| t.language == language)
            .map(|t| t.body);
        let edit = book.edits.get(&key);
        let body = edit
            .map(|r| r.body.clone())
            .or_else(|| builtin.clone())
            .unwrap_or_default();
        let rendered = Template {
            name: name.into(),
            channel: channel.into(),
            language: language.into(),
            body: body.clone(),
        }
        .render(&crate::messaging::template_values(&self.settings.messaging))
        .unwrap_or_else(|_| body.clone());
        let count = tracedesk_comms::segments::count(&rendered);
        TemplateView {
            name: name.into(),
            channel: channel.into(),
            language: language.into(),
            source: if edit.is_some() { "edited" } else { "builtin" },
            builtin: if edit.is_some() { builtin } else { None },
            body,
            encoding: count.encoding,
            segments: count.segments,
            updated_by: edit.and_then(|r| r.updated_by),
            updated_at: edit.map(|r| r.updated_at),
        }
    }

    /// Every template in effect: each built-in name, channel and language,
    /// and each edit.
    pub async fn templates(&self) -> Result<Vec<TemplateView>, CaseworkError> {
        self.refresh_templates().await?;
        let mut keys: Vec<(String, String, String)> = templates::BUILTIN
            .iter()
            .map(|(n, c, l, _)| (n.to_string(), c.to_string(), l.to_string()))
            .chain(self.book().edits.keys().cloned())
            .collect();
        keys.sort();
        keys.dedup();
        Ok(keys
            .iter()
            .map(|(n, c, l)| self.template_view(n, c, l))
            .collect())
    }

    /// One template in effect.
    pub async fn template_in_effect(
        &self,
        name: &str,
        channel: &str,
        language: &str,
    ) -> Result<TemplateView, CaseworkError> {
        editable(name, channel, language)?;
        self.refresh_templates().await?;
        Ok(self.template_view(name, channel, language))
    }

    /// Saves an operator's body for a template. It must pass the lint as
    /// written and as rendered (a program name can disclose too), and an
    /// SMS template whose built-in tells people how to opt out must still
    /// say STOP: carriers require it, and the people texted rely on it.
    pub async fn put_template(
        &self,
        name: &str,
        channel: &str,
        language: &str,
        body: &str,
    ) -> Result<TemplateView, CaseworkError> {
        editable(name, channel, language)?;
        let bad = |e: templates::TemplateError| CaseworkError::invalid("body", &e.to_string());
        templates::check(channel, body).map_err(bad)?;
        let t = Template {
            name: name.into(),
            channel: channel.into(),
            language: language.into(),
            body: body.into(),
        };
        let rendered = t
            .render(&crate::messaging::template_values(&self.settings.messaging))
            .map_err(bad)?;
        templates::check(channel, &rendered).map_err(bad)?;
        let tells_stop =
            templates::builtin(name, channel, "en").is_some_and(|b| b.body.contains("STOP"));
        if channel == "sms" && tells_stop && !body.contains("STOP") {
            return Err(CaseworkError::invalid(
                "body",
                "this text must still tell people to reply STOP to opt out",
            ));
        }
        self.store
            .put_template(&TemplateRow {
                name: name.into(),
                channel: channel.into(),
                language: language.into(),
                body: body.into(),
                updated_by: self.author(),
                updated_at: self.now(),
            })
            .await?;
        self.refresh_templates().await?;
        Ok(self.template_view(name, channel, language))
    }

    /// Deletes an operator's edit: the built-in is in effect again.
    pub async fn reset_template(
        &self,
        name: &str,
        channel: &str,
        language: &str,
    ) -> Result<TemplateView, CaseworkError> {
        editable(name, channel, language)?;
        if !self.store.delete_template(name, channel, language).await? {
            return Err(CaseworkError::NotFound("template edit"));
        }
        self.refresh_templates().await?;
        Ok(self.template_view(name, channel, language))
    }
}
