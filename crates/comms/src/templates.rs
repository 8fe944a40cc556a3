//! Message templates: a body per (name, language, channel) with `{name}`
//! variables, and the lint that keeps a diagnosis out of every text. An
//! SMS can be read by anyone holding the phone and sits in carriers' logs,
//! so it says "please call us", never "you tested positive" (DESIGN.md's
//! privacy rules); the lint refuses a template or a free-text body that
//! names a diagnosis in any supported language.

use serde::Serialize;
use std::collections::BTreeMap;

/// The languages every built-in template ships in: English and New York
/// City's most common after it (Spanish, Chinese (Simplified), Russian,
/// Bengali, Haitian Creole).
pub const LANGUAGES: [&str; 6] = ["en", "es", "zh", "ru", "bn", "ht"];

/// The channels a template is for.
pub const CHANNELS: [&str; 3] = ["sms", "voice", "email"];

/// The variables a template may use.
pub const VARIABLES: [&str; 3] = ["program", "callback", "link"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub channel: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("unknown variable {{{0}}}; known: program, callback, link")]
    UnknownVariable(String),
    #[error("no value given for {{{0}}}")]
    MissingValue(String),
    #[error("unclosed '{{' at character {0}")]
    Unclosed(usize),
    #[error("the body is empty")]
    Empty,
    #[error("the body is {0} characters; at most 1600")]
    TooLong(usize),
    #[error("unknown language {0:?}; supported: en, es, zh, ru, bn, ht")]
    Language(String),
    #[error("unknown channel {0:?}; one of sms, voice, email")]
    Channel(String),
    #[error("a text must not name a diagnosis: {}", .0.iter().map(|l| l.word).collect::<Vec<_>>().join(", "))]
    Diagnosis(Vec<Lint>),
}

/// A diagnosis word found in a body (the word is the lint's own, not the
/// body's text, so it can be shown anywhere).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lint {
    pub word: &'static str,
    pub language: &'static str,
}

/// Words that disclose a diagnosis or a result, per language, as written;
/// matched folded (any case, with or without accents). Words in alphabetic
/// scripts match at the start of a word ("infected", not "disinfected");
/// Chinese and Bengali anywhere.
const DIAGNOSIS: &[(&str, &[&str])] = &[
    (
        "en",
        &[
            "positive",
            "covid",
            "coronavirus",
            "sars-cov",
            "diagnos",
            "infected",
            "infection",
            "test result",
            "tested",
        ],
    ),
    (
        "es",
        &[
            "positivo",
            "positiva",
            "diagnóstico",
            "infectad",
            "infección",
            "contagiad",
            "resultado",
        ],
    ),
    (
        "zh",
        &["阳性", "新冠", "冠状病毒", "确诊", "感染", "检测结果"],
    ),
    (
        "ru",
        &[
            "положительн",
            "ковид",
            "коронавирус",
            "диагноз",
            "заражен",
            "инфицирован",
            "результат",
        ],
    ),
    ("bn", &["পজিটিভ", "কোভিড", "করোনা", "সংক্রমিত", "রোগ নির্ণয়"]),
    (
        "ht",
        &[
            "pozitif",
            "kovid",
            "koronaviris",
            "enfekte",
            "dyagnostik",
            "rezilta",
        ],
    ),
];

/// Diagnosis words in `body`, in every language (a Spanish word in an
/// English template discloses as much).
pub fn lint(body: &str) -> Vec<Lint> {
    let folded = crate::fold(body);
    let mut found = Vec::new();
    for (language, words) in DIAGNOSIS {
        for word in *words {
            let w = crate::fold(word);
            let bounded = w.chars().next().is_some_and(|c| (c as u32) < 0x0980);
            let hit = folded.match_indices(w.as_str()).any(|(i, _)| {
                !bounded
                    || folded[..i]
                        .chars()
                        .next_back()
                        .is_none_or(|c| !c.is_alphanumeric())
            });
            if hit {
                found.push(Lint { word, language });
            }
        }
    }
    found
}

/// Checks a body for a channel: not empty, not too long, variables known,
/// and (for a text or a call) no diagnosis.
pub fn check(channel: &str, body: &str) -> Result<(), TemplateError> {
    if !CHANNELS.contains(&channel) {
        return Err(TemplateError::Channel(channel.to_string()));
    }
    if body.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    let n = body.chars().count();
    if n > crate::segments::MAX_BODY_CHARS {
        return Err(TemplateError::TooLong(n));
    }
    for v in variables(body)? {
        if !VARIABLES.contains(&v) {
            return Err(TemplateError::UnknownVariable(v.to_string()));
        }
    }
    // A text and a call alike: a voicemail is heard by whoever plays it.
    if channel == "sms" || channel == "voice" {
        let found = lint(body);
        if !found.is_empty() {
            return Err(TemplateError::Diagnosis(found));
        }
    }
    Ok(())
}

/// The `{name}` variables of a body, in order. A `{` not followed by a
/// name and `}` is text (so "{ }" or "{{" pass through).
fn variables(body: &str) -> Result<Vec<&str>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut offset = 0;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 {
            if after[name_len..].starts_with('}') {
                out.push(&after[..name_len]);
                offset += i + name_len + 2;
                rest = &after[name_len + 1..];
                continue;
            }
            if name_len == after.len() {
                return Err(TemplateError::Unclosed(
                    body[..offset + i].chars().count() + 1,
                ));
            }
        }
        offset += i + 1;
        rest = after;
    }
    Ok(out)
}

impl Template {
    /// The body with each variable replaced by its value.
    pub fn render(&self, values: &BTreeMap<&str, String>) -> Result<String, TemplateError> {
        let mut out = self.body.clone();
        for v in variables(&self.body)? {
            let value = values
                .get(v)
                .ok_or_else(|| TemplateError::MissingValue(v.to_string()))?;
            out = out.replacen(&format!("{{{v}}}"), value, 1);
        }
        Ok(out)
    }
}

/// The built-in templates: (name, channel, language, body). Operators edit
/// copies of these; a name with no copy in a language falls back to the
/// built-in, then to English.
pub const BUILTIN: &[(&str, &str, &str, &str)] = &[
    (
        "contact_notification",
        "sms",
        "en",
        "{program}: we have an important health message for you. Please call us at {callback}. Reply STOP to opt out.",
    ),
    (
        "contact_notification",
        "sms",
        "es",
        "{program}: tenemos un mensaje de salud importante para usted. Llámenos al {callback}. Responda STOP para no recibir más mensajes.",
    ),
    (
        "contact_notification",
        "sms",
        "zh",
        "{program}：我们有一条重要的健康信息要告诉您。请致电 {callback}。回复 STOP 退订。",
    ),
    (
        "contact_notification",
        "sms",
        "ru",
        "{program}: у нас есть для вас важное сообщение о здоровье. Позвоните нам по номеру {callback}. Ответьте STOP, чтобы отписаться.",
    ),
    (
        "contact_notification",
        "sms",
        "bn",
        "{program}: আপনার জন্য একটি গুরুত্বপূর্ণ স্বাস্থ্য বার্তা আছে। অনুগ্রহ করে {callback} নম্বরে আমাদের কল করুন। বার্তা বন্ধ করতে STOP লিখুন।",
    ),
    (
        "contact_notification",
        "sms",
        "ht",
        "{program}: nou gen yon mesaj sante enpòtan pou ou. Tanpri rele nou nan {callback}. Reponn STOP pou pa resevwa mesaj ankò.",
    ),
    (
        "case_outreach",
        "sms",
        "en",
        "{program}: please call us at {callback} about an important health matter.",
    ),
    (
        "case_outreach",
        "sms",
        "es",
        "{program}: llámenos al {callback} por un asunto de salud importante.",
    ),
    (
        "case_outreach",
        "sms",
        "zh",
        "{program}：有重要的健康事宜，请致电 {callback} 联系我们。",
    ),
    (
        "case_outreach",
        "sms",
        "ru",
        "{program}: позвоните нам по номеру {callback} по важному вопросу о здоровье.",
    ),
    (
        "case_outreach",
        "sms",
        "bn",
        "{program}: একটি গুরুত্বপূর্ণ স্বাস্থ্য বিষয়ে অনুগ্রহ করে {callback} নম্বরে আমাদের কল করুন।",
    ),
    (
        "case_outreach",
        "sms",
        "ht",
        "{program}: tanpri rele nou nan {callback} pou yon zafè sante enpòtan.",
    ),
    (
        "checkin",
        "sms",
        "en",
        "{program} daily check-in: do you have any symptoms today? Reply YES or NO.",
    ),
    (
        "checkin",
        "sms",
        "es",
        "{program}, control diario: ¿tiene algún síntoma hoy? Responda SI o NO.",
    ),
    (
        "checkin",
        "sms",
        "zh",
        "{program} 每日随访：您今天有任何症状吗？请回复 是 或 否。",
    ),
    (
        "checkin",
        "sms",
        "ru",
        "{program}, ежедневная проверка: есть ли у вас сегодня симптомы? Ответьте ДА или НЕТ.",
    ),
    (
        "checkin",
        "sms",
        "bn",
        "{program} দৈনিক খোঁজ: আজ কি আপনার কোনো উপসর্গ আছে? হ্যাঁ বা না লিখে উত্তর দিন।",
    ),
    (
        "checkin",
        "sms",
        "ht",
        "{program}, swivi chak jou: èske ou gen nenpòt sentòm jodi a? Reponn WI oswa NON.",
    ),
    (
        "checkin_unclear",
        "sms",
        "en",
        "{program}: sorry, we did not understand your answer. Do you have any symptoms today? Reply YES or NO.",
    ),
    (
        "checkin_unclear",
        "sms",
        "es",
        "{program}: no entendimos su respuesta. ¿Tiene algún síntoma hoy? Responda SI o NO.",
    ),
    (
        "checkin_unclear",
        "sms",
        "zh",
        "{program}：抱歉，我们没有理解您的回复。您今天有任何症状吗？请回复 是 或 否。",
    ),
    (
        "checkin_unclear",
        "sms",
        "ru",
        "{program}: мы не поняли ваш ответ. Есть ли у вас сегодня симптомы? Ответьте ДА или НЕТ.",
    ),
    (
        "checkin_unclear",
        "sms",
        "bn",
        "{program}: দুঃখিত, আমরা আপনার উত্তর বুঝতে পারিনি। আজ কি আপনার কোনো উপসর্গ আছে? হ্যাঁ বা না লিখে উত্তর দিন।",
    ),
    (
        "checkin_unclear",
        "sms",
        "ht",
        "{program}: nou pa konprann repons ou. Èske ou gen nenpòt sentòm jodi a? Reponn WI oswa NON.",
    ),
    (
        "checkin_symptomatic",
        "sms",
        "en",
        "{program}: thank you. Please stay home and away from others, and get a test soon. We will call you, or call us at {callback}.",
    ),
    (
        "checkin_symptomatic",
        "sms",
        "es",
        "{program}: gracias. Quédese en casa, lejos de otras personas, y hágase una prueba pronto. Le llamaremos, o llámenos al {callback}.",
    ),
    (
        "checkin_symptomatic",
        "sms",
        "zh",
        "{program}：谢谢。请待在家中，远离他人，并尽快去做检测。我们会给您打电话，您也可以致电 {callback}。",
    ),
    (
        "checkin_symptomatic",
        "sms",
        "ru",
        "{program}: спасибо. Оставайтесь дома, держитесь подальше от других людей и как можно скорее сдайте тест. Мы вам позвоним, или позвоните нам по номеру {callback}.",
    ),
    (
        "checkin_symptomatic",
        "sms",
        "bn",
        "{program}: ধন্যবাদ। অনুগ্রহ করে বাড়িতে থাকুন, অন্যদের থেকে দূরে থাকুন এবং শীঘ্রই পরীক্ষা করান। আমরা আপনাকে কল করব, অথবা {callback} নম্বরে আমাদের কল করুন।",
    ),
    (
        "checkin_symptomatic",
        "sms",
        "ht",
        "{program}: mèsi. Tanpri rete lakay ou, lwen lòt moun, epi fè yon tès byento. N ap rele ou, oswa rele nou nan {callback}.",
    ),
    (
        "monitoring_complete",
        "sms",
        "en",
        "{program}: your daily check-ins are over. Thank you for taking part. Questions? Call {callback}.",
    ),
    (
        "monitoring_complete",
        "sms",
        "es",
        "{program}: sus controles diarios han terminado. Gracias por participar. ¿Preguntas? Llame al {callback}.",
    ),
    (
        "monitoring_complete",
        "sms",
        "zh",
        "{program}：您的每日随访已经结束。感谢您的配合。如有问题请致电 {callback}。",
    ),
    (
        "monitoring_complete",
        "sms",
        "ru",
        "{program}: ежедневные проверки закончены. Спасибо за участие. Вопросы? Звоните по номеру {callback}.",
    ),
    (
        "monitoring_complete",
        "sms",
        "bn",
        "{program}: আপনার দৈনিক খোঁজ শেষ হয়েছে। অংশ নেওয়ার জন্য ধন্যবাদ। প্রশ্ন থাকলে {callback} নম্বরে কল করুন।",
    ),
    (
        "monitoring_complete",
        "sms",
        "ht",
        "{program}: swivi chak jou ou yo fini. Mèsi paske ou te patisipe. Si ou gen kesyon, rele {callback}.",
    ),
    (
        "stop_confirmation",
        "sms",
        "en",
        "You will receive no more messages from {program}. Reply START to resume.",
    ),
    (
        "stop_confirmation",
        "sms",
        "es",
        "No recibirá más mensajes de {program}. Responda START para volver a recibirlos.",
    ),
    (
        "stop_confirmation",
        "sms",
        "zh",
        "您将不再收到 {program} 的短信。回复 START 可恢复。",
    ),
    (
        "stop_confirmation",
        "sms",
        "ru",
        "Вы больше не будете получать сообщения от {program}. Ответьте START, чтобы возобновить.",
    ),
    (
        "stop_confirmation",
        "sms",
        "bn",
        "আপনি {program} থেকে আর কোনো বার্তা পাবেন না। আবার পেতে START লিখুন।",
    ),
    (
        "stop_confirmation",
        "sms",
        "ht",
        "Ou p ap resevwa mesaj {program} ankò. Reponn START pou rekòmanse.",
    ),
    (
        "start_confirmation",
        "sms",
        "en",
        "{program}: messages resumed. Reply STOP to opt out, HELP for help.",
    ),
    (
        "start_confirmation",
        "sms",
        "es",
        "{program}: volverá a recibir mensajes. Responda STOP para dejar de recibirlos, HELP para ayuda.",
    ),
    (
        "start_confirmation",
        "sms",
        "zh",
        "{program}：已恢复短信。回复 STOP 退订，回复 HELP 获取帮助。",
    ),
    (
        "start_confirmation",
        "sms",
        "ru",
        "{program}: сообщения возобновлены. Ответьте STOP, чтобы отписаться, HELP — для помощи.",
    ),
    (
        "start_confirmation",
        "sms",
        "bn",
        "{program}: বার্তা আবার চালু হয়েছে। বন্ধ করতে STOP, সাহায্যের জন্য HELP লিখুন।",
    ),
    (
        "start_confirmation",
        "sms",
        "ht",
        "{program}: mesaj yo rekòmanse. Reponn STOP pou sispann, HELP pou èd.",
    ),
    (
        "help",
        "sms",
        "en",
        "{program}: call {callback} for help. Reply STOP to opt out.",
    ),
    (
        "help",
        "sms",
        "es",
        "{program}: llame al {callback} para obtener ayuda. Responda STOP para no recibir más mensajes.",
    ),
    (
        "help",
        "sms",
        "zh",
        "{program}：如需帮助请致电 {callback}。回复 STOP 退订。",
    ),
    (
        "help",
        "sms",
        "ru",
        "{program}: для помощи позвоните по номеру {callback}. Ответьте STOP, чтобы отписаться.",
    ),
    (
        "help",
        "sms",
        "bn",
        "{program}: সাহায্যের জন্য {callback} নম্বরে কল করুন। বার্তা বন্ধ করতে STOP লিখুন।",
    ),
    (
        "help",
        "sms",
        "ht",
        "{program}: rele {callback} pou èd. Reponn STOP pou pa resevwa mesaj ankò.",
    ),
    (
        "checkin_link",
        "sms",
        "en",
        "{program}: your daily health check is ready. Tap to answer: {link} Reply STOP to opt out.",
    ),
    (
        "checkin_link",
        "sms",
        "es",
        "{program}: su control de salud diario está listo. Toque para responder: {link} Responda STOP para no recibir más mensajes.",
    ),
    (
        "checkin_link",
        "sms",
        "zh",
        "{program}：您的每日健康询问已准备好。点击回答：{link} 回复 STOP 退订。",
    ),
    (
        "checkin_link",
        "sms",
        "ru",
        "{program}: ежедневный опрос о самочувствии готов. Ответьте по ссылке: {link} Ответьте STOP, чтобы отписаться.",
    ),
    (
        "checkin_link",
        "sms",
        "bn",
        "{program}: আপনার দৈনিক স্বাস্থ্য খোঁজখবর প্রস্তুত। উত্তর দিতে ট্যাপ করুন: {link} বার্তা বন্ধ করতে STOP লিখুন।",
    ),
    (
        "checkin_link",
        "sms",
        "ht",
        "{program}: kesyon sante chak jou ou a pare. Peze pou reponn: {link} Reponn STOP pou pa resevwa mesaj ankò.",
    ),
    // Calls (`<Say>`): English, Spanish, Chinese, Russian and Bengali;
    // Haitian Creole has no text-to-speech voice, so its calls use English.
    (
        "contact_notification",
        "voice",
        "en",
        "Hello. This is {program} calling with an important health message for you. Please call us back at {callback}. Again, please call {callback}. Thank you.",
    ),
    (
        "contact_notification",
        "voice",
        "es",
        "Hola. Le llama {program} con un mensaje de salud importante para usted. Por favor llámenos al {callback}. Otra vez, el número es {callback}. Gracias.",
    ),
    (
        "contact_notification",
        "voice",
        "zh",
        "您好。这里是{program}，我们有一条重要的健康信息要告诉您。请回电 {callback}。号码是 {callback}。谢谢。",
    ),
    (
        "contact_notification",
        "voice",
        "ru",
        "Здравствуйте. Вам звонят из {program} с важным сообщением о здоровье. Пожалуйста, перезвоните нам по номеру {callback}. Повторяем: {callback}. Спасибо.",
    ),
    (
        "contact_notification",
        "voice",
        "bn",
        "নমস্কার। {program} থেকে আপনার জন্য একটি গুরুত্বপূর্ণ স্বাস্থ্য বার্তা নিয়ে ফোন করছি। অনুগ্রহ করে {callback} নম্বরে আমাদের ফোন করুন। আবার বলছি, {callback}। ধন্যবাদ।",
    ),
    (
        "checkin",
        "voice",
        "en",
        "Hello, this is {program} with your daily health check. If you have any symptoms today, such as fever, cough, or trouble breathing, press 1 or say yes. If you feel well, press 2 or say no.",
    ),
    (
        "checkin",
        "voice",
        "es",
        "Hola, le llama {program} para su control de salud diario. Si hoy tiene algún síntoma, como fiebre, tos o dificultad para respirar, marque 1 o diga sí. Si se siente bien, marque 2 o diga no.",
    ),
    (
        "checkin",
        "voice",
        "zh",
        "您好，这里是{program}的每日健康询问。如果您今天有任何症状，例如发烧、咳嗽或呼吸困难，请按1或说“有”。如果您感觉良好，请按2或说“没有”。",
    ),
    (
        "checkin",
        "voice",
        "ru",
        "Здравствуйте, это {program}, ежедневный опрос о самочувствии. Если сегодня у вас есть какие-либо симптомы, например жар, кашель или затруднённое дыхание, нажмите 1 или скажите «да». Если вы чувствуете себя хорошо, нажмите 2 или скажите «нет».",
    ),
    (
        "checkin",
        "voice",
        "bn",
        "নমস্কার, {program} থেকে আপনার দৈনিক স্বাস্থ্য খোঁজখবর। আজ যদি আপনার জ্বর, কাশি বা শ্বাসকষ্টের মতো কোনো উপসর্গ থাকে, তাহলে 1 চাপুন বা হ্যাঁ বলুন। আপনি ভালো থাকলে 2 চাপুন বা না বলুন।",
    ),
    (
        "checkin_unclear",
        "voice",
        "en",
        "Sorry, we did not understand. If you have any symptoms today, press 1. If you feel well, press 2.",
    ),
    (
        "checkin_unclear",
        "voice",
        "es",
        "Disculpe, no le entendimos. Si hoy tiene algún síntoma, marque 1. Si se siente bien, marque 2.",
    ),
    (
        "checkin_unclear",
        "voice",
        "zh",
        "对不起，我们没有听懂。如果您今天有任何症状，请按1。如果您感觉良好，请按2。",
    ),
    (
        "checkin_unclear",
        "voice",
        "ru",
        "Извините, мы не поняли. Если сегодня у вас есть симптомы, нажмите 1. Если вы чувствуете себя хорошо, нажмите 2.",
    ),
    (
        "checkin_unclear",
        "voice",
        "bn",
        "দুঃখিত, আমরা বুঝতে পারিনি। আজ কোনো উপসর্গ থাকলে 1 চাপুন। ভালো থাকলে 2 চাপুন।",
    ),
    (
        "checkin_symptomatic",
        "voice",
        "en",
        "Thank you. Someone from our team will call you soon. If you have trouble breathing, call 911 now.",
    ),
    (
        "checkin_symptomatic",
        "voice",
        "es",
        "Gracias. Alguien de nuestro equipo le llamará pronto. Si tiene dificultad para respirar, llame al 911 ahora.",
    ),
    (
        "checkin_symptomatic",
        "voice",
        "zh",
        "谢谢。我们的工作人员会尽快给您打电话。如果您呼吸困难，请立即拨打911。",
    ),
    (
        "checkin_symptomatic",
        "voice",
        "ru",
        "Спасибо. Наш сотрудник скоро вам позвонит. Если вам трудно дышать, немедленно звоните 911.",
    ),
    (
        "checkin_symptomatic",
        "voice",
        "bn",
        "ধন্যবাদ। আমাদের দলের একজন শীঘ্রই আপনাকে ফোন করবেন। শ্বাস নিতে কষ্ট হলে এখনই 911 নম্বরে ফোন করুন।",
    ),
    (
        "checkin_thanks",
        "voice",
        "en",
        "Thank you. We will call again tomorrow. Goodbye.",
    ),
    (
        "checkin_thanks",
        "voice",
        "es",
        "Gracias. Le llamaremos de nuevo mañana. Adiós.",
    ),
    (
        "checkin_thanks",
        "voice",
        "zh",
        "谢谢。我们明天会再打给您。再见。",
    ),
    (
        "checkin_thanks",
        "voice",
        "ru",
        "Спасибо. Мы позвоним снова завтра. До свидания.",
    ),
    (
        "checkin_thanks",
        "voice",
        "bn",
        "ধন্যবাদ। আমরা আগামীকাল আবার ফোন করব। বিদায়।",
    ),
    ("bridge", "voice", "en", "{program}: connecting your call."),
    ("bridge", "voice", "es", "{program}: conectando su llamada."),
    ("bridge", "voice", "zh", "{program}：正在为您接通电话。"),
    ("bridge", "voice", "ru", "{program}: соединяем ваш звонок."),
    ("bridge", "voice", "bn", "{program}: আপনার কল সংযুক্ত করা হচ্ছে।"),
    ("call_recorded", "voice", "en", "This call is recorded."),
    ("call_recorded", "voice", "es", "Esta llamada se graba."),
    ("call_recorded", "voice", "zh", "本次通话将被录音。"),
    (
        "call_recorded",
        "voice",
        "ru",
        "Этот разговор записывается.",
    ),
    ("call_recorded", "voice", "bn", "এই কলটি রেকর্ড করা হচ্ছে।"),
    (
        "monitoring_complete",
        "voice",
        "en",
        "Hello, this is {program}. Your daily health checks have ended. Thank you for your help. Goodbye.",
    ),
    (
        "monitoring_complete",
        "voice",
        "es",
        "Hola, le llama {program}. Sus controles de salud diarios han terminado. Gracias por su ayuda. Adiós.",
    ),
    (
        "monitoring_complete",
        "voice",
        "zh",
        "您好，这里是{program}。您的每日健康询问已经结束。感谢您的配合。再见。",
    ),
    (
        "monitoring_complete",
        "voice",
        "ru",
        "Здравствуйте, это {program}. Ежедневные опросы о самочувствии закончены. Спасибо за помощь. До свидания.",
    ),
    (
        "monitoring_complete",
        "voice",
        "bn",
        "নমস্কার, {program} থেকে বলছি। আপনার দৈনিক স্বাস্থ্য খোঁজখবর শেষ হয়েছে। সহযোগিতার জন্য ধন্যবাদ। বিদায়।",
    ),
];

/// The built-in template `name` for `channel` in `language`, or English.
pub fn builtin(name: &str, channel: &str, language: &str) -> Option<Template> {
    let find = |lang: &str| {
        BUILTIN
            .iter()
            .find(|(n, c, l, _)| *n == name && *c == channel && *l == lang)
    };
    find(language)
        .or_else(|| find("en"))
        .map(|(n, c, l, b)| Template {
            name: n.to_string(),
            channel: c.to_string(),
            language: l.to_string(),
            body: b.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("program", "NYC Test & Trace".to_string()),
            ("callback", "+1 212 555 0100".to_string()),
            ("link", "https://t.example/r/abc".to_string()),
        ])
    }

    #[test]
    fn every_builtin_passes_its_own_lint_and_renders() {
        for (name, channel, language, body) in BUILTIN {
            check(channel, body).unwrap_or_else(|e| panic!("{name}/{language}: {e}"));
            let t = builtin(name, channel, language).unwrap();
            assert_eq!(t.language, *language);
            let text = t.render(&values()).unwrap();
            assert!(!text.contains('{'), "{name}/{language}: {text}");
            if *channel == "sms" {
                assert!(text.contains("NYC Test & Trace"));
            }
        }
        // Every name ships in every language.
        for name in [
            "contact_notification",
            "case_outreach",
            "checkin",
            "checkin_link",
            "checkin_unclear",
            "checkin_symptomatic",
            "monitoring_complete",
            "stop_confirmation",
            "start_confirmation",
            "help",
        ] {
            for l in LANGUAGES {
                assert!(
                    BUILTIN
                        .iter()
                        .any(|(n, _, lang, _)| *n == name && *lang == l),
                    "{name}/{l}"
                );
            }
        }
    }

    #[test]
    fn diagnosis_words_are_refused_in_every_language() {
        for (body, word) in [
            ("You tested POSITIVE, call us", "positive"),
            ("Your COVID-19 result is ready", "covid"),
            ("Su resultado es positivo", "positivo"),
            ("Su diagnostico", "diagnóstico"),
            ("您的检测结果为阳性", "阳性"),
            ("Ваш тест положительный", "положительн"),
            ("আপনার কোভিড পরীক্ষা", "কোভিড"),
            ("Tès ou a pozitif", "pozitif"),
        ] {
            let found = lint(body);
            assert!(found.iter().any(|l| l.word == word), "{body}: {found:?}");
            let e = check("sms", body).unwrap_err();
            assert!(matches!(e, TemplateError::Diagnosis(_)), "{body}");
            assert!(e.to_string().contains(word));
        }
        // A call's script is linted too: it may be played to voicemail or
        // whoever answers. An email (read once the person opens it) is not.
        assert!(matches!(
            check("voice", "You tested positive"),
            Err(TemplateError::Diagnosis(_))
        ));
        assert!(check("email", "You tested positive").is_ok());
    }

    #[test]
    fn words_match_at_word_starts_only() {
        assert!(lint("Please disinfect surfaces and call us").is_empty());
        assert!(lint("We have uncontested news").is_empty());
        assert_eq!(lint("INFECTED?")[0].word, "infected");
    }

    #[test]
    fn variables_are_checked_and_rendered() {
        assert_eq!(
            check("sms", "Hi {name}, call {callback}"),
            Err(TemplateError::UnknownVariable("name".into()))
        );
        assert_eq!(
            check("sms", "Call {callback"),
            Err(TemplateError::Unclosed(6))
        );
        assert_eq!(check("sms", "  "), Err(TemplateError::Empty));
        assert_eq!(check("fax", "x"), Err(TemplateError::Channel("fax".into())));
        assert_eq!(
            check("sms", &"a".repeat(1601)),
            Err(TemplateError::TooLong(1601))
        );
        assert!(check("sms", "Braces { } and {{ pass").is_ok());
        let t = builtin("help", "sms", "fr").unwrap();
        assert_eq!(
            t.language, "en",
            "an unknown language falls back to English"
        );
        let mut v = values();
        v.remove("callback");
        assert_eq!(
            t.render(&v),
            Err(TemplateError::MissingValue("callback".into()))
        );
    }
}
