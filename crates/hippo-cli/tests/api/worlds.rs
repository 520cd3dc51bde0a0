//! Random worlds: several tenants, staff, patients (some people patients of
//! two tenants), findings in every state, and random request sequences. No
//! response may ever contain an ID, name or value of a patient record or
//! finding the caller may not see.

use std::collections::BTreeSet;

use hippo_core::finding::{NewFinding, Observation, ObservationInput, ObservationValue};
use hippo_core::patient::NewPatient;
use hippo_core::policy::Action;
use hippo_core::time_util::now_millis;
use hippo_core::{FindingId, PatientId, StaffRole};
use hippo_server::auth::token::{hash_token, new_token};
use hippo_store::{LoginSubject, SessionSurface, TenantKind};
use proptest::prelude::*;
use proptest::sample::Index;

use crate::helpers::{Fences, ScopeActor, TestApp, test_app};

/// (finding states: 0 draft, 1 released, 2 retracted; shared with the next tenant)
type PatientShape = (Vec<u8>, bool);
/// (number of clinicians, patients)
type TenantShape = (usize, Vec<PatientShape>);

fn world_shape() -> impl Strategy<Value = Vec<TenantShape>> {
    let patient = (prop::collection::vec(0u8..3, 0..=3), any::<bool>());
    let tenant = (1usize..=2, prop::collection::vec(patient, 1..=4));
    prop::collection::vec(tenant, 2..=3)
}

fn requests() -> impl Strategy<Value = Vec<(Index, u8, Index)>> {
    prop::collection::vec((any::<Index>(), 0u8..8, any::<Index>()), 1..=30)
}

fn tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..10].to_owned()
}

struct FindingFacts {
    id: FindingId,
    marker: String,
    released: bool,
}

struct PatientFacts {
    id: PatientId,
    tenant: usize,
    names: [String; 2],
    findings: Vec<FindingFacts>,
}

/// A caller's sessions, one per surface (a token counts only where it
/// was issued).
struct Tokens {
    api: String,
    web: String,
}

struct Caller {
    token: Tokens,
    /// Patient records (index into `patients`) visible to the caller, and
    /// whether only released findings are.
    visible: BTreeSet<usize>,
    released_only: bool,
}

async fn build(app: &TestApp, shape: &[TenantShape]) -> (Vec<PatientFacts>, Vec<Caller>) {
    let provisioning = app.store.unscoped_provisioning();
    let mut patients: Vec<PatientFacts> = Vec::new();
    let mut callers = Vec::new();
    let mut first_patient_of_tenant = Vec::new();
    let mint = |subject| async move {
        let now = now_millis();
        let mut tokens = Vec::new();
        for surface in [SessionSurface::Api, SessionSurface::Web] {
            let token = new_token();
            app.store
                .unscoped_auth()
                .create_session(&hash_token(&token), subject, surface, now, now + 3_600_000)
                .await
                .unwrap();
            tokens.push(token);
        }
        let web = tokens.pop().unwrap();
        Tokens {
            api: tokens.pop().unwrap(),
            web,
        }
    };
    for (t, (clinicians, patient_shapes)) in shape.iter().enumerate() {
        let tenant = provisioning
            .create_tenant(&format!("Facility {}", tag()), TenantKind::Lab)
            .await
            .unwrap();
        let mut scope = None;
        for _ in 0..*clinicians {
            let id = provisioning
                .create_staff(
                    tenant,
                    &format!("{}@staff.example", tag()),
                    "Dr. Test",
                    StaffRole::Clinician,
                    "unused",
                )
                .await
                .unwrap();
            let token = mint(LoginSubject::Staff(id)).await;
            if scope.is_none() {
                scope =
                    Some(ScopeActor::of(&app.store, LoginSubject::Staff(id), "worlds-setup").await);
            }
            callers.push((token, t));
        }
        let scope = scope.unwrap();
        first_patient_of_tenant.push(patients.len());
        for (states, _) in patient_shapes {
            let names = [format!("Zq{}", tag()), format!("Xv{}", tag())];
            let record = scope
                .acting(Action::PatientCreate)
                .create_patient(&NewPatient {
                    given_name: names[0].clone(),
                    family_name: names[1].clone(),
                    birth_date: time::macros::date!(1980 - 01 - 01),
                    decoy: false,
                })
                .await
                .unwrap();
            let mut findings = Vec::new();
            for state in states {
                let marker = format!("Mk{}", tag());
                let observation = Observation::parse(
                    0,
                    ObservationInput {
                        code: Some("718-7".into()),
                        display: Some(marker.clone()),
                        value: Some(ObservationValue::Text(marker.clone())),
                        unit: None,
                        reference_low: None,
                        reference_high: None,
                        flag: None,
                    },
                )
                .unwrap();
                let pdf = format!("%PDF-1.4\n{marker}\n%%EOF\n");
                let new = NewFinding {
                    title: format!("Befund {marker}"),
                    observations: vec![observation],
                };
                let f = scope
                    .acting(Action::FindingUpload)
                    .upload_finding(record.id, &new, pdf.as_bytes())
                    .await
                    .unwrap();
                if *state >= 1 {
                    scope
                        .acting(Action::FindingRelease)
                        .release(f.id)
                        .await
                        .unwrap();
                }
                if *state == 2 {
                    scope
                        .acting(Action::FindingRetract)
                        .retract(f.id)
                        .await
                        .unwrap();
                }
                findings.push(FindingFacts {
                    id: f.id,
                    marker,
                    released: *state == 1,
                });
            }
            patients.push(PatientFacts {
                id: record.id,
                tenant: t,
                names,
                findings,
            });
        }
    }
    // Staff see every record of their tenant.
    let mut result: Vec<Caller> = callers
        .into_iter()
        .map(|(token, t)| Caller {
            token,
            visible: (0..patients.len())
                .filter(|p| patients[*p].tenant == t)
                .collect(),
            released_only: false,
        })
        .collect();
    // One account per person; a "shared" patient is the same person as the
    // patient at the same position in the next tenant.
    let mut linked = BTreeSet::new();
    for (t, (_, patient_shapes)) in shape.iter().enumerate() {
        for (j, (_, shared)) in patient_shapes.iter().enumerate() {
            let p = first_patient_of_tenant[t] + j;
            if linked.contains(&p) {
                continue;
            }
            let mut records = vec![p];
            if *shared && t + 1 < shape.len() && j < shape[t + 1].1.len() {
                records.push(first_patient_of_tenant[t + 1] + j);
            }
            let account = provisioning
                .create_account(&format!("{}@patient.example", tag()), "Person", "unused")
                .await
                .unwrap();
            for r in &records {
                let tenant = app.store.unscoped_provisioning();
                let tenant_id =
                    sqlx::query_scalar::<_, String>("SELECT tenant_id FROM patients WHERE id = $1")
                        .bind(patients[*r].id.to_string())
                        .fetch_one(&app.db)
                        .await
                        .unwrap()
                        .parse()
                        .unwrap();
                tenant
                    .link_account(account, tenant_id, patients[*r].id)
                    .await
                    .unwrap();
                linked.insert(*r);
            }
            result.push(Caller {
                token: mint(LoginSubject::Account(account)).await,
                visible: records.into_iter().collect(),
                released_only: true,
            });
        }
    }
    (patients, result)
}

/// Everything `caller` must never receive.
fn forbidden(patients: &[PatientFacts], caller: &Caller) -> Vec<String> {
    let mut out = Vec::new();
    for (i, p) in patients.iter().enumerate() {
        let sees_record = caller.visible.contains(&i);
        if !sees_record {
            out.push(p.id.to_string());
            out.extend(p.names.iter().cloned());
        }
        for f in &p.findings {
            if !sees_record || (caller.released_only && !f.released) {
                out.push(f.id.to_string());
                out.push(f.marker.clone());
            }
        }
    }
    out
}

fn path(kind: u8, patients: &[PatientFacts], target: &Index) -> String {
    let all_findings: Vec<FindingId> = patients
        .iter()
        .flat_map(|p| p.findings.iter().map(|f| f.id))
        .collect();
    let patient = patients[target.index(patients.len())].id;
    let finding = if all_findings.is_empty() {
        uuid::Uuid::new_v4().to_string()
    } else {
        all_findings[target.index(all_findings.len())].to_string()
    };
    match kind {
        0 => "/api/v1/findings".into(),
        1 => format!("/api/v1/findings/{finding}"),
        2 => format!("/api/v1/findings/{finding}/pdf"),
        3 => "/api/v1/patients".into(),
        4 => format!("/api/v1/patients/{patient}"),
        5 => format!("/api/v1/patients/{patient}/findings"),
        6 => format!("/findings/{finding}"),
        _ => format!("/patients/{patient}"),
    }
}

async fn check(shape: Vec<TenantShape>, requests: Vec<(Index, u8, Index)>) {
    let app = test_app()
        .fences(Fences {
            empty: true,
            ..Fences::default()
        })
        .spawn()
        .await;
    let (patients, callers) = build(&app, &shape).await;
    for (who, kind, target) in requests {
        let caller = &callers[who.index(callers.len())];
        let path = path(kind, &patients, &target);
        let request = app.client.get(format!("{}{path}", app.url));
        let request = if path.starts_with("/api/") {
            request.bearer_auth(&caller.token.api)
        } else {
            request.header("cookie", format!("hippo_session={}", caller.token.web))
        };
        let response = request.send().await.unwrap();
        let status = response.status();
        assert!(status.as_u16() < 500, "{path}: {status}");
        let body = String::from_utf8_lossy(&response.bytes().await.unwrap()).into_owned();
        for secret in forbidden(&patients, caller) {
            assert!(
                !body.contains(&secret),
                "{path} leaked {secret} (status {status})"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_worlds_never_show_a_caller_foreign_data(shape in world_shape(), requests in requests()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(check(shape, requests));
    }
}
