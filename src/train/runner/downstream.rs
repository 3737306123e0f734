//! The downstream linear probe on the trainer thread: the baselines when a run starts,
//! a reading after each held-out evaluation.

use anyhow::Result;

use super::Trainer;
use crate::downstream::{load_setup, save_setup};
use crate::protocol::Event;
use crate::session::{Lineage, Session};

/// The classifier sessions whose lineage names `parent`, each as `NAME: result`
/// (unreadable sessions are left out).
fn fine_tunes_of(parent: &str) -> Vec<String> {
    let names = crate::session::list_names().unwrap_or_default();
    names
        .iter()
        .filter_map(|name| {
            let session = Session::open(name).ok()?;
            let state = crate::session::finetune_state::FinetuneState::read(&session).ok()??;
            let lineage = Lineage::read(&session)?;
            (lineage.parent == parent).then(|| format!("{name}: {}", state.describe()))
        })
        .collect()
}

impl Trainer {
    /// Whether this run reads the probe: one process only. In a data-parallel run the
    /// other ranks would wait for rank 0's readings (and its baselines, seconds long)
    /// at their next collective, past `BERTWORK_DIST_TIMEOUT`.
    fn reads_downstream(&self) -> bool {
        self.owns_session() && self.world_size() == 1
    }

    /// Sends the labelled documents and baselines: those recorded in the session, or
    /// computed now and saved with the split (the untrained encoder's probe only when
    /// the weights are the random initialisation of step 0). One-process runs only.
    pub(super) fn downstream_started(&mut self) -> Result<()> {
        let Some(d) = self.data.downstream.clone() else {
            return Ok(());
        };
        if !self.reads_downstream() {
            if self.owns_session() {
                self.emit(Event::Warning {
                    message: "the downstream probe is not read in data-parallel runs; resume the session with one process, or fine-tune it (`bertwork finetune`), to score it".into(),
                });
            }
            return Ok(());
        }
        let setup = match load_setup(&self.session.dir)? {
            Some(setup) => setup,
            None => {
                let untrained = (self.step == 0 && !self.loaded)
                    .then(|| d.read(&self.model, self.device, 0, 0.0).mean_pooled);
                let setup = d.setup(untrained);
                d.write_split(&self.session.dir)?;
                save_setup(&self.session.dir, &setup)?;
                setup
            }
        };
        self.emit(Event::DownstreamSetup(Box::new(setup)));
        let runs = fine_tunes_of(&self.session.name);
        if !runs.is_empty() {
            self.emit(Event::FineTunes { runs });
        }
        Ok(())
    }

    /// Reads the probe on the current weights, records and reports it. One-process
    /// runs only.
    pub(super) fn read_downstream(&mut self) {
        let Some(d) = self.data.downstream.clone() else {
            return;
        };
        if !self.reads_downstream() {
            return;
        }
        let reading = d.read(&self.model, self.device, self.step, self.elapsed());
        let r = self.records.downstream(&reading);
        self.record(r);
        self.emit(Event::Downstream(reading));
    }
}
