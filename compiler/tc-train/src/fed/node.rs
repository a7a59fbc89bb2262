//! A model file as a node of a real Flower federation (`tensorc fed node`, SPEC §11):
//! [`ModelHandler`] answers the Fleet API's `train` and `evaluate` instructions with the
//! node's [`LocalTrainer`] on its [`Partition`], for the node loop of `tc_flower`.
//!
//! Parameters travel as an ArrayRecord `arrays` whose keys are `"0"`, `"1"`, … — the
//! leaves of the model's parameter tuple, depth-first, as `tensorc run FILE -e init -o
//! DIR` writes them. A `train` reply holds exactly `arrays` (same keys, dtypes, shapes)
//! and the MetricRecord `metrics` with `num-examples` and `train-loss`; an `evaluate`
//! reply exactly `metrics` with `num-examples`, `loss` and `accuracy`. Anything else —
//! another message type, arrays that do not fit the model, a bad config value — is
//! an error reply whose reason names the problem.
//!
//! A host application runs a node with its own model and data in a thread with
//! [`tc_flower::node::run`] and a [`ModelHandler`], as `tensorc fed node` does.

use std::path::PathBuf;

use tc_flower::objects::{self, Array, ConfigValue, MetricValue};
use tc_flower::{Body, Handler, Message, Record, RecordDict};
use tensorc::{Error, Tensor};

use super::local::{LocalTrainer, Partition};
use crate::data::DataSet;

/// A node's training settings, used where the instruction's config does not say.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSettings {
    /// Used when the config has no `lr`.
    pub lr: f64,
    /// Used when the config has no `batch-size`.
    pub batch: usize,
    /// Used when the config has no `local-epochs`.
    pub local_epochs: usize,
    /// Seeds local shuffling (mixed with the round).
    pub seed: u64,
    /// Examples per evaluation call.
    pub eval_batch: usize,
    /// When set, each train reply's parameters are also written here as
    /// `round<R>-<KEY>.npy` with `round<R>-num-examples.txt` (for checking aggregation).
    pub dump_updates: Option<PathBuf>,
}

impl Default for NodeSettings {
    fn default() -> NodeSettings {
        NodeSettings {
            lr: 0.1,
            batch: 10,
            local_epochs: 1,
            seed: 0,
            eval_batch: 500,
            dump_updates: None,
        }
    }
}

/// Answers `train` and `evaluate` with a model on a partition of a data set.
pub struct ModelHandler<'a> {
    trainer: LocalTrainer<'a>,
    data: &'a DataSet,
    partition: Partition,
    settings: NodeSettings,
    note: String,
}

impl<'a> ModelHandler<'a> {
    pub fn new(
        trainer: LocalTrainer<'a>,
        data: &'a DataSet,
        partition: Partition,
        settings: NodeSettings,
    ) -> ModelHandler<'a> {
        ModelHandler {
            trainer,
            data,
            partition,
            settings,
            note: String::new(),
        }
    }

    /// The parameters in `content`'s ArrayRecord `arrays`, checked against the model:
    /// keys `"0"` … `"n-1"`, then dtypes and shapes.
    fn params(&self, content: &RecordDict) -> Result<(Vec<String>, Vec<Tensor>), String> {
        let arrays = match content.get("arrays") {
            Some(Record::Arrays(arrays)) => arrays,
            Some(other) => {
                return Err(format!(
                    "record `arrays` is a {}, not an ArrayRecord",
                    other.type_name()
                ))
            }
            None => {
                return Err(
                    "the instruction has no ArrayRecord `arrays` (the model's parameters)"
                        .to_string(),
                )
            }
        };
        let n = self.trainer.template().leaves().len();
        let mut slots: Vec<Option<Tensor>> = vec![None; n];
        for (key, array) in arrays {
            let index = key
                .parse::<usize>()
                .ok()
                .filter(|&i| i < n && key == &i.to_string())
                .ok_or_else(|| {
                    format!(
                        "array key `{key}`: the model's parameters are keys \"0\" to \"{}\"",
                        n.saturating_sub(1)
                    )
                })?;
            let tensor = array
                .to_tensor()
                .map_err(|e| format!("array `{key}`: {e}"))?;
            slots[index] = Some(tensor);
        }
        if arrays.len() != n || slots.iter().any(Option::is_none) {
            return Err(format!(
                "the model has {n} parameter tensors (keys \"0\" to \"{}\"), {} arrays were sent",
                n.saturating_sub(1),
                arrays.len()
            ));
        }
        let leaves: Vec<Tensor> = slots.into_iter().flatten().collect();
        self.trainer.check(&leaves)?;
        Ok(((0..n).map(|i| i.to_string()).collect(), leaves))
    }

    fn train(&mut self, content: &RecordDict) -> Result<RecordDict, String> {
        let (keys, params) = self.params(content)?;
        let config = Config::of(content)?;
        let lr = config.number("lr")?.unwrap_or(self.settings.lr);
        let epochs = config
            .count("local-epochs")?
            .unwrap_or(self.settings.local_epochs);
        let batch = config.count("batch-size")?.unwrap_or(self.settings.batch);
        let round = config.number("server-round")?.map_or(0, |r| r as u64);
        let seed = self.settings.seed ^ round.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let update = self
            .trainer
            .train(
                params,
                &self.data.train,
                &self.partition.train,
                epochs,
                batch,
                lr,
                seed,
            )
            .map_err(|e| e.to_string())?;
        if let Some(dir) = &self.settings.dump_updates {
            dump(dir, round, &keys, &update.params, update.examples)
                .map_err(|e| format!("--dump-updates: {e}"))?;
        }
        let arrays = keys
            .into_iter()
            .zip(&update.params)
            .map(|(k, t)| Array::from_tensor(t).map(|a| (k, a)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())?;
        self.note = format!(
            "{} examples, E = {epochs}, B = {batch}, lr {lr}, train loss {:.4}",
            update.examples, update.loss
        );
        Ok(RecordDict(vec![
            ("arrays".to_string(), Record::Arrays(arrays)),
            (
                "metrics".to_string(),
                Record::Metrics(vec![
                    (
                        "num-examples".to_string(),
                        objects::metric_int(update.examples as u64),
                    ),
                    ("train-loss".to_string(), MetricValue::Double(update.loss)),
                ]),
            ),
        ]))
    }

    fn evaluate(&mut self, content: &RecordDict) -> Result<RecordDict, String> {
        let (_, params) = self.params(content)?;
        let (loss, accuracy) = self
            .trainer
            .evaluate(
                params,
                &self.data.test,
                &self.partition.test,
                self.settings.eval_batch,
            )
            .map_err(|e| e.to_string())?;
        let examples = self.partition.test.len();
        self.note = format!(
            "{examples} test examples, loss {loss:.4}, accuracy {:.2}%",
            100.0 * accuracy
        );
        Ok(RecordDict(vec![(
            "metrics".to_string(),
            Record::Metrics(vec![
                (
                    "num-examples".to_string(),
                    objects::metric_int(examples as u64),
                ),
                ("loss".to_string(), MetricValue::Double(loss)),
                ("accuracy".to_string(), MetricValue::Double(accuracy)),
            ]),
        )]))
    }
}

impl Handler for ModelHandler<'_> {
    fn handle(&mut self, message: &Message) -> Result<RecordDict, String> {
        self.note.clear();
        let Body::Content(content) = &message.body else {
            return Err("the instruction carries an error instead of content".to_string());
        };
        let kind = message.metadata.message_type.as_str();
        match kind.split_once('.').map_or(kind, |(base, _)| base) {
            "train" => self.train(content),
            "evaluate" => self.evaluate(content),
            _ => Err(format!("message type `{kind}` is not supported by a tensorc node: it answers `train` and `evaluate`")),
        }
    }

    fn note(&self) -> String {
        self.note.clone()
    }
}

/// The ConfigRecord `config` of an instruction (if any).
struct Config<'c>(&'c [(String, ConfigValue)]);

impl<'c> Config<'c> {
    fn of(content: &'c RecordDict) -> Result<Config<'c>, String> {
        match content.get("config") {
            Some(Record::Config(items)) => Ok(Config(items)),
            Some(other) => Err(format!(
                "record `config` is a {}, not a ConfigRecord",
                other.type_name()
            )),
            None => Ok(Config(&[])),
        }
    }

    fn number(&self, key: &str) -> Result<Option<f64>, String> {
        match self.0.iter().find(|(k, _)| k == key) {
            None => Ok(None),
            Some((_, v)) => match objects::config_number(v) {
                Some(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(format!("config `{key}` must be a number")),
            },
        }
    }

    fn count(&self, key: &str) -> Result<Option<usize>, String> {
        match self.number(key)? {
            None => Ok(None),
            Some(x) if x >= 1.0 && x.fract() == 0.0 && x <= 1e9 => Ok(Some(x as usize)),
            Some(x) => Err(format!("config `{key}` = {x}: must be a positive integer")),
        }
    }
}

fn dump(
    dir: &std::path::Path,
    round: u64,
    keys: &[String],
    params: &[Tensor],
    examples: usize,
) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Runtime(format!("{}: {e}", dir.display())))?;
    for (k, t) in keys.iter().zip(params) {
        tc_tensor::write_npy_file(dir.join(format!("round{round}-{k}.npy")), t)
            .map_err(|e| Error::Runtime(e.to_string()))?;
    }
    std::fs::write(
        dir.join(format!("round{round}-num-examples.txt")),
        examples.to_string(),
    )
    .map_err(|e| Error::Runtime(format!("{}: {e}", dir.display())))
}
