//! `bertwork report` on real sessions: the files it writes (SVG that parses with the
//! series in its legend, PNG of the stated size, report.md with the config and the
//! best values of metrics.csv, index.html), a comparison that names the differing key,
//! and bad input that gets one line, exit 1 and leaves the session as it was.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MILESTONE_PROBES: &str =
    r#"train.watch=["this movie was [MASK] . | great, awful", "the acting was [MASK] ."]"#;

fn train(home: &Path, session: &str, extra: &[&str]) {
    let mut args = vec![
        "train",
        "--headless",
        "--max-steps",
        "24",
        "--session",
        session,
        "--set",
        "train.eval_every=8",
        "--set",
        "train.watch_every=8",
        "--set",
        MILESTONE_PROBES,
    ];
    args.extend_from_slice(common::QUICK_MODEL);
    args.extend_from_slice(extra);
    let out = common::bertwork(home, &args);
    assert!(
        out.status.success(),
        "training {session} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn report(home: &Path, args: &[&str]) -> Output {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    common::bertwork(home, &all)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "report failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Checks a refusal: exit 1, one `error:` line, no panic; returns the line.
fn refused(out: &Output) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    err
}

/// Every file under `dir` with its bytes.
fn contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// The texts of an SVG document, after checking that it parses as XML.
fn svg_texts(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_string())
        .collect()
}

/// (width, height, colour type) of a PNG file, after decoding it whole.
fn png_info(path: &Path) -> (u32, u32, png::ColorType) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    // Not a blank image: the chart drew something besides the white background.
    assert!(
        pixels.iter().any(|&b| b < 128),
        "{} is blank",
        path.display()
    );
    (frame.width, frame.height, frame.color_type)
}

/// The best (lowest) held-out MLM loss in metrics.csv, with its step.
fn best_heldout_mlm(home: &Path, session: &str) -> (u64, f64) {
    let path = home.join("sessions").join(session).join("metrics.csv");
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |n: &str| headers.iter().position(|h| h == n).unwrap();
    let (step, split, loss) = (col("step"), col("split"), col("mlm_loss"));
    let mut best: Option<(u64, f64)> = None;
    for row in reader.records() {
        let row = row.unwrap();
        if &row[split] != "heldout" {
            continue;
        }
        let v: f64 = row[loss].parse().unwrap();
        if best.is_none_or(|(_, b)| v < b) {
            best = Some((row[step].parse().unwrap(), v));
        }
    }
    best.expect("held-out rows")
}

#[test]
fn a_report_and_a_comparison_from_real_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    train(home, "a", &[]);
    train(home, "b", &["--set", "train.lr=0.002"]);

    let stdout = ok(&report(home, &["a"]));
    let dir = home.join("sessions/a/report");
    assert!(
        stdout.starts_with(&format!("report written to {}", dir.display())),
        "{stdout}"
    );
    for stem in [
        "mlm_loss",
        "nsp_loss",
        "accuracy",
        "learning_rate",
        "downstream",
        "watched_1",
        "watched_2",
    ] {
        assert_eq!(
            png_info(&dir.join(format!("{stem}.png"))),
            (1200, 700, png::ColorType::Rgb),
            "{stem}"
        );
        assert!(!svg_texts(&dir.join(format!("{stem}.svg"))).is_empty());
    }
    let floor: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("sessions/a/floor.json")).unwrap())
            .unwrap();
    let floor = floor["no_context_mlm_loss"].as_f64().unwrap();
    let (best_step, best) = best_heldout_mlm(home, "a");
    let texts = svg_texts(&dir.join("mlm_loss.svg"));
    for expected in [
        "MLM loss, train and held-out".to_string(),
        "step".into(),
        "loss (nats per masked token)".into(),
        "train (raw)".into(),
        "train (smoothed 0.80)".into(),
        "held-out".into(),
        format!("no-context floor {floor:.3}"),
        format!("best {best:.3} @ {best_step}"),
    ] {
        assert!(texts.contains(&expected), "no `{expected}` in {texts:?}");
    }
    let watched = svg_texts(&dir.join("watched_1.svg"));
    assert!(
        watched.contains(&"P(token) at [MASK]: this movie was [MASK] .".to_string())
            && watched.contains(&"\"great\"".to_string()),
        "{watched:?}"
    );

    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for row in [
        "| key | value |",
        "| data.max\\_seq\\_len | 48 |",
        "| model.hidden | 64 |",
        "| train.lr | 0.001 |",
    ] {
        assert!(md.contains(row), "no `{row}` in report.md:\n{md}");
    }
    let best_row = format!("| a | held-out MLM loss | {best:.3} | {best_step} |");
    assert!(
        md.contains(&best_row),
        "no `{best_row}` in report.md:\n{md}"
    );
    assert!(md.contains("![MLM loss, train and held-out](mlm_loss.svg)"));
    let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(html.contains("<img src=\"mlm_loss.svg\""), "{html}");
    assert!(html.contains(&format!("<td>{best:.3}</td>")), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("http"),
        "{html}"
    );

    // Again: the earlier report is replaced, not mixed with the new one.
    std::fs::write(dir.join("stale.svg"), "x").unwrap();
    ok(&report(home, &["a", "--axis", "tokens"]));
    assert!(!dir.join("stale.svg").exists());
    assert!(svg_texts(&dir.join("mlm_loss.svg")).contains(&"tokens (padding included)".into()));

    // A comparison: both sessions on the charts, the one key that differs named.
    ok(&report(home, &["a", "--compare", "b"]));
    let cmp = home.join("sessions/a/report-compare");
    let texts = svg_texts(&cmp.join("mlm_loss.svg"));
    for expected in ["a held-out", "b held-out", "a train (smoothed 0.80)"] {
        assert!(texts.contains(&expected.to_string()), "{texts:?}");
    }
    let md = std::fs::read_to_string(cmp.join("report.md")).unwrap();
    assert!(md.contains("## Config keys that differ from a\n\n| key | a | b |\n|---|---|---|\n| train.lr | 0.001 | 0.002 |\n"), "{md}");

    // Bad input: one line, exit 1, and the sessions exactly as they were.
    let before = contents(&home.join("sessions"));
    let err = refused(&report(home, &["nosuch"]));
    assert!(err.contains("no session named `nosuch`"), "{err}");
    let err = refused(&report(home, &["a", "--compare", "nosuch"]));
    assert!(err.contains("cannot compare with `nosuch`"), "{err}");
    let err = refused(&report(home, &["a", "--compare", "a"]));
    assert!(err.contains("named twice"), "{err}");
    let file = home.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let inside = file.join("report");
    let err = refused(&report(home, &["a", "--out", inside.to_str().unwrap()]));
    assert!(err.contains("cannot write the report to"), "{err}");
    let theirs = home.join("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::fs::write(theirs.join("notes.txt"), "keep").unwrap();
    let err = refused(&report(home, &["a", "--out", theirs.to_str().unwrap()]));
    assert!(err.contains("not a bertwork report"), "{err}");
    assert_eq!(std::fs::read_dir(&theirs).unwrap().count(), 1);
    assert_eq!(
        before,
        contents(&home.join("sessions")),
        "a refusal changed a session"
    );

    // A session with no metrics yet, and one whose metrics cannot be read.
    let empty = home.join("sessions/empty");
    std::fs::create_dir(&empty).unwrap();
    std::fs::copy(
        home.join("sessions/a/config.toml"),
        empty.join("config.toml"),
    )
    .unwrap();
    let broken = home.join("sessions/broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(
        home.join("sessions/a/config.toml"),
        broken.join("config.toml"),
    )
    .unwrap();
    std::fs::write(
        broken.join("metrics.csv"),
        [0xffu8, 0xfe, 0, 1, 2, b'\n', 7],
    )
    .unwrap();
    let before = contents(&home.join("sessions"));
    let err = refused(&report(home, &["empty"]));
    assert!(err.contains("session `empty` has no metrics yet"), "{err}");
    assert!(err.contains("bertwork resume empty"), "{err}");
    let err = refused(&report(home, &["broken"]));
    assert!(
        err.contains("cannot read the metrics of session `broken`"),
        "{err}"
    );
    assert_eq!(
        before,
        contents(&home.join("sessions")),
        "a refusal changed a session"
    );
}

/// A read-only file system: mounted read-only where we are root (root writes through
/// permissions), else a folder without write permission.
struct ReadOnly(PathBuf, bool);

impl ReadOnly {
    fn make(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            let mounted = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(mounted, "root could not mount a read-only tmpfs");
            Self(dir.to_path_buf(), true)
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            Self(dir.to_path_buf(), false)
        }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.1 {
            let _ = Command::new("umount").arg(&self.0).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o755));
        }
    }
}

#[test]
fn a_folder_that_cannot_be_written_is_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    train(home, "a", &[]);
    let before = contents(&home.join("sessions"));
    let locked = ReadOnly::make(&home.join("locked"));
    let out = locked.0.join("report");
    let err = refused(&report(home, &["a", "--out", out.to_str().unwrap()]));
    assert!(err.contains("cannot write the report to"), "{err}");
    assert!(
        err.contains("choose a folder you can write to with --out"),
        "{err}"
    );
    drop(locked);
    assert_eq!(before, contents(&home.join("sessions")));
}
