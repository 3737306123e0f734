//! The ready-made configs in sessions/ load, validate and match their preset names;
//! sessions/tiny.toml spells out the built-in defaults.

use bertwork::config::Config;

#[test]
fn every_session_config_loads_and_names_its_preset() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = Config::load(Some(&path), &[])
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            let stem = path.file_stem().unwrap().to_string_lossy();
            assert_eq!(config.model.preset.name(), stem, "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 5, "expected a config per preset, found {seen}");
}

#[test]
fn tiny_config_equals_the_defaults() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions/tiny.toml");
    assert_eq!(Config::load(Some(&path), &[]).unwrap(), Config::default());
}

/// Every key with a default is spelled out in every ready-made config (the optional
/// ones, which have none, are shown commented out), so a reader sees the whole recipe.
#[test]
fn every_session_config_spells_out_every_key() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for key in bertwork::config::keys::KEYS {
            let name = key.name;
            let set = text.lines().any(|l| l.starts_with(&format!("{name} =")));
            let shown = text.lines().any(|l| l.starts_with(&format!("# {name} =")));
            assert!(set || shown, "{}: `{name}` is missing", path.display());
        }
    }
}
