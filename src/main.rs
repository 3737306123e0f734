use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    bertwork::device::load_cuda();
    let cli = bertwork::cli::Cli::parse();
    match bertwork::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // A message may quote a user's file: never send its control characters raw.
            let message = format!("{e:#}");
            eprintln!("error: {}", bertwork::terminal_text::escape_lines(&message));
            ExitCode::FAILURE
        }
    }
}
