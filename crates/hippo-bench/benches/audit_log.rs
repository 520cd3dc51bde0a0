//! Audit log benchmark: durable group-commit append under concurrent load,
//! signed tree head issuance, full verification, and forensic queries over
//! the resulting log. Prints a Markdown table for docs/BENCHMARKS.md.
//!
//! cargo bench -p hippo-bench --bench audit_log -- [RECORDS] [CONCURRENCY] [bulk]
//!
//! With `bulk`, the log is generated through `append_bulk` (one transaction
//! per 20,000 records) so that 10-million-record logs can be built in
//! minutes; the append rate then measures bulk loading, not group commit.

use std::sync::Arc;
use std::time::Instant;

use hippo_audit::AuditSigningKey;
use hippo_core::audit::{AuditActor, AuditEvent, Outcome, RequestOrigin};
use hippo_core::policy::{Action, ResourceKind};
use hippo_core::{FindingId, PatientId, StaffId, TenantId};
use hippo_store::{ForensicFilter, HeadIssuer, Store, StoreOptions};

const TENANTS: usize = 20;
const PATIENTS_PER_TENANT: usize = 500;
const STAFF_PER_TENANT: usize = 10;

/// The i-th generated access: a clinician of the patient's tenant reading
/// a finding, except one in a thousand by a stranger.
fn entry(
    i: usize,
    tenants: &[TenantId],
    patients: &[PatientId],
    staff: &[StaffId],
) -> (AuditActor, AuditEvent, RequestOrigin) {
    let p = (i * 7919) % patients.len();
    let t = p / PATIENTS_PER_TENANT;
    let actor = if i % 1000 == 999 {
        AuditActor {
            kind: "patient".into(),
            id: Some(format!("stranger-{}", i % 13)),
            tenant_id: None,
        }
    } else {
        let s = t * STAFF_PER_TENANT + i % STAFF_PER_TENANT;
        AuditActor {
            kind: "clinician".into(),
            id: Some(staff[s].to_string()),
            tenant_id: Some(tenants[t]),
        }
    };
    let event = AuditEvent::new(Action::FindingRead, ResourceKind::Finding, Outcome::Success)
        .resource(FindingId::random())
        .concerning(tenants[t], Some(patients[p]));
    let origin = RequestOrigin {
        request_id: format!("req-{i}"),
        route: Some("GET /api/v1/findings/{id}".into()),
        client_addr: Some("10.0.0.1".into()),
        user_agent: Some("bench".into()),
    };
    (actor, event, origin)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

#[allow(clippy::unwrap_used, clippy::expect_used)]
fn main() {
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let records: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(200_000);
    let concurrency: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    let bulk = args.get(3).is_some_and(|s| s == "bulk");
    // `verify`: only time verification of a kept log (HIPPO_BENCH_DIR).
    let verify_only = args.get(3).is_some_and(|s| s == "verify");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        // HIPPO_BENCH_DIR keeps the generated log between runs (a 10 M log
        // takes minutes to build); only the missing records are appended.
        let temporary = tempfile::tempdir().unwrap();
        let data_dir: std::path::PathBuf =
            std::env::var_os("HIPPO_BENCH_DIR").map_or_else(|| temporary.path().to_path_buf(), Into::into);
        std::fs::create_dir_all(&data_dir).unwrap();
        // The signing key is kept with the log, so that a kept log's heads
        // verify in later runs.
        let key_file = data_dir.join("bench-audit.key");
        let key = Arc::new(match std::fs::read_to_string(&key_file) {
            Ok(hex) => AuditSigningKey::from_hex(hex.trim()).unwrap(),
            Err(_) => {
                let key = AuditSigningKey::generate();
                std::fs::write(&key_file, key.to_hex()).unwrap();
                key
            }
        });
        let store = Store::open(&StoreOptions {
            database_url: None,
            data_dir: data_dir.clone(),
            build: "bench".into(),
            blob_url: None,
            blob_options: Default::default(),
            keys: None,
        })
        .await
        .unwrap();
        // Deterministic IDs, so that a kept log and a new run agree.
        let id = |kind: u128, i: usize| uuid::Uuid::from_u128((kind << 64) | i as u128);
        let tenants: Vec<TenantId> = (0..TENANTS).map(|i| TenantId::from_uuid(id(1, i))).collect();
        let patients: Vec<PatientId> = (0..TENANTS * PATIENTS_PER_TENANT).map(|i| PatientId::from_uuid(id(2, i))).collect();
        let staff: Vec<StaffId> = (0..TENANTS * STAFF_PER_TENANT).map(|i| StaffId::from_uuid(id(3, i))).collect();
        let (tenants, patients, staff) = (Arc::new(tenants), Arc::new(patients), Arc::new(staff));

        // 1. Append: `concurrency` tasks, each awaiting durability per record.
        let log = store.audit_log();
        if verify_only {
            let mut xs = Vec::new();
            let mut size = 0;
            for _ in 0..3 {
                let s = Instant::now();
                let report = log.verify(&key.verifying_key(), |_, _| {}).await.unwrap();
                xs.push(s.elapsed().as_secs_f64());
                assert!(report.problem.is_none(), "{:?}", report.problem);
                size = report.records;
            }
            let seconds = median(xs);
            println!("| `verify` ({size} records, median of 3) | {seconds:.2} s = **{:.0} records/s** |", size as f64 / seconds);
            return;
        }
        let existing = log.size().await.unwrap() as usize;
        let started = Instant::now();
        if bulk {
            let mut i = existing;
            while i < records {
                let chunk: Vec<_> = (i..(i + 20_000).min(records))
                    .map(|i| entry(i, &tenants, &patients, &staff))
                    .collect();
                i += chunk.len();
                log.append_bulk(chunk).await.unwrap();
                if i.is_multiple_of(1_000_000) {
                    eprintln!("{i} records, {:.0} s", started.elapsed().as_secs_f64());
                }
            }
        }
        let mut tasks = Vec::new();
        for task in (0..concurrency).filter(|_| !bulk) {
            let (log, tenants, patients, staff) = (log.clone(), tenants.clone(), patients.clone(), staff.clone());
            tasks.push(tokio::spawn(async move {
                let mut i = existing + task;
                while i < records {
                    let (actor, event, origin) = entry(i, &tenants, &patients, &staff);
                    log.append(actor, event, &origin).await.unwrap();
                    i += concurrency;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let append_s = started.elapsed().as_secs_f64();
        let size = log.size().await.unwrap();
        let appended = size as usize - existing;

        // 2. Start the head issuer and sign a head over the whole log. The
        //    first start over a log without tiles reads every leaf (and
        //    stores the tiles); a restart reads tile roots only.
        let started = Instant::now();
        let mut issuer = HeadIssuer::new(log.clone(), key.clone(), u64::MAX, i64::MAX).await.unwrap();
        issuer.tick(true).await.unwrap();
        let head_cold_s = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut issuer = HeadIssuer::new(log.clone(), key.clone(), u64::MAX, i64::MAX).await.unwrap();
        issuer.tick(true).await.unwrap();
        let head_restart_s = started.elapsed().as_secs_f64();

        // 3. Verify everything.
        let started = Instant::now();
        let report = log.verify(&key.verifying_key(), |_, _| {}).await.unwrap();
        let verify_s = started.elapsed().as_secs_f64();
        assert!(report.problem.is_none(), "{:?}", report.problem);

        // 4. Forensic queries (median of 5).
        let forensics = store.unscoped_forensics();
        let mut timings = Vec::new();
        // What the operator API answers: the first page (1,000) with the
        // count and first/last access of the whole selection.
        let queries: Vec<(&str, ForensicFilter)> = vec![
            ("accesses of one patient", ForensicFilter { patient: Some(patients[42].to_string()), ..Default::default() }),
            ("accesses by one staff member", ForensicFilter { actor: Some(staff[3].to_string()), ..Default::default() }),
            ("accesses of one tenant", ForensicFilter { tenant: Some(tenants[5].to_string()), ..Default::default() }),
            (
                "accesses of one tenant in one hour",
                ForensicFilter {
                    tenant: Some(tenants[5].to_string()),
                    from: Some(hippo_core::time_util::now_millis() - 3_600_000),
                    ..Default::default()
                },
            ),
        ];
        for (name, filter) in &queries {
            let mut xs = Vec::new();
            let mut n = 0;
            for _ in 0..5 {
                let s = Instant::now();
                n = forensics.page(filter).await.unwrap().total as usize;
                xs.push(s.elapsed().as_secs_f64());
            }
            timings.push((format!("{name}: first page + totals"), median(xs), n));
        }
        // Walking every page of the largest selection (an export).
        let s = Instant::now();
        let mut walked = 0;
        let mut filter = ForensicFilter { tenant: Some(tenants[5].to_string()), limit: Some(10_000), ..Default::default() };
        loop {
            let page = forensics.page(&filter).await.unwrap();
            walked += page.records.len();
            match page.next {
                Some(next) => filter.after = Some(next),
                None => break,
            }
        }
        timings.push(("accesses of one tenant: every page of 10,000".into(), s.elapsed().as_secs_f64(), walked));
        // An inclusion proof for a record in the middle (tiles + one tile
        // of leaves), as a patient's access history fetches it.
        let middle = forensics
            .page(&ForensicFilter { patient: Some(patients[7].to_string()), limit: Some(1), ..Default::default() })
            .await
            .unwrap()
            .records[0]
            .id
            .clone();
        let mut xs = Vec::new();
        for _ in 0..5 {
            let s = Instant::now();
            let proof = log.inclusion_proof(&middle).await.unwrap();
            assert!(hippo_audit::merkle::verify_inclusion(
                proof.leaf_index,
                proof.head.head.size,
                &proof.leaf_hash,
                &proof.audit_path,
                &proof.head.head.root
            ));
            xs.push(s.elapsed().as_secs_f64());
        }
        timings.push(("inclusion proof of one record (verified)".into(), median(xs), 1));
        let mut xs = Vec::new();
        let mut found = 0;
        for _ in 0..5 {
            let s = Instant::now();
            found = forensics
                .blast_radius(&ForensicFilter { routes: vec!["GET /api/v1/findings/{id}".into()], ..Default::default() })
                .await
                .unwrap()
                .accesses;
            xs.push(s.elapsed().as_secs_f64());
        }
        timings.push(("blast radius over the whole log".into(), median(xs), found as usize));

        println!("| measure | result |");
        println!("| --- | --- |");
        let how = if bulk {
            "bulk-loaded (20,000 per transaction)".to_owned()
        } else {
            format!("appended ({concurrency} concurrent writers, durable group commit)")
        };
        println!(
            "| records {how} | {appended} in {append_s:.1} s = **{:.0} records/s** (log now {size}) |",
            appended as f64 / append_s
        );
        println!("| head issuer: first start + head over {size} records | {:.0} ms |", head_cold_s * 1000.0);
        println!("| head issuer: restart from tiles + head | {:.0} ms |", head_restart_s * 1000.0);
        println!("| `verify` (re-encode, re-hash, check heads) | {verify_s:.2} s = **{:.0} records/s** |", size as f64 / verify_s);
        for (name, seconds, n) in timings {
            println!("| {name} ({n} records) | **{:.1} ms** |", seconds * 1000.0);
        }
    });
}
