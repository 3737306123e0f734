//! Watched probes on the trainer thread: read every `train.watch_interval()` steps on
//! the weights of that step (eval mode, no gradients), recorded in `watched.csv` and
//! sent as [`Event::Watched`]; the list changes with [`crate::protocol::Command::Watch`].

use super::Trainer;
use crate::config::watch::{parse_all, WatchSpec};
use crate::protocol::Event;

/// Top tokens recorded per watched probe.
pub const WATCH_TOP_K: usize = 5;

/// A watched probe with its named tokens resolved to ids.
pub(super) struct Watched {
    spec: WatchSpec,
    named: Vec<(String, u32)>,
}

impl Trainer {
    /// Watches `entries` from now on; problems (a named word that is not one token, a
    /// probe the model cannot read) are warnings and leave that word or probe out.
    pub(super) fn set_watched(&mut self, entries: &[String]) {
        let specs = match parse_all(entries) {
            Ok(specs) => specs,
            Err(e) => {
                self.emit(Event::Warning {
                    message: format!("{e:#}; the watched probes are unchanged"),
                });
                return;
            }
        };
        let tokenizer = self.data.tokenizer.clone();
        let mut watched = Vec::new();
        for spec in specs {
            let mut named = Vec::new();
            for word in &spec.tokens {
                match tokenizer.token_id(word) {
                    Some(id) => named.push((word.clone(), id)),
                    None => {
                        let pieces = tokenizer
                            .encode(word)
                            .map(|ids| {
                                ids.iter()
                                    .map(|&i| tokenizer.token(i))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            })
                            .unwrap_or_default();
                        self.emit(Event::Warning {
                            message: format!(
                                "`{word}` is not one token of this vocabulary (it splits into {pieces}), so its probability at [MASK] is not watched; name a one-token word"
                            ),
                        });
                    }
                }
            }
            let trial = crate::probe::watch_reading(
                &self.model,
                &tokenizer,
                &spec.text,
                &named,
                WATCH_TOP_K,
                self.device,
            );
            match trial {
                Ok(_) => watched.push(Watched { spec, named }),
                Err(e) => self.emit(Event::Warning {
                    message: format!("the watched probe `{}` cannot be read: {e:#}", spec.text),
                }),
            }
        }
        self.watched = watched;
        self.emit(Event::Watching {
            step: self.step,
            entries: self.watched.iter().map(|w| w.spec.entry()).collect(),
        });
    }

    /// A change of the watched probes asked for by a front end: applied at once and
    /// logged as a change of `train.watch`.
    pub(super) fn change_watched(&mut self, entries: Vec<String>) {
        if let Err(e) = parse_all(&entries) {
            self.emit(Event::Warning {
                message: format!("{e:#}; the watched probes are unchanged"),
            });
            return;
        }
        self.config.train.watch = entries.clone();
        let value = toml::Value::Array(entries.iter().cloned().map(toml::Value::String).collect());
        self.record_change(
            "train.watch",
            &value.to_string(),
            crate::records::ChangeSource::Command,
        );
        self.set_watched(&entries);
    }

    /// Reads the watched probes at the current step.
    pub(super) fn read_watched(&mut self) {
        if self.watched.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let tokenizer = self.data.tokenizer.clone();
        let readings: Vec<_> = self
            .watched
            .iter()
            .filter_map(|w| {
                crate::probe::watch_reading(
                    &self.model,
                    &tokenizer,
                    &w.spec.text,
                    &w.named,
                    WATCH_TOP_K,
                    self.device,
                )
                .ok()
            })
            .collect();
        let seconds = started.elapsed().as_secs_f64();
        let r = self.records.watched(self.step, &readings);
        self.record(r);
        self.emit(Event::Watched {
            step: self.step,
            seconds,
            readings,
        });
    }
}
