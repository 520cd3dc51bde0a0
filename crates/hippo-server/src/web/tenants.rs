//! Operator console: the tenants Hippo serves.

use askama::Template;
use axum::response::Response;
use hippo_core::time_util::human;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::web::render::{Nav, page};

pub struct TenantRow {
    pub name: String,
    pub kind: String,
    pub created: String,
    pub staff: i64,
    pub patients: i64,
    pub deleted: Option<String>,
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    ui: Ui,
    nav: Nav,
    tenants: Vec<TenantRow>,
}

pub async fn list(caller: Authorized) -> Result<Response, WebError> {
    let tenants = caller.operator()?.list_tenants().await?;
    page(&TenantsPage {
        ui: Ui::current(),
        nav: Nav::of(&caller),
        tenants: tenants
            .iter()
            .map(|t| TenantRow {
                name: t.name.clone(),
                kind: t.kind.replace('_', " "),
                created: human(t.created_at),
                staff: t.staff_count,
                patients: t.patient_count,
                deleted: t.deleted_at.map(human),
            })
            .collect(),
    })
}
