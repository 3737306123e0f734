//! Interop with HuggingFace transformers: `export` writes a session as a
//! `BertForPreTraining` folder; `import-hf` turns such a folder into a session.
//! bertwork's variable names already are HF's state-dict keys.

mod config_json;
mod export;
mod import;

pub use config_json::HfConfig;
pub use export::{export, write_json, write_safetensors, write_tokenizer_files};
pub use import::{import, load_weights, ClassifierFolder};
