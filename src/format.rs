//! Number formatting shared by every front end (no dependency on any of them).

/// `n` with a comma between groups of three digits: `760322` -> `"760,322"`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Each data-parallel rank's tokens/s and the share of time in collectives:
/// `ranks 9.4k 8.6k, collectives 4%`; empty for one process (`ranks` empty).
pub fn rank_shares(ranks: &[f64], collectives: Option<f64>) -> String {
    if ranks.is_empty() {
        return String::new();
    }
    let each: Vec<String> = ranks
        .iter()
        .map(|t| format!("{:.1}k", t / 1000.0))
        .collect();
    let share = collectives.map_or(String::new(), |c| {
        format!(", collectives {:.0}%", c * 100.0)
    });
    format!("ranks {}{share}", each.join(" "))
}

#[cfg(test)]
mod tests {
    use super::{group_thousands, rank_shares};

    #[test]
    fn rank_shares_list_each_rank_and_the_collectives() {
        assert_eq!(rank_shares(&[], Some(0.5)), "");
        assert_eq!(rank_shares(&[9400.0, 8560.0], None), "ranks 9.4k 8.6k");
        assert_eq!(
            rank_shares(&[9400.0, 8560.0], Some(0.04)),
            "ranks 9.4k 8.6k, collectives 4%"
        );
    }

    #[test]
    fn groups_from_the_right() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(760_322), "760,322");
        assert_eq!(group_thousands(109_482_240), "109,482,240");
    }
}
