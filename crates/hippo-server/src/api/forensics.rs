//! Operator forensics over the audit log: accesses and blast radius.

use axum::Json;
use axum::extract::Query;
use hippo_store::BlastRadius;
use hippo_store::{AccessPage, Admitted};

use crate::error::{ApiError, ErrorBody};
use crate::extract::Authorized;
use crate::input::{ForensicQuery, query};

/// Audit records matching the filter, oldest first, one page at a time
/// (`limit`, default 1,000; `after` = the previous page's `next`), with the
/// count and first/last access of the whole selection (operators only).
/// Every query names its purpose (`incident` or `reason`; 400 without),
/// which its audit record keeps.
#[utoipa::path(get, path = "/api/v1/forensics/accesses", tag = "operator", params(ForensicQuery),
    responses((status = 200, description = "matching audit records"), (status = 400, body = ErrorBody, description = "no purpose named"), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn accesses(
    caller: Authorized,
    q: Result<Query<ForensicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Admitted<AccessPage>>, ApiError> {
    let q = query(q)?;
    let (filter, purpose) = (q.filter()?, q.purpose()?);
    Ok(Json(caller.operator()?.accesses(&filter, &purpose).await?))
}

/// Every access in the window by someone with no claim to the record,
/// grouped by affected tenant and patient (operators only).
#[utoipa::path(get, path = "/api/v1/forensics/blast-radius", tag = "operator", params(ForensicQuery),
    responses((status = 200, description = "blast-radius report"), (status = 400, body = ErrorBody, description = "no purpose named"), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn blast_radius(
    caller: Authorized,
    q: Result<Query<ForensicQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Admitted<BlastRadius>>, ApiError> {
    let q = query(q)?;
    let (filter, purpose) = (q.filter()?, q.purpose()?);
    Ok(Json(
        caller.operator()?.blast_radius(&filter, &purpose).await?,
    ))
}
