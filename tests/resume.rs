//! Resume is exact: a run that is stopped (Ctrl-C) or killed (`kill -9`) and resumed
//! logs the same losses, step for step, as one that ran straight through; its
//! `metrics.csv` has no torn or duplicated rows.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const STEPS: &str = "30";

/// A small, quick model on the embedded corpus, logging every step, evaluating every
/// 10 and checkpointing every 4.
fn base_args() -> Vec<String> {
    common::QUICK_MODEL
        .iter()
        .chain(&[
            "--set",
            "train.eval_every=10",
            "--set",
            "train.checkpoint_every=4",
            "--set",
            "train.watch=[\"this movie was [MASK] . | good, the\"]",
            "--set",
            "train.watch_every=3",
        ])
        .map(|s| s.to_string())
        .collect()
}

mod common;

fn command(home: &Path, args: &[String]) -> Command {
    let mut c = common::command(home);
    c.args(args);
    c
}

fn train_args(session: &str) -> Vec<String> {
    let mut a: Vec<String> = ["train", "--headless", "--json", "--max-steps", STEPS]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.extend(["--session".into(), session.into()]);
    a.extend(base_args());
    a
}

fn resume_args(session: &str) -> Vec<String> {
    ["resume", session, "--headless", "--json"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Runs to completion.
fn run(home: &Path, args: &[String]) {
    let out = command(home, args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs until a step log at or past `step`, then sends `signal`; returns the exit
/// status (`None` when a signal ended the process).
fn run_until(home: &Path, args: &[String], step: u64, signal: i32) -> Option<i32> {
    let mut child = command(home, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut sent = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if !sent && v["event"] == "step" && v["step"].as_u64().unwrap() >= step {
            unsafe { libc::kill(child.id() as i32, signal) };
            sent = true;
        }
    }
    child.wait().unwrap().code()
}

fn assert_same_run(home: &Path, reference: &str, resumed: &str) {
    let (a, b) = (
        common::metrics(home, reference),
        common::metrics(home, resumed),
    );
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same steps were logged"
    );
    let differ: Vec<String> = a
        .iter()
        .filter(|(key, values)| *values != &b[*key])
        .map(|(key, values)| format!("{key:?}: {values:?} vs {:?}", b[key]))
        .collect();
    assert!(
        differ.is_empty(),
        "{resumed} differs from {reference} at:\n{}",
        differ.join("\n")
    );
    assert!(a.len() >= 30, "every step was logged");
    // The watched probes' readings too: cut back to the checkpoint, then the same.
    let watched = |name: &str| {
        std::fs::read_to_string(home.join("sessions").join(name).join("watched.csv")).unwrap()
    };
    let (wa, wb) = (watched(reference), watched(resumed));
    assert_eq!(
        wa.lines().filter(|l| l.contains(",1,")).count(),
        10,
        "read every 3 steps"
    );
    assert_eq!(wa, wb, "{resumed}'s watched.csv differs from {reference}'s");
}

#[test]
fn stopped_or_killed_runs_resume_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    run(home, &train_args("straight"));

    // Ctrl-C: the trainer finishes its step, checkpoints and exits 128 + SIGINT.
    assert_eq!(
        run_until(home, &train_args("stopped"), 9, libc::SIGINT),
        Some(130)
    );
    let stopped = common::metrics(home, "stopped");
    assert!(stopped.len() < 30, "the run was stopped early");
    run(home, &resume_args("stopped"));
    assert_same_run(home, "straight", "stopped");

    // kill -9 after a checkpoint: the rows written after it are dropped on resume.
    assert_eq!(
        run_until(home, &train_args("killed"), 14, libc::SIGKILL),
        None
    );
    run(home, &resume_args("killed"));
    assert_same_run(home, "straight", "killed");

    // Killed again and again at different moments (after the first checkpoint, at
    // step 4), each time resumed.
    let mut args = train_args("again");
    for step in [5, 7, 13, 18, 26] {
        run_until(home, &args, step, libc::SIGKILL);
        args = resume_args("again");
    }
    run(home, &args);
    assert_same_run(home, "straight", "again");

    // A finished session says how to train further.
    let out = command(home, &resume_args("straight")).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("--max-steps"),
        "{stderr}"
    );
}

#[test]
fn a_damaged_checkpoint_falls_back_to_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let mut args = train_args("damaged");
    args[4] = "12".into(); // --max-steps 12: checkpoints at 4, 8 and 12
    run(home, &args);
    let ckpts = home.join("sessions/damaged/checkpoints");
    let newest = ckpts.join("step-00000012/model.safetensors");
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &bytes[..bytes.len() / 2]).unwrap();
    let out = command(
        home,
        &[
            "resume".into(),
            "damaged".into(),
            "--headless".into(),
            "--max-steps".into(),
            "14".into(),
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("step-00000012") && stderr.contains("falling back"),
        "{stderr}"
    );
    let steps: Vec<u64> = common::metrics(home, "damaged")
        .keys()
        .filter(|(split, _)| split == "train")
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(
        steps,
        (1..=14).collect::<Vec<_>>(),
        "steps 9..12 were redone once"
    );

    check_tensorboard_matches_csv(home, "damaged");
    check_newer_versions_are_refused_clearly(home);
    check_sessions_commands(home);

    let out = command(
        home,
        &["resume".into(), "nosuch".into(), "--headless".into()],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no session named `nosuch`") && stderr.contains("sessions: none yet"),
        "{stderr}"
    );
}

/// The TensorBoard files decode (CRCs checked) to the scalars in metrics.csv, once
/// the resume's SessionLog START has purged the points of the cut-off run.
fn check_tensorboard_matches_csv(home: &Path, session: &str) {
    use bertwork::records::tensorboard::{read_events, Decoded};
    let dir = home.join("sessions").join(session).join("tensorboard");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "one event file per run");
    let mut points: BTreeMap<u64, f32> = BTreeMap::new();
    for f in files {
        for event in read_events(&f).unwrap() {
            match event {
                Decoded::SessionStart { step } => points.retain(|&s, _| s < step),
                Decoded::Scalars { step, values } => {
                    for (tag, v) in values {
                        if tag == "train/mlm_loss" {
                            points.insert(step, v);
                        }
                    }
                }
                Decoded::FileVersion(_) => {}
            }
        }
    }
    let csv: BTreeMap<u64, f32> = common::metrics(home, session)
        .into_iter()
        .filter(|((split, _), _)| split == "train")
        .map(|((_, step), v)| (step, v[0].parse::<f64>().unwrap() as f32))
        .collect();
    assert_eq!(points, csv);
}

fn check_sessions_commands(home: &Path) {
    let run_ok = |args: &[&str]| {
        let out = command(
            home,
            &args.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let list = run_ok(&["sessions"]);
    let line = list
        .lines()
        .find(|l| l.starts_with("damaged"))
        .expect(&list);
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields[2], "14", "steps: {line}");
    assert!(
        fields[3].parse::<f64>().unwrap() > 0.0,
        "best MLM loss: {line}"
    );
    let show = run_ok(&["sessions", "show", "damaged"]);
    assert!(
        show.contains("(best)") && show.contains("step       14"),
        "{show}"
    );
    let out = command(home, &["sessions".into(), "rm".into(), "damaged".into()])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(home.join("sessions/damaged").exists());
    run_ok(&["sessions", "rm", "damaged", "--yes"]);
    assert!(!home.join("sessions/damaged").exists());
}

/// A checkpoint or config written by a newer bertwork: a clear message, nothing lost,
/// and no silent fall-back to an older checkpoint.
fn check_newer_versions_are_refused_clearly(home: &Path) {
    let session = home.join("sessions/damaged");
    let resume = || {
        let args: Vec<String> = ["resume", "damaged", "--headless", "--max-steps", "20"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = command(home, &args).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr
    };
    let metrics = std::fs::read(session.join("metrics.csv")).unwrap();
    let state = session.join("checkpoints/step-00000014/state.json");
    let original = std::fs::read_to_string(&state).unwrap();

    std::fs::write(&state, original.replace("\"format\": 1", "\"format\": 99")).unwrap();
    let stderr = resume();
    assert!(
        stderr.contains("newer bertwork") && stderr.contains("upgrade"),
        "{stderr}"
    );

    let mut v: serde_json::Value = serde_json::from_str(&original).unwrap();
    v["config"]["train"]["future_knob"] = 3.into();
    std::fs::write(&state, serde_json::to_string(&v).unwrap()).unwrap();
    let stderr = resume();
    assert!(
        stderr.contains("future_knob") && stderr.contains("newer"),
        "{stderr}"
    );

    assert_eq!(
        std::fs::read(session.join("metrics.csv")).unwrap(),
        metrics,
        "a refused resume leaves the session as it was"
    );
    std::fs::write(&state, original).unwrap();
}

/// A checkpoint records its precision: a resume in another one (an explicit change, or
/// `auto` on a machine with other bf16 units) says the run is no longer bit-exact; in
/// the same one it says nothing.
#[test]
fn a_resume_in_another_precision_warns() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let mut args = vec![
        "train",
        "--headless",
        "--session",
        "prec",
        "--max-steps",
        "2",
    ];
    args.extend_from_slice(common::QUICK_MODEL);
    args.extend_from_slice(&["--set", "train.precision=fp32"]);
    let out = common::bertwork(h, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(", fp32\n"));
    let resume = |max: &str, precision: &str| {
        let out = common::bertwork(
            h,
            &[
                "resume",
                "prec",
                "--headless",
                "--max-steps",
                max,
                "--set",
                &format!("train.precision={precision}"),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Headless warnings go to the run's output with everything else it says.
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    assert!(!resume("3", "fp32").contains("continues in"));
    let err = resume("4", "bf16");
    assert!(
        err.contains("trained in fp32 and continues in bf16 autocast"),
        "{err}"
    );
}
