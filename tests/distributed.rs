//! Data-parallel training on torch.distributed (Gloo over loopback, `--nproc`):
//! 2 ranks x batch 16 train as 1 process x batch 32; resume is exact with the same
//! world size and re-shards with another; a rank that dies or hangs stops the run with
//! an error naming it, and the session keeps its last checkpoint.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// QUICK_MODEL with `batch` examples per rank, dropout 0 (the default), seed fixed, in
/// fp32: the 2 x 16 = 1 x 32 comparisons hold to 1e-5, which bf16's rounding (the
/// default on CPUs with bf16 units) does not.
fn args(session: &str, batch: usize, max_steps: u64, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["train", "--headless", "--json", "--session", session]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.extend(common::QUICK_MODEL.iter().map(|s| s.to_string()));
    for s in [
        format!("train.batch_size={batch}"),
        "train.eval_every=0".into(),
        "train.checkpoint_every=4".into(),
        "train.precision=fp32".into(),
        format!("train.max_steps={max_steps}"),
    ] {
        v.push("--set".into());
        v.push(s);
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_ok(home: &Path, args: &[String]) -> String {
    let out = common::command(home).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "bertwork {args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).to_string() + &stderr
}

/// step -> (mlm_loss, mlm_acc, nsp_loss, nsp_acc, lr, grad_norm) of training rows.
fn train_rows(home: &Path, session: &str) -> BTreeMap<u64, Vec<f64>> {
    common::metrics(home, session)
        .into_iter()
        .filter(|((split, _), _)| split == "train")
        .map(|((_, step), cols)| {
            (
                step,
                cols.iter()
                    .map(|c| {
                        if c.is_empty() {
                            0.0
                        } else {
                            c.parse().unwrap()
                        }
                    })
                    .collect(),
            )
        })
        .collect()
}

/// Losses, gradient norms and learning rates agree within `tol` (relative), and the
/// accuracies within one masked token in a thousand.
fn assert_close(a: &BTreeMap<u64, Vec<f64>>, b: &BTreeMap<u64, Vec<f64>>, steps: &[u64], tol: f64) {
    for step in steps {
        let (x, y) = (&a[step], &b[step]);
        for (i, (u, v)) in x.iter().zip(y).enumerate() {
            let bound = if i == 1 || i == 3 {
                1e-3
            } else {
                tol * u.abs().max(1.0)
            };
            assert!((u - v).abs() <= bound, "step {step} column {i}: {u} vs {v}");
        }
    }
}

#[test]
fn two_ranks_of_16_train_as_one_process_of_32() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let out = run_ok(home, &args("two", 16, 6, &["--nproc", "2"]));
    assert!(out.contains("\"world_size\":2"), "{out}");
    assert!(out.contains("rank_tokens_per_s"), "{out}");
    assert!(out.contains("collective_share"), "{out}");
    run_ok(home, &args("one", 32, 6, &[]));
    let (two, one) = (train_rows(home, "two"), train_rows(home, "one"));
    assert_eq!(
        two.keys().collect::<Vec<_>>(),
        (1..=6).collect::<Vec<_>>().iter().collect::<Vec<_>>()
    );
    assert_close(&two, &one, &[1, 2, 3, 4, 5, 6], 1e-5);
    // Averaging overlapped with backward (c10d's Reducer), with NSP on and off.
    for nsp in ["true", "false"] {
        let set = ["--set".to_string(), format!("model.nsp={nsp}")];
        let set: Vec<&str> = set.iter().map(String::as_str).collect();
        let mut c = common::command(home);
        c.env("BERTWORK_DDP_OVERLAP", "1");
        let a = args(
            &format!("overlap-{nsp}"),
            16,
            3,
            &[&set[..], &["--nproc", "2"]].concat(),
        );
        assert!(c.args(&a).output().unwrap().status.success());
        run_ok(home, &args(&format!("whole-{nsp}"), 32, 3, &set));
        let (x, y) = (
            train_rows(home, &format!("overlap-{nsp}")),
            train_rows(home, &format!("whole-{nsp}")),
        );
        assert_close(&x, &y, &[1, 2, 3], 1e-5);
    }
    // With gradient accumulation too (2 micro-batches of the global batch a step).
    let accum = ["--set", "train.grad_accum=2"];
    run_ok(
        home,
        &args(
            "two-accum",
            16,
            3,
            &[&accum[..], &["--nproc", "2"]].concat(),
        ),
    );
    run_ok(home, &args("one-accum", 32, 3, &accum));
    let (a, b) = (train_rows(home, "two-accum"), train_rows(home, "one-accum"));
    assert_close(&a, &b, &[1, 2, 3], 1e-5);
    // A different split must show: 2 ranks x 8 is another batch, other losses.
    run_ok(home, &args("small", 8, 2, &["--nproc", "2"]));
    let small = train_rows(home, "small");
    assert!((small[&2][0] - one[&2][0]).abs() > 1e-4);
}

#[test]
fn resume_is_exact_with_the_same_world_size_and_reshards_with_another() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    run_ok(home, &args("straight", 16, 8, &["--nproc", "2"]));
    run_ok(home, &args("cut", 16, 4, &["--nproc", "2"]));
    let resume = |session: &str, extra: &[&str]| {
        let mut v: Vec<String> = [
            "resume",
            session,
            "--headless",
            "--json",
            "--max-steps",
            "8",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        run_ok(home, &v)
    };
    resume("cut", &["--nproc", "2"]);
    let (straight, cut) = (train_rows(home, "straight"), train_rows(home, "cut"));
    // The same world size: the very same numbers.
    assert_eq!(straight, cut);
    // One process of 32 from the 2 x 16 checkpoint of step 4: the rest of the epoch
    // re-sharded, the same examples and masks, so the same losses within rounding.
    run_ok(home, &args("moved", 16, 4, &["--nproc", "2"]));
    let out = resume("moved", &["--set", "train.batch_size=32"]);
    assert!(out.contains("re-sharded"), "{out}");
    assert_close(&straight, &train_rows(home, "moved"), &[5, 6, 7, 8], 1e-5);
}

/// The pid of rank 1, a child of rank 0 (`parent`).
fn rank1_of(parent: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        let ppid: u32 = stat
            .rsplit(')')
            .next()?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        (ppid == parent).then_some(pid)
    })
}

/// Starts a long 2-rank run, sends `signal` to rank 1 once step 6 is logged, and
/// returns (exit status, the JSON lines and stderr, seconds from the signal to the
/// exit).
fn fault(home: &Path, session: &str, signal: i32, timeout_s: &str) -> (Option<i32>, String, f64) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bertwork"))
        .env("BERTWORK_HOME", home)
        .env("BERTWORK_DIST_TIMEOUT", timeout_s)
        .args(args(session, 16, 100_000, &["--nproc", "2"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut sent = None;
    let mut json = String::new();
    for line in stdout.lines() {
        let line = line.unwrap();
        json += &line;
        json.push('\n');
        if sent.is_none() && line.contains("\"event\":\"step\"") && line.contains("\"step\":6,") {
            let pid = rank1_of(child.id()).expect("rank 1 runs");
            unsafe { libc::kill(pid as i32, signal) };
            sent = Some((Instant::now(), pid));
        }
    }
    let out = child.wait_with_output().unwrap();
    let (at, pid) = sent.expect("the run reached step 6");
    let seconds = at.elapsed().as_secs_f64();
    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    let stderr = String::from_utf8_lossy(&out.stderr);
    (out.status.code(), json + &stderr, seconds)
}

#[test]
fn a_rank_that_dies_or_hangs_stops_the_run_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (code, stderr, _) = fault(home, "killed", libc::SIGKILL, "60");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rank 1 was killed by signal 9"), "{stderr}");
    let errors = stderr.matches("\"event\":\"error\"").count();
    assert_eq!(errors, 1, "one error: {stderr}");
    // The last complete checkpoint resumes (in one process, batch 32: re-sharded).
    let ckpts = std::fs::read_dir(home.join("sessions/killed/checkpoints"))
        .unwrap()
        .count();
    assert!(ckpts >= 1);
    run_ok(
        home,
        &[
            "resume".into(),
            "killed".into(),
            "--headless".into(),
            "--max-steps".into(),
            "12".into(),
            "--set".into(),
            "train.batch_size=32".into(),
        ],
    );

    let (code, stderr, seconds) = fault(home, "hung", libc::SIGSTOP, "3");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rank 1 (last at step"), "{stderr}");
    assert!(stderr.contains("did not answer within 3 s"), "{stderr}");
    assert!(seconds < 30.0, "stopped {seconds:.1} s after the hang");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn bad_launches_say_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::command(dir.path())
        .args(args("zero", 16, 2, &["--nproc", "0"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--nproc 0"), "{stderr}");
    // More processes than cores is refused before any starts.
    let out = common::command(dir.path())
        .args(args("many", 16, 2, &["--nproc", "100000"]))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("each process needs one"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A rank 0 whose other ranks never come: one line once the timeout passes.
    let out = common::command(dir.path())
        .args(args("alone", 16, 2, &[]))
        .env("WORLD_SIZE", "2")
        .env("RANK", "0")
        .env("MASTER_PORT", free_port().to_string())
        .env("BERTWORK_DIST_TIMEOUT", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("rank 0 of 2 could not join"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!dir.path().join("sessions/alone").exists());
    let out = common::command(dir.path())
        .args(args("under", 16, 2, &["--nproc", "2"]))
        .env("WORLD_SIZE", "2")
        .env("RANK", "0")
        .env("MASTER_PORT", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot be combined with torchrun"),
        "{stderr}"
    );
    let out = common::command(dir.path())
        .args(args("bad", 16, 2, &[]))
        .env("WORLD_SIZE", "2")
        .env("RANK", "one")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("RANK=\"one\" is not a valid number"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // Refused launches leave no session behind.
    assert!(!dir.path().join("sessions/zero").exists());
}

/// A listener that accepts connections and never answers: a port held by some other
/// program. Returns its port; the connections live as long as the process.
fn silent_listener() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    port
}

/// Starts one rank of a 2-rank run against `port`, sends `signal` after `after_s`
/// (none when 0), and returns (exit status, stderr, seconds to the exit).
fn lone_rank(
    home: &Path,
    rank: &str,
    agent_store: bool,
    port: u16,
    timeout_s: &str,
    signal: Option<(i32, f64)>,
) -> (Option<i32>, String, f64) {
    let start = Instant::now();
    let mut cmd = common::command(home);
    cmd.args(args(&format!("lone-{rank}"), 16, 2, &[]))
        .env("WORLD_SIZE", "2")
        .env("RANK", rank)
        .env("MASTER_PORT", port.to_string())
        .env("BERTWORK_DIST_TIMEOUT", timeout_s)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if agent_store {
        cmd.env("TORCHELASTIC_USE_AGENT_STORE", "True");
    }
    let child = cmd.spawn().unwrap();
    if let Some((signal, after)) = signal {
        std::thread::sleep(std::time::Duration::from_secs_f64(after));
        unsafe { libc::kill(child.id() as i32, signal) };
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.code(), stderr, start.elapsed().as_secs_f64())
}

#[test]
fn a_rank_that_cannot_reach_rank_0_honours_the_timeout_and_every_signal() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let port = silent_listener();
    // The timeout: one line, exit 1, soon after the 3 s.
    let (code, stderr, seconds) = lone_rank(home, "1", false, port, "3", None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("rank 1 of 2 could not join"), "{stderr}");
    assert!(stderr.contains("nothing answered"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(seconds < 20.0, "{seconds:.1} s");
    // Each termination signal ends the wait at once, with 128 + its number.
    for (signal, name) in [
        (libc::SIGTERM, "SIGTERM"),
        (libc::SIGINT, "SIGINT"),
        (libc::SIGHUP, "SIGHUP"),
    ] {
        let (code, stderr, seconds) = lone_rank(home, "1", false, port, "120", Some((signal, 1.5)));
        assert_eq!(code, Some(128 + signal), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("rank 1 stopped by {name}")),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(seconds < 20.0, "{name}: {seconds:.1} s");
    }
    // Rank 0 as a client of torchrun's agent store behaves the same, and leaves no
    // session behind.
    let (code, stderr, _) = lone_rank(home, "0", true, port, "120", Some((libc::SIGTERM, 1.5)));
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("rank 0 stopped by SIGTERM"), "{stderr}");
    assert!(!home.join("sessions/lone-0").exists());
    let (code, stderr, _) = lone_rank(home, "0", true, port, "2", None);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("nothing answered"), "{stderr}");
    assert!(!home.join("sessions/lone-0").exists());
}

#[test]
fn a_signal_to_one_training_rank_alone_ends_it_after_the_timeout() {
    // Rank 0 did not get the signal, so it does not stop the run: rank 1 waits the
    // group's timeout for it, then ends, and rank 0 names it.
    let dir = tempfile::tempdir().unwrap();
    let (code, out, seconds) = fault(dir.path(), "termed", libc::SIGTERM, "3");
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("rank 1: stopped by SIGTERM"), "{out}");
    assert!(seconds < 30.0, "stopped {seconds:.1} s after the signal");
}

/// Starts the two ranks of a group as torchrun does (its variables, rank 0 serving the
/// store), attempt `restart` of job `job`; when `kill_at` is given, SIGKILLs rank 1
/// once rank 0 logs that step. Returns (rank 0's exit status, its stdout and stderr).
fn torchrun_group(
    home: &Path,
    args: &[String],
    job: &str,
    restart: u32,
    kill_at: Option<u64>,
) -> (Option<i32>, String) {
    let port = free_port().to_string();
    let start = |rank: &str, stdout: Stdio| {
        common::command(home)
            .args(args)
            .env("WORLD_SIZE", "2")
            .env("RANK", rank)
            .env("LOCAL_RANK", rank)
            .env("LOCAL_WORLD_SIZE", "2")
            .env("MASTER_ADDR", "127.0.0.1")
            .env("MASTER_PORT", &port)
            .env("TORCHELASTIC_RUN_ID", job)
            .env("TORCHELASTIC_RESTART_COUNT", restart.to_string())
            .env("BERTWORK_DIST_TIMEOUT", "20")
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut rank0 = start("0", Stdio::piped());
    let mut rank1 = start("1", Stdio::null());
    let mut out = String::new();
    for line in BufReader::new(rank0.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if kill_at.is_some_and(|s| line.contains(&format!("\"step\":{s},"))) {
            let _ = rank1.kill();
        }
        out += &line;
        out.push('\n');
    }
    let status = rank0.wait_with_output().unwrap();
    let _ = rank1.kill();
    let _ = rank1.wait();
    out += &String::from_utf8_lossy(&status.stderr);
    (status.status.code(), out)
}

/// torchrun's `--max-restarts`: after a rank dies, torchrun starts the same command
/// again with `TORCHELASTIC_RESTART_COUNT` raised; the session this job created then
/// resumes from its last checkpoint, exactly, instead of "already exists".
#[test]
fn a_restarted_torchrun_group_resumes_the_session_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (code, out) = torchrun_group(home, &args("straight", 16, 16, &[]), "ref", 0, None);
    assert_eq!(code, Some(0), "{out}");
    let cut = args("cut", 16, 16, &[]);
    let (code, out) = torchrun_group(home, &cut, "job-a", 0, Some(6));
    assert_eq!(code, Some(1), "rank 1 was killed: {out}");
    let (code, out) = torchrun_group(home, &cut, "job-a", 1, None);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("resuming session `cut`"), "{out}");
    assert_eq!(train_rows(home, "straight"), train_rows(home, "cut"));
    // Another job's restart does not take over a session it did not create.
    let (code, out) = torchrun_group(home, &cut, "job-b", 1, None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("session `cut` already exists"), "{out}");
    // Nor does a first attempt.
    let (code, out) = torchrun_group(home, &cut, "job-a", 0, None);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("already exists"), "{out}");
}

/// Rank 0 and rank 1 started by hand with their own command lines, as on two
/// machines; returns (rank 0's status and output, rank 1's status and stderr).
fn two_machines(
    home: &Path,
    rank0: &[String],
    rank1: &[String],
) -> ((Option<i32>, String), (Option<i32>, String)) {
    let port = free_port().to_string();
    let start = |rank: &str, args: &[String]| {
        common::command(home)
            .args(args)
            .env("WORLD_SIZE", "2")
            .env("RANK", rank)
            .env("LOCAL_RANK", "0")
            .env("LOCAL_WORLD_SIZE", "1")
            .env("MASTER_ADDR", "127.0.0.1")
            .env("MASTER_PORT", &port)
            .env("GLOO_SOCKET_IFNAME", "lo")
            .env("BERTWORK_DIST_TIMEOUT", "30")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start("0", rank0), start("1", rank1));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let text = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr)
    };
    ((a.status.code(), text(&a)), (b.status.code(), text(&b)))
}

/// A multi-node launch where one node was told other things: rank 0's session config
/// rules, each machine keeps its own corpus path and core count, and what a rank was
/// given that contradicts rank 0 is named on that rank's console, not dropped silently.
#[test]
fn each_rank_keeps_its_own_paths_and_cores_and_names_what_rank_0_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/imdb_sample.csv");
    let (here, there) = (dir.path().join("a.csv"), dir.path().join("node-b/b.csv"));
    std::fs::create_dir_all(there.parent().unwrap()).unwrap();
    std::fs::copy(&sample, &here).unwrap();
    std::fs::copy(&sample, &there).unwrap();
    let with = |session: &str, corpus: &Path, extra: &[&str]| {
        let mut v = args(session, 16, 3, extra);
        v.extend(["--corpus".into(), corpus.display().to_string()]);
        v
    };
    let rank0 = with("nodes", &here, &["--set", "train.lr=5e-4"]);
    let rank1 = with(
        "nodes",
        &there,
        &["--set", "train.lr=2e-3", "--threads", "1"],
    );
    let ((code0, out0), (code1, out1)) = two_machines(home, &rank0, &rank1);
    assert_eq!(code0, Some(0), "{out0}");
    assert_eq!(code1, Some(0), "{out1}");
    assert!(out1.contains("warning: rank 1:"), "{out1}");
    assert!(out1.contains("train.lr=0.002 (rank 0: 0.0005)"), "{out1}");
    assert_eq!(out1.matches("warning").count(), 1, "{out1}");
    // The same options on both: nothing to say.
    let ((code0, out0), (code1, out1)) =
        two_machines(home, &with("same", &here, &[]), &with("same", &there, &[]));
    assert_eq!((code0, code1), (Some(0), Some(0)), "{out0}\n{out1}");
    assert!(!out1.contains("warning"), "{out1}");
    // Another content at rank 1's path is refused there, with one line.
    std::fs::write(
        &there,
        "review,sentiment\nsomething else entirely,positive\n",
    )
    .unwrap();
    let ((_, out0), (code1, out1)) = two_machines(
        home,
        &with("differ", &here, &[]),
        &with("differ", &there, &[]),
    );
    assert_ne!(code1, Some(0), "{out1}");
    assert!(
        out1.contains("is not the file rank 0 trains on"),
        "{out1}\n{out0}"
    );
    assert_eq!(out1.lines().count(), 1, "{out1}");
}
