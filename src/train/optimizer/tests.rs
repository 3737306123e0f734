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
