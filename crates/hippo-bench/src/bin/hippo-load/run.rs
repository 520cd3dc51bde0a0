//! `hippo-load run`: interleaved rounds of A (real, authorised, audited
//! reads), B (the same read with no session, policy or audit) and C (bare
//! JSON), a concurrency sweep, latency at half the sustainable rate, a
//! login flood, memory and audit bytes per record; printed as Markdown.

use std::path::PathBuf;

use crate::oha::{self, Load, Measurement};
use crate::servers::{Server, login};
use crate::world::{self, PASSWORD};

#[derive(clap::Args)]
pub struct RunOptions {
    #[arg(long)]
    pub data_dir: PathBuf,
    #[arg(long, default_value = "target/release/hippo")]
    pub hippo: PathBuf,
    #[arg(long, default_value = "oha")]
    pub oha: PathBuf,
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Connections for the rounds and the latency runs.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Connection counts of the sweep.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64,256,1024")]
    pub sweep: Vec<usize>,
    #[arg(long, default_value_t = 0)]
    pub server_core: usize,
    #[arg(long, default_value_t = 1)]
    pub load_core: usize,
}

struct Scenario {
    name: &'static str,
    url: String,
    token: Option<String>,
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn spread(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

fn failures_note(m: &Measurement) -> String {
    if m.failures() == 0 {
        "0".into()
    } else {
        let mut parts: Vec<String> = m.non_2xx.iter().map(|(s, n)| format!("{n}×{s}")).collect();
        parts.extend(m.errors.iter().map(|(e, n)| format!("{n}×{e}")));
        parts.join(", ")
    }
}

/// Size of the SQLite database with its WAL, in bytes.
fn database_bytes(data_dir: &std::path::Path) -> u64 {
    ["hippo.db", "hippo.db-wal"]
        .iter()
        .filter_map(|f| std::fs::metadata(data_dir.join(f)).ok())
        .map(|m| m.len())
        .sum()
}

async fn audit_records(data_dir: &std::path::Path) -> anyhow::Result<i64> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=ro", data_dir.join("hippo.db").display());
    let pool = sqlx::AnyPool::connect(&url).await?;
    let n: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS n FROM audit_records")
        .fetch_one(&pool)
        .await?
        .try_get("n")?;
    pool.close().await;
    Ok(n)
}

pub async fn run(options: RunOptions) -> anyhow::Result<()> {
    let world = world::load(&options.data_dir)?;
    let data_dir = options.data_dir.to_string_lossy().into_owned();
    let config = options.data_dir.join("bench-server.toml");
    // Logins from the harness all come from 127.0.0.1; the flood below
    // must reach password hashing, not stop at the per-address throttle.
    std::fs::write(&config, "login_attempts_per_client_per_minute = 1000000\n")?;
    let config_arg = config.to_string_lossy().into_owned();
    let hippo = Server::start(
        &options.hippo,
        &[
            "serve",
            "--data-dir",
            &data_dir,
            "--config",
            &config_arg,
            "--listen",
            "127.0.0.1:0",
        ],
        options.server_core,
    )?;
    let own_exe = std::env::current_exe()?;
    let baseline = Server::start(
        &own_exe,
        &[
            "serve-baseline",
            "--data-dir",
            &data_dir,
            "--listen",
            "127.0.0.1:0",
        ],
        options.server_core,
    )?;
    let patient = login(&hippo.url, &world.patient_email, PASSWORD, None).await?;
    let staff = login(
        &hippo.url,
        &world.staff_email,
        PASSWORD,
        world.staff_totp_secret.as_deref(),
    )
    .await?;
    let records_before = audit_records(&options.data_dir).await?;
    let bytes_before = database_bytes(&options.data_dir);
    let own_finding = &world.patient_findings[0];
    let scenarios = [
        Scenario {
            name: "A patient GET /api/v1/findings/{id}",
            url: format!("{}/api/v1/findings/{own_finding}", hippo.url),
            token: Some(patient.clone()),
        },
        Scenario {
            name: "A patient GET /api/v1/findings",
            url: format!("{}/api/v1/findings", hippo.url),
            token: Some(patient.clone()),
        },
        Scenario {
            name: "A staff GET /api/v1/findings/{id}",
            url: format!("{}/api/v1/findings/{}", hippo.url, world.staff_findings[0]),
            token: Some(staff.clone()),
        },
        Scenario {
            name: "A staff GET /api/v1/patients/{id}/findings",
            url: format!(
                "{}/api/v1/patients/{}/findings",
                hippo.url, world.staff_patient
            ),
            token: Some(staff.clone()),
        },
        Scenario {
            name: "B same read, no session/policy/audit",
            url: format!("{}/baseline/findings/{own_finding}", baseline.url),
            token: None,
        },
        Scenario {
            name: "C bare JSON handler",
            url: format!("{}/bare", baseline.url),
            token: None,
        },
    ];
    let measure = |scenario: &Scenario, connections: usize, rate: Option<f64>| {
        oha::run(
            &options.oha,
            options.load_core,
            &Load {
                url: &scenario.url,
                token: scenario.token.as_deref(),
                connections,
                seconds: options.seconds,
                rate,
                method: "GET",
                body: None,
            },
        )
    };
    println!(
        "# hippo-load: {} tenants, {} patients, {} findings; server on core {}, load on core {}\n",
        world.tenants, world.patients, world.findings, options.server_core, options.load_core
    );
    println!(
        "## Interleaved rounds ({} × {} s, {} connections)\n",
        options.rounds, options.seconds, options.connections
    );
    println!("| round | scenario | req/s | p50 ms | p99 ms | p99.9 ms | failures |");
    println!("| --- | --- | ---: | ---: | ---: | ---: | --- |");
    let mut results: Vec<Vec<Measurement>> = vec![Vec::new(); scenarios.len()];
    for round in 1..=options.rounds {
        for (i, scenario) in scenarios.iter().enumerate() {
            let m = measure(scenario, options.connections, None)?;
            println!(
                "| {round} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
                scenario.name,
                m.requests_per_sec,
                m.p50,
                m.p99,
                m.p999,
                failures_note(&m)
            );
            results[i].push(m);
        }
    }
    let throughput =
        |i: usize| -> Vec<f64> { results[i].iter().map(|m| m.requests_per_sec).collect() };
    let ratios = |a: usize, b: usize| -> Vec<f64> {
        throughput(a)
            .iter()
            .zip(throughput(b))
            .map(|(x, y)| x / y)
            .collect()
    };
    println!("\n## Ratios (per round: median, min–max)\n");
    println!("| ratio | median | spread |");
    println!("| --- | ---: | --- |");
    for (label, a, b) in [
        ("A/B patient finding", 0, 4),
        ("A/C patient finding", 0, 5),
        ("A/B staff finding", 2, 4),
        ("A/C staff finding", 2, 5),
    ] {
        let mut r = ratios(a, b);
        let (min, max) = spread(&r);
        println!("| {label} | {:.3} | {min:.3}–{max:.3} |", median(&mut r));
    }
    let peak_a = median(&mut throughput(0));

    println!("\n## Concurrency sweep: A patient finding\n");
    println!("| connections | req/s | of peak | p50 ms | p99 ms | p99.9 ms | failures |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let mut sweep = Vec::new();
    for &connections in &options.sweep {
        sweep.push((connections, measure(&scenarios[0], connections, None)?));
    }
    let sweep_peak = sweep
        .iter()
        .map(|(_, m)| m.requests_per_sec)
        .fold(0.0, f64::max);
    for (connections, m) in &sweep {
        println!(
            "| {connections} | {:.0} | {:.0} % | {:.2} | {:.2} | {:.2} | {} |",
            m.requests_per_sec,
            100.0 * m.requests_per_sec / sweep_peak,
            m.p50,
            m.p99,
            m.p999,
            failures_note(m)
        );
    }

    let half = (peak_a / 2.0).max(1.0);
    println!(
        "\n## Latency at half the sustainable rate ({half:.0} req/s, corrected for coordinated omission)\n"
    );
    println!("| phase | p50 ms | p99 ms | p99.9 ms | failures |");
    println!("| --- | ---: | ---: | ---: | --- |");
    let calm = measure(&scenarios[0], options.connections, Some(half))?;
    println!(
        "| A patient finding, alone | {:.2} | {:.2} | {:.2} | {} |",
        calm.p50,
        calm.p99,
        calm.p999,
        failures_note(&calm)
    );
    // Login flood: ten times what one core hashes (Argon2id, 19 MiB, t=2:
    // about 30 ms each), wrong passwords for a real account.
    let flood_rate = 10.0 * 1000.0 / 30.0;
    let flood_url = format!("{}/api/v1/auth/login", hippo.url);
    let flood_body =
        serde_json::json!({"email": world.staff_email, "password": "wrong"}).to_string();
    let flood = std::thread::scope(|scope| {
        let flood = scope.spawn(|| {
            oha::run(
                &options.oha,
                options.load_core,
                &Load {
                    url: &flood_url,
                    token: None,
                    connections: 64,
                    seconds: options.seconds,
                    rate: Some(flood_rate),
                    method: "POST",
                    body: Some(&flood_body),
                },
            )
        });
        let during = measure(&scenarios[0], options.connections, Some(half));
        (during, flood.join())
    });
    let during = flood.0?;
    let flood_result = flood
        .1
        .map_err(|_| anyhow::anyhow!("flood thread panicked"))??;
    println!(
        "| A patient finding, during a login flood of {flood_rate:.0}/s | {:.2} | {:.2} | {:.2} | {} |",
        during.p50,
        during.p99,
        during.p999,
        failures_note(&during)
    );
    println!(
        "\nLogin flood answers: {} × 2xx, {}; p99 during the flood / alone = {:.2}",
        flood_result.ok,
        failures_note(&flood_result),
        during.p99 / calm.p99
    );

    let (rss, peak) = hippo.memory_mib();
    let records_after = audit_records(&options.data_dir).await?;
    let bytes_after = database_bytes(&options.data_dir);
    let appended = (records_after - records_before).max(1);
    println!("\n## Resources\n");
    println!("- hippo serve resident memory: {rss:.0} MiB now, {peak:.0} MiB peak");
    let (b_rss, b_peak) = baseline.memory_mib();
    println!("- baseline server: {b_rss:.0} MiB now, {b_peak:.0} MiB peak");
    println!(
        "- audit records appended: {appended}; database growth {:.0} bytes per record (tables and indexes, WAL included)",
        (bytes_after.saturating_sub(bytes_before)) as f64 / appended as f64
    );
    Ok(())
}
