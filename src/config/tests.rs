use super::*;

fn load(sets: &[&str]) -> Result<Config> {
    let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
    Config::load(None, &sets)
}

fn err(sets: &[&str]) -> String {
    format!("{:#}", load(sets).unwrap_err())
}

#[test]
fn defaults_are_valid_and_resolve_the_tiny_preset() {
    let c = Config::default();
    c.validate().unwrap();
    let d = c.dims().unwrap();
    assert_eq!(
        (d.layers, d.hidden, d.heads, d.intermediate),
        (2, 128, 2, 512)
    );
}

#[test]
fn presets_follow_the_size_table() {
    for (name, layers, hidden) in [
        ("tiny", 2, 128),
        ("mini", 4, 256),
        ("small", 4, 512),
        ("medium", 8, 512),
        ("base", 12, 768),
    ] {
        let d = load(&[&format!("model.preset=\"{name}\"")])
            .unwrap()
            .dims()
            .unwrap();
        assert_eq!(
            (d.layers, d.hidden, d.heads, d.intermediate),
            (layers, hidden, hidden / 64, 4 * hidden)
        );
    }
}

#[test]
fn explicit_sizes_override_the_preset() {
    let c = load(&["model.preset=base", "model.layers=3", "model.hidden=192"]).unwrap();
    let d = c.dims().unwrap();
    assert_eq!(
        (d.layers, d.hidden, d.heads, d.intermediate),
        (3, 192, 3, 768)
    );
}

#[test]
fn set_parses_numbers_strings_and_bare_words() {
    let c = load(&[
        "train.lr=5e-4",
        "train.device=cpu",
        "data.text_column=\"text\"",
        "model.position=sinusoidal",
    ])
    .unwrap();
    assert_eq!(c.train.lr, 5e-4);
    assert_eq!(c.train.device, crate::config::DeviceChoice::Cpu);
    assert_eq!(c.data.text_column, "text");
    assert_eq!(c.model.position, PositionKind::Sinusoidal);
}

#[test]
fn unknown_keys_name_the_key_and_the_allowed_ones() {
    let e = err(&["train.lrr=1"]);
    assert!(e.contains("train.lrr") && e.contains("warmup_steps"), "{e}");
    let e = err(&["optim.lr=1"]);
    assert!(
        e.contains("optim") && e.contains("model, data, train"),
        "{e}"
    );
    let e = err(&["lr=1"]);
    assert!(e.contains("dotted key"), "{e}");
}

#[test]
fn bad_values_name_the_key_and_what_is_allowed() {
    for (set, key) in [
        ("train.lr=-1", "train.lr"),
        ("train.batch_size=0", "train.batch_size"),
        ("data.mask_prob=1.5", "data.mask_prob"),
        ("data.max_seq_len=4", "data.max_seq_len"),
        ("data.heldout_fraction=0", "data.heldout_fraction"),
        ("model.dropout=1", "model.dropout"),
        ("model.preset=huge", "model.preset"),
        ("train.device=tpu", "train.device"),
        ("model.heads=3", "model.heads"),
        ("data.mask_replace_prob=1.2", "data.mask_replace_prob"),
        ("data.random_replace_prob=-0.1", "data.random_replace_prob"),
        ("train.decay_ratio=0", "train.decay_ratio"),
        ("train.adam_epsilon=0", "train.adam_epsilon"),
    ] {
        let e = err(&[set]);
        assert!(e.contains(key), "{set}: {e}");
    }
    let e = err(&["train.batch_size=\"many\""]);
    assert!(e.contains("batch_size"), "{e}");
    // The two replacement shares may not exceed the selected tokens between them.
    let e = err(&["data.mask_replace_prob=0.9", "data.random_replace_prob=0.2"]);
    assert!(
        e.contains("data.random_replace_prob") && e.contains("<= 1"),
        "{e}"
    );
    let e = err(&["train.lr_scheduler=cosine"]);
    assert!(e.contains("warmup_stable_decay"), "{e}");
    let e = err(&["model.init=xavier"]);
    assert!(e.contains("mimetic"), "{e}");
    let e = err(&["model.position=circular"]);
    assert!(e.contains("learned") && e.contains("sinusoidal"), "{e}");
}

#[test]
fn config_files_are_checked_like_overrides() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[model]\npreset = \"mini\"\n[train]\nlr = 2e-4\n").unwrap();
    let c = Config::load(Some(&good), &["train.lr=3e-4".into()]).unwrap();
    assert_eq!(
        (c.model.preset.name(), c.train.lr),
        ("mini", 3e-4),
        "--set wins over the file"
    );

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[train]\nlearning_rate = 1\n").unwrap();
    let e = format!("{:#}", Config::load(Some(&bad), &[]).unwrap_err());
    assert!(
        e.contains("train.learning_rate") && e.contains("bad.toml"),
        "{e}"
    );

    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[train\nlr = 1\n").unwrap();
    let e = format!("{:#}", Config::load(Some(&broken), &[]).unwrap_err());
    assert!(e.contains("not valid TOML"), "{e}");

    let e = format!(
        "{:#}",
        Config::load(Some(&dir.path().join("none.toml")), &[]).unwrap_err()
    );
    assert!(e.contains("cannot read config file"), "{e}");
}

#[test]
fn saved_config_round_trips() {
    let c = load(&[
        "model.preset=mini",
        "train.lr=3e-4",
        "data.corpus=\"/x/y.csv\"",
    ])
    .unwrap();
    let text = toml::to_string_pretty(&c).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    keys::check_table(&table).unwrap();
    assert_eq!(Config::from_table(table).unwrap(), c);
}

#[test]
fn the_key_list_matches_the_structs() {
    let mut c = Config::default();
    c.model.layers = Some(1);
    c.model.hidden = Some(64);
    c.model.heads = Some(1);
    c.model.intermediate = Some(8);
    c.data.corpus = Some("a".into());
    c.data.vocab = Some("b".into());
    let table: toml::Table = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
    for section in keys::SECTION_NAMES {
        let mut have: Vec<&str> = table[section]
            .as_table()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut want = keys::section_key_names(section);
        have.sort();
        want.sort();
        assert_eq!(have, want, "[{section}]");
    }
}

#[test]
fn overrides_on_a_config_and_the_keys_that_changed() {
    let base = Config::default();
    let changed = base
        .with_overrides(&["train.lr=5e-4".into(), "train.epochs=12".into()])
        .unwrap();
    assert_eq!(changed.train.lr, 5e-4);
    let mut keys = changed.changed_keys(&base).unwrap();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            ("train.epochs".to_string(), "12".to_string()),
            ("train.lr".to_string(), "0.0005".to_string())
        ]
    );
    assert!(base.changed_keys(&base).unwrap().is_empty());
    let err = base.with_overrides(&["train.lr=-1".into()]).unwrap_err();
    assert!(err.to_string().contains("train.lr"), "{err}");
}

#[test]
fn every_key_is_described_and_annotated_configs_load_back() {
    for key in keys::KEYS {
        assert!(!key.meaning.is_empty(), "{}", key.dotted());
    }
    let mut config = Config::default();
    config.data.corpus = Some("reviews # with a hash.csv".into());
    let text = keys::annotate(&toml::to_string_pretty(&config).unwrap());
    assert!(text.contains("lr = 0.001  # peak learning rate"), "{text}");
    let back: Config = toml::from_str(&text).unwrap();
    assert_eq!(back, config);
}

/// Session configs written before `model.nsp` existed load with NSP on, as they
/// trained; `--set model.nsp=false` turns it off.
#[test]
fn configs_without_the_nsp_key_train_nsp() {
    let old = "[model]\npreset = \"tiny\"\ndropout = 0.1\n[train]\nlr = 1e-3\n";
    let table: toml::Table = toml::from_str(old).unwrap();
    let config = Config::from_table(table).unwrap();
    assert!(config.model.nsp);
    let off = config.with_overrides(&["model.nsp=false".into()]).unwrap();
    assert!(!off.model.nsp);
    assert_eq!(
        off.changed_keys(&config).unwrap(),
        vec![("model.nsp".to_string(), "false".to_string())]
    );
}

/// A session saved before a key existed loads with the value it trained with, even
/// where today's default differs; a new config gets today's defaults.
#[test]
fn saved_configs_without_newer_keys_keep_the_recipe_they_trained_with() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[model]\npreset = \"tiny\"\n[train]\nlr = 1e-3\n").unwrap();
    let old = Config::load_saved(&path).unwrap();
    assert!(old.model.nsp);
    assert_eq!(old.model.init, InitKind::Normal);
    assert_eq!(
        (old.data.mask_replace_prob, old.data.random_replace_prob),
        (0.8, 0.1)
    );
    assert_eq!(old.train.lr_scheduler, LrScheduler::Linear);
    assert_eq!(old.train.adam_epsilon, 1e-6);
    // Every legacy value is one the config accepts: a config of legacy values alone
    // loads.
    let mut legacy = toml::Table::new();
    keys::fill_legacy(&mut legacy);
    assert_eq!(
        legacy
            .values()
            .flat_map(|s| s.as_table().unwrap().keys())
            .count(),
        keys::KEYS.iter().filter(|k| k.legacy.is_some()).count()
    );
    Config::from_table(legacy).unwrap();
    // A saved config that names a key keeps its value.
    std::fs::write(&path, "[train]\nlr_scheduler = \"constant_with_warmup\"\n").unwrap();
    let named = Config::load_saved(&path).unwrap();
    assert_eq!(named.train.lr_scheduler, LrScheduler::ConstantWithWarmup);
}

/// `docs/configuration.md` is where a newcomer looks a key up: its table has a row
/// for every key and names no key that does not exist.
#[test]
fn the_configuration_page_documents_exactly_the_keys() {
    let page = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .unwrap();
    let mut documented: Vec<String> = page
        .lines()
        .filter_map(|l| l.strip_prefix("| "))
        .filter_map(|l| l.split(" | ").next())
        .flat_map(|cell| cell.split('`').skip(1).step_by(2))
        .filter(|name| {
            keys::SECTION_NAMES
                .iter()
                .any(|s| name.starts_with(&format!("{s}.")))
        })
        .map(str::to_string)
        .collect();
    documented.sort();
    let mut want: Vec<String> = keys::KEYS.iter().map(keys::Key::dotted).collect();
    want.sort();
    assert_eq!(documented, want);
}
