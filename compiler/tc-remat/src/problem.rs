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
//!
//! Donations (`tc_ir::donate`) carry over: an output's last copy costs nothing when its
//! donated parameter has no reader after it in the schedule ([`Problem::step_sizes`]),
//! the rule `peak_bytes` applies to the built graph. Parameters stay available to every
//! step; a schedule that reads one after its update simply pays for a fresh buffer.

use tc_ir::donate::{donors, overwrites_operand};
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
    /// Per node, the parameter node whose storage its last copy may take (a donation
    /// whose parameter is not also an output).
    pub donor: Vec<Option<usize>>,
    /// Distinct parameter inputs of each node.
    pub param_inputs: Vec<Vec<usize>>,
    /// Distinct readers of each parameter node, ascending.
    pub param_users: Vec<Vec<usize>>,
}

impl Problem {
    pub fn new(graph: &Graph, model: &CostModel) -> Problem {
        let graph = prune(graph);
        let n = graph.nodes.len();
        let param: Vec<bool> = graph.nodes.iter().map(|nd| matches!(nd.op, Op::Param(_))).collect();
        let mut inputs = vec![Vec::new(); n];
        let mut users = vec![Vec::new(); n];
        let mut param_inputs = vec![Vec::new(); n];
        let mut param_users = vec![Vec::new(); n];
        for (i, node) in graph.nodes.iter().enumerate() {
            for inp in &node.inputs {
                let j = inp.index();
                let (ins, us) = if param[j] { (&mut param_inputs, &mut param_users) } else { (&mut inputs, &mut users) };
                if !ins[i].contains(&j) {
                    ins[i].push(j);
                    us[j].push(i);
                }
            }
        }
        let mut output = vec![false; n];
        for o in &graph.outputs {
            output[o.index()] = true;
        }
        let param_node = |i: usize| graph.nodes.iter().position(|nd| nd.op == Op::Param(i));
        let donor = donors(&graph).into_iter().map(|d| d.and_then(param_node).filter(|&q| !output[q])).collect();
        Problem {
            size: (0..n).map(|i| owned_bytes(&graph, i)).collect(),
            cost: (0..n).map(|i| model.node_cost(&graph, i)).collect(),
            param,
            inputs,
            users,
            output,
            donor,
            param_inputs,
            param_users,
            graph,
        }
    }

    /// Bytes `v` may cost at least: nothing when it may take a donated parameter's storage.
    pub fn min_size(&self, v: usize) -> usize {
        if self.donor[v].is_some() {
            0
        } else {
            self.size[v]
        }
    }

    /// Whether the copy of `v` computed at step `k` takes over its donated parameter's
    /// storage, given the last step `last_read` reading that parameter (`tc_ir::donate`'s
    /// rule; the caller checks that `k` is `v`'s last copy).
    pub fn donation_holds(&self, v: usize, k: usize, last_read: Option<usize>) -> bool {
        self.donor[v].is_some()
            && match last_read {
                None => true,
                Some(r) => r < k || (r == k && overwrites_operand(&self.graph.nodes[v].op)),
            }
    }

    /// Bytes each step's copy counts while alive: its node's size, or nothing for an
    /// output's last copy that takes over its donated parameter's storage.
    pub fn step_sizes(&self, steps: &[usize]) -> Vec<usize> {
        let mut sizes: Vec<usize> = steps.iter().map(|&s| self.size[s]).collect();
        if self.donor.iter().all(Option::is_none) {
            return sizes;
        }
        let mut last_copy = vec![usize::MAX; self.len()];
        let mut param_read: Vec<Option<usize>> = vec![None; self.len()];
        for (k, &s) in steps.iter().enumerate() {
            last_copy[s] = k;
            for &q in &self.param_inputs[s] {
                param_read[q] = Some(k);
            }
        }
        for (v, d) in self.donor.iter().enumerate() {
            let (Some(d), k) = (*d, last_copy[v]) else { continue };
            if k != usize::MAX && self.donation_holds(v, k, param_read[d]) {
                sizes[k] = 0;
            }
        }
        sizes
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
        let size = self.step_sizes(steps);
        let (mut live, mut peak) = (0usize, 0usize);
        for k in 0..steps.len() {
            live += size[k];
            peak = peak.max(live);
            for &c in &reads[k] {
                if last_read[c] == k {
                    live -= size[c];
                }
            }
            if last_read[k] == k {
                live -= size[k];
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
        out.donations = self.graph.donations.clone();
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
    out.donations = graph.donations.clone();
    out
}
