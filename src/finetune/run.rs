//! Fine-tuning a classifier session fold by fold, printing and recording as it goes.

use std::io::Write;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use rand::seq::SliceRandom;
use tch::{nn::VarStore, Device, Kind, Reduction, Tensor};

use super::{
    read_recipe, BertForSequenceClassification, FinetuneState, FoldResult, PRETRAINED_FILE,
    RECORDS_FILE,
};
use crate::corpus::CorpusSource;
use crate::downstream::Downstream;
use crate::model::BertConfig;
use crate::protocol::Accuracy;
use crate::session::{Session, TOKENIZER_FILE, WEIGHTS_FILE};
use crate::tokenizer::WordPieceTokenizer;
use crate::train::optimizer::{AdamW, Kernels};

/// Steps between progress lines.
const LOG_EVERY: u64 = 10;

/// Fine-tunes every fold not done yet, then writes the pooled accuracy. `stop` is
/// polled between steps: a stop ends after the current step without saving the fold
/// (a resume redoes it from its start).
///
/// Errors: the source's labels are gone or changed, a failed step, a full disk.
pub fn run(session: &Session, stop: &dyn Fn() -> bool) -> Result<Option<Accuracy>> {
    let Some(mut state) = FinetuneState::read(session)? else {
        bail!("session `{}` is not a classifier session", session.name);
    };
    let recipe = read_recipe(session)?;
    let config = session.load_config()?;
    let tokenizer = WordPieceTokenizer::load(&session.path(TOKENIZER_FILE))?;
    let source = CorpusSource::of(config.data.corpus.as_deref(), &config.data.format)?;
    let Some(data) = Downstream::prepare(&config, &session.dir, &source, &tokenizer)? else {
        bail!(
            "session `{}` lost its labels (data.label_column)",
            session.name
        );
    };
    if data.classes != state.classes {
        bail!(
            "the corpus's classes changed since session `{}` was made ({} then, {} now); make a new fine-tune",
            session.name,
            state.classes.join(", "),
            data.classes.join(", ")
        );
    }
    crate::cpu_threads::use_threads(config.train.threads);
    let inputs = data.inputs(recipe.max_seq_len);
    let mut model_config = config.model.clone();
    model_config.dropout = recipe.dropout;
    let bert = BertConfig::new(tokenizer.vocab_size(), config.dims()?, &model_config);
    let mut records = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(session.path(RECORDS_FILE))
        .context("cannot open finetune.csv")?;
    if records.metadata()?.len() == 0 {
        writeln!(records, "fold,epoch,step,split,loss,accuracy,lr,seconds")?;
    }
    let folds: Vec<usize> = data
        .test_fold_list()
        .into_iter()
        .take(state.folds)
        .collect();
    for &fold in folds.iter().skip(state.done.len()) {
        let start = Instant::now();
        let (train, test): (Vec<usize>, Vec<usize>) =
            (0..data.labels.len()).partition(|&i| data.folds[i] != fold);
        let seed = recipe.seed ^ (fold as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        tch::manual_seed(if state.from_scratch {
            config.train.seed
        } else {
            seed
        } as i64);
        let mut vs = VarStore::new(Device::Cpu);
        let model = BertForSequenceClassification::new(&vs.root(), &bert, state.classes.len());
        if !state.from_scratch {
            let loaded = vs
                .load_partial(session.path(PRETRAINED_FILE))
                .with_context(|| {
                    format!(
                        "cannot load {PRETRAINED_FILE} of session `{}`",
                        session.name
                    )
                })?;
            if loaded.iter().any(|n| !n.starts_with("classifier.")) {
                bail!(
                    "{PRETRAINED_FILE} of session `{}` lacks weights ({}); make the fine-tune again",
                    session.name,
                    loaded.join(", ")
                );
            }
        }
        // The classifier starts from the recipe's seed whatever the encoder started from.
        tch::manual_seed(seed as i64);
        reinit_classifier(&vs);
        let mut opt = AdamW::with_kernels(&vs, Kernels::PerTensor);
        let steps_per_epoch = train.len().div_ceil(recipe.batch_size) as u64;
        let total = steps_per_epoch * recipe.epochs as u64;
        let mut step = 0u64;
        let labels = |rows: &[usize]| {
            Tensor::from_slice(
                &rows
                    .iter()
                    .map(|&i| data.labels[i] as i64)
                    .collect::<Vec<_>>(),
            )
        };
        for epoch in 0..recipe.epochs {
            let mut order = train.clone();
            order.shuffle(&mut crate::data::rng_for(
                recipe.seed,
                "finetune-order",
                (fold * 1000 + epoch) as u64,
            ));
            let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
            for batch in order.chunks(recipe.batch_size) {
                if stop() {
                    println!(
                        "stopped in fold {} epoch {}; `bertwork resume {}` redoes this fold",
                        fold + 1,
                        epoch + 1,
                        session.name
                    );
                    return Ok(None);
                }
                step += 1;
                tch::manual_seed((seed ^ step.wrapping_mul(0xbf58_476d_1ce4_e5b9)) as i64);
                let (ids, mask) = pad(&inputs, batch, tokenizer.specials.pad as i64);
                let logits = model.forward(&ids, &mask, true);
                let y = labels(batch);
                let loss =
                    logits.cross_entropy_loss::<Tensor>(&y, None, Reduction::Mean, -100, 0.0);
                opt.zero_grad()?;
                loss.backward();
                if recipe.clip_norm > 0.0 {
                    let norm = opt.grad_norm()?;
                    opt.clip(norm, recipe.clip_norm)?;
                }
                let lr = recipe.lr_at(step, total);
                opt.step(lr, recipe.weight_decay, 1e-8)?;
                let l = loss.double_value(&[]);
                if !l.is_finite() {
                    bail!(
                        "fold {} step {step}: the loss is not finite; lower finetune.lr (now {})",
                        fold + 1,
                        recipe.lr
                    );
                }
                loss_sum += l * batch.len() as f64;
                correct += count_correct(&logits, &y);
                seen += batch.len();
                if step.is_multiple_of(LOG_EVERY) {
                    let (loss, acc) = (loss_sum / seen as f64, correct as f64 / seen as f64);
                    writeln!(
                        records,
                        "{fold},{epoch},{step},train,{loss},{acc},{lr},{:.3}",
                        start.elapsed().as_secs_f64()
                    )?;
                    println!("fold {}/{} epoch {} step {step:>5}/{total} | loss {loss:.4} acc {acc:.3} | lr {lr:.2e}", fold + 1, folds.len(), epoch + 1);
                }
            }
            let (loss, right) = evaluate(
                &model,
                &inputs,
                &test,
                &data.labels,
                tokenizer.specials.pad as i64,
            );
            let acc = right as f64 / test.len().max(1) as f64;
            writeln!(
                records,
                "{fold},{epoch},{step},test,{loss},{acc},,{:.3}",
                start.elapsed().as_secs_f64()
            )?;
            println!(
                "fold {}/{} epoch {} test | loss {loss:.4} acc {acc:.3} ({} documents)",
                fold + 1,
                folds.len(),
                epoch + 1,
                test.len()
            );
            if epoch + 1 == recipe.epochs {
                records.sync_data()?;
                if state.done.is_empty() {
                    super::save_classifier(&vs, &session.path(WEIGHTS_FILE))?;
                }
                state.done.push(FoldResult {
                    fold,
                    correct: right,
                    tested: test.len(),
                    seconds: start.elapsed().as_secs_f64(),
                });
                state.write(session)?;
            }
        }
    }
    let (right, tested) = state
        .done
        .iter()
        .fold((0, 0), |(c, t), f| (c + f.correct, t + f.tested));
    let accuracy = Accuracy::of(right, tested);
    state.accuracy = Some(accuracy);
    state.write(session)?;
    Ok(Some(accuracy))
}

/// Re-draws `classifier.weight` N(0, 0.02) and zeroes its bias.
fn reinit_classifier(vs: &VarStore) {
    let _guard = tch::no_grad_guard();
    for (name, mut var) in vs.variables() {
        if name == "classifier.weight" {
            var.copy_(&(Tensor::randn(var.size(), (Kind::Float, Device::Cpu)) * 0.02));
        } else if name == "classifier.bias" {
            let _ = var.zero_();
        }
    }
}

/// Padded `[B, S]` ids and mask for the documents `rows`.
fn pad(inputs: &[Vec<i64>], rows: &[usize], pad: i64) -> (Tensor, Tensor) {
    let seq = rows.iter().map(|&i| inputs[i].len()).max().unwrap_or(1);
    let mut ids = vec![pad; rows.len() * seq];
    let mut mask = vec![0i64; rows.len() * seq];
    for (r, &i) in rows.iter().enumerate() {
        let doc = &inputs[i];
        ids[r * seq..r * seq + doc.len()].copy_from_slice(doc);
        mask[r * seq..r * seq + doc.len()].fill(1);
    }
    let shape = [rows.len() as i64, seq as i64];
    (
        Tensor::from_slice(&ids).view(shape),
        Tensor::from_slice(&mask).view(shape),
    )
}

fn count_correct(logits: &Tensor, y: &Tensor) -> usize {
    logits
        .argmax(-1, false)
        .eq_tensor(y)
        .sum(Kind::Int64)
        .int64_value(&[]) as usize
}

/// Mean loss and correct answers on `rows` (eval mode, no gradients).
fn evaluate(
    model: &BertForSequenceClassification,
    inputs: &[Vec<i64>],
    rows: &[usize],
    labels: &[usize],
    pad_id: i64,
) -> (f64, usize) {
    let _guard = tch::no_grad_guard();
    let (mut loss, mut right) = (0.0, 0);
    for chunk in rows.chunks(64) {
        let (ids, mask) = pad(inputs, chunk, pad_id);
        let logits = model.forward(&ids, &mask, false);
        let y = Tensor::from_slice(&chunk.iter().map(|&i| labels[i] as i64).collect::<Vec<_>>());
        loss += logits
            .cross_entropy_loss::<Tensor>(&y, None, Reduction::Sum, -100, 0.0)
            .double_value(&[]);
        right += count_correct(&logits, &y);
    }
    (loss / rows.len().max(1) as f64, right)
}
