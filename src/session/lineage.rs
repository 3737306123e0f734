//! `lineage.json`: where a forked session came from (its parent session, the step of
//! the parent's checkpoint it started from, and the changes it started with).

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::Session;

pub const LINEAGE_FILE: &str = "lineage.json";

/// A fork's origin, written once when the fork is made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    /// The session forked from.
    pub parent: String,
    /// The optimizer step of the parent's checkpoint the fork started from.
    pub step: u64,
    /// When the fork was made (RFC 3339, UTC).
    pub created: String,
    /// The `key=value` changes the fork started with (empty: none).
    #[serde(default)]
    pub sets: Vec<String>,
}

impl Lineage {
    /// `parent@step`, with the changes when there are any: `a@1200 train.lr=5e-4`.
    pub fn label(&self) -> String {
        let mut label = format!("{}@{}", self.parent, self.step);
        for set in &self.sets {
            label.push(' ');
            label.push_str(set);
        }
        label
    }

    /// The session's lineage; `None` for a session that is not a fork (or whose
    /// `lineage.json` cannot be read, which only loses the label).
    pub fn read(session: &Session) -> Option<Self> {
        session.read_json(LINEAGE_FILE)
    }

    pub fn write(&self, session: &Session) -> Result<()> {
        session.write_json(LINEAGE_FILE, self)
    }
}
