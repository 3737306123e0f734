//! `bertwork export NAME --hf DIR`: a session's model as a HuggingFace folder.

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

pub fn exec(args: &ExportArgs) -> Result<ExitCode> {
    let session = Session::open(&args.name)?;
    if crate::finetune::FinetuneState::read(&session)?.is_some() {
        crate::finetune::export(&session, &args.hf)?;
        println!(
            "exported classifier `{}` to {} (load it with BertForSequenceClassification.from_pretrained, or pipeline(\"text-classification\", model=...))",
            session.name,
            args.hf.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    crate::hf::export(&session, &args.hf)?;
    println!(
        "exported `{}` to {} (load it with BertForPreTraining.from_pretrained and BertTokenizerFast.from_pretrained)",
        session.name,
        args.hf.display()
    );
    Ok(ExitCode::SUCCESS)
}
