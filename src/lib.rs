//! bertwork: pretraining BERT (MLM + NSP) on a CSV corpus through libtorch, with a
//! trainer thread that any front end drives over [`protocol`] messages.

mod accuracy;
mod bench;
pub mod commands;
pub mod config;
mod corpus;
mod cpu_threads;
mod curves;
mod data;
pub mod device;
mod distributed;
mod downstream;
mod ffi;
pub mod finetune;
mod format;
mod headless;
pub mod heap;
pub mod hf;
mod model;
mod parallel;
mod probe;
pub mod protocol;
pub mod records;
mod report;
mod resume;
pub mod saved;
pub mod session;
pub mod signals;
mod stats;
mod terminal_kind;
pub mod terminal_text;
mod tokenizer;
pub mod train;
mod tui;
