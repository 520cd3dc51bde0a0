//! MLLP framing (HL7 v2 Minimal Lower Layer Protocol): a message travels
//! as `0x0B payload 0x1C 0x0D`. The decoder holds at most one frame of
//! `max` bytes; anything larger is refused before it is buffered.

pub const START: u8 = 0x0B;
pub const END: [u8; 2] = [0x1C, 0x0D];
/// The default largest frame: a lab report PDF in Base64 fits easily.
pub const DEFAULT_MAX_FRAME: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("MLLP frame larger than {0} bytes")]
    TooLarge(usize),
    #[error("data outside an MLLP frame (expected 0x0B)")]
    OutsideFrame,
}

/// Wrap one message for sending.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 3);
    out.push(START);
    out.extend_from_slice(payload);
    out.extend_from_slice(&END);
    out
}

/// Incremental decoder: feed what the socket gave, take whole frames.
#[derive(Debug)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    /// How far the buffer was searched for the end marker already.
    scanned: usize,
    max: usize,
}

impl FrameDecoder {
    pub fn new(max: usize) -> Self {
        Self {
            buffer: Vec::new(),
            scanned: 0,
            max,
        }
    }

    /// Bytes buffered but not yet a whole frame.
    pub fn pending(&self) -> usize {
        self.buffer.len()
    }

    /// Append received bytes. Fails when the frame under way would pass
    /// the limit, or when bytes other than line breaks come between frames.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        let mut bytes = bytes;
        if self.buffer.is_empty() {
            // Between frames, senders may leave line breaks.
            let skip = bytes
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n'))
                .unwrap_or(bytes.len());
            bytes = &bytes[skip..];
            match bytes.first() {
                None => return Ok(()),
                Some(&START) => {}
                Some(_) => return Err(FrameError::OutsideFrame),
            }
        }
        // Start byte and end marker around at most `max` payload bytes;
        // several frames may arrive in one read.
        if self.buffer.len() + bytes.len() > self.max + 3 && !self.has_end(bytes) {
            return Err(FrameError::TooLarge(self.max));
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    /// Whether the end marker completes within `bytes` (possibly its
    /// first byte being the buffer's last).
    fn has_end(&self, bytes: &[u8]) -> bool {
        (self.buffer.last() == Some(&END[0]) && bytes.first() == Some(&END[1]))
            || bytes.windows(2).any(|w| w == END)
    }

    /// The next whole frame's payload, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        let skip = self
            .buffer
            .iter()
            .position(|b| !matches!(b, b'\r' | b'\n'))
            .unwrap_or(self.buffer.len());
        if skip > 0 {
            self.buffer.drain(..skip);
            self.scanned = 0;
        }
        match self.buffer.first() {
            None => return Ok(None),
            Some(&START) => {}
            Some(_) => return Err(FrameError::OutsideFrame),
        }
        let from = self.scanned.max(1);
        let found = self.buffer[from..]
            .windows(2)
            .position(|w| w == END)
            .map(|i| i + from);
        match found {
            Some(end) => {
                if end - 1 > self.max {
                    return Err(FrameError::TooLarge(self.max));
                }
                let payload = self.buffer[1..end].to_vec();
                self.buffer.drain(..end + 2);
                self.scanned = 0;
                Ok(Some(payload))
            }
            None => {
                self.scanned = self.buffer.len().saturating_sub(1).max(1);
                if self.buffer.len() > self.max + 3 {
                    return Err(FrameError::TooLarge(self.max));
                }
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_frames_across_reads() {
        let mut d = FrameDecoder::new(64);
        let mut wire = frame(b"MSH|one");
        wire.extend(frame(b"MSH|two"));
        wire.extend(b"\r\n");
        for chunk in wire.chunks(3) {
            d.push(chunk).unwrap();
        }
        assert_eq!(d.next_frame().unwrap().unwrap(), b"MSH|one");
        assert_eq!(d.next_frame().unwrap().unwrap(), b"MSH|two");
        assert_eq!(d.next_frame().unwrap(), None);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn refuses_oversize_and_stray_bytes() {
        let mut d = FrameDecoder::new(8);
        d.push(&frame(&[b'x'; 9])).unwrap();
        assert_eq!(d.next_frame(), Err(FrameError::TooLarge(8)));
        let mut d = FrameDecoder::new(8);
        let mut long = vec![START];
        long.extend([b'x'; 20]);
        assert_eq!(d.push(&long), Err(FrameError::TooLarge(8)));
        let mut d = FrameDecoder::new(8);
        d.push(&[START]).unwrap();
        let mut failed = false;
        for _ in 0..20 {
            if d.push(b"x").is_err() || d.next_frame().is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
        let mut d = FrameDecoder::new(8);
        assert_eq!(d.push(b"MSH|"), Err(FrameError::OutsideFrame));
        let mut d = FrameDecoder::new(8);
        d.push(&frame(&[b'x'; 8])).unwrap();
        assert_eq!(d.next_frame().unwrap().unwrap().len(), 8);
    }
}
