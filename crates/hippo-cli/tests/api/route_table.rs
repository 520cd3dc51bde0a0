//! The route table is the only source of routes, every route declares an
//! action and the principal kinds it admits, and the declarations agree
//! with the Cedar policy.

use std::path::Path;

use hippo_core::PrincipalKind;
use hippo_policy::Policy;
use hippo_server::declarations::declarations as specs;
use hippo_server::policy_check::disagreements;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn routes_are_registered_only_from_the_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../hippo-server/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 10);
    let registering = [
        ".route(",
        ".nest(",
        ".merge(",
        ".route_service(",
        ".nest_service(",
        ".fallback_service(",
    ];
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let name = file.file_name().unwrap().to_str().unwrap();
        for needle in registering {
            let count = text.matches(needle).count();
            let allowed = if name == "routes.rs" && needle == ".route(" {
                1
            } else {
                0
            };
            assert_eq!(
                count,
                allowed,
                "{} registers routes with {needle}",
                file.display()
            );
        }
    }
}

#[test]
fn route_table_and_policy_agree() {
    let policy = Policy::load().unwrap();
    let problems = disagreements(&policy, &specs());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_route_admitting_more_than_the_policy_is_caught() {
    let policy = Policy::load().unwrap();
    let mut table = specs();
    let patients = table
        .iter_mut()
        .find(|s| s.path == "/api/v1/patients" && s.method == "GET")
        .unwrap();
    patients.allowed = &[PrincipalKind::TenantAdmin, PrincipalKind::Patient];
    let problems = disagreements(&policy, &table);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("GET /api/v1/patients: route admits patient, policy denies it")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("route refuses clinician, policy permits it"))
    );
}

#[test]
fn anonymous_routes_are_exactly_the_known_few() {
    let mut anonymous: Vec<String> = specs()
        .iter()
        .filter(|s| s.allowed.is_empty())
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    anonymous.sort();
    assert_eq!(
        anonymous,
        [
            "GET /api/v1/openapi.json",
            "GET /api/v1/retrieval/pdf/{token}",
            "GET /fhir/r4/metadata",
            "GET /invitation",
            "GET /language",
            "GET /login",
            "GET /login/enrol",
            "GET /login/second-factor",
            "GET /password/forgot",
            "GET /password/reset",
            "GET /retrieve",
            "GET /retrieve/pdf/{token}",
            "GET /static/hippo.css",
            "GET /static/passkeys.js",
            "POST /api/v1/auth/login",
            "POST /api/v1/auth/login/enrol/finish",
            "POST /api/v1/auth/login/enrol/start",
            "POST /api/v1/auth/login/passkey",
            "POST /api/v1/auth/login/passkey/challenge",
            "POST /api/v1/auth/login/second-factor",
            "POST /api/v1/auth/password-reset",
            "POST /api/v1/auth/password-reset/confirm",
            "POST /api/v1/retrieval",
            "POST /invitation",
            "POST /login",
            "POST /login/enrol",
            "POST /login/passkey",
            "POST /login/passkey/challenge",
            "POST /login/second-factor",
            "POST /password/forgot",
            "POST /password/reset",
            "POST /retrieve",
        ]
    );
    for spec in specs() {
        assert_eq!(
            spec.allowed.is_empty(),
            spec.action.is_anonymous(),
            "{} {}",
            spec.method,
            spec.path
        );
    }
}
