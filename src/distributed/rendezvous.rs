//! Where the ranks meet: torchrun's environment variables (`RANK`, `WORLD_SIZE`,
//! `LOCAL_RANK`, `LOCAL_WORLD_SIZE`, `MASTER_ADDR`, `MASTER_PORT`,
//! `TORCHELASTIC_USE_AGENT_STORE`, `TORCHELASTIC_RESTART_COUNT`), which
//! `bertwork train --nproc N` sets for its own workers too.

use std::time::Duration;

use anyhow::{bail, Context, Result};

/// How long a collective may wait for the other ranks before the run stops with an
/// error naming the rank that did not answer, unless `BERTWORK_DIST_TIMEOUT` (seconds)
/// says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The environment variable that overrides [`DEFAULT_TIMEOUT`].
pub const TIMEOUT_VAR: &str = "BERTWORK_DIST_TIMEOUT";

/// One process's place in a data-parallel run.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendezvous {
    pub rank: usize,
    pub world_size: usize,
    /// Rank among the processes of this machine (selects `cuda:LOCAL_RANK`).
    pub local_rank: usize,
    pub local_world_size: usize,
    pub master_addr: String,
    pub master_port: u16,
    /// torchrun's agent serves the store: every rank, rank 0 included, is a client.
    pub agent_store: bool,
    /// torchrun's restart count: a restarted group uses fresh store keys.
    pub restart_count: u64,
    /// See [`DEFAULT_TIMEOUT`].
    pub timeout: Duration,
}

impl Rendezvous {
    /// The rendezvous torchrun (or `--nproc`) describes in `var`, or None when this is
    /// a one-process run (no `WORLD_SIZE`, or `WORLD_SIZE=1`).
    ///
    /// Errors: a malformed or missing variable, named with what to do.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let Some(world) = var("WORLD_SIZE") else {
            // A rank above 0 alone would train a session of its own as if it were
            // the only process: certainly not what was meant.
            if let Some(rank) = var("RANK").filter(|r| r.trim() != "0") {
                bail!(
                    "RANK=\"{}\" is set but WORLD_SIZE is not: set both (torchrun does), or unset RANK to train in one process",
                    crate::terminal_text::escape_lines(&rank)
                );
            }
            return Ok(None);
        };
        let world_size: usize = number("WORLD_SIZE", &world)?;
        if world_size == 0 {
            bail!("WORLD_SIZE=0: it must be at least 1 (torchrun sets it; unset it to train in one process)");
        }
        if world_size == 1 {
            return Ok(None);
        }
        let required = |name: &str| {
            var(name).with_context(|| {
                format!("WORLD_SIZE={world_size} but {name} is not set: launch with `torchrun --no-python --nproc-per-node N bertwork train ...` or `bertwork train --nproc N`")
            })
        };
        let rank: usize = number("RANK", &required("RANK")?)?;
        if rank >= world_size {
            bail!("RANK={rank} is not below WORLD_SIZE={world_size}");
        }
        let local_rank = match var("LOCAL_RANK") {
            Some(v) => number("LOCAL_RANK", &v)?,
            None => rank,
        };
        let local_world_size = match var("LOCAL_WORLD_SIZE") {
            Some(v) => number("LOCAL_WORLD_SIZE", &v)?,
            None => world_size,
        };
        if local_rank >= local_world_size.max(1) {
            bail!("LOCAL_RANK={local_rank} is not below LOCAL_WORLD_SIZE={local_world_size}");
        }
        let port = required("MASTER_PORT")?;
        let master_port = port.trim().parse::<u16>().ok().filter(|&p| p > 0).with_context(|| {
            format!(
                "MASTER_PORT=\"{}\" is not a port (1 to 65535): give the port rank 0's store listens on",
                crate::terminal_text::escape_lines(&port)
            )
        })?;
        let master_addr = var("MASTER_ADDR").unwrap_or_else(|| "127.0.0.1".into());
        if master_addr.is_empty()
            || master_addr
                .chars()
                .any(|c| c.is_control() || c.is_whitespace())
        {
            bail!(
                "MASTER_ADDR=\"{}\" is not a host name or address: give rank 0's machine (127.0.0.1 for one machine)",
                crate::terminal_text::escape_lines(&master_addr)
            );
        }
        let timeout = match var(TIMEOUT_VAR) {
            Some(v) => {
                let s: f64 = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && s.is_finite())
                    .with_context(|| {
                        format!("{TIMEOUT_VAR}={v:?} is not a positive number of seconds")
                    })?;
                Duration::from_secs_f64(s)
            }
            None => DEFAULT_TIMEOUT,
        };
        Ok(Some(Self {
            rank,
            world_size,
            local_rank,
            local_world_size,
            master_addr,
            master_port,
            agent_store: var("TORCHELASTIC_USE_AGENT_STORE").is_some_and(|v| v == "True"),
            restart_count: match var("TORCHELASTIC_RESTART_COUNT") {
                Some(v) => number("TORCHELASTIC_RESTART_COUNT", &v)?,
                None => 0,
            },
            timeout,
        }))
    }

    /// [`from_vars`](Self::from_vars) over this process's environment.
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Every rank is on this machine and meets over loopback (Gloo then binds to
    /// 127.0.0.1 instead of the address the hostname resolves to).
    pub fn is_loopback(&self) -> bool {
        self.local_world_size == self.world_size
            && matches!(self.master_addr.as_str(), "127.0.0.1" | "localhost" | "::1")
    }
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T> {
    value.trim().parse().ok().with_context(|| {
        format!(
            "{name}=\"{}\" is not a valid number (torchrun sets it; unset it to train in one process)",
            crate::terminal_text::escape_lines(value)
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<Rendezvous>> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Rendezvous::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn no_world_size_or_one_process_is_not_distributed() {
        assert_eq!(parse(&[]).unwrap(), None);
        assert_eq!(parse(&[("RANK", "0")]).unwrap(), None);
        let e = format!("{:#}", parse(&[("RANK", "1")]).unwrap_err());
        assert!(e.contains("WORLD_SIZE is not"), "{e}");
        assert_eq!(parse(&[("WORLD_SIZE", "1"), ("RANK", "0")]).unwrap(), None);
    }

    #[test]
    fn torchrun_variables_are_read() {
        let r = parse(&[
            ("WORLD_SIZE", "4"),
            ("RANK", "3"),
            ("LOCAL_RANK", "1"),
            ("LOCAL_WORLD_SIZE", "2"),
            ("MASTER_ADDR", "10.0.0.5"),
            ("MASTER_PORT", "29500"),
            ("TORCHELASTIC_USE_AGENT_STORE", "True"),
            ("TORCHELASTIC_RESTART_COUNT", "2"),
            ("BERTWORK_DIST_TIMEOUT", "7.5"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (r.rank, r.world_size, r.local_rank, r.local_world_size),
            (3, 4, 1, 2)
        );
        assert_eq!((r.master_addr.as_str(), r.master_port), ("10.0.0.5", 29500));
        assert!(r.agent_store && !r.is_loopback());
        assert_eq!(r.restart_count, 2);
        assert_eq!(r.timeout, Duration::from_millis(7500));
    }

    #[test]
    fn bad_values_are_named() {
        let base = [("WORLD_SIZE", "2"), ("MASTER_PORT", "29500")];
        let err = |extra: &[(&str, &str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            format!("{:#}", parse(&v).unwrap_err())
        };
        assert!(err(&[]).contains("RANK is not set"));
        assert!(err(&[("RANK", "x")]).contains("RANK=\"x\" is not a valid number"));
        assert!(err(&[("RANK", "2")]).contains("not below WORLD_SIZE=2"));
        assert!(err(&[("RANK", "0"), ("MASTER_ADDR", "10.0.0.1\x1b[31m")])
            .contains("MASTER_ADDR=\"10.0.0.1\\x1b[31m\" is not a host name"));
        assert!(err(&[("RANK", "0"), ("BERTWORK_DIST_TIMEOUT", "-1")])
            .contains("not a positive number of seconds"));
        let e = format!(
            "{:#}",
            parse(&[("WORLD_SIZE", "2"), ("RANK", "0")]).unwrap_err()
        );
        assert!(e.contains("MASTER_PORT is not set"), "{e}");
        for port in ["0", "70000", "x"] {
            let e = format!(
                "{:#}",
                parse(&[("WORLD_SIZE", "2"), ("RANK", "0"), ("MASTER_PORT", port)]).unwrap_err()
            );
            assert!(e.contains("is not a port (1 to 65535)"), "{e}");
        }
        let e = format!("{:#}", parse(&[("WORLD_SIZE", "0")]).unwrap_err());
        assert!(e.contains("at least 1"), "{e}");
    }
}
