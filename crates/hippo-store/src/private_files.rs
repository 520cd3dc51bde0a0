//! Files and directories only Hippo's own user may open: the database holds
//! names, birth dates and lab values, the data directory holds it, the
//! keyring and the sealed blobs. Directories are 0700, files 0600, whatever
//! the process's umask; existing ones are tightened. SQLite creates its WAL
//! and shared-memory files with the database file's mode, so creating the
//! database file 0600 before SQLite opens it covers those too.

use std::io;
use std::path::Path;

/// Create `dir` (and missing parents) as owner-only, or tighten it.
pub fn dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Create `file` empty as owner-only unless it exists; tighten it if it
/// does.
pub fn file(file: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(file)?;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
    }
    #[cfg(not(unix))]
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .map(|_| ())
}
