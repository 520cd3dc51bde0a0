//! What Hippo writes to disk is its own user's alone: the data directory,
//! the keys directory and the blob store are 0700, the database and its
//! WAL 0600, under a permissive umask and for a directory that did not
//! exist before.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::helpers::{files_under, seeded_data_dir};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn data_directory_database_keys_and_blobs_are_owner_only() {
    let root = tempfile::tempdir().unwrap();
    // A fresh, nested directory; the process umask here is the usual 022.
    let data = root.path().join("srv/hippo/data");
    seeded_data_dir(&data, None).await;

    assert_eq!(mode(&data), 0o700, "data directory");
    assert_eq!(mode(&data.join("keys")), 0o700, "keys directory");
    assert_eq!(mode(&data.join("blobs")), 0o700, "blob directory");
    let database = data.join("hippo.db");
    assert_eq!(mode(&database), 0o600, "database");
    let mut checked = 0;
    for file in files_under(&data) {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("hippo.db") {
            assert_eq!(mode(&file), 0o600, "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 1, "no database file was checked");

    // An existing database that someone loosened is tightened on open.
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    crate::helpers::hippo(&["audit", "verify"], &data);
    assert_eq!(mode(&database), 0o600, "database after reopening");
    assert_eq!(mode(&data), 0o700, "data directory after reopening");
}
