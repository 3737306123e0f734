//! `bertwork bench --profile TRACE`: where a training step's time goes. The timed
//! steps run under libtorch's profiler (Kineto, CPU ops; `csrc/profiler_shim.cpp`),
//! whose Chrome trace is written to TRACE; every op's self time (its duration less
//! that of the ops it called) is summed into categories, and each step's phases
//! (forward with the losses, backward, optimizer) are timed on the wall clock.

use std::collections::HashMap;
use std::ffi::CString;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::ffi::{bertwork_profiler_start, bertwork_profiler_stop};

/// Starts libtorch's profiler on CPU ops.
///
/// Errors: libtorch's (e.g. a profiler already running).
pub fn start() -> Result<()> {
    // Kineto logs an error line when it finds no CUDA driver, even for a CPU-only
    // profile; level 5 keeps it quiet unless the user chose a level.
    if std::env::var_os("KINETO_LOG_LEVEL").is_none() {
        // SAFETY: set before the profiler starts; no other thread reads the environment.
        unsafe { std::env::set_var("KINETO_LOG_LEVEL", "5") };
    }
    // SAFETY: plain call with an error buffer.
    crate::ffi::call("starting the profiler", |err, len| unsafe {
        bertwork_profiler_start(err, len)
    })
}

/// Stops the profiler and writes its Chrome trace to `path`.
///
/// Errors: a path that is not UTF-8 without NUL, libtorch's (e.g. not writable).
pub fn stop(path: &Path) -> Result<()> {
    let c = CString::new(path.to_str().context("the trace path is not UTF-8")?)?;
    // SAFETY: `c` is a NUL-terminated path that outlives the call.
    crate::ffi::call("writing the profile", |err, len| unsafe {
        bertwork_profiler_stop(c.as_ptr(), err, len)
    })
}

#[derive(Debug, Deserialize)]
struct Trace {
    #[serde(rename = "traceEvents")]
    events: Vec<TraceEvent>,
}

#[derive(Debug, Deserialize)]
struct TraceEvent {
    #[serde(default)]
    ph: String,
    #[serde(default)]
    cat: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    tid: serde_json::Value,
    #[serde(default)]
    ts: f64,
    #[serde(default)]
    dur: f64,
}

/// One op's self time over the profiled steps.
#[derive(Debug, Clone, Serialize)]
pub struct OpTime {
    pub name: String,
    pub category: &'static str,
    /// Self time per step, milliseconds.
    pub ms_per_step: f64,
    pub calls_per_step: f64,
}

/// Self time of every CPU op in a Chrome trace, per step (`steps` profiled steps),
/// largest first.
///
/// Errors: a file that cannot be read or is not a Chrome trace.
pub fn op_times(trace: &Path, steps: usize) -> Result<Vec<OpTime>> {
    let text = std::fs::read_to_string(trace)
        .with_context(|| format!("cannot read the trace {}", trace.display()))?;
    let trace: Trace = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Chrome trace", trace.display()))?;
    let mut by_thread: HashMap<String, Vec<&TraceEvent>> = HashMap::new();
    for e in trace
        .events
        .iter()
        .filter(|e| e.ph == "X" && e.cat == "cpu_op")
    {
        by_thread.entry(e.tid.to_string()).or_default().push(e);
    }
    let mut totals: HashMap<&str, (f64, usize)> = HashMap::new();
    for events in by_thread.values_mut() {
        events.sort_by(|a, b| a.ts.total_cmp(&b.ts).then(b.dur.total_cmp(&a.dur)));
        for (name, self_us) in self_times(events) {
            let t = totals.entry(name).or_default();
            t.0 += self_us;
            t.1 += 1;
        }
    }
    let per = steps.max(1) as f64;
    let mut out: Vec<OpTime> = totals
        .into_iter()
        .map(|(name, (us, calls))| OpTime {
            name: name.to_string(),
            category: category(name),
            ms_per_step: us / 1e3 / per,
            calls_per_step: calls as f64 / per,
        })
        .collect();
    out.sort_by(|a, b| b.ms_per_step.total_cmp(&a.ms_per_step));
    Ok(out)
}

/// (name, self time in µs) of each event of one thread, sorted by start (longest
/// first on ties): an event's children are the events that start inside it.
fn self_times<'a>(events: &[&'a TraceEvent]) -> Vec<(&'a str, f64)> {
    let mut out: Vec<(&str, f64)> = events.iter().map(|e| (e.name.as_str(), e.dur)).collect();
    // Indices of the open ancestors of the current event.
    let mut open: Vec<usize> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        while let Some(&top) = open.last() {
            if events[top].ts + events[top].dur <= e.ts {
                open.pop();
            } else {
                break;
            }
        }
        if let Some(&parent) = open.last() {
            out[parent].1 -= e.dur;
        }
        open.push(i);
    }
    out
}

/// The group an ATen op's self time counts towards.
pub fn category(op: &str) -> &'static str {
    let name = op.trim_start_matches("aten::");
    let is = |names: &[&str]| names.contains(&name);
    if op.starts_with("autograd::") || name.ends_with("Backward0") || name.ends_with("Backward1") {
        "autograd engine"
    } else if is(&[
        "mm", "addmm", "bmm", "baddbmm", "addmv", "mv", "matmul", "linear",
    ]) {
        "matmul"
    } else if name.contains("scaled_dot_product") {
        "attention (SDPA)"
    } else if name.contains("layer_norm") {
        "layer norm"
    } else if name.starts_with("gelu") {
        "GELU"
    } else if name.contains("softmax")
        || name.contains("nll_loss")
        || name.contains("cross_entropy")
    {
        "log-softmax / cross-entropy"
    } else if name.starts_with("_fused_adam")
        || name.starts_with("_foreach")
        || is(&["lerp_", "addcmul_", "addcdiv_", "sqrt"])
    {
        "optimizer"
    } else if name.starts_with("embedding") {
        "embedding"
    } else if is(&[
        "index_select",
        "index_select_backward",
        "index_add_",
        "index",
        "index_put_",
        "nonzero",
        "gather",
        "scatter",
        "scatter_add_",
        "masked_fill",
        "index_copy_",
        "index_copy",
    ]) {
        "gather / scatter"
    } else if is(&[
        "copy_",
        "clone",
        "contiguous",
        "cat",
        "_to_copy",
        "to",
        "stack",
        "reshape",
        "_unsafe_view",
    ]) {
        "copies"
    } else if is(&[
        "empty",
        "empty_like",
        "empty_strided",
        "zeros",
        "zeros_like",
        "ones_like",
        "full",
        "resize_",
    ]) {
        "allocation"
    } else if is(&[
        "view",
        "t",
        "transpose",
        "permute",
        "unbind",
        "select",
        "narrow",
        "slice",
        "as_strided",
        "expand",
        "flatten",
        "unsqueeze",
        "squeeze",
        "detach",
        "alias",
        "split",
        "unflatten",
        "_reshape_alias",
    ]) {
        "views"
    } else if is(&["item", "_local_scalar_dense"]) {
        "host reads"
    } else {
        "other elementwise / reductions"
    }
}

/// Sums `ops` by category, largest first: (category, ms per step).
pub fn by_category(ops: &[OpTime]) -> Vec<(&'static str, f64)> {
    let mut sums: HashMap<&'static str, f64> = HashMap::new();
    for op in ops {
        *sums.entry(op.category).or_default() += op.ms_per_step;
    }
    let mut out: Vec<_> = sums.into_iter().collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, ts: f64, dur: f64) -> TraceEvent {
        TraceEvent {
            ph: "X".into(),
            cat: "cpu_op".into(),
            name: name.into(),
            tid: serde_json::json!(1),
            ts,
            dur,
        }
    }

    #[test]
    fn self_time_excludes_the_children() {
        // linear [0, 10) calls addmm [1, 8), which calls copy_ [2, 3); then gelu [10, 12).
        let events = [
            event("aten::linear", 0.0, 10.0),
            event("aten::addmm", 1.0, 7.0),
            event("aten::copy_", 2.0, 1.0),
            event("aten::gelu", 10.0, 2.0),
        ];
        let refs: Vec<&TraceEvent> = events.iter().collect();
        let got = self_times(&refs);
        assert_eq!(
            got,
            [
                ("aten::linear", 3.0),
                ("aten::addmm", 6.0),
                ("aten::copy_", 1.0),
                ("aten::gelu", 2.0)
            ]
        );
        let total: f64 = got.iter().map(|g| g.1).sum();
        assert_eq!(total, 12.0, "self times add up to the top-level durations");
    }

    #[test]
    fn ops_fall_into_their_categories() {
        assert_eq!(category("aten::addmm"), "matmul");
        assert_eq!(
            category("aten::_scaled_dot_product_flash_attention_for_cpu_backward"),
            "attention (SDPA)"
        );
        assert_eq!(category("aten::native_layer_norm_backward"), "layer norm");
        assert_eq!(category("aten::_fused_adamw_"), "optimizer");
        assert_eq!(
            category("autograd::engine::evaluate_function: AddmmBackward0"),
            "autograd engine"
        );
        assert_eq!(
            category("aten::_log_softmax_backward_data"),
            "log-softmax / cross-entropy"
        );
        assert_eq!(category("aten::embedding_dense_backward"), "embedding");
    }
}
