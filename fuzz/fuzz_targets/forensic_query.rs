//! The operator's forensic query parameters, from a raw query string as
//! the API receives it: never a panic; a filter comes out only of valid
//! parameters.
#![no_main]

use axum::extract::Query;
use axum::http::Uri;
use hippo_server::input::ForensicQuery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(uri) = format!("/api/v1/forensics/accesses?{text}").parse::<Uri>() else {
        return;
    };
    if let Ok(Query(query)) = Query::<ForensicQuery>::try_from_uri(&uri) {
        let _ = query.filter();
        let _ = query.purpose();
    }
});
