//! `POST /api/v1/hl7/oru`: one HL7 v2 ORU^R01 message in the body (ER7),
//! its acknowledgement as the answer. AA answers 200, AE 422 (the content
//! was refused: unmatched patient, invalid value) and AR 400 (not an
//! ORU^R01 of a supported version and character set); each such answer's
//! body is the ACK message. Everything before the message is read
//! (authentication, role, switches, body size, overload) answers with the
//! API's usual JSON error body.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hippo_hl7::AckCode;

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;
use crate::hl7_intake::intake;
use crate::state::AppState;

/// The media type of HL7 v2 messages in ER7 (pipe-delimited) encoding.
pub const ER7: &str = "x-application/hl7-v2+er7";

/// Submit one ORU^R01 message for the caller's facility; the answer is
/// its ACK (MSA-1 AA, AE or AR, MSA-3 the reason, an ERR segment on a
/// refusal). The message's bytes are read in the character set MSH-18
/// names (ASCII, 8859/1 or UNICODE UTF-8); a message whose control ID
/// (MSH-10) was accepted before is answered AA again and stores nothing.
#[utoipa::path(post, path = "/api/v1/hl7/oru", tag = "hl7",
    request_body(content = String, content_type = "text/plain",
        description = "one HL7 v2 ORU^R01 message (ER7); `x-application/hl7-v2+er7` is accepted too"),
    responses(
        (status = 200, description = "AA: accepted, the findings are stored as drafts", content_type = "x-application/hl7-v2+er7", body = String),
        (status = 400, description = "AR: not an ORU^R01 of version 2.3 to 2.5.1 in a supported character set", content_type = "x-application/hl7-v2+er7", body = String),
        (status = 422, description = "AE: refused content (unmatched patient, invalid value); nothing stored", content_type = "x-application/hl7-v2+er7", body = String),
        (status = 413, description = "message larger than the limit", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn oru(
    State(state): State<AppState>,
    caller: Authorized,
    body: Bytes,
) -> Result<Response, ApiError> {
    let staff = caller.staff()?;
    let ack = intake(staff, &body, state.config().hl7.unmatched).await?;
    let status = match ack.code {
        AckCode::Accept => StatusCode::OK,
        AckCode::Error => StatusCode::UNPROCESSABLE_ENTITY,
        AckCode::Reject => StatusCode::BAD_REQUEST,
    };
    let mut response = (status, ack.message).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(ER7));
    Ok(response)
}
