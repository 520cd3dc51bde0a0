//! The WebAuthn relying party, built once at start from the configured
//! public origin. Apart from `passkey` so that the application state can
//! build it without importing the login flow (which imports the state).

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

use crate::error::Failure;

/// The relying party: origin and RP ID from the configuration (the RP ID
/// is the origin's host). A bad origin stops the start, not a request.
pub fn relying_party(origin: &str) -> Result<Webauthn, Failure> {
    let invalid = |why: String| Failure::internal(std::io::Error::other(why));
    let url = Url::parse(origin).map_err(|e| invalid(format!("public origin {origin:?}: {e}")))?;
    let rp_id = url
        .host_str()
        .ok_or_else(|| invalid(format!("public origin {origin:?} has no host")))?
        .to_owned();
    WebauthnBuilder::new(&rp_id, &url)
        .and_then(|b| b.rp_name("Hippo").build())
        .map_err(|e| invalid(format!("passkey relying party for {origin:?}: {e}")))
}
