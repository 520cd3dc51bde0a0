//! Reading a finding upload (multipart) for both the API and the browser
//! form. Everything is validated before anything is stored.

use axum::extract::Multipart;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use hippo_core::file_kind::require_pdf;
use hippo_core::finding::{FindingInput, NewFinding, ObservationInput};

use crate::error::Failure;

/// The parts of an upload form. The API sends `metadata` (JSON with title
/// and observations); the browser form sends `title` and `observations`
/// separately, plus its CSRF token.
#[derive(Default)]
pub struct UploadForm {
    pub metadata: Option<String>,
    pub title: Option<String>,
    pub observations: Option<String>,
    pub csrf: Option<String>,
    pub pdf: Option<Vec<u8>>,
}

const MAX_TEXT_PART: usize = 1024 * 1024;

fn multipart_failure(e: MultipartError) -> Failure {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Failure::PayloadTooLarge
    } else {
        Failure::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

pub async fn read_upload(mut multipart: Multipart, max_pdf: usize) -> Result<UploadForm, Failure> {
    let mut form = UploadForm::default();
    while let Some(field) = multipart.next_field().await.map_err(multipart_failure)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "pdf" {
            let bytes = field.bytes().await.map_err(multipart_failure)?;
            if bytes.len() > max_pdf {
                return Err(Failure::PayloadTooLarge);
            }
            form.pdf = Some(bytes.to_vec());
            continue;
        }
        let slot = match name.as_str() {
            "metadata" => &mut form.metadata,
            "title" => &mut form.title,
            "observations" => &mut form.observations,
            "csrf" => &mut form.csrf,
            other => {
                return Err(Failure::BadRequest(format!(
                    "unexpected form part {:?}; expected metadata and pdf",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        let bytes = field.bytes().await.map_err(multipart_failure)?;
        if bytes.len() > MAX_TEXT_PART {
            return Err(Failure::PayloadTooLarge);
        }
        // The same strictness as the JSON routes: text parts must be UTF-8,
        // never silently repaired.
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| Failure::BadRequest(format!("{name}: part is not valid UTF-8")))?;
        *slot = Some(text);
    }
    Ok(form)
}

impl UploadForm {
    /// Validate into a finding and its PDF bytes.
    pub fn into_finding(self) -> Result<(NewFinding, Vec<u8>), Failure> {
        let finding = match (self.metadata, self.title) {
            (Some(json), _) => NewFinding::parse_json(&json)?,
            (None, Some(title)) => {
                let observations: Vec<ObservationInput> = match self.observations.as_deref() {
                    Some(text) if !text.trim().is_empty() => {
                        serde_json::from_str(text).map_err(|e| {
                            Failure::Invalid(format!("observations: not a valid JSON list: {e}"))
                        })?
                    }
                    _ => Vec::new(),
                };
                NewFinding::parse(FindingInput {
                    title: Some(title),
                    observations,
                })?
            }
            (None, None) => {
                return Err(Failure::Invalid("metadata: part is required".into()));
            }
        };
        let pdf = self
            .pdf
            .ok_or_else(|| Failure::Invalid("pdf: part is required".into()))?;
        require_pdf(&pdf).map_err(Failure::RefusedFile)?;
        Ok((finding, pdf))
    }
}
