//! `hippo demo`: seed a realistic demo world and describe it in a
//! credentials file, so that a person or a test can log in as anyone.

mod data;
mod messages;
mod pdf;

use std::path::Path;

use anyhow::{Context, bail};
use hippo_core::audit::RequestOrigin;
use hippo_core::finding::{NewFinding, Observation, ObservationValue};
use hippo_core::patient::NewPatient;
use hippo_core::policy::Action;
use hippo_core::time_util::{human, now_millis};
use hippo_core::{AccountId, FindingId, PatientId, StaffId, StaffRole, TenantId, ThreadId};
use hippo_server::auth::{password, totp};
use hippo_store::{LoginSubject, StaffScope, Store};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use crate::progress::Progress;
use data::{Analyte, DemoTenant, PEOPLE, Panel, TENANTS};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoTenantInfo {
    pub id: TenantId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoUser {
    pub email: String,
    pub password: String,
    /// `patient`, `clinician`, `tenant_admin` or `operator`.
    pub role: String,
    pub tenant_id: Option<TenantId>,
    /// Exactly the patient records this user may read.
    pub patient_ids: Vec<PatientId>,
    /// Exactly the findings this user may read.
    pub finding_ids: Vec<FindingId>,
    /// Exactly the messaging threads this user may read: staff their
    /// facility's, patients their own that were not retracted.
    #[serde(default)]
    pub thread_ids: Vec<ThreadId>,
    /// The TOTP seed (base32) of staff and operators, whose second
    /// factor is mandatory; patients have none in the demo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
}

/// A valid retrieval code of the demo (one per tenant), as printed, with
/// the date of birth that opens it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DemoRetrievalCode {
    /// `XXXX-XXXX-XXXX-XXXX`.
    pub code: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: String,
    pub finding_id: FindingId,
    pub tenant_id: TenantId,
}

/// The credentials file written by `hippo demo --credentials-out`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DemoCredentials {
    pub url: String,
    pub tenants: Vec<DemoTenantInfo>,
    pub users: Vec<DemoUser>,
    /// Retrieval codes for people without an account (issue 11).
    #[serde(default)]
    pub retrieval_codes: Vec<DemoRetrievalCode>,
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
const CREDENTIALS_FILE: &str = "demo-credentials.json";

fn new_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 16)
}

/// A small deterministic hash, so that the demo values differ per patient
/// and test but are the same on every run.
fn mix(a: usize, b: usize, c: usize) -> usize {
    let mut x = (a as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ (b as u64).wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
        ^ (c as u64 + 1);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (x ^ (x >> 32)) as usize
}

fn round(v: f64) -> f64 {
    if v.abs() >= 100.0 {
        v.round()
    } else {
        (v * 10.0).round() / 10.0
    }
}

fn observation(analyte: &Analyte, seed: usize) -> Observation {
    let out_of_range = seed.is_multiple_of(5);
    let jitter = ((seed >> 8) % 100) as f64 / 100.0; // 0.00 .. 0.99
    let value = match analyte.qualitative {
        Some((normal, abnormal)) => ObservationValue::Text(
            if seed.is_multiple_of(7) {
                abnormal
            } else {
                normal
            }
            .to_owned(),
        ),
        None => {
            let v = match (analyte.low, analyte.high) {
                (Some(l), Some(_)) if out_of_range && seed.is_multiple_of(2) => {
                    l * (0.75 + 0.15 * jitter)
                }
                (_, Some(h)) if out_of_range => h * (1.08 + 0.25 * jitter),
                (Some(l), _) if out_of_range => l * (0.7 + 0.2 * jitter),
                (Some(l), Some(h)) => l + (h - l) * (0.2 + 0.6 * jitter),
                (None, Some(h)) => h * (0.55 + 0.4 * jitter),
                (Some(l), None) => l * (1.1 + 0.6 * jitter),
                (None, None) => 1.0,
            };
            ObservationValue::Numeric(round(v))
        }
    };
    let flagged = matches!(&value, ObservationValue::Text(t) if Some(t.as_str()) == analyte.qualitative.map(|q| q.1));
    let input = hippo_core::finding::ObservationInput {
        code: Some(analyte.code.into()),
        display: Some(analyte.display.into()),
        value: Some(value),
        unit: (!analyte.unit.is_empty()).then(|| analyte.unit.into()),
        reference_low: analyte.low,
        reference_high: analyte.high,
        flag: flagged.then(|| "A".into()),
    };
    // The demo tables are valid by construction; a failure is a bug here.
    match Observation::parse(0, input) {
        Ok(o) => o,
        Err(e) => unreachable_observation(e),
    }
}

#[allow(clippy::panic)]
fn unreachable_observation(e: hippo_core::DomainError) -> Observation {
    panic!("demo data is invalid: {e}")
}

struct Uploader<'a> {
    store: &'a Store,
    principal: hippo_core::Principal,
    origin: RequestOrigin,
    gate: std::sync::Arc<dyn hippo_core::policy::AccessGate>,
    tenant: &'a DemoTenant,
}

impl Uploader<'_> {
    /// The clinician's scope for one step, recorded under that step's
    /// action exactly as the route declaring it would be.
    fn scope(&self, action: Action) -> anyhow::Result<StaffScope> {
        self.store
            .staff_scope(
                &self.principal,
                self.origin.clone(),
                self.gate.clone(),
                action,
            )
            .context("clinician has no staff scope")
    }

    async fn upload(
        &self,
        patient: PatientId,
        person: usize,
        panel_index: usize,
        panel: &Panel,
    ) -> anyhow::Result<FindingId> {
        self.upload_taken(patient, person, panel_index, panel, now_millis())
            .await
    }

    /// A finding whose samples were taken at `taken` (its report's date).
    async fn upload_taken(
        &self,
        patient: PatientId,
        person: usize,
        panel_index: usize,
        panel: &Panel,
        taken: hippo_core::time_util::UnixMillis,
    ) -> anyhow::Result<FindingId> {
        let observations: Vec<Observation> = panel
            .analytes
            .iter()
            .enumerate()
            .map(|(i, a)| observation(a, mix(person, panel_index, i)))
            .collect();
        let (given, family, birth, _) = PEOPLE[person];
        let lines: Vec<pdf::ReportLine> = observations
            .iter()
            .map(|o| pdf::ReportLine {
                display: o.display.clone(),
                code: o.code.clone(),
                value: o.value.display(),
                unit: o.unit.clone().unwrap_or_default(),
                range: o
                    .reference_range()
                    .unwrap_or_default()
                    .replace('≥', ">=")
                    .replace('≤', "<="),
                flag: o.flag.as_str().into(),
            })
            .collect();
        let bytes = pdf::render(&pdf::Report {
            facility: self.tenant.name,
            title: panel.title,
            patient: &format!("{given} {family}"),
            birth_date: birth,
            date: &human(taken).chars().take(10).collect::<String>(),
            lines: &lines,
        });
        let finding = NewFinding {
            title: panel.title.into(),
            observations,
        };
        Ok(self
            .scope(Action::FindingUpload)?
            .upload_finding(patient, &finding, &bytes)
            .await?
            .id)
    }
}

impl Uploader<'_> {
    /// A retrieval code for `finding`, issued as a clinician would.
    async fn issue_code(
        &self,
        tenant_id: TenantId,
        finding: FindingId,
        person: usize,
    ) -> anyhow::Result<DemoRetrievalCode> {
        let code = hippo_core::retrieval::RetrievalCode::generate()?;
        let validity_ms =
            i64::from(hippo_core::retrieval::DEFAULT_VALIDITY_DAYS) * 24 * 60 * 60 * 1000;
        let new = hippo_store::NewRetrievalCode {
            code_hash: hippo_server::retrieval::code_hash(&code),
            expires_at: now_millis() + validity_ms,
            max_attempts: hippo_core::retrieval::DEFAULT_ATTEMPTS,
        };
        self.scope(Action::RetrievalCodeIssue)?
            .issue_retrieval_code(finding, &new)
            .await?;
        Ok(DemoRetrievalCode {
            code: code.grouped(),
            date_of_birth: PEOPLE[person].2.to_owned(),
            finding_id: finding,
            tenant_id,
        })
    }
}

/// What the seeding produced, before the server's URL is known.
pub struct DemoWorld {
    pub tenants: Vec<DemoTenantInfo>,
    pub users: Vec<DemoUser>,
    pub retrieval_codes: Vec<DemoRetrievalCode>,
}

impl DemoWorld {
    pub fn credentials(&self, url: String) -> DemoCredentials {
        DemoCredentials {
            url,
            tenants: self.tenants.clone(),
            users: self.users.clone(),
            retrieval_codes: self.retrieval_codes.clone(),
        }
    }
}

/// Seed the demo world into an empty store.
pub async fn seed(store: &Store) -> anyhow::Result<DemoWorld> {
    let provisioning = store.unscoped_provisioning();
    let policy = std::sync::Arc::new(hippo_policy::Policy::load()?);
    let total_steps: usize = TENANTS
        .iter()
        .map(|t| t.staff.len() + t.patients.len())
        .sum::<usize>()
        + PEOPLE.len()
        + 1;
    let mut progress = Progress::new("seeding demo", total_steps);
    let mut tenants = Vec::new();
    let mut users = Vec::new();
    let mut retrieval_codes = Vec::new();
    // Per person: their account's linked records and visible findings.
    let mut person_links: Vec<Vec<(TenantId, PatientId)>> = vec![Vec::new(); PEOPLE.len()];
    let mut person_findings: Vec<Vec<FindingId>> = vec![Vec::new(); PEOPLE.len()];
    let mut clinicians: Vec<(TenantId, StaffId)> = Vec::new();
    let mut accounts: Vec<(usize, AccountId)> = Vec::new();

    for tenant in TENANTS {
        let tenant_id = provisioning.create_tenant(tenant.name, tenant.kind).await?;
        // The lab shows its staff's names in patients' access histories;
        // the test centre shows roles only.
        provisioning
            .set_show_staff_names(tenant_id, tenant.kind == hippo_store::TenantKind::Lab)
            .await?;
        tenants.push(DemoTenantInfo {
            id: tenant_id,
            name: tenant.name.into(),
        });
        let mut staff_users = Vec::new();
        let mut clinician = None;
        for (name, local, role) in tenant.staff {
            let email = format!("{local}@{}", tenant.domain);
            let pw = new_password();
            let id = provisioning
                .create_staff(
                    tenant_id,
                    &email,
                    name,
                    *role,
                    &password::hash(&pw).map_err(|e| anyhow::anyhow!("{e:?}"))?,
                )
                .await?;
            if *role == StaffRole::Clinician {
                clinician = Some(id);
            }
            let totp_secret = enrol_totp(store, LoginSubject::Staff(id)).await?;
            staff_users.push((email, pw, *role, totp_secret));
            progress.step();
        }
        let clinician = clinician.context("demo tenant without clinician")?;
        clinicians.push((tenant_id, clinician));
        let principal = store
            .unscoped_auth()
            .principal(LoginSubject::Staff(clinician))
            .await?
            .context("clinician vanished")?;
        let origin = RequestOrigin {
            request_id: "demo-seed".into(),
            route: None,
            client_addr: None,
            user_agent: Some("hippo demo".into()),
        };
        let uploader = Uploader {
            store,
            gate: policy.gate(&principal),
            principal,
            origin,
            tenant,
        };
        let mut tenant_patients = Vec::new();
        let mut tenant_findings = Vec::new();
        for (n, &person) in tenant.patients.iter().enumerate() {
            let (given, family, birth, _) = PEOPLE[person];
            let record = uploader
                .scope(Action::PatientCreate)?
                .create_patient(&NewPatient {
                    given_name: given.into(),
                    family_name: family.into(),
                    birth_date: hippo_core::patient::parse_birth_date(birth)?,
                    decoy: false,
                })
                .await?;
            tenant_patients.push(record.id);
            person_links[person].push((tenant_id, record.id));
            // The test centre's quick tests are rarer than the lab's panels.
            let history = match tenant.kind {
                hippo_store::TenantKind::Lab => data::HISTORY_DAYS_AGO,
                _ => &data::HISTORY_DAYS_AGO[data::HISTORY_DAYS_AGO.len() - 2..],
            };
            for (t, days_ago) in history.iter().enumerate() {
                // Patients do not all come on the same day.
                let taken = now_millis() - (days_ago + (person as i64 * 5) % 11) * DAY_MS;
                for (p, panel) in tenant.panels.iter().enumerate() {
                    let id = uploader
                        .upload_taken(record.id, person, p + 16 * t, panel, taken)
                        .await?;
                    uploader.scope(Action::FindingRelease)?.release(id).await?;
                    provisioning.backdate_finding(tenant_id, id, taken).await?;
                    tenant_findings.push(id);
                    person_findings[person].push(id);
                }
            }
            // Every facility has one draft the patient must not see; the lab
            // also has a retracted finding.
            if n == 1 {
                let extra = if tenant.kind == hippo_store::TenantKind::Lab {
                    &data::HBA1C
                } else {
                    &data::ANTIGEN
                };
                tenant_findings.push(uploader.upload(record.id, person, 9, extra).await?);
            }
            if n == 2 && tenant.kind == hippo_store::TenantKind::Lab {
                let id = uploader
                    .upload(record.id, person, 8, &data::THYROID)
                    .await?;
                uploader.scope(Action::FindingRelease)?.release(id).await?;
                uploader.scope(Action::FindingRetract)?.retract(id).await?;
                tenant_findings.push(id);
            }
            progress.step();
        }
        // One valid retrieval code per tenant, for the first patient's
        // first released finding.
        if let (Some(&person), Some(&finding)) = (tenant.patients.first(), tenant_findings.first())
        {
            retrieval_codes.push(uploader.issue_code(tenant_id, finding, person).await?);
        }
        for (email, pw, role, totp_secret) in staff_users {
            users.push(DemoUser {
                email,
                password: pw,
                role: role.as_str().into(),
                tenant_id: Some(tenant_id),
                patient_ids: tenant_patients.clone(),
                finding_ids: tenant_findings.clone(),
                thread_ids: Vec::new(),
                totp_secret: Some(totp_secret),
            });
        }
    }

    for (person, (given, family, _, local)) in PEOPLE.iter().enumerate() {
        let email = format!("{local}@patient.example");
        let pw = new_password();
        let account = provisioning
            .create_account(
                &email,
                &format!("{given} {family}"),
                &password::hash(&pw).map_err(|e| anyhow::anyhow!("{e:?}"))?,
            )
            .await?;
        for (tenant, patient) in &person_links[person] {
            provisioning
                .link_account(account, *tenant, *patient)
                .await?;
        }
        accounts.push((users.len(), account));
        users.push(DemoUser {
            email,
            password: pw,
            role: "patient".into(),
            tenant_id: None,
            patient_ids: person_links[person].iter().map(|(_, p)| *p).collect(),
            finding_ids: person_findings[person].clone(),
            thread_ids: Vec::new(),
            totp_secret: None,
        });
        progress.step();
    }
    let operator_password = new_password();
    let operator = provisioning
        .create_operator(
            OPERATOR_EMAIL,
            "Hippo on-call",
            &password::hash(&operator_password).map_err(|e| anyhow::anyhow!("{e:?}"))?,
        )
        .await?;
    users.push(DemoUser {
        email: OPERATOR_EMAIL.into(),
        password: operator_password,
        role: "operator".into(),
        tenant_id: None,
        patient_ids: Vec::new(),
        finding_ids: Vec::new(),
        thread_ids: Vec::new(),
        totp_secret: Some(enrol_totp(store, LoginSubject::Operator(operator)).await?),
    });
    seed_messages(store, &clinicians, &accounts, &person_links, &mut users).await?;
    progress.step();
    Ok(DemoWorld {
        tenants,
        users,
        retrieval_codes,
    })
}

const OPERATOR_EMAIL: &str = "oncall@hippo.example";

/// Enrol a confirmed TOTP factor (staff and operators must have one);
/// the seed in base32, for the credentials file.
async fn enrol_totp(store: &Store, subject: LoginSubject) -> anyhow::Result<String> {
    let seed = totp::new_seed();
    store
        .unscoped_second_factor()
        .enrol_totp(subject, &seed, true, now_millis())
        .await?;
    Ok(totp::seed_base32(&seed))
}

/// The lab's conversations are with Jonas Becker, the test centre's with
/// Mia Schulz (people no other demo fixture relies on).
const LAB_CORRESPONDENT: usize = 3;
const CENTRE_CORRESPONDENT: usize = 5;

/// Seed the demo threads and record in every user's `thread_ids` exactly
/// the threads that user may read.
async fn seed_messages(
    store: &Store,
    clinicians: &[(TenantId, StaffId)],
    accounts: &[(usize, AccountId)],
    person_links: &[Vec<(TenantId, PatientId)>],
    users: &mut [DemoUser],
) -> anyhow::Result<()> {
    let party = |tenant_index: usize, person: usize| -> anyhow::Result<messages::Correspondents> {
        let (tenant, clinician) = *clinicians.get(tenant_index).context("demo tenant")?;
        let (_, patient) = *person_links[person]
            .iter()
            .find(|(t, _)| *t == tenant)
            .context("demo correspondent is no patient there")?;
        let account = accounts
            .iter()
            .map(|(_, a)| *a)
            .nth(person)
            .context("demo account")?;
        Ok(messages::Correspondents {
            tenant,
            clinician,
            account,
            patient,
        })
    };
    let (given, family, birth, _) = PEOPLE[LAB_CORRESPONDENT];
    let report = pdf::render(&pdf::Report {
        facility: TENANTS[0].name,
        title: "Befundbericht",
        patient: &format!("{given} {family}"),
        birth_date: birth,
        date: &human(now_millis()).chars().take(10).collect::<String>(),
        lines: &[],
    });
    let threads = messages::seed(
        store,
        &party(0, LAB_CORRESPONDENT)?,
        &party(1, CENTRE_CORRESPONDENT)?,
        report,
    )
    .await?;
    store
        .unscoped_outbox()
        .discard_unsent_seed_notices()
        .await?;
    for (index, user) in users.iter_mut().enumerate() {
        let account = accounts.iter().find(|(i, _)| *i == index).map(|(_, a)| *a);
        user.thread_ids = threads
            .iter()
            .filter(|t| match (user.tenant_id, account) {
                (Some(tenant), _) => t.tenant == tenant,
                (None, Some(account)) => t.account == account && !t.retracted,
                (None, None) => false,
            })
            .map(|t| t.id)
            .collect();
    }
    Ok(())
}

/// Seed a fresh data directory, or reuse one seeded before (its
/// credentials are kept beside the database, readable only by the owner).
pub async fn seed_or_reuse(store: &Store, data_dir: &Path) -> anyhow::Result<DemoWorld> {
    let saved = data_dir.join(CREDENTIALS_FILE);
    let seeded = store
        .unscoped_provisioning()
        .tenant_by_name(TENANTS[0].name)
        .await?
        .is_some();
    if seeded {
        let text = std::fs::read_to_string(&saved).with_context(|| {
            format!(
                "{} holds data but no {CREDENTIALS_FILE}; use a fresh --data-dir",
                data_dir.display()
            )
        })?;
        let creds: DemoCredentials = serde_json::from_str(&text)?;
        eprintln!("reusing demo data in {}", data_dir.display());
        return Ok(DemoWorld {
            tenants: creds.tenants,
            users: creds.users,
            retrieval_codes: creds.retrieval_codes,
        });
    }
    if saved.exists() {
        bail!(
            "{} exists but the database is empty; remove it or use a fresh --data-dir",
            saved.display()
        );
    }
    let world = seed(store).await?;
    write_private(
        &saved,
        &serde_json::to_string_pretty(&world.credentials(String::new()))?,
    )?;
    Ok(world)
}

/// Write a file only its owner can read: it holds passwords.
pub fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}
