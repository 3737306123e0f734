//! A real training run for a bench, in a throwaway session folder under the temporary
//! directory: started, driven by the bench over its channels, then stopped and removed.

use std::path::PathBuf;

use anyhow::Result;

use crate::config::Config;
use crate::protocol::{Command, Event};
use crate::session::Session;
use crate::train::{TrainSetup, TrainerHandle};

pub struct ScratchRun {
    pub handle: TrainerHandle,
    home: PathBuf,
}

impl ScratchRun {
    /// Starts training `config` in a fresh folder named after `bench` and this process.
    ///
    /// Errors: the folder cannot be made.
    pub fn start(config: Config, bench: &str) -> Result<Self> {
        let home =
            std::env::temp_dir().join(format!("bertwork-{bench}-bench-{}", std::process::id()));
        let session = Session::scratch(&format!("{bench}-bench"), home.join("s"));
        std::fs::create_dir_all(&session.dir)?;
        let handle = TrainerHandle::spawn(TrainSetup::fresh(config, session));
        Ok(Self { handle, home })
    }

    /// A file of the run's session folder.
    pub fn path(&self, file: &str) -> PathBuf {
        self.home.join("s").join(file)
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
        let _ = std::fs::remove_dir_all(&self.home);
    }
}
