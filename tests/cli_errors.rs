//! Bad input gets one clear error line and a non-zero exit, never a panic.

use std::path::Path;

mod common;
use common::bertwork;

/// Runs a command that must fail; returns its stderr after checking the basics.
fn fails(home: &Path, args: &[&str], expect: &[&str]) -> String {
    let out = bertwork(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{args:?} succeeded:\n{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "{args:?} panicked:\n{stderr}"
    );
    assert!(
        stderr.contains("error: "),
        "{args:?}: no error line:\n{stderr}"
    );
    for e in expect {
        assert!(stderr.contains(e), "{args:?}: expected `{e}` in:\n{stderr}");
    }
    stderr
}

fn train_on(home: &Path, csv: &Path, extra: &[&str], expect: &[&str]) -> String {
    let corpus = csv.to_str().unwrap();
    let mut args = vec![
        "train",
        "--headless",
        "--corpus",
        corpus,
        "--max-steps",
        "1",
        "--session",
        "t",
    ];
    args.extend_from_slice(extra);
    let err = fails(home, &args, expect);
    assert!(
        !home.join("sessions/t").exists(),
        "a failed run left a session folder behind"
    );
    err
}

#[test]
fn corpus_problems() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = dir.path();

    train_on(
        &home,
        &d.join("nope.csv"),
        &[],
        &["nope.csv not found", "--corpus"],
    );

    let csv = d.join("cols.csv");
    std::fs::write(&csv, "text,label\n\"a b c.\",1\n").unwrap();
    train_on(
        &home,
        &csv,
        &[],
        &[
            "no column `review`",
            "columns found: text, label",
            "--text-column",
        ],
    );

    let csv = d.join("empty.csv");
    std::fs::write(&csv, "").unwrap();
    train_on(&home, &csv, &[], &["empty"]);

    let csv = d.join("header_only.csv");
    std::fs::write(&csv, "review,sentiment\n").unwrap();
    train_on(&home, &csv, &[], &["empty", "no row has text"]);

    let csv = d.join("latin1.csv");
    std::fs::write(
        &csv,
        b"review,sentiment\n\"fine.\",positive\n\"caf\xe9 au lait.\",negative\n",
    )
    .unwrap();
    train_on(&home, &csv, &[], &["row 2", "not valid UTF-8"]);

    let csv = d.join("ragged.csv");
    std::fs::write(
        &csv,
        "review,sentiment\n\"ok.\",positive\n\"broken\",negative,extra\n",
    )
    .unwrap();
    train_on(&home, &csv, &[], &["row 2", "3 fields", "header has 2"]);

    let csv = d.join("small.csv");
    let rows: String = (0..12)
        .map(|i| format!("\"Review {i} is here. It has two sentences.\",positive\n"))
        .collect();
    std::fs::write(&csv, format!("review,sentiment\n{rows}")).unwrap();
    train_on(&home, &csv, &[], &["12 documents", "held-out"]);
}

/// No byte of what a failed run printed is a control character other than a line
/// break: a file's content cannot drive the user's terminal.
fn no_raw_controls(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "raw control characters in: {text:?}"
    );
}

#[test]
fn files_that_are_not_text_csv() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = dir.path();

    // 4 KB of random bytes (fixed seed): named as not text, nothing raw echoed.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let csv = d.join("random.bin");
    std::fs::write(&csv, &bytes).unwrap();
    let err = train_on(
        &home,
        &csv,
        &[],
        &["random.bin is not a text CSV file (byte"],
    );
    no_raw_controls(&err);

    let csv = d.join("utf16.csv");
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            "review,sentiment\n"
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        )
        .collect();
    std::fs::write(&csv, utf16).unwrap();
    train_on(&home, &csv, &[], &["utf16.csv is UTF-16 text", "UTF-8"]);

    // A header that would retitle the terminal and clear the screen.
    let csv = d.join("escapes.csv");
    std::fs::write(
        &csv,
        "te\x1b]0;pwned\x07xt,lab\x1b[2Jel\x08\n\"a b c.\",1\n",
    )
    .unwrap();
    let err = train_on(
        &home,
        &csv,
        &[],
        &[
            "no column `review`",
            "te\\x1b]0;pwned\\x07xt, lab\\x1b[2Jel\\x08;",
        ],
    );
    no_raw_controls(&err);

    let csv = d.join("header_latin1.csv");
    std::fs::write(&csv, b"review,caf\xe9\n\"a b c.\",1\n").unwrap();
    train_on(
        &home,
        &csv,
        &[],
        &["header row is not valid UTF-8 (column 2)"],
    );

    // A text column named with ESC is found; the error about its (empty) rows quotes
    // the name escaped.
    let csv = d.join("esc_column.csv");
    std::fs::write(&csv, "re\x1bview,x\n,1\n").unwrap();
    let err = train_on(
        &home,
        &csv,
        &["--text-column", "re\x1bview"],
        &["no row has text in column `re\\x1bview`"],
    );
    no_raw_controls(&err);
}

#[test]
fn a_duplicated_text_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let csv = dir.path().join("dup.csv");
    std::fs::write(
        &csv,
        "review,sentiment,review\n\"one.\",positive,\"two.\"\n",
    )
    .unwrap();
    train_on(
        &home,
        &csv,
        &[],
        &[
            "the column `review` 2 times (columns 1, 3)",
            "rename or remove",
        ],
    );
}

/// Error lines name the physical line where the bad record starts, whatever came
/// before it: blank lines, CRLF line ends, quoted fields spanning lines.
#[test]
fn csv_errors_name_the_physical_line() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let d = dir.path();
    let cases: &[(&str, &[u8], &[&str])] = &[
        (
            "blank.csv",
            b"review,sentiment\n\"fine one.\",positive\n\n\"caf\xe9 two.\",positive\n",
            &["row 2 (line 4) is not valid UTF-8"],
        ),
        (
            "crlf.csv",
            b"review,sentiment\r\n\"fine one.\",positive\r\n\"caf\xe9 two.\",positive\r\n",
            &["row 2 (line 3) is not valid UTF-8"],
        ),
        (
            "ragged_blank.csv",
            b"review,sentiment\r\n\r\n\"ok.\",positive\r\n\r\n\r\n\"broken\",negative,extra\r\n",
            &["row 2 (line 6) is malformed", "3 fields"],
        ),
        (
            "multiline.csv",
            b"review,sentiment\n\"one\nspanning\nthree lines.\",positive\n\n\"bad\",x,y\n",
            &["row 2 (line 6) is malformed"],
        ),
    ];
    for (name, content, expect) in cases {
        let csv = d.join(name);
        std::fs::write(&csv, content).unwrap();
        train_on(&home, &csv, &[], expect);
    }
}

#[test]
fn config_problems() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    fails(
        home,
        &["train", "--headless", "--set", "train.lrr=1"],
        &["train.lrr", "allowed in [train]"],
    );
    fails(
        home,
        &["train", "--headless", "--set", "train.lr=-3"],
        &["train.lr", "must be"],
    );
    fails(
        home,
        &["train", "--headless", "--set", "train.batch_size=lots"],
        &["train.batch_size"],
    );
    fails(
        home,
        &["train", "--headless", "--preset", "huge"],
        &["huge", "tiny, mini"],
    );
    fails(
        home,
        &["train", "--headless", "--config", "/no/such.toml"],
        &["/no/such.toml"],
    );
    let bad = home.join("bad.toml");
    std::fs::write(&bad, "[data]\nmask_prob = 2.0\n").unwrap();
    fails(
        home,
        &["train", "--headless", "--config", bad.to_str().unwrap()],
        &["data.mask_prob", "(0, 1)"],
    );
    assert!(
        !home.join("sessions").exists()
            || std::fs::read_dir(home.join("sessions")).unwrap().count() == 0
    );
}

#[test]
fn probe_problems() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    fails(
        home,
        &["probe", "--session", "x", "no mask here"],
        &["no [MASK]"],
    );
    fails(
        home,
        &["probe", "--session", "ghost", "a [MASK] b"],
        &["no session named `ghost`", "sessions: none yet"],
    );
    // --attention and --neighbours take no TEXT; without any of them, one line says
    // what to give.
    let stderr = fails(
        home,
        &["probe", "--session", "x"],
        &["give a TEXT with [MASK]", "--attention", "--neighbours"],
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    for args in [
        &[
            "probe",
            "--session",
            "ghost",
            "--neighbours",
            "good",
            "--to",
            "bad",
        ][..],
        &[
            "probe",
            "--session",
            "ghost",
            "--attention",
            "a b",
            "--layer",
            "1",
        ][..],
    ] {
        fails(home, args, &["no session named `ghost`"]);
    }
    fails(
        home,
        &[
            "probe",
            "--session",
            "x",
            "--neighbours",
            "good",
            "--top-k",
            "0",
        ],
        &["--top-k must be at least 1"],
    );
}

#[test]
fn params_of_bert_base() {
    let dir = tempfile::tempdir().unwrap();
    let out = bertwork(
        dir.path(),
        &["params", "--preset", "base", "--vocab", "30522"],
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "110,106,428");
}

/// A vocab.txt with a token listed twice (appended to itself by hand) or an empty line
/// is named with its line numbers before training starts, never a trainer panic.
#[test]
fn a_vocabulary_with_a_repeated_token_is_named_with_its_lines() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let vocab = h.join("vocab.txt");
    std::fs::write(
        &vocab,
        "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\nmovie\nwas\ngood\nthe\n",
    )
    .unwrap();
    let v = vocab.to_str().unwrap();
    let args = [
        "train",
        "--headless",
        "--vocab",
        v,
        "--max-steps",
        "1",
        "--session",
        "t",
    ];
    fails(h, &args, &["`the` twice (lines 6 and 10)"]);
    assert!(!h.join("sessions/t").exists());
    std::fs::write(&vocab, "[PAD]\n[UNK]\n[CLS]\n\n[SEP]\n[MASK]\nthe\n").unwrap();
    fails(h, &args, &["line 4 is empty"]);
}

/// A model too large for the memory the process may use: one line saying memory ran
/// out while building the model and what the preset needs, exit 1, no session left
/// (it was a `std::bad_alloc` panic with a backtrace).
#[test]
fn running_out_of_memory_is_one_line_with_the_need() {
    use std::os::unix::process::CommandExt;
    let home = tempfile::tempdir().unwrap();
    let mut cmd = common::command(home.path());
    cmd.args([
        "train",
        "--headless",
        "--preset",
        "large",
        // Normal init: mimetic init's 48 SVDs of 1024 x 1024 take a minute here.
        "--set",
        "model.init=normal",
        "--max-steps",
        "1",
        "--session",
        "big",
    ]);
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 3 << 30,
                rlim_max: 3 << 30,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("out of memory while building the model; model large needs about"),
        "{stderr}"
    );
    assert!(!home.path().join("sessions/big").exists());
}
