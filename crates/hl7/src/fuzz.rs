//! Property tests over arbitrary input: the parser, the batch splitter,
//! the escape decoder and the MLLP decoder never panic and never loop, and
//! what they produce keeps its invariants. `PROPTEST_CASES` raises the
//! number of executions (docs/benchmarks.md states the runs made).

use crate::mllp::{self, Decoder};
use crate::{Ack, Delimiters, Message, decode, encode, split_batch};
use proptest::prelude::*;

/// Reads every field, repetition, component and subcomponent of a parsed
/// message, and answers it, as a receiver would.
fn exercise(m: &Message<'_>) {
    for seg in m.segments() {
        for n in 0..seg.len() + 2 {
            let f = seg.field(n);
            let _ = f.text();
            for r in f.repetitions() {
                for c in 0..4 {
                    let _ = r.component(c);
                    let _ = r.subcomponent(c, 2);
                }
            }
        }
    }
    let _ = m.kind();
    let ack = Ack::accept().render(Some(m), "X", "20200101");
    Message::parse(&ack).expect("an ACK tracedesk writes parses");
}

/// Text built from HL7's own alphabet, so the parser gets past `MSH` often.
fn hl7ish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("MSH|^~\\&|".to_string()),
        Just("MSH#*@!$#".to_string()),
        Just("\r".to_string()),
        Just("\n".to_string()),
        Just("PID|".to_string()),
        Just("OBX|1|CWE|".to_string()),
        Just("BHS|".to_string()),
        Just("BTS|3".to_string()),
        Just("\\X".to_string()),
        Just("\\".to_string()),
        "[|^~&\\\\A-Z0-9 .]{0,12}",
        any::<String>(),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(m) = Message::parse(&text) {
            exercise(&m);
        }
        let b = split_batch(&text);
        for msg in &b.messages {
            prop_assert!(msg.text.starts_with("MSH"));
        }
        let _ = decode(&text, &Delimiters::default());
        let mut d = Decoder::new(512);
        for chunk in bytes.chunks(7) {
            d.push(chunk);
            while let Some(f) = d.next_frame() {
                if let Ok(f) = f {
                    prop_assert!(f.len() <= 512);
                }
            }
        }
    }

    #[test]
    fn hl7_shaped_text_never_panics(text in hl7ish()) {
        match Message::parse(&text) {
            Ok(m) => exercise(&m),
            Err(e) => {
                let ack = Ack::unreadable(&e).render(None, "X", "20200101");
                prop_assert!(Message::parse(&ack).is_ok());
            }
        }
        for msg in split_batch(&text).messages {
            if let Ok(m) = Message::parse(msg.text) {
                exercise(&m);
            }
        }
    }

    #[test]
    fn escaping_round_trips(s in any::<String>()) {
        let d = Delimiters::default();
        let plain: String = s.chars().filter(|c| !c.is_control() || *c == '\n').collect();
        prop_assert_eq!(decode(&encode(&plain, &d), &d).into_owned(), plain);
    }

    #[test]
    fn frames_survive_any_split(msgs in proptest::collection::vec("[^\u{b}\u{1c}]{0,64}", 1..5), cuts in proptest::collection::vec(1usize..50, 0..10)) {
        let mut wire = Vec::new();
        for m in &msgs {
            wire.extend(mllp::frame(m.as_bytes()));
        }
        let mut d = Decoder::default();
        let mut got = Vec::new();
        let mut rest = &wire[..];
        for c in cuts {
            let (a, b) = rest.split_at(c.min(rest.len()));
            d.push(a);
            rest = b;
            while let Some(f) = d.next_frame() {
                got.push(f.unwrap());
            }
        }
        d.push(rest);
        while let Some(f) = d.next_frame() {
            got.push(f.unwrap());
        }
        let want: Vec<Vec<u8>> = msgs.iter().map(|m| m.as_bytes().to_vec()).collect();
        prop_assert_eq!(got, want);
    }
}
