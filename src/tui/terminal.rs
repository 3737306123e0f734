//! Entering and leaving the terminal's raw alternate screen, restoring it on panic, and
//! keeping libtorch's (or anyone's) stderr output off the screen.

use std::fs::File;
use std::io::{stdout, Stdout};
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub struct TerminalGuard {
    terminal: Term,
    saved_stderr: i32,
}

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
}

impl TerminalGuard {
    /// Raw mode + alternate screen; stderr goes to `log_file` until dropped.
    pub fn enter(log_file: &Path) -> Result<Self> {
        let log = File::create(log_file)
            .with_context(|| format!("cannot create {}", log_file.display()))?;
        // SAFETY: dup/dup2 on valid descriptors; the saved copy is restored on drop.
        let saved_stderr = unsafe {
            let saved = libc::dup(2);
            libc::dup2(log.as_raw_fd(), 2);
            saved
        };
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if crate::train::memory::panic_is_reported_here() {
                // Caught: the workbench shows it as the run's error and goes on.
                return previous(info);
            }
            restore();
            // SAFETY: put the real stderr back so the panic message is visible.
            unsafe {
                libc::dup2(saved_stderr, 2);
            }
            previous(info);
        }));
        enable_raw_mode().context("cannot switch the terminal to raw mode")?;
        execute!(stdout(), EnterAlternateScreen).context("cannot open the alternate screen")?;
        let terminal = Terminal::new(CrosstermBackend::new(stdout()))
            .context("cannot start the terminal UI")?;
        Ok(Self {
            terminal,
            saved_stderr,
        })
    }

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
        // SAFETY: restores the stderr descriptor saved in `enter`.
        unsafe {
            libc::dup2(self.saved_stderr, 2);
            libc::close(self.saved_stderr);
        }
    }
}
