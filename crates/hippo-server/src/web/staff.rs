//! Staff management page for tenant admins (issue 12 point 4): the
//! facility's members with their role, second factor, last login and
//! state; a form to invite a member; per member a role change and
//! deactivation or reactivation. The same functions as `/api/v1/staff`.

use askama::Template;
use axum::Form;
use axum::extract::Path;
use axum::response::{Redirect, Response};
use hippo_core::StaffRole;
use hippo_core::time_util::UnixMillis;
use serde::Deserialize;

use crate::api::staff::{MemberChange, change_member, create_member, parse_role};
use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::web::login::CsrfOnly;
use crate::web::render::{Nav, page};

pub struct MemberRow {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub role: &'static str,
    pub role_label: String,
    pub second_factor: bool,
    pub invitation_pending: bool,
    pub last_login: Option<UnixMillis>,
    pub active: bool,
    /// The admin's own row: no buttons (nobody demotes or deactivates
    /// themself; the store refuses it too).
    pub is_self: bool,
}

#[derive(Template)]
#[template(path = "staff.html")]
struct StaffPage {
    ui: Ui,
    nav: Nav,
    members: Vec<MemberRow>,
    /// Value and label of each role, for the selects.
    roles: Vec<(&'static str, String)>,
    invited: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    invited: Option<String>,
}

pub async fn list(
    caller: Authorized,
    axum::extract::Query(query): axum::extract::Query<ListQuery>,
) -> Result<Response, WebError> {
    let members = caller.staff()?.list_staff().await?;
    let me = caller.principal.actor_id();
    let ui = Ui::current();
    page(&StaffPage {
        nav: Nav::of(&caller),
        members: members
            .iter()
            .map(|m| MemberRow {
                id: m.id.to_string(),
                display_name: m.display_name.clone(),
                email: m.email.clone(),
                role: m.role.as_str(),
                role_label: role_label(&ui, m.role),
                second_factor: m.second_factor,
                invitation_pending: m.invitation_pending,
                last_login: m.last_login_at,
                active: m.deactivated_at.is_none(),
                is_self: m.id.to_string() == me,
            })
            .collect(),
        roles: [
            StaffRole::Clinician,
            StaffRole::Assistant,
            StaffRole::TenantAdmin,
        ]
        .into_iter()
        .map(|r| (r.as_str(), role_label(&ui, r)))
        .collect(),
        invited: query.invited.is_some(),
        ui,
    })
}

fn role_label(ui: &Ui, role: StaffRole) -> String {
    match role {
        StaffRole::TenantAdmin => ui.t("admin-role-tenant-admin"),
        StaffRole::Clinician => ui.t("admin-role-clinician"),
        StaffRole::Assistant => ui.t("admin-role-assistant"),
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    csrf: String,
    display_name: String,
    email: String,
    role: String,
}

pub async fn create(
    caller: Authorized,
    Form(form): Form<InviteForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    create_member(&caller, &form.display_name, &form.email, &form.role).await?;
    Ok(Redirect::to("/staff?invited=1"))
}

#[derive(Deserialize)]
pub struct RoleForm {
    csrf: String,
    role: String,
}

pub async fn change_role(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<RoleForm>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    let role = parse_role(&form.role)?;
    change_member(&caller, &raw, MemberChange::Role(role)).await?;
    Ok(Redirect::to("/staff"))
}

pub async fn deactivate(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    change_member(&caller, &raw, MemberChange::Deactivate).await?;
    Ok(Redirect::to("/staff"))
}

pub async fn reactivate(
    caller: Authorized,
    Path(raw): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Redirect, WebError> {
    caller.verify_csrf(&form.csrf)?;
    change_member(&caller, &raw, MemberChange::Reactivate).await?;
    Ok(Redirect::to("/staff"))
}
