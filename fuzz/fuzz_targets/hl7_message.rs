//! HL7 v2 intake (issue 13): any bytes through the MLLP frame decoder,
//! the character-set decoding, the parser and the mapping onto findings
//! never panic; what is accepted is valid by the domain's own rules, and
//! every answer (ACK or NACK) is one MSH and one MSA.
#![no_main]

use hippo_hl7::ack::{AckCode, build_ack};
use hippo_hl7::mllp::FrameDecoder;
use hippo_hl7::parse_oru;
use libfuzzer_sys::fuzz_target;

fn check_message(bytes: &[u8]) {
    let today = time::macros::date!(2026 - 12 - 03);
    let (header, code, text, location) = match parse_oru(bytes, today) {
        Ok(message) => {
            assert!(!message.findings.is_empty());
            for f in &message.findings {
                assert!(!f.finding.title.trim().is_empty());
                if let Some(pdf) = &f.pdf {
                    assert!(pdf.starts_with(b"%PDF-"));
                }
            }
            (Some(message.header), AckCode::Accept, "ok".to_owned(), None)
        }
        Err(r) => (r.header.map(|h| *h), r.code, r.reason, r.location),
    };
    let ack = build_ack(header.as_ref(), code, &text, location.as_ref(), "20261203000000", "A");
    let segments: Vec<&str> = ack.split('\r').filter(|s| !s.is_empty()).collect();
    assert!(segments[0].starts_with("MSH|^~\\&|"));
    assert!(segments[1].starts_with("MSA|"));
    assert_eq!(ack.matches("\rMSA|").count(), 1, "{ack:?}");
}

fuzz_target!(|data: &[u8]| {
    // The bytes as one message…
    check_message(data);
    // …and as an MLLP stream, fed in two pieces.
    let mut decoder = FrameDecoder::new(4096);
    let (a, b) = data.split_at(data.len() / 2);
    for piece in [a, b] {
        if decoder.push(piece).is_err() {
            return;
        }
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= 4096);
                    check_message(&frame);
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
