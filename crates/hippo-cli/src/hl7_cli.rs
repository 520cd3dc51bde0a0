//! HL7 v2 intake from the command line: the `hippo serve` flags of the
//! MLLP listener and of the intake, and `hippo import hl7 FILE…`, which
//! sends each message of the files to a running server's
//! `POST /api/v1/hl7/oru` with a lab-system API key. Going through the
//! server keeps the route table, the policy, the switches and the audit
//! log in the path: the CLI holds no database handle of its own here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use hippo_core::patient::UnmatchedPatient;
use hippo_server::config::{Hl7Config, MllpConfig};
use secrecy::{ExposeSecret, SecretString};

use crate::progress::Progress;

/// `hippo serve`'s HL7 flags.
#[derive(Args, Default)]
pub struct Hl7Args {
    /// Listen for HL7 v2 messages over MLLP on this address.
    #[arg(long, env = "HIPPO_MLLP", value_name = "ADDR")]
    mllp: Option<SocketAddr>,
    /// Bind the MLLP listener to one lab system: a file holding its API
    /// key. Without, each connection's first message carries its key in
    /// MSH-8.
    #[arg(long, env = "HIPPO_MLLP_API_KEY_FILE", value_name = "FILE")]
    mllp_api_key_file: Option<PathBuf>,
    /// MLLP connections served at once.
    #[arg(long, env = "HIPPO_MLLP_MAX_CONNECTIONS", value_name = "N")]
    mllp_max_connections: Option<usize>,
    /// What a message whose patient matches no record does: `create` the
    /// record (default) or `reject` the message.
    #[arg(long, env = "HIPPO_HL7_UNMATCHED", value_name = "create|reject", value_parser = parse_unmatched)]
    hl7_unmatched: Option<UnmatchedPatient>,
    /// Largest HL7 message (MLLP frame or HTTP body), in KiB.
    #[arg(long, env = "HIPPO_HL7_MAX_MESSAGE_KIB", value_name = "KIB")]
    hl7_max_message_kib: Option<usize>,
}

fn parse_unmatched(value: &str) -> Result<UnmatchedPatient, String> {
    UnmatchedPatient::parse(value).ok_or_else(|| "expected create or reject".into())
}

impl Hl7Args {
    pub fn config(&self) -> anyhow::Result<Hl7Config> {
        let defaults = Hl7Config::default();
        let mllp = match self.mllp {
            Some(listen) => {
                let mut mllp = MllpConfig::new(listen);
                if let Some(path) = &self.mllp_api_key_file {
                    mllp.api_key = Some(read_key(path)?);
                }
                if let Some(n) = self.mllp_max_connections {
                    mllp.max_connections = n.max(1);
                }
                Some(mllp)
            }
            None => None,
        };
        Ok(Hl7Config {
            unmatched: self.hl7_unmatched.unwrap_or(defaults.unmatched),
            max_message_bytes: self
                .hl7_max_message_kib
                .map_or(defaults.max_message_bytes, |k| k.max(1) * 1024),
            mllp,
        })
    }
}

fn read_key(path: &Path) -> anyhow::Result<SecretString> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the API key file {}", path.display()))?;
    Ok(SecretString::from(text.trim().to_owned()))
}

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Send HL7 v2 ORU^R01 messages from files to a running server. A file
    /// may hold several messages (MLLP frames, or one after the other,
    /// each starting with MSH; FHS/BHS batch segments are skipped).
    /// Exits non-zero if any message was not accepted.
    Hl7(ImportHl7Args),
}

#[derive(Args)]
pub struct ImportHl7Args {
    /// The server, e.g. `http://127.0.0.1:8080`.
    #[arg(long, env = "HIPPO_URL", value_name = "URL")]
    url: String,
    /// A file holding the lab system's API key (it names the tenant).
    #[arg(long, env = "HIPPO_API_KEY_FILE", value_name = "FILE")]
    api_key_file: PathBuf,
    /// The message files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub async fn run_import(command: ImportCommand) -> anyhow::Result<()> {
    match command {
        ImportCommand::Hl7(args) => import_hl7(args).await,
    }
}

/// One message of a file, named for the summary.
struct Queued {
    name: String,
    bytes: Vec<u8>,
}

async fn import_hl7(args: ImportHl7Args) -> anyhow::Result<()> {
    let key = read_key(&args.api_key_file)?;
    let mut queue = Vec::new();
    for path in &args.files {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        for (i, message) in split_messages(&bytes).into_iter().enumerate() {
            queue.push(Queued {
                name: format!("{}#{}", path.display(), i + 1),
                bytes: message,
            });
        }
    }
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let endpoint = format!("{}/api/v1/hl7/oru", args.url.trim_end_matches('/'));
    let mut progress = Progress::new("HL7 messages", queue.len());
    let (mut accepted, mut refused) = (0usize, Vec::new());
    for message in queue {
        let answer = client
            .post(&endpoint)
            .bearer_auth(key.expose_secret())
            .header("content-type", hippo_server::api::hl7::ER7)
            .body(message.bytes)
            .send()
            .await;
        let outcome = match answer {
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                match acknowledgement(&body) {
                    Some((code, _)) if code == "AA" => Ok(()),
                    Some((code, text)) => Err(format!("{code}: {text}")),
                    None => Err(format!(
                        "HTTP {status}: {}",
                        body.chars().take(200).collect::<String>()
                    )),
                }
            }
            Err(e) => Err(format!("not sent: {e}")),
        };
        match outcome {
            Ok(()) => accepted += 1,
            Err(reason) => refused.push((message.name, reason)),
        }
        progress.step();
    }
    println!("accepted: {accepted}, rejected: {}", refused.len());
    for (name, reason) in &refused {
        println!("  {name}: {reason}");
    }
    if refused.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{} message(s) were not accepted", refused.len())
    }
}

/// MSA-1 and MSA-3 of an ACK, escapes decoded.
fn acknowledgement(ack: &str) -> Option<(String, String)> {
    let msa = ack
        .split(['\r', '\n'])
        .find(|segment| segment.starts_with("MSA|"))?;
    let fields: Vec<&str> = msa.split('|').collect();
    let separators = hippo_hl7::escape::default_separators();
    let text = hippo_hl7::escape::unescape(
        fields.get(3).copied().unwrap_or_default(),
        &separators,
        hippo_hl7::Charset::Utf8,
    )
    .unwrap_or_default();
    Some((fields.get(1)?.to_string(), text))
}

/// The messages of a file: MLLP frames if it has any, else one message
/// per MSH segment; line breaks between segments become the segment
/// separator, and batch envelope segments (FHS, BHS, BTS, FTS) are left out.
pub fn split_messages(bytes: &[u8]) -> Vec<Vec<u8>> {
    if bytes.contains(&hippo_hl7::mllp::START) {
        let mut decoder = hippo_hl7::mllp::FrameDecoder::new(bytes.len());
        let mut frames = Vec::new();
        if decoder.push(bytes).is_ok() {
            while let Ok(Some(frame)) = decoder.next_frame() {
                frames.push(frame);
            }
        }
        return frames;
    }
    let mut messages: Vec<Vec<u8>> = Vec::new();
    for segment in bytes.split(|&b| b == b'\r' || b == b'\n') {
        let segment = segment.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(segment);
        if segment.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if [&b"FHS"[..], b"BHS", b"BTS", b"FTS"]
            .iter()
            .any(|name| segment.starts_with(name))
        {
            continue;
        }
        if segment.starts_with(b"MSH") || messages.is_empty() {
            messages.push(Vec::new());
        }
        if let Some(message) = messages.last_mut() {
            message.extend_from_slice(segment);
            message.push(b'\r');
        }
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_batch_files() {
        let file =
            b"FHS|^~\\&\nBHS|^~\\&\nMSH|^~\\&|A\nPID|1\r\nMSH|^~\\&|B\rPID|2\nBTS|2\nFTS|1\n";
        let messages = split_messages(file);
        assert_eq!(
            messages,
            vec![
                b"MSH|^~\\&|A\rPID|1\r".to_vec(),
                b"MSH|^~\\&|B\rPID|2\r".to_vec()
            ]
        );
        let mut framed = hippo_hl7::mllp::frame(b"MSH|one\rPID|1");
        framed.extend(hippo_hl7::mllp::frame(b"MSH|two"));
        assert_eq!(split_messages(&framed).len(), 2);
    }

    #[test]
    fn reads_the_acknowledgement() {
        let ack = "MSH|^~\\&|HIPPO||LIS||20261201||ACK|1|P|2.5.1\rMSA|AE|X|PID: no \\F\\ match\r";
        assert_eq!(
            acknowledgement(ack),
            Some(("AE".into(), "PID: no | match".into()))
        );
    }
}
