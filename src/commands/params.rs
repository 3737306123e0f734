//! `bertwork params`: the parameter count of a model size.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;

use super::options::ConfigArgs;
use crate::format::group_thousands;

#[derive(Debug, Args)]
pub struct ParamsArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Vocabulary size.
    #[arg(long, default_value_t = 8192)]
    pub vocab: usize,
}

pub fn exec(args: &ParamsArgs) -> Result<ExitCode> {
    let config = args.config.resolve(&[])?;
    if args.vocab < 10 {
        bail!("--vocab must be at least 10");
    }
    let dims = config.dims()?;
    let model = crate::model::BertConfig::new(args.vocab, dims, &config.model);
    println!("{}", group_thousands(model.parameter_count()));
    Ok(ExitCode::SUCCESS)
}
