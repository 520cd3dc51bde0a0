//! Session tokens and lab-system API keys as presented in headers and
//! cookies: the shape checks never panic, accept only what they claim, and
//! hashing is total.
#![no_main]

use hippo_server::auth::token::{API_KEY_PREFIX, hash_token, is_well_formed, is_well_formed_api_key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let session = is_well_formed(text);
    let api_key = is_well_formed_api_key(text);
    if api_key {
        assert!(text.starts_with(API_KEY_PREFIX));
    }
    if session || api_key {
        assert!(text.is_ascii());
    }
    assert_eq!(hash_token(text).len(), 64);
});
