//! Staff management for tenant admins (issue 12 point 4): the facility's
//! members, new members by invitation (the admin never chooses their
//! password), role changes, deactivation. The pages (`web/staff.rs`) call
//! the same functions.

use std::str::FromStr;

use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use hippo_core::time_util::rfc3339;
use hippo_core::{StaffId, StaffRole};
use hippo_store::{Admitted, NewStaffMember, StaffMemberRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::json::ApiJson;
use crate::auth::token::{hash_token, new_token};
use crate::error::{ApiError, ErrorBody, Failure};
use crate::extract::Authorized;

const MAX_NAME: usize = 100;
const MAX_EMAIL: usize = 254;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    pub display_name: String,
    pub email: String,
    /// `tenant_admin`, `clinician` or `assistant`.
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    /// `tenant_admin`, `clinician` or `assistant`.
    pub role: String,
}

/// A member as the admin sees them: no password hash, no factor secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct StaffMemberView {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    /// A confirmed second factor is enrolled.
    pub second_factor: bool,
    /// Invited; no password set yet.
    pub invitation_pending: bool,
    pub last_login_at: Option<String>,
    pub active: bool,
    pub deactivated_at: Option<String>,
    pub created_at: String,
}

impl From<&StaffMemberRecord> for StaffMemberView {
    fn from(m: &StaffMemberRecord) -> Self {
        Self {
            id: m.id.to_string(),
            display_name: m.display_name.clone(),
            email: m.email.clone(),
            role: m.role.as_str().to_owned(),
            second_factor: m.second_factor,
            invitation_pending: m.invitation_pending,
            last_login_at: m.last_login_at.map(rfc3339),
            active: m.deactivated_at.is_none(),
            deactivated_at: m.deactivated_at.map(rfc3339),
            created_at: rfc3339(m.created_at),
        }
    }
}

pub fn parse_role(raw: &str) -> Result<StaffRole, Failure> {
    StaffRole::parse(raw.trim())
        .ok_or_else(|| Failure::Invalid("role: tenant_admin, clinician or assistant".into()))
}

fn checked_name(raw: &str) -> Result<&str, Failure> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Failure::Invalid(format!(
            "display_name: 1 to {MAX_NAME} printable characters"
        )));
    }
    Ok(name)
}

fn checked_email(raw: &str) -> Result<&str, Failure> {
    let email = raw.trim();
    if email.len() > MAX_EMAIL || lettre::Address::from_str(email).is_err() {
        return Err(Failure::Invalid("email: an e-mail address".into()));
    }
    Ok(email)
}

/// Create a member of the caller's facility with an invitation: a fresh
/// 256-bit token, stored as its SHA-256, mailed through the outbox in the
/// same transaction. The token is never part of an answer.
pub async fn create_member(
    caller: &Authorized,
    display_name: &str,
    email: &str,
    role: &str,
) -> Result<Admitted<StaffMemberRecord>, Failure> {
    let staff = caller.staff()?;
    let token = new_token();
    let new = NewStaffMember {
        display_name: checked_name(display_name)?,
        email: checked_email(email)?,
        role: parse_role(role)?,
        token_hash: &hash_token(&token),
        link_token: &token,
    };
    Ok(staff.create_staff_member(&new).await?)
}

/// What an admin can do to one member, as named in the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Role(StaffRole),
    Deactivate,
    Reactivate,
}

pub async fn change_member(
    caller: &Authorized,
    raw_id: &str,
    change: MemberChange,
) -> Result<Admitted<StaffMemberRecord>, Failure> {
    let id: StaffId = caller.parse_id(raw_id).await?;
    let staff = caller.staff()?;
    Ok(match change {
        MemberChange::Role(role) => staff.change_staff_role(id, role).await?,
        MemberChange::Deactivate => staff.deactivate_staff_member(id).await?,
        MemberChange::Reactivate => staff.reactivate_staff_member(id).await?,
    })
}

/// The facility's staff members.
#[utoipa::path(get, path = "/api/v1/staff", tag = "staff",
    responses((status = 200, body = Vec<StaffMemberView>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(caller: Authorized) -> Result<Json<Vec<StaffMemberView>>, ApiError> {
    let members = caller.staff()?.list_staff().await?;
    Ok(Json(members.iter().map(Into::into).collect()))
}

/// Invite a new member: they get a mail with a link (valid seven days,
/// once) to set their password.
#[utoipa::path(post, path = "/api/v1/staff", tag = "staff",
    request_body = CreateStaffRequest,
    responses((status = 201, body = StaffMemberView), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create(
    caller: Authorized,
    ApiJson(request): ApiJson<CreateStaffRequest>,
) -> Result<(StatusCode, Json<StaffMemberView>), ApiError> {
    let member = create_member(
        &caller,
        &request.display_name,
        &request.email,
        &request.role,
    )
    .await?;
    Ok((StatusCode::CREATED, Json((&*member).into())))
}

/// Give a member another role (not oneself; the facility keeps an admin).
#[utoipa::path(post, path = "/api/v1/staff/{id}/role", tag = "staff",
    params(("id" = String, Path, description = "Staff member ID")),
    request_body = ChangeRoleRequest,
    responses((status = 200, body = StaffMemberView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_role(
    caller: Authorized,
    Path(raw): Path<String>,
    ApiJson(request): ApiJson<ChangeRoleRequest>,
) -> Result<Json<StaffMemberView>, ApiError> {
    let role = parse_role(&request.role)?;
    let member = change_member(&caller, &raw, MemberChange::Role(role)).await?;
    Ok(Json((&*member).into()))
}

/// Block a member's login and end all their sessions at once.
#[utoipa::path(post, path = "/api/v1/staff/{id}/deactivate", tag = "staff",
    params(("id" = String, Path, description = "Staff member ID")),
    responses((status = 200, body = StaffMemberView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deactivate(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<StaffMemberView>, ApiError> {
    let member = change_member(&caller, &raw, MemberChange::Deactivate).await?;
    Ok(Json((&*member).into()))
}

/// Let a deactivated member log in again.
#[utoipa::path(post, path = "/api/v1/staff/{id}/reactivate", tag = "staff",
    params(("id" = String, Path, description = "Staff member ID")),
    responses((status = 200, body = StaffMemberView), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn reactivate(
    caller: Authorized,
    Path(raw): Path<String>,
) -> Result<Json<StaffMemberView>, ApiError> {
    let member = change_member(&caller, &raw, MemberChange::Reactivate).await?;
    Ok(Json((&*member).into()))
}
