//! `/`: send each principal to their start page.

use axum::response::Redirect;
use hippo_core::Principal;

use crate::extract::Authorized;

pub async fn home(caller: Authorized) -> Redirect {
    match caller.principal {
        Principal::Staff { .. } | Principal::LabSystem { .. } => Redirect::to("/patients"),
        Principal::Patient { .. } => Redirect::to("/findings"),
        Principal::Operator { .. } => Redirect::to("/tenants"),
    }
}
