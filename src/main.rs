use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    bertwork::heap::bound_kernel_caches();
    bertwork::device::load_cuda();
    bertwork::device::quiet_libtorch_warnings();
    bertwork::train::memory::quiet_reported_panics();
    let cli = bertwork::commands::Cli::parse();
    if cli.tunes_heap() {
        bertwork::heap::keep_freed_pages();
    }
    if !cli.trains() {
        // Commands that only print (`sessions | head`, `probe ... | head`) end quietly
        // when their reader goes, as other Unix tools do, instead of panicking on the
        // broken pipe. Training keeps Rust's default (the write fails, training goes on
        // and saves), so a closed pipe cannot cost a checkpoint.
        // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    // A failed allocation inside one of tch's panicking calls (probe, fine-tune, export
    // of a model too large for memory) is one line too.
    let outcome = std::panic::catch_unwind(|| bertwork::commands::run(cli));
    let outcome = outcome.unwrap_or_else(|payload| {
        let text = bertwork::train::memory::panic_text(payload.as_ref());
        if bertwork::train::memory::is_out_of_memory(&text) {
            Err(anyhow::anyhow!(
                "out of memory ({text}); close other programs, or use a smaller model or batch"
            ))
        } else {
            std::panic::resume_unwind(payload)
        }
    });
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // A message may quote a user's file: never send its control characters raw.
            let message = format!("{e:#}");
            eprintln!("error: {}", bertwork::terminal_text::escape_lines(&message));
            match e.downcast_ref::<bertwork::signals::Stopped>() {
                Some(stopped) => ExitCode::from(bertwork::signals::exit_status(stopped.signal)),
                None => ExitCode::FAILURE,
            }
        }
    }
}
