//! Model FLOPs utilisation: the matmul work a training step must do against the
//! matmul rate this machine reaches in the same process and precision.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use crate::config::ModelDims;
use crate::device::Autocast;
use crate::train::step::DeviceBatch;

/// Side of the square matmul that measures the peak (large enough for every kernel
/// to run at its best; 17 GFLOP a call).
const PEAK_SIDE: i64 = 2048;

/// The matmul FLOPs of one training step (forward + backward = 3 x forward, the usual
/// 6·N·tokens accounting of Kaplan et al. 2020, extended with attention's two batched
/// matmuls and counting the head on masked rows only, as bertwork computes it):
///
/// - per layer and encoder row: QKV, output, and the two feed-forward projections,
///   2·H·(3H + H + 2I);
/// - per layer and sequence: QKᵀ and PV, 2·2·S²·H (padding positions included, as the
///   kernels compute them);
/// - per masked row: the head's transform and decoder, 2·H·(H + V);
/// - per sequence: pooler and NSP classifier, 2·H·(H + 2).
///
/// Embedding lookups, LayerNorm, GELU and softmax are not matmuls and count zero.
pub fn train_flops(dims: &ModelDims, vocab: usize, batch: &DeviceBatch, seq: usize) -> f64 {
    let (h, i) = (dims.hidden as f64, dims.intermediate as f64);
    let rows = if batch.layout.is_unpadded() {
        batch.real_tokens
    } else {
        batch.rows * seq
    } as f64;
    let sequences = batch.rows as f64;
    let s = seq as f64;
    let per_layer = rows * 2.0 * h * (4.0 * h + 2.0 * i) + sequences * 4.0 * s * s * h;
    let head = batch.masked as f64 * 2.0 * h * (h + vocab as f64);
    let pooler = sequences * 2.0 * h * (h + 2.0);
    3.0 * (dims.layers as f64 * per_layer + head + pooler)
}

/// The element type the step's matmuls run in under `mixed`.
pub fn matmul_kind(mixed: Autocast) -> Kind {
    match mixed {
        Autocast::Off => Kind::Float,
        Autocast::Cuda | Autocast::CpuBf16 => Kind::BFloat16,
    }
}

/// FLOP/s of a `PEAK_SIDE`³ matmul of `kind` on `device` with the current threads:
/// the median of 7 timed calls after 2 warm-up calls.
pub fn matmul_peak(kind: Kind, device: Device) -> f64 {
    let _guard = tch::no_grad_guard();
    let a = Tensor::randn([PEAK_SIDE, PEAK_SIDE], (Kind::Float, device)).to_kind(kind);
    let b = Tensor::randn([PEAK_SIDE, PEAK_SIDE], (Kind::Float, device)).to_kind(kind);
    let sync = || {
        if let Device::Cuda(n) = device {
            tch::Cuda::synchronize(n as i64);
        }
    };
    let mut times: Vec<f64> = (0..9)
        .map(|_| {
            let start = Instant::now();
            let _ = a.mm(&b);
            sync();
            start.elapsed().as_secs_f64()
        })
        .skip(2)
        .collect();
    2.0 * (PEAK_SIDE as f64).powi(3) / crate::stats::median(&mut times)
}
