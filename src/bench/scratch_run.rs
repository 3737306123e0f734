//! A real training run for a bench, in a throwaway session folder under the temporary
//! directory: started, driven by the bench over its channels, then stopped and removed
//! (the folder also goes when a bench drops the run on an error).

use std::path::PathBuf;

use anyhow::{Context, Result};
use tempfile::TempDir;

use crate::config::Config;
use crate::protocol::{Command, Event};
use crate::session::Session;
use crate::train::{TrainSetup, TrainerHandle};

/// A training run in a temporary folder, removed when the run is finished or dropped.
pub struct ScratchRun {
    /// The trainer's channels.
    pub handle: TrainerHandle,
    home: TempDir,
}

impl ScratchRun {
    /// Starts training `config` in a fresh temporary folder named after `bench`.
    ///
    /// Errors: the folder cannot be made.
    pub fn start(config: Config, bench: &str) -> Result<Self> {
        let home = tempfile::Builder::new()
            .prefix(&format!("bertwork-{bench}-bench-"))
            .tempdir()
            .context("cannot create a temporary folder for the bench's run")?;
        let session = Session::scratch(&format!("{bench}-bench"), home.path().join("s"));
        std::fs::create_dir_all(&session.dir)?;
        let handle = TrainerHandle::spawn(TrainSetup::fresh(config, session));
        Ok(Self { handle, home })
    }

    /// A file of the run's session folder.
    pub fn path(&self, file: &str) -> PathBuf {
        self.home.path().join("s").join(file)
    }

    /// Stops the run (if it still runs), waits for the trainer and removes the folder.
    pub fn finish(self) {
        let _ = self.handle.commands.send(Command::Stop);
        for e in self.handle.events.iter() {
            if matches!(e, Event::Finished(_)) {
                break;
            }
        }
        self.handle.join();
        // `self.home` is removed as it drops, after the trainer has ended.
    }
}
