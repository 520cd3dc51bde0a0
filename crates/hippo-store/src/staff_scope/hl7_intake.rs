//! Staff and lab systems: an HL7 ORU^R01 message's findings, stored for
//! the patient the message names: matched within the own tenant by an
//! identifier (PID-3), else by name and birth date, else created or
//! refused as the facility configured. The whole message is one
//! transaction with its audit records: all findings or none.

use hippo_core::audit::{AuditEvent, AuditRecord, Outcome};
use hippo_core::finding::NewFinding;
use hippo_core::patient::{NewPatient, UnmatchedPatient, format_date};
use hippo_core::policy::{Action, ResourceKind, ResourceRef};
use hippo_core::time_util::now_millis;
use hippo_core::{DomainError, FindingId, PatientId, TenantId};
use sqlx::{AnyConnection, Row};
use std::collections::HashMap;

use super::StaffScope;
use crate::admission::{Access, Admitted, Gated};
use crate::audit::insert_all;
use crate::error::StoreError;
use crate::model::PatientRecord;
use crate::queries::PDF_BLOB;
use crate::rows;
use crate::vault::BlobRef;

/// One message as the store needs it; the HL7 reading is the server's.
#[derive(Debug, Clone)]
pub struct LabIntake {
    /// MSH-10: a second message with the same ID from the same tenant is
    /// answered as accepted and stores nothing.
    pub control_id: String,
    /// (authority, value) pairs from PID-3.
    pub identifiers: Vec<(String, String)>,
    pub person: NewPatient,
    /// Each finding with its PDF (sent in the message or rendered).
    pub findings: Vec<(NewFinding, Vec<u8>)>,
    pub unmatched: UnmatchedPatient,
}

/// What the intake did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeReceipt {
    pub patient: PatientId,
    pub patient_created: bool,
    /// The findings stored now (empty for a duplicate).
    pub findings: Vec<FindingId>,
    /// The control ID was accepted before; nothing was stored again.
    pub duplicate: bool,
}

impl IntakeReceipt {
    /// A resend of a message stored before for `patient`: nothing stored.
    pub(super) fn resend_of(patient: PatientId) -> Self {
        Self {
            patient,
            patient_created: false,
            findings: Vec::new(),
            duplicate: true,
        }
    }
}

/// A message whose PDFs are sealed and in the blob store, waiting for its
/// turn in a group commit ([`store_hl7_group`]).
#[derive(Debug)]
pub struct PreparedIntake {
    pub(super) intake: LabIntake,
    pub(super) sealed: Vec<(FindingId, BlobRef)>,
}

/// Savepoint around one message inside a group's transaction: a message
/// that fails is rolled back alone, the others commit.
const SAVEPOINT: &str = "SAVEPOINT hl7_message";
const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT hl7_message";
const RELEASE: &str = "RELEASE SAVEPOINT hl7_message";

impl StaffScope {
    /// One message on its own: prepared, then stored as a group of one.
    pub async fn intake_hl7(
        &self,
        intake: &LabIntake,
    ) -> Result<Admitted<IntakeReceipt>, StoreError> {
        let prepared = self.prepare_hl7(intake.clone()).await?;
        store_hl7_group(&[(self, &prepared)])
            .await
            .pop()
            .unwrap_or_else(|| Err(StoreError::Corrupt("empty group result".into())))
    }

    /// Everything before the write lock: the policy check and the sealed
    /// PDFs (encryption and the blob's fsync run here, concurrently for all
    /// connections, not inside the transaction). A resent message is found
    /// by its group, which reads the group's control IDs in one statement;
    /// its blobs are removed then. (A lookup here, per message, cost every
    /// message a round trip to spare a resend its sealing.)
    pub async fn prepare_hl7(&self, intake: LabIntake) -> Result<PreparedIntake, StoreError> {
        let action = self.gk.serving(&[Action::Hl7Intake])?;
        let tenant_ref = ResourceRef::Tenant(self.tenant);
        self.gk
            .require(action, &tenant_ref, ResourceKind::Finding, self.tenant)
            .await?;
        // The sealed PDFs go first; if the transaction fails they are
        // removed again (as the upload does).
        let mut sealed: Vec<(FindingId, BlobRef)> = Vec::with_capacity(intake.findings.len());
        for (_, pdf) in &intake.findings {
            let id = FindingId::random();
            match self
                .vault
                .seal_and_put(self.tenant, PDF_BLOB, &id.to_string(), pdf.clone())
                .await
            {
                Ok(blob) => sealed.push((id, blob)),
                Err(e) => {
                    self.discard(&sealed).await;
                    return Err(e);
                }
            }
        }
        Ok(PreparedIntake { intake, sealed })
    }

    /// Give up a prepared message without storing it (its blobs removed).
    pub async fn abandon_hl7(&self, prepared: &PreparedIntake) {
        self.discard(&prepared.sealed).await;
    }

    async fn discard(&self, sealed: &[(FindingId, BlobRef)]) {
        for (_, blob) in sealed {
            self.vault.discard(blob).await;
        }
    }

    async fn answer_duplicate(
        &self,
        receipt: IntakeReceipt,
    ) -> Result<Admitted<IntakeReceipt>, StoreError> {
        let access = Access::default()
            .concerning(self.tenant, Some(receipt.patient))
            .detail("duplicate control_id; nothing stored");
        let gated = self.gk.checked(receipt);
        self.gk
            .admit(gated, ResourceKind::Finding, vec![access])
            .await
    }

    /// One message inside the group's transaction, under its savepoint.
    /// Nothing here records through the audit writer (on SQLite it would
    /// wait for this transaction's write lock): refusals and duplicates are
    /// recorded after the commit; the success's records are handed back
    /// and inserted for the whole group at once, inside the transaction.
    ///
    /// The statements are few on purpose, since the group's messages are
    /// written one after the other and every statement is a round trip to
    /// the database: the patient and its identifiers in one read, the
    /// identifiers it lacks, the finding rows, and the control ID, whose
    /// primary key finds a copy of the message stored meanwhile.
    async fn store_intake_in(
        &self,
        tx: &mut AnyConnection,
        intake: &LabIntake,
        sealed: &[(FindingId, BlobRef)],
    ) -> Result<InTx, StoreError> {
        let (matched, known) = self.matching_patient(tx, intake).await?;
        let (record, created) = match matched {
            Ok(Some(record)) => (record, false),
            Ok(None) if intake.unmatched == UnmatchedPatient::Create => {
                (self.insert_patient(tx, &intake.person).await?, true)
            }
            Ok(None) => {
                return self
                    .refused_unless_stored(tx, intake, None, no_matching_patient())
                    .await;
            }
            Err((patient, error)) => {
                return self.refused_unless_stored(tx, intake, patient, error).await;
            }
        };
        let now = now_millis();
        // A matched patient learns the identifiers it did not have yet; a
        // new one must own its identifiers (else another message created
        // the same patient meanwhile, and this attempt is retried).
        let lacking: Vec<(&str, &str, PatientId)> = intake
            .identifiers
            .iter()
            .filter(|i| !known.contains(i))
            .map(|(authority, value)| (authority.as_str(), value.as_str(), record.id))
            .collect();
        let taken = insert_identifiers(tx, self.tenant, &lacking, !created, now).await;
        if let Err(e) = &taken
            && is_unique_violation(e)
        {
            return Ok(InTx::Retry);
        }
        taken?;
        let message = [(
            intake.control_id.as_str(),
            record.id,
            intake.findings.len() as i64,
        )];
        let inserted = insert_messages(tx, self.tenant, &message, now).await;
        if let Err(e) = &inserted
            && is_unique_violation(e)
        {
            // A copy of the message was stored meanwhile (another
            // connection's, earlier in this group or, on PostgreSQL, a
            // concurrent writer's).
            return Ok(InTx::ControlIdTaken);
        }
        inserted?;
        for ((new, pdf), (id, blob)) in intake.findings.iter().zip(sealed) {
            self.insert_finding_rows(tx, *id, &record, new, pdf, blob)
                .await?;
        }
        Ok(self.written(record.id, created, sealed))
    }

    /// A stored message's outcome: its receipt, and the audit records of
    /// the patient it created and of its findings (inserted with the
    /// group's, before the commit).
    pub(super) fn written(
        &self,
        patient: PatientId,
        created: bool,
        sealed: &[(FindingId, BlobRef)],
    ) -> InTx {
        let mut accesses = Vec::with_capacity(sealed.len() + 1);
        if created {
            accesses.push((
                ResourceKind::Patient,
                Access::of(patient)
                    .concerning(self.tenant, Some(patient))
                    .detail("created by hl7 intake"),
            ));
        }
        for (id, _) in sealed {
            accesses.push((
                ResourceKind::Finding,
                Access::of(id)
                    .concerning(self.tenant, Some(patient))
                    .detail("hl7 intake"),
            ));
        }
        let receipt = IntakeReceipt {
            patient,
            patient_created: created,
            findings: sealed.iter().map(|(id, _)| *id).collect(),
            duplicate: false,
        };
        InTx::Written(self.gk.checked(receipt), self.gk.records_of(accesses))
    }

    /// A message whose patient is refused, unless a copy of it was stored
    /// meanwhile: a lab's retry of a stored message is a duplicate, as it
    /// was before the patient's data changed.
    async fn refused_unless_stored(
        &self,
        tx: &mut AnyConnection,
        intake: &LabIntake,
        patient: Option<PatientId>,
        error: DomainError,
    ) -> Result<InTx, StoreError> {
        Ok(
            match earlier_on(tx, self.tenant, &intake.control_id).await? {
                Some(receipt) => InTx::Duplicate(receipt),
                None => InTx::Refused(patient, error),
            },
        )
    }

    /// One message's attempts under its savepoint: a patient created
    /// concurrently by another writer with the same identifier
    /// (PostgreSQL, where writers do not queue) makes an attempt give way;
    /// the next one finds that record. `Err` means the savepoint itself
    /// failed and the transaction is unusable.
    async fn attempt_in(
        &self,
        tx: &mut AnyConnection,
        prepared: &PreparedIntake,
    ) -> Result<Result<InTx, StoreError>, sqlx::Error> {
        for _ in 0..3 {
            sqlx::query(SAVEPOINT).execute(&mut *tx).await?;
            let outcome = self
                .store_intake_in(tx, &prepared.intake, &prepared.sealed)
                .await;
            match outcome {
                Ok(InTx::Written(gated, records)) => {
                    sqlx::query(RELEASE).execute(&mut *tx).await?;
                    return Ok(Ok(InTx::Written(gated, records)));
                }
                Ok(InTx::Retry) => {
                    sqlx::query(ROLLBACK_TO).execute(&mut *tx).await?;
                    sqlx::query(RELEASE).execute(&mut *tx).await?;
                }
                Ok(InTx::ControlIdTaken) => {
                    sqlx::query(ROLLBACK_TO).execute(&mut *tx).await?;
                    sqlx::query(RELEASE).execute(&mut *tx).await?;
                    let earlier = earlier_on(tx, self.tenant, &prepared.intake.control_id).await;
                    return Ok(match earlier {
                        Ok(Some(receipt)) => Ok(InTx::Duplicate(receipt)),
                        Ok(None) => Err(StoreError::Conflict("hl7 message control id".into())),
                        Err(e) => Err(e),
                    });
                }
                other => {
                    sqlx::query(ROLLBACK_TO).execute(&mut *tx).await?;
                    sqlx::query(RELEASE).execute(&mut *tx).await?;
                    return Ok(other);
                }
            }
        }
        Ok(Err(StoreError::Conflict("hl7 patient identifier".into())))
    }

    /// After the group's commit (or its failure): what this message's
    /// connection is told. Refusals and duplicates are recorded now, through
    /// the audit writer, before the answer; a message not stored gives its
    /// blobs back.
    async fn settle(
        &self,
        prepared: &PreparedIntake,
        outcome: Result<InTx, StoreError>,
    ) -> Result<Admitted<IntakeReceipt>, StoreError> {
        match outcome {
            Ok(InTx::Written(gated, _)) => Ok(self.gk.committed(gated)),
            Ok(InTx::Duplicate(receipt)) => {
                self.discard(&prepared.sealed).await;
                self.answer_duplicate(receipt).await
            }
            Ok(InTx::Refused(patient, error)) => {
                self.discard(&prepared.sealed).await;
                Err(self.refuse(patient, error).await)
            }
            Ok(InTx::Retry | InTx::ControlIdTaken) => {
                self.discard(&prepared.sealed).await;
                Err(StoreError::Conflict("hl7 patient identifier".into()))
            }
            Err(e) => {
                self.discard(&prepared.sealed).await;
                Err(e)
            }
        }
    }

    /// The patient the message names (see [`identified`] and [`named`]),
    /// and the message's identifiers already on file (they need no
    /// insert).
    async fn matching_patient(
        &self,
        conn: &mut AnyConnection,
        intake: &LabIntake,
    ) -> Result<
        (
            Result<Option<PatientRecord>, Refusal>,
            Vec<(String, String)>,
        ),
        StoreError,
    > {
        let found = identified_patients(conn, self.tenant, &intake.identifiers).await?;
        let known: Vec<(String, String)> = found.keys().cloned().collect();
        let records: Vec<PatientRecord> = intake
            .identifiers
            .iter()
            .filter_map(|i| found.get(i).cloned())
            .collect();
        if let Some(decision) = identified(&records, &intake.person) {
            return Ok((decision.map(Some), known));
        }
        let candidates = born_on(conn, self.tenant, &intake.person).await?;
        Ok((named(&candidates, &intake.person), known))
    }

    /// A refused message is recorded (what was refused, never the
    /// message's data) and answered with the reason.
    async fn refuse(&self, patient: Option<PatientId>, error: DomainError) -> StoreError {
        let event = AuditEvent::new(Action::Hl7Intake, ResourceKind::Finding, Outcome::Rejected)
            .concerning(self.tenant, patient);
        self.gk.actor.rejected(event, error.into()).await
    }
}

/// Why the message's patient cannot be used, and which record it concerns.
pub(super) type Refusal = (Option<PatientId>, DomainError);

/// One message's outcome inside the group's transaction.
pub(super) enum InTx {
    /// Stored; its audit records go in with the group's (before the
    /// commit); handed out once the group commits.
    Written(Gated<IntakeReceipt>, Vec<AuditRecord>),
    Duplicate(IntakeReceipt),
    Refused(Option<PatientId>, DomainError),
    /// The patient identifier was taken meanwhile: try again.
    Retry,
    /// The control ID was taken meanwhile (PostgreSQL).
    ControlIdTaken,
}

/// Store prepared messages in as few transactions as their tenants allow
/// (one per run of messages of the same tenant), one savepoint per
/// message, one commit (one fsync) for all of them. The answers come in the
/// order of `batch`; each message's is final only after its commit, and a
/// message that fails does not touch the others (its savepoint is rolled
/// back). If the transaction itself fails, every message of it fails and
/// nothing of it is stored.
pub async fn store_hl7_group(
    batch: &[(&StaffScope, &PreparedIntake)],
) -> Vec<Result<Admitted<IntakeReceipt>, StoreError>> {
    let mut answers = Vec::with_capacity(batch.len());
    for run in batch.chunk_by(|a, b| a.0.tenant == b.0.tenant) {
        answers.extend(store_run(run).await);
    }
    answers
}

/// [`store_hl7_group`] for messages of one tenant.
async fn store_run(
    run: &[(&StaffScope, &PreparedIntake)],
) -> Vec<Result<Admitted<IntakeReceipt>, StoreError>> {
    let Some((lead, _)) = run.first() else {
        return Vec::new();
    };
    let outcomes = match write_run(lead, run).await {
        Ok(outcomes) => outcomes,
        Err(e) => {
            // Nothing of the run is stored: every message is told to retry.
            tracing::warn!(error = %crate::chain(&e), messages = run.len(), "hl7 group commit failed");
            run.iter().map(|_| Err(group_failed(&e))).collect()
        }
    };
    let mut answers = Vec::with_capacity(run.len());
    for ((scope, prepared), outcome) in run.iter().zip(outcomes) {
        answers.push(scope.settle(prepared, outcome).await);
    }
    answers
}

async fn write_run(
    lead: &StaffScope,
    run: &[(&StaffScope, &PreparedIntake)],
) -> Result<Vec<Result<InTx, StoreError>>, StoreError> {
    let mut tx = lead.gk.connections.begin(true).await?;
    let mut outcomes = match super::hl7_batch::write_group(&mut tx, run).await? {
        Some(outcomes) => outcomes,
        // A key was taken meanwhile: the group again in a new transaction,
        // message by message, each under its savepoint, so that only the
        // message that lost the race gives way.
        None => {
            tracing::info!(
                messages = run.len(),
                "hl7 group stored message by message: a key was taken meanwhile"
            );
            tx.rollback().await?;
            tx = lead.gk.connections.begin(true).await?;
            let mut outcomes = Vec::with_capacity(run.len());
            for (scope, prepared) in run {
                outcomes.push(scope.attempt_in(&mut tx, prepared).await?);
            }
            outcomes
        }
    };
    // The stored messages' audit records, all in one insert: they commit
    // with the findings or not at all.
    let mut records: Vec<&mut AuditRecord> = outcomes
        .iter_mut()
        .filter_map(|outcome| match outcome {
            Ok(InTx::Written(_, records)) => Some(records.iter_mut()),
            _ => None,
        })
        .flatten()
        .collect();
    insert_all(&mut tx, &mut records).await?;
    tx.commit().await?;
    Ok(outcomes)
}

/// The error each message of a failed group gets: the database could not
/// take the group just now (the lab retries).
fn group_failed(error: &StoreError) -> StoreError {
    StoreError::Unavailable(sqlx::Error::Protocol(format!(
        "hl7 group commit failed: {error}"
    )))
}

async fn earlier_on(
    conn: &mut AnyConnection,
    tenant: TenantId,
    control_id: &str,
) -> Result<Option<IntakeReceipt>, StoreError> {
    let mut stored = stored_control_ids(conn, tenant, &[control_id]).await?;
    Ok(stored.remove(control_id).map(IntakeReceipt::resend_of))
}

/// Which of these control IDs the tenant stored before, with the patient
/// of each, in one statement per chunk.
pub(super) async fn stored_control_ids(
    conn: &mut AnyConnection,
    tenant: TenantId,
    control_ids: &[&str],
) -> Result<HashMap<String, PatientId>, StoreError> {
    let mut stored = HashMap::new();
    for chunk in control_ids.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT control_id, patient_id FROM hl7_messages WHERE tenant_id = ? AND control_id IN ({})",
            crate::sql::placeholders("?", chunk.len())
        );
        let mut query = sqlx::query(crate::sql::for_connection(conn, sql)).bind(tenant.to_string());
        for control_id in chunk {
            query = query.bind(*control_id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            stored.insert(row.try_get("control_id")?, rows::parse(&row, "patient_id")?);
        }
    }
    Ok(stored)
}

/// Identifiers (authority, value, patient) in one statement per chunk;
/// `learned` leaves one that is already there alone, else it is a unique
/// violation (the caller tells a taken key from other errors).
pub(super) async fn insert_identifiers(
    tx: &mut AnyConnection,
    tenant: TenantId,
    identifiers: &[(&str, &str, PatientId)],
    learned: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    let on_conflict = if learned {
        " ON CONFLICT DO NOTHING"
    } else {
        ""
    };
    for chunk in identifiers.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO patient_identifiers (tenant_id, authority, value, patient_id, created_at) \
             VALUES {}{on_conflict}",
            crate::sql::placeholders("(?, ?, ?, ?, ?)", chunk.len())
        );
        let mut query = sqlx::query(crate::sql::for_connection(tx, sql));
        for (authority, value, patient) in chunk {
            query = query
                .bind(tenant.to_string())
                .bind(*authority)
                .bind(*value)
                .bind(patient.to_string())
                .bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Stored messages (control ID, patient, number of findings) in one
/// statement per chunk; a control ID stored before is a unique violation.
pub(super) async fn insert_messages(
    tx: &mut AnyConnection,
    tenant: TenantId,
    messages: &[(&str, PatientId, i64)],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in messages.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO hl7_messages (tenant_id, control_id, patient_id, findings, received_at) \
             VALUES {}",
            crate::sql::placeholders("(?, ?, ?, ?, ?)", chunk.len())
        );
        let mut query = sqlx::query(crate::sql::for_connection(tx, sql));
        for (control_id, patient, findings) in chunk {
            query = query
                .bind(tenant.to_string())
                .bind(*control_id)
                .bind(patient.to_string())
                .bind(*findings)
                .bind(now);
        }
        query.execute(&mut *tx).await?;
    }
    Ok(())
}

/// Rows (or control IDs) per statement (5 bound values a row).
const ROWS_PER_STATEMENT: usize = 500;

/// Whether a write failed because a unique key was taken.
pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The patients that these (authority, value) identifiers name in the
/// tenant, in one statement per chunk.
pub(super) async fn identified_patients(
    conn: &mut AnyConnection,
    tenant: TenantId,
    identifiers: &[(String, String)],
) -> Result<HashMap<(String, String), PatientRecord>, StoreError> {
    let mut found = HashMap::new();
    for chunk in identifiers.chunks(IDENTIFIERS_PER_STATEMENT) {
        let sql = identifiers_sql(chunk.len());
        let mut query = sqlx::query(crate::sql::for_connection(conn, sql));
        for (authority, value) in chunk {
            query = query.bind(tenant.to_string()).bind(authority).bind(value);
        }
        for row in query.fetch_all(&mut *conn).await? {
            found.insert(
                (row.try_get("authority")?, row.try_get("value")?),
                rows::patient(&row)?,
            );
        }
    }
    Ok(found)
}

/// The lookup of `count` identifiers with their patients. The tenant is
/// in every term, so that each is a lookup by the primary key (SQLite's
/// multi-index OR); with the tenant outside the OR, SQLite read all of the
/// tenant's identifiers instead (see the test below).
fn identifiers_sql(count: usize) -> String {
    let wanted = vec!["(i.tenant_id = ? AND i.authority = ? AND i.value = ?)"; count].join(" OR ");
    format!(
        "SELECT i.authority, i.value, p.id, p.tenant_id, p.given_name, p.family_name, \
         p.birth_date, p.created_at FROM patient_identifiers i \
         JOIN patients p ON p.tenant_id = i.tenant_id AND p.id = i.patient_id \
         WHERE {wanted}"
    )
}

/// Identifier pairs per lookup (an OR of this many terms).
const IDENTIFIERS_PER_STATEMENT: usize = 100;

/// The tenant's patients born on the message's birth date: the candidates
/// for [`named`].
pub(super) async fn born_on(
    conn: &mut AnyConnection,
    tenant: TenantId,
    person: &NewPatient,
) -> Result<Vec<PatientRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT p.id, p.tenant_id, p.given_name, p.family_name, p.birth_date, p.created_at \
         FROM patients p WHERE p.tenant_id = $1 AND p.birth_date = $2 ORDER BY p.id",
    )
    .bind(tenant.to_string())
    .bind(format_date(person.birth_date))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(rows::patient).collect()
}

/// The patient the message's identifiers found (`found`, one record per
/// identifier on file), if they found any: all must name the same record,
/// with the message's birth date.
pub(super) fn identified(
    found: &[PatientRecord],
    person: &NewPatient,
) -> Option<Result<PatientRecord, Refusal>> {
    let first = found.first()?;
    if found.iter().any(|r| r.id != first.id) {
        let error = DomainError::invalid(
            "PID-3",
            "the identifiers name different patients of this facility",
        );
        return Some(Err((None, error)));
    }
    if first.birth_date != person.birth_date {
        let error = DomainError::invalid(
            "PID-7",
            "the identifier belongs to a patient with another birth date",
        );
        return Some(Err((Some(first.id), error)));
    }
    Some(Ok(first.clone()))
}

/// The one candidate with the message's name and birth date, if any.
/// Names are compared case-insensitively in Rust: SQLite's LOWER() knows
/// ASCII only, and "MÜLLER" must find "Müller".
pub(super) fn named<'a>(
    candidates: impl IntoIterator<Item = &'a PatientRecord>,
    person: &NewPatient,
) -> Result<Option<PatientRecord>, Refusal> {
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let mut matches: Vec<&PatientRecord> = candidates
        .into_iter()
        .filter(|r| {
            r.birth_date == person.birth_date
                && same(&r.given_name, &person.given_name)
                && same(&r.family_name, &person.family_name)
        })
        .collect();
    if matches.len() > 1 {
        let error = DomainError::invalid(
            "PID",
            "several patients of this facility have this name and birth date; send an identifier (PID-3)",
        );
        return Err((None, error));
    }
    Ok(matches.pop().cloned())
}

/// No patient matches and the facility does not create them.
pub(super) fn no_matching_patient() -> DomainError {
    DomainError::invalid(
        "PID",
        "no patient of this facility matches the identifier or name and birth date, and this facility does not create patients from lab messages",
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    /// Each identifier of a group is found through the primary key, never
    /// by reading all identifiers of the tenant (a facility has 100,000).
    #[tokio::test]
    async fn identifiers_are_looked_up_by_their_key() {
        let (_dir, store) = crate::store_for_tests::sqlite_store().await;
        let plan =
            crate::store_for_tests::query_plan(&store, &super::identifiers_sql(3), |mut query| {
                for n in 0..3 {
                    query = query.bind("tenant").bind("LAB").bind(n.to_string());
                }
                query
            })
            .await;
        let by_key = plan
            .iter()
            .filter(|step| step.contains("sqlite_autoindex_patient_identifiers_1"))
            .count();
        assert_eq!(by_key, 3, "{plan:?}");
        assert!(
            !plan
                .iter()
                .any(|step| step.contains("patient_identifiers_by_patient")),
            "{plan:?}"
        );
    }
}
