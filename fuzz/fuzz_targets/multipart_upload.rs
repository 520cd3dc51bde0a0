//! The multipart upload (metadata + PDF) as the API and the browser form
//! receive it: any body under a fixed boundary. Never a panic; whatever is
//! accepted has valid metadata and a PDF by its magic bytes.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use axum::http::Request;
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let request = Request::builder()
        .method("POST")
        .header("content-type", "multipart/form-data; boundary=X")
        .body(Body::from(data.to_vec()))
        .expect("request");
    runtime().block_on(async {
        let Ok(multipart) = Multipart::from_request(request, &()).await else {
            return;
        };
        if let Ok(form) = hippo_server::upload::read_upload(multipart, 1 << 20).await
            && let Ok((finding, pdf)) = form.into_finding()
        {
            assert!(pdf.starts_with(b"%PDF-"));
            assert!(!finding.title.trim().is_empty());
        }
    });
});
