//! Named model sizes (Turc et al. 2019 for the small ones, Devlin et al. 2018 for base/large).

/// Layer count, hidden width, attention heads and feed-forward width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelDims {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
}

/// (name, layers, hidden); heads = hidden / 64, feed-forward = 4 x hidden.
pub const PRESETS: &[(&str, usize, usize)] = &[
    ("tiny", 2, 128),
    ("mini", 4, 256),
    ("small", 4, 512),
    ("medium", 8, 512),
    ("base", 12, 768),
    ("large", 24, 1024),
];

pub fn preset(name: &str) -> Option<ModelDims> {
    PRESETS
        .iter()
        .find(|p| p.0 == name)
        .map(|&(_, layers, hidden)| ModelDims {
            layers,
            hidden,
            heads: hidden / 64,
            intermediate: 4 * hidden,
        })
}
