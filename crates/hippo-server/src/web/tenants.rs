//! Operator console: the tenants Hippo serves.

use askama::Template;
use axum::response::Response;
use hippo_core::time_util::UnixMillis;

use crate::error::WebError;
use crate::extract::Authorized;
use crate::i18n::Ui;
use crate::web::render::{Nav, page};

pub struct TenantRow {
    pub name: String,
    pub kind: String,
    pub created: UnixMillis,
    pub staff: i64,
    pub patients: i64,
    pub deleted: Option<UnixMillis>,
}

#[derive(Template)]
#[template(path = "tenants.html")]
struct TenantsPage {
    ui: Ui,
    nav: Nav,
    tenants: Vec<TenantRow>,
}

/// The facility kind in the reader's language; an unknown kind as stored.
fn kind_label(ui: &Ui, kind: &str) -> String {
    match kind {
        "lab" => ui.t("operator-kind-lab"),
        "practice" => ui.t("operator-kind-practice"),
        "test_centre" => ui.t("operator-kind-test-centre"),
        other => other.replace('_', " "),
    }
}

pub async fn list(caller: Authorized) -> Result<Response, WebError> {
    let tenants = caller.operator()?.list_tenants().await?;
    let ui = Ui::current();
    page(&TenantsPage {
        nav: Nav::of(&caller),
        tenants: tenants
            .iter()
            .map(|t| TenantRow {
                name: t.name.clone(),
                kind: kind_label(&ui, &t.kind),
                created: t.created_at,
                staff: t.staff_count,
                patients: t.patient_count,
                deleted: t.deleted_at,
            })
            .collect(),
        ui,
    })
}
