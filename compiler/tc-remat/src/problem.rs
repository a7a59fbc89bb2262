//! The planning problem every strategy reads, and the one way a plan becomes a graph.
//!
//! [`Problem::new`] drops dead nodes (nothing an output depends on; parameters stay so
//! the signature is unchanged) and records per node its owned bytes, its compute cost,
//! its distinct inputs and readers. A plan is a *schedule*: the sequence of non-parameter
//! nodes to run, in which a node may appear more than once (a recomputation).
//! [`Problem::build`] turns a schedule into a graph: each entry becomes a fresh node whose
//! inputs are the most recent copies of its operands, and each output is the last copy
//! of its node. A copy is therefore alive from its computation to its last reader, which
//! is what the strategies' memory accounting assumes (or over-estimates).

use tc_ir::{Graph, NodeId, Op};

use crate::cost::CostModel;
use crate::peak::owned_bytes;

pub(crate) struct Problem {
    /// The graph without dead nodes, in the caller's order.
    pub graph: Graph,
    /// Bytes each node's value owns (0 for parameters).
    pub size: Vec<usize>,
    /// Estimated cost of computing each node (0 for parameters and constants).
    pub cost: Vec<f64>,
    /// `Param` nodes: always available, never scheduled.
    pub param: Vec<bool>,
    /// Distinct non-parameter inputs of each node.
    pub inputs: Vec<Vec<usize>>,
    /// Distinct readers of each node, ascending.
    pub users: Vec<Vec<usize>>,
    /// Whether each node is an output (alive at the end).
    pub output: Vec<bool>,
}

impl Problem {
    pub fn new(graph: &Graph, model: &CostModel) -> Problem {
        let graph = prune(graph);
        let n = graph.nodes.len();
        let param: Vec<bool> = graph.nodes.iter().map(|nd| matches!(nd.op, Op::Param(_))).collect();
        let mut inputs = vec![Vec::new(); n];
        let mut users = vec![Vec::new(); n];
        for (i, node) in graph.nodes.iter().enumerate() {
            for inp in &node.inputs {
                let j = inp.index();
                if !param[j] && !inputs[i].contains(&j) {
                    inputs[i].push(j);
                    users[j].push(i);
                }
            }
        }
        let mut output = vec![false; n];
        for o in &graph.outputs {
            output[o.index()] = true;
        }
        Problem {
            size: (0..n).map(|i| owned_bytes(&graph, i)).collect(),
            cost: (0..n).map(|i| model.node_cost(&graph, i)).collect(),
            param,
            inputs,
            users,
            output,
            graph,
        }
    }

    pub fn len(&self) -> usize {
        self.graph.nodes.len()
    }

    /// The caller's schedule: every non-parameter node once, in order.
    pub fn original_steps(&self) -> Vec<usize> {
        (0..self.len()).filter(|&i| !self.param[i]).collect()
    }

    /// Cost of running every node once.
    pub fn base_cost(&self) -> f64 {
        self.cost.iter().sum()
    }

    pub fn steps_cost(&self, steps: &[usize]) -> f64 {
        steps.iter().map(|&s| self.cost[s]).sum()
    }

    /// Index of the last reader of `v` (`None` when nothing reads it).
    pub fn last_user(&self, v: usize) -> Option<usize> {
        self.users[v].last().copied()
    }

    /// `peak_bytes(&self.build(steps))`, computed without building the graph; `None`
    /// when the schedule is not valid.
    pub fn steps_peak(&self, steps: &[usize]) -> Option<usize> {
        let mut latest: Vec<usize> = vec![usize::MAX; self.len()];
        let mut reads: Vec<Vec<usize>> = Vec::with_capacity(steps.len());
        let mut last_read = vec![0usize; steps.len()];
        for (k, &s) in steps.iter().enumerate() {
            let mut ins = Vec::with_capacity(self.inputs[s].len());
            for &j in &self.inputs[s] {
                let copy = latest[j];
                if copy == usize::MAX {
                    return None;
                }
                last_read[copy] = k;
                ins.push(copy);
            }
            reads.push(ins);
            last_read[k] = k;
            latest[s] = k;
        }
        for o in &self.graph.outputs {
            let o = o.index();
            if !self.param[o] {
                if latest[o] == usize::MAX {
                    return None;
                }
                last_read[latest[o]] = usize::MAX;
            }
        }
        let (mut live, mut peak) = (0usize, 0usize);
        for (k, &s) in steps.iter().enumerate() {
            live += self.size[s];
            peak = peak.max(live);
            for &c in &reads[k] {
                if last_read[c] == k {
                    live -= self.size[steps[c]];
                }
            }
            if last_read[k] == k {
                live -= self.size[s];
            }
        }
        Some(peak)
    }

    /// The graph running `steps`: parameters first, then one node per step reading the
    /// most recent copies of its operands; outputs are the last copies. Fails when a
    /// step reads a node with no copy yet or an output is never computed.
    pub fn build(&self, steps: &[usize]) -> Result<Graph, String> {
        let mut out = Graph::new(self.graph.name.clone());
        let mut latest: Vec<Option<NodeId>> = vec![None; self.len()];
        for (i, node) in self.graph.nodes.iter().enumerate() {
            if self.param[i] {
                latest[i] = Some(out.push(node.op.clone(), vec![], node.ty.clone()));
            }
        }
        for &s in steps {
            let node = &self.graph.nodes[s];
            let ins = node
                .inputs
                .iter()
                .map(|inp| latest[inp.index()].ok_or_else(|| format!("step {s} reads {inp} before any copy of it exists")))
                .collect::<Result<Vec<NodeId>, String>>()?;
            latest[s] = Some(out.push(node.op.clone(), ins, node.ty.clone()));
        }
        out.outputs = self
            .graph
            .outputs
            .iter()
            .map(|o| latest[o.index()].ok_or_else(|| format!("output {o} is never computed")))
            .collect::<Result<Vec<NodeId>, String>>()?;
        Ok(out)
    }
}

/// `graph` without the nodes no output depends on; parameters are kept.
fn prune(graph: &Graph) -> Graph {
    let n = graph.nodes.len();
    let mut live = vec![false; n];
    for o in &graph.outputs {
        live[o.index()] = true;
    }
    for i in (0..n).rev() {
        if matches!(graph.nodes[i].op, Op::Param(_)) {
            live[i] = true;
        }
        if live[i] {
            for inp in &graph.nodes[i].inputs {
                live[inp.index()] = true;
            }
        }
    }
    let mut map = vec![NodeId(0); n];
    let mut out = Graph::new(graph.name.clone());
    for (i, node) in graph.nodes.iter().enumerate() {
        if live[i] {
            let ins = node.inputs.iter().map(|x| map[x.index()]).collect();
            map[i] = out.push(node.op.clone(), ins, node.ty.clone());
        }
    }
    out.outputs = graph.outputs.iter().map(|o| map[o.index()]).collect();
    out
}
