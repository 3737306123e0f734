//! A word's nearest tokens in the word-embedding table by cosine similarity, and its
//! similarity to another word.

use anyhow::{bail, Result};
use serde::Serialize;
use tch::{Device, Kind, Tensor};

use crate::model::BertForPreTraining;
use crate::tokenizer::WordPieceTokenizer;

/// One neighbour: a vocabulary token and its cosine similarity (-1..1) to the word.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbour {
    pub token: String,
    pub id: u32,
    pub similarity: f64,
}

/// The word compared with, and its cosine similarity (-1..1) to the probed word.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtherWord {
    pub word: String,
    pub pieces: Vec<String>,
    pub similarity: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Neighbours {
    pub word: String,
    /// The word's WordPiece pieces.
    pub pieces: Vec<String>,
    /// The word has several pieces and its vector is the mean of their embedding rows.
    pub averaged: bool,
    /// Nearest first; the word's own pieces and the special tokens are left out.
    pub neighbours: Vec<Neighbour>,
    pub other: Option<OtherWord>,
}

/// A word's pieces and its vector: the mean of the pieces' rows of `table` [V, H].
fn word_vector(
    tokenizer: &WordPieceTokenizer,
    table: &Tensor,
    word: &str,
) -> Result<(Vec<u32>, Tensor)> {
    let word = word.trim();
    if word.is_empty() {
        bail!("type a word to look up its neighbours");
    }
    let ids = tokenizer.encode(word)?;
    if ids.is_empty() || ids.iter().all(|&i| i == tokenizer.specials.unk) {
        bail!("\"{word}\" is not in the vocabulary (it becomes [UNK])");
    }
    let rows = Tensor::from_slice(&ids.iter().map(|&i| i as i64).collect::<Vec<_>>())
        .to_device(table.device());
    let vector = table.index_select(0, &rows).mean_dim(0, false, Kind::Float);
    Ok((ids, vector))
}

/// The `k` tokens whose rows of the word-embedding table
/// (`bert.embeddings.word_embeddings.weight`) have the highest cosine similarity to
/// `word`'s vector (the mean of its pieces' rows when it has several), leaving out its
/// own pieces and the special tokens; with `other`, also the cosine similarity between
/// the two words' vectors. Fewer than `k` when the vocabulary is smaller.
///
/// Errors: an empty word, a word that is only `[UNK]`, `k` = 0.
pub fn neighbours(
    model: &BertForPreTraining,
    tokenizer: &WordPieceTokenizer,
    word: &str,
    other: Option<&str>,
    k: usize,
    device: Device,
) -> Result<Neighbours> {
    if k == 0 {
        bail!("ask for at least one neighbour");
    }
    let _guard = tch::no_grad_guard();
    let table = model
        .word_embeddings()
        .to_kind(Kind::Float)
        .to_device(device);
    let (ids, vector) = word_vector(tokenizer, &table, word)?;
    let norms = table.norm_scalaropt_dim(2, [1], false);
    let sims = table.matmul(&vector) / (norms * vector.norm()).clamp_min(1e-12);
    let vocab = sims.size()[0];
    let s = tokenizer.specials;
    let mut excluded: Vec<i64> = [s.pad, s.cls, s.sep, s.mask, s.unk]
        .iter()
        .chain(&ids)
        .map(|&i| i as i64)
        .filter(|&i| i < vocab)
        .collect();
    excluded.sort_unstable();
    excluded.dedup();
    let sims = sims.index_fill(
        0,
        &Tensor::from_slice(&excluded).to_device(device),
        f64::NEG_INFINITY,
    );
    let k = (k as i64).min(vocab - excluded.len() as i64).max(0);
    let (scores, indices) = sims.topk(k, 0, true, true);
    let scores: Vec<f32> = Vec::try_from(scores.to_device(Device::Cpu))?;
    let indices: Vec<i64> = Vec::try_from(indices.to_device(Device::Cpu))?;
    let neighbours = indices
        .iter()
        .zip(&scores)
        .map(|(&id, &sim)| Neighbour {
            token: tokenizer.token(id as u32),
            id: id as u32,
            similarity: sim as f64,
        })
        .collect();
    let other = match other.map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) => {
            let (other_ids, other_vector) = word_vector(tokenizer, &table, o)?;
            let sim =
                vector.dot(&other_vector) / (vector.norm() * other_vector.norm()).clamp_min(1e-12);
            Some(OtherWord {
                word: o.to_string(),
                pieces: other_ids.iter().map(|&i| tokenizer.token(i)).collect(),
                similarity: sim.double_value(&[]),
            })
        }
        None => None,
    };
    Ok(Neighbours {
        word: word.trim().to_string(),
        pieces: ids.iter().map(|&i| tokenizer.token(i)).collect(),
        averaged: ids.len() > 1,
        neighbours,
        other,
    })
}

#[cfg(test)]
mod tests {
    use tch::nn::VarStore;

    use super::*;
    use crate::config::Config;
    use crate::model::BertConfig;

    const VOCAB: [&str; 11] = [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cat", "dog", "car", "run", "##s", "the",
    ];

    /// A tiny model over [`VOCAB`] whose embedding rows are set by hand: row `id` is
    /// `rows(id)` in the first two dimensions and 0 elsewhere.
    fn model(rows: impl Fn(usize) -> [f32; 2]) -> (BertForPreTraining, WordPieceTokenizer) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.txt");
        std::fs::write(&path, VOCAB.join("\n")).unwrap();
        let tokenizer = WordPieceTokenizer::from_vocab_file(&path, Default::default()).unwrap();
        let mut c = Config::default();
        c.model.preset = crate::config::Preset::Tiny;
        let cfg = BertConfig::new(VOCAB.len(), c.dims().unwrap(), &c.model);
        let vs = VarStore::new(Device::Cpu);
        let model = BertForPreTraining::new(&vs.root(), &cfg);
        let h = cfg.dims.hidden;
        let mut data = vec![0f32; VOCAB.len() * h];
        for id in 0..VOCAB.len() {
            data[id * h..id * h + 2].copy_from_slice(&rows(id));
        }
        let table = Tensor::from_slice(&data).view([VOCAB.len() as i64, h as i64]);
        let _guard = tch::no_grad_guard();
        model.word_embeddings().shallow_clone().copy_(&table);
        (model, tokenizer)
    }

    fn by_name(name: &str) -> [f32; 2] {
        match name {
            "cat" => [1.0, 0.0],
            "dog" => [0.9, 0.1],
            "car" => [0.0, 1.0],
            "run" => [-1.0, 0.0],
            "##s" => [-0.2, 1.0],
            "the" => [0.4, 0.5],
            // The specials point exactly where "cat" does: they must still be left out.
            _ => [1.0, 0.0],
        }
    }

    #[test]
    fn nearest_by_cosine_without_itself_or_specials() {
        let (m, t) = model(|id| by_name(VOCAB[id]));
        let r = neighbours(&m, &t, "cat", Some("car"), 3, Device::Cpu).unwrap();
        assert_eq!(r.pieces, ["cat"]);
        assert!(!r.averaged);
        let names: Vec<&str> = r.neighbours.iter().map(|n| n.token.as_str()).collect();
        assert_eq!(names, ["dog", "the", "car"]);
        let dog = 0.9 / (0.81f64 + 0.01).sqrt();
        assert!((r.neighbours[0].similarity - dog).abs() < 1e-5);
        let other = r.other.unwrap();
        assert_eq!(other.word, "car");
        assert!(
            other.similarity.abs() < 1e-6,
            "orthogonal: {}",
            other.similarity
        );
    }

    #[test]
    fn a_word_of_several_pieces_is_their_mean() {
        let (m, t) = model(|id| by_name(VOCAB[id]));
        // "cats" = cat + ##s = mean([1,0],[-0.2,1]) = [0.4,0.5]: exactly "the".
        let r = neighbours(&m, &t, "cats", Some("run"), 20, Device::Cpu).unwrap();
        assert_eq!(r.pieces, ["cat", "##s"]);
        assert!(r.averaged);
        assert_eq!(r.neighbours[0].token, "the");
        assert!((r.neighbours[0].similarity - 1.0).abs() < 1e-5);
        // 11 tokens less 5 specials and the two pieces.
        assert_eq!(r.neighbours.len(), 4);
        let run = -0.4 / 0.41f64.sqrt();
        assert!((r.other.unwrap().similarity - run).abs() < 1e-5);
    }

    #[test]
    fn unknown_and_empty_words_are_one_line_errors() {
        let (m, t) = model(|id| by_name(VOCAB[id]));
        let e = neighbours(&m, &t, "zebra", None, 3, Device::Cpu).unwrap_err();
        assert!(e.to_string().contains("not in the vocabulary"), "{e}");
        assert!(neighbours(&m, &t, "  ", None, 3, Device::Cpu).is_err());
        assert!(neighbours(&m, &t, "cat", None, 0, Device::Cpu).is_err());
    }
}
