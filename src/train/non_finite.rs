//! What to tell a user when a step's loss or gradient is not finite: which tensor is
//! broken, at which step, and the advice that fits the cause. A broken weight or
//! optimizer moment cannot be trained away; an overflowing step can, with a lower
//! learning rate.

use super::optimizer::{NonFiniteTensor, TensorPart};

/// The message and whether training can go on from the current weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    pub message: String,
    /// The weights and optimizer state are finite: skipping the step and lowering the
    /// learning rate can continue from them (and they are worth saving).
    pub recoverable: bool,
}

/// `symptom`: what was seen (`MLM loss NaN / NSP loss 0.69`, `gradient norm inf`);
/// `step`: the step that failed (1-based, the one that would have been taken);
/// `loaded`: this is the first step after loading the weights (a resume or import);
/// `found`: the first broken tensor, if any; `lr`: the learning rate in effect.
pub fn diagnose(
    symptom: &str,
    step: u64,
    loaded: bool,
    found: Option<&NonFiniteTensor>,
    lr: f64,
) -> Diagnosis {
    let lower = format!(
        "lower train.lr (now {lr:.2e}), e.g. `--set train.lr={:.1e}`",
        lr / 4.0
    );
    let Some(t) = found else {
        return Diagnosis {
            message: format!(
                "non-finite {symptom} at step {step}, with every weight finite: the forward pass overflowed; {lower}"
            ),
            recoverable: true,
        };
    };
    let values = if t.has_nan { "NaN" } else { "infinite" };
    let name = &t.name;
    let (message, recoverable) = match t.part {
        TensorPart::Weight if loaded => (
            format!(
                "weight `{name}` holds {values} values, as loaded (non-finite {symptom} at step {step}): training cannot repair a broken weight; import the model again from finite weights, or resume a session whose weights are finite"
            ),
            false,
        ),
        TensorPart::Weight => (
            format!(
                "weight `{name}` became {values} before step {step} (non-finite {symptom}): the updates diverged; resume from the last checkpoint and {lower}"
            ),
            false,
        ),
        TensorPart::Moment => (
            format!(
                "the optimizer state of `{name}` holds {values} values (non-finite {symptom} at step {step}): the checkpoint's optimizer.safetensors is damaged; resume from an earlier checkpoint"
            ),
            false,
        ),
        TensorPart::Gradient => (
            format!(
                "the gradient of `{name}` is {values} at step {step} ({symptom}) while every weight is finite: the step overflowed; {lower}"
            ),
            true,
        ),
    };
    Diagnosis {
        message,
        recoverable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(part: TensorPart, has_nan: bool) -> NonFiniteTensor {
        NonFiniteTensor {
            part,
            name: "bert.encoder.layer.0.output.dense.weight".into(),
            has_nan,
        }
    }

    #[test]
    fn each_cause_gets_its_own_advice() {
        let loaded = diagnose(
            "MLM loss NaN",
            1,
            true,
            Some(&found(TensorPart::Weight, false)),
            1e-3,
        );
        assert!(!loaded.recoverable);
        assert!(loaded.message.starts_with(
            "weight `bert.encoder.layer.0.output.dense.weight` holds infinite values, as loaded"
        ));
        assert!(
            loaded.message.contains("import the model again")
                && !loaded.message.contains("train.lr")
        );

        let diverged = diagnose(
            "MLM loss NaN",
            50,
            false,
            Some(&found(TensorPart::Weight, true)),
            1e-3,
        );
        assert!(!diverged.recoverable && diverged.message.contains("became NaN before step 50"));
        assert!(diverged.message.contains("lower train.lr (now 1.00e-3)"));

        let grad = diagnose(
            "gradient norm inf",
            7,
            false,
            Some(&found(TensorPart::Gradient, false)),
            1e-3,
        );
        assert!(grad.recoverable && grad.message.contains("gradient of `bert.encoder"));
        assert!(grad.message.contains("--set train.lr=2.5e-4"));

        let moment = diagnose(
            "MLM loss NaN",
            3,
            true,
            Some(&found(TensorPart::Moment, true)),
            1e-3,
        );
        assert!(!moment.recoverable && moment.message.contains("optimizer.safetensors is damaged"));

        let forward = diagnose("MLM loss inf / NSP loss 0.7", 9, false, None, 1e-3);
        assert!(
            forward.recoverable
                && forward
                    .message
                    .contains("at step 9, with every weight finite")
        );
    }
}
