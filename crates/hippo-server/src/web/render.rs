//! Rendering askama templates into responses, and the page chrome.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use hippo_core::Principal;

use crate::error::{Failure, WebError};
use crate::extract::Authorized;

/// The navigation bar: who is logged in and where they may go.
pub struct Nav {
    pub user: String,
    pub is_staff: bool,
    pub is_operator: bool,
    /// A tenant admin: the nav links to staff, API keys and settings.
    pub is_admin: bool,
    pub csrf: String,
    /// The staff member's own ID (for "assign to me"); empty otherwise.
    pub staff_id: String,
}

impl Nav {
    pub fn of(caller: &Authorized) -> Self {
        Self {
            user: caller.principal.display_name().to_owned(),
            is_staff: matches!(caller.principal, Principal::Staff { .. }),
            is_operator: matches!(caller.principal, Principal::Operator { .. }),
            is_admin: matches!(
                caller.principal,
                Principal::Staff {
                    role: hippo_core::StaffRole::TenantAdmin,
                    ..
                }
            ),
            csrf: caller.csrf_token(),
            staff_id: match &caller.principal {
                Principal::Staff { staff_id, .. } => staff_id.to_string(),
                _ => String::new(),
            },
        }
    }
}

pub fn page<T: Template>(template: &T) -> Result<Response, WebError> {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| WebError(Failure::internal(e)))
}
