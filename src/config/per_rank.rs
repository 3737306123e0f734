//! A data-parallel run's config as each rank sees it: rank 0's session config rules,
//! except for the keys that describe the rank's own machine, which each rank's own
//! command line may set. What a rank was told that contradicts rank 0 is reported, not
//! silently dropped (a multi-node launch where one node got other options).

use anyhow::{Context, Result};

use super::Config;

/// Keys a rank takes from its own command line when it sets them: where the corpus
/// is on its machine (its content is still checked against rank 0's fingerprint) and
/// how many cores its machine has.
pub const PER_RANK: [&str; 2] = ["data.corpus", "train.threads"];

/// One key a rank was given that rank 0's config overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub key: String,
    /// This rank's value, as written in TOML.
    pub mine: String,
    /// Rank 0's value, as written in TOML.
    pub rank0: String,
}

impl std::fmt::Display for Ignored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={} (rank 0: {})", self.key, self.mine, self.rank0)
    }
}

/// The config rank `>0` trains with: `rank0`'s, with this rank's `own` values of the
/// [`PER_RANK`] keys among `explicit` (the keys its command line set); and the other
/// `explicit` keys whose values differ from rank 0's, which are ignored.
///
/// Errors: a config that does not serialise, or a merged one that does not validate.
pub fn merge(rank0: &Config, own: &Config, explicit: &[String]) -> Result<(Config, Vec<Ignored>)> {
    let mut table = toml::Table::try_from(rank0).context("serialising rank 0's config")?;
    let mine = toml::Table::try_from(own).context("serialising this rank's config")?;
    let mut ignored = Vec::new();
    for key in explicit {
        let Some((section, name)) = key.split_once('.') else {
            continue;
        };
        let value = mine.get(section).and_then(|s| s.get(name));
        let theirs = table.get(section).and_then(|s| s.get(name));
        if value == theirs {
            continue;
        }
        let shown = |v: Option<&toml::Value>| v.map_or("(default)".to_string(), |v| v.to_string());
        if PER_RANK.contains(&key.as_str()) {
            if let Some(section) = table.get_mut(section).and_then(|s| s.as_table_mut()) {
                match value {
                    Some(v) => section.insert(name.to_string(), v.clone()),
                    None => section.remove(name),
                };
            }
        } else {
            ignored.push(Ignored {
                key: key.clone(),
                mine: shown(value),
                rank0: shown(theirs),
            });
        }
    }
    Ok((Config::from_table(table)?, ignored))
}

/// The keys `own` sets away from `base` (the config with no options given).
pub fn explicit_keys(own: &Config, base: &Config) -> Result<Vec<String>> {
    Ok(own
        .changed_keys(base)?
        .into_iter()
        .map(|(k, _)| k)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_0_rules_but_each_machine_keeps_its_own_paths_and_cores() {
        let rank0 = Config::default()
            .with_overrides(&["train.lr=5e-4".into(), "data.corpus=\"/data/a.csv\"".into()])
            .unwrap();
        let own = Config::default()
            .with_overrides(&[
                "train.lr=2e-3".into(),
                "data.corpus=\"/mnt/b.csv\"".into(),
                "train.threads=8".into(),
                "train.max_steps=5".into(),
            ])
            .unwrap();
        let explicit = explicit_keys(&own, &Config::default()).unwrap();
        let (merged, ignored) = merge(&rank0, &own, &explicit).unwrap();
        assert_eq!(
            merged.data.corpus.as_deref(),
            Some(std::path::Path::new("/mnt/b.csv"))
        );
        assert_eq!(merged.train.threads, 8);
        assert_eq!(merged.train.lr, 5e-4);
        let shown: Vec<String> = ignored.iter().map(ToString::to_string).collect();
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown.contains(&"train.lr=0.002 (rank 0: 0.0005)".to_string()),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("train.max_steps=5 (rank 0: ")),
            "{shown:?}"
        );
        // The same options as rank 0: nothing to say, nothing changed.
        let (same, none) = merge(
            &rank0,
            &rank0,
            &explicit_keys(&rank0, &Config::default()).unwrap(),
        )
        .unwrap();
        assert_eq!(same, rank0);
        assert!(none.is_empty());
        // Nothing given: rank 0's config as it is.
        let (plain, none) = merge(&rank0, &Config::default(), &[]).unwrap();
        assert_eq!(plain, rank0);
        assert!(none.is_empty());
    }
}
