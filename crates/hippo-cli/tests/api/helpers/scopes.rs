//! Demo users, and acting through the store's scopes without HTTP.

use super::*;

/// The demo user whose e-mail starts with `email_prefix`.
pub fn demo_user(world: &DemoWorld, email_prefix: &str) -> DemoUser {
    world
        .users
        .iter()
        .find(|u| u.email.starts_with(email_prefix))
        .cloned()
        .unwrap_or_else(|| panic!("no demo user {email_prefix}"))
}

/// Who a demo user is in the store, by e-mail prefix.
pub async fn login_subject(app: &TestApp, email_prefix: &str) -> hippo_store::LoginSubject {
    use hippo_store::LoginSubject;
    let email = app.user(email_prefix).email;
    let row = sqlx::query(
        "SELECT 'staff' AS k, id FROM staff_users WHERE email = $1 UNION ALL \
         SELECT 'account', id FROM accounts WHERE email = $1 UNION ALL \
         SELECT 'operator', id FROM operators WHERE email = $1",
    )
    .bind(&email)
    .fetch_one(&app.db)
    .await
    .unwrap();
    let id: String = row.get("id");
    match row.get::<String, _>("k").as_str() {
        "staff" => LoginSubject::Staff(id.parse().unwrap()),
        "operator" => LoginSubject::Operator(id.parse().unwrap()),
        _ => LoginSubject::Account(id.parse().unwrap()),
    }
}

/// A principal acting through the audited scopes without HTTP (to seed
/// test data): each step gets the scope its route would, bound to that
/// route's action.
#[derive(Clone)]
pub struct ScopeActor {
    store: Store,
    principal: hippo_core::Principal,
    gate: std::sync::Arc<dyn hippo_core::policy::AccessGate>,
    origin: hippo_core::audit::RequestOrigin,
}

impl ScopeActor {
    pub async fn of(store: &Store, subject: hippo_store::LoginSubject, request_id: &str) -> Self {
        let principal = store
            .unscoped_auth()
            .principal(subject)
            .await
            .unwrap()
            .unwrap();
        Self::of_principal(store, principal, request_id)
    }

    pub fn of_principal(store: &Store, principal: hippo_core::Principal, request_id: &str) -> Self {
        let gate = std::sync::Arc::new(hippo_policy::Policy::load().unwrap()).gate(&principal);
        Self {
            store: store.clone(),
            principal,
            gate,
            origin: hippo_core::audit::RequestOrigin {
                request_id: request_id.into(),
                ..Default::default()
            },
        }
    }

    pub fn acting(&self, action: hippo_core::policy::Action) -> hippo_store::StaffScope {
        self.store
            .staff_scope(
                &self.principal,
                self.origin.clone(),
                self.gate.clone(),
                action,
            )
            .unwrap()
    }

    /// The same, for a patient account.
    pub fn acting_as_patient(
        &self,
        action: hippo_core::policy::Action,
    ) -> hippo_store::PatientScope {
        let origin = self.origin.clone();
        self.store
            .patient_scope(
                &self.principal,
                origin,
                self.gate.clone(),
                action,
                Default::default(),
            )
            .unwrap()
    }
}
