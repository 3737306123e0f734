//! `bertwork bench`: training throughput, probe latency and the workbench's cost.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::options::ConfigArgs;
use crate::bench::BenchOptions;

#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub options: BenchOptions,
}

pub fn exec(args: &BenchArgs) -> Result<ExitCode> {
    crate::bench::run(args.config.resolve(&[])?, &args.options)
}
