//! ORU^R01 → Hippo: the header (MSH), the patient (PID), one finding per
//! OBR with its results (OBX). Every value goes through the same domain
//! validation as the JSON upload (`NewFinding::parse`, `NewPatient`),
//! so an HL7 message can store nothing a JSON upload could not.
//!
//! Mapping decisions (documented in the README's HL7 section):
//! - one finding per OBR; its title is OBR-4's text (else its code);
//! - OBX NM → numeric value with OBX-6 unit, OBX-7 range, OBX-8 flag;
//!   ST/TX/FT/CE/CWE/SN and the rest → text; ED with a Base64 PDF → the
//!   finding's PDF (at most one per OBR);
//! - OBX-8: N → N; L, LL, `<` → L; H, HH, `>` → H; empty → derived from
//!   the range; NEG → N; anything else (A, AA, POS, R, …) → A. The
//!   original flag (HH, LL) stays in the rendered report;
//! - one patient per message (a second PID is rejected).

use base64::Engine;
use hippo_core::file_kind::require_pdf;
use hippo_core::finding::{FindingInput, NewFinding, ObservationInput, ObservationValue};
use hippo_core::patient::{NewPatient, PatientInput};
use hl7_parser::Message;
use hl7_parser::message::{Field, Segment, Separators};
use time::Date;

use crate::ack::AckCode;
use crate::charset::{Charset, decode_message};
use crate::escape::unescape;
use crate::range;

/// The versions Hippo reads (MSH-12).
pub const VERSIONS: [&str; 5] = ["2.3", "2.3.1", "2.4", "2.5", "2.5.1"];
/// At most this many results per message, so that one message cannot
/// hold the store's write lock for long.
pub const MAX_FINDINGS: usize = 50;
const MAX_CONTROL_ID: usize = 64;

/// MSH-8 holds a lab system's API key when the connection is not bound
/// to one; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecurityField(String);

impl SecurityField {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecurityField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecurityField([redacted])")
    }
}

/// What the ACK needs from the request, and who sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// MSH-10, echoed in MSA-2; duplicates are recognised by it.
    pub control_id: String,
    /// MSH-12, the version the ACK is written in.
    pub version: String,
    pub sending_application: String,
    pub sending_facility: String,
    pub receiving_application: String,
    pub receiving_facility: String,
    /// MSH-11 (P, T, D).
    pub processing_id: String,
    pub security: Option<SecurityField>,
    pub charset: Charset,
}

/// Where a rejected value sits, for the ERR segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    pub segment: &'static str,
    /// The segment's position among segments of its name (1-based).
    pub sequence: usize,
    pub field: usize,
}

/// Why a message is refused, and what the NACK says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: AckCode,
    pub reason: String,
    pub location: Option<Location>,
    /// The request's header when it could be read (control ID, version).
    pub header: Option<Box<Header>>,
}

impl Rejection {
    pub fn reject(reason: impl Into<String>) -> Self {
        Self {
            code: AckCode::Reject,
            reason: reason.into(),
            location: None,
            header: None,
        }
    }

    pub fn error(reason: impl Into<String>) -> Self {
        Self {
            code: AckCode::Error,
            ..Self::reject(reason)
        }
    }

    fn at(mut self, segment: &'static str, sequence: usize, field: usize) -> Self {
        self.location = Some(Location {
            segment,
            sequence,
            field,
        });
        self
    }

    fn with_header(mut self, header: &Header) -> Self {
        self.header = Some(Box::new(header.clone()));
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

impl Sex {
    fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "F" => Some(Self::Female),
            "M" => Some(Self::Male),
            "O" | "A" | "N" => Some(Self::Other),
            "U" => Some(Self::Unknown),
            _ => None,
        }
    }

    pub fn as_hl7(self) -> &'static str {
        match self {
            Self::Female => "F",
            Self::Male => "M",
            Self::Other => "O",
            Self::Unknown => "U",
        }
    }
}

/// One PID-3 identifier: the value and the authority that assigned it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PatientIdentifier {
    pub value: String,
    /// CX-4 (namespace), empty when the sender names none.
    pub authority: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientDemographics {
    pub identifiers: Vec<PatientIdentifier>,
    /// Name and birth date, validated as a new patient would be.
    pub person: NewPatient,
    pub sex: Option<Sex>,
}

/// One result as the rendered report shows it: the sender's own words.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultLine {
    pub code: String,
    pub display: String,
    pub value: String,
    pub unit: String,
    pub range: String,
    pub flag: String,
}

/// One OBR: a finding, its PDF if the message carried one, and what the
/// rendered report needs when it did not.
#[derive(Debug, Clone, PartialEq)]
pub struct IntakeFinding {
    pub finding: NewFinding,
    pub pdf: Option<Vec<u8>>,
    pub placer_order: String,
    pub filler_order: String,
    /// OBR-7 as `YYYY-MM-DD HH:MM`, or empty.
    pub observed_at: String,
    pub lines: Vec<ResultLine>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OruMessage {
    pub header: Header,
    pub patient: PatientDemographics,
    pub findings: Vec<IntakeFinding>,
}

/// The whole path for one message's bytes: character set, structure,
/// header checks, mapping. `today` keeps birth-date checks pure.
pub fn parse_oru(bytes: &[u8], today: Date) -> Result<OruMessage, Rejection> {
    let (text, charset) = match decode_message(bytes) {
        Ok(decoded) => decoded,
        Err(reason) => {
            // The NACK still names the request's control ID when the
            // header can be read with the stray bytes masked.
            let masked: String = bytes
                .iter()
                .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
                .collect();
            let header = Message::parse_with_lenient_newlines(masked.trim(), true)
                .ok()
                .and_then(|m| {
                    Reader {
                        separators: m.separators,
                        charset: Charset::Ascii,
                    }
                    .header(&m)
                    .ok()
                });
            let mut rejection = Rejection::reject(reason).at("MSH", 1, 18);
            rejection.header = header.map(Box::new);
            return Err(rejection);
        }
    };
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let message = Message::parse_with_lenient_newlines(text, true).map_err(|e| {
        let position = match e {
            hl7_parser::parser::ParseError::FailedToParse { position, .. } => position,
            hl7_parser::parser::ParseError::IncompleteInput(_) => text.len(),
        };
        Rejection::reject(format!(
            "not an HL7 v2 message (parse error at offset {position})"
        ))
    })?;
    let reader = Reader {
        separators: message.separators,
        charset,
    };
    let header = reader.header(&message)?;
    reader
        .body(&message, &header, today)
        .map_err(|r| r.with_header(&header))
}

/// An OBR (its position among OBRs) and its OBXs (each with its position).
type ObrGroup<'s, 'm> = (usize, &'s Segment<'m>, Vec<(usize, &'s Segment<'m>)>);

struct Reader {
    separators: Separators,
    charset: Charset,
}

/// The raw text of component `c` (1-based) of a field's first repetition.
fn raw_component<'m>(field: Option<&Field<'m>>, c: usize) -> &'m str {
    field
        .and_then(|f| f.component(c))
        .map_or("", |c| c.raw_value())
}

/// The first subcomponent's raw text of a component.
fn raw_first_sub<'m>(field: Option<&Field<'m>>, c: usize) -> &'m str {
    field
        .and_then(|f| f.component(c))
        .and_then(|c| c.subcomponent(1))
        .map_or("", |s| s.raw_value())
}

fn field<'s, 'm>(segment: &'s Segment<'m>, n: usize) -> Option<&'s Field<'m>> {
    if n == 0 { None } else { segment.field(n) }
}

impl Reader {
    fn text(&self, raw: &str) -> Result<String, String> {
        unescape(raw, &self.separators, self.charset).map(|t| t.trim().to_owned())
    }

    /// Component text, escapes decoded; errors name the place.
    fn component(
        &self,
        segment: &Segment,
        place: (&'static str, usize),
        n: usize,
        c: usize,
    ) -> Result<String, Rejection> {
        self.text(raw_component(field(segment, n), c))
            .map_err(|e| Rejection::error(format!("{}-{n}: {e}", place.0)).at(place.0, place.1, n))
    }

    fn header(&self, message: &Message) -> Result<Header, Rejection> {
        let msh = message
            .segment("MSH")
            .ok_or_else(|| Rejection::reject("the message has no MSH segment"))?;
        let get = |n: usize, c: usize| -> Result<String, Rejection> {
            self.component(msh, ("MSH", 1), n, c)
                .map_err(|r| Rejection {
                    code: AckCode::Reject,
                    ..r
                })
        };
        let version = get(12, 1)?;
        let mut header = Header {
            control_id: get(10, 1)?,
            version: version.clone(),
            sending_application: get(3, 1)?,
            sending_facility: get(4, 1)?,
            receiving_application: get(5, 1)?,
            receiving_facility: get(6, 1)?,
            processing_id: get(11, 1)?,
            security: None,
            charset: self.charset,
        };
        let security = self
            .text(field(msh, 8).map_or("", |f| f.raw_value()))
            .unwrap_or_default();
        if !security.is_empty() {
            header.security = Some(SecurityField(security));
        }
        if header.control_id.is_empty() {
            return Err(Rejection::reject("MSH-10: message control ID is required")
                .at("MSH", 1, 10)
                .with_header(&header));
        }
        if header.control_id.chars().count() > MAX_CONTROL_ID
            || header.control_id.chars().any(char::is_control)
        {
            header.control_id = header.control_id.chars().take(MAX_CONTROL_ID).collect();
            return Err(Rejection::reject(format!(
                "MSH-10: message control ID must be at most {MAX_CONTROL_ID} printable characters"
            ))
            .at("MSH", 1, 10)
            .with_header(&header));
        }
        if !VERSIONS.contains(&version.as_str()) {
            // The NACK is written in the newest version Hippo reads.
            header.version = "2.5.1".into();
            return Err(Rejection::reject(format!(
                "MSH-12: version {:?} is not supported (2.3 to 2.5.1)",
                version.chars().take(20).collect::<String>()
            ))
            .at("MSH", 1, 12)
            .with_header(&header));
        }
        let (kind, event) = (get(9, 1)?, get(9, 2)?);
        if kind != "ORU" || event != "R01" {
            return Err(Rejection::reject(format!(
                "MSH-9: message type {:?} is not accepted; Hippo takes ORU^R01 only",
                format!("{kind}^{event}")
                    .chars()
                    .take(20)
                    .collect::<String>()
            ))
            .at("MSH", 1, 9)
            .with_header(&header));
        }
        Ok(header)
    }

    fn body(
        &self,
        message: &Message,
        header: &Header,
        today: Date,
    ) -> Result<OruMessage, Rejection> {
        let _ = header;
        let mut pid: Option<&Segment> = None;
        let mut groups: Vec<ObrGroup> = Vec::new();
        let (mut obr_seen, mut obx_seen) = (0, 0);
        for segment in message.segments() {
            match segment.name {
                "PID" if pid.is_some() => {
                    return Err(Rejection::error(
                        "more than one PID: Hippo takes one patient per message",
                    )
                    .at("PID", 2, 1));
                }
                "PID" => pid = Some(segment),
                "OBR" => {
                    obr_seen += 1;
                    if pid.is_none() {
                        return Err(Rejection::error("OBR before PID").at("OBR", obr_seen, 1));
                    }
                    groups.push((obr_seen, segment, Vec::new()));
                }
                "OBX" => {
                    obx_seen += 1;
                    let Some(group) = groups.last_mut() else {
                        return Err(Rejection::error("OBX before any OBR").at("OBX", obx_seen, 1));
                    };
                    group.2.push((obx_seen, segment));
                }
                _ => {}
            }
        }
        let pid = pid.ok_or_else(|| Rejection::error("the message has no PID segment"))?;
        if groups.is_empty() {
            return Err(Rejection::error("the message has no OBR segment"));
        }
        if groups.len() > MAX_FINDINGS {
            return Err(Rejection::error(format!(
                "at most {MAX_FINDINGS} OBR segments per message"
            )));
        }
        let patient = self.patient(pid, today)?;
        let findings = groups
            .iter()
            .map(|(n, obr, obxs)| self.finding(*n, obr, obxs))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(OruMessage {
            header: header.clone(),
            patient,
            findings,
        })
    }

    fn patient(&self, pid: &Segment, today: Date) -> Result<PatientDemographics, Rejection> {
        let place = ("PID", 1);
        let mut identifiers = Vec::new();
        if let Some(ids) = field(pid, 3) {
            for repeat in ids.repeats() {
                let part = |c: usize| {
                    let raw = repeat
                        .component(c)
                        .and_then(|c| c.subcomponent(1))
                        .map_or("", |s| s.raw_value());
                    self.text(raw)
                        .map_err(|e| Rejection::error(format!("PID-3: {e}")).at("PID", 1, 3))
                };
                let value = part(1)?;
                if value.is_empty() {
                    continue;
                }
                if value.chars().count() > 64 || value.chars().any(char::is_control) {
                    return Err(Rejection::error(
                        "PID-3: identifiers must be at most 64 printable characters",
                    )
                    .at("PID", 1, 3));
                }
                let authority: String = part(4)?.chars().take(64).collect();
                identifiers.push(PatientIdentifier { value, authority });
            }
        }
        if identifiers.len() > 10 {
            return Err(Rejection::error("PID-3: at most 10 identifiers").at("PID", 1, 3));
        }
        let name_part = |c: usize| {
            self.text(raw_first_sub(field(pid, 5), c))
                .map_err(|e| Rejection::error(format!("PID-5: {e}")).at("PID", 1, 5))
        };
        let family = name_part(1)?;
        let given = name_part(2)?;
        let birth = self.component(pid, place, 7, 1)?;
        let birth_date = hl7_date(&birth).ok_or_else(|| {
            Rejection::error("PID-7: date of birth is required as YYYYMMDD").at("PID", 1, 7)
        })?;
        let person = NewPatient::parse(
            PatientInput {
                given_name: Some(given),
                family_name: Some(family),
                birth_date: Some(birth_date),
            },
            today,
        )
        .map_err(|e| {
            let field = match &e {
                hippo_core::DomainError::Invalid { field, .. } if field == "birth_date" => 7,
                _ => 5,
            };
            Rejection::error(format!("PID: {e}")).at("PID", 1, field)
        })?;
        let sex = Sex::parse(&self.component(pid, place, 8, 1)?);
        Ok(PatientDemographics {
            identifiers,
            person,
            sex,
        })
    }

    fn finding(
        &self,
        n: usize,
        obr: &Segment,
        obxs: &[(usize, &Segment)],
    ) -> Result<IntakeFinding, Rejection> {
        let place = ("OBR", n);
        let code = self.component(obr, place, 4, 1)?;
        let text = self.component(obr, place, 4, 2)?;
        let title = if text.is_empty() { code } else { text };
        if title.is_empty() {
            return Err(Rejection::error(
                "OBR-4: universal service identifier is required (it names the finding)",
            )
            .at("OBR", n, 4));
        }
        let observed_at = hl7_timestamp(&self.component(obr, place, 7, 1)?);
        let mut pdf = None;
        let mut inputs = Vec::new();
        let mut lines = Vec::new();
        for &(m, obx) in obxs {
            let place = ("OBX", m);
            let value_type = self.component(obx, place, 2, 1)?;
            if value_type == "ED" {
                if pdf.is_some() {
                    return Err(Rejection::error(format!(
                        "OBX-5: OBR {n} carries more than one ED document"
                    ))
                    .at("OBX", m, 5));
                }
                pdf = Some(self.embedded_pdf(obx, m)?);
                continue;
            }
            let (input, line) = self.result(obx, m, &value_type)?;
            inputs.push(input);
            lines.push(line);
        }
        if pdf.is_none() && inputs.is_empty() {
            return Err(Rejection::error(format!("OBR {n} has no OBX results")).at("OBR", n, 4));
        }
        let finding = NewFinding::parse(FindingInput {
            title: Some(title),
            observations: inputs,
        })
        .map_err(|e| {
            Rejection::error(format!(
                "OBR {n}: {}",
                e.to_string().replace("observations[", "OBX[")
            ))
            .at("OBR", n, 4)
        })?;
        Ok(IntakeFinding {
            finding,
            pdf,
            placer_order: self.component(obr, place, 2, 1)?,
            filler_order: self.component(obr, place, 3, 1)?,
            observed_at,
            lines,
        })
    }

    fn result(
        &self,
        obx: &Segment,
        m: usize,
        value_type: &str,
    ) -> Result<(ObservationInput, ResultLine), Rejection> {
        let place = ("OBX", m);
        let code = self.component(obx, place, 3, 1)?;
        let name = self.component(obx, place, 3, 2)?;
        let display = if name.is_empty() { code.clone() } else { name };
        let unit = self.component(obx, place, 6, 1)?;
        let range_text = self.component(obx, place, 7, 1)?;
        let flag_text = self.component(obx, place, 8, 1)?;
        let value = match value_type {
            "NM" => {
                let raw = self.component(obx, place, 5, 1)?;
                let number = range::number(&raw).ok_or_else(|| {
                    Rejection::error(format!("OBX-5: {raw:?} is not a number (value type NM)"))
                        .at("OBX", m, 5)
                })?;
                ObservationValue::Numeric(number)
            }
            // Coded values read as their text, else their code.
            "CE" | "CWE" | "CNE" => {
                let text = self.component(obx, place, 5, 2)?;
                if text.is_empty() {
                    ObservationValue::Text(self.component(obx, place, 5, 1)?)
                } else {
                    ObservationValue::Text(text)
                }
            }
            // Everything else (ST, TX, FT, SN, DT, TS …) as text, the
            // components joined as they were sent.
            _ => {
                let raw = field(obx, 5).map_or("", |f| f.raw_value());
                let text = self
                    .text(raw)
                    .map_err(|e| Rejection::error(format!("OBX-5: {e}")).at("OBX", m, 5))?;
                // A value is one line in Hippo: `\.br\` and components
                // become spaces.
                let text: String = text
                    .chars()
                    .map(|c| {
                        if c == self.separators.component || c.is_control() {
                            ' '
                        } else {
                            c
                        }
                    })
                    .collect();
                ObservationValue::Text(text.split_whitespace().collect::<Vec<_>>().join(" "))
            }
        };
        let range = range::parse(&range_text).unwrap_or_default();
        let line = ResultLine {
            code: code.clone(),
            display: display.clone(),
            value: value.display(),
            unit: unit.clone(),
            range: range_text,
            flag: flag_text.clone(),
        };
        let input = ObservationInput {
            code: Some(code),
            display: Some(display),
            value: Some(value),
            unit: Some(unit),
            reference_low: range.low,
            reference_high: range.high,
            flag: hippo_flag(&flag_text).map(str::to_owned),
        };
        Ok((input, line))
    }

    /// OBX-5 of an ED: source ^ type ^ subtype ^ encoding ^ data; only a
    /// Base64 PDF is taken, and only if its bytes are a PDF.
    fn embedded_pdf(&self, obx: &Segment, m: usize) -> Result<Vec<u8>, Rejection> {
        let place = ("OBX", m);
        let at = |r: Rejection| r.at("OBX", m, 5);
        let kind = self.component(obx, place, 5, 2)?.to_ascii_lowercase();
        let subtype = self.component(obx, place, 5, 3)?.to_ascii_lowercase();
        let encoding = self.component(obx, place, 5, 4)?;
        if subtype != "pdf" || !matches!(kind.as_str(), "ap" | "application" | "") {
            return Err(at(Rejection::error(format!(
                "OBX-5: ED document of type {kind:?}/{subtype:?} is not accepted; Hippo takes application/pdf"
            ))));
        }
        if !encoding.eq_ignore_ascii_case("base64") {
            return Err(at(Rejection::error(
                "OBX-5: the ED document must be Base64-encoded",
            )));
        }
        let data: String = self
            .component(obx, place, 5, 5)?
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data.as_bytes())
            .map_err(|e| at(Rejection::error(format!("OBX-5: invalid Base64 ({e})"))))?;
        require_pdf(&bytes).map_err(|e| at(Rejection::error(format!("OBX-5: {e}"))))?;
        Ok(bytes)
    }
}

/// OBX-8 (table 0078) onto Hippo's four flags; `None` lets the domain
/// derive the flag from the range.
fn hippo_flag(flag: &str) -> Option<&'static str> {
    match flag.trim() {
        "" => None,
        "N" | "NEG" | "S" => Some("N"),
        "L" | "LL" | "<" => Some("L"),
        "H" | "HH" | ">" => Some("H"),
        _ => Some("A"),
    }
}

/// `YYYYMMDD[…]` → `YYYY-MM-DD`.
fn hl7_date(value: &str) -> Option<String> {
    let digits = value.get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}",
        &digits[..4],
        &digits[4..6],
        &digits[6..8]
    ))
}

/// `YYYYMMDD[HHMM…]` → `YYYY-MM-DD[ HH:MM]`, or empty.
fn hl7_timestamp(value: &str) -> String {
    let Some(date) = hl7_date(value) else {
        return String::new();
    };
    match value.get(8..12) {
        Some(hm) if hm.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{date} {}:{}", &hm[..2], &hm[2..])
        }
        _ => date,
    }
}

#[cfg(test)]
#[path = "oru_tests.rs"]
mod tests;
