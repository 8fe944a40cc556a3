//! Batch files: `FHS` (file header) and `BHS` (batch header) around any
//! number of messages, closed by `BTS` (batch trailer, with the count of
//! messages) and `FTS`. A file of bare messages one after another, or a
//! single message, reads the same way.

/// The messages of a file, each still unparsed (one bad message must not
/// stop the others from being read), and what the trailers claimed.
#[derive(Debug, Default)]
pub struct Batch<'a> {
    pub messages: Vec<Message<'a>>,
    /// `BTS-1` of each batch, when given, and how many messages it held.
    pub counts: Vec<(Option<usize>, usize)>,
    /// Lines outside any message that are not batch headers or trailers
    /// (line numbers from 1).
    pub stray_lines: Vec<usize>,
}

/// One message's text in a file, and the line it starts on (from 1).
#[derive(Debug, Clone, Copy)]
pub struct Message<'a> {
    pub text: &'a str,
    pub line: usize,
}

impl Batch<'_> {
    /// Batches whose trailer's count differs from the messages they held.
    pub fn count_mismatches(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.counts
            .iter()
            .filter_map(|(said, held)| said.filter(|s| s != held).map(|s| (s, *held)))
    }
}

/// Cuts `text` into messages at each `MSH`.
pub fn split_batch(text: &str) -> Batch<'_> {
    let mut b = Batch::default();
    let base = text.as_ptr() as usize;
    let offset = |s: &str| s.as_ptr() as usize - base;
    // (start byte, first line) of the message being read.
    let mut open: Option<(usize, usize)> = None;
    let mut in_batch = 0usize;
    let mut line_no = 0usize;
    let mut last_end = 0usize;
    let mut lines = Vec::new();
    // Physical line numbers: count every break, including blank lines.
    let mut pos = 0usize;
    for raw in text.split_inclusive(['\r', '\n']) {
        // A CR LF pair is one line break.
        let start = pos;
        pos += raw.len();
        if raw == "\n" && text[..start].ends_with('\r') {
            continue;
        }
        line_no += 1;
        let body = raw.trim_end_matches(['\r', '\n']);
        if !body.trim().is_empty() {
            lines.push((line_no, &text[start..start + body.len()]));
        }
    }
    let end_of = |s: &str| offset(s) + s.len();
    let mut messages: Vec<(usize, usize, usize)> = Vec::new();
    for (n, line) in &lines {
        let id = line.get(..3).unwrap_or("");
        match id {
            "MSH" => {
                if let Some((s, l)) = open.take() {
                    messages.push((s, last_end, l));
                    in_batch += 1;
                }
                open = Some((offset(line), *n));
            }
            "FHS" | "FTS" | "BHS" | "BTS" => {
                if let Some((s, l)) = open.take() {
                    messages.push((s, last_end, l));
                    in_batch += 1;
                }
                match id {
                    "BHS" => in_batch = 0,
                    "BTS" => {
                        let said = line
                            .get(4..)
                            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                            .and_then(|d| d.parse().ok());
                        b.counts.push((said, in_batch));
                        in_batch = 0;
                    }
                    _ => {}
                }
            }
            _ if open.is_none() => b.stray_lines.push(*n),
            _ => {}
        }
        last_end = end_of(line);
    }
    if let Some((s, l)) = open.take() {
        messages.push((s, last_end, l));
    }
    b.messages = messages
        .into_iter()
        .map(|(s, e, line)| Message {
            text: &text[s..e],
            line,
        })
        .collect();
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_file_splits_into_its_messages() {
        let f = "FHS|^~\\&|LAB\r\nBHS|^~\\&|LAB\r\nMSH|^~\\&|A||||||ORU^R01|1|P|2.5.1\r\nPID|1\r\n\
                 MSH|^~\\&|A||||||ORU^R01|2|P|2.5.1\r\nPID|2\r\nBTS|2\r\nFTS|1\r\n";
        let b = split_batch(f);
        assert_eq!(b.messages.len(), 2);
        assert_eq!(b.messages[0].line, 3);
        assert_eq!(b.messages[1].line, 5);
        assert!(
            b.messages[0].text.ends_with("PID|1"),
            "{:?}",
            b.messages[0].text
        );
        assert_eq!(b.counts, vec![(Some(2), 2)]);
        assert_eq!(b.count_mismatches().count(), 0);
        assert!(b.stray_lines.is_empty());
    }

    #[test]
    fn bare_messages_and_a_wrong_count() {
        let f = "junk\rMSH|^~\\&|A\rPID|1\r\rMSH|^~\\&|B\rBTS|5";
        let b = split_batch(f);
        assert_eq!(b.messages.len(), 2);
        assert_eq!(b.messages[1].line, 5);
        assert_eq!(b.stray_lines, vec![1]);
        assert_eq!(b.count_mismatches().collect::<Vec<_>>(), vec![(5, 2)]);
    }
}
