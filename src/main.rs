use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    bertwork::device::load_cuda();
    let cli = bertwork::cli::Cli::parse();
    match bertwork::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
