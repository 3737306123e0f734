//! Running out of memory, said in one line: what was being done and what the
//! configuration needs, instead of libtorch's `std::bad_alloc`.

use crate::config::Config;

/// Bytes a training step holds for the weights, their gradients and AdamW's two
/// moments (fp32 each: 16 bytes per parameter), and an estimate of the activations
/// kept for the backward pass: per token and layer, about 9 hidden-wide and 2
/// feed-forward-wide fp32 vectors (inputs of the projections, LayerNorms, GELU).
/// A rough figure for advice, not an allocator's count.
pub fn training_bytes(config: &Config, parameters: u64) -> Option<(u64, u64)> {
    let dims = config.dims().ok()?;
    let tokens = (config.train.batch_size * config.data.max_seq_len) as u64;
    let per_token_layer = (9 * dims.hidden + 2 * dims.intermediate) as u64 * 4;
    Some((
        16 * parameters,
        tokens * dims.layers as u64 * per_token_layer,
    ))
}

/// Whether a libtorch failure is an allocation that failed (CPU or CUDA).
pub fn is_out_of_memory(message: &str) -> bool {
    [
        "bad_alloc",
        "can't allocate memory",
        "out of memory",
        "OutOfMemory",
    ]
    .iter()
    .any(|s| message.contains(s))
}

/// One line for an out-of-memory failure `while` doing something, with the
/// configuration's estimated need and what to lower; None when `message` is another
/// failure.
pub fn explain(message: &str, doing: &str, config: &Config, parameters: u64) -> Option<String> {
    if !is_out_of_memory(message) {
        return None;
    }
    let gb = |b: u64| b as f64 / 1e9;
    let need = match training_bytes(config, parameters) {
        Some((state, activations)) => format!(
            "; model {} needs about {:.1} GB to train: {:.1} GB for weights, gradients and AdamW state, about {:.1} GB of activations at batch {} x {} tokens",
            config.model.preset,
            gb(state + activations),
            gb(state),
            gb(activations),
            config.train.batch_size,
            config.data.max_seq_len
        ),
        None => String::new(),
    };
    Some(format!(
        "out of memory while {doing}{need}; lower train.batch_size or data.max_seq_len, or choose a smaller preset"
    ))
}

/// The first line of a panic's payload (a `&str` or a `String`; anything else is named
/// so): libtorch's messages go on with its C++ stack.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into());
    text.lines().next().unwrap_or_default().to_string()
}

/// The trainer thread's name: its panics are caught and reported as its error line.
pub const TRAINER_THREAD: &str = "bertwork-trainer";

/// Whether a panic on the calling thread is caught and reported as an error line (the
/// trainer's), so panic hooks should neither print it nor tear the terminal down.
pub fn panic_is_reported_here() -> bool {
    std::thread::current().name() == Some(TRAINER_THREAD)
}

/// Keeps Rust's panic message off stderr for the trainer thread, whose panics become
/// one `error:` line, and for failed allocations anywhere (`main` reports those in one
/// line); every other panic prints as before.
pub fn quiet_reported_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !panic_is_reported_here() && !is_out_of_memory(&panic_text(info.payload())) {
            previous(info);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtorch_allocation_failures_become_one_line_with_the_need() {
        let mut config = Config::default();
        config.model.preset = crate::config::Preset::Large;
        let params = 335_000_000;
        let line = explain(
            "called `Result::unwrap()` on an `Err` value: Torch(\"std::bad_alloc\")",
            "building the model",
            &config,
            params,
        )
        .unwrap();
        assert!(
            line.starts_with("out of memory while building the model; model large needs about"),
            "{line}"
        );
        assert!(line.contains("5.4 GB for weights"), "{line}");
        assert!(!line.contains('\n'));
        let cuda = "CUDA out of memory. Tried to allocate 2.00 GiB";
        assert!(explain(cuda, "training", &config, params).is_some());
        let cpu = "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to allocate 1000 bytes";
        assert!(explain(cpu, "training", &config, params).is_some());
        assert!(explain("index out of range in self", "training", &config, params).is_none());
    }
}
