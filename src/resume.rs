//! `bertwork resume NAME`: continue a session from its last complete checkpoint (or,
//! for an imported model with no checkpoint, from its weights at step 0).

use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::cli::ResumeArgs;
use crate::config::Config;
use crate::corpus::fingerprint::Fingerprint;
use crate::session::{Session, WEIGHTS_FILE};
use crate::train::checkpoint::latest_good;
use crate::train::{Start, TrainSetup};

/// Keys a resume cannot change: they fix the model's shapes, its objectives, the
/// tokenizer or the held-out split that the checkpoint was made with.
const FIXED: &[&str] = &[
    "model.preset",
    "model.layers",
    "model.hidden",
    "model.heads",
    "model.intermediate",
    "model.max_position",
    "model.position",
    "model.nsp",
    "data.text_column",
    "data.vocab",
    "data.vocab_size",
    "data.heldout_fraction",
    "train.seed",
];

pub fn run(args: &ResumeArgs) -> Result<ExitCode> {
    let (setup, warnings) = setup(args)?;
    for w in &warnings {
        eprintln!("warning: {}", crate::terminal_text::escape_lines(w));
    }
    if args.run.headless {
        crate::headless::run(setup, args.run.json)
    } else {
        crate::tui::open(setup)
    }
}

/// The setup of a resume and the warnings to show (checkpoints that were skipped).
pub fn setup(args: &ResumeArgs) -> Result<(TrainSetup, Vec<String>)> {
    let session = Session::open_to_write(&args.name)?;
    let (found, mut warnings) = latest_good(&session)?;
    let sets = args.overrides();
    let Some((dir, state)) = found else {
        let weights = session.path(WEIGHTS_FILE);
        if !weights.exists() {
            bail!(
                "session `{}` has no complete checkpoint and no weights to resume from; start it again with `bertwork train --session {}`",
                session.name,
                session.name
            );
        }
        let config = session.load_config()?.with_overrides(&sets)?;
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
            },
            warnings,
        ));
    };
    let mut config = state.config.with_overrides(&sets)?;
    if config.data.corpus != state.config.data.corpus {
        // A moved corpus, named from here: kept absolute like a new session's.
        if let Some(path) = &mut config.data.corpus {
            if let Ok(absolute) = std::path::absolute(&*path) {
                *path = absolute;
            }
        }
    }
    let changes = config.changed_keys(&state.config)?;
    if let Some((key, _)) = changes.iter().find(|(k, _)| FIXED.contains(&k.as_str())) {
        bail!(
            "{key} cannot change on resume (the checkpoint was made with it); start a new session with `bertwork train` to change it"
        );
    }
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
            },
            interactive: false,
        },
        warnings,
    ))
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
