//! bertwork: pretraining BERT (MLM + NSP) on a CSV corpus through libtorch, with a
//! trainer thread that any front end drives over [`protocol`] messages.

pub mod accuracy;
pub mod bench;
pub mod commands;
pub mod config;
pub mod corpus;
pub mod cpu_threads;
pub mod curves;
pub mod data;
pub mod device;
pub mod distributed;
pub mod downstream;
pub mod ffi;
pub mod finetune;
pub mod format;
pub mod headless;
pub mod heap;
pub mod hf;
pub mod model;
pub mod parallel;
pub mod probe;
pub mod protocol;
pub mod records;
pub mod report;
pub mod resume;
pub mod saved;
pub mod session;
pub mod signals;
pub mod stats;
pub mod terminal_kind;
pub mod terminal_text;
pub mod tokenizer;
pub mod train;
pub mod tui;
