//! The numeric kernels of aggregation, over plain slices: weighted accumulation of several
//! updates at once, sums of squares, adding a step to the model, and the per-coordinate
//! median / trimmed mean.
//!
//! Aggregation is bound by memory bandwidth, so the kernels touch each byte as few times
//! as they can: [`fold`] adds several updates to the f64 accumulator in one pass, and
//! [`add_step`] folds the last updates and adds the result to the model in the same pass
//! (with every update of a round still pending, that is the whole aggregation: the
//! accumulator is never written). Both keep [`LANES`] coordinates' sums in registers while
//! every input is added to them, so each accumulator element is loaded and stored once per
//! pass, not once per input, and the independent per-lane additions overlap.
//!
//! Large slices are split over threads in whole [`BLOCK`]s of coordinates. Every result
//! is independent of the number of threads: element-wise kernels trivially, sums because
//! they are taken per block and the block sums added in block order.

use std::ops::Range;

/// Coordinates per block: the unit of partial sums and of the split over threads.
const BLOCK: usize = 1 << 15;
/// Below this many coordinates a kernel runs on the calling thread alone.
const PARALLEL_MIN: usize = 1 << 17;
/// Coordinates summed at a time in registers: 32 f64 lanes, eight AVX2 registers.
const LANES: usize = 32;

/// `fast!(f(args))` calls the `#[inline(always)]` kernel `f` through a copy compiled for
/// AVX2 when the CPU has it (four f64 lanes instead of SSE2's two; the same operations in
/// the same order, so the same results), and directly otherwise. Everything the kernel
/// calls in its loops must be inlined too: a call to a function that is not (a
/// `collect()`, say) runs that function's code compiled without AVX2.
macro_rules! fast {
    ($f:ident($($arg:expr),* $(,)?)) => {{
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx2")]
            fn avx2<R>(f: impl FnOnce() -> R) -> R {
                f()
            }
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, the only feature `avx2` is compiled for.
                unsafe { avx2(#[inline(always)] || $f($($arg),*)) }
            } else {
                $f($($arg),*)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            $f($($arg),*)
        }
    }};
}

/// An element type the kernels read and write: f32 or f64, computed on in f64 (sorted
/// in its own type).
pub(crate) trait Coord: Copy + Send + Sync {
    fn wide(self) -> f64;
    /// `v` rounded to this type.
    fn narrow(v: f64) -> Self;
    /// The value with a negative zero made positive (`self + 0`): then values that
    /// compare equal are the same bits.
    fn unsigned_zero(self) -> Self;
    /// The smaller and the larger of two finite values.
    fn order(self, other: Self) -> (Self, Self);
}

impl Coord for f32 {
    #[inline(always)]
    fn wide(self) -> f64 {
        f64::from(self)
    }

    #[inline(always)]
    fn narrow(v: f64) -> f32 {
        v as f32
    }

    #[inline(always)]
    fn unsigned_zero(self) -> f32 {
        self + 0.0
    }

    // `min`/`max`, not `if a < b`: the comparison form compiles to masked stores in the
    // sorting network, several times slower.
    #[inline(always)]
    fn order(self, other: f32) -> (f32, f32) {
        (self.min(other), self.max(other))
    }
}

impl Coord for f64 {
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }

    #[inline(always)]
    fn narrow(v: f64) -> f64 {
        v
    }

    #[inline(always)]
    fn unsigned_zero(self) -> f64 {
        self + 0.0
    }

    #[inline(always)]
    fn order(self, other: f64) -> (f64, f64) {
        (self.min(other), self.max(other))
    }
}

/// `0..len` cut into at most `threads` contiguous ranges of whole blocks.
fn ranges(len: usize, threads: usize) -> Vec<Range<usize>> {
    let blocks = len.div_ceil(BLOCK).max(1);
    let parts = if len < PARALLEL_MIN { 1 } else { threads.clamp(1, blocks) };
    (0..parts).map(|t| ((blocks * t / parts) * BLOCK).min(len)..((blocks * (t + 1) / parts) * BLOCK).min(len)).collect()
}

/// Run `f(start, chunk)` over `out` cut as [`ranges`] says, the last part on the calling
/// thread; the results in part order.
fn split_mut<O: Send, R: Send>(out: &mut [O], threads: usize, f: impl Fn(usize, &mut [O]) -> R + Sync) -> Vec<R> {
    let parts = ranges(out.len(), threads);
    let f = &f;
    std::thread::scope(|scope| {
        let mut rest = out;
        let mut handles = Vec::new();
        let mut last = None;
        for (i, range) in parts.iter().enumerate() {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(range.len());
            rest = tail;
            let start = range.start;
            if i + 1 == parts.len() {
                last = Some(f(start, head));
            } else {
                handles.push(scope.spawn(move || f(start, head)));
            }
        }
        let mut results: Vec<R> =
            handles.into_iter().map(|h| h.join().expect("aggregation kernels do not panic")).collect();
        results.extend(last);
        results
    })
}

/// `acc[i] ← acc[i] + Σₚ wₚ·xₚ[i]`, adding the inputs in order; with `fresh`, the old
/// contents of `acc` are ignored (taken as 0).
pub(crate) fn fold<T: Coord>(acc: &mut [f64], fresh: bool, inputs: &[(f64, &[T])], threads: usize) {
    split_mut(acc, threads, |start, acc| fast!(fold_part(acc, start, fresh, inputs)));
}

/// [`fold`] on `acc`, the coordinates from `start` on.
#[inline(always)]
fn fold_part<T: Coord>(acc: &mut [f64], start: usize, fresh: bool, inputs: &[(f64, &[T])]) {
    let whole = acc.len() - acc.len() % LANES;
    let mut chunks = acc.chunks_exact_mut(LANES);
    for (k, chunk) in chunks.by_ref().enumerate() {
        let mut sums = [0.0; LANES];
        if !fresh {
            sums.copy_from_slice(chunk);
        }
        add_lanes(&mut sums, inputs, start + k * LANES);
        chunk.copy_from_slice(&sums);
    }
    let rest = chunks.into_remainder();
    let lo = start + whole;
    for (i, a) in rest.iter_mut().enumerate() {
        *a = add_inputs(if fresh { 0.0 } else { *a }, inputs, lo + i);
    }
}

/// `sums[l] += Σₚ wₚ·xₚ[lo + l]` for the [`LANES`] coordinates from `lo`, the inputs in order.
#[inline(always)]
fn add_lanes<T: Coord>(sums: &mut [f64; LANES], inputs: &[(f64, &[T])], lo: usize) {
    for &(w, x) in inputs {
        let x: &[T; LANES] = x[lo..lo + LANES].try_into().expect("LANES elements");
        for (s, v) in sums.iter_mut().zip(x) {
            *s += w * v.wide();
        }
    }
}

/// `sum + Σₚ wₚ·xₚ[i]`, the inputs in order (the same additions as [`add_lanes`]).
#[inline(always)]
fn add_inputs<T: Coord>(sum: f64, inputs: &[(f64, &[T])], i: usize) -> f64 {
    inputs.iter().fold(sum, |s, &(w, x)| s + w * x[i].wide())
}

/// `g[i] ← g[i] + s[i]`, rounded once, where `s[i] = (acc[i] + Σₚ wₚ·xₚ[i]) / divisor`
/// (`acc` absent: 0); gives `Σ s[i]²`.
pub(crate) fn add_step<T: Coord, G: Coord>(
    g: &mut [G],
    acc: Option<&[f64]>,
    inputs: &[(f64, &[T])],
    divisor: f64,
    threads: usize,
) -> f64 {
    let sums = split_mut(g, threads, |start, g| {
        let mut sums = vec![0.0; g.len().div_ceil(BLOCK)];
        fast!(add_step_part(g, start, acc, inputs, divisor, &mut sums));
        sums
    });
    sums.iter().flatten().sum()
}

/// [`add_step`] on `g`, the coordinates from `start` on: the sum of squares of each
/// block into `sums`. (No calls to functions that are not inlined: they would run
/// without AVX2.)
#[inline(always)]
fn add_step_part<T: Coord, G: Coord>(
    g: &mut [G],
    start: usize,
    acc: Option<&[f64]>,
    inputs: &[(f64, &[T])],
    divisor: f64,
    sums: &mut [f64],
) {
    let first = |lo: usize, i: usize| -> f64 { acc.map_or(0.0, |a| a[lo + i]) };
    for (b, (block, block_sum)) in g.chunks_mut(BLOCK).zip(sums.iter_mut()).enumerate() {
        let base = start + b * BLOCK;
        let whole = block.len() - block.len() % LANES;
        let mut squares = [0.0f64; LANES];
        let mut chunks = block.chunks_exact_mut(LANES);
        for (k, g) in chunks.by_ref().enumerate() {
            let lo = base + k * LANES;
            let mut sums = [0.0; LANES];
            if let Some(acc) = acc {
                sums.copy_from_slice(&acc[lo..lo + LANES]);
            }
            add_lanes(&mut sums, inputs, lo);
            for ((g, sum), square) in g.iter_mut().zip(sums).zip(squares.iter_mut()) {
                let s = sum / divisor;
                *square += s * s;
                *g = G::narrow(g.wide() + s);
            }
        }
        let rest = chunks.into_remainder();
        let lo = base + whole;
        let mut sum = squares.iter().sum::<f64>();
        for (i, g) in rest.iter_mut().enumerate() {
            let s = add_inputs(first(lo, i), inputs, lo + i) / divisor;
            sum += s * s;
            *g = G::narrow(g.wide() + s);
        }
        *block_sum = sum;
    }
}

/// `Σ x[i]²` in f64: summed per block ([`LANES`] independent lanes), the block sums in
/// block order. Infinite or NaN exactly when some element is (squares of finite f32 and
/// f64 values at most overflow to infinity, which is not finite either).
pub(crate) fn sum_squares<T: Coord>(x: &[T], threads: usize) -> f64 {
    let parts = ranges(x.len(), threads);
    let f = |range: Range<usize>| -> Vec<f64> {
        let x = &x[range];
        let mut sums = vec![0.0; x.len().div_ceil(BLOCK)];
        fast!(squares_part(x, &mut sums));
        sums
    };
    let sums: Vec<Vec<f64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts[1..].iter().map(|r| scope.spawn(move || f(r.clone()))).collect();
        let first = f(parts[0].clone());
        std::iter::once(first)
            .chain(handles.into_iter().map(|h| h.join().expect("aggregation kernels do not panic")))
            .collect()
    });
    sums.iter().flatten().sum()
}

/// The sum of squares of each block of `x`, into `sums`.
#[inline(always)]
fn squares_part<T: Coord>(x: &[T], sums: &mut [f64]) {
    for (block, sum) in x.chunks(BLOCK).zip(sums.iter_mut()) {
        *sum = block_squares(block);
    }
}

/// `Σ x[i]²` over [`LANES`] independent lanes (a read of memory at full bandwidth needs
/// more than the latency of one addition per element), the lanes then added in order.
#[inline(always)]
fn block_squares<T: Coord>(x: &[T]) -> f64 {
    let mut lanes = [0.0f64; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for chunk in chunks.by_ref() {
        let chunk: &[T; LANES] = chunk.try_into().expect("LANES elements");
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            let v = v.wide();
            *lane += v * v;
        }
    }
    let rest = chunks.remainder();
    rest.iter().fold(lanes.iter().sum(), |s, &v| s + v.wide() * v.wide())
}

/// Elements of `x` that are NaN or infinite.
pub(crate) fn count_non_finite<T: Coord>(x: &[T]) -> usize {
    x.iter().filter(|v| !v.wide().is_finite()).count()
}

/// How [`select`] reduces one coordinate's values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Select {
    /// The middle value; the mean of the two middle values for an even count.
    Median,
    /// The mean of what is left after dropping the `k` smallest and `k` largest.
    Trimmed(usize),
}

/// Coordinates [`select`] sorts at once: each row of its scratch holds one update's values
/// of [`TILE`] coordinates, and one compare-exchange of two rows is [`TILE`] independent
/// min/max pairs, which vectorise.
const TILE: usize = 64;

/// `out[i]` = the [`Select`] of `{ scales[j]·inputs[j][i] }` over the updates j (all
/// finite: validated). Each coordinate's values are sorted by a sorting network
/// ([`sorting_network`]): in f64 after scaling, or, when every scale is 1, in the inputs'
/// own type (f32: twice the lanes per instruction; widening is exact, so the same
/// order). Zeros are made positive first, so values that compare equal are the same bits,
/// the sorted values are unique, and the result does not depend on the order of
/// `inputs`. The median and the trimmed mean are then taken in f64, a trimmed mean adding
/// the kept values in ascending order.
pub(crate) fn select<T: Coord>(inputs: &[&[T]], scales: &[f64], how: Select, out: &mut [f64], threads: usize) {
    let network = sorting_network(inputs.len());
    let network = &network[..];
    let unscaled = scales.iter().all(|&s| s == 1.0);
    split_mut(out, threads, |start, out| {
        if unscaled {
            let mut rows = vec![[T::narrow(0.0); TILE]; inputs.len()];
            let load = |v: T, _: f64| v.unsigned_zero();
            fast!(select_part(inputs, scales, load, how, network, start, out, &mut rows));
        } else {
            let mut rows = vec![[0.0f64; TILE]; inputs.len()];
            let load = |v: T, scale: f64| (v.wide() * scale).unsigned_zero();
            fast!(select_part(inputs, scales, load, how, network, start, out, &mut rows));
        }
    });
}

/// [`select`] on `out`, the coordinates from `start` on, a [`TILE`] at a time in `rows`,
/// each value `load(value, scale)`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn select_part<T: Coord, K: Coord>(
    inputs: &[&[T]],
    scales: &[f64],
    load: impl Fn(T, f64) -> K,
    how: Select,
    network: &[(usize, usize)],
    start: usize,
    out: &mut [f64],
    rows: &mut [[K; TILE]],
) {
    let n = rows.len();
    for (t, out) in out.chunks_mut(TILE).enumerate() {
        let lo = start + t * TILE;
        let width = out.len();
        for ((row, input), &scale) in rows.iter_mut().zip(inputs).zip(scales) {
            for (r, &v) in row.iter_mut().zip(&input[lo..lo + width]) {
                *r = load(v, scale);
            }
        }
        for &(a, b) in network {
            let (low, high) = rows.split_at_mut(b);
            for (x, y) in low[a].iter_mut().zip(high[0].iter_mut()) {
                (*x, *y) = x.order(*y);
            }
        }
        match how {
            Select::Median if n % 2 == 1 => {
                for (o, v) in out.iter_mut().zip(&rows[n / 2]) {
                    *o = v.wide();
                }
            }
            Select::Median => {
                for (i, o) in out.iter_mut().enumerate() {
                    *o = (rows[n / 2 - 1][i].wide() + rows[n / 2][i].wide()) / 2.0;
                }
            }
            Select::Trimmed(k) => {
                for (o, v) in out.iter_mut().zip(&rows[k]) {
                    *o = v.wide();
                }
                for row in &rows[k + 1..n - k] {
                    for (o, v) in out.iter_mut().zip(row) {
                        *o += v.wide();
                    }
                }
                let kept = (n - 2 * k) as f64;
                for o in out.iter_mut() {
                    *o /= kept;
                }
            }
        }
    }
}

/// The compare-exchanges `(a, b)`, `a < b`, of Batcher's merge-exchange sort of `n`
/// values (Knuth, TAOCP vol. 3, §5.2.2, Algorithm M): applied in order, each putting the
/// smaller of positions a and b at a, they sort any input. O(n log² n) of them, for any
/// n, with no data-dependent branch.
fn sorting_network(n: usize) -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    if n < 2 {
        return pairs;
    }
    let top = 1usize << (usize::BITS - (n - 1).leading_zeros() - 1);
    let mut p = top;
    while p > 0 {
        let (mut q, mut r, mut d) = (top, 0, p);
        loop {
            pairs.extend((0..n - d).filter(|&i| i & p == r).map(|i| (i, i + d)));
            if q == p {
                break;
            }
            d = q - p;
            q /= 2;
            r = p;
        }
        p /= 2;
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_whole_blocks_once() {
        for (len, threads) in [(0, 4), (10, 4), (PARALLEL_MIN, 3), (PARALLEL_MIN * 5 + 7, 2), (BLOCK * 9, 16)] {
            let parts = ranges(len, threads);
            assert_eq!(parts.first().unwrap().start, 0);
            assert_eq!(parts.last().unwrap().end, len);
            for pair in parts.windows(2) {
                assert_eq!(pair[0].end, pair[1].start);
                assert_eq!(pair[1].start % BLOCK, 0);
            }
        }
    }

    #[test]
    fn sums_do_not_depend_on_threads() {
        let x: Vec<f32> = (0..PARALLEL_MIN * 3 + 5).map(|i| ((i * 7919) % 1000) as f32 * 1e-3 - 0.5).collect();
        let one = sum_squares(&x, 1);
        assert_eq!(one.to_bits(), sum_squares(&x, 2).to_bits());
        assert_eq!(one.to_bits(), sum_squares(&x, 7).to_bits());
        let acc: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let inputs = [(2.0, &x[..]), (-0.5, &x[..])];
        let (mut a, mut b) = (x.clone(), x.clone());
        let sa = add_step(&mut a, Some(&acc), &inputs, 3.0, 1);
        let sb = add_step(&mut b, Some(&acc), &inputs, 3.0, 5);
        assert_eq!((sa.to_bits(), &a), (sb.to_bits(), &b));
        assert_eq!(a[7], x[7] + x[7] * 2.5 / 3.0);
        let mut folded = vec![f64::NAN; x.len()];
        fold(&mut folded, true, &inputs, 2);
        fold(&mut folded, false, &inputs[..1], 2);
        assert_eq!(folded[9], f64::from(x[9]) * 3.5);
    }

    /// The kernels (through AVX2 where the CPU has it) give exactly what scalar code
    /// adding in their documented order gives: per block, element k of the block's
    /// whole [`LANES`]-chunks into lane k mod [`LANES`], the lanes added in order, then
    /// the block's last elements one by one; the block sums in block order.
    #[test]
    fn kernels_add_in_their_documented_order() {
        fn in_order(n: usize, term: impl Fn(usize) -> f64) -> f64 {
            let mut total = 0.0;
            for start in (0..n).step_by(BLOCK) {
                let len = BLOCK.min(n - start);
                let whole = len - len % LANES;
                let mut lanes = [0.0f64; LANES];
                for k in 0..whole {
                    lanes[k % LANES] += term(start + k);
                }
                let mut sum = 0.0;
                for lane in lanes {
                    sum += lane;
                }
                for k in whole..len {
                    sum += term(start + k);
                }
                total += sum;
            }
            total
        }
        let n = BLOCK * 2 + LANES * 3 + 5;
        let x: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1013) as f32 * 1e-3 - 0.5).collect();
        let y: Vec<f32> = (0..n).map(|i| ((i * 104_729) % 997) as f32 * 1e-2 - 4.0).collect();
        let square = |i: usize| f64::from(x[i]) * f64::from(x[i]);
        assert_eq!(sum_squares(&x, 1).to_bits(), in_order(n, square).to_bits());
        // g + (3x − y/4) / 7, rounded once; the sum of the steps' squares.
        let step = |i: usize| (0.0 + 3.0 * f64::from(x[i]) + -0.25 * f64::from(y[i])) / 7.0;
        let mut g: Vec<f32> = y.iter().map(|v| v * 0.5).collect();
        let squares = add_step(&mut g, None, &[(3.0, &x[..]), (-0.25, &y[..])], 7.0, 1);
        for i in 0..n {
            assert_eq!(g[i], (f64::from(y[i] * 0.5) + step(i)) as f32, "coordinate {i}");
        }
        assert_eq!(squares.to_bits(), in_order(n, |i| step(i) * step(i)).to_bits());
    }

    #[test]
    fn non_finite_sums_are_not_finite() {
        assert!(!sum_squares(&[1.0f32, f32::NAN], 1).is_finite());
        assert!(!sum_squares(&[f32::INFINITY, 0.0], 1).is_finite());
        assert!(!sum_squares(&[f64::MAX, 0.0], 1).is_finite());
        assert_eq!(count_non_finite(&[1.0f32, f32::NAN, f32::NEG_INFINITY]), 2);
    }

    /// The network sorts every 0/1 input of up to 14 values (by the 0-1 principle, every
    /// input of those sizes), and random values with ties of larger sizes.
    #[test]
    fn sorting_networks_sort() {
        let apply = |network: &[(usize, usize)], v: &mut [u32]| {
            for &(a, b) in network {
                assert!(a < b && b < v.len());
                if v[b] < v[a] {
                    v.swap(a, b);
                }
            }
        };
        for n in 0..=14 {
            let network = sorting_network(n);
            for bits in 0u32..1 << n {
                let mut v: Vec<u32> = (0..n).map(|i| bits >> i & 1).collect();
                apply(&network, &mut v);
                assert!(v.windows(2).all(|w| w[0] <= w[1]), "n = {n}, input {bits:b}");
            }
        }
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for n in [15, 16, 17, 31, 33, 64, 100, 1000] {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    (seed % 50) as u32
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_unstable();
            apply(&sorting_network(n), &mut v);
            assert_eq!(v, sorted, "n = {n}");
        }
        assert_eq!(sorting_network(10).len(), 31);
    }

    /// Median and trimmed mean through the tiles equal a per-coordinate sort, for tile
    /// remainders, several threads, even and odd counts, sorted in f32 (no scales) and in
    /// f64 (scaled); and they do not depend on the order of the inputs, signed zeros
    /// included.
    #[test]
    fn select_equals_sorting_each_coordinate() {
        let len = PARALLEL_MIN + TILE * 3 + 7;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for n in [1, 2, 3, 10, 11, 40] {
            let inputs: Vec<Vec<f32>> = (0..n)
                .map(|_| {
                    (0..len)
                        .map(|i| {
                            seed ^= seed << 13;
                            seed ^= seed >> 7;
                            seed ^= seed << 17;
                            match seed % 9 {
                                0 => 0.0,
                                1 => -0.0,
                                2 => (i % 5) as f32,
                                _ => (seed >> 40) as f32 / (1u64 << 24) as f32 - 0.5,
                            }
                        })
                        .collect()
                })
                .collect();
            let scaled: Vec<f64> = (0..n).map(|j| if j % 3 == 1 { 0.25 } else { 1.0 }).collect();
            let views: Vec<&[f32]> = inputs.iter().map(|v| &v[..]).collect();
            let hows = [Select::Median, Select::Trimmed(0), Select::Trimmed((n - 1) / 2), Select::Trimmed(n / 10)];
            for (how, scales) in hows.into_iter().flat_map(|how| [(how, vec![1.0; n]), (how, scaled.clone())]) {
                let expected: Vec<f64> = (0..len)
                    .map(|i| {
                        let mut v: Vec<f64> = (0..n).map(|j| f64::from(inputs[j][i]) * scales[j] + 0.0).collect();
                        v.sort_unstable_by(f64::total_cmp);
                        match how {
                            Select::Median if n % 2 == 1 => v[n / 2],
                            Select::Median => (v[n / 2 - 1] + v[n / 2]) / 2.0,
                            Select::Trimmed(k) => v[k..n - k].iter().sum::<f64>() / (n - 2 * k) as f64,
                        }
                    })
                    .collect();
                let mut out = vec![f64::NAN; len];
                select(&views, &scales, how, &mut out, 3);
                for (i, (o, e)) in out.iter().zip(&expected).enumerate() {
                    assert_eq!(o.to_bits(), e.to_bits(), "n = {n}, {how:?}, coordinate {i}");
                }
                let reversed_views: Vec<&[f32]> = views.iter().rev().copied().collect();
                let reversed_scales: Vec<f64> = scales.iter().rev().copied().collect();
                let mut reversed = vec![f64::NAN; len];
                select(&reversed_views, &reversed_scales, how, &mut reversed, 1);
                assert!(out.iter().zip(&reversed).all(|(a, b)| a.to_bits() == b.to_bits()), "n = {n}, {how:?}");
            }
        }
    }
}
