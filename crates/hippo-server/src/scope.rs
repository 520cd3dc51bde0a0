//! The caller's data handle, by principal kind: built once per request by
//! the application state, carried by the `Authorized` extractor.

use hippo_store::{OperatorScope, PatientScope, StaffScope};

pub enum Scope {
    Staff(StaffScope),
    Patient(PatientScope),
    Operator(OperatorScope),
}
