//! The one piece of machinery the passes share: building a new graph node by node from
//! an old one while keeping the map from old node ids to new ones.

use tc_ir::{Graph, Node, NodeId, Op, Type};

pub(crate) struct Rebuild<'a> {
    pub old: &'a Graph,
    pub new: Graph,
    /// New id of each old node visited so far (`None`: dropped).
    map: Vec<Option<NodeId>>,
}

impl<'a> Rebuild<'a> {
    pub fn new(old: &'a Graph) -> Rebuild<'a> {
        Rebuild { old, new: Graph::new(old.name.clone()), map: Vec::with_capacity(old.nodes.len()) }
    }

    /// The new id of an old node already visited and kept. Passes visit nodes in order
    /// and only drop nodes nothing live uses, so this holds on verified graphs.
    pub fn get(&self, old: NodeId) -> NodeId {
        self.map[old.index()].expect("an input was dropped or not visited yet")
    }

    /// The inputs of an old node, as new ids.
    pub fn inputs(&self, node: &Node) -> Vec<NodeId> {
        node.inputs.iter().map(|&i| self.get(i)).collect()
    }

    pub fn push(&mut self, op: Op, inputs: Vec<NodeId>, ty: Type) -> NodeId {
        self.new.push(op, inputs, ty)
    }

    /// Record what the next old node became.
    pub fn map_next(&mut self, to: Option<NodeId>) {
        self.map.push(to);
    }

    /// Copy the next old node with its inputs mapped.
    pub fn copy(&mut self, node: &Node) -> NodeId {
        let inputs = self.inputs(node);
        let id = self.push(node.op.clone(), inputs, node.ty.clone());
        self.map_next(Some(id));
        id
    }

    pub fn finish(mut self) -> Graph {
        self.new.outputs =
            self.old.outputs.iter().map(|&o| self.map[o.index()].expect("an output was dropped")).collect();
        self.new
    }
}
