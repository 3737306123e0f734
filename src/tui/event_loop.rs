//! The main loop: blocks in `select!` over terminal input, trainer events and a
//! ticker; bursts of trainer events are drained before one redraw.

use std::time::Duration;

use anyhow::Result;
use crossbeam_channel::{select, tick, unbounded};
use crossterm::event::{Event as TermEvent, KeyEventKind};

use super::app::{Action, App};
use super::draw::draw;
use super::terminal::Term;
use crate::protocol::Summary;
use crate::train::TrainerHandle;

/// How the workbench ended.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The trainer's summary after a graceful stop or a finished run; `None` when the
    /// user quit without saving, or a second signal cut the stop short.
    pub summary: Option<Summary>,
    /// The termination signal that stopped the run, if one did.
    pub signal: Option<i32>,
}

/// Runs until the user leaves, the run has stopped after a termination signal, or a
/// second signal asks to leave at once. If the terminal goes away (SIGHUP, a closed
/// window), drawing stops and the run still stops and saves.
pub fn run(terminal: &mut Term, handle: &TrainerHandle) -> Result<Outcome> {
    let (input_tx, input_rx) = unbounded();
    std::thread::Builder::new()
        .name("bertwork-input".into())
        .spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if input_tx.send(ev).is_err() {
                    return;
                }
            }
        })?;
    let signals = crate::signals::listen()?;
    let job_control = crate::signals::listen_job_control()?;
    let mut outcome = Outcome::default();
    let mut input_rx = input_rx;
    let mut screen = true;
    let ticker = tick(Duration::from_millis(500));
    let mut app = App::new();
    app.display = super::display::Display::from_env();
    app.memory = crate::device::rss_line();
    let mut dirty = true;
    // Once the trainer has finished its channel closes; the dashboard stays open.
    let mut events = handle.events.clone();
    loop {
        if dirty && screen {
            if terminal.draw(|f| draw(f, &app)).is_err() {
                // The terminal is gone: nobody can answer, so stop and save.
                screen = false;
                input_rx = crossbeam_channel::never();
                for action in app.stop_and_save() {
                    send(handle, action);
                }
            }
            dirty = false;
        }
        let actions = select! {
            recv(input_rx) -> ev => match ev {
                Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => app.on_key(k),
                Ok(TermEvent::Resize(_, _)) => Vec::new(),
                Ok(_) => continue,
                Err(_) => {
                    input_rx = crossbeam_channel::never();
                    Vec::new()
                }
            },
            recv(events) -> ev => match ev {
                Ok(ev) => {
                    let mut actions = app.on_event(ev);
                    // Coalesce a burst into one redraw.
                    while let Ok(ev) = events.try_recv() {
                        actions.extend(app.on_event(ev));
                    }
                    actions
                }
                Err(_) => {
                    events = crossbeam_channel::never();
                    Vec::new()
                }
            },
            recv(signals) -> signal => {
                let Ok(signal) = signal else { continue };
                if outcome.signal.is_some() {
                    return Ok(outcome); // a second signal: leave at once
                }
                outcome.signal = Some(signal);
                if app.status == super::app::Status::Preparing {
                    return Ok(outcome); // nothing trained yet: nothing to save
                }
                app.on_signal(crate::signals::name(signal))
            },
            recv(job_control) -> signal => {
                if !screen {
                    continue;
                }
                let resumed = match signal {
                    // Stopped from outside (`kill -TSTP`): give the terminal back first.
                    Ok(libc::SIGTSTP) => super::terminal::suspend(terminal),
                    // Continued after a stop that left the terminal as it was.
                    _ => super::terminal::resume_screen(terminal),
                };
                if resumed.is_err() {
                    screen = false;
                }
                Vec::new()
            },
            recv(ticker) -> _ => {
                // On CUDA the step logs carry the GPU figures instead.
                if app.history.steps.last().is_none_or(|m| m.memory.is_none()) {
                    app.memory = crate::device::rss_line();
                }
                app.on_tick(std::time::Instant::now())
            },
        };
        dirty = true;
        for action in actions {
            if action == Action::Exit {
                if screen {
                    let _ = terminal.draw(|f| draw(f, &app));
                }
                outcome.summary = app.summary.clone();
                return Ok(outcome);
            }
            match action {
                Action::Suspend if screen => {
                    if super::terminal::suspend(terminal).is_err() {
                        screen = false;
                    }
                }
                Action::PickSessions => {
                    let names = crate::session::list_names().unwrap_or_default();
                    app.compare.open_picker(names);
                    app.popup = Some(super::app::Popup::Compare);
                }
                Action::LoadOverlay(name) => match crate::curves::compare::Overlay::load(&name) {
                    Ok(o) => app.compare.overlays.push(o),
                    Err(e) => app.log.push(
                        super::log_panel::Level::Warning,
                        format!("cannot overlay `{name}`: {e:#}"),
                    ),
                },
                Action::WriteReport => super::report_key::write_report(&mut app),
                action => send(handle, action),
            }
        }
    }
}

fn send(handle: &TrainerHandle, action: Action) {
    if let Action::Send(cmd) = action {
        let _ = handle.commands.send(cmd);
    }
}
