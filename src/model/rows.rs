//! How a batch's token rows are laid out. The encoder's projections, feed-forward and
//! LayerNorms work on token rows `[N, H]`; only attention needs sequences `[B, S, ...]`.
//! Padded, N = B x S (every position, padding included); unpadded (MosaicBERT's
//! unpadding, Portes et al. 2023), N is the number of real tokens and padding costs
//! nothing outside attention, which stays exact: the rows are scattered back into
//! their sequences, padding positions zero and masked out as keys.

use tch::{Device, Kind, Tensor};

/// The row layout of one batch of `batch` sequences of `seq` positions.
#[derive(Debug)]
pub struct RowLayout {
    pub batch: i64,
    pub seq: i64,
    /// Unpadded: the flat position (`row * seq + col`) of each real token, `[N]`
    /// (int64, ascending), then, when bucketed, spare rows that repeat a padding
    /// position. `None`: every position is a row.
    index: Option<Tensor>,
    /// How many of `index`'s rows are real tokens (the rest are spare rows).
    real: i64,
    /// The row of each sequence's first token ([CLS]), `[B]` (int64).
    first_rows: Tensor,
}

impl RowLayout {
    /// Every position is a row (row `b * seq + s`).
    pub fn padded(batch: i64, seq: i64) -> Self {
        Self::padded_on(batch, seq, Device::Cpu)
    }

    pub fn padded_on(batch: i64, seq: i64, device: Device) -> Self {
        Self {
            batch,
            seq,
            index: None,
            real: batch * seq,
            first_rows: Tensor::arange(batch, (Kind::Int64, device)) * seq,
        }
    }

    /// Only the positions where `attention_mask` (row-major `[batch, seq]`, 1 = real)
    /// is 1 are rows. Returns the layout and, for every flat position, its row
    /// (`None` at padding), so that callers can move their own indices into rows.
    ///
    /// `bucket` > 1 rounds the row count N up to a multiple of it with spare rows
    /// after the real ones, so that batches of different lengths share a few shapes
    /// (oneDNN compiles its bf16 kernels per shape). A spare row reads the first
    /// padding position: it is computed and discarded, no loss reads it, so its
    /// gradient is zero and the real rows' values and gradients are unchanged.
    /// The mask must have at least one padding position when `bucket` > 1.
    pub fn unpadded(
        batch: usize,
        seq: usize,
        attention_mask: &[i64],
        device: Device,
        bucket: usize,
    ) -> (Self, Vec<Option<i64>>) {
        let mut index = Vec::with_capacity(attention_mask.len());
        let mut row_of = vec![None; attention_mask.len()];
        let mut first_rows = vec![0i64; batch];
        for (flat, &keep) in attention_mask.iter().enumerate() {
            if keep == 0 {
                continue;
            }
            if flat % seq == 0 {
                first_rows[flat / seq] = index.len() as i64;
            }
            row_of[flat] = Some(index.len() as i64);
            index.push(flat as i64);
        }
        let real = index.len();
        if bucket > 1 {
            let spare = attention_mask.iter().position(|&keep| keep == 0);
            let spare = spare.expect("bucketed rows need a padding position") as i64;
            index.resize(real.div_ceil(bucket) * bucket, spare);
        }
        let layout = Self {
            batch: batch as i64,
            seq: seq as i64,
            real: real as i64,
            index: Some(Tensor::from_slice(&index).to_device(device)),
            first_rows: Tensor::from_slice(&first_rows).to_device(device),
        };
        (layout, row_of)
    }

    /// Whether padding positions are left out of the rows.
    pub fn is_unpadded(&self) -> bool {
        self.index.is_some()
    }

    /// Sequences `[B, S, C]` to rows `[N, C]`.
    pub fn rows(&self, sequences: &Tensor) -> Tensor {
        let flat = sequences.flatten(0, 1);
        match &self.index {
            Some(index) => flat.index_select(0, index),
            None => flat,
        }
    }

    /// The number of rows N, spare rows included.
    pub fn row_count(&self) -> i64 {
        self.index
            .as_ref()
            .map_or(self.batch * self.seq, |i| i.size()[0])
    }

    /// Rows `[N, C]` to a `[B x S, C]` tensor with zeros at the padding positions
    /// (spare rows are dropped).
    pub fn pad(&self, rows: &Tensor) -> Tensor {
        let Some(index) = &self.index else {
            return rows.shallow_clone();
        };
        let width = rows.size().last().copied().expect("rows are [N, C]");
        Tensor::zeros([self.batch * self.seq, width], (rows.kind(), rows.device())).index_copy(
            0,
            &index.narrow(0, 0, self.real),
            &rows.narrow(0, 0, self.real),
        )
    }

    /// Attention's per-head context `[B, heads, S, head_dim]` to rows `[N, heads x
    /// head_dim]`.
    pub fn unpad(&self, context: &Tensor) -> Tensor {
        let flat = context.transpose(1, 2).reshape([self.batch * self.seq, -1]);
        match &self.index {
            Some(index) => flat.index_select(0, index),
            None => flat,
        }
    }

    /// Each sequence's first row ([CLS]), `[B, C]`, from rows `[N, C]`.
    pub fn first_of_each(&self, rows: &Tensor) -> Tensor {
        rows.index_select(0, &self.first_rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpadding_keeps_only_the_real_positions_and_pads_them_back() {
        // Two sequences of 4: the second has two padding positions.
        let mask = [1i64, 1, 1, 1, 1, 1, 0, 0];
        let (layout, row_of) = RowLayout::unpadded(2, 4, &mask, Device::Cpu, 1);
        assert!(layout.is_unpadded());
        assert_eq!(
            row_of,
            [
                Some(0),
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                Some(5),
                None,
                None
            ]
        );
        let seqs = Tensor::arange(8, (Kind::Float, Device::Cpu)).view([2, 4, 1]) + 1.0;
        let rows = layout.rows(&seqs);
        assert_eq!(
            Vec::<f32>::try_from(rows.flatten(0, 1)).unwrap(),
            [1., 2., 3., 4., 5., 6.]
        );
        let back = layout.pad(&rows);
        assert_eq!(
            Vec::<f32>::try_from(back.flatten(0, 1)).unwrap(),
            [1., 2., 3., 4., 5., 6., 0., 0.]
        );
        let firsts = layout.first_of_each(&rows);
        assert_eq!(
            Vec::<f32>::try_from(firsts.flatten(0, 1)).unwrap(),
            [1., 5.]
        );
        let padded = RowLayout::padded(2, 4);
        assert!(padded.rows(&seqs).equal(&seqs.flatten(0, 1)));
        assert_eq!(
            Vec::<f32>::try_from(padded.first_of_each(&padded.rows(&seqs)).flatten(0, 1)).unwrap(),
            [1., 5.]
        );
    }
}
