//! Resuming a session: continue it from its last complete checkpoint (or,
//! for an imported model with no checkpoint, from its weights at step 0).

use anyhow::{bail, Result};

use crate::config::Config;
use crate::corpus::fingerprint::Fingerprint;
use crate::session::{Session, WEIGHTS_FILE};
use crate::train::checkpoint::latest_good;
use crate::train::{Start, TrainSetup};

/// The setup of a resume of session `name` with `sets` (`key=value` overrides,
/// logged as changes), and the warnings to show (checkpoints that were skipped).
///
/// Errors: no such session, the session in use, no checkpoint or weights, a change
/// to a key the checkpoint fixes, or no work left.
pub fn setup(name: &str, sets: &[String]) -> Result<(TrainSetup, Vec<String>)> {
    let session = Session::open_to_write(name)?;
    let (found, mut warnings) = latest_good(&session)?;
    let Some((dir, state)) = found else {
        let weights = session.path(WEIGHTS_FILE);
        if !weights.exists() {
            bail!(
                "session `{}` has no complete checkpoint and no weights to resume from; start it again with `bertwork train --session {}`",
                session.name,
                session.name
            );
        }
        let config = session.load_config()?.with_overrides(sets)?;
        warnings.push(format!(
            "session `{}` has no checkpoint: starting at step 0 from its saved weights with a fresh optimizer",
            session.name
        ));
        return Ok((
            TrainSetup {
                config,
                session,
                start: Start::Weights(weights),
                interactive: false,
                data_parallel: None,
            },
            warnings,
        ));
    };
    let mut config = state.config.with_overrides(sets)?;
    if config.data.corpus != state.config.data.corpus {
        // A moved corpus, named from here: kept absolute like a new session's.
        if let Some(path) = &mut config.data.corpus {
            if let Ok(absolute) = std::path::absolute(&*path) {
                *path = absolute;
            }
        }
        if let Some(note) = crate::corpus::pipe::keep_named(&mut config.data.corpus, &session.dir)?
        {
            warnings.push(note);
        }
    }
    let changes = config.changed_keys(&state.config)?;
    check_fixed(&changes, "on resume")?;
    if changes.iter().any(|(k, _)| k == "data.corpus")
        && Fingerprint::recorded(&session.dir)?.is_none()
    {
        bail!(
            "data.corpus cannot change on resume for session `{}`: it was made before bertwork recorded its corpus's content, so the new file cannot be checked against it",
            session.name
        );
    }
    check_work_left(&config, state.epoch, state.step, &session.name)?;
    Ok((
        TrainSetup {
            config,
            session,
            start: Start::Checkpoint {
                dir,
                state: Box::new(state),
                changes,
                source: crate::records::ChangeSource::Resume,
            },
            interactive: false,
            data_parallel: None,
        },
        warnings,
    ))
}

/// Refuses a change (`key`, `value`) to a key the checkpoint fixes; `when` says
/// where the change was asked for ("on resume", "in a fork").
pub fn check_fixed(changes: &[(String, String)], when: &str) -> Result<()> {
    if let Some((key, _)) = changes
        .iter()
        .find(|(k, _)| crate::config::keys::is_fixed(k))
    {
        bail!(
            "{key} cannot change {when} (the checkpoint was made with it); start a new session with `bertwork train` to change it"
        );
    }
    Ok(())
}

fn check_work_left(config: &Config, epoch: usize, step: u64, name: &str) -> Result<()> {
    let t = &config.train;
    if epoch >= t.epochs {
        bail!(
            "session `{name}` has finished its {} epochs (step {step}); pass --epochs N with N > {} to train further",
            t.epochs,
            t.epochs
        );
    }
    if t.max_steps > 0 && step >= t.max_steps {
        bail!(
            "session `{name}` has reached train.max_steps = {}; pass --max-steps N with N > {step} (0 = no limit) to train further",
            t.max_steps
        );
    }
    Ok(())
}
