//! Finding weights that hold inf or NaN, which no probe, export or further training can
//! use.

use tch::nn::VarStore;

/// The name (HF key) of the first variable, in name order, holding a non-finite value.
pub fn first_non_finite(vs: &VarStore) -> Option<String> {
    let _guard = tch::no_grad_guard();
    let mut vars: Vec<_> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    vars.into_iter()
        .find(|(_, t)| !bool::try_from(t.isfinite().all()).unwrap_or(true))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_broken_variable_is_named() {
        let vs = VarStore::new(tch::Device::Cpu);
        let a = vs.root().zeros("a", &[3]);
        let b = vs.root().ones("b", &[2, 2]);
        assert_eq!(first_non_finite(&vs), None);
        let _guard = tch::no_grad_guard();
        let _ = b.get(1).get(0).fill_(f64::NAN);
        assert_eq!(first_non_finite(&vs).as_deref(), Some("b"));
        drop(a);
    }
}
