//! `bertwork finetune SESSION`: a classifier session fine-tuned from a pretraining
//! session's weights (or from random initialisation with `--from-scratch`), scored on
//! the probe's folds. Headless: progress lines, `finetune.csv`, and a last line beside
//! the baselines.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Args;

use crate::corpus::CorpusSource;
use crate::downstream::{load_setup, Downstream};
use crate::finetune::{FinetuneConfig, FinetuneState, FINETUNE_CONFIG_FILE, PRETRAINED_FILE};
use crate::session::{Lineage, Session, CONFIG_FILE, TOKENIZER_FILE, VOCAB_FILE, WEIGHTS_FILE};
use crate::tokenizer::WordPieceTokenizer;

#[derive(Debug, Clone, Args)]
pub struct FinetuneArgs {
    /// Pretraining session whose weights to fine-tune.
    pub name: String,
    /// Step of the checkpoint to start from (default: its latest weights).
    #[arg(long)]
    pub at: Option<u64>,
    /// Name of the classifier session (default: NAME-ft, or NAME-scratch).
    #[arg(long)]
    pub session: Option<String>,
    /// Change a fine-tuning key, e.g. --set finetune.lr=1e-4 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// The same recipe from random initialisation (the session's model.init and seed):
    /// the control that says whether pretraining helped.
    #[arg(long)]
    pub from_scratch: bool,
    /// Fine-tune only the first N test folds (a quicker, wider-interval reading;
    /// default: all).
    #[arg(long, value_name = "N")]
    pub folds: Option<usize>,
}

pub fn exec(args: &FinetuneArgs) -> Result<ExitCode> {
    let source = Session::open(&args.name)?;
    if let Some(state) = FinetuneState::read(&source)? {
        if state.imported {
            bail!(
                "session `{}` is a classifier imported from {}; fine-tune a pretraining session (import the encoder alone as one, or train one)",
                source.name,
                state.source
            );
        }
        bail!(
            "session `{}` is a classifier session (fine-tuned from `{}`); fine-tune a pretraining session, such as `{}`",
            source.name,
            state.source,
            state.source
        );
    }
    let recipe = FinetuneConfig::default().with_overrides(&args.set)?;
    if args.folds == Some(0) {
        bail!("--folds must be at least 1");
    }
    let config = source.load_config()?;
    let tokenizer = WordPieceTokenizer::load(&source.path(TOKENIZER_FILE))
        .with_context(|| format!("session `{}` has no usable tokenizer", source.name))?;
    let corpus = CorpusSource::of(config.data.corpus.as_deref(), &config.data.format)?;
    let Some(data) = Downstream::prepare(&config, &source.dir, &corpus, &tokenizer)? else {
        bail!(
            "session `{}` has no labels to fine-tune on: its corpus has no class column in use (data.label_column = {}); train a session on a corpus with one (--label-column NAME)",
            source.name,
            config.data.label_column
        );
    };
    let weights = match (args.from_scratch, args.at) {
        (true, _) => None,
        (false, Some(step)) => Some(crate::saved::checkpoint_weights(&source, step)?),
        (false, None) => Some(source.path(WEIGHTS_FILE)),
    };
    if let Some(w) = &weights {
        if !w.exists() {
            bail!(
                "session `{}` has no saved weights yet; train it first",
                source.name
            );
        }
    }
    let name = args.session.clone().unwrap_or_else(|| {
        let suffix = if args.from_scratch { "scratch" } else { "ft" };
        format!("{}-{suffix}", source.name)
    });
    crate::session::check_name(&name)?;
    if crate::session::sessions_root()?
        .join(&name)
        .join(crate::finetune::STATE_FILE)
        .exists()
    {
        bail!("session `{name}` already exists; continue it with `bertwork resume {name}`, or choose another --session name");
    }
    let session = Session::create(Some(&name), config.model.preset.name())?;
    let made = (|| -> Result<()> {
        for file in [
            CONFIG_FILE,
            TOKENIZER_FILE,
            VOCAB_FILE,
            "corpus.json",
            crate::downstream::SETUP_FILE,
        ] {
            if source.path(file).exists() {
                std::fs::copy(source.path(file), session.path(file))
                    .with_context(|| format!("cannot copy {file} of session `{}`", source.name))?;
            }
        }
        data.write_split(&session.dir)?;
        crate::session::write_atomic(
            &session.path(FINETUNE_CONFIG_FILE),
            toml::to_string_pretty(&recipe)?.as_bytes(),
        )?;
        if let Some(w) = &weights {
            std::fs::copy(w, session.path(PRETRAINED_FILE))
                .with_context(|| format!("cannot copy the weights of session `{}`", source.name))?;
        }
        let step = args.at.or_else(|| {
            crate::train::checkpoint::list(&source.path(crate::session::CHECKPOINTS_DIR))
                .last()
                .map(|(s, _)| *s)
        });
        Lineage {
            parent: source.name.clone(),
            step: step.unwrap_or(0),
            created: chrono::Utc::now().to_rfc3339(),
            sets: args.set.clone(),
        }
        .write(&session)?;
        FinetuneState {
            source: source.name.clone(),
            source_step: step,
            from_scratch: args.from_scratch,
            imported: false,
            label_column: data.column.clone(),
            classes: data.classes.clone(),
            folds: args
                .folds
                .unwrap_or(usize::MAX)
                .min(data.test_fold_list().len()),
            done: Vec::new(),
            accuracy: None,
        }
        .write(&session)
    })();
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&session.dir);
        return Err(e);
    }
    println!(
        "classifier session `{name}`: {} classes of `{}`, {} of {} folds, {} {}",
        data.classes.len(),
        data.column,
        args.folds
            .unwrap_or(usize::MAX)
            .min(data.test_fold_list().len()),
        data.test_fold_list().len(),
        if args.from_scratch {
            "from random initialisation like"
        } else {
            "from the weights of"
        },
        source.name
    );
    continue_finetune(&session)
}

/// Fine-tunes the folds left of a classifier session and prints the result beside the
/// baselines. Ctrl-C, SIGTERM and SIGHUP stop after the current step; the folds done
/// are kept.
pub fn continue_finetune(session: &Session) -> Result<ExitCode> {
    let signals = crate::signals::listen()?;
    let stop = || signals.try_recv().is_ok();
    let Some(accuracy) = crate::finetune::run(session, &stop)? else {
        return Ok(ExitCode::from(130));
    };
    let mut line = format!(
        "fine-tuned accuracy {} on {} documents",
        accuracy.describe(),
        accuracy.documents
    );
    if let Some(setup) = load_setup(&session.dir)? {
        line.push_str(&format!(
            " | TF-IDF {} | majority {}",
            setup.tfidf.describe(),
            setup.majority.describe()
        ));
        let gap = 100.0 * (accuracy.accuracy - setup.tfidf.accuracy);
        line.push_str(&format!(" | {gap:+.1} points against TF-IDF"));
    }
    println!("{line}");
    println!("session saved in {}", session.dir.display());
    Ok(ExitCode::SUCCESS)
}
