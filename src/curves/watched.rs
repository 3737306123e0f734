//! The watched probes' curves: for each probe, the probability of each token it
//! ranked or the user named, over training, and which tokens a chart draws.

use std::collections::BTreeMap;

use crate::protocol::WatchReading;

/// Most tokens drawn per probe: the named ones first, then the latest top ones.
pub const CHART_TOKENS: usize = 8;

/// One watched probe's readings over training.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProbeSeries {
    pub text: String,
    /// Token -> (step, probability) points.
    pub points: BTreeMap<String, Vec<(f64, f64)>>,
    /// The newest reading and its step.
    pub latest: Option<(u64, WatchReading)>,
}

impl ProbeSeries {
    /// The tokens a chart of this probe draws: the named ones, then the newest top
    /// ones, at most [`CHART_TOKENS`].
    pub fn chart_tokens(&self) -> Vec<String> {
        let mut tokens: Vec<String> = Vec::new();
        if let Some((_, r)) = &self.latest {
            for (t, _) in r.named.iter().chain(&r.top) {
                if !tokens.contains(t) {
                    tokens.push(t.clone());
                }
            }
        }
        tokens.truncate(CHART_TOKENS);
        tokens
    }
}

/// Adds the readings taken at `step` to `series` (one per probe text, in the order
/// first seen).
pub fn add_readings(series: &mut Vec<ProbeSeries>, step: u64, readings: &[WatchReading]) {
    for r in readings {
        let i = match series.iter().position(|s| s.text == r.text) {
            Some(i) => i,
            None => {
                series.push(ProbeSeries {
                    text: r.text.clone(),
                    ..ProbeSeries::default()
                });
                series.len() - 1
            }
        };
        let probe = &mut series[i];
        for (token, p) in r.top.iter().chain(&r.named) {
            let line = probe.points.entry(token.clone()).or_default();
            if line.last().is_none_or(|(s, _)| *s != step as f64) {
                line.push((step as f64, *p));
            }
        }
        probe.latest = Some((step, r.clone()));
    }
}

/// Every probe's series from a session's readings (by step, as
/// [`crate::records::read_watched`] returns them).
pub fn probe_series(watched: &[(u64, Vec<WatchReading>)]) -> Vec<ProbeSeries> {
    let mut series = Vec::new();
    for (step, readings) in watched {
        add_readings(&mut series, *step, readings);
    }
    series
}
