//! Reading a finding upload (multipart) for both the API and the browser
//! form. Everything is validated before anything is stored.

use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use hippo_core::file_kind::require_pdf;
use std::collections::BTreeMap;

use hippo_core::finding::NewFinding;

use crate::error::Failure;
use crate::value_rows::{MAX_ROWS, RowField, TypedRow};

/// The parts of an upload form. The API sends `metadata` (JSON with title
/// and observations); the browser form sends `title`, one part per input
/// of its value rows (`row-<n>-<field>`), its CSRF token, and `more_rows`
/// when its "add rows" button was pressed instead of the upload button.
#[derive(Default)]
pub struct UploadForm {
    pub metadata: Option<String>,
    pub title: Option<String>,
    pub rows: BTreeMap<usize, TypedRow>,
    /// How many rows the form showed (a hidden field), so that trailing
    /// empty rows come back when it is shown again.
    pub shown_rows: Option<String>,
    pub more_rows: Option<String>,
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
        if let Some((index, input)) = RowField::of_part(&name) {
            if index >= MAX_ROWS {
                return Err(Failure::BadRequest(format!(
                    "{name}: at most {MAX_ROWS} value rows"
                )));
            }
            let text = text_part(field, &name).await?;
            form.rows.entry(index).or_default().set(input, text);
            continue;
        }
        let slot = match name.as_str() {
            "metadata" => &mut form.metadata,
            "title" => &mut form.title,
            "rows" => &mut form.shown_rows,
            "more_rows" => &mut form.more_rows,
            "csrf" => &mut form.csrf,
            other => {
                return Err(Failure::BadRequest(format!(
                    "unexpected form part {:?}; expected metadata and pdf",
                    other.chars().take(40).collect::<String>()
                )));
            }
        };
        *slot = Some(text_part(field, &name).await?);
    }
    Ok(form)
}

/// A text part, bounded, and UTF-8 with the same strictness as the JSON
/// routes: never silently repaired.
async fn text_part(field: Field<'_>, name: &str) -> Result<String, Failure> {
    let bytes = field.bytes().await.map_err(multipart_failure)?;
    if bytes.len() > MAX_TEXT_PART {
        return Err(Failure::PayloadTooLarge);
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Failure::BadRequest(format!("{name}: part is not valid UTF-8")))
}

impl UploadForm {
    /// The API's upload: the JSON metadata and the PDF, validated.
    pub fn into_finding(self) -> Result<(NewFinding, Vec<u8>), Failure> {
        let json = self
            .metadata
            .ok_or_else(|| Failure::Invalid("metadata: part is required".into()))?;
        let finding = NewFinding::parse_json(&json)?;
        Ok((finding, checked_pdf(self.pdf)?))
    }
}

/// The PDF part: required, and a PDF by its bytes, not by its name.
pub fn checked_pdf(pdf: Option<Vec<u8>>) -> Result<Vec<u8>, Failure> {
    let pdf = pdf.ok_or_else(|| Failure::Invalid("pdf: part is required".into()))?;
    require_pdf(&pdf).map_err(Failure::RefusedFile)?;
    Ok(pdf)
}
