//! One message: its delimiters, as `MSH` declares them, and its segments.

use std::borrow::Cow;

/// Longest segment identifier accepted (HL7 uses three characters).
const SEGMENT_ID_LEN: usize = 3;

/// The separators and escape character a message declares in `MSH-1` and
/// `MSH-2`. Each is one character and no two are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: char,
    pub component: char,
    pub repetition: char,
    pub escape: Option<char>,
    pub subcomponent: char,
}

impl Default for Delimiters {
    fn default() -> Self {
        Self {
            field: '|',
            component: '^',
            repetition: '~',
            escape: Some('\\'),
            subcomponent: '&',
        }
    }
}

impl Delimiters {
    /// `MSH-2` as written back into a message (`^~\&`).
    pub fn encoding_characters(&self) -> String {
        let mut s = String::new();
        s.push(self.component);
        s.push(self.repetition);
        if let Some(e) = self.escape {
            s.push(e);
        }
        s.push(self.subcomponent);
        s
    }

    /// The delimiters a header segment (`MSH`, `FHS` or `BHS`) declares:
    /// the character after its three letters, then up to five encoding
    /// characters. Missing ones take the standard's defaults.
    pub(crate) fn declared(header: &str) -> Result<Self, ParseError> {
        let mut chars = header.chars().skip(SEGMENT_ID_LEN);
        let field = chars
            .next()
            .ok_or_else(|| ParseError::at_field(header_id(header), 1, "is missing"))?;
        let enc: String = chars.take_while(|c| *c != field).collect();
        let enc: Vec<char> = enc.chars().collect();
        if enc.is_empty() || enc.len() > 5 {
            return Err(ParseError::at_field(
                header_id(header),
                2,
                "must hold 1 to 5 encoding characters",
            ));
        }
        let d = Self {
            field,
            component: enc[0],
            repetition: enc.get(1).copied().unwrap_or('~'),
            escape: enc.get(2).copied(),
            subcomponent: enc.get(3).copied().unwrap_or('&'),
        };
        let all = [
            Some(d.field),
            Some(d.component),
            Some(d.repetition),
            d.escape,
            Some(d.subcomponent),
        ];
        for (i, c) in all.iter().flatten().enumerate() {
            if c.is_alphanumeric() || *c == '\r' || *c == '\n' || c.is_whitespace() {
                return Err(ParseError::at_field(
                    header_id(header),
                    if i == 0 { 1 } else { 2 },
                    "a delimiter must not be a letter, digit, space or line break",
                ));
            }
            if all.iter().flatten().skip(i + 1).any(|o| o == c) {
                return Err(ParseError::at_field(
                    header_id(header),
                    2,
                    "the same character is declared as two delimiters",
                ));
            }
        }
        Ok(d)
    }
}

fn header_id(s: &str) -> &'static str {
    match s.get(..3) {
        Some("FHS") => "FHS",
        Some("BHS") => "BHS",
        _ => "MSH",
    }
}

/// Why a message could not be read, and where: the segment (its identifier
/// and its position among segments of that name, from 1), and the field.
/// The reason never quotes the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ParseError {
    pub segment: Option<(String, usize)>,
    /// The segment's line in the message (from 1), when its identifier
    /// itself is what is wrong.
    pub line: Option<usize>,
    pub field: Option<usize>,
    pub reason: &'static str,
}

impl ParseError {
    pub(crate) fn whole(reason: &'static str) -> Self {
        Self {
            segment: None,
            line: None,
            field: None,
            reason,
        }
    }

    pub(crate) fn at_field(segment: &str, field: usize, reason: &'static str) -> Self {
        Self {
            segment: Some((segment.to_string(), 1)),
            line: None,
            field: Some(field),
            reason,
        }
    }

    fn describe(&self) -> String {
        match (&self.segment, self.field, self.line) {
            (Some((s, n)), Some(f), _) => format!("{s}-{f} (segment {s} #{n}): {}", self.reason),
            (Some((s, n)), None, _) => format!("segment {s} #{n}: {}", self.reason),
            (None, _, Some(l)) => format!("segment line {l}: {}", self.reason),
            _ => self.reason.to_string(),
        }
    }
}

/// A parsed message, borrowing its text.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub delimiters: Delimiters,
    segments: Vec<Segment<'a>>,
}

/// One segment: its identifier and its fields, still holding their
/// components and escapes.
#[derive(Debug, Clone)]
pub struct Segment<'a> {
    pub id: &'a str,
    /// Fields from position 1; for `MSH` position 1 is the field
    /// separator itself and 2 the encoding characters, as the standard
    /// numbers them.
    fields: Vec<&'a str>,
    delimiters: Delimiters,
    header: bool,
}

/// Splits `text` into segments: HL7 ends each with a carriage return, and
/// files often use line feeds or both; blank lines are skipped.
pub(crate) fn segment_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split(['\r', '\n']).filter(|l| !l.trim().is_empty())
}

impl<'a> Message<'a> {
    /// Parses one message. It must begin with `MSH` (a byte-order mark or
    /// leading blank lines are skipped); every segment needs a
    /// three-character identifier of capital letters and digits.
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        let text = text.trim_start_matches(['\u{feff}', '\r', '\n', ' ', '\t']);
        if !text.starts_with("MSH") {
            return Err(ParseError::whole(
                "a message must begin with an MSH segment",
            ));
        }
        let delimiters = Delimiters::declared(text)?;
        let mut segments = Vec::new();
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for (k, line) in segment_lines(text).enumerate() {
            let line = line.trim_end_matches([' ', '\t']);
            let id = line.split(delimiters.field).next().unwrap_or("");
            let n = match counts.iter_mut().find(|(s, _)| *s == id) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    counts.push((id, 1));
                    1
                }
            };
            if id.len() != SEGMENT_ID_LEN
                || !id
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            {
                // Not echoed: a broken line may begin with someone's name.
                return Err(ParseError {
                    segment: None,
                    line: Some(k + 1),
                    field: None,
                    reason: "a segment must begin with a three-character identifier \
                             of capital letters and digits",
                });
            }
            if id == "MSH" && !segments.is_empty() {
                return Err(ParseError {
                    segment: Some(("MSH".into(), n)),
                    line: Some(k + 1),
                    field: None,
                    reason: "a second MSH segment: one message per frame (or use a batch)",
                });
            }
            segments.push(Segment::split(id, line, delimiters));
        }
        Ok(Self {
            delimiters,
            segments,
        })
    }

    pub fn segments(&self) -> &[Segment<'a>] {
        &self.segments
    }

    /// The first segment named `id`.
    pub fn segment(&self, id: &str) -> Option<&Segment<'a>> {
        self.segments.iter().find(|s| s.id == id)
    }

    /// The `MSH` segment (every parsed message has one, first).
    pub fn header(&self) -> &Segment<'a> {
        &self.segments[0]
    }

    /// `MSH-9`'s message code and trigger event, e.g. `("ORU", "R01")`.
    pub fn kind(&self) -> (Cow<'a, str>, Cow<'a, str>) {
        let f = self.header().field(9);
        (f.component(1), f.component(2))
    }

    /// `MSH-10`, the sender's message control id.
    pub fn control_id(&self) -> Cow<'a, str> {
        self.header().field(10).text()
    }
}

impl<'a> Segment<'a> {
    fn split(id: &'a str, line: &'a str, delimiters: Delimiters) -> Self {
        let header = matches!(id, "MSH" | "FHS" | "BHS");
        let mut parts = line.split(delimiters.field);
        parts.next();
        let fields = parts.collect();
        Self {
            id,
            fields,
            delimiters,
            header,
        }
    }

    /// Field `n` (from 1). An absent field reads as empty.
    pub fn field(&self, n: usize) -> Field<'a> {
        let raw = if self.header {
            match n {
                0 => "",
                // MSH-1 is the separator itself; it is not in `fields`.
                1 => "",
                _ => self.fields.get(n - 2).copied().unwrap_or(""),
            }
        } else {
            n.checked_sub(1)
                .and_then(|i| self.fields.get(i))
                .copied()
                .unwrap_or("")
        };
        Field {
            raw,
            delimiters: self.delimiters,
            literal: self.header && n == 2,
        }
    }

    /// How many fields the segment holds.
    pub fn len(&self) -> usize {
        self.fields.len() + usize::from(self.header)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// One field as written: repetitions, components and subcomponents are
/// split on demand; text is unescaped on demand.
#[derive(Debug, Clone, Copy)]
pub struct Field<'a> {
    raw: &'a str,
    delimiters: Delimiters,
    /// `MSH-2` holds the delimiters themselves and is never split.
    literal: bool,
}

impl<'a> Field<'a> {
    /// The field as written, escapes and all.
    pub fn raw(&self) -> &'a str {
        self.raw
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty() || self.raw == "\"\""
    }

    /// Repetition `n` (from 1) of the field.
    pub fn repetition(&self, n: usize) -> Field<'a> {
        if self.literal {
            return *self;
        }
        Field {
            raw: nth(self.raw, self.delimiters.repetition, n),
            ..*self
        }
    }

    /// Every repetition of the field (one, when it does not repeat).
    pub fn repetitions(&self) -> impl Iterator<Item = Field<'a>> + '_ {
        let d = self.delimiters;
        let literal = self.literal;
        let parts: Box<dyn Iterator<Item = &'a str>> = if literal {
            Box::new(std::iter::once(self.raw))
        } else {
            Box::new(self.raw.split(d.repetition))
        };
        parts.map(move |raw| Field {
            raw,
            delimiters: d,
            literal,
        })
    }

    /// Component `n` (from 1) of the field's first repetition, unescaped.
    pub fn component(&self, n: usize) -> Cow<'a, str> {
        self.component_field(n).text()
    }

    /// Subcomponent `s` of component `c` (both from 1), unescaped.
    pub fn subcomponent(&self, c: usize, s: usize) -> Cow<'a, str> {
        let comp = self.component_field(c);
        let raw = nth(comp.raw, self.delimiters.subcomponent, s);
        crate::escape::decode(raw, &self.delimiters)
    }

    fn component_field(&self, n: usize) -> Field<'a> {
        if self.literal {
            return if n == 1 {
                *self
            } else {
                Field { raw: "", ..*self }
            };
        }
        let first = nth(self.raw, self.delimiters.repetition, 1);
        Field {
            raw: nth(first, self.delimiters.component, n),
            ..*self
        }
    }

    /// The whole field's first repetition as text, unescaped (components
    /// kept with their separator). An HL7 null (`""`) reads as empty.
    pub fn text(&self) -> Cow<'a, str> {
        if self.literal {
            return Cow::Borrowed(self.raw);
        }
        let first = nth(self.raw, self.delimiters.repetition, 1);
        if first == "\"\"" {
            return Cow::Borrowed("");
        }
        crate::escape::decode(first, &self.delimiters)
    }
}

/// Part `n` (from 1) of `s` split on `sep`; empty when there is none.
fn nth(s: &str, sep: char, n: usize) -> &str {
    if n == 0 {
        return "";
    }
    s.split(sep).nth(n - 1).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORU: &str = "MSH|^~\\&|LIS^1.2.3^ISO|Acme Lab^05D0000000^CLIA|ELR^2.16^ISO|DOH^2.16^ISO|20200915103000-0400||ORU^R01^ORU_R01|MSG0001|P|2.5.1\r\
PID|1||A1^^^Acme&1.2&ISO^MR~B2^^^Other^PI||Doe^Jane^Q||19800102|F\r\
OBX|1|CWE|94500-6^SARS-CoV-2 RNA^LN||260373001^Detected^SCT||||||F\r";

    #[test]
    fn fields_components_repetitions_and_subcomponents() {
        let m = Message::parse(ORU).unwrap();
        assert_eq!(m.delimiters, Delimiters::default());
        assert_eq!(m.kind(), ("ORU".into(), "R01".into()));
        assert_eq!(m.control_id(), "MSG0001");
        let msh = m.header();
        assert_eq!(msh.field(2).text(), "^~\\&");
        assert_eq!(msh.field(4).component(2), "05D0000000");
        assert_eq!(msh.field(12).text(), "2.5.1");
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.field(5).component(1), "Doe");
        assert_eq!(pid.field(5).component(2), "Jane");
        assert_eq!(pid.field(3).repetitions().count(), 2);
        assert_eq!(pid.field(3).repetition(2).component(1), "B2");
        assert_eq!(pid.field(3).subcomponent(4, 2), "1.2");
        assert_eq!(pid.field(99).text(), "");
        let obx = m.segment("OBX").unwrap();
        assert_eq!(obx.field(5).component(1), "260373001");
    }

    #[test]
    fn other_delimiters_and_line_feeds() {
        let text = "MSH#*@!$#A#B\nPID#1##X##Roe*Ann$x\n\n";
        let m = Message::parse(text).unwrap();
        assert_eq!(m.delimiters.field, '#');
        assert_eq!(m.delimiters.component, '*');
        assert_eq!(m.delimiters.repetition, '@');
        assert_eq!(m.delimiters.escape, Some('!'));
        assert_eq!(m.delimiters.subcomponent, '$');
        let pid = m.segment("PID").unwrap();
        assert_eq!(pid.field(5).component(1), "Roe");
        assert_eq!(pid.field(5).subcomponent(2, 2), "x");
    }

    #[test]
    fn faults_are_located() {
        assert!(Message::parse("PID|1").is_err());
        let e = Message::parse("MSH|^~\\&|A\rpid|1\r").unwrap_err();
        assert_eq!((e.segment, e.line), (None, Some(2)));
        let e = Message::parse("MSH|^^\\&|A\r").unwrap_err();
        assert_eq!(e.field, Some(2));
        let e = Message::parse("MSH|^~\\&|A\rMSH|^~\\&|B\r").unwrap_err();
        assert!(e.to_string().contains("second MSH"), "{e}");
    }
}
