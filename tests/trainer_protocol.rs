//! The trainer thread driven through its message protocol, as a front end would:
//! probes while training, pause/resume, hyperparameter changes, checkpoints, stop.

use std::time::Duration;

use bertwork::config::Config;
use bertwork::protocol::{ApplyAt, Command, Event, FinishReason, Hyper, ProbeRequest};
use bertwork::session::Session;
use bertwork::train::{TrainSetup, TrainerHandle};

fn next(handle: &TrainerHandle, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    loop {
        let e = handle
            .events
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
        if let Event::Error { message } = &e {
            panic!("trainer error while waiting for {what}: {message}");
        }
        if pred(&e) {
            return e;
        }
    }
}

#[test]
fn a_front_end_can_drive_the_trainer() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("BERTWORK_HOME", home.path());
    let sets: Vec<String> = [
        "train.batch_size=8",
        "data.max_seq_len=32",
        "train.log_every=1",
        "train.epochs=3",
        "train.max_steps=0",
        "train.device=\"cpu\"",
        "train.threads=2",
        "data.vocab_size=1000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let config = Config::load(None, &sets).unwrap();
    let session = Session::create(Some("proto"), "tiny").unwrap();
    let handle = TrainerHandle::spawn(TrainSetup::fresh(config, session));

    let Event::Started(info) = next(&handle, "started", |e| matches!(e, Event::Started(_))) else {
        unreachable!()
    };
    assert!(info.steps_per_epoch > 10 && info.heldout_documents == 100);
    // The probe thread limits itself to one thread; the trainer keeps its two.
    assert!(info.device.ends_with("(2 threads)"), "{}", info.device);
    // Masking's no-context floor sits between a perfect model and ln(vocab).
    let floor = info.no_context_mlm_loss;
    assert!(floor > 3.0 && floor < (1000f64).ln(), "floor {floor}");
    assert!(
        (info.heldout_random_next - 0.5).abs() < 0.1,
        "NSP balance {}",
        info.heldout_random_next
    );
    next(&handle, "a step", |e| matches!(e, Event::Step(_)));

    // A probe while training.
    let probe = |id, text: &str| {
        Command::Probe(ProbeRequest::FillMask {
            id,
            text: text.into(),
            top_k: 3,
        })
    };
    handle
        .commands
        .send(probe(7, "this movie was [MASK] ."))
        .unwrap();
    match next(&handle, "probe", |e| matches!(e, Event::FillMask { .. })) {
        Event::FillMask {
            id,
            result,
            latency_ms,
        } => {
            assert_eq!(id, 7);
            let r = result.unwrap();
            assert_eq!((r.masks.len(), r.masks[0].len()), (1, 3));
            assert!(latency_ms < 10_000.0);
        }
        _ => unreachable!(),
    }
    handle.commands.send(probe(8, "no mask")).unwrap();
    match next(&handle, "probe error", |e| {
        matches!(e, Event::FillMask { .. })
    }) {
        Event::FillMask { result, .. } => assert!(result.unwrap_err().contains("[MASK]")),
        _ => unreachable!(),
    }
    handle
        .commands
        .send(Command::Probe(ProbeRequest::NextSentence {
            id: 9,
            a: "a good film .".into(),
            b: "i loved it .".into(),
        }))
        .unwrap();
    match next(&handle, "pair probe", |e| {
        matches!(e, Event::NextSentence { .. })
    }) {
        Event::NextSentence { result, .. } => {
            assert!((0.0..=1.0).contains(&result.unwrap().is_next))
        }
        _ => unreachable!(),
    }

    // Pause: no step events until resumed.
    handle.commands.send(Command::Pause).unwrap();
    let Event::Paused { step: paused_at } =
        next(&handle, "paused", |e| matches!(e, Event::Paused { .. }))
    else {
        unreachable!()
    };
    std::thread::sleep(Duration::from_millis(500));
    let during: Vec<Event> = handle.events.try_iter().collect();
    assert!(
        !during.iter().any(|e| matches!(e, Event::Step(_))),
        "stepped while paused"
    );
    handle.commands.send(Command::Resume).unwrap();
    next(
        &handle,
        "resumed",
        |e| matches!(e, Event::Resumed { step } if *step == paused_at),
    );
    let Event::Step(m) = next(&handle, "a step after resume", |e| {
        matches!(e, Event::Step(_))
    }) else {
        unreachable!()
    };
    assert_eq!(m.step, paused_at + 1);

    // lr applies at the next step, batch size at the next epoch; bad values are refused.
    handle
        .commands
        .send(Command::SetHyper(Hyper::Lr(2e-4)))
        .unwrap();
    let Event::HyperApplied { step, .. } = next(&handle, "lr applied", |e| {
        matches!(e, Event::HyperApplied { .. })
    }) else {
        unreachable!()
    };
    assert!(step > paused_at);
    handle
        .commands
        .send(Command::SetHyper(Hyper::BatchSize(0)))
        .unwrap();
    next(
        &handle,
        "refusal",
        |e| matches!(e, Event::Warning { message } if message.contains("train.batch_size")),
    );
    handle
        .commands
        .send(Command::SetHyper(Hyper::BatchSize(4)))
        .unwrap();
    next(&handle, "queued", |e| {
        matches!(
            e,
            Event::HyperQueued {
                applies: ApplyAt::NextEpoch,
                ..
            }
        )
    });
    let Event::EpochEnd { step: end_step, .. } = next(&handle, "epoch end", |e| {
        matches!(e, Event::EpochEnd { .. })
    }) else {
        unreachable!()
    };
    match next(&handle, "batch size applied", |e| {
        matches!(
            e,
            Event::HyperApplied {
                change: Hyper::BatchSize(4),
                ..
            }
        )
    }) {
        Event::HyperApplied { step, epoch, .. } => assert_eq!((step, epoch), (end_step + 1, 1)),
        _ => unreachable!(),
    }

    handle.commands.send(Command::SaveCheckpoint).unwrap();
    let Event::CheckpointSaved { path, .. } = next(&handle, "checkpoint", |e| {
        matches!(e, Event::CheckpointSaved { .. })
    }) else {
        unreachable!()
    };
    assert!(path.join("model.safetensors").exists() && path.join("state.json").exists());

    // Fork here: a checkpoint, and a new session from it, while training goes on.
    handle.commands.send(Command::Fork).unwrap();
    let Event::Forked { name, step, dir } =
        next(&handle, "fork", |e| matches!(e, Event::Forked { .. }))
    else {
        unreachable!()
    };
    assert_eq!(name, format!("proto-fork-{step}"));
    let lineage: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("lineage.json")).unwrap()).unwrap();
    assert_eq!(
        (lineage["parent"].as_str(), lineage["step"].as_u64()),
        (Some("proto"), Some(step))
    );
    assert!(dir
        .join(format!("checkpoints/step-{step:08}/state.json"))
        .exists());
    next(
        &handle,
        "a step after the fork",
        |e| matches!(e, Event::Step(m) if m.step > step),
    );

    handle.commands.send(Command::Stop).unwrap();
    let Event::Finished(summary) = next(&handle, "finished", |e| matches!(e, Event::Finished(_)))
    else {
        unreachable!()
    };
    assert_eq!(summary.reason, FinishReason::Stopped);
    assert!(home
        .path()
        .join("sessions/proto/model.safetensors")
        .exists());
    handle.join();
}
