//! Argument groups that several commands share: where a config comes from, and how
//! long and where a run trains.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::config::Config;

/// Options shared by everything that resolves a config.
#[derive(Debug, Clone, Args, Default)]
pub struct ConfigArgs {
    /// TOML config file with [model], [data] and [train] sections.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Model size: tiny, mini, small, medium, base, large.
    #[arg(long)]
    pub preset: Option<String>,
    /// Override a config key, e.g. --set train.lr=5e-4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl ConfigArgs {
    /// The config from the file, then --preset, then `extra`, then --set (last wins).
    pub fn resolve(&self, extra: &[String]) -> Result<Config> {
        let mut sets = Vec::new();
        if let Some(p) = &self.preset {
            sets.push(format!("model.preset={}", quote(p)));
        }
        sets.extend(extra.iter().cloned());
        sets.extend(self.set.iter().cloned());
        Config::load(self.config.as_deref(), &sets)
    }

    /// Whether the config file or a --set gives `section.key` a value.
    pub fn sets_key(&self, section: &str, key: &str) -> bool {
        let dotted = format!("{section}.{key}");
        let in_sets = self
            .set
            .iter()
            .any(|s| s.split_once('=').is_some_and(|(k, _)| k.trim() == dotted));
        let in_file = self.config.as_deref().is_some_and(|path| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|text| text.parse::<toml::Table>().ok())
                .is_some_and(|t| t.get(section).and_then(|s| s.get(key)).is_some())
        });
        in_sets || in_file
    }
}

/// How long and where a run trains, and how it reports: shared by `train` and
/// `resume`.
#[derive(Debug, Clone, Args, Default)]
pub struct RunArgs {
    /// Train to this many epochs in all.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Stop at this optimizer step in all (0 = no limit).
    #[arg(long)]
    pub max_steps: Option<u64>,
    /// auto (CUDA when available), cpu, cuda or cuda:N.
    #[arg(long)]
    pub device: Option<String>,
    /// CPU threads for libtorch (0 = all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Train without the workbench, printing progress.
    #[arg(long)]
    pub headless: bool,
    /// With --headless: one JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Data-parallel training on this machine with N processes (torch.distributed,
    /// Gloo over loopback); this process is rank 0 and owns the session. Under
    /// torchrun, leave it out: torchrun starts the processes.
    #[arg(long, value_name = "N")]
    pub nproc: Option<usize>,
}

impl RunArgs {
    /// The flags as `key=value` overrides.
    pub fn overrides(&self) -> Vec<String> {
        let mut sets = Vec::new();
        if let Some(e) = self.epochs {
            sets.push(format!("train.epochs={e}"));
        }
        if let Some(s) = self.max_steps {
            sets.push(format!("train.max_steps={s}"));
        }
        if let Some(d) = &self.device {
            sets.push(format!("train.device={}", quote(d)));
        }
        if let Some(t) = self.threads {
            sets.push(format!("train.threads={t}"));
        }
        sets
    }

    /// Runs a prepared setup in the front end these flags ask for.
    pub fn launch(&self, mut setup: crate::train::TrainSetup) -> Result<std::process::ExitCode> {
        let workers = match crate::distributed::join_as_rank0(self.nproc) {
            Ok(Some(dp)) => {
                let workers = dp.local_workers.clone();
                setup.data_parallel = Some(dp);
                workers
            }
            Ok(None) => None,
            Err(e) => {
                setup.session.discard_if_untrained();
                return Err(e);
            }
        };
        let code = if self.headless {
            crate::headless::run(setup, self.json)
        } else {
            crate::tui::open(setup)
        };
        if let Some(w) = workers {
            // The other ranks end with rank 0's last step; a stuck one is stopped.
            w.lock()
                .unwrap_or_else(|p| p.into_inner())
                .finish(std::time::Duration::from_secs(3));
        }
        code
    }
}

/// A TOML string literal.
pub fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
