use super::*;
use base64::Engine;
use hippo_core::finding::AbnormalFlag;
use time::macros::date;

const TODAY: Date = date!(2026 - 12 - 03);
const PDF: &[u8] = include_bytes!("../../hippo-core/src/file_kind_fixtures/minimal.pdf");

fn message(version: &str, charset: &str, body: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|LIS|Labor Nord|HIPPO|Praxis|20261201083000||ORU^R01^ORU_R01|CTRL-1|P|{version}||||||{charset}\r{body}"
    )
    .into_bytes()
}

const PID: &str = "PID|1||4711^^^LABNORD^MR~A123^^^KASSE||Schmidt^Max^^^Dr.||19800402|M\r";

fn blood_count() -> String {
    format!(
        "{PID}ORC|RE|P-100|F-200\r\
         OBR|1|P-100|F-200|58410-2^Blutbild^LN|||202612010815\r\
         OBX|1|NM|718-7^Hämoglobin^LN||18.1|g/dl|12-16|HH|||F\r\
         OBX|2|NM|6690-2^Leukozyten^LN||2,1|/nl|4.0-10.0|LL|||F\r\
         OBX|3|NM|777-3^Thrombozyten^LN||250|/nl|150-400||||F\r\
         OBX|4|ST|94500-6^SARS-CoV-2 PCR^LN||negativ||||||F\r\
         OBX|5|TX|COMMENT^Kommentar||Probe \\T\\ Befund\\.br\\zweite Zeile||||||F\r"
    )
}

#[test]
fn maps_a_blood_count() {
    let oru = parse_oru(&message("2.5.1", "UNICODE UTF-8", &blood_count()), TODAY).unwrap();
    assert_eq!(oru.header.control_id, "CTRL-1");
    assert_eq!(oru.header.version, "2.5.1");
    assert_eq!(oru.patient.person.family_name, "Schmidt");
    assert_eq!(oru.patient.person.given_name, "Max");
    assert_eq!(oru.patient.person.birth_date, date!(1980 - 04 - 02));
    assert_eq!(oru.patient.sex, Some(Sex::Male));
    assert_eq!(
        oru.patient.identifiers,
        vec![
            PatientIdentifier {
                value: "4711".into(),
                authority: "LABNORD".into()
            },
            PatientIdentifier {
                value: "A123".into(),
                authority: "KASSE".into()
            },
        ]
    );
    assert_eq!(oru.findings.len(), 1);
    let f = &oru.findings[0];
    assert_eq!(f.finding.title, "Blutbild");
    assert_eq!(
        (f.placer_order.as_str(), f.filler_order.as_str()),
        ("P-100", "F-200")
    );
    assert_eq!(f.observed_at, "2026-12-01 08:15");
    assert!(f.pdf.is_none());
    let obs = &f.finding.observations;
    assert_eq!(obs.len(), 5);
    assert_eq!(obs[0].value, ObservationValue::Numeric(18.1));
    assert_eq!(obs[0].unit.as_deref(), Some("g/dl"));
    assert_eq!(
        (obs[0].reference_low, obs[0].reference_high),
        (Some(12.0), Some(16.0))
    );
    assert_eq!(obs[0].flag, AbnormalFlag::H);
    assert_eq!(obs[1].value, ObservationValue::Numeric(2.1));
    assert_eq!(obs[1].flag, AbnormalFlag::L);
    assert_eq!(obs[2].flag, AbnormalFlag::N);
    assert_eq!(obs[3].value, ObservationValue::Text("negativ".into()));
    assert_eq!(
        obs[4].value,
        ObservationValue::Text("Probe & Befund zweite Zeile".into())
    );
    assert_eq!(f.lines[0].flag, "HH");
}

#[test]
fn decodes_latin1_and_escapes_in_names() {
    let body = "PID|1||99||M\\XFC\\ller-L\u{fc}denscheid^J\u{f6}rg||19640812|M\rOBR|1|||GLU^Glucose\rOBX|1|NM|2345-7^Glucose||<5|mg/dl|<100|N\r";
    let bytes: Vec<u8> = String::from_utf8(message("2.3", "8859/1", body))
        .unwrap()
        .chars()
        .map(|c| c as u32 as u8)
        .collect();
    let rejected = parse_oru(&bytes, TODAY).unwrap_err();
    assert!(rejected.reason.contains("not a number"), "{rejected:?}");
    let body = body.replace("<5", "4.2");
    let bytes: Vec<u8> = String::from_utf8(message("2.3", "8859/1", &body))
        .unwrap()
        .chars()
        .map(|c| c as u32 as u8)
        .collect();
    let oru = parse_oru(&bytes, TODAY).unwrap();
    assert_eq!(oru.patient.person.family_name, "Müller-Lüdenscheid");
    assert_eq!(oru.patient.person.given_name, "Jörg");
    assert_eq!(
        oru.findings[0].finding.observations[0].reference_high,
        Some(100.0)
    );
}

#[test]
fn takes_an_embedded_pdf() {
    let data = base64::engine::general_purpose::STANDARD.encode(PDF);
    let body = format!(
        "{PID}OBR|1|||11502-2^Laborbefund^LN\rOBX|1|ED|PDF^Befund||LIS^AP^PDF^Base64^{data}||||||F\rOBX|2|NM|718-7^Hb||13.9|g/dl|12-16|N\r"
    );
    let oru = parse_oru(&message("2.4", "", &body), TODAY).unwrap();
    assert_eq!(oru.findings[0].pdf.as_deref(), Some(PDF));
    assert_eq!(oru.findings[0].finding.observations.len(), 1);
    let bad = body.replace(&data[..8], "!!!!****");
    let e = parse_oru(&message("2.4", "", &bad), TODAY).unwrap_err();
    assert_eq!(e.code, AckCode::Error);
    assert!(e.reason.contains("Base64"), "{e:?}");
    assert_eq!(e.location.map(|l| (l.segment, l.field)), Some(("OBX", 5)));
    assert_eq!(e.header.map(|h| h.control_id), Some("CTRL-1".into()));
    let not_pdf = base64::engine::general_purpose::STANDARD.encode(b"hello world");
    let e = parse_oru(&message("2.4", "", &body.replace(&data, &not_pdf)), TODAY).unwrap_err();
    assert!(e.reason.contains("OBX-5"), "{e:?}");
}

#[test]
fn one_finding_per_obr() {
    let body = format!(
        "{PID}OBR|1|||A^Blutbild\rOBX|1|NM|718-7^Hb||13.9|g/dl\rOBR|2|||B^Urin\rOBX|1|ST|5803-2^pH||6||||\r"
    );
    let oru = parse_oru(&message("2.5", "", &body), TODAY).unwrap();
    let titles: Vec<_> = oru
        .findings
        .iter()
        .map(|f| f.finding.title.as_str())
        .collect();
    assert_eq!(titles, ["Blutbild", "Urin"]);
}

#[test]
fn refuses_what_it_cannot_take() {
    let reject = |bytes: &[u8]| parse_oru(bytes, TODAY).unwrap_err();
    let e = reject(b"PID|1||x");
    assert_eq!(e.code, AckCode::Reject);
    assert!(e.header.is_none());
    let adt = String::from_utf8(message("2.5", "UNICODE UTF-8", &blood_count()))
        .unwrap()
        .replace("ORU^R01^ORU_R01", "ADT^A01");
    let e = reject(adt.as_bytes());
    assert_eq!(e.code, AckCode::Reject);
    assert!(e.reason.contains("ORU^R01"), "{e:?}");
    assert_eq!(e.header.unwrap().control_id, "CTRL-1");
    let e = reject(&message("2.6", "UNICODE UTF-8", &blood_count()));
    assert!(e.reason.contains("MSH-12"), "{e:?}");
    let e = reject(&message("2.5", "ISO IR87", &blood_count()));
    assert!(e.reason.contains("MSH-18"), "{e:?}");
    let e = reject(&message("2.5", "", &blood_count()));
    assert!(e.reason.contains("not ASCII"), "{e:?}");
    assert_eq!(e.header.unwrap().control_id, "CTRL-1");
    let e = reject(&message("2.5", "", "OBR|1|||A^B\rOBX|1|NM|X^Y||1\r"));
    assert_eq!(e.code, AckCode::Error);
    assert!(e.reason.contains("PID"), "{e:?}");
    let e = reject(&message(
        "2.5",
        "",
        &format!("{PID}OBR|1|||A^B\rOBX|1|NM|X^Y||zwölf\r"),
    ));
    assert!(
        e.reason.contains("not ASCII") || e.reason.contains("number"),
        "{e:?}"
    );
    let e = reject(&message("2.5", "", &format!("{PID}OBR|1|||A^B\r")));
    assert!(e.reason.contains("no OBX"), "{e:?}");
    let e = reject(&message(
        "2.5",
        "",
        &format!(
            "{}OBR|1|||A^B\rOBX|1|NM|X^Y||1\r",
            PID.replace("19800402", "20991231")
        ),
    ));
    assert!(e.reason.contains("future"), "{e:?}");
    let e = reject(&message(
        "2.5",
        "",
        &format!("{PID}OBR|1|||A^B\rOBX|1|NM|bad code^Y||1\r"),
    ));
    assert!(e.reason.contains("OBX[0].code"), "{e:?}");
}

#[test]
fn the_security_field_is_not_printed() {
    let bytes = String::from_utf8(message("2.5", "UNICODE UTF-8", &blood_count()))
        .unwrap()
        .replace("20261201083000||", "20261201083000|hippo_secret|");
    let oru = parse_oru(bytes.as_bytes(), TODAY).unwrap();
    assert_eq!(
        oru.header.security.as_ref().map(|s| s.expose()),
        Some("hippo_secret")
    );
    assert!(!format!("{:?}", oru.header).contains("hippo_secret"));
}

/// The inputs the fuzz target crashed on, replayed the way the target
/// feeds them: whole, and as an MLLP stream in two pieces. Every message
/// read from them must be answered with exactly one MSH and one MSA.
#[test]
fn fuzz_crashes_get_well_formed_acks() {
    // CI's crash: MSH with a tab as field separator, an over-long control
    // ID and garbage in MSH-12, which reached the ACK unescaped.
    let crashes: [&[u8]; 1] = [include_bytes!(
        "fuzz_regressions/crash-39c05b631cd5742a033d50716b7ece650d50b9c6"
    )];
    for data in crashes {
        let mut frames = vec![data.to_vec()];
        let mut decoder = crate::mllp::FrameDecoder::new(4096);
        let (a, b) = data.split_at(data.len() / 2);
        'pieces: for piece in [a, b] {
            if decoder.push(piece).is_err() {
                break;
            }
            while let Ok(next) = decoder.next_frame() {
                match next {
                    Some(frame) => frames.push(frame.to_vec()),
                    None => continue 'pieces,
                }
            }
            break;
        }
        assert!(frames.len() > 1, "the crash is inside an MLLP frame");
        for frame in frames {
            let (header, code, text, location) = match parse_oru(&frame, TODAY) {
                Ok(message) => (Some(message.header), AckCode::Accept, "ok".to_owned(), None),
                Err(r) => (r.header.map(|h| *h), r.code, r.reason, r.location),
            };
            let ack = crate::ack::build_ack(
                header.as_ref(),
                code,
                &text,
                location.as_ref(),
                "20261203000000",
                "A",
            );
            let segments: Vec<&str> = ack.split('\r').filter(|s| !s.is_empty()).collect();
            assert!(segments[0].starts_with("MSH|^~\\&|"), "{ack:?}");
            assert!(segments[1].starts_with("MSA|"), "{ack:?}");
            assert_eq!(ack.matches("\rMSA|").count(), 1, "{ack:?}");
            assert!(!ack.contains("\rMSH"), "{ack:?}");
        }
    }
}
