//! `hippo-load generate`: a data directory at benchmark scale, and the
//! description of it (logins and IDs) that the other subcommands read.

use std::path::{Path, PathBuf};

use anyhow::Context;
use hippo_core::{StaffRole, TenantId};
use hippo_store::{KeySource, Store, StoreOptions, TenantKind};
use serde::{Deserialize, Serialize};

/// One password for every generated login: the harness measures requests,
/// not password secrecy, and hashing it once saves minutes of argon2.
pub const PASSWORD: &str = "bench-password-not-secret";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub tenants: usize,
    pub patients: usize,
    pub findings: usize,
    /// A patient account linked to one patient record in each of the
    /// first two tenants, and the findings it may read.
    pub patient_email: String,
    pub patient_findings: Vec<String>,
    /// A clinician of the first tenant and findings of that tenant.
    pub staff_email: String,
    /// The clinician's TOTP seed (base32): staff must have a second
    /// factor, so the load client logs in with a code.
    #[serde(default)]
    pub staff_totp_secret: Option<String>,
    pub staff_findings: Vec<String>,
    pub staff_patient: String,
}

pub fn world_file(data_dir: &Path) -> PathBuf {
    data_dir.join("bench-world.json")
}

pub fn load(data_dir: &Path) -> anyhow::Result<World> {
    let text = std::fs::read_to_string(world_file(data_dir)).with_context(|| {
        format!(
            "no generated data in {}; run `hippo-load generate` first",
            data_dir.display()
        )
    })?;
    Ok(serde_json::from_str(&text)?)
}

pub async fn open_store(data_dir: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(&StoreOptions {
        database_url: None,
        data_dir: data_dir.to_path_buf(),
        build: "hippo-load".into(),
        blob_url: None,
        blob_options: Default::default(),
        keys: Some(KeySource::File(data_dir.join("keys/master.keyring"))),
    })
    .await?)
}

pub async fn generate(
    hippo: &Path,
    data_dir: &Path,
    tenants: usize,
    patients: usize,
    findings: usize,
) -> anyhow::Result<World> {
    anyhow::ensure!(tenants >= 2, "at least two tenants");
    anyhow::ensure!(patients >= tenants, "at least one patient per tenant");
    if let Ok(world) = load(data_dir) {
        eprintln!("reusing the data generated in {}", data_dir.display());
        return Ok(world);
    }
    std::fs::create_dir_all(data_dir)?;
    let status = std::process::Command::new(hippo)
        .args(["keys", "init", "--data-dir"])
        .arg(data_dir)
        .status()
        .context("running `hippo keys init`")?;
    anyhow::ensure!(status.success(), "`hippo keys init` failed");
    let store = open_store(data_dir).await?;
    let provisioning = store.unscoped_provisioning();
    let hash = hippo_server::auth::password::hash(PASSWORD)
        .map_err(|e| anyhow::anyhow!("hashing: {e:?}"))?;
    let per_patient = findings.div_ceil(patients).max(1);
    let mut progress = hippo_cli::progress::Progress::new("generating", tenants);
    let mut staff_email = String::new();
    let mut staff_totp_secret = None;
    let mut staff_findings = Vec::new();
    let mut staff_patient = String::new();
    let mut linked: Vec<(TenantId, hippo_core::PatientId, Vec<String>)> = Vec::new();
    for t in 0..tenants {
        let tenant = provisioning
            .create_tenant(&format!("Bench Labor {t:03}"), TenantKind::Lab)
            .await?;
        let email = format!("clinician{t:03}@bench.example");
        let staff = provisioning
            .create_staff(
                tenant,
                &email,
                &format!("Dr. Bench {t}"),
                StaffRole::Clinician,
                &hash,
            )
            .await?;
        let share = patients / tenants + usize::from(t < patients % tenants);
        let generated = store
            .internal_bench_generate(tenant, share, per_patient, &staff.to_string())
            .await?;
        if t == 0 {
            let seed = hippo_server::auth::totp::new_seed();
            store
                .unscoped_second_factor()
                .enrol_totp(
                    hippo_store::LoginSubject::Staff(staff),
                    &seed,
                    true,
                    hippo_core::time_util::now_millis(),
                )
                .await?;
            staff_totp_secret = Some(hippo_server::auth::totp::seed_base32(&seed));
            staff_email = email;
            staff_findings = generated
                .iter()
                .take(64)
                .flat_map(|(_, f)| f.iter().map(|f| f.to_string()))
                .collect();
            staff_patient = generated[0].0.to_string();
        }
        if t < 2 {
            let (patient, findings) = &generated[generated.len() - 1];
            linked.push((
                tenant,
                *patient,
                findings.iter().map(|f| f.to_string()).collect(),
            ));
        }
        progress.step();
    }
    let patient_email = "patient@bench.example".to_owned();
    let account = provisioning
        .create_account(&patient_email, "Bench Patient", &hash)
        .await?;
    let mut patient_findings = Vec::new();
    for (tenant, patient, findings) in linked {
        provisioning.link_account(account, tenant, patient).await?;
        patient_findings.extend(findings);
    }
    store.close().await;
    let world = World {
        tenants,
        patients,
        findings: per_patient * patients,
        patient_email,
        patient_findings,
        staff_email,
        staff_totp_secret,
        staff_findings,
        staff_patient,
    };
    std::fs::write(world_file(data_dir), serde_json::to_string_pretty(&world)?)?;
    Ok(world)
}
