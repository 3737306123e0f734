use bertwork::config::Config;
use bertwork::data::batch::collate;
use bertwork::data::masking::MaskConfig;
use bertwork::data::pairs::Example;
use bertwork::data::rng_for;
use bertwork::model::{BertConfig, BertForPreTraining};
use bertwork::tokenizer::SpecialIds;
use bertwork::train::optimizer::AdamW;
use bertwork::train::step::{losses, DeviceBatch};
use rand::Rng;
use tch::{nn::VarStore, Device};

fn main() {
    let mut c = Config::default();
    c.model.dropout = 0.0;
    let vocab = 200;
    let bert = BertConfig::new(vocab, c.dims().unwrap(), &c.model);
    tch::manual_seed(0);
    let vs = VarStore::new(Device::Cpu);
    let model = BertForPreTraining::new(&vs.root(), &bert);
    let mut opt = AdamW::new(&vs);
    let specials = SpecialIds {
        pad: 0,
        unk: 1,
        cls: 2,
        sep: 3,
        mask: 4,
    };
    let mut rng = rng_for(1, "x", 0);
    let examples: Vec<Example> = (0..16)
        .map(|_| {
            let mut ids: Vec<u32> = (0..32).map(|_| rng.random_range(5..vocab as u32)).collect();
            ids[0] = 2;
            ids[15] = 3;
            ids[31] = 3;
            Example {
                ids,
                segment_a_len: 16,
                random_next: rng.random_bool(0.5),
            }
        })
        .collect();
    let mask = MaskConfig {
        prob: 0.15,
        vocab_size: vocab,
        specials,
    };
    let batch = DeviceBatch::new(&collate(&examples, &mask, &mut rng), Device::Cpu);
    for step in 0..300 {
        let out = losses(&model, &batch, true);
        out.loss.backward();
        let n = opt.grad_norm();
        opt.clip(n, 1.0);
        opt.step(1e-3, 0.01);
        opt.zero_grad();
        if step % 30 == 0 {
            println!(
                "step {step} mlm {:.3} nsp {:.3} grad {n:.3}",
                out.mlm_loss, out.nsp_loss
            );
        }
    }
}
