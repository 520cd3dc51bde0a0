//! Server settings. Secrets (the SMTP password) are `secrecy` types, so
//! that `Debug` cannot print them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hippo_audit::AuditSigningKey;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Mark the session cookie `Secure` (and use the `__Host-` prefix).
    /// On whenever Hippo is served over HTTPS, which is everywhere but a
    /// developer's loopback.
    pub cookie_secure: bool,
    pub max_upload_bytes: usize,
    pub session_idle_timeout: Duration,
    pub session_absolute_timeout: Duration,
    /// Password reset requests one client address may make per minute
    /// (issue 12); per account it is a few per hour, in the database.
    pub password_reset_requests_per_client_per_minute: u32,
    /// Wrong passwords per account and minute from all sources together
    /// before each (account, source) pair gets a single free failure; a
    /// correct password from a source without failures still passes.
    pub login_attempts_per_account_per_minute: u32,
    /// Login attempts per client address and minute, across accounts.
    pub login_attempts_per_client_per_minute: u32,
    /// Backoff per (account, source) pair; its two per-minute rates are
    /// taken from the two fields above.
    pub login_lockout: crate::auth::lockout::LockoutPolicy,
    /// Proxies whose `X-Forwarded-For` / `Forwarded` headers are believed
    /// (`HIPPO_TRUSTED_PROXIES`, default none): the client address is the
    /// right-most one not in this set.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Longest validity of a new API key, in days, and its default.
    pub api_key_max_validity_days: u32,
    /// Not-found answers one principal may produce per window before its
    /// requests get 429 and an audit record of kind "probing".
    pub not_found_limit: u32,
    pub not_found_window: Duration,
    /// Signs tree heads of the audit log. Read from configuration (a key
    /// file), never from the database. Without it no heads are issued.
    pub audit_key: Option<Arc<AuditSigningKey>>,
    /// A signed tree head is issued every this many records...
    pub tree_head_every_records: u64,
    /// ...or after this long, whichever comes first.
    pub tree_head_every: Duration,
    /// Anomaly rules: thresholds, how often they run, and where alerts go
    /// besides the log and the operator API (`http://host:port/path`).
    pub anomaly_thresholds: hippo_store::AnomalyThresholds,
    pub anomaly_every: Duration,
    pub alert_webhook: Option<String>,
    /// Notification e-mails over SMTP (issue 11); without, the outbox
    /// fills and nothing is sent (another instance may send them).
    pub notifications: Option<crate::notify::NotifyConfig>,
    /// Connection and concurrency bounds (invariant 11).
    pub limits: crate::serve::Limits,
    /// Messaging: body length, attachments per message, bytes per attachment.
    pub messaging: hippo_core::messaging::MessageLimits,
    /// How often this instance polls the service switches' version (on
    /// PostgreSQL a change also notifies at once).
    pub switch_poll_every: Duration,
    /// Four-eyes: turning a service back on everywhere needs a second
    /// operator.
    pub switch_four_eyes: bool,
    /// Retrieval codes for people without an account (issue 11).
    pub retrieval: RetrievalConfig,
    /// HL7 v2 intake (issue 13): the HTTP route and the MLLP listener.
    pub hl7: Hl7Config,
    /// The origin browsers see, e.g. `https://befunde.example.org`: the
    /// WebAuthn origin, and its host the relying-party ID. Default
    /// `http://localhost:<listen port>`.
    pub public_origin: Option<String>,
    /// Test-only: the policy allows everything (see `hippo-policy`).
    #[cfg(feature = "fence-bypass")]
    pub bypass_policy_for_tests: bool,
}

/// How retrieval codes behave.
#[derive(Debug, Clone)]
pub struct RetrievalConfig {
    /// How long a new code is valid (default 14 days).
    pub code_validity: Duration,
    /// Wrong dates of birth a code takes before it locks for good.
    pub max_attempts: u32,
    /// Retrieval attempts per client address and minute (in memory, per
    /// instance; the per-code limit is in the database).
    pub attempts_per_client_per_minute: u32,
    /// How long a one-time PDF link is valid.
    pub pdf_link_validity: Duration,
    /// Where the public retrieval page is, as printed on the sheet and in
    /// its QR code, e.g. `https://befunde.example.org`. Without it, the
    /// address the staff member's browser used.
    pub public_url: Option<String>,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        Self {
            code_validity: Duration::from_secs(
                u64::from(hippo_core::retrieval::DEFAULT_VALIDITY_DAYS) * 24 * 60 * 60,
            ),
            max_attempts: hippo_core::retrieval::DEFAULT_ATTEMPTS,
            attempts_per_client_per_minute: 10,
            pdf_link_validity: Duration::from_secs(10 * 60),
            public_url: None,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            cookie_secure: false,
            max_upload_bytes: 20 * 1024 * 1024,
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 60 * 60),
            password_reset_requests_per_client_per_minute: 10,
            login_attempts_per_account_per_minute: 30,
            login_attempts_per_client_per_minute: 30,
            login_lockout: crate::auth::lockout::LockoutPolicy::default(),
            trusted_proxies: Vec::new(),
            api_key_max_validity_days: 365,
            not_found_limit: 20,
            not_found_window: Duration::from_secs(60),
            audit_key: None,
            tree_head_every_records: 1000,
            tree_head_every: Duration::from_secs(10),
            anomaly_thresholds: hippo_store::AnomalyThresholds::default(),
            anomaly_every: Duration::from_secs(5),
            alert_webhook: None,
            notifications: None,
            limits: crate::serve::Limits::default(),
            messaging: hippo_core::messaging::MessageLimits::default(),
            switch_poll_every: Duration::from_millis(500),
            switch_four_eyes: false,
            retrieval: RetrievalConfig::default(),
            hl7: Hl7Config::default(),
            public_origin: None,
            #[cfg(feature = "fence-bypass")]
            bypass_policy_for_tests: false,
        }
    }
}

impl ServerConfig {
    /// The origin passkeys are bound to (see `public_origin`).
    pub fn passkey_origin(&self) -> String {
        self.public_origin
            .clone()
            .unwrap_or_else(|| format!("http://localhost:{}", self.listen.port()))
    }
}

/// HL7 v2 intake (issue 13).
#[derive(Debug, Clone)]
pub struct Hl7Config {
    /// A message whose patient matches no record of the tenant: create
    /// the record (default) or refuse the message.
    pub unmatched: hippo_core::patient::UnmatchedPatient,
    /// Largest message, over HTTP and as an MLLP frame.
    pub max_message_bytes: usize,
    /// The MLLP listener, if one is wanted (`hippo serve --mllp ADDR`).
    pub mllp: Option<MllpConfig>,
}

impl Default for Hl7Config {
    fn default() -> Self {
        Self {
            unmatched: hippo_core::patient::UnmatchedPatient::Create,
            max_message_bytes: hippo_hl7::mllp::DEFAULT_MAX_FRAME,
            mllp: None,
        }
    }
}

/// The MLLP listener's bounds (invariant 11) and how its connections
/// authenticate.
#[derive(Clone)]
pub struct MllpConfig {
    pub listen: SocketAddr,
    /// A lab-system API key the listener is bound to: every connection
    /// acts as that key's lab system. Without one, each connection's first
    /// message carries its key in MSH-8 (security).
    pub api_key: Option<secrecy::SecretString>,
    /// Connections served at once; one more gets an AR "busy" and is
    /// closed.
    pub max_connections: usize,
    /// Messages being stored at once over all connections; beyond, a
    /// message is answered AR "busy, retry" at once.
    pub max_in_flight: usize,
    /// A connection without a byte for this long is closed.
    pub idle_timeout: Duration,
    /// A frame that has begun must be complete within this long.
    pub frame_timeout: Duration,
}

impl std::fmt::Debug for MllpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MllpConfig")
            .field("listen", &self.listen)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("max_connections", &self.max_connections)
            .field("max_in_flight", &self.max_in_flight)
            .field("idle_timeout", &self.idle_timeout)
            .field("frame_timeout", &self.frame_timeout)
            .finish()
    }
}

impl MllpConfig {
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            api_key: None,
            max_connections: 128,
            max_in_flight: 32,
            idle_timeout: Duration::from_secs(120),
            frame_timeout: Duration::from_secs(30),
        }
    }
}
