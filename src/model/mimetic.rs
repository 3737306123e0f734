//! Mimetic initialisation of self-attention (Trockman & Kolter 2023, "Mimetic
//! Initialization of Self-Attention Layers", ICML): the query/key and value/output
//! weights start so that their products look like those of trained attention,
//! `W_q^T W_k ≈ α₁ Z₁ + β₁ I` (a token attends to tokens like itself) and
//! `W_o W_v ≈ α₂ Z₂ − β₂ I`, with `Z` drawn from N(0, 1/H). Each product is split into
//! two square factors through its SVD, `A = U S Vᵀ = (U √S)(√S Vᵀ)`.
//!
//! No crate does this for tch weights; it is a dozen lines of libtorch calls.

use tch::{Device, Kind, Tensor};

/// α₁, β₁ for the query/key product (the paper's values).
pub const QK: (f64, f64) = (0.7, 0.7);
/// α₂, β₂ for the value/output product (the paper's values).
pub const VO: (f64, f64) = (0.4, 0.4);

/// Left and right factors, each `[hidden, hidden]`, whose product `left · right` is
/// `alpha · Z + beta · I` with `Z` ~ N(0, 1/hidden) drawn from libtorch's generator
/// (so `tch::manual_seed` fixes it). `beta` carries the sign.
pub fn factors(hidden: i64, alpha: f64, beta: f64) -> (Tensor, Tensor) {
    let opts = (Kind::Double, Device::Cpu);
    let z = Tensor::randn([hidden, hidden], opts) / (hidden as f64).sqrt();
    let target = z * alpha + Tensor::eye(hidden, opts) * beta;
    let (left, right) = split(&target);
    (left.to_kind(Kind::Float), right.to_kind(Kind::Float))
}

/// `(U √S, √S Vᵀ)` for `target = U S Vᵀ` (square).
fn split(target: &Tensor) -> (Tensor, Tensor) {
    let (u, s, v) = target.svd(true, true);
    let root = s.sqrt();
    (u * root.unsqueeze(0), root.unsqueeze(1) * v.tr())
}

/// Overwrites `first` and `second` (both `[hidden, hidden]`, PyTorch's `[out, in]`
/// layout) with factors of `alpha · Z + beta · I`: `firstᵀ · second` for the
/// query/key pair when `transpose_first`, else `first · second` (output · value).
pub fn overwrite(
    first: &mut Tensor,
    second: &mut Tensor,
    alpha: f64,
    beta: f64,
    transpose_first: bool,
) {
    let hidden = second.size()[0];
    let (left, right) = factors(hidden, alpha, beta);
    let left = if transpose_first { left.tr() } else { left };
    let _guard = tch::no_grad_guard();
    first.copy_(&left.to_device(first.device()).to_kind(first.kind()));
    second.copy_(&right.to_device(second.device()).to_kind(second.kind()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel_err(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).norm().double_value(&[]) / b.norm().double_value(&[])
    }

    #[test]
    fn the_factors_multiply_back_to_the_target() {
        let opts = (Kind::Double, Device::Cpu);
        let target = Tensor::randn([64, 64], opts) * 0.1 - Tensor::eye(64, opts) * 0.4;
        let (l, r) = split(&target);
        assert!(rel_err(&l.matmul(&r), &target) < 1e-9);
        // Both factors carry the same singular values: neither dwarfs the other.
        let ratio = l.norm().double_value(&[]) / r.norm().double_value(&[]);
        assert!((ratio - 1.0).abs() < 1e-9, "{ratio}");
    }

    #[test]
    fn query_key_product_leans_to_the_identity_and_value_output_away() {
        tch::manual_seed(5);
        let h = 128;
        let mut q = Tensor::zeros([h, h], (Kind::Float, Device::Cpu));
        let mut k = q.copy();
        overwrite(&mut q, &mut k, QK.0, QK.1, true);
        let qk = q.tr().matmul(&k);
        let mut o = Tensor::zeros([h, h], (Kind::Float, Device::Cpu));
        let mut v = o.copy();
        overwrite(&mut o, &mut v, VO.0, -VO.1, false);
        let vo = o.matmul(&v);
        // The mean diagonal entry is beta; off the diagonal the mean is ~0.
        let diag = |m: &Tensor| m.diagonal(0, 0, 1).mean(Kind::Float).double_value(&[]);
        assert!((diag(&qk) - 0.7).abs() < 0.02, "{}", diag(&qk));
        assert!((diag(&vo) + 0.4).abs() < 0.02, "{}", diag(&vo));
        let off =
            (qk.sum(Kind::Float).double_value(&[]) - diag(&qk) * h as f64) / (h * h - h) as f64;
        assert!(off.abs() < 0.01, "{off}");
    }
}
