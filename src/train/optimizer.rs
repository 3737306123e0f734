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
mod tests {
    use super::*;
    use tch::{Device, Kind};

    #[test]
    fn decay_groups_follow_the_names() {
        assert!(decays("bert.encoder.layer.0.attention.self.query.weight"));
        assert!(decays("bert.embeddings.word_embeddings.weight"));
        assert!(!decays("bert.encoder.layer.0.attention.self.query.bias"));
        assert!(!decays("bert.embeddings.LayerNorm.weight"));
        assert!(!decays("cls.predictions.bias"));
    }

    /// Compares one parameter's trajectory with the AdamW formula written out.
    #[test]
    fn matches_the_reference_update() {
        for kernels in [Kernels::MultiTensor, Kernels::PerTensor] {
            reference_update(kernels);
        }
    }

    fn reference_update(kernels: Kernels) {
        let vs = VarStore::new(Device::Cpu);
        let w = vs
            .root()
            .var_copy("weight", &Tensor::from_slice(&[1.0f32, -2.0, 0.5]));
        let mut opt = AdamW::with_kernels(&vs, kernels);
        // A large epsilon, so that the test sees where it enters the formula.
        let (lr, wd, eps) = (0.1, 0.01, 0.3);
        let (mut m, mut v, mut p) = ([0f64; 3], [0f64; 3], [1.0f64, -2.0, 0.5]);
        for t in 1..=3 {
            opt.zero_grad().unwrap();
            let loss = (&w * &w).sum(Kind::Float) * (t as f64);
            loss.backward();
            opt.step(lr, wd, eps).unwrap();
            for i in 0..3 {
                let g = 2.0 * p[i] * t as f64;
                p[i] *= 1.0 - lr * wd;
                m[i] = BETA1 * m[i] + (1.0 - BETA1) * g;
                v[i] = BETA2 * v[i] + (1.0 - BETA2) * g * g;
                let mh = m[i] / (1.0 - BETA1.powi(t));
                let vh = v[i] / (1.0 - BETA2.powi(t));
                p[i] -= lr * mh / (vh.sqrt() + eps);
            }
        }
        let got: Vec<f32> = Vec::try_from(w.detach()).unwrap();
        for i in 0..3 {
            assert!(
                (got[i] as f64 - p[i]).abs() < 1e-5,
                "{kernels:?}: {got:?} vs {p:?}"
            );
        }
    }

    #[test]
    fn state_round_trips_through_a_file() {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, 2.0]));
        let mut opt = AdamW::new(&vs);
        (&w * &w).sum(Kind::Float).backward();
        opt.step(0.1, 0.0, 1e-6).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("optimizer.safetensors");
        opt.save(&path).unwrap();
        let vs2 = VarStore::new(Device::Cpu);
        let _w2 = vs2
            .root()
            .var_copy("w", &Tensor::from_slice(&[1.0f32, 2.0]));
        let mut opt2 = AdamW::new(&vs2);
        opt2.load(&path, opt.steps).unwrap();
        assert_eq!(opt2.steps, 1);
        let (a, b) = (&opt.params[0].1, &opt2.params[0].1);
        assert!(a.exp_avg.equal(&b.exp_avg) && a.exp_avg_sq.equal(&b.exp_avg_sq));
        assert!(a.exp_avg.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }

    #[test]
    fn clipping_scales_to_the_threshold() {
        for kernels in [Kernels::MultiTensor, Kernels::PerTensor] {
            let vs = VarStore::new(Device::Cpu);
            let w = vs
                .root()
                .var_copy("weight", &Tensor::from_slice(&[3.0f32, 4.0]));
            let _unused = vs.root().var_copy("unused", &Tensor::from_slice(&[1.0f32]));
            let opt = AdamW::with_kernels(&vs, kernels);
            (&w * &w).sum(Kind::Float).backward(); // grad = (6, 8), norm 10
            let norm = opt.grad_norm().unwrap();
            assert!((norm - 10.0).abs() < 1e-4, "{kernels:?}: {norm}");
            opt.clip(norm, 1.0).unwrap();
            let clipped = opt.grad_norm().unwrap();
            assert!((clipped - 1.0).abs() < 1e-4, "{kernels:?}: {clipped}");
            opt.zero_grad().unwrap();
            assert_eq!(opt.grad_norm().unwrap(), 0.0, "{kernels:?}");
        }
    }

    /// Both kernel sets train a BERT the same way: five steps with clipping and decay
    /// groups end on the same weights and moments, up to float rounding.
    #[test]
    fn multi_tensor_kernels_match_the_per_tensor_ones() {
        use crate::config::Config;
        use crate::model::{BertConfig, BertForPreTraining};
        let mut c = Config::default();
        c.model.dropout = 0.0;
        let bert = BertConfig::new(60, c.dims().unwrap(), &c.model);
        // Both start from the same weights, copied (tests share libtorch's global RNG).
        let start = VarStore::new(Device::Cpu);
        let _ = BertForPreTraining::new(&start.root(), &bert);
        let train = |kernels: Kernels| {
            let mut vs = VarStore::new(Device::Cpu);
            let model = BertForPreTraining::new(&vs.root(), &bert);
            vs.copy(&start).unwrap();
            let mut opt = AdamW::with_kernels(&vs, kernels);
            let ids = Tensor::arange(48, (Kind::Int64, Device::Cpu))
                .remainder(60)
                .view([3, 16]);
            let types = ids.zeros_like();
            let keep = ids.ones_like();
            for _ in 0..5 {
                let out = model.encode(&ids, &types, &keep, false);
                let logits = model.mlm_logits(&out.hidden.flatten(0, 1));
                let loss = logits.cross_entropy_for_logits(&ids.flatten(0, 1))
                    + model.nsp_logits(&out.pooled).sum(Kind::Float);
                loss.backward();
                let norm = opt.grad_norm().unwrap();
                opt.clip(norm, 0.5).unwrap();
                opt.step(3e-3, 0.01, 1e-6).unwrap();
                opt.zero_grad().unwrap();
            }
            opt
        };
        let (fused, reference) = (train(Kernels::MultiTensor), train(Kernels::PerTensor));
        for ((name, a), (_, b)) in fused.params.iter().zip(&reference.params) {
            // The key bias shifts every score of a query row equally, so softmax cancels
            // it: its gradient is 0 up to rounding, which Adam scales into full steps.
            if name.ends_with("key.bias") {
                continue;
            }
            for (x, y) in [
                (&a.var, &b.var),
                (&a.exp_avg, &b.exp_avg),
                (&a.exp_avg_sq, &b.exp_avg_sq),
            ] {
                let scale = y.abs().max().double_value(&[]).max(1e-12);
                let diff = (x - y).abs().max().double_value(&[]) / scale;
                assert!(
                    diff < 1e-4,
                    "{name} differs by {diff} (relative to its largest value)"
                );
            }
        }
    }
}
