//! The calling convention of bertwork's C++ shims (`csrc/`): a call returns 0, or -1
//! with libtorch's message (its first line) written into a caller's buffer.

use std::ffi::{c_char, CStr};

use anyhow::{bail, Result};

/// Runs a shim call `f(err, err_len)`; a non-zero return becomes an error naming
/// `what` with libtorch's message.
pub fn call(what: &str, f: impl FnOnce(*mut c_char, usize) -> i32) -> Result<()> {
    match message_of(f) {
        Ok(()) => Ok(()),
        Err(message) => bail!("{what} failed in libtorch: {message}"),
    }
}

/// Runs a shim call `f(err, err_len)`; a non-zero return gives the message the shim
/// wrote (its exception's first line), for callers that word the error themselves.
pub fn message_of(f: impl FnOnce(*mut c_char, usize) -> i32) -> Result<(), String> {
    let mut err = [0 as c_char; 1024];
    if f(err.as_mut_ptr(), err.len()) == 0 {
        return Ok(());
    }
    // SAFETY: on failure the shim writes a NUL-terminated message into `err`.
    Err(unsafe { CStr::from_ptr(err.as_ptr()) }
        .to_string_lossy()
        .into_owned())
}
