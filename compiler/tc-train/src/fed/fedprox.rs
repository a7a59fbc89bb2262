//! FedProx's local step: SGD on the model's loss plus the proximal term, built as a
//! graph like the SGD step of `tensorc train`.

use tc_ir::Graph;
use tensorc::{DType, Error, Specialization, Tensor, Type, Value};

use super::FEDPROX_STEP;
use crate::train::{self, LossGraph, Model, Stepper};

impl Model {
    /// The FedProx step for parameters `params` and batches like `x`, `y`:
    /// `(P, x, y, lr: f32, mu: f32, w: P) -> (P', loss)`, SGD on
    /// `loss(p, x, y) + mu/2·||p − w||²` with `w` the global model, each leaf's squared
    /// distance summed in its dtype and converted to f32.
    pub(crate) fn fedprox_stepper(&self, params: &Value, x: &Tensor, y: &Tensor, lr: f64, mu: f64) -> Result<Stepper, Error> {
        let spec = self.fedprox_graph(params, x, y)?;
        Stepper::generated(self, FEDPROX_STEP, spec, vec![Tensor::scalar(lr as f32), Tensor::scalar(mu as f32)])
    }

    pub(crate) fn fedprox_graph(&self, params: &Value, x: &Tensor, y: &Tensor) -> Result<Specialization, Error> {
        let LossGraph { mut graph, loss, params: leaves, next_param } = self.loss_graph(params, x, y)?;
        let lr = graph.param(next_param, Type::scalar(DType::F32));
        let mu = graph.param(next_param + 1, Type::scalar(DType::F32));
        let global: Vec<_> = leaves
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let ty = graph.ty(p).clone();
                graph.param(next_param + 2 + i, ty)
            })
            .collect();
        let objective = match train::squared_distance(&mut graph, &leaves, &global) {
            Some(prox) => proximal_objective(&mut graph, loss, mu, prox),
            None => loss,
        };
        let grads = self.gradients(&mut graph, objective, &leaves)?;
        graph.outputs = train::sgd_update(&mut graph, &leaves, &grads, lr);
        graph.outputs.push(loss);
        graph.name = FEDPROX_STEP.to_string();
        Ok(Specialization { graph, outputs: train::step_tree(params) })
    }
}

/// `loss + mu / 2 * prox`, the term converted to the loss's dtype.
fn proximal_objective(graph: &mut Graph, loss: tc_ir::NodeId, mu: tc_ir::NodeId, prox: tc_ir::NodeId) -> tc_ir::NodeId {
    let two = graph.scalar(DType::F32, 2.0);
    let half = graph.div(mu, two);
    let term = graph.mul(half, prox);
    let dtype = graph.ty(loss).dtype;
    let term = graph.cast(term, dtype);
    graph.add(loss, term)
}

#[cfg(test)]
mod tests {
    use tensorc::{Backend, Session, Tensor, Value};

    use crate::train::tests::{assert_same, setup, NESTED};
    use crate::train::Model;

    /// FedProx's step written in tensorc: what the generated step computes.
    const FEDPROX_BY_HAND: &str = "
fn prox_step(p, w, x, y, lr: f32, mu: f32) {
    let l = loss(p, x, y);
    let prox = sum((p.0 - w.0) ** 2) + sum(((p.1).0 - (w.1).0) ** 2) + (sum(((p.1).1 - (w.1).1) ** 2) as f32);
    let g = grad(l + mu / 2.0 * prox, p);
    ((p.0 - lr * g.0, ((p.1).0 - lr * (g.1).0, (p.1).1 - (lr as f64) * (g.1).1)), l)
}
";

    #[test]
    fn the_fedprox_graph_computes_fedprox_written_in_tensorc() {
        let session = Session::new(Backend::Interp).unwrap();
        let model = Model::compile_source(&session, "nested.tc", format!("{NESTED}{FEDPROX_BY_HAND}")).unwrap();
        let (global, x, y) = setup(&model, 16);
        let (lr, mu) = (0.1, 0.5);
        let stepper = model.fedprox_stepper(&global, &x, &y, lr, mu).unwrap();
        let w: Vec<Tensor> = global.leaves().into_iter().cloned().collect();
        let mut ours = (w.clone(), 0.0);
        let mut theirs = global.clone();
        for round in 0..3 {
            ours = stepper.step(&model, ours.0, x.clone(), y.clone(), &w).unwrap();
            let args = [theirs, global.clone(), Value::Tensor(x.clone()), Value::Tensor(y.clone())]
                .into_iter()
                .chain([lr as f32, mu as f32].map(|s| Value::Tensor(Tensor::scalar(s))))
                .map(Some)
                .collect::<Vec<_>>();
            let Value::Tuple(mut result) = model.module().call_bound("prox_step", &args).unwrap() else { panic!("a tuple") };
            let loss = result.pop().unwrap().into_leaves()[0].data().to_f64_vec()[0];
            theirs = result.pop().unwrap();
            assert_eq!(ours.1.to_bits(), loss.to_bits(), "round {round}: loss {} vs {loss}", ours.1);
            for (i, (p, q)) in ours.0.iter().zip(theirs.leaves()).enumerate() {
                assert_same(p, q, &format!("round {round}, leaf {i}"));
            }
        }
        // From the second step on, the proximal term pulls towards `w`.
        let plain = model.stepper(&global, &x, &y, lr).unwrap();
        let mut sgd = w.clone();
        for _ in 0..3 {
            sgd = plain.step(&model, sgd, x.clone(), y.clone(), &[]).unwrap().0;
        }
        assert_ne!(sgd[0].data().to_f64_vec(), ours.0[0].data().to_f64_vec());
    }
}
