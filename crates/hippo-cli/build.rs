//! Stamp the binary with its git revision; every audit record carries it so
//! that an incident can be bounded to the builds that had a bug.

use std::process::Command;

fn main() {
    let revision = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!(
        "cargo:rustc-env=HIPPO_BUILD={}+{}",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        revision
    );
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
}
