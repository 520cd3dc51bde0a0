//! One HL7 ORU^R01 message, from bytes to its acknowledgement: read by
//! `hippo-hl7`, a report drawn where the message carried no PDF, stored
//! through the caller's staff scope (patient matching, one transaction,
//! audit), answered with AA, AE or AR. Shared by the HTTP route and the
//! MLLP listener.

use hippo_core::patient::UnmatchedPatient;
use hippo_hl7::ack::{AckCode, build_ack};
use hippo_hl7::oru::{Header, Location};
use hippo_hl7::{OruMessage, Rejection, parse_oru};
use hippo_store::{Admitted, IntakeReceipt, LabIntake, StaffScope, StoreError};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::Failure;

/// An acknowledgement, and what it said.
#[derive(Debug, Clone)]
pub struct Acknowledgement {
    pub code: AckCode,
    /// The ER7 text of the ACK message.
    pub message: String,
}

fn timestamp(now: OffsetDateTime) -> String {
    now.format(format_description!(
        "[year][month][day][hour][minute][second]"
    ))
    .unwrap_or_default()
}

/// An ACK for `request` (or for an unreadable one).
pub fn acknowledge(
    request: Option<&Header>,
    code: AckCode,
    text: &str,
    location: Option<&Location>,
) -> Acknowledgement {
    let ack_id = uuid::Uuid::new_v4().simple().to_string();
    let message = build_ack(
        request,
        code,
        text,
        location,
        &timestamp(OffsetDateTime::now_utc()),
        &ack_id,
    );
    Acknowledgement { code, message }
}

/// Read, store, acknowledge. Failures of Hippo itself (database, audit
/// log, overload) are returned as such: the HTTP route answers them with
/// its usual error body, the MLLP listener with AR.
pub async fn intake(
    scope: &StaffScope,
    bytes: &[u8],
    unmatched: UnmatchedPatient,
) -> Result<Acknowledgement, Failure> {
    store_parsed(scope, parse(bytes), unmatched).await
}

/// A message read as of today (birth dates must not lie ahead).
pub fn parse(bytes: &[u8]) -> Result<OruMessage, Rejection> {
    parse_oru(bytes, OffsetDateTime::now_utc().date())
}

/// The request's header, for answers given before the message is stored.
pub fn header_of(parsed: &Result<OruMessage, Rejection>) -> Option<&Header> {
    match parsed {
        Ok(message) => Some(&message.header),
        Err(rejection) => rejection.header.as_deref(),
    }
}

/// [`intake`] of a message already read.
pub async fn store_parsed(
    scope: &StaffScope,
    parsed: Result<OruMessage, Rejection>,
    unmatched: UnmatchedPatient,
) -> Result<Acknowledgement, Failure> {
    let message = match parsed {
        Ok(message) => message,
        Err(rejection) => return Ok(rejected(&rejection)),
    };
    let lab_intake = to_lab_intake(&message, unmatched);
    answer(&message.header, scope.intake_hl7(&lab_intake).await)
}

/// The NACK of a message that could not be read.
pub fn rejected(rejection: &Rejection) -> Acknowledgement {
    acknowledge(
        rejection.header.as_deref(),
        rejection.code,
        &rejection.reason,
        rejection.location.as_ref(),
    )
}

/// The ACK for what the store did with the message `header` opened.
pub fn answer(
    header: &Header,
    stored: Result<Admitted<IntakeReceipt>, StoreError>,
) -> Result<Acknowledgement, Failure> {
    match stored {
        Ok(receipt) if receipt.duplicate => Ok(acknowledge(
            Some(header),
            AckCode::Accept,
            "duplicate of an accepted message (MSH-10); nothing stored again",
            None,
        )),
        Ok(receipt) => Ok(acknowledge(
            Some(header),
            AckCode::Accept,
            &format!(
                "accepted: {} finding(s) stored as drafts",
                receipt.findings.len()
            ),
            None,
        )),
        Err(StoreError::Domain(e)) => {
            let field = match &e {
                hippo_core::DomainError::Invalid { field, .. } if field == "PID-7" => 7,
                _ => 3,
            };
            let location = Location {
                segment: "PID",
                sequence: 1,
                field,
            };
            Ok(acknowledge(
                Some(header),
                AckCode::Error,
                &e.to_string(),
                Some(&location),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// The store's view of a message: each finding with its PDF, sent or
/// drawn.
pub fn to_lab_intake(message: &OruMessage, unmatched: UnmatchedPatient) -> LabIntake {
    LabIntake {
        control_id: message.header.control_id.clone(),
        identifiers: message
            .patient
            .identifiers
            .iter()
            .map(|i| (i.authority.clone(), i.value.clone()))
            .collect(),
        person: message.patient.person.clone(),
        findings: message
            .findings
            .iter()
            .map(|f| {
                let pdf = f
                    .pdf
                    .clone()
                    .unwrap_or_else(|| crate::hl7_report::render(message, f));
                (f.finding.clone(), pdf)
            })
            .collect(),
        unmatched,
    }
}
