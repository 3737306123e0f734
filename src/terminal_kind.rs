//! Whether the terminal can draw a full-screen interface, from `TERM`: unset, empty or
//! `dumb` (Emacs' shell buffers, some CI consoles, serial lines) means no cursor
//! addressing, so no workbench and no progress bars redrawn in place.

/// Ok when a full-screen interface can be drawn; Err with the reason when `TERM`
/// (as `var` gives it) says the terminal cannot address its cursor.
pub fn full_screen(var: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    match var("TERM").as_deref().map(str::trim) {
        None | Some("") => Err("TERM is not set, so the terminal's abilities are unknown".into()),
        Some("dumb") => Err("this terminal (TERM=dumb) cannot draw a full-screen interface".into()),
        Some(_) => Ok(()),
    }
}

/// [`full_screen`] over this process's environment.
pub fn full_screen_here() -> Result<(), String> {
    full_screen(|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(value: Option<&str>) -> Result<(), String> {
        full_screen(|name| {
            (name == "TERM")
                .then_some(value)
                .flatten()
                .map(String::from)
        })
    }

    #[test]
    fn term_decides() {
        for ok in [
            "xterm-256color",
            "tmux-256color",
            "screen",
            "linux",
            "vt100",
        ] {
            assert!(term(Some(ok)).is_ok(), "{ok}");
        }
        assert!(term(Some("dumb")).unwrap_err().contains("TERM=dumb"));
        assert!(term(None).unwrap_err().contains("TERM is not set"));
        assert!(term(Some(" ")).is_err());
    }
}
