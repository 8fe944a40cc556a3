//! The web self-report link: a check-in by a link in a text or an email
//! that opens a one-question page. The link names one contact record and
//! when it was issued, signed with the vault's MAC key: nothing personal
//! is in the URL, it cannot be forged or pointed at another record, it
//! expires after [`VALIDITY`], and once a report has been made through it
//! (or any answer given since it was issued) it answers no more.
//!
//! The page shows no personal data either — only the program's name and
//! the question, in the contact's language — so a link forwarded or seen
//! over a shoulder discloses nothing but that someone is being checked on.

use crate::CaseworkError;
use crate::monitoring::Via;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Serialize;
use tracedesk_comms::replies::{self, Reply};
use tracedesk_domain::ContactStatus;
use tracedesk_vault::BlindKind;
use uuid::Uuid;

/// How long a link answers.
pub const VALIDITY: chrono::Duration = chrono::Duration::hours(24);

/// A link's token: the record's id, the issue time, a MAC of both.
const LEN: usize = 16 + 8 + 16;

/// Where a link stands when it is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// The question can be answered.
    Open,
    /// Answered since the link was issued.
    Answered,
    /// Past its validity, or the record is no longer monitored.
    Closed,
}

/// What a self-report page shows (no personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportPage {
    pub state: LinkState,
    /// The page's language (the contact's).
    pub language: String,
    pub program: String,
    pub text: PageText,
}

/// A page's words in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageText {
    pub title: &'static str,
    pub question: &'static str,
    pub well: &'static str,
    pub unwell: &'static str,
    pub details: &'static str,
    pub thanks: &'static str,
    pub closed: &'static str,
}

/// The page's words, per language.
fn words(language: &str) -> PageText {
    let (title, question, well, unwell, details, thanks, closed) = match language {
        "es" => (
            "Control de salud diario",
            "¿Tiene hoy algún síntoma, como fiebre, tos o dificultad para respirar?",
            "No, me siento bien",
            "Sí, tengo síntomas",
            "¿Qué síntomas? (opcional)",
            "Gracias. Su respuesta fue recibida.",
            "Este enlace ya no está activo. Gracias.",
        ),
        "zh" => (
            "每日健康询问",
            "您今天有任何症状吗？例如发烧、咳嗽或呼吸困难。",
            "没有，我感觉良好",
            "有，我有症状",
            "什么症状？（可选）",
            "谢谢。我们已收到您的回答。",
            "此链接已失效。谢谢。",
        ),
        "ru" => (
            "Ежедневный опрос о самочувствии",
            "Есть ли у вас сегодня какие-либо симптомы, например жар, кашель или затруднённое дыхание?",
            "Нет, я чувствую себя хорошо",
            "Да, у меня есть симптомы",
            "Какие симптомы? (необязательно)",
            "Спасибо. Ваш ответ получен.",
            "Эта ссылка больше не действует. Спасибо.",
        ),
        "bn" => (
            "দৈনিক স্বাস্থ্য খোঁজখবর",
            "আজ কি আপনার জ্বর, কাশি বা শ্বাসকষ্টের মতো কোনো উপসর্গ আছে?",
            "না, আমি ভালো আছি",
            "হ্যাঁ, আমার উপসর্গ আছে",
            "কী উপসর্গ? (ঐচ্ছিক)",
            "ধন্যবাদ। আপনার উত্তর পাওয়া গেছে।",
            "এই লিংকটি আর সক্রিয় নেই। ধন্যবাদ।",
        ),
        "ht" => (
            "Kesyon sante chak jou",
            "Èske ou gen nenpòt sentòm jodi a, tankou lafyèv, tous oswa difikilte pou respire?",
            "Non, mwen santi m byen",
            "Wi, mwen gen sentòm",
            "Ki sentòm? (si ou vle)",
            "Mèsi. Nou resevwa repons ou.",
            "Lyen sa a pa aktif ankò. Mèsi.",
        ),
        _ => (
            "Daily health check",
            "Do you have any symptoms today, such as fever, cough, or trouble breathing?",
            "No, I feel well",
            "Yes, I have symptoms",
            "Which symptoms? (optional)",
            "Thank you. Your answer was received.",
            "This link is no longer active. Thank you.",
        ),
    };
    PageText {
        title,
        question,
        well,
        unwell,
        details,
        thanks,
        closed,
    }
}

impl crate::Casework {
    fn link_mac(&self, payload: &[u8]) -> Vec<u8> {
        self.vault
            .blind(BlindKind::ReportLink, &hex::encode(payload))
    }

    /// A signed link token for contact record `exposure`, issued `at`.
    pub(crate) fn link_token(&self, exposure: Uuid, at: DateTime<Utc>) -> String {
        let mut bytes = Vec::with_capacity(LEN);
        bytes.extend_from_slice(exposure.as_bytes());
        bytes.extend_from_slice(&at.timestamp().to_be_bytes());
        let mac = self.link_mac(&bytes);
        bytes.extend_from_slice(&mac);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The link to send: the report page at the configured public address.
    pub(crate) fn report_link(&self, exposure: Uuid, at: DateTime<Utc>) -> String {
        format!(
            "{}/r/{}",
            self.settings
                .messaging
                .report_base_url
                .trim_end_matches('/'),
            self.link_token(exposure, at)
        )
    }

    /// The record and issue time a token names, if its MAC holds; `None`
    /// for anything else (a typo, a forgery, another program's link).
    fn open_token(&self, token: &str) -> Option<(Uuid, DateTime<Utc>)> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()
            .filter(|b| b.len() == LEN)?;
        let (payload, mac) = bytes.split_at(24);
        let expected = self.link_mac(payload);
        // Constant time: a MAC is not found byte by byte.
        let diff = expected.iter().zip(mac).fold(0u8, |d, (a, b)| d | (a ^ b));
        if diff != 0 || expected.len() != mac.len() {
            return None;
        }
        let id = Uuid::from_slice(&payload[..16]).ok()?;
        let secs = i64::from_be_bytes(payload[16..24].try_into().ok()?);
        Some((id, DateTime::from_timestamp(secs, 0)?))
    }
}

/// A link that is not one of this program's (404, nothing said about why).
fn unknown() -> CaseworkError {
    CaseworkError::NotFound("link")
}

impl crate::services::Messages<'_> {
    /// The record a link names, where it stands, and its language.
    async fn link(
        &self,
        token: &str,
    ) -> Result<(tracedesk_store::MonitoringRow, LinkState, String), CaseworkError> {
        let (id, issued) = self.open_token(token).ok_or_else(unknown)?;
        let row = self.store.get_monitoring(id).await?.ok_or_else(unknown)?;
        let language = self.language_of(&row).await?;
        let monitored = self
            .store
            .get_exposure(id)
            .await?
            .is_some_and(|e| e.status == ContactStatus::Monitoring.as_str());
        let now = self.now();
        // Answered first: the answer may have ended the monitoring.
        let state = if row.last_reply_at.is_some_and(|r| r >= issued) && issued <= now {
            LinkState::Answered
        } else if !monitored || now > issued + VALIDITY || issued > now {
            LinkState::Closed
        } else {
            LinkState::Open
        };
        Ok((row, state, language))
    }

    fn page(&self, state: LinkState, language: String) -> ReportPage {
        ReportPage {
            state,
            text: words(&language),
            language,
            program: self.settings.messaging.program_name.clone(),
        }
    }

    /// The self-report page a link opens.
    pub async fn report_page(&self, token: &str) -> Result<ReportPage, CaseworkError> {
        let (_, state, language) = self.link(token).await?;
        Ok(self.page(state, language))
    }

    /// A report through a link: `well`, or symptoms (those named in
    /// `details`, understood in any supported language). Taken once: a
    /// link already answered, or closed, changes nothing and says so.
    pub async fn report(
        &self,
        token: &str,
        well: bool,
        details: Option<&str>,
    ) -> Result<ReportPage, CaseworkError> {
        let (row, state, language) = self.link(token).await?;
        if state != LinkState::Open {
            return Ok(self.page(state, language));
        }
        let details = details
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(|d| d.chars().take(500).collect::<String>());
        let reply = if well {
            Reply::Well
        } else {
            match details.as_deref().map(replies::parse) {
                Some(Reply::Symptomatic(named)) => Reply::Symptomatic(named),
                _ => Reply::Symptomatic(Vec::new()),
            }
        };
        // Kept on the person's thread like a text would be (what the page
        // was told; the words they typed, if any).
        let body = match (&reply, &details) {
            (Reply::Well, _) => words(&language).well.to_string(),
            (_, Some(d)) => format!("{}: {d}", words(&language).unwell),
            _ => words(&language).unwell.to_string(),
        };
        let mut m = crate::messaging::queued_row(
            self,
            "web",
            "",
            Vec::new(),
            &body,
            crate::messaging::priority::NORMAL,
            None,
        );
        m.direction = "in".into();
        m.status = tracedesk_store::messages::status::RECEIVED.into();
        m.person_id = Some(row.person_id);
        m.jurisdiction = Some(row.jurisdiction.clone());
        m.sender = None;
        m.expires_at = m.created_at;
        if let Some(a) = self.auditor() {
            a.record(vec![crate::auditor::draft(
                "report-link",
                tracedesk_store::audit::Action::PhiWrite,
                "message",
                Some(m.id),
                m.person_id,
                "self-report received",
            )])
            .await?;
        }
        self.inbox().store(m).await?;
        match self.apply_reply(row, None, &reply, Via::Web).await? {
            Some(_) => Ok(self.page(LinkState::Answered, language)),
            None => Ok(self.page(LinkState::Closed, language)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_its_words() {
        for l in tracedesk_comms::templates::LANGUAGES {
            let w = words(l);
            assert!(!w.question.is_empty() && !w.thanks.is_empty());
            if l != "en" {
                assert_ne!(w.question, words("en").question, "{l}");
            }
        }
    }
}
