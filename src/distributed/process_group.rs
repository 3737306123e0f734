//! A torch.distributed process group from libtorch's c10d: a `TCPStore` rendezvous
//! under a `PrefixStore`, and `ProcessGroupGloo` for the collectives, reached through
//! `csrc/distributed_shim.cpp` because tch does not bind c10d.

use std::ffi::{c_char, c_void, CString};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use tch::{Kind, Tensor};

use super::rendezvous::Rendezvous;
use crate::ffi::{
    bertwork_dist_all_reduce, bertwork_dist_broadcast, bertwork_dist_close, bertwork_dist_free,
    bertwork_dist_open, bertwork_dist_store_get, bertwork_dist_store_set,
};

/// Gradient bucket size: DDP's default `bucket_cap_mb` (25 MiB).
pub const BUCKET_BYTES: i64 = 25 << 20;

/// One process's membership of the group; collectives must be called by every rank
/// in the same order.
pub struct ProcessGroup {
    handle: *mut c_void,
    /// This process's rank, 0-based.
    pub rank: usize,
    /// Processes in the group.
    pub world_size: usize,
    /// How long a collective or store wait may take before it fails.
    pub timeout: Duration,
}

// SAFETY: the c10d objects behind `handle` are thread-safe for calls from one thread
// at a time, which `&mut self` / ownership by the trainer thread guarantees; the handle
// only moves between threads, it is never shared.
unsafe impl Send for ProcessGroup {}

/// Runs a shim call; a failure becomes `what` plus c10d's message (which names the
/// peer or the timeout, so no "failed in libtorch" in between).
pub(super) fn call(what: &str, f: impl FnOnce(*mut c_char, usize) -> i32) -> Result<()> {
    crate::ffi::message_of(f).map_err(|message| anyhow!("{what}: {message}"))
}

fn handles(tensors: &[&Tensor]) -> Vec<*mut torch_sys::C_tensor> {
    tensors.iter().map(|t| t.as_ptr() as *mut _).collect()
}

impl ProcessGroup {
    /// Rendezvous with the other ranks and builds the Gloo process group.
    ///
    /// c10d bounds its connection attempts and collectives by `timeout`, but not every
    /// wait inside the rendezvous: a store port held by a program that accepts and never
    /// answers blocks the client forever, and a blocked call cannot see signals. So the
    /// rendezvous runs on a thread of its own while this one waits for it, for a
    /// termination signal, or for `timeout` plus a little, whichever comes first; a
    /// rendezvous still blocked then is left behind, as the process is about to exit.
    ///
    /// Errors: the store cannot be reached or served (a port in use, a wrong address),
    /// nothing answered within `timeout`, or another rank did not join within
    /// `timeout`; [`crate::signals::Stopped`] when SIGINT, SIGTERM or SIGHUP came first.
    pub fn connect(rdv: &Rendezvous, timeout: Duration) -> Result<Self> {
        let host = CString::new(rdv.master_addr.clone()).context("MASTER_ADDR holds a NUL")?;
        let prefix = CString::new(format!("bertwork/{}/", rdv.restart_count))?;
        let loopback = rdv.is_loopback();
        let timeout_ms = timeout.as_millis().min(i64::MAX as u128) as i64;
        let (rank, world, port, agent_store) = (
            rdv.rank as i32,
            rdv.world_size as i32,
            rdv.master_port,
            rdv.agent_store as i32,
        );
        let what = format!(
            "rank {} of {} could not join the process group at {}:{} within {:.0} s",
            rdv.rank,
            rdv.world_size,
            crate::terminal_text::escape_lines(&rdv.master_addr),
            rdv.master_port,
            timeout.as_secs_f64()
        );
        let advice = "start every rank: torchrun starts them all; or unset WORLD_SIZE to train in one process";
        let signals = crate::signals::listen()?;
        let (tx, rx) = crossbeam_channel::bounded(1);
        let failed = format!("{what} ({advice})");
        std::thread::Builder::new()
            .name("bertwork-rendezvous".into())
            .spawn(move || {
                let mut handle = std::ptr::null_mut();
                let outcome = call(&failed, |err, len| unsafe {
                    bertwork_dist_open(
                        host.as_ptr(),
                        port,
                        rank,
                        world,
                        agent_store,
                        prefix.as_ptr(),
                        loopback as i32,
                        timeout_ms,
                        &mut handle,
                        err,
                        len,
                    )
                });
                // The handle travels as an address: the receiver owns it from here.
                let _ = tx.send(outcome.map(|()| handle as usize));
            })
            .context("cannot start the rendezvous thread")?;
        // c10d's own timeout, when it fires, says more than ours: give it a head start.
        let deadline = timeout + Duration::from_secs(2);
        crossbeam_channel::select! {
            recv(rx) -> outcome => {
                let handle = outcome.map_err(|_| anyhow!("the rendezvous thread ended without an answer"))??;
                Ok(Self {
                    handle: handle as *mut c_void,
                    rank: rdv.rank,
                    world_size: rdv.world_size,
                    timeout,
                })
            }
            recv(signals) -> signal => {
                let signal = signal.unwrap_or(libc::SIGTERM);
                Err(anyhow::Error::new(crate::signals::Stopped {
                    signal,
                    message: format!(
                        "rank {} stopped by {} while waiting to join the process group at {}:{}; nothing was trained",
                        rdv.rank,
                        crate::signals::name(signal),
                        crate::terminal_text::escape_lines(&rdv.master_addr),
                        rdv.master_port,
                    ),
                }))
            }
            default(deadline) => bail!(
                "{what}: nothing answered at that address (is MASTER_PORT another program's port? {advice}, or raise {})",
                super::rendezvous::TIMEOUT_VAR
            ),
        }
    }

    /// Sums `tensors` over the ranks in place (buckets of [`BUCKET_BYTES`]), then
    /// divides by `divisor` (the world size for an average).
    pub fn all_reduce(&self, what: &str, tensors: &[&Tensor], divisor: f64) -> Result<()> {
        let ptrs = handles(tensors);
        call(what, |err, len| unsafe {
            bertwork_dist_all_reduce(
                self.handle,
                ptrs.as_ptr(),
                ptrs.len() as i64,
                BUCKET_BYTES,
                divisor,
                err,
                len,
            )
        })
    }

    /// Averages the defined gradients of `params` over the ranks (sum / world size),
    /// in buckets of [`BUCKET_BYTES`] that are all in flight at once. Every rank must
    /// hold gradients for the same parameters.
    pub fn average_gradients(&self, params: &[&Tensor]) -> Result<()> {
        let grads: Vec<Tensor> = params
            .iter()
            .map(|p| p.grad())
            .filter(|g| g.defined())
            .collect();
        let refs: Vec<&Tensor> = grads.iter().collect();
        self.all_reduce("averaging the gradients", &refs, self.world_size as f64)
    }

    /// Sums `values` over the ranks (in f64), returning the totals.
    pub fn sum_f64(&self, what: &str, values: &[f64]) -> Result<Vec<f64>> {
        let t = Tensor::from_slice(values).to_kind(Kind::Double);
        self.all_reduce(what, &[&t], 1.0)?;
        Ok(Vec::<f64>::try_from(&t)?)
    }

    /// Overwrites `tensors` on every rank with rank `root`'s values.
    pub fn broadcast(&self, what: &str, tensors: &[&Tensor], root: usize) -> Result<()> {
        let ptrs = handles(tensors);
        call(what, |err, len| unsafe {
            bertwork_dist_broadcast(
                self.handle,
                ptrs.as_ptr(),
                ptrs.len() as i64,
                root as i32,
                BUCKET_BYTES,
                err,
                len,
            )
        })
    }

    /// The shim's handle, for the Reducer.
    pub(super) fn raw(&self) -> *mut c_void {
        self.handle
    }

    /// Sets `key` in the group's store.
    pub fn store_set(&self, key: &str, value: &[u8]) -> Result<()> {
        let k = CString::new(key)?;
        call(
            &format!("writing `{key}` to the store"),
            |err, len| unsafe {
                bertwork_dist_store_set(
                    self.handle,
                    k.as_ptr(),
                    value.as_ptr(),
                    value.len(),
                    err,
                    len,
                )
            },
        )
    }

    /// Waits up to `timeout` for `key` in the group's store and returns its value.
    pub fn store_get(&self, key: &str, timeout: Duration) -> Result<Vec<u8>> {
        let k = CString::new(key)?;
        let mut out: *mut u8 = std::ptr::null_mut();
        let mut out_len = 0usize;
        let ms = timeout.as_millis().min(i64::MAX as u128) as i64;
        call(
            &format!("reading `{key}` from the store"),
            |err, len| unsafe {
                bertwork_dist_store_get(
                    self.handle,
                    k.as_ptr(),
                    ms,
                    &mut out,
                    &mut out_len,
                    err,
                    len,
                )
            },
        )?;
        // SAFETY: on success the shim returns a malloc'd buffer of `out_len` bytes.
        let bytes = unsafe { std::slice::from_raw_parts(out, out_len) }.to_vec();
        unsafe { bertwork_dist_free(out) };
        Ok(bytes)
    }

    /// Checks that collectives compute what they should: every rank contributes
    /// `rank + 1` and must see `world (world + 1) / 2`. Guards against a mismatch
    /// between the Gloo headers bertwork compiled against and the Gloo inside libtorch.
    pub fn self_check(&self) -> Result<()> {
        let n = self.world_size as f64;
        let got = self.sum_f64("the start-up all-reduce", &[self.rank as f64 + 1.0; 4])?;
        let want = n * (n + 1.0) / 2.0;
        if got.iter().any(|&g| g != want) {
            bail!("the start-up all-reduce gave {got:?} instead of {want} everywhere: the Gloo headers do not match libtorch's Gloo (run `make setup` again)");
        }
        Ok(())
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        // SAFETY: `handle` came from bertwork_dist_open and is dropped once.
        unsafe { bertwork_dist_close(self.handle) }
    }
}
