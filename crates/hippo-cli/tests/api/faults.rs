//! Fault drills (issue 9, point 8): a read-only database, a full disk,
//! PostgreSQL stopped and started, the blob store unreachable. Under each
//! fault Hippo answers 503 with Retry-After for what it cannot do safely,
//! serves no read without its audit record, and loses nothing it
//! acknowledged; when the fault ends it recovers by itself, without a
//! restart. The drills that need root powers (chattr, mount) or programs
//! (PostgreSQL, moto) report themselves skipped outside CI when they lack
//! them, and fail under `CI=true`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::Value;

use crate::helpers::*;

/// A patient reading their finding and a clinician uploading findings.
struct Probe {
    client: Client,
    url: String,
    patient: String,
    staff: String,
    finding: String,
    patient_record: String,
}

/// What the clients were told during a fault.
#[derive(Default)]
struct Told {
    /// Request IDs of reads answered 200.
    reads: Vec<String>,
    /// Findings whose upload was answered 201.
    uploads: Vec<String>,
    unavailable: usize,
}

impl Probe {
    async fn new(url: &str, world: &hippo_cli::demo::DemoWorld) -> Self {
        let (max, keller) = (
            demo_user(world, "max.schmidt"),
            demo_user(world, "a.keller"),
        );
        let client = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            patient: login_at(&client, url, &max).await,
            staff: login_at(&client, url, &keller).await,
            finding: max.finding_ids[0].to_string(),
            patient_record: keller.patient_ids[0].to_string(),
            url: url.to_owned(),
            client,
        }
    }

    async fn read(&self) -> (StatusCode, bool, String) {
        let response = self
            .client
            .get(format!("{}/api/v1/findings/{}", self.url, self.finding))
            .bearer_auth(&self.patient)
            .send()
            .await
            .expect("a fault is answered, never left hanging");
        let request_id = server_request_id(&response);
        let retry_after = response.headers().contains_key("retry-after");
        (response.status(), retry_after, request_id)
    }

    async fn upload(&self) -> (StatusCode, bool, Option<String>) {
        let response = self
            .client
            .post(format!(
                "{}/api/v1/patients/{}/findings",
                self.url, self.patient_record
            ))
            .bearer_auth(&self.staff)
            .multipart(upload_form(&finding_metadata(), PDF))
            .send()
            .await
            .expect("a fault is answered, never left hanging");
        let retry_after = response.headers().contains_key("retry-after");
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        (status, retry_after, body["id"].as_str().map(str::to_owned))
    }

    /// Reads and uploads during a fault: each answered 2xx, or 503 with
    /// Retry-After; nothing else.
    async fn during_fault(&self, rounds: usize) -> Told {
        let mut told = Told::default();
        for _ in 0..rounds {
            let (status, retry_after, request_id) = self.read().await;
            match status {
                StatusCode::OK => told.reads.push(request_id),
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(retry_after, "503 without Retry-After");
                    told.unavailable += 1;
                }
                other => panic!("read under a fault answered {other}"),
            }
            let (status, retry_after, id) = self.upload().await;
            match status {
                StatusCode::CREATED => told.uploads.push(id.unwrap()),
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert!(retry_after, "503 without Retry-After");
                    told.unavailable += 1;
                }
                other => panic!("upload under a fault answered {other}"),
            }
        }
        told
    }

    /// After the fault: reads and uploads succeed again within a bounded
    /// number of attempts (a minute at most; pooled connections opened
    /// during the fault are renewed within seconds), without a restart.
    async fn recovers(&self) -> Told {
        let mut told = Told::default();
        for _ in 0..600 {
            if told.reads.is_empty() {
                let (status, _, request_id) = self.read().await;
                if status == StatusCode::OK {
                    told.reads.push(request_id);
                }
            }
            if told.uploads.is_empty() {
                let (status, _, id) = self.upload().await;
                if status == StatusCode::CREATED {
                    told.uploads.push(id.unwrap());
                }
            }
            if !told.reads.is_empty() && !told.uploads.is_empty() {
                return told;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "did not recover: {} reads, {} uploads",
            told.reads.len(),
            told.uploads.len()
        );
    }

    /// Everything the clients were told happened did happen: each 200 read
    /// has its audit record, each 201 upload is there with its PDF.
    async fn nothing_lost(&self, told: &[&Told], db: &sqlx::AnyPool) {
        let recorded: HashSet<String> = sqlx::query_scalar(
            "SELECT request_id FROM audit_records WHERE action = 'finding_read' AND outcome = 'success'",
        )
        .fetch_all(db)
        .await
        .unwrap()
        .into_iter()
        .collect();
        for told in told {
            for read in &told.reads {
                assert!(
                    recorded.contains(read),
                    "read {read} answered without its audit record"
                );
            }
            for finding in &told.uploads {
                let pdf = self
                    .client
                    .get(format!("{}/api/v1/findings/{finding}/pdf", self.url))
                    .bearer_auth(&self.staff)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(
                    pdf.status(),
                    StatusCode::OK,
                    "acknowledged upload {finding} lost"
                );
                assert_eq!(pdf.bytes().await.unwrap().as_ref(), PDF);
            }
        }
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn sqlite_pool_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("hippo.db").display())
}

/// The database file and its WAL made immutable (`chattr +i`, which holds
/// even for root and for files already open): writes fail, reads work.
#[tokio::test]
async fn a_read_only_database_answers_503_and_recovers_by_itself_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let probe_file = dir.path().join("chattr-probe");
    std::fs::write(&probe_file, b"x").unwrap();
    let probe_path = probe_file.to_str().unwrap();
    let can_chattr =
        run("chattr", &["+i", probe_path]).and_then(|()| run("chattr", &["-i", probe_path]));
    prerequisite(can_chattr, "chattr +i (root on ext4)");
    let world = seeded_data_dir(dir.path(), None).await;
    let server = ServeProcess::start(dir.path(), &[]);
    let probe = Probe::new(&server.url, &world).await;
    let before = probe.during_fault(1).await;
    assert_eq!(before.unavailable, 0);
    let files: Vec<String> = ["hippo.db", "hippo.db-wal"]
        .iter()
        .map(|f| dir.path().join(f).to_string_lossy().into_owned())
        .collect();
    for file in &files {
        run("chattr", &["+i", file]).unwrap();
    }
    let during = probe.during_fault(5).await;
    for file in &files {
        run("chattr", &["-i", file]).unwrap();
    }
    assert!(
        during.unavailable >= 5,
        "reads need their audit record, which cannot be written"
    );
    let after = probe.recovers().await;
    let db = test_pool(&sqlite_pool_url(dir.path())).await;
    probe.nothing_lost(&[&before, &during, &after], &db).await;
    drop(server);
    db.close().await;
    assert!(hippo(&["audit", "verify"], dir.path()).contains("intact"));
}

/// A mounted tmpfs (removed when the test ends).
struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = run("umount", &["-l", self.0.to_str().unwrap_or_default()]);
    }
}

/// The data directory on a small tmpfs, then filled to the last byte.
#[tokio::test]
async fn a_full_disk_answers_503_and_recovers_by_itself_as_root() {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("data");
    std::fs::create_dir_all(&mount).unwrap();
    let path = mount.to_str().unwrap();
    prerequisite(
        run("mount", &["-t", "tmpfs", "-o", "size=96m", "tmpfs", path]),
        "mounting a tmpfs (root)",
    );
    let _mounted = Tmpfs(mount.clone());
    let world = seeded_data_dir(&mount, None).await;
    let server = ServeProcess::start(&mount, &[]);
    let probe = Probe::new(&server.url, &world).await;
    let before = probe.during_fault(1).await;
    assert_eq!(before.unavailable, 0);
    // Fill the disk.
    let filler = mount.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 1 << 20];
        while file
            .write_all(&chunk)
            .and_then(|()| file.sync_data())
            .is_ok()
        {}
        let small = vec![0u8; 4096];
        while file
            .write_all(&small)
            .and_then(|()| file.sync_data())
            .is_ok()
        {}
    }
    let during = probe.during_fault(5).await;
    std::fs::remove_file(&filler).unwrap();
    assert!(
        during.unavailable >= 5,
        "uploads need room for their blob, which is not there"
    );
    let after = probe.recovers().await;
    let db = test_pool(&sqlite_pool_url(&mount)).await;
    probe.nothing_lost(&[&before, &during, &after], &db).await;
    drop(server);
    db.close().await;
    assert!(hippo(&["audit", "verify"], &mount).contains("intact"));
}

/// A PostgreSQL cluster of the test's own, so that it can be stopped.
struct OwnPostgres {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl OwnPostgres {
    fn start() -> Result<Self, String> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .map_err(|e| format!("no PostgreSQL server binaries: {e}"))?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .ok_or("no initdb")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let data = dir.path().join("data");
        let root = dir.path().to_str().unwrap_or_default().to_owned();
        run("chown", &["postgres", &root])?;
        let initdb = bin.join("initdb");
        run(
            "runuser",
            &[
                "-u",
                "postgres",
                "--",
                initdb.to_str().unwrap_or_default(),
                "-D",
                data.to_str().unwrap_or_default(),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
        )?;
        let this = Self {
            bin,
            data,
            port: free_port(),
            _dir: dir,
        };
        this.pg_ctl_start()?;
        Ok(this)
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let pg_ctl = self.bin.join("pg_ctl");
        let mut all = vec![
            "-u",
            "postgres",
            "--",
            pg_ctl.to_str().unwrap_or_default(),
            "-D",
            self.data.to_str().unwrap_or_default(),
        ];
        all.extend(args);
        run("runuser", &all)
    }

    fn pg_ctl_start(&self) -> Result<(), String> {
        let socket_dir = self
            .data
            .parent()
            .unwrap_or(&self.data)
            .to_string_lossy()
            .into_owned();
        let options = format!("-h 127.0.0.1 -p {} -k {socket_dir}", self.port);
        let log = self.data.parent().unwrap_or(&self.data).join("server.log");
        self.pg_ctl(&[
            "-o",
            &options,
            "-l",
            log.to_str().unwrap_or_default(),
            "-w",
            "start",
        ])
    }

    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "-w", "stop"]).unwrap();
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

#[tokio::test]
async fn postgresql_stopped_and_started_again_is_survived_without_a_restart_as_root() {
    let postgres = OwnPostgres::start().unwrap_or_else(|e| {
        panic!("this test needs the PostgreSQL server binaries and root ({e}); run `scripts/test`")
    });
    let url = postgres.url();
    let dir = tempfile::tempdir().unwrap();
    let world = seeded_data_dir(dir.path(), Some(&url)).await;
    let server = ServeProcess::start(dir.path(), &["--database-url", &url]);
    let probe = Probe::new(&server.url, &world).await;
    let before = probe.during_fault(1).await;
    assert_eq!(before.unavailable, 0);
    postgres.stop();
    let during = probe.during_fault(1).await;
    assert_eq!(
        during.unavailable, 2,
        "with the database down nothing can be done"
    );
    postgres.pg_ctl_start().unwrap();
    let after = probe.recovers().await;
    let db = test_pool(&url).await;
    probe.nothing_lost(&[&before, &during, &after], &db).await;
    drop(server);
    db.close().await;
    assert!(hippo_on(&["audit", "verify"], dir.path(), Some(&url)).contains("intact"));
}

#[tokio::test]
async fn an_unreachable_s3_blob_store_answers_503_and_recovers_by_itself() {
    let port = free_port();
    let mut moto = Moto::start(port);
    moto.create_bucket("hippo-blobs").await;
    let app = test_app()
        .blob_store("s3://hippo-blobs", moto.options())
        .spawn()
        .await;
    let probe = Probe::new(&app.url, &app.world).await;
    let before = probe.during_fault(1).await;
    assert_eq!(before.unavailable, 0);
    let findings = app.count("SELECT COUNT(*) FROM findings").await;
    moto.stop();
    // Uploads cannot store their PDF; PDFs cannot be read. Values still
    // can: they live in the database.
    let during = probe.during_fault(2).await;
    assert_eq!(during.uploads.len(), 0);
    assert_eq!(during.unavailable, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM findings").await, findings);
    let pdf = app
        .client
        .get(format!(
            "{}/api/v1/findings/{}/pdf",
            app.url, before.uploads[0]
        ))
        .bearer_auth(&probe.staff)
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(pdf.headers().contains_key("retry-after"));
    // The store comes back (moto starts empty; the bucket is made again).
    let moto = Moto::start(port);
    moto.create_bucket("hippo-blobs").await;
    let after = probe.recovers().await;
    probe.nothing_lost(&[&during, &after], &app.db).await;
}
