//! Named model sizes (Turc et al. 2019 for the small ones, Devlin et al. 2018 for base/large).

use serde::{Deserialize, Deserializer, Serialize};

/// Layer count, hidden width, attention heads and feed-forward width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelDims {
    pub layers: usize,
    pub hidden: usize,
    pub heads: usize,
    pub intermediate: usize,
}

/// A named model size (`model.preset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    Tiny,
    Mini,
    Small,
    Medium,
    Base,
    Large,
}

impl Preset {
    /// Every preset, smallest first.
    pub const ALL: [Preset; 6] = [
        Preset::Tiny,
        Preset::Mini,
        Preset::Small,
        Preset::Medium,
        Preset::Base,
        Preset::Large,
    ];

    /// How configs and session lists name it.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Tiny => "tiny",
            Preset::Mini => "mini",
            Preset::Small => "small",
            Preset::Medium => "medium",
            Preset::Base => "base",
            Preset::Large => "large",
        }
    }

    /// Its sizes: (layers, hidden) as published; heads = hidden / 64, feed-forward =
    /// 4 x hidden.
    pub fn dims(self) -> ModelDims {
        let (layers, hidden) = match self {
            Preset::Tiny => (2, 128),
            Preset::Mini => (4, 256),
            Preset::Small => (4, 512),
            Preset::Medium => (8, 512),
            Preset::Base => (12, 768),
            Preset::Large => (24, 1024),
        };
        ModelDims {
            layers,
            hidden,
            heads: hidden / 64,
            intermediate: 4 * hidden,
        }
    }

    /// The preset with exactly these sizes, if one has them.
    pub fn with_dims(dims: ModelDims) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.dims() == dims)
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Preset {
    /// By name; an unknown one names every preset.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let all: Vec<&str> = Preset::ALL.iter().map(|p| p.name()).collect();
                serde::de::Error::custom(format!(
                    "unknown preset `{name}`; allowed: {}",
                    all.join(", ")
                ))
            })
    }
}
