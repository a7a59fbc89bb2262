//! Contractions and windows: `MatMul`, `Conv2d`, `Pool` and `PoolGrad`.
//!
//! Floats are widened to f64, accumulated in f64 and rounded once to the result dtype;
//! integers accumulate with wrapping i64 arithmetic and wrap to the dtype (bool
//! operands count as 0/1 and results are `!= 0`). Loops run over plain `Vec<f64>` /
//! `Vec<i64>` with the contiguous axis innermost. Each output element's terms are
//! summed in the order the op's formula lists them (`k` for matmul; `c, r, s` for
//! conv; `r, s` for pooling windows). Conv padding takes part literally: a padded
//! position contributes `0 * w` (so an infinite weight over padding gives NaN, as the
//! formula says).
//!
//! On integers, `Pool` Avg and `PoolGrad` divide with the language's integer division
//! (floor): avg is `floor(sum / (size0 * size1))`, a max gradient is
//! `floor(dy / ties)`. The front end is expected to use them on floats.

use crate::elementwise::{floor_div, fmax_nan};
use crate::util::{self, floats_to_data, ints_to_data, invalid, vals, Vals};
use crate::InterpError;
use tc_ir::PoolKind;
use tc_tensor::{Data, DType, Tensor};

/// The two accumulation domains.
trait Num: Copy + PartialOrd {
    const ZERO: Self;
    fn add(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
}

impl Num for f64 {
    const ZERO: f64 = 0.0;
    fn add(self, other: f64) -> f64 {
        self + other
    }
    fn mul(self, other: f64) -> f64 {
        self * other
    }
}

impl Num for i64 {
    const ZERO: i64 = 0;
    fn add(self, other: i64) -> i64 {
        self.wrapping_add(other)
    }
    fn mul(self, other: i64) -> i64 {
        self.wrapping_mul(other)
    }
}

/// Operand values widened for accumulation.
enum Wide {
    F(Vec<f64>),
    I(Vec<i64>),
}

fn wide(t: &Tensor) -> Wide {
    match vals(t) {
        Vals::F(v) => Wide::F(v),
        Vals::I(v) => Wide::I(v),
        Vals::B(v) => Wide::I(v.into_iter().map(i64::from).collect()),
    }
}

fn pack_f(dtype: DType, v: Vec<f64>) -> Data {
    floats_to_data(dtype, v)
}

fn pack_i(dtype: DType, v: Vec<i64>) -> Data {
    ints_to_data(dtype, v)
}

fn same_dtype(op: &'static str, a: &Tensor, b: &Tensor) -> Result<(), InterpError> {
    if a.dtype() == b.dtype() {
        Ok(())
    } else {
        Err(invalid(op, format!("operands have dtypes {} and {}", a.dtype(), b.dtype())))
    }
}

fn matmul_loop<T: Num>(a: &[T], b: &[T], batch: usize, m: usize, k: usize, n: usize) -> Vec<T> {
    let mut out = vec![T::ZERO; batch * m * n];
    if m * n == 0 {
        return out;
    }
    for bi in 0..batch {
        let a = &a[bi * m * k..(bi + 1) * m * k];
        let b = &b[bi * k * n..(bi + 1) * k * n];
        let o = &mut out[bi * m * n..(bi + 1) * m * n];
        for (i, orow) in o.chunks_exact_mut(n).enumerate() {
            for p in 0..k {
                let aip = a[i * k + p];
                let brow = &b[p * n..(p + 1) * n];
                for (oj, &bj) in orow.iter_mut().zip(brow) {
                    *oj = oj.add(aip.mul(bj));
                }
            }
        }
    }
    out
}

/// Batched `a: [..., M, K] @ b: [..., K, N]` with identical batch dims.
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, InterpError> {
    same_dtype("matmul", a, b)?;
    let (sa, sb) = (a.shape(), b.shape());
    let r = sa.len();
    if r < 2 || sb.len() != r || sa[..r - 2] != sb[..r - 2] || sa[r - 1] != sb[r - 2] {
        return Err(invalid("matmul", format!("cannot multiply {sa:?} by {sb:?}")));
    }
    let batch: usize = sa[..r - 2].iter().product();
    let (m, k, n) = (sa[r - 2], sa[r - 1], sb[r - 1]);
    let mut out_shape = sa[..r - 2].to_vec();
    out_shape.extend([m, n]);
    let data = match (wide(a), wide(b)) {
        (Wide::F(x), Wide::F(y)) => pack_f(a.dtype(), matmul_loop(&x, &y, batch, m, k, n)),
        (Wide::I(x), Wide::I(y)) => pack_i(a.dtype(), matmul_loop(&x, &y, batch, m, k, n)),
        _ => return Err(InterpError::Internal("matmul operands widened differently".into())),
    };
    util::tensor(out_shape, data)
}

/// Geometry of a conv or pooling window sweep.
#[derive(Clone, Copy, Debug)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    ho: usize,
    wo: usize,
}

fn dims4(op: &'static str, t: &Tensor) -> Result<[usize; 4], InterpError> {
    <[usize; 4]>::try_from(t.shape()).map_err(|_| invalid(op, format!("expected a rank-4 operand, got shape {:?}", t.shape())))
}

/// `(size + lo + hi - (dil * (k - 1) + 1)) / stride + 1`, or an error if the window
/// does not fit or a parameter is zero.
fn out_size(op: &'static str, size: usize, lo: usize, hi: usize, k: usize, stride: usize, dil: usize) -> Result<usize, InterpError> {
    if k == 0 || stride == 0 || dil == 0 {
        return Err(invalid(op, "window size, stride and dilation must be positive"));
    }
    let padded = size + lo + hi;
    let span = dil * (k - 1) + 1;
    if padded < span {
        return Err(invalid(op, format!("window of extent {span} does not fit an axis of {padded}")));
    }
    Ok((padded - span) / stride + 1)
}

#[allow(clippy::too_many_arguments)]
fn conv_loop<T: Num>(x: &[T], w: &[T], g: Geom, k_out: usize, r_: usize, s_: usize, stride: [usize; 2], pad: [(usize, usize); 2], dil: [usize; 2]) -> Vec<T> {
    let Geom { n, c, h, w: wd, ho, wo } = g;
    let mut out = vec![T::ZERO; n * k_out * ho * wo];
    let (pt, pl) = (pad[0].0 as isize, pad[1].0 as isize);
    for ni in 0..n {
        for ki in 0..k_out {
            let o = &mut out[(ni * k_out + ki) * ho * wo..(ni * k_out + ki + 1) * ho * wo];
            for ci in 0..c {
                let xp = &x[(ni * c + ci) * h * wd..(ni * c + ci + 1) * h * wd];
                for ri in 0..r_ {
                    for si in 0..s_ {
                        let wv = w[((ki * c + ci) * r_ + ri) * s_ + si];
                        for i in 0..ho {
                            let hi = (i * stride[0] + ri * dil[0]) as isize - pt;
                            let row = (0..h as isize).contains(&hi).then(|| &xp[hi as usize * wd..(hi as usize + 1) * wd]);
                            let orow = &mut o[i * wo..(i + 1) * wo];
                            for (j, oj) in orow.iter_mut().enumerate() {
                                let wj = (j * stride[1] + si * dil[1]) as isize - pl;
                                let xv = match row {
                                    Some(row) if (0..wd as isize).contains(&wj) => row[wj as usize],
                                    _ => T::ZERO, // padding
                                };
                                *oj = oj.add(xv.mul(wv));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Cross-correlation of `x: [N, C, H, W]` with `w: [K, C, R, S]`.
pub fn conv2d(x: &Tensor, w: &Tensor, stride: [usize; 2], pad: [(usize, usize); 2], dilation: [usize; 2]) -> Result<Tensor, InterpError> {
    same_dtype("conv2d", x, w)?;
    let [n, c, h, wd] = dims4("conv2d", x)?;
    let [k, c2, r, s] = dims4("conv2d", w)?;
    if c != c2 {
        return Err(invalid("conv2d", format!("input has {c} channels, weights {c2}")));
    }
    let ho = out_size("conv2d", h, pad[0].0, pad[0].1, r, stride[0], dilation[0])?;
    let wo = out_size("conv2d", wd, pad[1].0, pad[1].1, s, stride[1], dilation[1])?;
    let g = Geom { n, c, h, w: wd, ho, wo };
    let data = match (wide(x), wide(w)) {
        (Wide::F(a), Wide::F(b)) => pack_f(x.dtype(), conv_loop(&a, &b, g, k, r, s, stride, pad, dilation)),
        (Wide::I(a), Wide::I(b)) => pack_i(x.dtype(), conv_loop(&a, &b, g, k, r, s, stride, pad, dilation)),
        _ => return Err(InterpError::Internal("conv2d operands widened differently".into())),
    };
    util::tensor(vec![n, k, ho, wo], data)
}

fn pool_geom(op: &'static str, x: &Tensor, size: [usize; 2], stride: [usize; 2]) -> Result<Geom, InterpError> {
    let [n, c, h, w] = dims4(op, x)?;
    let ho = out_size(op, h, 0, 0, size[0], stride[0], 1)?;
    let wo = out_size(op, w, 0, 0, size[1], stride[1], 1)?;
    Ok(Geom { n, c, h, w, ho, wo })
}

/// Visit every window: `f(plane, i, j, positions)` where `positions` are the flat
/// offsets (within the whole tensor) of the window's elements in `r, s` order.
fn for_each_window(g: Geom, size: [usize; 2], stride: [usize; 2], mut f: impl FnMut(usize, &[usize])) {
    let mut pos = Vec::with_capacity(size[0] * size[1]);
    for plane in 0..g.n * g.c {
        for i in 0..g.ho {
            for j in 0..g.wo {
                pos.clear();
                for r in 0..size[0] {
                    for s in 0..size[1] {
                        pos.push((plane * g.h + i * stride[0] + r) * g.w + j * stride[1] + s);
                    }
                }
                f((plane * g.ho + i) * g.wo + j, &pos);
            }
        }
    }
}

/// `Pool { kind, size, stride }` on `x: [N, C, H, W]`, no padding.
pub fn pool(kind: PoolKind, x: &Tensor, size: [usize; 2], stride: [usize; 2]) -> Result<Tensor, InterpError> {
    let g = pool_geom("pool", x, size, stride)?;
    let count = (size[0] * size[1]) as i64;
    let n_out = g.n * g.c * g.ho * g.wo;
    let data = match wide(x) {
        Wide::F(v) => {
            let mut out = vec![0.0; n_out];
            for_each_window(g, size, stride, |o, pos| {
                out[o] = match kind {
                    PoolKind::Max => pos.iter().fold(f64::NEG_INFINITY, |m, &p| fmax_nan(m, v[p])),
                    PoolKind::Avg => pos.iter().fold(0.0, |acc, &p| acc + v[p]) / count as f64,
                };
            });
            pack_f(x.dtype(), out)
        }
        Wide::I(v) => {
            let mut out = vec![0i64; n_out];
            for_each_window(g, size, stride, |o, pos| {
                out[o] = match kind {
                    PoolKind::Max => pos.iter().map(|&p| v[p]).max().unwrap_or(i64::MIN),
                    PoolKind::Avg => floor_div(pos.iter().fold(0i64, |acc, &p| acc.wrapping_add(v[p])), count),
                };
            });
            pack_i(x.dtype(), out)
        }
    };
    util::tensor(vec![g.n, g.c, g.ho, g.wo], data)
}

/// `PoolGrad { kind, size, stride }`: the gradient of `Pool` with respect to `x`, given
/// `x` and `dy`. Max: each window's `dy` is shared equally among the window's maxima
/// (NaNs are the maxima of a window holding NaN). Avg: each window's
/// `dy / (size0 * size1)` goes to every element. Overlapping windows add up.
pub fn pool_grad(kind: PoolKind, x: &Tensor, dy: &Tensor, size: [usize; 2], stride: [usize; 2]) -> Result<Tensor, InterpError> {
    same_dtype("pool_grad", x, dy)?;
    let g = pool_geom("pool_grad", x, size, stride)?;
    let dy_shape = [g.n, g.c, g.ho, g.wo];
    if dy.shape() != dy_shape {
        return Err(invalid("pool_grad", format!("dy has shape {:?}, the pool's result is {dy_shape:?}", dy.shape())));
    }
    let count = size[0] * size[1];
    let data = match (wide(x), wide(dy)) {
        (Wide::F(v), Wide::F(d)) => {
            let mut out = vec![0.0f64; x.len()];
            for_each_window(g, size, stride, |o, pos| match kind {
                PoolKind::Max => {
                    let m = pos.iter().fold(f64::NEG_INFINITY, |m, &p| fmax_nan(m, v[p]));
                    let is_max = |p: usize| if m.is_nan() { v[p].is_nan() } else { v[p] == m };
                    let ties = pos.iter().filter(|&&p| is_max(p)).count();
                    let share = d[o] / ties as f64;
                    for &p in pos.iter().filter(|&&p| is_max(p)) {
                        out[p] += share;
                    }
                }
                PoolKind::Avg => {
                    let share = d[o] / count as f64;
                    for &p in pos {
                        out[p] += share;
                    }
                }
            });
            pack_f(x.dtype(), out)
        }
        (Wide::I(v), Wide::I(d)) => {
            let mut out = vec![0i64; x.len()];
            for_each_window(g, size, stride, |o, pos| {
                let (targets, div): (Vec<usize>, usize) = match kind {
                    PoolKind::Max => {
                        let m = pos.iter().map(|&p| v[p]).max().unwrap_or(i64::MIN);
                        let t: Vec<usize> = pos.iter().copied().filter(|&p| v[p] == m).collect();
                        let k = t.len();
                        (t, k)
                    }
                    PoolKind::Avg => (pos.to_vec(), count),
                };
                let share = floor_div(d[o], div as i64);
                for p in targets {
                    out[p] = out[p].wrapping_add(share);
                }
            });
            pack_i(x.dtype(), out)
        }
        _ => return Err(InterpError::Internal("pool_grad operands widened differently".into())),
    };
    util::tensor(x.shape().to_vec(), data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;

    fn t(shape: &[usize], data: Data) -> Tensor {
        Tensor::new(shape.to_vec(), data).unwrap()
    }
    fn f32s(shape: &[usize], v: &[f32]) -> Tensor {
        t(shape, Data::F32(v.to_vec()))
    }

    #[test]
    fn matmul_small_by_hand() {
        // [[1, 2, 3], [4, 5, 6]] @ [[7, 8], [9, 10], [11, 12]] = [[58, 64], [139, 154]]
        let a = f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let b = f32s(&[3, 2], &[7.0, 8.0, 9.0, 10.0, 11.0, 12.0]);
        assert_eq!(matmul(&a, &b).unwrap(), f32s(&[2, 2], &[58.0, 64.0, 139.0, 154.0]));
        // Batched, i32, with wraparound in the second batch.
        let a = t(&[2, 1, 2], Data::I32(vec![1, 2, 65536, 1]));
        let b = t(&[2, 2, 1], Data::I32(vec![3, 4, 65536, 5]));
        assert_eq!(matmul(&a, &b).unwrap(), t(&[2, 1, 1], Data::I32(vec![11, 5])));
        // u8 wraps.
        let a = t(&[1, 2], Data::U8(vec![200, 100]));
        let b = t(&[2, 1], Data::U8(vec![2, 1]));
        assert_eq!(matmul(&a, &b).unwrap().data(), &Data::U8(vec![244])); // 500 mod 256
        // K = 0 gives zeros.
        let a = t(&[2, 0], Data::F64(vec![]));
        let b = t(&[0, 3], Data::F64(vec![]));
        assert_eq!(matmul(&a, &b).unwrap(), t(&[2, 3], Data::F64(vec![0.0; 6])));
        assert!(matmul(&f32s(&[2, 3], &[0.0; 6]), &f32s(&[2, 3], &[0.0; 6])).is_err());
        assert!(matmul(&f32s(&[3], &[0.0; 3]), &f32s(&[3], &[0.0; 3])).is_err());
    }

    #[test]
    fn matmul_accumulates_in_f64_and_rounds_once() {
        // bf16: 1 * 256 + 1 * 1 + 1 * 1 = 258, a bf16 value, while stepwise bf16 sums
        // would stay at 256 (256 + 1 is a tie that rounds to even).
        let a = t(&[1, 3], Data::BF16(vec![bf16::ONE; 3]));
        let b = t(&[3, 1], Data::BF16(vec![bf16::from_f64(256.0), bf16::ONE, bf16::ONE]));
        assert_eq!(matmul(&a, &b).unwrap().data().to_f64_vec(), vec![258.0]);
        // inf * 0 is NaN, not skipped.
        let a = f32s(&[1, 2], &[f32::INFINITY, 1.0]);
        let b = f32s(&[2, 1], &[0.0, 1.0]);
        assert!(matmul(&a, &b).unwrap().as_f32().unwrap()[0].is_nan());
    }

    /// Direct evaluation of the formula in ops.rs, one output element at a time.
    #[allow(clippy::too_many_arguments)]
    fn conv_naive(x: &[f64], xs: [usize; 4], w: &[f64], ws: [usize; 4], stride: [usize; 2], pad: [(usize, usize); 2], dil: [usize; 2]) -> (Vec<usize>, Vec<f64>) {
        let [n, c, h, wd] = xs;
        let [k, _, r, s] = ws;
        let ho = (h + pad[0].0 + pad[0].1 - dil[0] * (r - 1) - 1) / stride[0] + 1;
        let wo = (wd + pad[1].0 + pad[1].1 - dil[1] * (s - 1) - 1) / stride[1] + 1;
        let xpad = |ni: usize, ci: usize, i: usize, j: usize| -> f64 {
            let (i, j) = (i as isize - pad[0].0 as isize, j as isize - pad[1].0 as isize);
            if i < 0 || j < 0 || i >= h as isize || j >= wd as isize {
                0.0
            } else {
                x[((ni * c + ci) * h + i as usize) * wd + j as usize]
            }
        };
        let mut out = vec![];
        for ni in 0..n {
            for ki in 0..k {
                for i in 0..ho {
                    for j in 0..wo {
                        let mut acc = 0.0;
                        for ci in 0..c {
                            for ri in 0..r {
                                for si in 0..s {
                                    acc += xpad(ni, ci, i * stride[0] + ri * dil[0], j * stride[1] + si * dil[1]) * w[((ki * c + ci) * r + ri) * s + si];
                                }
                            }
                        }
                        out.push(acc);
                    }
                }
            }
        }
        (vec![n, k, ho, wo], out)
    }

    #[test]
    fn conv2d_by_hand() {
        // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], w = [[1, 0], [0, -1]]:
        // out[i, j] = x[i, j] - x[i+1, j+1] = -4 everywhere.
        let x = f32s(&[1, 1, 3, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]);
        let w = f32s(&[1, 1, 2, 2], &[1.0, 0.0, 0.0, -1.0]);
        let r = conv2d(&x, &w, [1, 1], [(0, 0), (0, 0)], [1, 1]).unwrap();
        assert_eq!(r, f32s(&[1, 1, 2, 2], &[-4.0; 4]));
        // Padding 1 all round, stride 2: positions (0,0),(0,2),(2,0),(2,2) of the padded
        // 5x5 image; out[i,j] = xpad[2i, 2j] - xpad[2i+1, 2j+1].
        // (0,0): 0 - 1 = -1; (0,1): 0 - 3 = -3; (1,0): 0 - 7 = -7; (1,1): 5 - 9 = -4.
        let r = conv2d(&x, &w, [2, 2], [(1, 1), (1, 1)], [1, 1]).unwrap();
        assert_eq!(r, f32s(&[1, 1, 2, 2], &[-1.0, -3.0, -7.0, -4.0]));
        // Dilation 2 with a 2x2 kernel spans 3x3: out = x[0,0] - x[2,2] = 1 - 9.
        let r = conv2d(&x, &w, [1, 1], [(0, 0), (0, 0)], [2, 2]).unwrap();
        assert_eq!(r, f32s(&[1, 1, 1, 1], &[-8.0]));
        // Asymmetric padding (lo 0, hi 1) along W only: output 2x3.
        let r = conv2d(&x, &w, [1, 1], [(0, 0), (0, 1)], [1, 1]).unwrap();
        assert_eq!(r, f32s(&[1, 1, 2, 3], &[-4.0, -4.0, 3.0, -4.0, -4.0, 6.0]));
        // Infinite weight over padding: 0 * inf = NaN, literally.
        let winf = f32s(&[1, 1, 1, 1], &[f32::INFINITY]);
        let r = conv2d(&x, &winf, [1, 1], [(1, 0), (0, 0)], [1, 1]).unwrap();
        assert!(r.as_f32().unwrap()[0].is_nan());
        assert_eq!(r.as_f32().unwrap()[3], f32::INFINITY);
        assert!(conv2d(&x, &f32s(&[1, 2, 1, 1], &[1.0, 1.0]), [1, 1], [(0, 0), (0, 0)], [1, 1]).is_err());
        assert!(conv2d(&x, &f32s(&[1, 1, 4, 1], &[1.0; 4]), [1, 1], [(0, 0), (0, 0)], [1, 1]).is_err());
    }

    #[test]
    fn conv2d_matches_naive_formula_multichannel() {
        let xs = [2, 3, 5, 6];
        let ws = [4, 3, 3, 2];
        let x: Vec<f64> = (0..xs.iter().product::<usize>()).map(|i| ((i * 7 + 3) % 11) as f64 - 5.0).collect();
        let w: Vec<f64> = (0..ws.iter().product::<usize>()).map(|i| ((i * 5 + 1) % 7) as f64 - 3.0).collect();
        for (stride, pad, dil) in [
            ([1, 1], [(0, 0), (0, 0)], [1, 1]),
            ([2, 1], [(1, 2), (0, 1)], [1, 2]),
            ([1, 3], [(2, 0), (1, 1)], [2, 1]),
        ] {
            let (shape, want) = conv_naive(&x, xs, &w, ws, stride, pad, dil);
            let got = conv2d(&t(&xs, Data::F64(x.clone())), &t(&ws, Data::F64(w.clone())), stride, pad, dil).unwrap();
            assert_eq!(got.shape(), &shape[..]);
            assert_eq!(got.data(), &Data::F64(want.clone()));
            // Integers agree with the float result (small values, exact).
            let xi = t(&xs, Data::I32(x.iter().map(|&v| v as i32).collect()));
            let wi = t(&ws, Data::I32(w.iter().map(|&v| v as i32).collect()));
            let gi = conv2d(&xi, &wi, stride, pad, dil).unwrap();
            assert_eq!(gi.data().to_f64_vec(), want);
        }
    }

    #[test]
    fn pool_max_avg() {
        // 4x4 plane 0..16, 2x2 windows stride 2.
        let x = f32s(&[1, 1, 4, 4], &(0..16).map(|v| v as f32).collect::<Vec<_>>());
        assert_eq!(pool(PoolKind::Max, &x, [2, 2], [2, 2]).unwrap(), f32s(&[1, 1, 2, 2], &[5.0, 7.0, 13.0, 15.0]));
        assert_eq!(pool(PoolKind::Avg, &x, [2, 2], [2, 2]).unwrap(), f32s(&[1, 1, 2, 2], &[2.5, 4.5, 10.5, 12.5]));
        // Overlapping 3x3 windows, stride 1 -> 2x2.
        assert_eq!(pool(PoolKind::Max, &x, [3, 3], [1, 1]).unwrap(), f32s(&[1, 1, 2, 2], &[10.0, 11.0, 14.0, 15.0]));
        // Windows that do not reach the edge are dropped: 4 wide, size 3 stride 2 -> 1.
        assert_eq!(pool(PoolKind::Max, &x, [3, 3], [2, 2]).unwrap().shape(), &[1, 1, 1, 1]);
        // NaN propagates through max.
        let y = f32s(&[1, 1, 2, 2], &[1.0, f32::NAN, 3.0, 2.0]);
        assert!(pool(PoolKind::Max, &y, [2, 2], [1, 1]).unwrap().as_f32().unwrap()[0].is_nan());
        // Integers: avg floors.
        let z = t(&[1, 1, 1, 2], Data::I32(vec![-3, 0]));
        assert_eq!(pool(PoolKind::Avg, &z, [1, 2], [1, 1]).unwrap().data(), &Data::I32(vec![-2]));
        assert_eq!(pool(PoolKind::Max, &z, [1, 2], [1, 1]).unwrap().data(), &Data::I32(vec![0]));
        assert!(pool(PoolKind::Max, &z, [2, 2], [1, 1]).is_err());
    }

    #[test]
    fn pool_grad_shares_ties() {
        // One 2x2 window with two maxima: dy = 1 goes half to each.
        let x = f32s(&[1, 1, 2, 2], &[3.0, 1.0, 3.0, 2.0]);
        let dy = f32s(&[1, 1, 1, 1], &[1.0]);
        assert_eq!(pool_grad(PoolKind::Max, &x, &dy, [2, 2], [2, 2]).unwrap(), f32s(&[1, 1, 2, 2], &[0.5, 0.0, 0.5, 0.0]));
        // Three-way tie: thirds, rounded once to f32.
        let x = f32s(&[1, 1, 2, 2], &[7.0, 7.0, 7.0, 2.0]);
        let r = pool_grad(PoolKind::Max, &x, &dy, [2, 2], [2, 2]).unwrap();
        assert_eq!(r, f32s(&[1, 1, 2, 2], &[(1.0f64 / 3.0) as f32, (1.0f64 / 3.0) as f32, (1.0f64 / 3.0) as f32, 0.0]));
        // Overlapping windows (1x3 row, size 1x2, stride 1): windows [5, 5] and [5, 1];
        // dy = [2, 4]: first window splits 1/1, second sends 4 to the middle.
        let x = f32s(&[1, 1, 1, 3], &[5.0, 5.0, 1.0]);
        let dy = f32s(&[1, 1, 1, 2], &[2.0, 4.0]);
        assert_eq!(pool_grad(PoolKind::Max, &x, &dy, [1, 2], [1, 1]).unwrap(), f32s(&[1, 1, 1, 3], &[1.0, 5.0, 0.0]));
        // Avg with overlap: each window sends dy / 2 to both of its elements.
        assert_eq!(pool_grad(PoolKind::Avg, &x, &dy, [1, 2], [1, 1]).unwrap(), f32s(&[1, 1, 1, 3], &[1.0, 3.0, 2.0]));
        // A NaN is the window's maximum.
        let x = f32s(&[1, 1, 1, 2], &[9.0, f32::NAN]);
        let dy = f32s(&[1, 1, 1, 1], &[6.0]);
        assert_eq!(pool_grad(PoolKind::Max, &x, &dy, [1, 2], [1, 1]).unwrap(), f32s(&[1, 1, 1, 2], &[0.0, 6.0]));
        // Elements outside every window get zero: 1x3, size 1x2, stride 2.
        let x = f32s(&[1, 1, 1, 3], &[1.0, 2.0, 3.0]);
        let dy = f32s(&[1, 1, 1, 1], &[4.0]);
        assert_eq!(pool_grad(PoolKind::Avg, &x, &dy, [1, 2], [2, 2]).unwrap(), f32s(&[1, 1, 1, 3], &[2.0, 2.0, 0.0]));
        // Integers: shares floor.
        let x = t(&[1, 1, 1, 2], Data::I32(vec![4, 4]));
        let dy = t(&[1, 1, 1, 1], Data::I32(vec![5]));
        assert_eq!(pool_grad(PoolKind::Max, &x, &dy, [1, 2], [1, 1]).unwrap().data(), &Data::I32(vec![2, 2]));
        assert!(pool_grad(PoolKind::Max, &x, &t(&[1, 1, 1, 2], Data::I32(vec![1, 1])), [1, 2], [1, 1]).is_err());
    }
}
