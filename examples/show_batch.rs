use bertwork::config::Config;
use bertwork::data::batch::collate;
use bertwork::data::pairs::epoch_examples;
use bertwork::data::rng_for;
use bertwork::session::Session;
use bertwork::train::prepare::{mask_config, pair_config, prepare};

fn main() {
    let config = Config::default();
    let dir = std::env::temp_dir().join("showbatch");
    std::fs::create_dir_all(&dir).unwrap();
    let session = Session {
        name: "x".into(),
        dir,
    };
    let data = prepare(&config, &session).unwrap();
    let tok = &data.tokenizer;
    let ex = epoch_examples(
        &data.train,
        pair_config(&config),
        tok.specials,
        &mut rng_for(1, "p", 0),
    );
    let b = collate(
        &ex[..3],
        &mask_config(&config, tok),
        &mut rng_for(1, "m", 0),
    );
    for r in 0..3 {
        let row = &b.input_ids[r * b.seq..(r + 1) * b.seq];
        let ids: Vec<u32> = row.iter().map(|&i| i as u32).collect();
        println!(
            "nsp={} types={:?}",
            b.nsp_labels[r],
            &b.token_type_ids[r * b.seq..r * b.seq + 40]
        );
        println!("IN : {}", tok.decode(&ids, false));
        let labels: Vec<String> = b.mlm_labels[r * b.seq..(r + 1) * b.seq]
            .iter()
            .enumerate()
            .filter(|(_, &l)| l >= 0)
            .map(|(i, &l)| format!("{}:{}", i, tok.token(l as u32)))
            .collect();
        println!("LAB: {}\n", labels.join(" "));
    }
}
