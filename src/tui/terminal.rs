//! Entering and leaving the terminal's raw alternate screen, restoring it on panic, and
//! keeping libtorch's (or anyone's) stderr output off the screen.

use std::fs::File;
use std::io::{self, stdout, Stdout};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::panic::PanicHookInfo;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// The workbench's hold on the terminal: raw mode, the alternate screen, and stderr
/// sent to a log file; dropping it gives all three back.
pub struct TerminalGuard {
    terminal: Term,
    _stderr: StderrRedirect,
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
}

/// A panic hook, as `std::panic::take_hook` returns it.
type PanicHook = Box<dyn Fn(&PanicHookInfo<'_>) + Sync + Send + 'static>;

/// The process's stderr (descriptor 2) sent to a file, with a panic hook that first
/// calls `on_panic` and puts the real stderr back, so that the panic's message is
/// visible. Dropping it puts stderr back and reinstates the panic hook that was active
/// before (as burn's TUI does), which drops ours.
///
/// The hook owns its own copy of the real stderr's descriptor, closed when the hook is
/// dropped, so it never writes through a descriptor that was closed (or reused by a
/// file opened since). A drop during a panic cannot touch the hook (std forbids it
/// then); the hook stays, with its descriptor still open.
struct StderrRedirect {
    /// The real stderr, put back and closed on drop.
    saved: OwnedFd,
    /// The hook that was active before, shared with ours until the drop takes it back.
    previous: Option<Arc<PanicHook>>,
}

/// A duplicate of descriptor `fd`, closed on exec.
fn duplicate(fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor that nothing else owns, or -1.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `new` is open and owned by no one else.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

impl StderrRedirect {
    /// Sends stderr to `log` and installs the hook (see the type); `on_panic` runs
    /// first in the hook, except for panics the trainer thread reports itself.
    fn new(log: &File, on_panic: fn()) -> io::Result<Self> {
        let saved = duplicate(2)?;
        let for_hook = saved.try_clone()?;
        let previous = Arc::new(std::panic::take_hook());
        let chained = Arc::clone(&previous);
        std::panic::set_hook(Box::new(move |info| {
            if crate::train::memory::panic_is_reported_here() {
                // Caught: the workbench shows it as the run's error and goes on.
                return chained(info);
            }
            on_panic();
            // SAFETY: `for_hook` lives as long as this hook; put the real stderr back so
            // the panic message is visible.
            unsafe {
                libc::dup2(for_hook.as_raw_fd(), 2);
            }
            chained(info);
        }));
        let redirect = Self {
            saved,
            previous: Some(previous),
        };
        // SAFETY: both descriptors are open; a failure leaves stderr as it was.
        if unsafe { libc::dup2(log.as_raw_fd(), 2) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(redirect)
    }
}

impl Drop for StderrRedirect {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            // Ours, unless a hook set since wraps it; dropping it drops ours either way.
            drop(std::panic::take_hook());
            if let Some(previous) = self.previous.take() {
                match Arc::try_unwrap(previous) {
                    Ok(previous) => std::panic::set_hook(previous),
                    Err(shared) => std::panic::set_hook(Box::new(move |info| shared(info))),
                }
            }
        }
        // SAFETY: `saved` is open until it drops right after this.
        unsafe {
            libc::dup2(self.saved.as_raw_fd(), 2);
        }
    }
}

impl TerminalGuard {
    /// Raw mode + alternate screen; stderr goes to `log_file` until dropped.
    pub fn enter(log_file: &Path) -> Result<Self> {
        let log = File::create(log_file)
            .with_context(|| format!("cannot create {}", log_file.display()))?;
        let stderr =
            StderrRedirect::new(&log, restore).context("cannot send stderr to the log file")?;
        enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        execute!(stdout(), EnterAlternateScreen).context("cannot open the alternate screen")?;
        let terminal = Terminal::new(CrosstermBackend::new(stdout()))
            .context("cannot start the terminal UI")?;
        Ok(Self {
            terminal,
            _stderr: stderr,
        })
    }

    /// The terminal to draw on.
    pub fn terminal(&mut self) -> &mut Term {
        &mut self.terminal
    }
}

/// Job control: gives the terminal back as it was (cooked mode, main screen), stops the
/// whole process (SIGSTOP, as a shell's Ctrl-Z does), and once it is continued (`fg`,
/// SIGCONT) takes the terminal again and clears it so the next draw repaints it all.
/// Training is stopped with the process while it is suspended.
///
/// Errors: the terminal cannot be set up again.
pub fn suspend(terminal: &mut Term) -> Result<()> {
    restore();
    // SAFETY: raising a signal on the own process; SIGSTOP cannot be caught.
    unsafe {
        libc::raise(libc::SIGSTOP);
    }
    resume_screen(terminal)
}

/// Raw mode and the alternate screen again, cleared for a full repaint: after `fg`, or
/// after the process was stopped and continued from outside (`kill -STOP`/`-CONT`).
///
/// Errors: the terminal cannot be set up again.
pub fn resume_screen(terminal: &mut Term) -> Result<()> {
    enable_raw_mode().context("cannot switch the terminal to raw mode")?;
    execute!(stdout(), EnterAlternateScreen, crossterm::cursor::Hide)
        .context("cannot open the alternate screen")?;
    terminal.clear().context("cannot clear the terminal")
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
        // Then `_stderr` drops: stderr and the previous panic hook come back.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What descriptor `fd` refers to: (device, inode).
    fn identity(fd: i32) -> (u64, u64) {
        // SAFETY: fstat fills `st` for an open descriptor; zeroed is a valid `stat`.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0, "fstat({fd})");
        (st.st_dev as u64, st.st_ino as u64)
    }

    fn address(hook: &PanicHook) -> usize {
        &**hook as *const (dyn Fn(&PanicHookInfo<'_>) + Sync + Send) as *const () as usize
    }

    static ON_PANIC_CALLS: AtomicUsize = AtomicUsize::new(0);

    fn count_on_panic() {
        ON_PANIC_CALLS.fetch_add(1, Ordering::SeqCst);
    }

    // One test for the whole sequence: the panic hook and descriptor 2 are the
    // process's, shared with every test running at the same time.
    #[test]
    fn the_redirect_gives_back_stderr_and_the_previous_panic_hook() {
        let this = std::thread::current().id();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&calls);
        // Counts this thread's panics (other tests' panics pass through it too) and
        // prints nothing.
        let counting: PanicHook = Box::new(move |_| {
            if std::thread::current().id() == this {
                counted.fetch_add(1, Ordering::SeqCst);
            }
        });
        let counting_address = address(&counting);
        let original = std::panic::take_hook();
        std::panic::set_hook(counting);
        // The harness's stderr, to put back whatever happens below.
        let harness_stderr = duplicate(2).unwrap();
        let stderr_before = identity(2);

        let dir = tempfile::tempdir().unwrap();
        let log = File::create(dir.path().join("log")).unwrap();
        let redirect = StderrRedirect::new(&log, count_on_panic).unwrap();
        let redirected = identity(2);
        // A panic while redirected: on_panic runs, stderr comes back, the previous
        // hook runs.
        let during = std::panic::catch_unwind(|| panic!("while redirected"));
        let after_panic = identity(2);
        drop(redirect);
        let after_drop = identity(2);
        // A file opened now may get the descriptor number the redirect closed; a hook
        // still holding that number would send stderr into it.
        let later = File::create(dir.path().join("later")).unwrap();
        let after = std::panic::catch_unwind(|| panic!("after the drop"));
        let after_late_panic = identity(2);
        let active = std::panic::take_hook();
        let active_address = address(&active);

        std::panic::set_hook(original);
        // SAFETY: both descriptors are open.
        unsafe { libc::dup2(harness_stderr.as_raw_fd(), 2) };

        assert!(during.is_err() && after.is_err());
        assert_eq!(
            redirected,
            identity(log.as_raw_fd()),
            "stderr not sent to the log"
        );
        assert_eq!(
            after_panic, stderr_before,
            "the hook did not put stderr back"
        );
        assert_eq!(ON_PANIC_CALLS.load(Ordering::SeqCst), 1);
        assert_eq!(
            after_drop, stderr_before,
            "the drop did not put stderr back"
        );
        assert_ne!(after_late_panic, identity(later.as_raw_fd()));
        assert_eq!(
            after_late_panic, stderr_before,
            "a panic after the drop moved stderr"
        );
        assert_eq!(
            active_address, counting_address,
            "the hook active after the drop is not the one active before"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "the previous hook was not called"
        );
    }
}
