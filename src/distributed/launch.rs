//! `bertwork train --nproc N` on one machine: this process becomes rank 0 and starts
//! ranks 1..N as copies of itself with torchrun's variables, meeting over loopback.
//! Their output goes to one log file per rank, since rank 0 owns the terminal.

use std::fs::File;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::rendezvous::{Rendezvous, TIMEOUT_VAR};

/// Set in the environment of the ranks `--nproc` starts: their command line still has
/// `--nproc`, and their RANK / WORLD_SIZE are ours, not a user's.
pub const LAUNCHED_VAR: &str = "BERTWORK_NPROC_RANK";

/// Refuses `--nproc` where torchrun's variables are set (torchrun, or a shell that
/// exported them): the two would start processes twice.
pub fn check_not_under_torchrun() -> Result<()> {
    if std::env::var_os(LAUNCHED_VAR).is_some() {
        return Ok(());
    }
    if std::env::var_os("RANK").is_some() || std::env::var_os("WORLD_SIZE").is_some() {
        bail!("--nproc cannot be combined with torchrun's variables (RANK / WORLD_SIZE are set): under torchrun drop --nproc; otherwise `unset RANK WORLD_SIZE` first");
    }
    Ok(())
}

/// The ranks this process started.
pub struct LocalWorkers {
    children: Vec<(usize, Child)>,
    /// Where each rank's output goes: `<log_dir>/rank-<r>.log`.
    pub log_dir: PathBuf,
    exited: Vec<(usize, ExitStatus)>,
}

/// Starts ranks 1..`nproc` and returns rank 0's rendezvous with them.
///
/// Errors: `nproc` is 0, torchrun's variables are already set (a worker must not
/// launch more), or a process cannot be started.
pub fn spawn_local(nproc: usize) -> Result<(Rendezvous, LocalWorkers)> {
    if nproc == 0 {
        bail!("--nproc 0: give the number of processes to train with (1 or more)");
    }
    check_not_under_torchrun()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if nproc > cores {
        bail!("--nproc {nproc}: this machine has {cores} cores, and each process needs one; use at most --nproc {cores}");
    }
    // A free port for the store; rank 0 binds it again at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("cannot find a free loopback port for the process group")?
        .port();
    let timeout = match std::env::var(TIMEOUT_VAR) {
        Ok(v) => v,
        Err(_) => super::rendezvous::DEFAULT_TIMEOUT.as_secs_f64().to_string(),
    };
    let vars = |rank: usize| -> Vec<(&'static str, String)> {
        vec![
            ("RANK", rank.to_string()),
            ("LOCAL_RANK", rank.to_string()),
            ("WORLD_SIZE", nproc.to_string()),
            ("LOCAL_WORLD_SIZE", nproc.to_string()),
            ("MASTER_ADDR", "127.0.0.1".into()),
            ("MASTER_PORT", port.to_string()),
            (TIMEOUT_VAR, timeout.clone()),
            (LAUNCHED_VAR, "1".into()),
        ]
    };
    let rdv = Rendezvous::from_vars(|name| {
        vars(0)
            .into_iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    })?
    .context("--nproc 1 trains in one process")?;
    let log_dir = std::env::temp_dir().join(format!("bertwork-ranks-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir)
        .with_context(|| format!("cannot create {}", log_dir.display()))?;
    let exe = std::env::current_exe().context("cannot find bertwork's own executable")?;
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let mut children = Vec::new();
    for rank in 1..nproc {
        let log_path = log_dir.join(format!("rank-{rank}.log"));
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        let mut cmd = Command::new(&exe);
        cmd.args(&args)
            .envs(vars(rank))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: prctl is async-signal-safe; it asks the kernel to end the worker
        // when rank 0 dies, so no orphan keeps training (SIGKILL: a worker waits for
        // rank 0's stop after a polite signal, see `crate::commands::worker`).
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start rank {rank} ({})", exe.display()))?;
        children.push((rank, child));
    }
    Ok((
        rdv,
        LocalWorkers {
            children,
            log_dir,
            exited: Vec::new(),
        },
    ))
}

impl LocalWorkers {
    /// Collects the ranks that have exited, waiting up to `grace` for a first one.
    fn reap(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        loop {
            let mut i = 0;
            while i < self.children.len() {
                if let Ok(Some(status)) = self.children[i].1.try_wait() {
                    let (rank, _) = self.children.remove(i);
                    self.exited.push((rank, status));
                } else {
                    i += 1;
                }
            }
            if !self.exited.is_empty() || Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// After a failed collective: the ranks that exited badly, as "rank 1 (pid 123)
    /// was killed by signal 9; its log: ...", or None when all still run.
    pub fn failed_ranks(&mut self, grace: Duration) -> Option<String> {
        self.reap(grace);
        let failed: Vec<String> = self
            .exited
            .iter()
            .filter(|(_, s)| !s.success())
            .map(|(rank, status)| {
                let how = match (status.code(), status.signal()) {
                    (Some(code), _) => format!("exited with status {code}"),
                    (None, Some(sig)) => format!("was killed by signal {sig}"),
                    _ => "ended".into(),
                };
                let log = self.log_dir.join(format!("rank-{rank}.log"));
                let last = last_line(&log)
                    .map(|l| format!(" (last line: {l})"))
                    .unwrap_or_default();
                format!("rank {rank} {how}; its log: {}{last}", log.display())
            })
            .collect();
        (!failed.is_empty()).then(|| failed.join("; "))
    }

    /// Waits up to `grace` for every rank to end, then stops the rest; removes the
    /// logs when every rank ended well.
    pub fn finish(&mut self, grace: Duration) {
        let deadline = Instant::now() + grace;
        while !self.children.is_empty() && Instant::now() < deadline {
            self.reap(Duration::ZERO);
            std::thread::sleep(Duration::from_millis(50));
        }
        for (rank, mut child) in self.children.drain(..) {
            let _ = child.kill();
            if let Ok(status) = child.wait() {
                self.exited.push((rank, status));
            }
        }
        if self.exited.iter().all(|(_, s)| s.success()) {
            let _ = std::fs::remove_dir_all(&self.log_dir);
        }
    }
}

fn last_line(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    Some(crate::terminal_text::escape_lines(line.trim()).into_owned())
}
