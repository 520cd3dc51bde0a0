//! The anomaly watcher: runs the anomaly rules over a sliding window of the
//! audit log and sends new alerts to the log and to a webhook.

use std::time::Duration;

use hippo_core::time_util::now_millis;
use hippo_store::{Alert, AnomalyThresholds, ManyPatientsWindow, UnscopedAnomalies};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// POST one alert as JSON to a plain-HTTP webhook (`http://host:port/path`).
/// Hand-rolled: one request per alert does not justify an HTTP client
/// dependency in the server; put a TLS-terminating relay in front for
/// external receivers.
pub async fn post_webhook(url: &str, alert: &Alert) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("alert webhook must be an http:// URL")?;
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let body = serde_json::to_string(alert).map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut stream = TcpStream::connect(authority)
            .await
            .map_err(|e| e.to_string())?;
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = [0u8; 64];
        let n = stream.read(&mut head).await.map_err(|e| e.to_string())?;
        let status = String::from_utf8_lossy(&head[..n])
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Ok::<u16, String>(status)
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| "webhook timed out".to_owned())?
}

/// Pause after a scan, in multiples of the time it took.
const SCAN_PAUSE_FACTOR: u32 = 10;

pub fn spawn(
    anomalies: UnscopedAnomalies,
    thresholds: AnomalyThresholds,
    every: Duration,
    webhook: Option<String>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pause = every;
        let mut window = ManyPatientsWindow::default();
        loop {
            tokio::time::sleep(pause).await;
            let now = now_millis();
            let started = std::time::Instant::now();
            let scanned = anomalies.watch(&mut window, now, thresholds).await;
            // A scan reads the records appended since the last one (and
            // the rare records of the other rules), so its cost follows
            // the load; waiting ten times as long as the last scan took
            // keeps the watcher under a tenth of the server's time however
            // busy it is.
            pause = every.max(started.elapsed() * SCAN_PAUSE_FACTOR);
            let alerts = match scanned {
                Ok(alerts) => alerts,
                Err(e) => {
                    tracing::error!(error = ?e, "anomaly scan failed");
                    continue;
                }
            };
            for alert in alerts {
                tracing::warn!(rule = %alert.rule, actor = ?alert.actor, count = alert.count, "security alert");
                if let Some(url) = &webhook
                    && let Err(e) = post_webhook(url, &alert).await
                {
                    tracing::error!(error = %e, "alert webhook failed");
                }
            }
        }
    })
}
