//! Progress of preparing the corpus, sent as [`Event::Preparing`] at most four times a
//! second per phase (plus each phase's first and last report).

use std::time::{Duration, Instant};

use crate::protocol::{Event, PreparePhase, PrepareProgress, WorkUnit};

const EVERY: Duration = Duration::from_millis(250);

/// Reports phases and their progress to a front end.
pub struct Progress<'a> {
    send: &'a mut dyn FnMut(Event),
    phase: PreparePhase,
    unit: WorkUnit,
    total: u64,
    started: Instant,
    last: Option<Instant>,
}

impl<'a> Progress<'a> {
    pub fn new(send: &'a mut dyn FnMut(Event)) -> Self {
        Self {
            send,
            phase: PreparePhase::CheckingCorpus,
            unit: WorkUnit::Bytes,
            total: 0,
            started: Instant::now(),
            last: None,
        }
    }

    /// Starts a phase of `total` `unit`s (0: not counted) and reports it.
    pub fn phase(&mut self, phase: PreparePhase, unit: WorkUnit, total: u64) {
        (self.phase, self.unit, self.total) = (phase, unit, total);
        self.started = Instant::now();
        self.last = None;
        self.update(0);
    }

    /// Reports `done` units of the phase, unless one was reported in the last 250 ms.
    pub fn update(&mut self, done: u64) {
        let now = Instant::now();
        if self.last.is_some_and(|t| now - t < EVERY) && done < self.total {
            return;
        }
        self.last = Some(now);
        let seconds = (now - self.started).as_secs_f64();
        let mb_per_s = if self.unit == WorkUnit::Bytes && seconds > 0.05 {
            done as f64 / 1e6 / seconds
        } else {
            0.0
        };
        (self.send)(Event::Preparing(PrepareProgress {
            phase: self.phase,
            done,
            total: self.total,
            unit: self.unit,
            mb_per_s,
        }));
    }

    /// A warning line for the front end.
    pub fn warn(&mut self, message: String) {
        (self.send)(Event::Warning { message });
    }
}
