//! Features of the frozen encoder for the linear probe: the last layer's hidden states
//! averaged over each document's tokens, and its `[CLS]` state.

use tch::{Device, Kind, Tensor};

use crate::model::BertForPreTraining;

/// Documents per forward pass.
const BATCH: usize = 32;

/// Mean-pooled and `[CLS]` features ([N, H] float each, on the CPU) of `docs` (token
/// ids with `[CLS]` and `[SEP]`, any lengths up to the position table), in eval mode
/// without gradients. Documents are batched by length to limit padding; the result is
/// in the order of `docs`.
pub fn encoder_features(
    model: &BertForPreTraining,
    docs: &[Vec<i64>],
    pad: i64,
    device: Device,
) -> (Tensor, Tensor) {
    let _guard = tch::no_grad_guard();
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.sort_by_key(|&i| (docs[i].len(), i));
    let hidden = model.config.dims.hidden as i64;
    let mut mean = Tensor::zeros([docs.len() as i64, hidden], (Kind::Float, Device::Cpu));
    let mut cls = mean.zeros_like();
    for chunk in order.chunks(BATCH) {
        let seq = chunk
            .iter()
            .map(|&i| docs[i].len())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut ids = vec![pad; chunk.len() * seq];
        let mut mask = vec![0i64; chunk.len() * seq];
        for (r, &i) in chunk.iter().enumerate() {
            ids[r * seq..r * seq + docs[i].len()].copy_from_slice(&docs[i]);
            mask[r * seq..r * seq + docs[i].len()].fill(1);
        }
        let shape = [chunk.len() as i64, seq as i64];
        let ids = Tensor::from_slice(&ids).view(shape).to_device(device);
        let mask = Tensor::from_slice(&mask).view(shape).to_device(device);
        let types = ids.zeros_like();
        let out = model.encode(&ids, &types, &mask, false);
        let h = out.hidden.to_kind(Kind::Float);
        let m = mask.unsqueeze(-1).to_kind(Kind::Float);
        let pooled = (&h * &m).sum_dim_intlist(1, false, Kind::Float)
            / m.sum_dim_intlist(1, false, Kind::Float).clamp_min(1.0);
        let first = h.select(1, 0);
        let at = Tensor::from_slice(&chunk.iter().map(|&i| i as i64).collect::<Vec<_>>());
        mean = mean.index_copy(0, &at, &pooled.to_device(Device::Cpu));
        cls = cls.index_copy(0, &at, &first.to_device(Device::Cpu));
    }
    (mean, cls)
}
