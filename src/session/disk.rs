//! Telling a full disk from other write failures, and how much room is left.

use std::path::Path;

/// Whether `err` (any wrapping) comes from a full disk or an exhausted quota.
///
/// libtorch's safetensors writer reports its I/O error only in its message
/// (`IoError(Os { code: 28, kind: StorageFull, .. })`, from a safetensors version of
/// its own), so the rendered chain is searched as well as the typed `io::Error`s.
pub fn is_disk_full(err: &anyhow::Error) -> bool {
    let typed = err.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
            ) || matches!(io.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
        })
    });
    let text = format!("{err:?}");
    typed
        || [
            "StorageFull",
            "QuotaExceeded",
            "No space left on device",
            "os error 28",
        ]
        .iter()
        .any(|s| text.contains(s))
}

/// Bytes an unprivileged process can still write on `path`'s file system.
pub fn available_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c` is a valid NUL-terminated path and `stat` a properly sized buffer
    // that statvfs fills on success (checked).
    unsafe {
        let mut stat: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c.as_ptr(), &mut stat) == 0)
            .then(|| stat.f_bavail as u64 * stat.f_frsize as u64)
    }
}

/// `12.3 MB`, for free-space messages.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / 1e9),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1 << 10 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_recognised_however_it_is_wrapped() {
        let io = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert!(is_disk_full(&anyhow::Error::new(io).context("saving")));
        let text = anyhow::anyhow!(
            "safetensors error /x: IoError(Os {{ code: 28, kind: StorageFull, message: \"No space left on device\" }})"
        );
        assert!(is_disk_full(&text.context("saving a checkpoint")));
        let other = std::io::Error::from_raw_os_error(libc::EACCES);
        assert!(!is_disk_full(&anyhow::Error::new(other)));
        assert!(available_bytes(Path::new("/")).is_some());
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(40 << 20), "41.9 MB");
    }
}
