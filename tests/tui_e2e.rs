//! The real binary in tmux, driven with send-keys as a person would: charts appear, the
//! step counter moves, a probe answers while training, space pauses and resumes, a
//! hyperparameter edit is applied at the next epoch, and q + s saves, exits 0 and
//! restores the terminal.
//!
//! Without tmux the tests are skipped with a message on stderr, except under `CI=true`
//! (or `CI=1`), where a missing tmux fails them: CI must not skip them silently.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    name: String,
}

/// Whether the end-to-end tests can run: true with tmux; without it, false after
/// saying so, or a failure under CI.
fn tmux_available(session: &str) -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "tmux is not installed, and CI is set: the end-to-end test in tmux session {session} cannot be skipped (`make test-tools` installs tmux)"
    );
    // Straight to stderr: the test harness would hide eprintln!'s output of a passing test.
    let _ = writeln!(
        std::io::stderr(),
        "skipping the end-to-end test in tmux session {session}: tmux is not installed (`make test-tools` installs it)"
    );
    false
}

impl Tmux {
    /// A detached tmux session `name` running `command`; None (the test is skipped)
    /// when tmux is not installed, see `tmux_available`.
    fn start(name: &str, command: &str) -> Option<Self> {
        if !tmux_available(name) {
            return None;
        }
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", name])
            .status();
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "110",
                "-y",
                "34",
                command,
            ])
            .status()
            .expect("cannot run tmux");
        assert!(ok.success());
        Some(Self { name: name.into() })
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux")
                .args(["send-keys", "-t", &self.name, k])
                .status()
                .unwrap();
            std::thread::sleep(Duration::from_millis(60));
        }
    }

    fn text(&self, text: &str) {
        Command::new("tmux")
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .unwrap();
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    fn wait_for(&self, what: &str, timeout_s: u64, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(timeout_s) {
                panic!("timed out waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.name])
            .status();
    }
}

/// The step counter on the dashboard ("step N/TOTAL").
fn step_of(screen: &str) -> Option<u64> {
    let i = screen.find("step ")?;
    let rest = &screen[i + 5..];
    rest.split('/').next()?.trim().parse().ok()
}

fn small_corpus(dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/imdb_sample.csv"),
    )
    .unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let path = dir.join("small.csv");
    let mut writer = csv::Writer::from_path(&path).unwrap();
    writer.write_record(["review", "sentiment"]).unwrap();
    for record in reader.records().take(60) {
        writer.write_record(&record.unwrap()).unwrap();
    }
    writer.flush().unwrap();
    path
}

#[test]
fn workbench_in_tmux() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let corpus = small_corpus(dir.path());
    let command = format!(
        "BERTWORK_HOME={} {} tui --corpus {} --session e2e --set train.batch_size=8 --set data.max_seq_len=48 \
         --set train.log_every=1 --set train.epochs=50 --set train.threads=1 --set data.vocab_size=800 \
         --set data.heldout_fraction=0.1; echo EXIT=$?; sleep 60",
        home.display(),
        env!("CARGO_BIN_EXE_bertwork"),
        corpus.display()
    );
    let Some(t) = Tmux::start("bertwork-e2e", &command) else {
        return;
    };

    let s = t.wait_for("charts", 60, |s| {
        s.contains("MLM loss") && step_of(s).unwrap_or(0) >= 3
    });
    assert!(s.contains("NSP loss") && s.contains("Metrics"));
    let first = step_of(&s).unwrap();
    t.wait_for("the step counter to move", 30, |s| {
        step_of(s).unwrap_or(0) > first + 2
    });

    // A probe while training.
    t.keys(&["2"]);
    t.text("this movie was [MASK] .");
    t.keys(&["Enter"]);
    t.wait_for("a probe answer", 30, |s| s.contains("→ this movie was"));
    t.keys(&["Escape", "1"]);

    // Pause: the counter stops; resume: it moves again.
    t.keys(&["Space"]);
    let s = t.wait_for("paused", 20, |s| s.contains(" paused "));
    let paused = step_of(&s).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        step_of(&t.screen()),
        Some(paused),
        "the step counter moved while paused"
    );
    t.keys(&["Space"]);
    t.wait_for("training again", 30, |s| step_of(s).unwrap_or(0) > paused);

    // A batch-size edit waits for the next epoch, then shows in the log.
    t.keys(&[
        "3", "Down", "Down", "Down", "Enter", "BSpace", "BSpace", "BSpace",
    ]);
    t.text("4");
    t.keys(&["Enter"]);
    // The panel's message, not the table's transient "(queued)" marker: on this small
    // corpus an epoch can end, and the change apply, before the next screen capture.
    t.wait_for("queued", 10, |s| {
        s.contains("train.batch_size = 4 queued for the next epoch")
    });
    t.keys(&["4"]);
    t.wait_for("the change applied", 90, |s| {
        s.contains("train.batch_size=4 applied from step")
    });

    // The report of the running session, from its saved files; the popup says where.
    t.keys(&["1", "r"]);
    t.wait_for("the report's popup", 30, |s| {
        s.contains(" Report ") && s.contains("report written to")
    });
    t.keys(&["Escape"]);
    t.wait_for("the popup closed", 10, |s| !s.contains(" Report "));
    let report = home.join("sessions/e2e/report");
    assert!(report.join("index.html").exists() && report.join("mlm_loss.png").exists());

    // Quit, saving.
    t.keys(&["q"]);
    t.wait_for("the quit popup", 10, |s| s.contains("Quit?"));
    t.keys(&["s"]);
    let s = t.wait_for("exit", 60, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=0"), "{s}");
    assert!(s.contains("session saved in"), "{s}");
    assert!(
        !s.contains("1 Dashboard"),
        "the alternate screen was not left:\n{s}"
    );
    let session = home.join("sessions/e2e");
    assert!(session.join("model.safetensors").exists() && session.join("config.toml").exists());
}

/// The pid of the bertwork process whose command line contains `marker`.
fn pid_of(marker: &str) -> i32 {
    let out = Command::new("pgrep")
        .args([
            "-f",
            &format!("^{}.*{marker}", env!("CARGO_BIN_EXE_bertwork")),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no bertwork process for {marker}"))
}

#[test]
fn sigterm_in_the_workbench_saves_restores_the_terminal_and_exits_143() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let corpus = small_corpus(dir.path());
    let command = format!(
        "BERTWORK_HOME={} {} tui --corpus {} --session term-e2e --set train.batch_size=8 \
         --set data.max_seq_len=48 --set train.log_every=1 --set train.threads=1 \
         --set data.vocab_size=800 --set data.heldout_fraction=0.1; echo EXIT=$?; sleep 60",
        home.display(),
        env!("CARGO_BIN_EXE_bertwork"),
        corpus.display()
    );
    let Some(t) = Tmux::start("bertwork-term", &command) else {
        return;
    };
    t.wait_for("training", 60, |s| step_of(s).unwrap_or(0) >= 3);
    // SAFETY: a signal to the workbench process this test started.
    unsafe { libc::kill(pid_of("term-e2e"), libc::SIGTERM) };
    let s = t.wait_for("exit", 60, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=143"), "{s}");
    assert!(s.contains("session saved in"), "{s}");
    assert!(
        !s.contains("1 Dashboard"),
        "the alternate screen was not left:\n{s}"
    );
    let checkpoints = home.join("sessions/term-e2e/checkpoints");
    assert!(std::fs::read_dir(checkpoints).unwrap().count() > 0);
}

#[test]
fn a_failed_workbench_run_says_why_in_full_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let corpus = dir.path().join("twelve.csv");
    let mut text = String::from("review,sentiment\n");
    for i in 0..12 {
        text.push_str(&format!(
            "\"review number {i} was fine. it was long.\",positive\n"
        ));
    }
    std::fs::write(&corpus, text).unwrap();
    let command = format!(
        "BERTWORK_HOME={} {} tui --corpus {} --session small; echo EXIT=$?; sleep 60",
        home.display(),
        env!("CARGO_BIN_EXE_bertwork"),
        corpus.display()
    );
    let Some(t) = Tmux::start("bertwork-fail", &command) else {
        return;
    };
    let s = t.wait_for("the failure popup", 60, |s| s.contains("Training failed"));
    assert!(s.contains("raise data.heldout_fraction"), "cut short:\n{s}");
    t.keys(&["Escape", "q"]);
    let s = t.wait_for("exit", 30, |s| s.contains("EXIT="));
    assert!(s.contains("EXIT=1"), "{s}");
    // In full, whatever the terminal's wrapping.
    let flat: String = s.split_whitespace().collect();
    assert!(
        flat.contains("error:thecorpushas12documents")
            && flat.contains("usealargercorpusorraisedata.heldout_fraction"),
        "{s}"
    );
    assert!(!s.contains("session saved"), "{s}");
    assert!(!home.join("sessions/small").exists());
}

/// Job control as in every full-screen program: Ctrl-Z (and `kill -TSTP` from outside)
/// gives the shell a cooked terminal on the main screen; `fg` repaints the workbench
/// and keys work again.
#[test]
fn ctrl_z_suspends_with_the_terminal_restored_and_fg_repaints() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let corpus = small_corpus(dir.path());
    let Some(t) = Tmux::start("bertwork-suspend", "bash --norc --noprofile -i") else {
        return;
    };
    t.text(&format!(
        "PS1='$ '; BERTWORK_HOME={} {} tui --corpus {} --session suspend-e2e --set train.batch_size=8 \
         --set data.max_seq_len=48 --set train.log_every=1 --set train.threads=1 \
         --set data.vocab_size=800 --set data.heldout_fraction=0.1",
        home.display(),
        env!("CARGO_BIN_EXE_bertwork"),
        corpus.display()
    ));
    t.keys(&["Enter"]);
    t.wait_for("training", 60, |s| step_of(s).unwrap_or(0) >= 2);
    let shell_after = |t: &Tmux, how: &str| {
        t.wait_for(how, 20, |s| s.contains("Stopped"));
        t.text(
            "clear; stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | sed s/^/TTY:/",
        );
        t.keys(&["Enter"]);
        let s = t.wait_for("stty", 20, |s| {
            s.contains("TTY:icanon") || s.contains("TTY:-icanon")
        });
        assert!(
            !s.contains("1 Dashboard"),
            "{how}: the alternate screen stayed:\n{s}"
        );
        assert!(
            s.contains("TTY:icanon") && s.contains("TTY:echo"),
            "{how}: raw tty:\n{s}"
        );
        t.text("clear; fg");
        t.keys(&["Enter"]);
        t.wait_for("repaint", 20, |s| {
            s.contains("1 Dashboard") && s.contains("step ")
        });
    };
    t.keys(&["C-z"]);
    shell_after(&t, "Ctrl-Z");
    // SAFETY: a signal to the workbench process this test started.
    unsafe { libc::kill(pid_of("suspend-e2e"), libc::SIGTSTP) };
    shell_after(&t, "kill -TSTP");
    // Keys reach it again: quit, saving.
    t.keys(&["q"]);
    t.wait_for("quit popup", 20, |s| s.contains("Quit?"));
    t.keys(&["s"]);
    // Wait for the shell's prompt after the saved line before typing: keys typed while
    // the workbench is still exiting belong to it, as in any full-screen program.
    t.wait_for("the shell", 60, |s| {
        s.split_once("session saved in")
            .is_some_and(|(_, after)| after.lines().any(|l| l.trim() == "$"))
    });
    // `fg` returns the job's exit status.
    t.text("echo EXIT=$?");
    t.keys(&["Enter"]);
    // The echoed command line holds `EXIT=` too: wait for the output line itself.
    let s = t.wait_for("exit", 20, |s| {
        s.lines().any(|l| l.trim_start().starts_with("EXIT="))
    });
    assert!(s.lines().any(|l| l.trim() == "EXIT=0"), "{s}");
}

/// A terminal that cannot address its cursor (TERM=dumb: Emacs' shell, serial lines)
/// gets the headless run and a line saying why, not a screen of escape codes; NO_COLOR
/// gets the workbench without a colour.
#[test]
fn dumb_terminals_train_headless_and_no_color_has_no_colours() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let corpus = small_corpus(dir.path());
    let Some(t) = Tmux::start("bertwork-dumb", "bash --norc --noprofile -i") else {
        return;
    };
    let run = |env: &str, session: &str, steps: u32| {
        format!(
            "clear; {env} BERTWORK_HOME={} {} tui --corpus {} --session {session} --max-steps {steps} \
             --set train.batch_size=8 --set data.max_seq_len=48 --set train.log_every=1 \
             --set train.threads=1 --set data.vocab_size=800 --set data.heldout_fraction=0.1; echo EXIT=$?",
            home.display(),
            env!("CARGO_BIN_EXE_bertwork"),
            corpus.display()
        )
    };
    t.text(&run("TERM=dumb", "dumb", 2));
    t.keys(&["Enter"]);
    let s = t.wait_for("the headless run", 90, |s| {
        s.lines().any(|l| l.trim_start().starts_with("EXIT="))
    });
    let flat: String = s.split_whitespace().collect();
    assert!(
        flat.contains("(TERM=dumb)cannotdrawafull-screeninterface,sotrainingheadless"),
        "{s}"
    );
    assert!(s.contains("checkpoint at step 2"), "{s}");
    assert!(s.lines().any(|l| l.trim() == "EXIT=0"), "{s}");
    assert!(!s.contains("1 Dashboard"), "{s}");

    t.text(&run("NO_COLOR=1", "mono", 100_000));
    t.keys(&["Enter"]);
    t.wait_for("training", 60, |s| step_of(s).unwrap_or(0) >= 2);
    let out = Command::new("tmux")
        .args(["capture-pane", "-p", "-e", "-t", "bertwork-dumb"])
        .output()
        .unwrap();
    let coloured = String::from_utf8_lossy(&out.stdout);
    // SGR colour codes: 30-37, 40-47, 90-97, 100-107, 38;5;n, 48;5;n (39/49 reset).
    let colour = sgr_colour(&coloured);
    assert!(colour.is_none(), "a colour code {colour:?} in:\n{coloured}");
    assert!(coloured.contains("1 Dashboard"), "{coloured}");
    t.keys(&["q"]);
    t.wait_for("quit popup", 20, |s| s.contains("Quit?"));
    t.keys(&["d"]);
    t.wait_for("the shell", 60, |s| s.contains("EXIT="));
}

/// The first SGR parameter in `screen` that sets a foreground or background colour.
fn sgr_colour(screen: &str) -> Option<String> {
    for sgr in screen.split("\u{1b}[").skip(1) {
        let Some(end) = sgr.find(|c: char| !(c.is_ascii_digit() || c == ';')) else {
            continue;
        };
        if &sgr[end..end + 1] != "m" {
            continue;
        }
        let params: Vec<u32> = sgr[..end]
            .split(';')
            .filter_map(|p| p.parse().ok())
            .collect();
        if params
            .iter()
            .any(|p| matches!(p, 30..=38 | 40..=48 | 90..=97 | 100..=107))
        {
            return Some(sgr[..end].to_string());
        }
    }
    None
}
