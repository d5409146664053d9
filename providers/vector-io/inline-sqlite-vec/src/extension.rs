//! Registers the sqlite-vec extension (`vec0`, `vec_distance_l2`, …), compiled into this binary
//! by the `sqlite-vec` crate, on each connection of this provider's pool (the `lls_sql`
//! opener's per-connection hook). Other SQLite connections in the process are left alone.

#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_int};

use futures::future::BoxFuture;
use libsqlite3_sys::{SQLITE_OK, sqlite3, sqlite3_api_routines, sqlite3_free};
use sqlx::sqlite::SqliteConnection;

/// The C signature of an extension entry point, which `sqlite3_vec_init` has.
type EntryPoint = unsafe extern "C" fn(*mut sqlite3, *mut *mut c_char, *const sqlite3_api_routines) -> c_int;

/// The `lls_sql::SqliteOpener::after_connect` hook: runs sqlite-vec's entry point on `conn`.
pub(crate) fn register(conn: &mut SqliteConnection) -> BoxFuture<'_, Result<(), sqlx::Error>> {
    Box::pin(async move {
        let mut handle = conn.lock_handle().await?;
        let db = handle.as_raw_handle().as_ptr();
        let mut message: *mut c_char = std::ptr::null_mut();
        // SAFETY: `sqlite3_vec_init` is the extension's entry point, defined in C as
        // `int sqlite3_vec_init(sqlite3*, char**, const sqlite3_api_routines*)`; the `sqlite-vec`
        // crate declares it without arguments only for linking, so casting the pointer back to
        // that exact signature is sound. It is compiled with SQLITE_CORE against the SQLite that
        // `libsqlite3-sys` links (the one sqlx uses), so it calls SQLite directly and ignores
        // the API routines pointer. `db` is this connection's open handle, held locked for the
        // call; `message` is either left null or set to a `sqlite3_mprintf` string we free.
        let (rc, error) = unsafe {
            let entry = std::mem::transmute::<unsafe extern "C" fn(), EntryPoint>(sqlite_vec::sqlite3_vec_init);
            let rc = entry(db, &mut message, std::ptr::null());
            let error = (!message.is_null()).then(|| CStr::from_ptr(message).to_string_lossy().into_owned());
            if !message.is_null() {
                sqlite3_free(message.cast());
            }
            (rc, error)
        };
        if rc == SQLITE_OK {
            Ok(())
        } else {
            let why = error.unwrap_or_else(|| format!("SQLite code {rc}"));
            Err(sqlx::Error::Configuration(format!("registering the sqlite-vec extension failed: {why}").into()))
        }
    })
}
