//! AdamW (Loshchilov & Hutter) with decoupled weight decay, skipped for LayerNorm
//! weights and all biases, and global-norm gradient clipping. The moments live in
//! tensors owned here so that they can be saved and restored.

use anyhow::Result;
use tch::{nn::VarStore, Tensor};

use super::multi_tensor;

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.999;

struct Param {
    var: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    decay: bool,
}

/// Which tensor of a variable [`AdamW::first_non_finite`] found broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TensorPart {
    Weight,
    Gradient,
    /// One of AdamW's moment estimates (from the checkpoint's optimizer state).
    Moment,
}

/// A variable holding inf or NaN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonFiniteTensor {
    pub part: TensorPart,
    /// The variable's name (HF key).
    pub name: String,
    /// NaN among the values (else only ±inf).
    pub has_nan: bool,
}

/// Which kernels carry out the update, the norm, clipping and zeroing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// libtorch's multi-tensor kernels: one fused AdamW pass (`_fused_adamw_`) per
    /// weight-decay group, one `_foreach_norm`, one `_foreach_mul_`, and gradients
    /// dropped rather than zeroed (`src/train/multi_tensor.rs`). The default.
    MultiTensor,
    /// A handful of ATen calls per parameter, written out below: the formula's
    /// reference, and the baseline of `bertwork bench --without fused-adamw`.
    PerTensor,
}

pub struct AdamW {
    params: Vec<(String, Param)>,
    /// Optimizer steps taken (for bias correction).
    pub steps: u64,
    kernels: Kernels,
}

/// Whether weight decay applies to the variable of this name (HF convention).
pub fn decays(name: &str) -> bool {
    !(name.ends_with("bias") || name.contains("LayerNorm"))
}

impl AdamW {
    /// Zero moments for every trainable variable of `vs`, using the multi-tensor
    /// kernels.
    pub fn new(vs: &VarStore) -> Self {
        Self::with_kernels(vs, Kernels::MultiTensor)
    }

    pub fn with_kernels(vs: &VarStore, kernels: Kernels) -> Self {
        let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        let params = vars
            .into_iter()
            .filter(|(_, v)| v.requires_grad())
            .map(|(name, var)| {
                let param = Param {
                    exp_avg: var.zeros_like(),
                    exp_avg_sq: var.zeros_like(),
                    decay: decays(&name),
                    var,
                };
                (name, param)
            })
            .collect();
        Self {
            params,
            steps: 0,
            kernels,
        }
    }

    /// Switches kernels between steps (for lockstep A/B benchmarks); the moments and
    /// the step count carry over.
    pub fn set_kernels(&mut self, kernels: Kernels) {
        self.kernels = kernels;
    }

    fn vars(&self) -> Vec<&Tensor> {
        self.params.iter().map(|(_, p)| &p.var).collect()
    }

    /// The trainable variables, in name order (the ones whose gradients are averaged
    /// across data-parallel ranks).
    pub fn variables(&self) -> Vec<&Tensor> {
        self.vars()
    }

    /// The trainable variables with their names (HF keys), in name order.
    pub fn named_variables(&self) -> Vec<(&str, &Tensor)> {
        self.params
            .iter()
            .map(|(n, p)| (n.as_str(), &p.var))
            .collect()
    }

    /// Both moment estimates of every variable, in name order (`exp_avg` then
    /// `exp_avg_sq` for each), for sharing them across data-parallel ranks.
    pub fn moments(&self) -> Vec<&Tensor> {
        self.params
            .iter()
            .flat_map(|(_, p)| [&p.exp_avg, &p.exp_avg_sq])
            .collect()
    }

    /// Global L2 norm of all gradients (0 when there are none).
    ///
    /// Errors: libtorch's.
    pub fn grad_norm(&self) -> Result<f64> {
        if self.kernels == Kernels::MultiTensor {
            return multi_tensor::grad_norm(&self.vars());
        }
        let _guard = tch::no_grad_guard();
        let norms: Vec<Tensor> = self
            .params
            .iter()
            .map(|(_, p)| p.var.grad())
            .filter(|g| g.defined())
            .map(|g| g.norm().square())
            .collect();
        if norms.is_empty() {
            return Ok(0.0);
        }
        Ok(Tensor::stack(&norms, 0)
            .sum(tch::Kind::Float)
            .sqrt()
            .double_value(&[]))
    }

    /// The first variable (by name) whose weight, gradient or AdamW moment holds a
    /// non-finite value, in that order of search: where a non-finite loss or gradient
    /// norm came from.
    pub fn first_non_finite(&self) -> Option<NonFiniteTensor> {
        let _guard = tch::no_grad_guard();
        let bad = |t: &Tensor| t.defined() && !bool::try_from(t.isfinite().all()).unwrap_or(true);
        let find = |part: TensorPart, pick: &dyn Fn(&Param) -> Tensor| {
            self.params.iter().find_map(|(name, p)| {
                let t = pick(p);
                bad(&t).then(|| NonFiniteTensor {
                    part,
                    name: name.clone(),
                    has_nan: bool::try_from(t.isnan().any()).unwrap_or(false),
                })
            })
        };
        find(TensorPart::Weight, &|p| p.var.shallow_clone())
            .or_else(|| find(TensorPart::Gradient, &|p| p.var.grad()))
            .or_else(|| find(TensorPart::Moment, &|p| p.exp_avg.shallow_clone()))
            .or_else(|| find(TensorPart::Moment, &|p| p.exp_avg_sq.shallow_clone()))
    }

    /// Scales the gradients so that their global norm (`norm`, from
    /// [`AdamW::grad_norm`]) becomes `max_norm`, if it is above it (PyTorch's
    /// `clip_grad_norm_`, including its 1e-6). `max_norm` <= 0 turns clipping off.
    ///
    /// Errors: libtorch's.
    pub fn clip(&self, norm: f64, max_norm: f64) -> Result<()> {
        if max_norm <= 0.0 || norm <= max_norm {
            return Ok(());
        }
        let scale = max_norm / (norm + 1e-6);
        if self.kernels == Kernels::MultiTensor {
            return multi_tensor::scale_grads(&self.vars(), scale);
        }
        let _guard = tch::no_grad_guard();
        for (_, p) in &self.params {
            let mut g = p.var.grad();
            if g.defined() {
                let _ = g.g_mul_scalar_(scale);
            }
        }
        Ok(())
    }

    /// Clears the gradients before the next backward pass (drops them with the
    /// multi-tensor kernels, zeroes them otherwise).
    ///
    /// Errors: libtorch's.
    pub fn zero_grad(&self) -> Result<()> {
        if self.kernels == Kernels::MultiTensor {
            return multi_tensor::drop_grads(&self.vars());
        }
        for (_, p) in &self.params {
            let mut g = p.var.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
        Ok(())
    }

    /// One AdamW update of every variable with a gradient:
    /// `p -= lr * wd * p` (decaying variables only), then
    /// `p -= lr * m_hat / (sqrt(v_hat) + eps)` with bias-corrected moments
    /// (Loshchilov & Hutter 2019, Algorithm 2; PyTorch's `AdamW`).
    ///
    /// Errors: libtorch's.
    pub fn step(&mut self, lr: f64, weight_decay: f64, eps: f64) -> Result<()> {
        self.steps += 1;
        if self.kernels == Kernels::MultiTensor {
            for decay in [true, false] {
                let group: Vec<&Param> = self
                    .params
                    .iter()
                    .map(|(_, p)| p)
                    .filter(|p| p.decay == decay)
                    .collect();
                let pick = |f: fn(&Param) -> &Tensor| group.iter().map(|p| f(p)).collect();
                let (vars, m, v): (Vec<_>, Vec<_>, Vec<_>) = (
                    pick(|p| &p.var),
                    pick(|p| &p.exp_avg),
                    pick(|p| &p.exp_avg_sq),
                );
                let h = multi_tensor::AdamWStep {
                    step: self.steps,
                    lr,
                    beta1: BETA1,
                    beta2: BETA2,
                    weight_decay: if decay { weight_decay } else { 0.0 },
                    eps,
                };
                multi_tensor::fused_adamw(&vars, &m, &v, h)?;
            }
            return Ok(());
        }
        let t = self.steps as i32;
        let bias1 = 1.0 - BETA1.powi(t);
        let bias2_sqrt = (1.0 - BETA2.powi(t)).sqrt();
        let _guard = tch::no_grad_guard();
        for (_, p) in &mut self.params {
            let g = p.var.grad();
            if !g.defined() {
                continue;
            }
            if p.decay && weight_decay > 0.0 {
                let _ = p.var.g_mul_scalar_(1.0 - lr * weight_decay);
            }
            let _ = p.exp_avg.lerp_(&g, 1.0 - BETA1);
            let _ = p.exp_avg_sq.g_mul_scalar_(BETA2);
            let _ = p
                .exp_avg_sq
                .addcmul_(&g, &(g.shallow_clone() * (1.0 - BETA2)));
            let denom = (p.exp_avg_sq.sqrt() / bias2_sqrt) + eps;
            let _ = p.var.addcdiv_(&(&p.exp_avg * (-lr / bias1)), &denom);
        }
        Ok(())
    }

    /// Writes both moments of every variable (`exp_avg.<name>`, `exp_avg_sq.<name>`)
    /// to a safetensors file; the step count is saved by the caller.
    pub fn save(&self, path: &std::path::Path) -> Result<(), tch::TchError> {
        let mut named: Vec<(String, &Tensor)> = Vec::with_capacity(2 * self.params.len());
        for (name, p) in &self.params {
            named.push((format!("exp_avg.{name}"), &p.exp_avg));
            named.push((format!("exp_avg_sq.{name}"), &p.exp_avg_sq));
        }
        Tensor::write_safetensors(&named, path)
    }

    /// Restores the moments written by [`save`](Self::save) and the step count.
    pub fn load(&mut self, path: &std::path::Path, steps: u64) -> anyhow::Result<()> {
        use anyhow::Context;
        let saved: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .with_context(|| format!("cannot read optimizer state {}", path.display()))?
            .into_iter()
            .collect();
        let _guard = tch::no_grad_guard();
        for (name, p) in &mut self.params {
            for (kind, dst) in [
                ("exp_avg", &mut p.exp_avg),
                ("exp_avg_sq", &mut p.exp_avg_sq),
            ] {
                let key = format!("{kind}.{name}");
                let src = saved
                    .get(&key)
                    .with_context(|| format!("{} lacks `{key}`", path.display()))?;
                anyhow::ensure!(
                    src.size() == dst.size(),
                    "{} has `{key}` of shape {:?}, the model needs {:?}",
                    path.display(),
                    src.size(),
                    dst.size()
                );
                dst.copy_(src);
            }
        }
        self.steps = steps;
        Ok(())
    }

    /// Names of the variables with and without weight decay.
    pub fn groups(&self) -> (Vec<&str>, Vec<&str>) {
        let (with, without): (Vec<_>, Vec<_>) = self.params.iter().partition(|(_, p)| p.decay);
        (
            with.into_iter().map(|(n, _)| n.as_str()).collect(),
            without.into_iter().map(|(n, _)| n.as_str()).collect(),
        )
    }
}

#[cfg(test)]
mod tests;
