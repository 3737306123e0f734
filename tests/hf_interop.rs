//! HuggingFace interop against `tests/fixtures/hf_tiny`, made by
//! `scripts/make_hf_fixture.py` with transformers (no Python needed here): importing
//! reproduces transformers' logits; export then import round-trips bit for bit; bad
//! folders get clear errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

mod common;
use tch::{Device, Kind, Tensor};

#[derive(Deserialize)]
struct Expected {
    pairs: Vec<(String, String)>,
    input_ids: Vec<Vec<i64>>,
    token_type_ids: Vec<Vec<i64>>,
    attention_mask: Vec<Vec<i64>>,
    prediction_logits: Vec<Vec<Vec<f32>>>,
    seq_relationship_logits: Vec<Vec<f32>>,
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf_tiny")
}

fn tensor2(rows: &[Vec<i64>]) -> Tensor {
    let flat: Vec<i64> = rows.iter().flatten().copied().collect();
    Tensor::from_slice(&flat).view([rows.len() as i64, rows[0].len() as i64])
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

fn variables(session: &bertwork::session::Session) -> HashMap<String, Tensor> {
    bertwork::saved::load(session, Device::Cpu)
        .unwrap()
        .vs
        .variables()
        .into_iter()
        .collect()
}

/// One test function: the library reads `$BERTWORK_HOME`, which is process-wide.
#[test]
fn import_matches_transformers_and_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("BERTWORK_HOME", dir.path().join("home"));
    let expected: Expected =
        serde_json::from_slice(&std::fs::read(fixture().join("expected.json")).unwrap()).unwrap();

    let (session, notes) =
        bertwork::hf::import(&fixture(), "fx", bertwork::finetune::import_classifier).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    // An imported model continues with BERT's objective and schedule, not the
    // small-data defaults.
    let config = session.load_config().unwrap();
    assert_eq!(
        (
            config.data.mask_prob,
            config.data.mask_replace_prob,
            config.data.random_replace_prob
        ),
        (0.15, 0.8, 0.1)
    );
    assert_eq!(
        config.train.lr_scheduler,
        bertwork::config::LrScheduler::Linear
    );
    let saved = bertwork::saved::load(&session, Device::Cpu).unwrap();

    // The tokenizer gives transformers' ids for the same text.
    for (row, (a, b)) in expected.pairs.iter().enumerate() {
        let s = saved.tokenizer.specials;
        let mut ids = vec![s.cls];
        ids.extend(saved.tokenizer.encode(a).unwrap());
        ids.push(s.sep);
        ids.extend(saved.tokenizer.encode(b).unwrap());
        ids.push(s.sep);
        let real: Vec<i64> = expected.input_ids[row]
            .iter()
            .zip(&expected.attention_mask[row])
            .filter(|(_, &m)| m == 1)
            .map(|(&i, _)| i)
            .collect();
        assert_eq!(ids.iter().map(|&i| i as i64).collect::<Vec<_>>(), real);
    }

    let _guard = tch::no_grad_guard();
    let out = saved.model.encode(
        &tensor2(&expected.input_ids),
        &tensor2(&expected.token_type_ids),
        &tensor2(&expected.attention_mask),
        false,
    );
    let (b, s, h) = out.hidden.size3().unwrap();
    let logits = saved
        .model
        .mlm_logits(&out.hidden.reshape([b * s, h]))
        .view([b, s, -1]);
    let want: Vec<f32> = expected
        .prediction_logits
        .iter()
        .flatten()
        .flatten()
        .copied()
        .collect();
    let want = Tensor::from_slice(&want).view_as(&logits);
    let mask = tensor2(&expected.attention_mask)
        .to_kind(Kind::Bool)
        .unsqueeze(-1);
    let diff = max_abs_diff(&logits.masked_select(&mask), &want.masked_select(&mask));
    let scale = want.abs().max().double_value(&[]);
    assert!(scale > 1.0, "the fixture's logits are not trivially small");
    assert!(diff < 1e-4, "MLM logits differ from transformers by {diff}");
    let nsp = saved.model.nsp_logits(&out.pooled);
    let want_nsp: Vec<f32> = expected
        .seq_relationship_logits
        .iter()
        .flatten()
        .copied()
        .collect();
    let diff = max_abs_diff(&nsp, &Tensor::from_slice(&want_nsp).view_as(&nsp));
    assert!(diff < 1e-4, "NSP logits differ from transformers by {diff}");

    // Export, re-import: every tensor identical, and the HF files are there.
    let exported = dir.path().join("export");
    bertwork::hf::export(&session, &exported).unwrap();
    for f in [
        "config.json",
        "model.safetensors",
        "vocab.txt",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
    ] {
        assert!(exported.join(f).exists(), "{f} missing from the export");
    }
    let fixture_keys: Vec<String> = {
        let mut k: Vec<String> = Tensor::read_safetensors(fixture().join("model.safetensors"))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        k.sort();
        k
    };
    let mut exported_keys: Vec<String> =
        Tensor::read_safetensors(exported.join("model.safetensors"))
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
    exported_keys.sort();
    assert_eq!(exported_keys, fixture_keys, "HF's key names");
    let (again, _) =
        bertwork::hf::import(&exported, "fx2", bertwork::finetune::import_classifier).unwrap();
    let (first, second) = (variables(&session), variables(&again));
    assert_eq!(first.len(), second.len());
    for (name, t) in &first {
        assert!(t.equal(&second[name]), "{name} changed in the round trip");
    }
    let bad = bertwork::hf::export(&session, &exported).unwrap_err();
    assert!(bad.to_string().contains("not empty"), "{bad}");
}

fn copy_fixture(to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(fixture()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn import_fails(home: &Path, dir: &Path, expect: &str) {
    let out = common::bertwork(
        home,
        &["import-hf", dir.to_str().unwrap(), "--session", "bad"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "import of {} succeeded",
        dir.display()
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains(expect), "expected `{expect}` in: {stderr}");
    assert!(
        !home.join("sessions/bad").exists(),
        "a failed import left a session behind"
    );
}

#[test]
fn bad_hf_folders_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let edit_config = |name: &str, key: &str, value: serde_json::Value| {
        let d = dir.path().join(name);
        copy_fixture(&d);
        let path = d.join("config.json");
        let mut c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        c[key] = value;
        std::fs::write(&path, serde_json::to_vec(&c).unwrap()).unwrap();
        d
    };
    import_fails(&home, &dir.path().join("nowhere"), "is not a folder");
    let no_config = dir.path().join("no_config");
    copy_fixture(&no_config);
    std::fs::remove_file(no_config.join("config.json")).unwrap();
    import_fails(&home, &no_config, "has no readable config.json");
    let no_vocab = dir.path().join("no_vocab");
    copy_fixture(&no_vocab);
    std::fs::remove_file(no_vocab.join("vocab.txt")).unwrap();
    std::fs::remove_file(no_vocab.join("tokenizer.json")).unwrap();
    import_fails(&home, &no_vocab, "has neither vocab.txt nor tokenizer.json");
    import_fails(
        &home,
        &edit_config("roberta", "model_type", "roberta".into()),
        "bertwork imports BERT only",
    );
    import_fails(
        &home,
        &edit_config("relu", "hidden_act", "relu".into()),
        "hidden_act is `relu`",
    );
    import_fails(
        &home,
        &edit_config("wider", "hidden_size", 64.into()),
        "has shape",
    );
    import_fails(
        &home,
        &edit_config("vocab", "vocab_size", 500.into()),
        "vocab_size = 500",
    );
    // A weight holding inf: refused here rather than failing every step later.
    let inf = dir.path().join("inf");
    copy_fixture(&inf);
    let path = inf.join("model.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let key = "bert.encoder.layer.0.output.dense.weight";
    let at = 8 + n + header[key]["data_offsets"][0].as_u64().unwrap() as usize;
    bytes[at..at + 4].copy_from_slice(&f32::INFINITY.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    import_fails(
        &home,
        &inf,
        &format!("`{key}` holds infinite or NaN values"),
    );
}

/// A cased session (`data.lowercase=false`, `data.strip_accents=false`, as
/// `bert-base-cased`) keeps case in its vocabulary, exports `do_lower_case: false`, and
/// imports back as a cased session (it used to be refused).
#[test]
fn a_cased_session_exports_and_imports_as_cased() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut args = vec![
        "train",
        "--headless",
        "--session",
        "cased",
        "--max-steps",
        "1",
    ];
    args.extend(common::QUICK_MODEL);
    args.extend([
        "--set",
        "data.lowercase=false",
        "--set",
        "data.strip_accents=false",
    ]);
    let out = common::bertwork(&home, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vocab = std::fs::read_to_string(home.join("sessions/cased/vocab.txt")).unwrap();
    assert!(
        vocab.lines().any(|t| t == "The"),
        "no cased token in the vocabulary"
    );
    let exported = dir.path().join("hf");
    let out = common::bertwork(
        &home,
        &["export", "cased", "--hf", exported.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(exported.join("tokenizer_config.json")).unwrap())
            .unwrap();
    assert_eq!(config["do_lower_case"], false, "{config}");
    assert_eq!(config["strip_accents"], serde_json::Value::Null, "{config}");
    let out = common::bertwork(
        &home,
        &["import-hf", exported.to_str().unwrap(), "--session", "back"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = std::fs::read_to_string(home.join("sessions/back/config.toml")).unwrap();
    assert!(back.contains("lowercase = false"), "{back}");
    assert!(back.contains("strip_accents = false"), "{back}");
}
