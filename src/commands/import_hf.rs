//! `bertwork import-hf DIR --session NAME`: a HuggingFace BERT folder as a session.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// HF model folder: config.json, model.safetensors, vocab.txt (a pretraining model,
    /// or a `BertForSequenceClassification` with id2label).
    pub dir: PathBuf,
    /// Name of the new session.
    #[arg(long)]
    pub session: String,
}

pub fn exec(args: &ImportArgs) -> Result<ExitCode> {
    let (session, notes) =
        crate::hf::import(&args.dir, &args.session, crate::finetune::import_classifier)?;
    for n in notes {
        eprintln!("note: {n}");
    }
    let what = match crate::finetune::FinetuneState::read(&session)? {
        Some(state) => format!(
            "a classifier of {} classes ({}); classify with `bertwork probe --session {} \"text\"` or export it with `bertwork export {} --hf DIR`",
            state.classes.len(),
            state.classes.join(", "),
            session.name,
            session.name
        ),
        None => format!(
            "probe it with `bertwork probe --session {} \"...[MASK]...\"` or continue pretraining with `bertwork resume {}`",
            session.name, session.name
        ),
    };
    println!(
        "imported {} as session `{}` in {}: {}",
        crate::terminal_text::escape_lines(&args.dir.display().to_string()),
        session.name,
        session.dir.display(),
        crate::terminal_text::escape_lines(&what)
    );
    Ok(ExitCode::SUCCESS)
}
