//! MLLP, the Minimal Lower Layer Protocol (HL7 v2 Implementation Guide,
//! appendix C): each message travels as `<VT> message <FS><CR>` (0x0B …
//! 0x1C 0x0D) over a TCP stream. A frame may arrive split over many reads
//! and several may arrive in one; [`Decoder`] takes bytes as they come and
//! hands back whole frames.

pub const START: u8 = 0x0b;
pub const END: [u8; 2] = [0x1c, 0x0d];

/// The default cap on one frame: a lab report is a few kilobytes; a
/// megabyte is a broken or hostile sender.
pub const MAX_FRAME: usize = 1 << 20;

/// `message` framed for the wire.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.extend_from_slice(&END);
    out
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame is longer than {0} bytes")]
    TooLong(usize),
}

/// Reassembles frames from a byte stream. Bytes between frames (line
/// breaks some senders add, or noise) are skipped.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    max: usize,
    /// Where the search for the end block resumes (bytes before it were
    /// already searched).
    scanned: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(MAX_FRAME)
    }
}

impl Decoder {
    pub fn new(max: usize) -> Self {
        Self {
            buf: Vec::new(),
            max,
            scanned: 0,
        }
    }

    /// Adds bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame's content, if one has arrived. After
    /// [`FrameError::TooLong`] the stream cannot be trusted to resynchronise
    /// and should be closed.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        // Drop whatever precedes a start block.
        match self.buf.iter().position(|b| *b == START) {
            Some(0) => {}
            Some(i) => {
                self.buf.drain(..i);
                self.scanned = 0;
            }
            None => {
                self.buf.clear();
                self.scanned = 0;
                return None;
            }
        }
        let from = self.scanned.max(1);
        let end = self.buf[from..]
            .windows(2)
            .position(|w| w == END)
            .map(|i| i + from);
        match end {
            Some(e) => {
                let content = self.buf[1..e].to_vec();
                self.buf.drain(..e + 2);
                self.scanned = 0;
                if content.len() > self.max {
                    return Some(Err(FrameError::TooLong(self.max)));
                }
                Some(Ok(content))
            }
            None => {
                // The last byte may be the first half of the end block.
                self.scanned = self.buf.len().saturating_sub(1).max(1);
                if self.buf.len() > self.max + 3 {
                    self.buf.clear();
                    self.scanned = 0;
                    return Some(Err(FrameError::TooLong(self.max)));
                }
                None
            }
        }
    }

    /// Bytes held that are not yet a whole frame.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_reads_and_run_together() {
        let mut wire = frame(b"MSH|one");
        wire.extend(b"\r\n");
        wire.extend(frame(b"MSH|two"));
        wire.extend(frame(b"MSH|three"));
        for cut in 1..wire.len() {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for chunk in [&wire[..cut], &wire[cut..]] {
                d.push(chunk);
                while let Some(f) = d.next_frame() {
                    got.push(f.unwrap());
                }
            }
            assert_eq!(
                got,
                vec![
                    b"MSH|one".to_vec(),
                    b"MSH|two".to_vec(),
                    b"MSH|three".to_vec()
                ],
                "cut at {cut}"
            );
            assert_eq!(d.pending(), 0);
        }
    }

    #[test]
    fn byte_at_a_time_and_too_long() {
        let wire = frame(b"MSH|^~\\&|A\rPID|1\r");
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in &wire {
            d.push(std::slice::from_ref(b));
            if let Some(f) = d.next_frame() {
                got.push(f.unwrap());
            }
        }
        assert_eq!(got, vec![b"MSH|^~\\&|A\rPID|1\r".to_vec()]);
        let mut d = Decoder::new(8);
        d.push(&frame(b"0123456789"));
        assert_eq!(d.next_frame(), Some(Err(FrameError::TooLong(8))));
    }
}
