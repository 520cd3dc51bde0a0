//! Staff (tenant admins): the members of the own facility (issue 12).
//! A new member gets no password from the admin but an invitation mail;
//! deactivation ends every session of the member at once. A facility
//! always keeps an active admin: nobody deactivates or demotes themself,
//! and the check that another admin remains is part of the write itself.

use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::now_millis;
use hippo_core::{StaffId, StaffRole};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::StaffScope;
use crate::admission::{Access, Admitted, Bound, Statement};
use crate::error::StoreError;
use crate::model::{StaffMemberRecord, TenantSettings};
use crate::rows::parse;
use crate::sql::Backend;

/// The password hash of a member who has not accepted their invitation:
/// no argon2 hash, so no password ever matches it.
pub(crate) const INVITED_PASSWORD: &str = "!invited";

/// How long an invitation's link works.
pub const INVITATION_VALIDITY_MS: i64 = 7 * 24 * 60 * 60 * 1000;

fn staff_member(row: &AnyRow) -> Result<StaffMemberRecord, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(StaffMemberRecord {
        id: parse(row, "id")?,
        tenant_id: parse(row, "tenant_id")?,
        display_name: row.try_get("display_name")?,
        email: row.try_get("email")?,
        role: StaffRole::parse(&role).ok_or_else(|| StoreError::Corrupt("staff role".into()))?,
        second_factor: row.try_get::<i64, _>("factors")? > 0,
        invitation_pending: row.try_get::<i64, _>("invited")? != 0,
        last_login_at: row.try_get("last_login_at")?,
        deactivated_at: row.try_get("deactivated_at")?,
        created_at: row.try_get("created_at")?,
    })
}

fn staff_member_ref(m: &StaffMemberRecord) -> ResourceRef {
    ResourceRef::StaffUser {
        tenant: m.tenant_id,
        staff: m.id,
    }
}

/// `GET /api/v1/staff`: what the admin's list shows, nothing secret.
const STAFF_OF_TENANT: Statement<StaffMemberRecord> = Statement {
    sql: "SELECT s.id, s.tenant_id, s.display_name, s.email, s.role, s.created_at, \
          s.last_login_at, s.deactivated_at, \
          CAST(CASE WHEN s.password_hash = '!invited' THEN 1 ELSE 0 END AS BIGINT) AS invited, \
          ((SELECT COUNT(*) FROM totp_factors f WHERE f.subject_id = s.id \
           AND f.confirmed_at IS NOT NULL) \
           + (SELECT COUNT(*) FROM passkeys k WHERE k.subject_id = s.id)) AS factors \
          FROM staff_users s WHERE (s.tenant_id = $1) /* fence */ \
          ORDER BY s.display_name, s.id",
    map: staff_member,
    resource: staff_member_ref,
    kind: ResourceKind::StaffMember,
};

const STAFF_BY_ID: Statement<StaffMemberRecord> = Statement {
    sql: "SELECT s.id, s.tenant_id, s.display_name, s.email, s.role, s.created_at, \
          s.last_login_at, s.deactivated_at, \
          CAST(CASE WHEN s.password_hash = '!invited' THEN 1 ELSE 0 END AS BIGINT) AS invited, \
          ((SELECT COUNT(*) FROM totp_factors f WHERE f.subject_id = s.id \
           AND f.confirmed_at IS NOT NULL) \
           + (SELECT COUNT(*) FROM passkeys k WHERE k.subject_id = s.id)) AS factors \
          FROM staff_users s WHERE (s.tenant_id = $1) /* fence */ AND s.id = $2",
    map: staff_member,
    resource: staff_member_ref,
    kind: ResourceKind::StaffMember,
};

/// A member to create: the admin chooses name, address and role, never
/// the password. `token_hash` is the SHA-256 of the invitation token,
/// `link_token` the token itself for the mail (see the outbox).
pub struct NewStaffMember<'a> {
    pub display_name: &'a str,
    pub email: &'a str,
    pub role: StaffRole,
    pub token_hash: &'a str,
    pub link_token: &'a str,
}

/// The condition that keeps an active admin besides member `$3` in tenant
/// `$2`: part of the UPDATE that would remove `$3`'s admin rights.
const ANOTHER_ACTIVE_ADMIN: &str = "(SELECT COUNT(*) FROM staff_users o WHERE o.tenant_id = $2 \
     AND o.role = 'tenant_admin' AND o.deactivated_at IS NULL AND o.id <> $3) >= 1";

impl StaffScope {
    pub async fn list_staff(&self) -> Result<Admitted<Vec<StaffMemberRecord>>, StoreError> {
        let action = self.gk.serving(&[Action::StaffList])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::StaffMember, self.tenant)
            .await?;
        let members = self
            .gk
            .fetch_all(
                &STAFF_OF_TENANT,
                |q| q.bind(self.tenant.to_string()),
                Action::StaffRoleChange,
            )
            .await?;
        let access = Access::default()
            .concerning(self.tenant, None)
            .detail(format!("listed={}", members.get().len()));
        self.gk
            .admit(members, ResourceKind::StaffMember, vec![access])
            .await
    }

    /// Create a member without a password, their invitation (valid seven
    /// days, used once) and its mail, in one audited transaction.
    pub async fn create_staff_member(
        &self,
        new: &NewStaffMember<'_>,
    ) -> Result<Admitted<StaffMemberRecord>, StoreError> {
        let action = self.gk.serving(&[Action::StaffCreate])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::StaffMember, self.tenant)
            .await?;
        let id = StaffId::random();
        let now = now_millis();
        let mut tx = self.gk.connections.begin(true).await?;
        // Staff, accounts and operators share one e-mail namespace.
        if crate::provisioning::email_taken(&mut tx, new.email).await? {
            return Err(StoreError::Conflict(
                crate::provisioning::EMAIL_IN_USE.into(),
            ));
        }
        sqlx::query(
            "INSERT INTO staff_users (id, tenant_id, email, display_name, role, password_hash, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id.to_string())
        .bind(self.tenant.to_string())
        .bind(new.email)
        .bind(new.display_name)
        .bind(new.role.as_str())
        .bind(INVITED_PASSWORD)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::unique_as(crate::provisioning::EMAIL_IN_USE))?;
        sqlx::query(
            "INSERT INTO staff_invitations (token_hash, tenant_id, staff_id, created_by, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.token_hash)
        .bind(self.tenant.to_string())
        .bind(id.to_string())
        .bind(&self.actor_id)
        .bind(now)
        .bind(now + INVITATION_VALIDITY_MS)
        .execute(&mut *tx)
        .await?;
        crate::outbox::enqueue_invitation_in(&mut tx, self.tenant, new.email, new.link_token)
            .await?;
        let bind = |q: Bound<'static>| q.bind(self.tenant.to_string()).bind(id.to_string());
        let created = self.gk.reload_in(&mut tx, &STAFF_BY_ID, bind).await?;
        let access = Access::of(id)
            .concerning(self.tenant, None)
            .detail(format!("role={}", new.role.as_str()));
        self.gk
            .commit(tx, created, ResourceKind::StaffMember, access)
            .await
    }

    /// Give member `id` another role. Nobody changes their own role, and
    /// the last active admin keeps theirs.
    pub async fn change_staff_role(
        &self,
        id: StaffId,
        role: StaffRole,
    ) -> Result<Admitted<StaffMemberRecord>, StoreError> {
        let set = format!(
            "UPDATE staff_users SET role = $1 WHERE tenant_id = $2 AND id = $3 \
             AND ($1 = 'tenant_admin' OR role <> 'tenant_admin' OR deactivated_at IS NOT NULL \
             OR {ANOTHER_ACTIVE_ADMIN})"
        );
        self.change_member(
            Action::StaffRoleChange,
            id,
            set,
            Some(role.as_str()),
            format!("role={}", role.as_str()),
        )
        .await
    }

    /// Block member `id`'s login and end all their sessions and pending
    /// logins, in one transaction. Not oneself, not the last admin.
    pub async fn deactivate_staff_member(
        &self,
        id: StaffId,
    ) -> Result<Admitted<StaffMemberRecord>, StoreError> {
        let set = format!(
            "UPDATE staff_users SET deactivated_at = COALESCE(deactivated_at, $1) \
             WHERE tenant_id = $2 AND id = $3 AND (role <> 'tenant_admin' OR {ANOTHER_ACTIVE_ADMIN})"
        );
        self.change_member(Action::StaffDeactivate, id, set, None, "deactivated".into())
            .await
    }

    pub async fn reactivate_staff_member(
        &self,
        id: StaffId,
    ) -> Result<Admitted<StaffMemberRecord>, StoreError> {
        // `$1` is unused but bound, so every change binds alike.
        let set = "UPDATE staff_users SET deactivated_at = NULL \
                   WHERE tenant_id = $2 AND id = $3 AND $1 = $1"
            .to_owned();
        self.change_member(Action::StaffReactivate, id, set, None, "reactivated".into())
            .await
    }

    /// One change of a member: gated load (foreign and absent IDs answer
    /// not found), refusal of changes to oneself, the conditional UPDATE
    /// (`$1` role or time, `$2` tenant, `$3` member), the sessions ended
    /// on deactivation, and the audit record, in one transaction.
    async fn change_member(
        &self,
        serves: Action,
        id: StaffId,
        update: String,
        role: Option<&str>,
        detail: String,
    ) -> Result<Admitted<StaffMemberRecord>, StoreError> {
        let action = self.gk.serving(&[serves])?;
        let bind = |q: Bound<'static>| q.bind(self.tenant.to_string()).bind(id.to_string());
        self.gk.fetch_one(&STAFF_BY_ID, bind, action, id).await?;
        if id.to_string() == self.actor_id {
            return Err(StoreError::Conflict(
                "you cannot change or deactivate your own account; another admin can".into(),
            ));
        }
        let now = now_millis();
        let mut tx = self.gk.connections.begin(true).await?;
        if Backend::of_connection(&tx) == Backend::Postgres {
            // Two admins removing each other at once: the second waits here
            // and then sees the first's change in its condition.
            sqlx::query(
                "SELECT id FROM staff_users WHERE tenant_id = $1 AND role = 'tenant_admin' \
                 FOR UPDATE",
            )
            .bind(self.tenant.to_string())
            .fetch_all(&mut *tx)
            .await?;
        }
        let query = sqlx::query(sqlx::AssertSqlSafe(update));
        let query = match role {
            Some(role) => query.bind(role.to_owned()),
            None => query.bind(now),
        };
        let changed = query
            .bind(self.tenant.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            return Err(StoreError::Conflict(
                "the facility must keep at least one active admin".into(),
            ));
        }
        if serves == Action::StaffDeactivate {
            end_sessions_of(&mut tx, id).await?;
        }
        let changed = self.gk.reload_in(&mut tx, &STAFF_BY_ID, bind).await?;
        let access = Access::of(id).concerning(self.tenant, None).detail(detail);
        self.gk
            .commit(tx, changed, ResourceKind::StaffMember, access)
            .await
    }

    /// The facility's settings (its time zone).
    pub async fn tenant_settings(&self) -> Result<Admitted<TenantSettings>, StoreError> {
        let action = self.gk.serving(&[Action::TenantSettingsRead])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Tenant, self.tenant)
            .await?;
        let settings = {
            let mut conn = self.gk.connections.acquire().await?;
            read_settings(&mut conn, self).await?
        };
        let access = Access::of(self.tenant).concerning(self.tenant, None);
        self.gk
            .admit(
                self.gk.checked(settings),
                ResourceKind::Tenant,
                vec![access],
            )
            .await
    }

    /// Set the facility's time zone; `time_zone` is a validated IANA name.
    pub async fn set_time_zone(
        &self,
        time_zone: &str,
    ) -> Result<Admitted<TenantSettings>, StoreError> {
        let action = self.gk.serving(&[Action::TenantSettingsChange])?;
        let tenant = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant, ResourceKind::Tenant, self.tenant)
            .await?;
        let mut tx = self.gk.connections.begin(false).await?;
        sqlx::query("UPDATE tenants SET time_zone = $1 WHERE id = $2")
            .bind(time_zone)
            .bind(self.tenant.to_string())
            .execute(&mut *tx)
            .await?;
        let settings = read_settings(&mut tx, self).await?;
        let access = Access::of(self.tenant)
            .concerning(self.tenant, None)
            .detail(format!("time_zone={time_zone}"));
        self.gk
            .commit(tx, self.gk.checked(settings), ResourceKind::Tenant, access)
            .await
    }
}

async fn read_settings(
    conn: &mut sqlx::AnyConnection,
    scope: &StaffScope,
) -> Result<TenantSettings, StoreError> {
    let row = sqlx::query("SELECT id, time_zone FROM tenants WHERE id = $1")
        .bind(scope.tenant.to_string())
        .fetch_optional(conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(TenantSettings {
        tenant_id: parse(&row, "id")?,
        time_zone: row.try_get("time_zone")?,
    })
}

/// Every session and pending login of member `id` ends with their
/// deactivation, in its transaction.
async fn end_sessions_of(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    id: StaffId,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM pending_logins WHERE subject_kind = 'staff' AND subject_id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_statement_is_fenced_by_tenant() {
        for sql in [super::STAFF_OF_TENANT.sql, super::STAFF_BY_ID.sql] {
            assert!(sql.contains("(s.tenant_id = $1) /* fence */"), "{sql}");
        }
    }

    #[test]
    fn the_invited_marker_is_the_one_the_list_reads() {
        assert!(super::STAFF_OF_TENANT.sql.contains(super::INVITED_PASSWORD));
    }
}
