//! Faults around sessions: two processes on one session, termination signals, resumes
//! that change the batch size, the held-out recipe or the corpus, non-finite weights
//! and a full disk. Each must keep saved work and say what happened.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

mod common;

use common::QUICK_MODEL as QUICK;

fn run(home: &Path, args: &[&str]) -> Output {
    common::bertwork(home, args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(out.status.success(), "{what} failed:\n{}", stderr(out));
}

/// JSON events of a `--json` run's stdout.
fn events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn event<'a>(events: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    events
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no `{name}` event"))
}

/// A running `bertwork ... --json` and its events as they come.
struct Running {
    child: Child,
    events: Receiver<serde_json::Value>,
}

impl Running {
    fn start(home: &Path, args: &[&str]) -> Self {
        let mut child = common::command(home)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    if tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        Self { child, events: rx }
    }

    /// Waits for a step log at or past `step`.
    fn wait_for_step(&self, step: u64) {
        loop {
            let v = self
                .events
                .recv_timeout(Duration::from_secs(120))
                .expect("the run logged no more steps");
            if v["event"] == "step" && v["step"].as_u64().unwrap() >= step {
                return;
            }
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for the end; returns the exit code, the remaining events and stderr.
    fn finish(mut self) -> (Option<i32>, Vec<serde_json::Value>, String) {
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        use std::io::Read;
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (status.code(), self.events.try_iter().collect(), err)
    }
}

/// A 200-row corpus of short sentences from a fixed generator.
fn corpus(dir: &Path, name: &str, rows: usize) -> PathBuf {
    let words = [
        "the", "movie", "was", "good", "bad", "great", "awful", "plot", "acting", "film", "story",
        "actors", "scene", "ending", "music", "long", "short", "funny", "boring",
    ];
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let mut text = String::from("review,sentiment\n");
    for _ in 0..rows {
        let sentences: Vec<String> = (0..2 + next(4))
            .map(|_| {
                let s: Vec<&str> = (0..4 + next(6)).map(|_| words[next(words.len())]).collect();
                format!("{}.", s.join(" "))
            })
            .collect();
        text.push_str(&format!("\"{}\",positive\n", sentences.join(" ")));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// (split, step) rows of a session's metrics.csv, in file order.
fn metric_rows(home: &Path, session: &str) -> Vec<(String, u64)> {
    let path = home.join("sessions").join(session).join("metrics.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[2].to_string(), r[0].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_session_in_use_is_refused_to_writers_and_open_to_readers() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut args = vec!["train", "--headless", "--session", "s", "--max-steps", "4"];
    args.extend_from_slice(QUICK);
    assert_ok(&run(home, &args), "train");

    let mut resume = vec![
        "resume",
        "s",
        "--headless",
        "--json",
        "--max-steps",
        "100000",
    ];
    resume.extend_from_slice(&["--set", "train.checkpoint_every=2"]);
    let holder = Running::start(home, &resume);
    holder.wait_for_step(6);
    let pid = holder.child.id();

    let in_use = format!("session `s` is in use by process {pid}");
    for writer in [
        vec!["resume", "s", "--headless"],
        vec!["sessions", "rm", "s", "--yes"],
    ] {
        let out = run(home, &writer);
        assert_eq!(out.status.code(), Some(1), "{writer:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&in_use) && err.contains(&format!("kill -TERM {pid}")),
            "{writer:?}: {err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    // Readers keep working, and see a whole checkpoint each time.
    let export = home.join("hf");
    for _ in 0..5 {
        let probe = run(home, &["probe", "--session", "s", "a [MASK] film ."]);
        assert_ok(&probe, "probe of a session in use");
    }
    assert_ok(&run(home, &["sessions", "show", "s"]), "sessions show");
    assert_ok(
        &run(home, &["export", "s", "--hf", export.to_str().unwrap()]),
        "export",
    );

    // kill -9 leaves no stale lock: the next writer gets the session.
    holder.signal(libc::SIGKILL);
    let (code, _, _) = holder.finish();
    assert_eq!(code, None);
    let last = std::fs::read_dir(home.join("sessions/s/checkpoints"))
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            name.strip_prefix("step-")?.parse::<u64>().ok()
        })
        .max()
        .unwrap();
    let until = (last + 3).to_string();
    let out = run(home, &["resume", "s", "--headless", "--max-steps", &until]);
    assert_ok(&out, "resume after kill -9");
    let rows = metric_rows(home, "s");
    let mut seen = std::collections::BTreeSet::new();
    let mut last = 0;
    for (split, step) in rows.iter().filter(|(s, _)| s == "train") {
        assert!(seen.insert((split.clone(), *step)), "duplicated row {step}");
        assert!(*step > last, "step {step} after {last}");
        last = *step;
    }
}

#[test]
fn termination_signals_stop_save_and_exit_128_plus_n() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    for (signal, name, code) in [(libc::SIGTERM, "term", 143), (libc::SIGHUP, "hup", 129)] {
        let mut args = vec!["train", "--headless", "--json", "--session", name];
        args.extend_from_slice(QUICK);
        let run = Running::start(home, &args);
        run.wait_for_step(3);
        run.signal(signal);
        let (status, events, err) = run.finish();
        assert_eq!(status, Some(code), "{name}: {err}");
        let finished = event(&events, "finished");
        assert_eq!(finished["reason"], "stopped");
        let step = finished["step"].as_u64().unwrap();
        let checkpoint = home
            .join("sessions")
            .join(name)
            .join(format!("checkpoints/step-{step:08}/state.json"));
        assert!(checkpoint.exists(), "{name}: no checkpoint at step {step}");
        assert!(
            err.contains("finishing the current step and saving"),
            "{err}"
        );
    }

    // A second signal while the step finishes: out at once, nothing more saved.
    let mut args = vec!["train", "--headless", "--json", "--session", "twice"];
    args.extend_from_slice(&[
        "--set",
        "model.layers=4",
        "--set",
        "model.hidden=256",
        "--set",
        "model.heads=4",
        "--set",
        "train.batch_size=128",
        "--set",
        "train.log_every=1",
        "--set",
        "train.threads=1",
        "--set",
        "data.vocab_size=1000",
    ]);
    let run = Running::start(home, &args);
    run.wait_for_step(1);
    run.signal(libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(50));
    run.signal(libc::SIGTERM);
    let (status, events, err) = run.finish();
    assert_eq!(status, Some(143), "{err}");
    assert!(
        err.contains("SIGTERM again: exiting without saving"),
        "{err}"
    );
    assert!(events.iter().all(|e| e["event"] != "finished"));
}

#[test]
fn a_resume_with_another_batch_size_trains_each_example_once() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let csv = corpus(dir.path(), "c.csv", 200);
    let common_sets = ["--set", "data.max_seq_len=32", "--set", "train.epochs=1"];
    let mut args = vec!["train", "--headless", "--json", "--session", "r"];
    assert_eq!(args[4], "r");
    args.extend_from_slice(&["--corpus", csv.to_str().unwrap()]);
    args.extend_from_slice(&common_sets);
    args.extend_from_slice(&["--set", "train.batch_size=4", "--set", "train.max_steps=10"]);
    args.extend_from_slice(&["--set", "train.threads=1", "--set", "data.vocab_size=200"]);
    let first = run(&home, &args);
    assert_ok(&first, "train");
    let examples = event(&events(&first), "started")["train_examples"]
        .as_u64()
        .unwrap();
    let resume = run(
        &home,
        &[
            "resume",
            "r",
            "--headless",
            "--json",
            "--set",
            "train.batch_size=16",
            "--set",
            "train.max_steps=0",
        ],
    );
    assert_ok(&resume, "resume");
    let ev = events(&resume);
    // 10 steps of 4 examples, then the rest of the epoch in batches of 16.
    let expected = 10 + (examples - 40).div_ceil(16);
    assert_eq!(
        event(&ev, "started")["total_steps"].as_u64(),
        Some(expected)
    );
    assert_eq!(event(&ev, "finished")["step"].as_u64(), Some(expected));

    // A shorter max_seq_len would make other examples: the epoch in progress finishes
    // with the ones it began with, even across a second stop, and the change waits for
    // the next epoch.
    let at = args.iter().position(|a| *a == "r").unwrap();
    args[at] = "r2";
    assert_ok(&run(&home, &args), "train r2");
    let changed = run(
        &home,
        &[
            "resume",
            "r2",
            "--headless",
            "--json",
            "--set",
            "data.max_seq_len=24",
            "--set",
            "train.max_steps=20",
        ],
    );
    assert_ok(&changed, "resume r2");
    let warning = event(&events(&changed), "warning")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(warning.contains("apply from epoch 2"), "{warning}");
    let again = run(
        &home,
        &[
            "resume",
            "r2",
            "--headless",
            "--json",
            "--set",
            "train.max_steps=0",
        ],
    );
    assert_ok(&again, "resume r2 again");
    let ev = events(&again);
    let expected = 10 + (examples - 40).div_ceil(4);
    assert_eq!(event(&ev, "finished")["step"].as_u64(), Some(expected));
    let warning = event(&ev, "warning")["message"].as_str().unwrap();
    assert!(
        warning.contains("(32 / 0.1)"),
        "the values the epoch began with: {warning}"
    );
}

#[test]
fn held_out_examples_masks_and_floor_stay_those_of_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let csv = corpus(dir.path(), "c.csv", 200);
    let mut args = vec![
        "train",
        "--headless",
        "--json",
        "--session",
        "f",
        "--epochs",
        "1",
    ];
    args.extend_from_slice(&["--corpus", csv.to_str().unwrap()]);
    args.extend_from_slice(&["--set", "train.threads=1", "--set", "data.vocab_size=200"]);
    let first = run(&home, &args);
    assert_ok(&first, "train");
    let resume = run(
        &home,
        &[
            "resume",
            "f",
            "--headless",
            "--json",
            "--epochs",
            "2",
            "--set",
            "data.mask_prob=0.45",
            "--set",
            "data.mask_replace_prob=0.8",
            "--set",
            "data.random_replace_prob=0.1",
            "--set",
            "data.max_seq_len=32",
            "--set",
            "train.batch_size=8",
            "--set",
            "data.short_seq_prob=0.5",
        ],
    );
    assert_ok(&resume, "resume");
    let (a, b) = (events(&first), events(&resume));
    for key in [
        "no_context_mlm_loss",
        "heldout_examples",
        "heldout_random_next",
    ] {
        assert_eq!(
            event(&a, "started")[key],
            event(&b, "started")[key],
            "{key} moved"
        );
    }
    // The changes did reach training: shorter examples, so more of them.
    let count = |e: &[serde_json::Value]| event(e, "started")["train_examples"].as_u64().unwrap();
    assert!(count(&b) > count(&a), "{} vs {}", count(&b), count(&a));
}

#[test]
fn a_resume_on_a_changed_corpus_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let csv = corpus(dir.path(), "c.csv", 200);
    let mut args = vec!["train", "--headless", "--session", "c", "--max-steps", "2"];
    args.extend_from_slice(&["--corpus", csv.to_str().unwrap()]);
    args.extend_from_slice(&["--set", "train.threads=1", "--set", "data.vocab_size=200"]);
    assert_ok(&run(&home, &args), "train");
    // The same bytes written again (a new modification time) are the same corpus.
    let bytes = std::fs::read(&csv).unwrap();
    std::fs::write(&csv, &bytes).unwrap();
    assert_ok(
        &run(&home, &["resume", "c", "--headless", "--max-steps", "3"]),
        "resume on the same content",
    );
    // 40 rows appended.
    let extra = corpus(dir.path(), "extra.csv", 40);
    let extra = std::fs::read_to_string(extra).unwrap();
    let mut grown = bytes.clone();
    grown.extend_from_slice(extra.split_once('\n').unwrap().1.as_bytes());
    std::fs::write(&csv, &grown).unwrap();
    let config = home.join("sessions/c/config.toml");
    let config_before = std::fs::read(&config).unwrap();
    let out = run(&home, &["resume", "c", "--headless", "--max-steps", "4"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let then = bytes.len();
    let now = grown.len();
    assert!(
        err.contains(&format!(
            "has changed since session `c` was made from it ({then} bytes, 200 rows then, {now} bytes now)"
        )) && err.contains("put the original file back"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&config).unwrap(),
        config_before,
        "a refused resume changed config.toml"
    );
}

#[test]
fn an_imported_non_finite_weight_is_named_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf_tiny");
    assert_ok(
        &run(
            home,
            &["import-hf", fixture.to_str().unwrap(), "--session", "inf"],
        ),
        "import",
    );
    let weights = home.join("sessions/inf/model.safetensors");
    let name = "bert.encoder.layer.0.output.dense.weight";
    set_first_value(&weights, name, f32::INFINITY);
    let out = run(home, &["resume", "inf", "--headless", "--max-steps", "3"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "error: weight `{name}` holds infinite values, as loaded"
        )) && err.contains("at step 1")
            && err.contains("import the model again"),
        "{err}"
    );
    assert!(!err.contains("train.lr"), "advice that does not fit: {err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("session saved"));
    // Readers refuse it too, rather than answering NaN.
    let probe = run(home, &["probe", "--session", "inf", "a [MASK] film ."]);
    let export = home.join("hf");
    let export = run(home, &["export", "inf", "--hf", export.to_str().unwrap()]);
    for out in [probe, export] {
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains(&format!(
                "weights are broken: `{name}` holds infinite or NaN values"
            )),
            "{err}"
        );
    }
}

/// Overwrites the first value of tensor `name` (F32) in a safetensors file.
fn set_first_value(path: &Path, name: &str, value: f32) {
    let mut bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header[name]["dtype"], "F32");
    let start = 8 + n + header[name]["data_offsets"][0].as_u64().unwrap() as usize;
    bytes[start..start + 4].copy_from_slice(&value.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

/// A tmpfs of `mb` MiB at `dir`, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, mb: u32) -> Option<Self> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}m"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Self(dir.to_path_buf()))
    }

    fn resize(&self, mb: u32) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={mb}m")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_keeps_the_last_checkpoint_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = Tmpfs::mount(&dir.path().join("disk"), 40) else {
        // Mounting needs root (CI runs as root on this project's machines).
        assert_ne!(
            unsafe { libc::geteuid() },
            0,
            "root could not mount a tmpfs"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let home = disk.0.clone();
    let args = [
        "train",
        "--headless",
        "--session",
        "d",
        "--max-steps",
        "40",
        "--threads",
        "1",
        "--set",
        "train.checkpoint_every=5",
        "--set",
        "train.log_every=5",
        // 1.55M parameters: each checkpoint (weights and both AdamW moments) takes
        // about 19 MB, so the 40 MB disk fills within the run.
        "--set",
        "data.vocab_size=8192",
    ];
    let out = run(&home, &args);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("error: disk full: cannot save the checkpoint of step"),
        "{err}"
    );
    assert!(err.contains("the session is intact at step"), "{err}");
    assert!(err.contains("`bertwork resume d`"), "{err}");
    assert!(!err.contains("IoError") && !err.contains("Os {"), "{err}");
    let checkpoints = home.join("sessions/d/checkpoints");
    let names: Vec<String> = std::fs::read_dir(&checkpoints)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".partial")), "{names:?}");
    assert!(names.iter().any(|n| n.starts_with("step-")), "{names:?}");

    // Space freed: resume with no clean-up.
    disk.resize(200);
    let out = run(&home, &["resume", "d", "--headless", "--max-steps", "40"]);
    assert_ok(&out, "resume after freeing space");
    assert!(checkpoints.join("step-00000040/state.json").exists());
}

#[test]
fn a_session_follows_its_corpus_by_content_not_by_the_folder_it_was_started_from() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    corpus(&work, "c.csv", 200);
    let train = common::command(&home)
        .current_dir(&work)
        .args(["train", "--headless", "--session", "p", "--max-steps", "2"])
        .args([
            "--corpus",
            "c.csv",
            "--set",
            "train.threads=1",
            "--set",
            "data.vocab_size=200",
        ])
        .output()
        .unwrap();
    assert_ok(&train, "train with a relative corpus path");
    // From another folder: the session kept the absolute path.
    assert_ok(
        &run(&home, &["resume", "p", "--headless", "--max-steps", "3"]),
        "resume from elsewhere",
    );
    // The file moved: point the session at it; the content is the same.
    let moved = dir.path().join("moved.csv");
    std::fs::rename(work.join("c.csv"), &moved).unwrap();
    let set = format!("data.corpus=\"{}\"", moved.display());
    assert_ok(
        &run(
            &home,
            &[
                "resume",
                "p",
                "--headless",
                "--max-steps",
                "4",
                "--set",
                &set,
            ],
        ),
        "resume on the moved file",
    );
    // Another file under the moved name is still refused.
    corpus(dir.path(), "moved.csv", 150);
    let out = run(&home, &["resume", "p", "--headless", "--max-steps", "5"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has changed since session `p`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_run_killed_before_its_first_checkpoint_leaves_nothing_the_next_run_reuses() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let csv = corpus(dir.path(), "c.csv", 200);
    let csv = csv.to_str().unwrap();
    let first = Running::start(
        &home,
        &[
            "train",
            "--headless",
            "--json",
            "--session",
            "k",
            "--corpus",
            csv,
            "--set",
            "data.vocab_size=100",
            "--set",
            "train.threads=1",
            "--set",
            "train.log_every=1",
            "--set",
            "train.checkpoint_every=0",
        ],
    );
    first.wait_for_step(1);
    first.signal(libc::SIGKILL);
    assert_eq!(first.finish().0, None);
    assert!(home.join("sessions/k/tokenizer.json").exists());
    // Nothing was saved: `train` starts the session again, with the new settings.
    let again = run(
        &home,
        &[
            "train",
            "--headless",
            "--json",
            "--session",
            "k",
            "--corpus",
            csv,
            "--max-steps",
            "2",
            "--set",
            "data.vocab_size=300",
            "--set",
            "train.threads=1",
            "--set",
            "data.max_seq_len=64",
        ],
    );
    assert_ok(&again, "train again");
    let vocab = event(&events(&again), "started")["vocab_size"]
        .as_u64()
        .unwrap();
    assert!(
        vocab > 100,
        "the old vocabulary was reused ({vocab} tokens)"
    );
    let heldout = std::fs::read_to_string(home.join("sessions/k/heldout.json")).unwrap();
    assert!(heldout.contains("\"max_seq_len\": 64"), "{heldout}");
}

#[test]
fn printing_commands_end_quietly_when_their_reader_goes() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut args = vec!["train", "--headless", "--session", "s", "--max-steps", "1"];
    args.extend_from_slice(QUICK);
    assert_ok(&run(home, &args), "train");
    for cmd in [
        vec!["sessions"],
        vec!["sessions", "show", "s"],
        vec!["probe", "--session", "s", "a [MASK] film ."],
    ] {
        // `bertwork ... | head -0`: the reader is gone before anything is written.
        let mut child = common::command(home)
            .args(&cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{cmd:?}: {err}");
        assert_ne!(out.status.code(), Some(101), "{cmd:?}");
    }
}

#[test]
fn the_last_evaluation_counts_for_the_best_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    // The checkpoint of step 8 is written before the run's final evaluation.
    let mut args = vec!["train", "--headless", "--session", "b", "--max-steps", "8"];
    args.extend_from_slice(QUICK);
    args.extend_from_slice(&[
        "--set",
        "train.checkpoint_every=4",
        "--set",
        "train.eval_every=0",
    ]);
    assert_ok(&run(home, &args), "train");
    let best = std::fs::read_to_string(home.join("sessions/b/checkpoints/best.json"))
        .expect("best.json after the final evaluation");
    let best: serde_json::Value = serde_json::from_str(&best).unwrap();
    assert_eq!(best["step"], 8);
}

/// Writes `bytes` into the FIFO at `path` from a thread (a writer blocks until a
/// reader opens it, as `cat file > fifo` does).
fn feed_fifo(path: &Path, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = std::fs::write(path, bytes);
    })
}

/// A corpus that is a FIFO or a pipe (`--corpus <(zcat x.csv.gz)`) can be read once:
/// the session keeps a copy, and resume, the downstream probe and fine-tuning read
/// that, instead of blocking on the FIFO or failing on a closed /dev/fd path.
#[test]
fn a_streamed_corpus_is_kept_in_the_session_for_every_later_read() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let fifo = dir.path().join("reviews.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a path in a temporary folder.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let csv = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/imdb_sample.csv"))
        .unwrap();
    let writer = feed_fifo(&fifo, csv.clone());
    let corpus = fifo.to_str().unwrap();
    let mut args = vec![
        "train",
        "--headless",
        "--session",
        "fifo",
        "--max-steps",
        "2",
    ];
    args.extend(["--corpus", corpus]);
    args.extend(QUICK);
    let out = run(&home, &args);
    writer.join().unwrap();
    assert_ok(&out, "training from a FIFO");
    assert!(
        stderr(&out).contains("is a stream, readable once"),
        "{}",
        stderr(&out)
    );
    let copy = home.join("sessions/fifo/corpus.csv");
    assert_eq!(std::fs::read(&copy).unwrap(), csv);
    let config = std::fs::read_to_string(home.join("sessions/fifo/config.toml")).unwrap();
    assert!(
        config.contains(&format!("corpus = \"{}\"", copy.display())),
        "{config}"
    );
    // Nobody writes to the FIFO any more: a later read of it would block forever.
    let out = run(&home, &["resume", "fifo", "--headless", "--max-steps", "4"]);
    assert_ok(&out, "resuming");
    let mut args = vec!["finetune", "fifo", "--session", "fifo-cls", "--folds", "2"];
    args.extend(common::QUICK_RECIPE);
    let out = run(&home, &args);
    assert_ok(&out, "fine-tuning");
}
