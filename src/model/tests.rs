use tch::{nn::VarStore, Device, Kind, Tensor};

use super::*;
use crate::config::{Config, PositionKind, Preset};

fn config(preset: Preset, vocab: usize, position: PositionKind) -> BertConfig {
    let mut c = Config::default();
    c.model.preset = preset;
    c.model.position = position;
    BertConfig::new(vocab, c.dims().unwrap(), &c.model)
}

fn count(vs: &VarStore) -> u64 {
    vs.trainable_variables()
        .iter()
        .map(|t| t.numel() as u64)
        .sum()
}

#[test]
fn bert_base_has_the_reference_parameter_count() {
    assert_eq!(
        config(Preset::Base, 30522, PositionKind::Learned).parameter_count(),
        110_106_428
    );
}

#[test]
fn formula_matches_the_variable_store_for_every_small_preset() {
    for preset in [Preset::Tiny, Preset::Mini, Preset::Small] {
        for position in [PositionKind::Learned, PositionKind::Sinusoidal] {
            let cfg = config(preset, 1000, position);
            let vs = VarStore::new(Device::Cpu);
            let _model = BertForPreTraining::new(&vs.root(), &cfg);
            assert_eq!(count(&vs), cfg.parameter_count(), "{preset} {position:?}");
        }
    }
}

#[test]
fn variable_names_are_hf_state_dict_keys() {
    let vs = VarStore::new(Device::Cpu);
    let _model = BertForPreTraining::new(
        &vs.root(),
        &config(Preset::Tiny, 100, PositionKind::Learned),
    );
    let names = vs.variables();
    for key in [
        "bert.embeddings.word_embeddings.weight",
        "bert.embeddings.position_embeddings.weight",
        "bert.embeddings.token_type_embeddings.weight",
        "bert.embeddings.LayerNorm.weight",
        "bert.encoder.layer.0.attention.self.query.weight",
        "bert.encoder.layer.1.attention.self.value.bias",
        "bert.encoder.layer.0.attention.output.dense.weight",
        "bert.encoder.layer.0.attention.output.LayerNorm.bias",
        "bert.encoder.layer.0.intermediate.dense.weight",
        "bert.encoder.layer.0.output.dense.weight",
        "bert.encoder.layer.0.output.LayerNorm.weight",
        "bert.pooler.dense.weight",
        "cls.predictions.bias",
        "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.LayerNorm.weight",
        "cls.seq_relationship.weight",
        "cls.seq_relationship.bias",
    ] {
        assert!(names.contains_key(key), "missing {key}");
    }
    assert_eq!(
        names["bert.embeddings.token_type_embeddings.weight"].size(),
        vec![2, 128]
    );
    assert_eq!(
        names["bert.encoder.layer.0.intermediate.dense.weight"].size(),
        vec![512, 128]
    );
    // The decoder is tied to the word embeddings: no separate weight.
    assert!(!names.contains_key("cls.predictions.decoder.weight"));
}

fn batch(ids: &[&[i64]], pad_to: usize) -> (Tensor, Tensor, Tensor) {
    let mut input = Vec::new();
    let mut types = Vec::new();
    let mut mask = Vec::new();
    for row in ids {
        for j in 0..pad_to {
            input.push(*row.get(j).unwrap_or(&0));
            types.push((j >= row.len() / 2 && j < row.len()) as i64);
            mask.push((j < row.len()) as i64);
        }
    }
    let shape = [ids.len() as i64, pad_to as i64];
    (
        Tensor::from_slice(&input).view(shape),
        Tensor::from_slice(&types).view(shape),
        Tensor::from_slice(&mask).view(shape),
    )
}

#[test]
fn shapes_of_the_outputs() {
    tch::manual_seed(1);
    let vs = VarStore::new(Device::Cpu);
    let cfg = config(Preset::Tiny, 100, PositionKind::Learned);
    let model = BertForPreTraining::new(&vs.root(), &cfg);
    let (ids, types, mask) = batch(&[&[2, 10, 11, 3, 12, 3], &[2, 13, 3, 14, 3]], 6);
    let out = model.encode(&ids, &types, &mask, false);
    assert_eq!(out.hidden.size(), vec![2, 6, 128]);
    assert_eq!(out.pooled.size(), vec![2, 128]);
    assert_eq!(
        model
            .mlm_logits(&out.hidden.flatten(0, 1).narrow(0, 0, 3))
            .size(),
        vec![3, 100]
    );
    assert_eq!(model.nsp_logits(&out.pooled).size(), vec![2, 2]);
}

#[test]
fn padding_does_not_change_outputs_at_real_positions() {
    for position in [PositionKind::Learned, PositionKind::Sinusoidal] {
        tch::manual_seed(2);
        let vs = VarStore::new(Device::Cpu);
        let model = BertForPreTraining::new(&vs.root(), &config(Preset::Tiny, 100, position));
        let row: &[i64] = &[2, 10, 11, 12, 3, 13, 14, 3];
        let (a_ids, a_types, a_mask) = batch(&[row], row.len());
        let (b_ids, b_types, b_mask) = batch(&[row, &[2, 20, 3, 21, 3]], 20);
        let _guard = tch::no_grad_guard();
        let a = model.encode(&a_ids, &a_types, &a_mask, false);
        let b = model.encode(&b_ids, &b_types, &b_mask, false);
        let b_real = b.hidden.get(0).narrow(0, 0, row.len() as i64);
        let diff = (a.hidden.get(0) - b_real).abs().max().double_value(&[]);
        assert!(diff < 1e-5, "{position:?}: hidden differs by {diff}");
        let diff = (a.pooled.get(0) - b.pooled.get(0))
            .abs()
            .max()
            .double_value(&[]);
        assert!(diff < 1e-5, "{position:?}: pooled differs by {diff}");
    }
}

#[test]
fn dropout_only_in_training_mode() {
    tch::manual_seed(3);
    let vs = VarStore::new(Device::Cpu);
    let cfg = BertConfig {
        dropout: 0.1,
        ..config(Preset::Tiny, 100, PositionKind::Learned)
    };
    let model = BertForPreTraining::new(&vs.root(), &cfg);
    let (ids, types, mask) = batch(&[&[2, 10, 11, 3, 12, 3]], 6);
    let _guard = tch::no_grad_guard();
    let eval1 = model.encode(&ids, &types, &mask, false).hidden;
    let eval2 = model.encode(&ids, &types, &mask, false).hidden;
    let train = model.encode(&ids, &types, &mask, true).hidden;
    assert!(eval1.allclose(&eval2, 0.0, 0.0, false));
    assert!(!eval1.allclose(&train, 1e-4, 1e-4, false));
}

#[test]
fn sinusoidal_table_follows_the_formula() {
    let t = embeddings_table(50, 16);
    for (pos, d) in [
        (0usize, 0usize),
        (1, 0),
        (1, 1),
        (7, 4),
        (7, 5),
        (49, 15),
        (13, 10),
    ] {
        let pair = (d / 2 * 2) as f64;
        let angle = pos as f64 / 10000f64.powf(pair / 16.0);
        let want = if d % 2 == 0 { angle.sin() } else { angle.cos() };
        let got = t.double_value(&[pos as i64, d as i64]);
        assert!(
            (got - want).abs() < 1e-6,
            "pe[{pos},{d}] = {got}, want {want}"
        );
    }
}

fn embeddings_table(positions: usize, dim: usize) -> Tensor {
    super::embeddings::sinusoidal_table(positions, dim, Device::Cpu).to_kind(Kind::Double)
}

/// `model.init = mimetic`: every layer's query/key product leans to +0.7 I and its
/// output/value product to -0.4 I (Trockman & Kolter 2023), the other weights keep
/// N(0, 0.02). (That a seed fixes the weights is checked end to end by the resume
/// tests; libtorch's generator is shared by tests running in parallel.)
#[test]
fn mimetic_init_shapes_every_attention_layer_and_nothing_else() {
    let mut c = Config::default();
    c.model.init = crate::config::InitKind::Mimetic;
    let cfg = BertConfig::new(100, c.dims().unwrap(), &c.model);
    let vs = VarStore::new(Device::Cpu);
    let _model = BertForPreTraining::new(&vs.root(), &cfg);
    let vars = vs.variables();
    let w = |name: &str| vars[&format!("bert.encoder.layer.{name}.weight")].shallow_clone();
    let mean_diag = |m: Tensor| m.diagonal(0, 0, 1).mean(Kind::Float).double_value(&[]);
    for layer in 0..cfg.dims.layers {
        let q = w(&format!("{layer}.attention.self.query"));
        let k = w(&format!("{layer}.attention.self.key"));
        let v = w(&format!("{layer}.attention.self.value"));
        let o = w(&format!("{layer}.attention.output.dense"));
        let qk = mean_diag(q.tr().matmul(&k));
        let ov = mean_diag(o.matmul(&v));
        assert!((qk - 0.7).abs() < 0.03, "layer {layer}: q/k diagonal {qk}");
        assert!((ov + 0.4).abs() < 0.03, "layer {layer}: o/v diagonal {ov}");
        let ffn = w(&format!("{layer}.intermediate.dense"))
            .std(true)
            .double_value(&[]);
        assert!((ffn - 0.02).abs() < 0.002, "layer {layer}: FFN std {ffn}");
    }
    // The default init leaves the products near zero.
    c.model.init = crate::config::InitKind::Normal;
    let normal = BertConfig::new(100, c.dims().unwrap(), &c.model);
    let vs = VarStore::new(Device::Cpu);
    let _model = BertForPreTraining::new(&vs.root(), &normal);
    let vars = vs.variables();
    let q = &vars["bert.encoder.layer.0.attention.self.query.weight"];
    let k = &vars["bert.encoder.layer.0.attention.self.key.weight"];
    assert!(mean_diag(q.tr().matmul(k)).abs() < 0.01);
}

/// `model.position_init = sinusoidal`: the learned table starts as the sin/cos table
/// scaled to the init's standard deviation, so neighbouring positions start more alike
/// than distant ones; it stays a trained parameter.
#[test]
fn sinusoidal_position_init_starts_the_learned_table_as_a_scaled_sin_cos() {
    let mut c = Config::default();
    c.model.position_init = crate::config::PositionInit::Sinusoidal;
    let cfg = BertConfig::new(100, c.dims().unwrap(), &c.model);
    let vs = VarStore::new(Device::Cpu);
    let _model = BertForPreTraining::new(&vs.root(), &cfg);
    let vars = vs.variables();
    let table = &vars["bert.embeddings.position_embeddings.weight"];
    assert!(table.requires_grad(), "still trained");
    let expected = (embeddings_table(cfg.max_position, cfg.dims.hidden) * (0.02 * 2f64.sqrt()))
        .to_kind(Kind::Float);
    assert!(table.allclose(&expected, 1e-6, 1e-7, false));
    let std = table.std(true).double_value(&[]);
    assert!((std - 0.02).abs() < 0.002, "std {std}");
    let cos = |a: i64, b: i64| {
        let (x, y) = (table.get(a), table.get(b));
        (x.dot(&y) / (x.norm() * y.norm())).double_value(&[])
    };
    assert!(
        cos(10, 11) > cos(10, 40),
        "{} vs {}",
        cos(10, 11),
        cos(10, 40)
    );
}

#[test]
fn attentions_give_one_row_stochastic_map_per_layer_and_ignore_padding() {
    tch::manual_seed(3);
    let cfg = config(Preset::Tiny, 30, PositionKind::Learned);
    let vs = VarStore::new(Device::Cpu);
    let model = BertForPreTraining::new(&vs.root(), &cfg);
    let ids = Tensor::from_slice(&[2i64, 7, 8, 9, 3, 0]).view([1, 6]);
    let types = Tensor::zeros([1, 6], (Kind::Int64, Device::Cpu));
    let mask = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 0]).view([1, 6]);
    let _guard = tch::no_grad_guard();
    let maps = model.attentions(&ids, &types, &mask);
    assert_eq!(maps.len(), cfg.dims.layers);
    for probs in &maps {
        assert_eq!(probs.size(), [1, cfg.dims.heads as i64, 6, 6]);
        let sums = probs.sum_dim_intlist(-1, false, Kind::Float);
        assert!((sums - 1.0).abs().max().double_value(&[]) < 1e-5);
        assert_eq!(probs.select(3, 5).abs().max().double_value(&[]), 0.0);
    }
    // Eval mode: the same input gives the same maps.
    let again = model.attentions(&ids, &types, &mask);
    assert!(maps[1].equal(&again[1]));
}
