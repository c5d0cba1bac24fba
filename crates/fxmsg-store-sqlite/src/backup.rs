//! Online snapshots: a consistent copy of the database while a server writes to it.

use std::path::Path;

use fxmsg_store::{Result, StoreError};
use rusqlite::{params, Connection, OpenFlags};

use crate::writer::error;

/// Copies the database at `db` into a new file `dest` as of one moment (`VACUUM INTO` runs in a
/// read transaction: writers carry on, and the copy holds every transaction committed before it
/// began and none after). Returns the object keys of the copy's live media, for the caller to
/// copy the bytes of.
pub async fn snapshot(db: &Path, dest: &Path) -> Result<Vec<String>> {
    let (db, dest) = (db.to_owned(), dest.to_owned());
    tokio::task::spawn_blocking(move || {
        let source = Connection::open_with_flags(
            &db,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(error)?;
        source
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(error)?;
        let target = dest
            .to_str()
            .ok_or_else(|| StoreError::Backend(format!("{} is not UTF-8", dest.display())))?;
        source
            .execute("VACUUM INTO ?1", params![target])
            .map_err(error)?;
        let copy = Connection::open(&dest).map_err(error)?;
        let mut keys = copy
            .prepare("SELECT object_key FROM media WHERE deleted_at IS NULL")
            .map_err(error)?;
        let keys = keys
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(error)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(error)?;
        Ok(keys)
    })
    .await
    .map_err(|e| StoreError::Backend(e.to_string()))?
}

/// In the snapshot at `dest`, marks deleted (at `now`) the media whose bytes were deleted
/// before they could be copied, so the copy never lists a file it does not have.
pub async fn forget_media(dest: &Path, object_keys: Vec<String>, now: i64) -> Result<()> {
    if object_keys.is_empty() {
        return Ok(());
    }
    let dest = dest.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut copy = Connection::open(&dest).map_err(error)?;
        let tx = copy.transaction().map_err(error)?;
        for key in &object_keys {
            tx.execute(
                "UPDATE media SET deleted_at = ?1 WHERE object_key = ?2 AND deleted_at IS NULL",
                params![now, key],
            )
            .map_err(error)?;
        }
        tx.commit().map_err(error)
    })
    .await
    .map_err(|e| StoreError::Backend(e.to_string()))?
}
