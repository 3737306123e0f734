//! Forks: a fork with no changes, trained on, logs the same metrics as its parent
//! continued; a fork records its lineage; a fork that cannot be made leaves nothing.

mod common;

use std::path::Path;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn run_ok(home: &Path, a: &[String]) -> String {
    let out = common::command(home).args(a).output().unwrap();
    assert!(
        out.status.success(),
        "{a:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one line of error a failing command prints, after checking it failed.
fn run_err(home: &Path, a: &[&str]) -> String {
    let out = common::bertwork(home, a);
    assert!(!out.status.success(), "{a:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn a_fork_trained_on_matches_its_parent_continued() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let mut train = args(&[
        "train",
        "--headless",
        "--max-steps",
        "24",
        "--session",
        "parent",
    ]);
    train.extend(args(common::QUICK_MODEL));
    train.extend(args(&[
        "--set",
        "train.checkpoint_every=8",
        "--set",
        "train.eval_every=8",
    ]));
    run_ok(home, &train);

    // Forked at 8 and trained to 24: the same 16 steps as the parent took after 8.
    run_ok(
        home,
        &args(&[
            "fork",
            "parent",
            "--at",
            "8",
            "--session",
            "child",
            "--headless",
            "--max-steps",
            "24",
        ]),
    );
    let (parent, child) = (
        common::metrics(home, "parent"),
        common::metrics(home, "child"),
    );
    assert_eq!(parent.len(), child.len(), "the same rows");
    assert!(parent.len() >= 24, "every step logged");
    for (key, values) in &parent {
        assert_eq!(Some(values), child.get(key), "row {key:?}");
    }
    let lineage: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("sessions/child/lineage.json")).unwrap())
            .unwrap();
    assert_eq!(lineage["parent"], "parent");
    assert_eq!(lineage["step"], 8);
    // `sessions` names the parent and the step.
    let list = run_ok(home, &args(&["sessions"]));
    let row = list.lines().find(|l| l.starts_with("child")).unwrap();
    assert!(row.contains("parent@8"), "{row}");
    let show = run_ok(home, &args(&["sessions", "show", "child"]));
    assert!(show.contains("forked from parent@8"), "{show}");

    // A change the fork is made with: logged and applied from the fork's first step.
    run_ok(
        home,
        &args(&[
            "fork",
            "parent",
            "--at",
            "16",
            "--session",
            "lr",
            "--headless",
            "--max-steps",
            "20",
            "--set",
            "train.lr=0.0005",
        ]),
    );
    let changes = std::fs::read_to_string(home.join("sessions/lr/changes.csv")).unwrap();
    assert!(changes.contains("train.lr,0.0005,fork"), "{changes}");
    let lr = common::metrics(home, "lr");
    let first_after = &lr[&("train".to_string(), 17)];
    let parent_after = &parent[&("train".to_string(), 17)];
    assert_ne!(
        first_after, parent_after,
        "the change took effect at step 17"
    );
    assert_eq!(
        lr[&("train".to_string(), 16)],
        parent[&("train".to_string(), 16)]
    );

    // `compare` without a terminal: the table, the fork's lineage and its change.
    let table = run_ok(home, &args(&["compare", "parent", "lr", "child"]));
    let lr_row = table.lines().find(|l| l.starts_with("lr ")).unwrap();
    assert!(
        lr_row.contains("parent@16") && lr_row.contains("train.lr=0.0005"),
        "{table}"
    );
    let child_row = table.lines().find(|l| l.starts_with("child ")).unwrap();
    assert!(
        child_row.contains("parent@8") && child_row.trim_end().ends_with('-'),
        "{table}"
    );
    let err = run_err(home, &["compare", "parent", "parent"]);
    assert!(err.contains("named twice"), "{err}");

    // What cannot be forked says why, in one line, and leaves no session behind.
    let err = run_err(home, &["fork", "parent", "--at", "9", "--session", "x"]);
    assert!(
        err.contains("no checkpoint at step 9") && err.contains("8, 16, 24"),
        "{err}"
    );
    let err = run_err(
        home,
        &[
            "fork",
            "parent",
            "--session",
            "x",
            "--set",
            "model.hidden=32",
        ],
    );
    assert!(err.contains("model.hidden cannot change"), "{err}");
    let err = run_err(
        home,
        &[
            "fork",
            "parent",
            "--session",
            "x",
            "--no-start",
            "--set",
            "train.lr=1",
        ],
    );
    assert!(err.contains("--no-start"), "{err}");
    let err = run_err(home, &["fork", "parent", "--session", "parent"]);
    assert!(err.contains("new name"), "{err}");
    let err = run_err(
        home,
        &["fork", "parent", "--session", "child", "--no-start"],
    );
    assert!(err.contains("already exists"), "{err}");
    assert!(!home.join("sessions/x").exists(), "no half-made fork");
}

/// The evaluation at the end of a run comes after the checkpoint of the same step
/// (`checkpoint_every` hit it first): the final save counts it, so neither a fork nor a
/// resume drops it.
#[test]
fn the_end_of_run_evaluation_survives_a_fork() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let mut train = args(&["train", "--headless", "--max-steps", "12", "--session", "p"]);
    train.extend(args(common::QUICK_MODEL));
    train.extend(args(&["--set", "train.checkpoint_every=4"]));
    run_ok(home, &train);
    let heldout_at_12 = ("heldout".to_string(), 12);
    assert!(common::metrics(home, "p").contains_key(&heldout_at_12));
    run_ok(
        home,
        &args(&["fork", "p", "--at", "12", "--session", "f", "--no-start"]),
    );
    let fork = common::metrics(home, "f");
    assert_eq!(
        fork.get(&heldout_at_12),
        common::metrics(home, "p").get(&heldout_at_12)
    );
    let list = run_ok(home, &args(&["sessions"]));
    let row = list.lines().find(|l| l.starts_with("f ")).unwrap();
    assert!(
        !row.contains(" - "),
        "the fork has a best held-out loss: {row}"
    );
}
