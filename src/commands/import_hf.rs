//! `bertwork import-hf DIR --session NAME`: a HuggingFace BERT folder as a session.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// HF model folder: config.json, model.safetensors, vocab.txt.
    pub dir: PathBuf,
    /// Name of the new session.
    #[arg(long)]
    pub session: String,
}

pub fn exec(args: &ImportArgs) -> Result<ExitCode> {
    let (session, notes) = crate::hf::import(&args.dir, &args.session)?;
    for n in notes {
        eprintln!("note: {n}");
    }
    println!(
        "imported {} as session `{}` in {}; probe it with `bertwork probe --session {} \"...[MASK]...\"` or continue pretraining with `bertwork resume {}`",
        args.dir.display(),
        session.name,
        session.dir.display(),
        session.name,
        session.name
    );
    Ok(ExitCode::SUCCESS)
}
