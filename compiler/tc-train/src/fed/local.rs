//! One node's share of a real federation (`tensorc fed node`): its partition of the
//! data, local training from parameters it is given, and evaluation. The federation
//! engine (Flower) lives elsewhere; this is the work a node does for it, with the same
//! split, step and batching as `fed simulate`'s clients.

use std::collections::HashMap;

use tensorc::{Error, Tensor, Value};

use super::{split, SplitSpec};
use crate::data::{self, DataSet, Rng, Split};
use crate::train::{self, Model, Stepper};

/// Salt of the local shuffling seed.
const LOCAL_SALT: u64 = 0x10ca_1e90_c5ee_d001;

/// This node's examples: indices into the training and the test split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Partition {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

/// Partition `index` of `count` (0-based): the training split dealt by `spec` as
/// `fed simulate` deals it to `count` clients, and the test split dealt IID, both with
/// `seed`. `count == 1` is the whole data set.
pub fn partition(
    data: &DataSet,
    index: usize,
    count: usize,
    spec: SplitSpec,
    seed: u64,
) -> Result<Partition, Error> {
    if count == 0 || index >= count {
        return Err(Error::Usage(format!(
            "--partition {index}/{count}: I must be below N (counting from 0)"
        )));
    }
    if count == 1 {
        return Ok(Partition {
            train: (0..data.train.len()).collect(),
            test: (0..data.test.len()).collect(),
        });
    }
    let mut train = split(&data.train.labels, count, spec, seed)?;
    let mut test = split(&data.test.labels, count, SplitSpec::Iid, seed)?;
    Ok(Partition {
        train: train.swap_remove(index),
        test: test.swap_remove(index),
    })
}

/// The outcome of local training.
#[derive(Clone, Debug)]
pub struct LocalUpdate {
    /// The parameters' leaves after training.
    pub params: Vec<Tensor>,
    /// Training examples of the partition (FedAvg's weight).
    pub examples: usize,
    /// Mean step loss of the last local epoch.
    pub loss: f64,
}

/// A model's training step and evaluation on one node, compiled once per batch size
/// and learning rate.
pub struct LocalTrainer<'a> {
    model: &'a Model,
    template: Value,
    steppers: HashMap<(usize, u64), Stepper>,
}

impl<'a> LocalTrainer<'a> {
    /// Training for `model`, whose parameters have the structure of `template`
    /// (`init`'s result).
    pub fn new(model: &'a Model, template: Value) -> LocalTrainer<'a> {
        LocalTrainer {
            model,
            template,
            steppers: HashMap::new(),
        }
    }

    /// The parameters' structure.
    pub fn template(&self) -> &Value {
        &self.template
    }

    /// Why `leaves` cannot be this model's parameters (count, dtype or shape), if so.
    pub fn check(&self, leaves: &[Tensor]) -> Result<(), String> {
        let expected = self.template.leaves();
        if leaves.len() != expected.len() {
            return Err(format!(
                "the model has {} parameter tensors, {} were sent",
                expected.len(),
                leaves.len()
            ));
        }
        for (i, (got, want)) in leaves.iter().zip(&expected).enumerate() {
            if got.dtype() != want.dtype() || got.shape() != want.shape() {
                return Err(format!(
                    "parameter {i} is {}{:?}, the model's is {}{:?}",
                    got.dtype(),
                    got.shape(),
                    want.dtype(),
                    want.shape()
                ));
            }
        }
        Ok(())
    }

    /// The parameters as the model's tuple.
    pub fn value(&self, leaves: Vec<Tensor>) -> Value {
        train::rebuild(&self.template, &mut leaves.into_iter())
    }

    /// `epochs` passes of SGD (or the file's `step`) with batches of `batch` over the
    /// examples `indices` of `split`, shuffled by `seed`, from `params`.
    #[allow(clippy::too_many_arguments)]
    pub fn train(
        &mut self,
        params: Vec<Tensor>,
        split: &Split,
        indices: &[usize],
        epochs: usize,
        batch: usize,
        lr: f64,
        seed: u64,
    ) -> Result<LocalUpdate, Error> {
        self.check(&params).map_err(Error::Usage)?;
        if indices.is_empty() {
            return Err(Error::Usage(
                "this node's partition has no training examples".to_string(),
            ));
        }
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(Error::Usage(format!(
                "learning rate {lr}: must be positive"
            )));
        }
        if batch == 0 {
            return Err(Error::Usage("batch size 0".to_string()));
        }
        let batch = batch.min(indices.len());
        let mut rng = Rng::new(seed ^ LOCAL_SALT);
        let mut order = indices.to_vec();
        let mut params = params;
        let mut last = f64::NAN;
        for _ in 0..epochs {
            rng.shuffle(&mut order);
            let (mut total, mut steps) = (0.0, 0usize);
            for chunk in order.chunks(batch) {
                let (x, y) = data::batch(split, chunk, self.model.layout, self.model.x_dtype);
                let key = (chunk.len(), lr.to_bits());
                if !self.steppers.contains_key(&key) {
                    let stepper = self.model.stepper(&self.template, &x, &y, lr)?;
                    self.steppers.insert(key, stepper);
                }
                let stepper = &self.steppers[&key];
                let (next, loss) = stepper.step(self.model, params, x, y, &[])?;
                if !loss.is_finite() {
                    return Err(Error::Runtime(format!(
                        "the loss is {loss}; try a smaller learning rate (now {lr})"
                    )));
                }
                params = next;
                total += loss;
                steps += 1;
            }
            last = total / steps.max(1) as f64;
        }
        Ok(LocalUpdate {
            params,
            examples: indices.len(),
            loss: last,
        })
    }

    /// Mean loss and accuracy of `params` on the examples `indices` of `split`.
    pub fn evaluate(
        &self,
        params: Vec<Tensor>,
        split: &Split,
        indices: &[usize],
        batch: usize,
    ) -> Result<(f64, f64), Error> {
        self.check(&params).map_err(Error::Usage)?;
        if indices.is_empty() {
            return Err(Error::Usage(
                "this node's partition has no test examples".to_string(),
            ));
        }
        let params = self.value(params);
        self.model.evaluate(&params, split, indices, batch.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_the_data_once() {
        let data = data::synthetic(300);
        let parts: Vec<Partition> = (0..3)
            .map(|i| partition(&data, i, 3, SplitSpec::Iid, 5).unwrap())
            .collect();
        let mut train: Vec<usize> = parts.iter().flat_map(|p| p.train.clone()).collect();
        let mut test: Vec<usize> = parts.iter().flat_map(|p| p.test.clone()).collect();
        train.sort();
        test.sort();
        assert_eq!(train, (0..300).collect::<Vec<_>>());
        assert_eq!(test, (0..60).collect::<Vec<_>>());
        assert_eq!(partition(&data, 1, 3, SplitSpec::Iid, 5).unwrap(), parts[1]);
        assert!(matches!(
            partition(&data, 3, 3, SplitSpec::Iid, 5),
            Err(Error::Usage(_))
        ));
        assert_eq!(
            partition(&data, 0, 1, SplitSpec::Iid, 5)
                .unwrap()
                .train
                .len(),
            300
        );
    }

    #[test]
    fn local_training_lowers_the_loss_and_checks_parameters() {
        let session = tensorc::Session::new(tensorc::Backend::Cpu).unwrap();
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/fed_fashion_2nn.tc"
        );
        let model = Model::compile_file(&session, path).unwrap();
        let data = data::synthetic(200);
        let template = model.init(0).unwrap();
        let mut trainer = LocalTrainer::new(&model, template.clone());
        let leaves: Vec<Tensor> = template.leaves().into_iter().cloned().collect();
        let all: Vec<usize> = (0..200).collect();
        let test: Vec<usize> = (0..data.test.len()).collect();
        let (loss0, _) = trainer
            .evaluate(leaves.clone(), &data.test, &test, 64)
            .unwrap();
        let update = trainer
            .train(leaves.clone(), &data.train, &all, 2, 10, 0.05, 1)
            .unwrap();
        assert_eq!(update.examples, 200);
        let (loss1, acc1) = trainer
            .evaluate(update.params.clone(), &data.test, &test, 64)
            .unwrap();
        assert!(loss1 < loss0, "loss {loss0} -> {loss1}");
        assert!(acc1 > 0.5, "accuracy {acc1}");
        let mut wrong = leaves.clone();
        wrong.pop();
        assert!(trainer.check(&wrong).is_err());
        let mut wrong = leaves;
        wrong[0] = Tensor::from_f32(vec![1], vec![0.0]).unwrap();
        assert!(trainer.check(&wrong).unwrap_err().contains("parameter 0"));
    }
}
