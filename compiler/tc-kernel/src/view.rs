//! Affine index maps, and how the graph's layout ops compose with them.
//!
//! While fusing, the value of a node is needed at "the node index that corresponds to
//! the kernel's domain point `j`". That correspondence is an [`IndexMap`]: affine in `j`,
//! either per node axis ([`IndexMap::Multi`], one [`View`] row per axis) or for the node's
//! flat C-order position ([`IndexMap::Flat`]). Layout ops (`broadcast`, `transpose`,
//! `reverse`, `slice`, `reshape`) only change the map: [`through_op`] takes the map of an
//! op's result to the map of its operand, so a fused loop reads the original buffer
//! directly and no copy is made. A `reshape` that splits an axis cannot keep a
//! per-axis map; it falls back to a flat map, which loads accept but other layout ops
//! and `iota` do not (the fuser then materialises the operand in a buffer).

use crate::program::{c_strides, View};
use tc_ir::Op;

/// An affine map from a domain point to a node's index; see the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum IndexMap {
    /// One row per node axis: the index along that axis.
    Multi(Vec<View>),
    /// The node's flat C-order element index.
    Flat(View),
}

fn zero_row(rank: usize) -> View {
    View { offset: 0, strides: vec![0; rank] }
}

impl IndexMap {
    /// The identity map of a domain of `shape` onto a node of the same shape.
    pub fn identity(shape: &[usize]) -> IndexMap {
        let rank = shape.len();
        IndexMap::Multi(
            (0..rank)
                .map(|a| {
                    let mut row = zero_row(rank);
                    row.strides[a] = 1;
                    row
                })
                .collect(),
        )
    }

    /// The node's flat element index as an affine map, for a node of `shape`.
    pub fn to_flat(&self, shape: &[usize], domain_rank: usize) -> View {
        match self {
            IndexMap::Flat(v) => v.clone(),
            IndexMap::Multi(rows) => {
                let mut out = zero_row(domain_rank);
                for (row, &cs) in rows.iter().zip(&c_strides(shape)) {
                    let cs = cs as isize;
                    out.offset += cs * row.offset;
                    for (o, s) in out.strides.iter_mut().zip(&row.strides) {
                        *o += cs * s;
                    }
                }
                out
            }
        }
    }
}

fn shifted(row: &View, by: isize) -> View {
    View { offset: row.offset + by, strides: row.strides.clone() }
}

fn flipped(row: &View, size: usize) -> View {
    View { offset: size as isize - 1 - row.offset, strides: row.strides.iter().map(|s| -s).collect() }
}

/// The map of `op`'s operand (of shape `in_shape`) given the map `out` of its result (of
/// shape `out_shape`), for the layout ops; `None` when the map cannot be expressed (a
/// flat map through an op that needs per-axis indices). `domain_rank` is the rank of the
/// kernel's domain.
pub fn through_op(op: &Op, out: &IndexMap, in_shape: &[usize], out_shape: &[usize], domain_rank: usize) -> Option<IndexMap> {
    if let Op::Reshape = op {
        return Some(through_reshape(out, in_shape, out_shape, domain_rank));
    }
    let IndexMap::Multi(rows) = out else {
        return None;
    };
    let rows = match op {
        Op::Broadcast { dims } => dims
            .iter()
            .enumerate()
            .map(|(k, &d)| if in_shape[k] == 1 { zero_row(domain_rank) } else { rows[d].clone() })
            .collect(),
        Op::Transpose { perm } => {
            let mut inv = vec![0; perm.len()];
            for (i, &p) in perm.iter().enumerate() {
                inv[p] = i;
            }
            inv.iter().map(|&i| rows[i].clone()).collect()
        }
        Op::Reverse { axes } => {
            let mut rows = rows.clone();
            for &a in axes {
                rows[a] = flipped(&rows[a], in_shape[a]);
            }
            rows
        }
        Op::Slice { start, .. } => rows.iter().zip(start).map(|(r, &s)| shifted(r, s as isize)).collect(),
        _ => return None,
    };
    Some(IndexMap::Multi(rows))
}

/// A reshape keeps the flat order. Per-axis rows survive when every group of axes with
/// equal products maps onto a single operand axis (merges, and unit axes coming and
/// going); otherwise the map becomes flat.
fn through_reshape(out: &IndexMap, in_shape: &[usize], out_shape: &[usize], domain_rank: usize) -> IndexMap {
    let rows = match out {
        IndexMap::Flat(v) => return IndexMap::Flat(v.clone()),
        IndexMap::Multi(rows) => rows,
    };
    if in_shape.contains(&0) || out_shape.contains(&0) {
        // No element is ever read.
        return IndexMap::Multi(vec![zero_row(domain_rank); in_shape.len()]);
    }
    let flat = || IndexMap::Flat(out.to_flat(out_shape, domain_rank));
    let mut in_rows = vec![zero_row(domain_rank); in_shape.len()];
    let ins: Vec<usize> = (0..in_shape.len()).filter(|&a| in_shape[a] != 1).collect();
    let outs: Vec<usize> = (0..out_shape.len()).filter(|&a| out_shape[a] != 1).collect();
    let (mut i, mut o) = (0, 0);
    while i < ins.len() && o < outs.len() {
        // Grow the group until the products agree.
        let (i0, o0) = (i, o);
        let (mut pi, mut po) = (in_shape[ins[i]], out_shape[outs[o]]);
        i += 1;
        o += 1;
        while pi != po {
            if pi < po {
                if i == ins.len() {
                    return flat();
                }
                pi *= in_shape[ins[i]];
                i += 1;
            } else {
                if o == outs.len() {
                    return flat();
                }
                po *= out_shape[outs[o]];
                o += 1;
            }
        }
        if i - i0 != 1 {
            return flat(); // an operand axis would be split into several
        }
        // The operand axis is the group's flat index.
        let mut row = zero_row(domain_rank);
        let mut scale = 1isize;
        for &a in outs[o0..o].iter().rev() {
            let r = &rows[a];
            row.offset += scale * r.offset;
            for (x, s) in row.strides.iter_mut().zip(&r.strides) {
                *x += scale * s;
            }
            scale *= out_shape[a] as isize;
        }
        in_rows[ins[i0]] = row;
    }
    IndexMap::Multi(in_rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(offset: isize, strides: &[isize]) -> View {
        View { offset, strides: strides.to_vec() }
    }

    #[test]
    fn transpose_and_broadcast_compose() {
        let id = IndexMap::identity(&[3, 2]);
        let t = through_op(&Op::Transpose { perm: vec![1, 0] }, &id, &[2, 3], &[3, 2], 2).unwrap();
        assert_eq!(t.to_flat(&[2, 3], 2), v(0, &[1, 3]));
        let b = through_op(&Op::Broadcast { dims: vec![1] }, &id, &[2], &[3, 2], 2).unwrap();
        assert_eq!(b.to_flat(&[2], 2), v(0, &[0, 1]));
        let b1 = through_op(&Op::Broadcast { dims: vec![0, 1] }, &id, &[3, 1], &[3, 2], 2).unwrap();
        assert_eq!(b1.to_flat(&[3, 1], 2), v(0, &[1, 0]));
    }

    #[test]
    fn slice_and_reverse_compose() {
        let id = IndexMap::identity(&[2, 2]);
        let s = through_op(&Op::Slice { start: vec![1, 1], end: vec![3, 3] }, &id, &[4, 5], &[2, 2], 2).unwrap();
        assert_eq!(s.to_flat(&[4, 5], 2), v(6, &[5, 1]));
        let r = through_op(&Op::Reverse { axes: vec![1] }, &id, &[2, 2], &[2, 2], 2).unwrap();
        assert_eq!(r.to_flat(&[2, 2], 2), v(1, &[2, -1]));
    }

    #[test]
    fn reshape_merges_keep_rows_and_splits_go_flat() {
        // [2, 3] -> [6]: the operand's two axes would be digits of the result's index,
        // which is not affine, so the map goes flat.
        let id = IndexMap::identity(&[6]);
        let m = through_op(&Op::Reshape, &id, &[2, 3], &[6], 1).unwrap();
        assert_eq!(m, IndexMap::Flat(v(0, &[1])));
        // [6] -> [2, 3]: the operand axis is the merged index 3 i + j.
        let id = IndexMap::identity(&[2, 3]);
        let m = through_op(&Op::Reshape, &id, &[6], &[2, 3], 2).unwrap();
        assert_eq!(m, IndexMap::Multi(vec![v(0, &[3, 1])]));
        // Unit axes come and go: [4] -> [4, 1].
        let id = IndexMap::identity(&[4, 1]);
        let m = through_op(&Op::Reshape, &id, &[4], &[4, 1], 2).unwrap();
        assert_eq!(m, IndexMap::Multi(vec![v(0, &[1, 0])]));
        // A flat map does not go through a transpose.
        assert!(through_op(&Op::Transpose { perm: vec![0] }, &IndexMap::Flat(v(0, &[1])), &[6], &[6], 1).is_none());
    }
}
