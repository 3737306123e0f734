//! Interop with HuggingFace transformers: `export` writes a session as a
//! `BertForPreTraining` folder; `import-hf` turns such a folder into a session.
//! bertwork's variable names already are HF's state-dict keys.

mod config_json;
mod export;
mod import;

pub use config_json::HfConfig;
pub use export::export;
pub use import::import;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use crate::session::Session;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Session to export.
    pub name: String,
    /// Folder to write (created; must be empty if it exists).
    #[arg(long, value_name = "DIR")]
    pub hf: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// HF model folder: config.json, model.safetensors, vocab.txt.
    pub dir: PathBuf,
    /// Name of the new session.
    #[arg(long)]
    pub session: String,
}

pub fn export_cmd(args: &ExportArgs) -> Result<ExitCode> {
    let session = Session::open(&args.name)?;
    export(&session, &args.hf)?;
    println!(
        "exported `{}` to {} (load it with BertForPreTraining.from_pretrained and BertTokenizerFast.from_pretrained)",
        session.name,
        args.hf.display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn import_cmd(args: &ImportArgs) -> Result<ExitCode> {
    let (session, notes) = import(&args.dir, &args.session)?;
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
