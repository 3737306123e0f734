//! libtorch's multi-tensor kernels for the optimizer, reached through
//! `csrc/optimizer_shim.cpp` because tch does not bind functions that take tensor
//! lists: `_fused_adamw_` (torch.optim.AdamW(fused=True)), `_foreach_norm`,
//! `_foreach_mul_`, and dropping gradients (`zero_grad(set_to_none=True)`).
//!
//! Each call covers every parameter at once instead of a handful of ATen calls, and
//! temporaries, per parameter. Parameters without a gradient are skipped.

use anyhow::Result;
use tch::Tensor;

use crate::ffi::{
    bertwork_drop_grads, bertwork_fused_adamw, bertwork_grad_norm, bertwork_scale_grads,
};

/// AdamW's hyperparameters for one group of parameters.
#[derive(Debug, Clone, Copy)]
pub struct AdamWStep {
    /// Step count including this step (1 for the first): the bias corrections use it.
    pub step: u64,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub weight_decay: f64,
    pub eps: f64,
}

fn handles(tensors: &[&Tensor]) -> Vec<*mut torch_sys::C_tensor> {
    tensors.iter().map(|t| t.as_ptr() as *mut _).collect()
}

/// One fused AdamW update of `params` (all in one weight-decay group) with their
/// first and second moments, in place.
///
/// Errors: libtorch's, e.g. parameters, gradients and moments of different dtypes or
/// devices.
pub fn fused_adamw(
    params: &[&Tensor],
    exp_avgs: &[&Tensor],
    exp_avg_sqs: &[&Tensor],
    h: AdamWStep,
) -> Result<()> {
    debug_assert!(params.len() == exp_avgs.len() && params.len() == exp_avg_sqs.len());
    let (p, m, v) = (handles(params), handles(exp_avgs), handles(exp_avg_sqs));
    crate::ffi::call("AdamW step", |err, len| unsafe {
        // SAFETY: the three arrays hold `params.len()` live tensor handles borrowed for
        // the duration of the call.
        bertwork_fused_adamw(
            p.as_ptr(),
            m.as_ptr(),
            v.as_ptr(),
            p.len() as i64,
            h.step as f64,
            h.lr,
            h.beta1,
            h.beta2,
            h.weight_decay,
            h.eps,
            err,
            len,
        )
    })
}

/// The 2-norm of all of `params`' gradients taken together (0 when none has one).
///
/// Errors: libtorch's.
pub fn grad_norm(params: &[&Tensor]) -> Result<f64> {
    let p = handles(params);
    let mut out = 0.0;
    // SAFETY: `p` holds live tensor handles; `out` outlives the call.
    crate::ffi::call("gradient norm", |err, len| unsafe {
        bertwork_grad_norm(p.as_ptr(), p.len() as i64, &mut out, err, len)
    })?;
    Ok(out)
}

/// Multiplies every gradient of `params` by `scale`, in place.
///
/// Errors: libtorch's.
pub fn scale_grads(params: &[&Tensor], scale: f64) -> Result<()> {
    let p = handles(params);
    // SAFETY: `p` holds live tensor handles.
    crate::ffi::call("gradient clipping", |err, len| unsafe {
        bertwork_scale_grads(p.as_ptr(), p.len() as i64, scale, err, len)
    })
}

/// Drops the gradients of `params`, so that the next backward pass writes new ones.
///
/// Errors: libtorch's.
pub fn drop_grads(params: &[&Tensor]) -> Result<()> {
    let p = handles(params);
    // SAFETY: `p` holds live tensor handles.
    crate::ffi::call("dropping gradients", |err, len| unsafe {
        bertwork_drop_grads(p.as_ptr(), p.len() as i64, err, len)
    })
}
