//! A short real run on the embedded corpus: the loss goes down, the session folder is
//! complete, and the probe answers in HF's shape.

use std::process::Output;

use serde_json::Value;

mod common;
use common::bertwork;

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn short_run_lowers_the_loss_and_the_session_can_be_probed() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = bertwork(
        home,
        &[
            "train",
            "--headless",
            "--json",
            "--session",
            "quick",
            "--max-steps",
            "60",
            "--set",
            "train.batch_size=16",
            "--set",
            "train.warmup_steps=10",
            "--set",
            "train.lr=1e-3",
            "--set",
            "train.log_every=5",
            "--set",
            "train.device=cpu",
            "--set",
            "data.max_seq_len=64",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    // Preparation progress (if any) comes first, then the run's events.
    let started = kinds
        .iter()
        .position(|k| *k == "started")
        .expect("a started event");
    assert!(
        kinds[..started].iter().all(|k| *k == "preparing"),
        "{kinds:?}"
    );
    assert!(!kinds[started + 1..].contains(&"preparing"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"finished"));
    let steps: Vec<&Value> = events.iter().filter(|e| e["event"] == "step").collect();
    assert_eq!(steps.len(), 12);
    for key in [
        "mlm_loss",
        "mlm_acc",
        "nsp_loss",
        "nsp_acc",
        "lr",
        "grad_norm",
        "tokens_per_s",
        "step",
        "epoch",
    ] {
        assert!(
            steps[0][key].is_number(),
            "step log lacks {key}: {}",
            steps[0]
        );
    }
    let first = steps[0]["mlm_loss"].as_f64().unwrap();
    let last = steps.last().unwrap()["mlm_loss"].as_f64().unwrap();
    let vocab = events[started]["vocab_size"].as_f64().unwrap();
    assert!(
        (first - vocab.ln()).abs() < 0.3,
        "starts near ln(vocab size) = {}: {first}",
        vocab.ln()
    );
    assert!(last < first - 1.0, "MLM loss went from {first} to {last}");
    let eval = events
        .iter()
        .find(|e| e["event"] == "eval")
        .expect("an eval at the end");
    assert!(eval["mlm_loss"].as_f64().unwrap() < first - 1.0);
    let finished = events.last().unwrap();
    assert_eq!(finished["reason"], "completed");
    assert_eq!(finished["step"], 60);

    let session = home.join("sessions/quick");
    for file in [
        "config.toml",
        "vocab.txt",
        "tokenizer.json",
        "model.safetensors",
        "metrics.csv",
        "changes.csv",
        "checkpoints/best.json",
        "checkpoints/step-00000060/state.json",
        "checkpoints/step-00000060/optimizer.safetensors",
    ] {
        assert!(session.join(file).exists(), "session lacks {file}");
    }

    let out = bertwork(
        home,
        &[
            "probe",
            "--session",
            "quick",
            "--top-k",
            "4",
            "--json",
            "this movie was [MASK] .",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let preds: Value = serde_json::from_slice(&out.stdout).unwrap();
    let preds = preds.as_array().unwrap();
    assert_eq!(preds.len(), 4);
    let scores: Vec<f64> = preds.iter().map(|p| p["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores.iter().sum::<f64>() <= 1.0 + 1e-6);
    for p in preds {
        assert!(p["token"].is_u64() && p["token_str"].is_string());
        let seq = p["sequence"].as_str().unwrap();
        assert!(
            seq.starts_with("this movie was") && !seq.contains("[MASK]"),
            "{seq}"
        );
    }

    let out = bertwork(
        home,
        &[
            "probe",
            "--session",
            "quick",
            "--json",
            "two [MASK] and [MASK] .",
        ],
    );
    let both: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(both.as_array().unwrap().len(), 2, "one list per mask");
    assert_eq!(both[0].as_array().unwrap().len(), 5, "top-k defaults to 5");

    let out = bertwork(
        home,
        &[
            "probe",
            "--session",
            "quick",
            "--json",
            "the film was long .",
            "--next",
            "i liked it .",
        ],
    );
    let pair: Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = pair["is_next"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&p));

    // A second run on the same corpus and settings takes the tokenizer and the
    // tokenized corpus from the cache: same tokens, no vocabulary learning.
    let again = bertwork(
        home,
        &[
            "train",
            "--headless",
            "--json",
            "--session",
            "again",
            "--max-steps",
            "1",
            "--set",
            "train.device=cpu",
            "--set",
            "data.max_seq_len=64",
        ],
    );
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let again_events = json_lines(&again);
    let again_started = again_events
        .iter()
        .find(|e| e["event"] == "started")
        .expect("a started event");
    assert_eq!(again_started["corpus_cached"], true, "{again_started}");
    assert_eq!(again_started["tokens"], events[started]["tokens"]);
    assert_eq!(
        std::fs::read(home.join("sessions/again/vocab.txt")).unwrap(),
        std::fs::read(session.join("vocab.txt")).unwrap()
    );
}

/// What a user's files put on the terminal is escaped: a corpus path with ESC in the
/// headless lines, tokens of a given vocab.txt with ESC/BEL in the CLI probe.
#[test]
fn text_from_files_reaches_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let csv = home.join("re\u{1b}[2Jviews.csv");
    let rows: String = (0..40)
        .map(|i| format!("\"the movie {i} was good. it was bad.\",x\n"))
        .collect();
    std::fs::write(&csv, format!("review,label\n{rows}")).unwrap();
    let vocab = home.join("vocab.txt");
    let tokens = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nmovie\nwas\ngood\nit\nbad\n.\nx\u{1b}[31m\n##\u{1b}]0;t\u{7}\n";
    std::fs::write(&vocab, tokens).unwrap();
    let no_raw = |what: &str, out: &Output| {
        for text in [&out.stdout, &out.stderr] {
            let text = String::from_utf8_lossy(text);
            assert!(
                !text.contains(|c: char| c.is_control() && c != '\n'),
                "{what}: raw control characters in {text:?}"
            );
        }
    };
    let out = bertwork(
        home,
        &[
            "train",
            "--headless",
            "--session",
            "esc",
            "--corpus",
            csv.to_str().unwrap(),
            "--vocab",
            vocab.to_str().unwrap(),
            "--max-steps",
            "1",
            "--set",
            "train.device=cpu",
            "--set",
            "data.max_seq_len=32",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_raw("train", &out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("re\\x1b[2Jviews.csv"));

    let out = bertwork(
        home,
        &[
            "probe",
            "--session",
            "esc",
            "--top-k",
            "14",
            "the [MASK] was good .",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    no_raw("probe", &out);
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("x\\x1b[31m"), "{shown}");
    assert!(shown.contains("\\x1b]0;t\\x07"), "{shown}");
}

/// Short documents of one sentence (tweets): split into real IsNext pairs, so no
/// warning; documents of one word cannot be, and the run says what that does to NSP.
#[test]
fn one_sentence_documents_keep_nsp_balanced_or_say_why_not() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let words = ["great", "awful", "fine", "loved", "meh", "boring", "superb"];
    let run = |name: &str, rows: String| {
        let csv = home.join(format!("{name}.csv"));
        std::fs::write(&csv, format!("review,label\n{rows}")).unwrap();
        let out = bertwork(
            home,
            &[
                "train",
                "--headless",
                "--json",
                "--session",
                name,
                "--corpus",
                csv.to_str().unwrap(),
                "--max-steps",
                "1",
                "--set",
                "train.device=cpu",
                "--set",
                "data.vocab_size=100",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
    };
    let warnings = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["event"] == "warning")
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect()
    };
    let tweets: String = (0..150)
        .map(|i| {
            format!(
                "\"{} movie number {i} {}\",x\n",
                words[i % 7],
                words[(i / 7) % 7]
            )
        })
        .collect();
    let events = run("tweets", tweets);
    assert!(warnings(&events).is_empty(), "{:?}", warnings(&events));

    let single: String = (0..150)
        .map(|i| format!("\"{}\",x\n", words[i % 7]))
        .collect();
    let events = run("single", single);
    let w = warnings(&events);
    assert!(
        w.iter().any(
            |m| m.contains("only 0% of the training examples are IsNext pairs")
                && m.contains("model.nsp=false")
        ),
        "{w:?}"
    );
}

/// A corpus in a script whose vowel signs are nonspacing marks (Devanagari): the
/// default uncased normaliser would strip them, so a fresh session says so, naming the
/// key; with `data.strip_accents=false` the words keep their spelling and nothing is
/// said. A resume (tokenizer already chosen) does not repeat it.
#[test]
fn stripping_marks_that_spell_words_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let csv = home.join("hindi.csv");
    let reviews = [
        "यह फ़िल्म बहुत अच्छी थी। अभिनय शानदार था।",
        "कहानी कमज़ोर थी लेकिन संगीत अच्छा था। मुझे पसंद आई।",
        "मैंने यह फ़िल्म दो बार देखी। हर बार मज़ा आया।",
    ];
    let rows: String = (0..60)
        .map(|i| format!("\"{} {i}\"\n", reviews[i % 3]))
        .collect();
    std::fs::write(&csv, format!("review\n{rows}")).unwrap();
    let run = |args: &[&str]| {
        let mut all = vec![args[0], "--headless", "--json"];
        all.extend(&args[1..]);
        all.extend(common::QUICK_MODEL);
        let out = bertwork(home, &all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
            .into_iter()
            .filter(|e| e["event"] == "warning")
            .map(|e| e["message"].as_str().unwrap().to_string())
            .filter(|m| m.contains("data.strip_accents"))
            .collect::<Vec<_>>()
    };
    let corpus = csv.to_str().unwrap();
    let warned = run(&[
        "train",
        "--session",
        "stripped",
        "--corpus",
        corpus,
        "--max-steps",
        "1",
    ]);
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert!(
        warned[0].contains("--set data.strip_accents=false") && warned[0].contains("फ़िल्म"),
        "{warned:?}"
    );
    let vocab = std::fs::read_to_string(home.join("sessions/stripped/vocab.txt")).unwrap();
    assert!(!vocab.lines().any(|t| t == "फ़िल्म"));
    let kept = run(&[
        "train",
        "--session",
        "kept",
        "--corpus",
        corpus,
        "--max-steps",
        "1",
        "--set",
        "data.strip_accents=false",
    ]);
    assert!(kept.is_empty(), "{kept:?}");
    let vocab = std::fs::read_to_string(home.join("sessions/kept/vocab.txt")).unwrap();
    assert!(vocab.lines().any(|t| t == "फ़िल्म"), "{vocab}");
    let resumed = run(&["resume", "stripped", "--max-steps", "2"]);
    assert!(resumed.is_empty(), "{resumed:?}");
}

/// `model.nsp = false` (MLM only, as RoBERTa): the MLM loss goes down, NSP numbers are
/// absent (JSON null, empty metrics.csv cells) rather than made up, a pair probe says
/// why it has no answer, and a resume cannot turn NSP back on.
#[test]
fn mlm_only_run_has_no_nsp_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = bertwork(
        home,
        &[
            "train",
            "--headless",
            "--json",
            "--session",
            "mlm",
            "--max-steps",
            "24",
            "--epochs",
            "2",
            "--set",
            "model.nsp=false",
            "--set",
            "train.batch_size=16",
            "--set",
            "train.warmup_steps=10",
            "--set",
            "train.log_every=4",
            "--set",
            "train.device=cpu",
            "--set",
            "data.max_seq_len=64",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out);
    let steps: Vec<&Value> = events.iter().filter(|e| e["event"] == "step").collect();
    let evals: Vec<&Value> = events.iter().filter(|e| e["event"] == "eval").collect();
    assert_eq!(steps.len(), 6);
    assert!(!evals.is_empty());
    for e in steps.iter().chain(&evals) {
        assert!(e["mlm_loss"].is_number(), "{e}");
        assert!(e["nsp_loss"].is_null() && e["nsp_acc"].is_null(), "{e}");
    }
    let first = steps[0]["mlm_loss"].as_f64().unwrap();
    let last = steps.last().unwrap()["mlm_loss"].as_f64().unwrap();
    assert!(last < first - 0.5, "MLM loss went from {first} to {last}");
    assert!(
        !events.iter().any(|e| e["event"] == "warning"),
        "no NSP balance warning when NSP is off"
    );

    let metrics = std::fs::read_to_string(home.join("sessions/mlm/metrics.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(metrics.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let mut n = 0;
    for row in rows.records() {
        let row = row.unwrap();
        assert!(!row[col("mlm_loss")].is_empty());
        assert_eq!((&row[col("nsp_loss")], &row[col("nsp_acc")]), ("", ""));
        n += 1;
    }
    assert!(n >= 7, "{metrics}");

    let out = bertwork(
        home,
        &[
            "probe",
            "--session",
            "mlm",
            "a film .",
            "--next",
            "it rained .",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("trained without NSP (model.nsp = false)"),
        "{err}"
    );

    let out = bertwork(
        home,
        &[
            "resume",
            "mlm",
            "--headless",
            "--epochs",
            "3",
            "--set",
            "model.nsp=true",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("model.nsp cannot change on resume"), "{err}");
}

#[test]
fn probe_reads_a_kept_checkpoint_and_answers_several_texts() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut args = vec!["train", "--headless", "--session", "k", "--max-steps", "6"];
    args.extend_from_slice(common::QUICK_MODEL);
    args.extend_from_slice(&["--set", "train.checkpoint_every=3"]);
    assert!(bertwork(home, &args).status.success());
    let texts = ["a [MASK] film .", "the [MASK] was long ."];
    let answers = |step: &str| {
        let mut a = vec!["probe", "--session", "k", "--json", "--step", step];
        a.extend_from_slice(&texts);
        let out = bertwork(home, &a);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
    };
    let (at3, at6) = (answers("3"), answers("6"));
    assert_eq!(at3.len(), 2, "one JSON line per text");
    assert!(at3[0][0]["sequence"].as_str().unwrap().starts_with('a'));
    // Different weights, different scores; the latest weights are those of step 6.
    assert_ne!(at3[0][0]["score"], at6[0][0]["score"]);
    let mut latest = vec!["probe", "--session", "k", "--json"];
    latest.extend_from_slice(&texts);
    assert_eq!(json_lines(&bertwork(home, &latest)), at6);
    let out = bertwork(
        home,
        &["probe", "--session", "k", "--step", "4", "a [MASK] ."],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("no checkpoint of step 4; it keeps steps: 3, 6"),
        "{err}"
    );
}
