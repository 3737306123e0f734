//! DistributedDataParallel's gradient averaging overlapped with backward: libtorch's
//! c10d `Reducer`, reached through `csrc/distributed_shim.cpp`. It hooks every
//! parameter's gradient accumulator; once armed for a backward
//! ([`Reducer::prepare`]), each bucket (25 MiB, the first 1 MiB, as DDP) is
//! all-reduced as soon as its gradients are ready, while backward goes on, and the
//! averages are written to `.grad` when backward ends.

use std::ffi::c_void;

use anyhow::Result;
use tch::Tensor;

use super::process_group::{call, ProcessGroup, BUCKET_BYTES};
use crate::ffi::{
    bertwork_dist_reducer_free, bertwork_dist_reducer_new, bertwork_dist_reducer_prepare,
};

/// The environment variable that turns overlap on (`BERTWORK_DDP_OVERLAP=1`). Off by
/// default: on 2 CPU cores Gloo's threads compete with backward for the cores, and
/// overlap measured 0.94x at mini (1.03x at tiny, paired medians;
/// `bench/distributed.py --overlap-ab`), and on CUDA it would rely on Gloo's own CUDA
/// path, which is untested. Off, the gradients are averaged after backward, bucketed,
/// all buckets in flight together.
pub const OVERLAP_VAR: &str = "BERTWORK_DDP_OVERLAP";

/// Whether gradient averaging overlaps backward (see [`OVERLAP_VAR`]).
pub fn overlap_enabled() -> bool {
    std::env::var(OVERLAP_VAR).is_ok_and(|v| v == "1")
}

pub struct Reducer {
    handle: *mut c_void,
}

// SAFETY: owned and used by the trainer thread only; it moves there, it is never
// shared.
unsafe impl Send for Reducer {}

impl Reducer {
    /// A Reducer over `params`, each of which must receive a gradient in every
    /// backward it is armed for (parameters that never do, such as the NSP head with
    /// NSP off, must be left out).
    pub fn new(group: &ProcessGroup, params: &[&Tensor]) -> Result<Self> {
        let ptrs: Vec<_> = params.iter().map(|t| t.as_ptr() as *mut _).collect();
        let mut handle = std::ptr::null_mut();
        call("building DDP's reducer", |err, len| unsafe {
            bertwork_dist_reducer_new(
                group.raw(),
                ptrs.as_ptr(),
                ptrs.len() as i64,
                BUCKET_BYTES,
                &mut handle,
                err,
                len,
            )
        })?;
        Ok(Self { handle })
    }

    /// Arms the next backward (of `loss`) to average the gradients as it goes; a
    /// backward that is not armed accumulates locally (DDP's `no_sync`).
    pub fn prepare(&self, loss: &Tensor) -> Result<()> {
        call("arming DDP's reducer", |err, len| unsafe {
            bertwork_dist_reducer_prepare(self.handle, loss.as_ptr() as *mut _, err, len)
        })
    }
}

impl Drop for Reducer {
    fn drop(&mut self) {
        // SAFETY: `handle` came from bertwork_dist_reducer_new and is dropped once.
        unsafe { bertwork_dist_reducer_free(self.handle) }
    }
}
