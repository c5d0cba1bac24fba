//! `fxmsg backup`: a consistent copy of a data directory, made while its server runs.
//!
//! The database is copied first, as of one moment; then the bytes of every medium that copy
//! lists as live (hard-linked where the file system allows: stored media files are never
//! changed, only created and deleted). A medium deleted between the two steps is marked deleted
//! in the copy, so the copy never lists a file it lacks. The token key comes along, so tokens
//! issued before the backup stay valid on a server started on the copy.

use std::path::{Path, PathBuf};

/// What a backup copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// Bytes of the database copy.
    pub database_bytes: u64,
    /// Media files copied, and their bytes.
    pub media_files: usize,
    pub media_bytes: u64,
    /// Media deleted while the backup ran: marked deleted in the copy.
    pub media_deleted_meanwhile: usize,
}

/// Why a backup could not be made. Nothing is left at the destination then.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} is not an fxmsg data directory (no fxmsg.db in it)")]
    NotADataDir(PathBuf),
    #[error("{0} already exists; back up into a new directory")]
    DestinationExists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("copying the database: {0}")]
    Database(#[from] fxmsg_store::StoreError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Copies the data directory `data_dir` into the new directory `dest`.
pub async fn backup(data_dir: &Path, dest: &Path) -> Result<BackupReport, BackupError> {
    let db = data_dir.join("fxmsg.db");
    if !db.is_file() {
        return Err(BackupError::NotADataDir(data_dir.to_owned()));
    }
    if dest.exists() {
        return Err(BackupError::DestinationExists(dest.to_owned()));
    }
    let made = copy_into(data_dir, dest).await;
    if made.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    made
}

async fn copy_into(data_dir: &Path, dest: &Path) -> Result<BackupReport, BackupError> {
    let dest_media = dest.join("media");
    std::fs::create_dir_all(&dest_media).map_err(io(&dest_media))?;
    crate::owner_only(dest).map_err(io(dest))?;
    let dest_db = dest.join("fxmsg.db");
    let keys = fxmsg_store_sqlite::backup::snapshot(&data_dir.join("fxmsg.db"), &dest_db).await?;
    let media = data_dir.join("media");
    let mut report = BackupReport {
        database_bytes: std::fs::metadata(&dest_db).map_err(io(&dest_db))?.len(),
        media_files: 0,
        media_bytes: 0,
        media_deleted_meanwhile: 0,
    };
    let mut gone = Vec::new();
    for key in keys {
        let (from, to) = (media.join(&key), dest_media.join(&key));
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let copied =
            std::fs::hard_link(&from, &to).or_else(|_| std::fs::copy(&from, &to).map(drop));
        match copied {
            Ok(()) => {
                report.media_files += 1;
                report.media_bytes += std::fs::metadata(&to).map_err(io(&to))?.len();
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => gone.push(key),
            Err(e) => return Err(io(&from)(e)),
        }
    }
    report.media_deleted_meanwhile = gone.len();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    fxmsg_store_sqlite::backup::forget_media(&dest_db, gone, now).await?;
    let key = data_dir.join("token.key");
    if key.is_file() {
        let to = dest.join("token.key");
        std::fs::copy(&key, &to).map_err(io(&key))?;
    }
    Ok(report)
}
