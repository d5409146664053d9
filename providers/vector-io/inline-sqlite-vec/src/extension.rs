//! Makes the sqlite-vec extension (`vec0`, `vec_distance_l2`, …), compiled into this binary by
//! the `sqlite-vec` crate, available on every SQLite connection the process opens.

#![allow(unsafe_code)]

use std::ffi::{c_char, c_int};
use std::sync::OnceLock;

use libsqlite3_sys::{SQLITE_OK, sqlite3, sqlite3_api_routines, sqlite3_auto_extension};
use lls_api_common::{Error, Result};

/// The C signature of an extension entry point, which `sqlite3_vec_init` has.
type EntryPoint = unsafe extern "C" fn(*mut sqlite3, *mut *mut c_char, *const sqlite3_api_routines) -> c_int;

static REGISTERED: OnceLock<c_int> = OnceLock::new();

/// Registers sqlite-vec as an auto extension, once per process, before any connection of ours
/// is opened. Connections opened afterwards anywhere in the process get it too, which only adds
/// functions and a virtual table module.
pub(crate) fn register() -> Result<()> {
    let rc = *REGISTERED.get_or_init(|| {
        // SAFETY: `sqlite3_vec_init` is the extension's entry point, defined in C as
        // `int sqlite3_vec_init(sqlite3*, char**, const sqlite3_api_routines*)`; the `sqlite-vec`
        // crate declares it without arguments only for linking, so casting the pointer back to
        // that exact signature is sound. It is compiled with SQLITE_CORE against the SQLite that
        // `libsqlite3-sys` links (the one sqlx uses), and `sqlite3_auto_extension` is thread-safe.
        unsafe {
            let entry = std::mem::transmute::<unsafe extern "C" fn(), EntryPoint>(sqlite_vec::sqlite3_vec_init);
            sqlite3_auto_extension(Some(entry))
        }
    });
    if rc == SQLITE_OK {
        Ok(())
    } else {
        Err(Error::internal(format!("registering the sqlite-vec extension failed (SQLite code {rc})")))
    }
}
