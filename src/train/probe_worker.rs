//! Probes run on their own thread against a copy of the weights that the trainer
//! refreshes between steps, so a probe never waits for a training step to finish.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use tch::{nn::VarStore, Device};

use crate::model::{BertConfig, BertForPreTraining};
use crate::probe;
use crate::protocol::{Event, ProbeRequest};
use crate::tokenizer::WordPieceTokenizer;

/// The probe's copy of the model.
pub struct ProbeModel {
    vs: VarStore,
    model: BertForPreTraining,
    tokenizer: Arc<WordPieceTokenizer>,
    device: Device,
}

/// Shared between the trainer (writer) and the probe thread (reader).
pub type ProbeSlot = Arc<Mutex<Option<ProbeModel>>>;

impl ProbeModel {
    pub fn new(config: &BertConfig, tokenizer: Arc<WordPieceTokenizer>, device: Device) -> Self {
        let vs = VarStore::new(device);
        let model = BertForPreTraining::new(&vs.root(), config);
        Self {
            vs,
            model,
            tokenizer,
            device,
        }
    }

    /// Copies the trainer's current weights in.
    pub fn refresh(&mut self, from: &VarStore) {
        // Same names and shapes by construction; a failure would be a programming error.
        self.vs
            .copy(from)
            .expect("probe copy has the trainer's variables");
    }
}

pub fn run(requests: Receiver<ProbeRequest>, slot: ProbeSlot, events: Sender<Event>) {
    let mut limited = false;
    for request in requests {
        let start = Instant::now();
        let guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        if guard.is_some() && !limited {
            // One thread is plenty for a single sequence and leaves the cores to
            // training. Set once the trainer has settled its own count (before it
            // filled the slot): see `cpu_threads`.
            crate::cpu_threads::use_threads(1);
            limited = true;
        }
        let not_ready = || "the model is not ready yet (the corpus is being prepared)".to_string();
        let event = match request {
            ProbeRequest::FillMask { id, text, top_k } => {
                let result = match guard.as_ref() {
                    Some(m) => probe::fill_mask(&m.model, &m.tokenizer, &text, top_k, m.device)
                        .map_err(|e| e.to_string()),
                    None => Err(not_ready()),
                };
                Event::FillMask {
                    id,
                    latency_ms: ms(start),
                    result,
                }
            }
            ProbeRequest::NextSentence { id, a, b } => {
                let result = match guard.as_ref() {
                    Some(m) => probe::next_sentence(&m.model, &m.tokenizer, &a, &b, m.device)
                        .map_err(|e| e.to_string()),
                    None => Err(not_ready()),
                };
                Event::NextSentence {
                    id,
                    latency_ms: ms(start),
                    result,
                }
            }
            ProbeRequest::Attention { id, text } => {
                let result = match guard.as_ref() {
                    Some(m) => probe::attention_map(&m.model, &m.tokenizer, &text, m.device)
                        .map_err(|e| e.to_string()),
                    None => Err(not_ready()),
                };
                Event::Attention {
                    id,
                    latency_ms: ms(start),
                    result,
                }
            }
            ProbeRequest::Neighbours { id, word, other, k } => {
                let result = match guard.as_ref() {
                    Some(m) => probe::neighbours(
                        &m.model,
                        &m.tokenizer,
                        &word,
                        other.as_deref(),
                        k,
                        m.device,
                    )
                    .map_err(|e| e.to_string()),
                    None => Err(not_ready()),
                };
                Event::Neighbours {
                    id,
                    latency_ms: ms(start),
                    result,
                }
            }
        };
        drop(guard);
        if events.send(event).is_err() {
            return;
        }
    }
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}
