//! The trainer's side of data-parallel training (torch.distributed, see
//! `crate::distributed`): sharing rank 0's run and weights at the start, global
//! metrics and gradient averaging in each step, and one agreed decision between steps
//! (go on, stop, wait while paused) carrying rank 0's config changes.
//!
//! Every collective here is called by every rank at the same point of the loop; a
//! failed one becomes an error naming the rank that caused it.

use std::time::Duration;

use anyhow::{Context, Result};
use tch::Tensor;

use super::super::checkpoint::CheckpointState;
use super::super::metrics::Totals;
use super::{Flow, Trainer};
use crate::data::prefetch::Shard;
use crate::train::run_spec::{RunSpec, SESSION_FILES};

/// How often a paused rank 0 tells the other ranks that it is still there.
pub(super) const KEEPALIVE: Duration = Duration::from_secs(1);

impl Trainer {
    /// This rank's share of each global batch.
    pub(super) fn shard(&self) -> Shard {
        self.dp.as_ref().map_or(Shard::WHOLE, |dp| Shard {
            rank: dp.rank(),
            world_size: dp.world_size(),
        })
    }

    /// Ranks in the run (1 without torch.distributed).
    pub(super) fn world_size(&self) -> usize {
        self.dp.as_ref().map_or(1, |dp| dp.world_size())
    }

    /// Whether this process owns the session (rank 0, or the only process).
    pub(super) fn owns_session(&self) -> bool {
        self.dp.as_ref().is_none_or(|dp| dp.is_leader())
    }

    /// A collective's error, with the rank that caused it.
    fn dist_error(&self, e: anyhow::Error) -> anyhow::Error {
        match &self.dp {
            Some(dp) => dp.failure(e, self.step + 1),
            None => e,
        }
    }

    /// At the start: rank 0 sends the run to the other ranks, which take its position
    /// (`resumed` on rank 0); then every rank takes rank 0's weights and AdamW moments,
    /// as DistributedDataParallel does at construction.
    pub(super) fn share_start(&mut self, resumed: &mut Option<CheckpointState>) -> Result<()> {
        let Some(dp) = &mut self.dp else {
            return Ok(());
        };
        if dp.is_leader() {
            let files = SESSION_FILES
                .iter()
                .filter(|f| self.session.path(f).exists())
                .map(|f| f.to_string())
                .collect();
            let spec = RunSpec {
                session: self.session.name.clone(),
                config: self.config.clone(),
                files,
                resume: resumed.clone(),
                interactive: self.interactive,
            };
            spec.publish(&dp.group, &self.session.dir)
                .map_err(|e| dp.failure(e, 0))?;
            self.config_sent = serde_json::to_string(&self.config)?;
        } else {
            self.config_sent = serde_json::to_string(&self.config)?;
        }
        let mut tensors: Vec<Tensor> = Vec::new();
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tensors.extend(vars.into_iter().map(|(_, t)| t));
        tensors.extend(self.opt.moments().into_iter().map(|t| t.shallow_clone()));
        let refs: Vec<&Tensor> = tensors.iter().collect();
        let dp = self.dp.as_ref().expect("checked above");
        dp.group
            .broadcast("sharing rank 0's weights", &refs, 0)
            .map_err(|e| dp.failure(e, 0))?;
        if let Some(state) = resumed.as_ref() {
            self.opt.steps = state.step;
        }
        if crate::distributed::reducer::overlap_enabled() {
            // Every parameter in the reducer must get a gradient in each backward: the
            // pooler and the NSP head get none with NSP off.
            let nsp = self.config.model.nsp;
            let params: Vec<&Tensor> = self
                .opt
                .named_variables()
                .into_iter()
                .filter(|(name, _)| {
                    nsp || !(name.contains("pooler") || name.contains("seq_relationship"))
                })
                .map(|(_, t)| t)
                .collect();
            let reducer = crate::distributed::Reducer::new(&dp.group, &params)
                .map_err(|e| dp.failure(e, 0))?;
            self.reducer = Some(reducer);
        }
        Ok(())
    }

    /// Backward of `loss`; `sync`: the last micro-batch of a step, whose backward the
    /// reducer (when there is one) arms to average the gradients as it goes.
    pub(super) fn backward(&self, loss: &Tensor, sync: bool) -> Result<()> {
        if self.dp.is_none() {
            loss.backward();
            return Ok(());
        }
        if let (Some(reducer), true) = (&self.reducer, sync) {
            reducer.prepare(loss).map_err(|e| self.dist_error(e))?;
        }
        // A peer lost during the overlapped all-reduce surfaces here.
        loss.f_backward()
            .map_err(|e| self.dist_error(anyhow::anyhow!("averaging the gradients: {e}")))
    }

    /// `local` summed over the ranks, plus whether any rank's loss was not finite.
    pub(super) fn global_totals(&self, local: &Totals) -> Result<Totals> {
        let Some(dp) = &self.dp else {
            return Ok(local.clone());
        };
        let v = [
            local.mlm_loss_sum,
            local.mlm_correct as f64,
            local.masked as f64,
            local.nsp_loss_sum,
            local.nsp_correct as f64,
            local.rows as f64,
            local.tokens as f64,
        ];
        let g = dp
            .group
            .sum_f64("summing the losses over the ranks", &v)
            .map_err(|e| self.dist_error(e))?;
        Ok(Totals {
            mlm_loss_sum: g[0],
            mlm_correct: g[1] as i64,
            masked: g[2] as i64,
            nsp_loss_sum: g[3],
            nsp_correct: g[4] as i64,
            rows: g[5] as i64,
            tokens: g[6] as u64,
        })
    }

    /// Averages the gradients over the ranks, unless the reducer did during backward
    /// (`synced`), and records this rank's progress.
    pub(super) fn average_gradients(&self, synced: bool) -> Result<()> {
        let Some(dp) = &self.dp else {
            return Ok(());
        };
        if !synced {
            let vars = self.opt.variables();
            dp.group
                .average_gradients(&vars)
                .map_err(|e| self.dist_error(e))?;
        }
        dp.heartbeat(self.step + 1).map_err(|e| self.dist_error(e))
    }

    /// Each rank's tokens/s over the interval (index = rank), from `local`; checks on
    /// the way that every rank holds the same weights (they must be bit-identical:
    /// the averaged gradients and the update are the same everywhere), so that a
    /// setting that failed to reach a rank cannot go unnoticed.
    ///
    /// Errors: a failed collective, or ranks whose weights differ.
    pub(super) fn rank_throughput(&self, local: f64) -> Result<Vec<f64>> {
        let Some(dp) = &self.dp else {
            return Ok(Vec::new());
        };
        let n = dp.world_size();
        let mut v = vec![0.0; 2 * n];
        v[dp.rank()] = local;
        v[n + dp.rank()] = self.weights_checksum();
        let v = dp
            .group
            .sum_f64("gathering each rank's throughput", &v)
            .map_err(|e| self.dist_error(e))?;
        let sums = &v[n..];
        // Summation order may differ between ranks (thread counts), not the values.
        let tolerance = 1e-9 * sums[0].abs().max(1.0);
        if let Some(r) = (1..n).find(|&r| (sums[r] - sums[0]).abs() > tolerance) {
            anyhow::bail!(
                "the weights of rank {r} differ from rank 0's at step {} (sum of squares {} vs {}): the ranks no longer train one model; stopped without saving this step",
                self.step,
                sums[r],
                sums[0]
            );
        }
        Ok(v[..n].to_vec())
    }

    /// The sum of squares of every weight, in f64.
    fn weights_checksum(&self) -> f64 {
        let _guard = tch::no_grad_guard();
        self.opt
            .variables()
            .iter()
            .map(|t| {
                t.to_kind(tch::Kind::Double)
                    .square()
                    .sum(tch::Kind::Double)
                    .double_value(&[])
            })
            .sum()
    }

    /// One decision for every rank: rank 0's `flow` (go on, stop, or wait while
    /// paused), with its config when that changed. Other ranks' own `flow` is ignored.
    pub(super) fn agree(&mut self, flow: Flow) -> Result<Flow> {
        let Some(dp) = &self.dp else {
            return Ok(flow);
        };
        let mut code = Tensor::from_slice(&[0i64, 0]);
        if dp.is_leader() {
            let json = serde_json::to_string(&self.config)?;
            if json != self.config_sent {
                self.config_version += 1;
                dp.group
                    .store_set(&format!("config/{}", self.config_version), json.as_bytes())
                    .map_err(|e| self.dist_error(e))?;
                self.config_sent = json;
            }
            let f = match flow {
                Flow::Continue => 0,
                Flow::Stop => 1,
                Flow::Wait => 2,
            };
            code.copy_(&Tensor::from_slice(&[f, self.config_version as i64]));
        }
        let dp = self.dp.as_ref().expect("checked above");
        dp.group
            .broadcast("agreeing on the next step", &[&code], 0)
            .map_err(|e| self.dist_error(e))?;
        let v = Vec::<i64>::try_from(&code)?;
        if !dp.is_leader() && v[1] as u64 != self.config_version {
            let bytes = dp
                .group
                .store_get(&format!("config/{}", v[1]), dp.group.timeout)
                .map_err(|e| self.dist_error(e))?;
            self.config = serde_json::from_slice(&bytes)
                .context("rank 0 sent a config this rank cannot read")?;
            self.config_version = v[1] as u64;
        }
        Ok(match v[0] {
            1 => Flow::Stop,
            2 => Flow::Wait,
            _ => Flow::Continue,
        })
    }
}
