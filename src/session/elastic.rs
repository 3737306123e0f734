//! `elastic.json`: the torchrun job that created a session, so that the job's restarted
//! group (torchrun's `--max-restarts`, after a rank failed or a node was preempted)
//! resumes the session instead of refusing a name that already exists.

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::Session;

pub const ELASTIC_FILE: &str = "elastic.json";

/// torchrun's variable naming its job (the rendezvous id; a fresh UUID under
/// `--standalone`, "none" when not given).
pub const RUN_ID_VAR: &str = "TORCHELASTIC_RUN_ID";

/// The torchrun job a session was created by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElasticRun {
    /// [`RUN_ID_VAR`] of the job.
    pub run_id: String,
}

impl ElasticRun {
    /// The job this process belongs to, from `var`; None outside torchrun.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        var(RUN_ID_VAR)
            .filter(|id| !id.is_empty())
            .map(|run_id| Self { run_id })
    }

    /// [`from_vars`](Self::from_vars) over this process's environment.
    pub fn from_env() -> Option<Self> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The job recorded in `session`; None for a session not made under torchrun (or
    /// whose record cannot be read, which only means it is not resumed by a restart).
    pub fn read(session: &Session) -> Option<Self> {
        session.read_json(ELASTIC_FILE)
    }

    pub fn write(&self, session: &Session) -> Result<()> {
        session.write_json(ELASTIC_FILE, self)
    }

    /// Whether this job may be told apart from others: "none" is torchrun's id for
    /// every job started without `--rdzv-id`, so it only identifies a session together
    /// with the session's name.
    pub fn is_unique(&self) -> bool {
        self.run_id != "none"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_comes_from_torchruns_variable() {
        let run = ElasticRun::from_vars(|n| (n == RUN_ID_VAR).then(|| "abc".into()));
        assert_eq!(run.as_ref().map(|r| r.run_id.as_str()), Some("abc"));
        assert!(run.unwrap().is_unique());
        assert_eq!(ElasticRun::from_vars(|_| None), None);
        assert_eq!(ElasticRun::from_vars(|_| Some(String::new())), None);
        let none = ElasticRun::from_vars(|_| Some("none".into())).unwrap();
        assert!(!none.is_unique());
    }
}
