//! A JSON body extractor whose rejections use Hippo's error format instead
//! of axum's plain-text ones.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Failure};

pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError(Failure::BadRequest(
                "expected Content-Type: application/json".into(),
            ))),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError(Failure::Invalid(e.body_text()))),
            Err(e) => Err(ApiError(Failure::BadRequest(e.body_text()))),
        }
    }
}
