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

/// Runs until the user leaves. Returns the trainer's summary after a graceful stop
/// (or a finished run), `None` when the user quit without saving.
pub fn run(terminal: &mut Term, handle: &TrainerHandle) -> Result<Option<Summary>> {
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
    let (signal_tx, signal_rx) = unbounded();
    let _ = ctrlc::set_handler(move || {
        let _ = signal_tx.send(());
    });
    let ticker = tick(Duration::from_millis(500));
    let mut app = App::new();
    app.memory = crate::device::rss_line();
    let mut dirty = true;
    // Once the trainer has finished its channel closes; the dashboard stays open.
    let mut events = handle.events.clone();
    loop {
        if dirty {
            terminal.draw(|f| draw(f, &app))?;
            dirty = false;
        }
        let actions = select! {
            recv(input_rx) -> ev => match ev {
                Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => app.on_key(k),
                Ok(TermEvent::Resize(_, _)) => Vec::new(),
                Ok(_) => continue,
                Err(_) => Vec::new(),
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
            recv(signal_rx) -> _ => app.on_key(crossterm::event::KeyEvent::new(
                crossterm::event::KeyCode::Char('c'),
                crossterm::event::KeyModifiers::CONTROL,
            )),
            recv(ticker) -> _ => {
                // On CUDA the step logs carry the GPU figures instead.
                if app.history.steps.last().is_none_or(|m| m.memory.is_none()) {
                    app.memory = crate::device::rss_line();
                }
                Vec::new()
            },
        };
        dirty = true;
        for action in actions {
            match action {
                Action::Send(cmd) => {
                    let _ = handle.commands.send(cmd);
                }
                Action::Exit => {
                    terminal.draw(|f| draw(f, &app))?;
                    return Ok(app.summary.clone());
                }
            }
        }
    }
}
