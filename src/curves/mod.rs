//! What the charts plot, whichever front end draws them (the workbench in a terminal,
//! `bertwork report` as SVG and PNG): a session's series ([`history::History`]), the
//! horizontal axis (step, tokens or training time), smoothing, the context-onset marker,
//! the watched probes' curves and the comparison of sessions. Pure apart from [`compare::Overlay::load`], which
//! reads a session folder.

pub mod compare;
pub mod history;
pub mod watched;

/// The chart marker's label at the context onset ([`crate::protocol::context_onset`]).
pub const ONSET_MARKER: &str = "context onset";

/// The EMA factor of the smoothed lines until the user changes it (`+`/`-` in the
/// workbench).
pub const DEFAULT_SMOOTHING: f64 = 0.8;
