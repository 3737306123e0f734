//! HF's `BertForSequenceClassification`: the encoder and its pooler (dense + tanh on
//! `[CLS]`), dropout, and a linear classifier (`classifier.weight` [C, H],
//! `classifier.bias` [C]).

use tch::{nn, nn::Module, Tensor};

use crate::model::{BertConfig, BertForPreTraining};

pub struct BertForSequenceClassification {
    /// The pretraining model (its MLM and NSP heads stay unused, so they get no
    /// gradient; the export leaves them out).
    pub bert: BertForPreTraining,
    classifier: nn::Linear,
    dropout: f64,
}

impl BertForSequenceClassification {
    /// Variables under `root`: `bert.*`, `cls.*` and `classifier.*`; the classifier
    /// starts N(0, 0.02) with a zero bias, as in HF.
    pub fn new(root: &nn::Path, config: &BertConfig, classes: usize) -> Self {
        let bert = BertForPreTraining::new(root, config);
        let h = config.dims.hidden as i64;
        let classifier = nn::linear(
            root / "classifier",
            h,
            classes as i64,
            nn::LinearConfig {
                ws_init: nn::Init::Randn {
                    mean: 0.0,
                    stdev: 0.02,
                },
                bs_init: Some(nn::Init::Const(0.0)),
                bias: true,
            },
        );
        Self {
            bert,
            classifier,
            dropout: config.dropout,
        }
    }

    /// Class logits [B, C] for `input_ids` [B, S] (`attention_mask` nonzero at real
    /// tokens; one segment). Dropout when `train`.
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor, train: bool) -> Tensor {
        let out = self
            .bert
            .encode(input_ids, &input_ids.zeros_like(), attention_mask, train);
        self.classifier
            .forward(&out.pooled.dropout(self.dropout, train))
    }
}
