//! An HL7 group's rows written together: the group's known control IDs
//! and identified patients read in one statement each, every message
//! decided in memory (duplicate, refused, matched or new patient, in the
//! order the messages came), then one multi-row insert per table for all
//! stored messages.
//!
//! Why: the group's messages are written one after the other inside one
//! transaction, and every statement is a round trip to the database
//! (on SQLite a hand-off to sqlx's worker thread and back, ~0.2 ms on a
//! busy core). Message by message that was seven statements each and
//! capped the MLLP intake near 500 messages/s; here a group costs about
//! ten statements however many messages it holds.
//!
//! A unique key taken meanwhile by another writer (PostgreSQL, where
//! writers do not queue for one lock) makes the inserts give way: the
//! caller rolls the transaction back and stores the group again, message
//! by message, each under its own savepoint. (A savepoint around the
//! inserts would spare that, at two round trips for every group.)

use std::collections::HashMap;

use hippo_core::patient::UnmatchedPatient;
use hippo_core::time_util::now_millis;
use hippo_core::{PatientId, TenantId};
use sqlx::AnyConnection;

use super::StaffScope;
use super::findings::{FindingRows, insert_findings_rows};
use super::hl7_intake::{
    InTx, IntakeReceipt, PreparedIntake, born_on, identified, identified_patients,
    insert_identifiers, insert_messages, is_unique_violation, named, no_matching_patient,
    stored_control_ids,
};
use super::patients::insert_patients;
use crate::error::StoreError;
use crate::model::PatientRecord;

/// Each message's outcome, in the order of `run` (messages of one
/// tenant), or `None` when a key was taken meanwhile: the transaction
/// then holds part of the group and must be rolled back.
pub(super) async fn write_group(
    tx: &mut AnyConnection,
    run: &[(&StaffScope, &PreparedIntake)],
) -> Result<Option<Vec<Result<InTx, StoreError>>>, StoreError> {
    let Some((lead, _)) = run.first() else {
        return Ok(Some(Vec::new()));
    };
    let tenant = lead.tenant;
    let control_ids: Vec<&str> = run
        .iter()
        .map(|(_, p)| p.intake.control_id.as_str())
        .collect();
    let stored = stored_control_ids(tx, tenant, &control_ids).await?;
    let identifiers: Vec<(String, String)> = run
        .iter()
        .flat_map(|(_, p)| p.intake.identifiers.iter().cloned())
        .collect();
    let mut patients = identified_patients(tx, tenant, &identifiers).await?;
    let mut plan = Plan::default();
    let mut outcomes = Vec::with_capacity(run.len());
    for (scope, prepared) in run {
        let outcome = plan
            .message(tx, scope, prepared, &stored, &mut patients)
            .await?;
        outcomes.push(Ok(outcome));
    }
    match plan.write(tx, tenant).await {
        Ok(()) => Ok(Some(outcomes)),
        Err(Written::KeyTaken) => Ok(None),
        Err(Written::Failed(e)) => Err(e),
    }
}

/// What the group will write, gathered message by message.
#[derive(Default)]
struct Plan<'a> {
    /// New patients (record, decoy).
    created: Vec<(PatientRecord, bool)>,
    /// Identifiers of new patients: must be new themselves.
    new_identifiers: Vec<(&'a str, &'a str, PatientId)>,
    /// Identifiers a matched patient learns (already there: left alone).
    learned_identifiers: Vec<(&'a str, &'a str, PatientId)>,
    /// (control ID, patient, number of findings) of every stored message.
    messages: Vec<(&'a str, PatientId, i64)>,
    findings: Vec<FindingRows<'a>>,
    /// Control IDs stored by earlier messages of this group.
    in_group: HashMap<&'a str, PatientId>,
}

/// Why the group's inserts did not go through.
enum Written {
    /// A patient identifier or a control ID was taken meanwhile.
    KeyTaken,
    Failed(StoreError),
}

impl From<StoreError> for Written {
    fn from(e: StoreError) -> Self {
        Self::Failed(e)
    }
}

impl From<sqlx::Error> for Written {
    fn from(e: sqlx::Error) -> Self {
        if is_unique_violation(&e) {
            Self::KeyTaken
        } else {
            Self::Failed(e.into())
        }
    }
}

impl<'a> Plan<'a> {
    /// Decide one message, as the message-by-message path would with the
    /// earlier messages of the group already stored.
    async fn message(
        &mut self,
        tx: &mut AnyConnection,
        scope: &'a StaffScope,
        prepared: &'a PreparedIntake,
        stored: &HashMap<String, PatientId>,
        patients: &mut HashMap<(String, String), PatientRecord>,
    ) -> Result<InTx, StoreError> {
        let intake = &prepared.intake;
        let earlier = stored
            .get(&intake.control_id)
            .or_else(|| self.in_group.get(intake.control_id.as_str()));
        if let Some(patient) = earlier {
            return Ok(InTx::Duplicate(IntakeReceipt::resend_of(*patient)));
        }
        let found: Vec<PatientRecord> = intake
            .identifiers
            .iter()
            .filter_map(|i| patients.get(i).cloned())
            .collect();
        let decision = match identified(&found, &intake.person) {
            Some(decision) => decision.map(Some),
            None => {
                // Patients created earlier in this group are not in the
                // database yet: they are candidates too.
                let on_file = born_on(tx, scope.tenant, &intake.person).await?;
                let created = self.created.iter().map(|(record, _)| record);
                named(on_file.iter().chain(created), &intake.person)
            }
        };
        let (record, created) = match decision {
            Ok(Some(record)) => (record, false),
            Ok(None) if intake.unmatched == UnmatchedPatient::Create => {
                (scope.new_patient_record(&intake.person), true)
            }
            Ok(None) => return Ok(InTx::Refused(None, no_matching_patient())),
            Err((patient, error)) => return Ok(InTx::Refused(patient, error)),
        };
        for identifier in &intake.identifiers {
            if patients.contains_key(identifier) {
                continue;
            }
            let row = (identifier.0.as_str(), identifier.1.as_str(), record.id);
            if created {
                self.new_identifiers.push(row);
            } else {
                self.learned_identifiers.push(row);
            }
            patients.insert(identifier.clone(), record.clone());
        }
        if created {
            self.created.push((record.clone(), intake.person.decoy));
        }
        self.in_group.insert(&intake.control_id, record.id);
        self.messages
            .push((&intake.control_id, record.id, intake.findings.len() as i64));
        for ((new, pdf), (id, blob)) in intake.findings.iter().zip(&prepared.sealed) {
            self.findings.push(FindingRows {
                id: *id,
                tenant: scope.tenant,
                patient: record.id,
                created_by: &scope.actor_id,
                new,
                pdf,
                blob,
            });
        }
        Ok(scope.written(record.id, created, &prepared.sealed))
    }

    async fn write(&self, tx: &mut AnyConnection, tenant: TenantId) -> Result<(), Written> {
        let now = now_millis();
        let created: Vec<(&PatientRecord, bool)> =
            self.created.iter().map(|(r, decoy)| (r, *decoy)).collect();
        insert_patients(tx, &created).await?;
        insert_identifiers(tx, tenant, &self.new_identifiers, false, now).await?;
        insert_identifiers(tx, tenant, &self.learned_identifiers, true, now).await?;
        insert_messages(tx, tenant, &self.messages, now).await?;
        insert_findings_rows(tx, &self.findings).await?;
        Ok(())
    }
}
