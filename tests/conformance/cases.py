"""tensorc's conformance cases: programs, their inputs, and the results NumPy computes.

Run them with `runner.py TENSORC cases.py --backend B` (runner.py describes the case
format). Every expected value comes from an oracle written here in NumPy, never from
tensorc itself: elementwise math, reductions, matmul, convolution and pooling, the
standard library (`nn`, `optim`, `init`), the counter-based random numbers (Philox-4x32-10,
checked against the Random123 known answers below), and gradients from closed forms or
from central finite differences in f64. The cases cover every built-in the checker
accepts, every dtype, broadcasting, indexing, IEEE special values, the language's
features (tuples, defaults, keyword arguments, shape variables, `const`) and the
command line's errors (exit statuses 1, 2, 3).

`skip_backends` appears only where a backend refuses a dtype by design (wgpu has no f64,
i64 or bf16; docs/wgpu-backend.md), with that reason.
"""
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# The oracles compute with infinities and NaN on purpose (IEEE cases, overflowing casts).
np.seterr(all="ignore")
rng = np.random.default_rng(20261207)
f16, f32, f64 = np.float16, np.float32, np.float64
i32, i64, u8 = np.int32, np.int64, np.uint8

NO_WGPU_F64 = {"wgpu": "the wgpu backend refuses f64 programs by design (WGSL has no f64)"}
NO_WGPU_I64 = {"wgpu": "the wgpu backend refuses i64 programs by design (WGSL has no i64)"}
NO_WGPU_BF16 = {"wgpu": "the wgpu backend refuses bf16 programs by design"}
# The key `iree` is read by scripts/iree_check.py, which runs tensorc's MLIR and StableHLO
# through IREE against the interpreter.
IREE_CONV_INPUT_GRAD = ("IREE's llvm-cpu pipeline rejects tensorc's linalg form of the input gradient of conv2d "
                        "(an indexing map with a negative coefficient, the flipped kernel) after tiling: \"'linalg.generic' "
                        "op inferred input/output operand #0 has shape's dimension #0 to be greater than or equal to 9, "
                        "but found 7\" (the module itself verifies: iree-opt with no passes accepts it)")
IREE_REVERSED_VIEW = ("IREE's llvm-cpu pipeline rejects tensorc's linalg form of some reversed views (flip, roll and "
                      "negative-step slices of these shapes: an indexing map with a negative coefficient) after tiling: "
                      "\"'linalg.generic' op inferred input/output operand #0 has shape's dimension #0 to be greater than or "
                      "equal to 24, but found 23\" (the module itself verifies, and the same text runs on tensorc's mlir backend)")
IREE_HUGE_TAN = ("IREE's f32 sin/cos lose accuracy on huge arguments (tan(1e30) differs by 4e-6 from the correctly "
                 "reduced value that the interpreter and tensorc's backends give)")
IREE_F64 = ("IREE demotes f64 to f32 (its default; without it, its llvm-cpu target cannot link the f64 libm "
            "functions that tensorc's f32 math calls), so f64 parameters and results become f32")


def r(*shape, dtype=f32):
    return rng.standard_normal(shape).astype(dtype)


def ints(lo, hi, *shape, dtype=i32):
    return rng.integers(lo, hi, size=shape).astype(dtype)


def a(values, dtype=f32):
    return np.array(values, dtype=dtype)


# ---------------------------------------------------------------- oracles


def softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    s = z - z.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def erf(x):
    return np.vectorize(math.erf, otypes=[f64])(x)


def one_hot(labels, n, dtype=f32):
    return np.eye(n, dtype=dtype)[labels]


def cross_entropy(z, y):
    return -log_softmax(z.astype(f64))[np.arange(len(y)), y].mean()


def layernorm(x, g, b, eps=1e-5):
    d = x - x.mean(axis=-1, keepdims=True)
    return d / np.sqrt((d * d).mean(axis=-1, keepdims=True) + eps) * g + b


def gelu(x):
    return 0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))


def conv2d(x, w, stride=1, padding=0):
    """Cross-correlation of x: [N, C, H, W] with w: [K, C, R, S], in f64."""
    xp = np.pad(x.astype(f64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwrs,kcrs->nkhw", win, w.astype(f64))


def conv2d_grads(x, w, g, stride=1, padding=0):
    """d sum(conv2d(x, w) * g) / dx and / dw."""
    xp = np.pad(x.astype(f64), ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    win = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    dw = np.einsum("nchwrs,nkhw->kcrs", win, g)
    dxp = np.zeros_like(xp)
    ho, wo = g.shape[2:]
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            dxp[:, :, i:i + stride * ho:stride, j:j + stride * wo:stride] += np.einsum("nkhw,kc->nchw", g, w[:, :, i, j])
    h, wd = x.shape[2:]
    return dxp[:, :, padding:padding + h, padding:padding + wd], dw


def pool(x, size, stride, reduce):
    win = sliding_window_view(x, (size, size), axis=(2, 3))[:, :, ::stride, ::stride]
    return reduce(win, axis=(-2, -1))


def max_pool_grad(x, size, stride, g):
    """d sum(max_pool2d(x) * g) / dx for inputs without ties in a window."""
    dx = np.zeros(x.shape, f64)
    n, c, ho, wo = g.shape
    for b, ch, i, j in np.ndindex(n, c, ho, wo):
        window = x[b, ch, i * stride:i * stride + size, j * stride:j * stride + size]
        di, dj = np.unravel_index(np.argmax(window), window.shape)
        dx[b, ch, i * stride + di, j * stride + dj] += g[b, ch, i, j]
    return dx


def finite_diff(f, x, eps=1e-6):
    """Central differences of the scalar function f at x, in f64."""
    x = x.astype(f64)
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        hi, lo = x.copy(), x.copy()
        hi[idx] += eps
        lo[idx] -= eps
        out[idx] = (f(hi) - f(lo)) / (2 * eps)
    return out


def to_bf16(x):
    """f32 values rounded to bf16 (nearest, ties to even), as f32."""
    bits = np.asarray(x, f32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return rounded.astype(np.uint32).view(f32)


# Philox-4x32-10 (Salmon et al., SC'11): element i of a random tensor with seed s uses
# counter (i lo, i hi, 0, 0) and key (s lo, s hi). Uniform: (x0 >> 8) * 2^-24; normal:
# Box-Muller on u1 = ((x0 >> 8) + 1) * 2^-24 and u2 = (x1 >> 8) * 2^-24, both in f64
# and rounded once to the dtype.
MASK32 = np.uint64(0xFFFFFFFF)


def philox(counter, key):
    c = [np.asarray(v, np.uint64) for v in counter]
    k = [np.uint64(v) for v in key]
    for rnd in range(10):
        if rnd:
            k = [(k[0] + np.uint64(0x9E3779B9)) & MASK32, (k[1] + np.uint64(0xBB67AE85)) & MASK32]
        p0 = np.uint64(0xD2511F53) * c[0]
        p1 = np.uint64(0xCD9E8D57) * c[2]
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k[0], p1 & MASK32, (p0 >> np.uint64(32)) ^ c[3] ^ k[1], p0 & MASK32]
    return c


def _philox_known_answers():
    # Random123's kat_vectors for philox4x32_10.
    got = [int(v) for v in philox([0, 0, 0, 0], [0, 0])]
    assert got == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8], got
    got = [int(v) for v in philox([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], [0xA4093822, 0x299F31D0])]
    assert got == [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1], got


_philox_known_answers()


def random_words(seed, shape):
    n = int(np.prod(shape))
    idx = np.arange(n, dtype=np.uint64)
    zero = np.zeros(n, np.uint64)
    return philox([idx & MASK32, idx >> np.uint64(32), zero, zero], [seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF])


def random_uniform(seed, shape, dtype=f32):
    x = random_words(seed, shape)
    return ((x[0] >> np.uint64(8)).astype(f64) * 2.0 ** -24).reshape(shape).astype(dtype)


def random_normal(seed, shape, dtype=f32):
    x = random_words(seed, shape)
    u1 = ((x[0] >> np.uint64(8)).astype(f64) + 1) * 2.0 ** -24
    u2 = (x[1] >> np.uint64(8)).astype(f64) * 2.0 ** -24
    return (np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)).reshape(shape).astype(dtype)


# ---------------------------------------------------------------- inputs

x23, b3, b13, x4 = r(2, 3), r(3), r(1, 3), r(4)
a45, b56 = r(4, 5), r(5, 6)
batch_a, batch_b = r(3, 4, 5), r(5, 2)
m67 = r(6, 7)
t234 = r(2, 3, 4)
labels = ints(0, 5, 8)
logits = r(8, 5)
pos = (np.abs(r(3, 4)) + f32(0.5)).astype(f32)
ia, ib = ints(-50, 50, 3, 4), ints(1, 9, 3, 4)
img, ker = r(2, 3, 6, 6), r(4, 3, 3, 3)
img9, ker2 = r(1, 2, 9, 9), r(3, 2, 3, 3)
g_conv = r(2, 4, 6, 6)
pool_in = r(2, 2, 6, 6)
w1, bias1, w2, xb = r(6, 8), r(8), r(8, 4), r(5, 6)
yb = ints(0, 4, 5)
ln_x, ln_g, ln_b = r(4, 6), r(6), r(6)
q, k, v = r(2, 3, 4), r(2, 5, 4), r(2, 5, 6)
lit = a([[1.0, 2.0], [3.0, 4.0]])
bs_x, bs_y = t234[:, :1, :], r(3, 1)
wc, wx, wy = a([[True], [False], [True]], bool), r(1, 4), a(-1.0)
long_rows = np.abs(r(3, 10000))
x34_f64 = r(3, 4, dtype=f64)
mv_v, mv_m, mv_w = r(5), r(5, 4), r(4)
mb_a, mb_b = r(2, 1, 3, 4), r(5, 4, 2)
ml_a, ml_b = r(65, 130), r(130, 70)
mi_a, mi_b = ints(-9, 9, 3, 5), ints(-9, 9, 5, 2)
md_a, md_b = r(4, 5, dtype=f64), r(5, 3, dtype=f64)
sq = r(1, 3, 1)
cs_b, cs_c = r(2, 1), r(2, 3)
lit_x = r(2, 3)
rn_x = r(5)
lm_t = r(5, 8)
op_p, op_g, op_v, op_m = x23, b13 * 2, np.abs(x23), b3
mm_g = r(4, 6)
so_g = r(4, 3)
pg_g = r(2, 2, 3, 3)
ln_t = r(4, 6)
specials = a([0, -0.0, 1, -2, np.inf, -np.inf, np.nan])
extremes = a([1e20, -1e20, 1e-20, 3e38])  # squares overflow or become subnormal


def optim_oracle(p, g, v, m):
    """optim::sgd, optim::momentum and optim::adam (t = 3) with their default constants, in f64."""
    p, g, v, m = (t.astype(f64) for t in (p, g, v, m))
    vel = 0.9 * v + g
    m2 = 0.9 * m + 0.1 * g
    v2 = 0.999 * v + 0.001 * g * g
    step = p - 0.001 * (m2 / (1 - 0.9 ** 3)) / (np.sqrt(v2 / (1 - 0.999 ** 3)) + 1e-8)
    return [t.astype(f32) for t in (p - 0.1 * g, p - 0.1 * vel, vel, step, m2, v2)]


def mlp_oracle(w1, b1, w2, x, y):
    """Loss and gradients of cross_entropy(relu(x @ w1 + b1) @ w2, y), in closed form."""
    w1, b1, w2, x = (t.astype(f64) for t in (w1, b1, w2, x))
    pre = x @ w1 + b1
    h = np.maximum(pre, 0)
    z = h @ w2
    dz = (softmax(z) - one_hot(y, z.shape[1], f64)) / len(y)
    dpre = (dz @ w2.T) * (pre > 0)
    return [f32(cross_entropy(z, y)), (x.T @ dpre).astype(f32), dpre.sum(0).astype(f32), (h.T @ dz).astype(f32)]


def layernorm_grads(x, g, b, t):
    return [finite_diff(lambda x_: (layernorm(x_, g, b) * t).sum(), x).astype(f32),
            finite_diff(lambda g_: (layernorm(x, g_, b) * t).sum(), g).astype(f32)]


def attention(q, k, v):
    return softmax(q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])) @ v


def attention_grads(q, k, v):
    q, k, v = (t.astype(f64) for t in (q, k, v))
    return [finite_diff(lambda q_: (attention(q_, k, v) ** 2).sum(), q).astype(f32),
            finite_diff(lambda k_: (attention(q, k_, v) ** 2).sum(), k).astype(f32),
            finite_diff(lambda v_: (attention(q, k, v_) ** 2).sum(), v).astype(f32)]


def shape_ops_grad(x, g):
    """d sum(concat((reshape(x, (3, 2)).T, pad(x[:, 1:], ((0, 0), (1, 0)))), 0) * g) / dx."""
    dx = g[:2].T.reshape(2, 3).copy()
    dx[:, 1:] += g[2:, 1:]
    return dx


def ieee_oracle(x):
    return [x / f32(0), x * f32(0), x - x, np.exp(x * f32(1000)), np.log(x), np.sqrt(x), x + x, -x]

# ---------------------------------------------------------------- v1 inputs and oracles
v1_x = a([-1.3, -0.4, 0.0, 0.25, 0.9, 1.4])
v1_u = a([-0.95, -0.5, 0.0, 0.3, 0.7, 0.99])
v1_p = a([0.1, 0.5, 1.0, 2.0, 7.5, 30.0])
v1_special = a([np.inf, -np.inf, np.nan, 0.0, 1e-30, -1e-30, 1e30, 88.0, -100.0])
v1_ay = a([1.0, -1.0, np.inf, -np.inf, np.inf, 2.0, -3.0, np.nan, 0.0])
v1_ax = a([np.inf, -np.inf, np.inf, -np.inf, 5.0, -1.0, -0.5, 1.0, -2.0])
v1_ay2 = a([1.0, -2.0, 0.5, 3.0, -0.1])
v1_ax2 = a([2.0, 1.0, -1.5, -0.5, -4.0])
v1_ints = ints(-50, 50, 4, 5)
v1_cube = r(2, 3, 4)
v1_idx = a([[0, 6, 3], [-1, 2, 2], [9, 0, 1], [4, 4, 4], [1, 5, 0], [-7, 3, 6]], i32)
v1_idx0 = ints(0, 6, 2, 7)
v1_rows = r(4, 7)
v1_cols = r(6, 2)
v1_g = r(6, 14)
v1_block = np.arange(120, dtype=f32).reshape(4, 5, 6)
v1_sg = r(3, 3)
ein_a, ein_b, ein_q, ein_k, ein_m, ein_v = r(2, 3), r(3, 4), r(2, 5, 3, 4), r(2, 6, 3, 4), r(4, 4), r(3)
ein_g = r(2, 3, 5, 6)
ein_x, ein_y = ints(-5, 5, 3, 4), ints(-5, 5, 2, 3, 4)
scan_x, scan_i = r(3, 7), ints(-5, 5, 10)
scan_long = r(1000)
scan_long[700] = np.nan
scan_z = a([2.0, 0.5, 0.0, 3.0, 0.0, 1.5])
scan_w = a([1, 2, 3, 4, 5, 6])
sort_x = a([[3, 1, 2, 1, np.nan, 0], [5, -0.0, 0.0, 7, 7, -1], [np.nan, 2, np.nan, 1, 1, 9]])
sort_i = a([4, -2, 4, 9, 0, -2, 4], i32)
sort_long = np.round(r(4, 3000) * 100) / 4


def argsort_desc(x):
    """The stable descending order along the last axis, NaN last."""
    keys = np.where(np.isnan(x), 0, -x.astype(f64)) if x.dtype.kind == "f" else -x.astype(f64)
    nan = np.isnan(x) if x.dtype.kind == "f" else np.zeros(x.shape, bool)
    return np.lexsort((keys, nan), axis=-1).astype(i32)


def sort_grad(x, w):
    g = np.zeros_like(x)
    np.put_along_axis(g, np.argsort(x, kind="stable", axis=-1), np.broadcast_to(w, x.shape), axis=-1)
    return g


def top_k_grad(x, k):
    g = np.zeros_like(x)
    np.put_along_axis(g, argsort_desc(x)[:, :k], 1, axis=-1)
    return g


def cumprod_grad(z, w):
    """d/dz_j of Σ_t w_t Π_{k<=t} z_k, term by term (exact with zeros)."""
    g = np.zeros(len(z))
    for j in range(len(z)):
        for t in range(j, len(z)):
            g[j] += w[t] * np.prod([z[k] for k in range(t + 1) if k != j])
    return g.astype(f32)


def cummax_grad(z, w):
    """Each running maximum's weight goes to the element that attains it (no ties here)."""
    g = np.zeros(len(z), f32)
    for t in range(len(z)):
        g[int(np.argmax(z[:t + 1]))] += w[t]
    return g


def cumsum_self_grad(x):
    """d/dx of Σ cumsum(x, 1) * x: cumsum(x) + the reversed cumsum of x."""
    return np.cumsum(x, 1) + np.flip(np.cumsum(np.flip(x, 1), 1), 1)


def step_slice_grad(g):
    out = np.zeros((6, 7), f32)
    out[::2, ::-3] = g
    return out


def logsumexp_oracle(x, axis=None, keepdims=False):
    x = x.astype(f64)
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    if not keepdims:
        out = np.squeeze(out, axis=axis)
    return out.astype(f32)


def index_add_oracle(x, idx, v, axis):
    out = np.moveaxis(x.astype(f64).copy(), axis, 0)
    shape = tuple(len(idx) if k == axis else d for k, d in enumerate(x.shape))
    np.add.at(out, np.array(idx), np.moveaxis(np.broadcast_to(v, shape), axis, 0))
    return np.moveaxis(out, 0, axis).astype(f32)


def v1_shape_grad(g):
    # sum(flip(roll(tile(x, (1, 2)), 3, 1), 0) * g) is linear in x: undo each step on g.
    h = np.roll(np.flip(g, 0), -3, 1)
    return h[:, :7] + h[:, 7:]


def take_along_grad(idx):
    out = np.zeros((6, 7), f32)
    norm = np.clip(np.where(idx < 0, idx + 7, idx), 0, 6)
    for row in range(6):
        for c in norm[row]:
            out[row, c] += 1
    return out


def index_add_grad():
    # d/dx sum(x + scatter(x[1:3] * 2 at rows 0, 0)) = 1 + 2 on rows 1 and 2.
    out = np.ones((6, 7), f32)
    out[1:3] += 2
    return out


CASES = [
    # ------------------------------------------------------------ elementwise, broadcasting
    dict(name="add_broadcast", src="fn main(x: f32[2, 3], b: f32[3]) -> f32[2, 3] { x + b }",
         args=dict(x=x23, b=b3), expect=[x23 + b3]),
    dict(name="broadcast_size_one", src="fn main(x, b) { x * b - 1.5 }",
         args=dict(x=x23, b=b13), expect=[x23 * b13 - f32(1.5)]),
    dict(name="broadcast_both_sides", src="fn main(x, y) { (x + y, x * y, y - x) }",
         args=dict(x=bs_x, y=bs_y), expect=[bs_x + bs_y, bs_x * bs_y, bs_y - bs_x]),
    dict(name="broadcast_scalar_tensor", src="fn main(x, s) { (x / s, s - x) }",
         args=dict(x=x23, s=a(2.5)), expect=[x23 / f32(2.5), f32(2.5) - x23]),
    dict(name="precedence", src="fn main(x) { -x ** 2 + 2.0 * x / 4.0 }",
         args=dict(x=x4), expect=[-(x4 ** 2) + f32(2.0) * x4 / f32(4.0)]),
    dict(name="arithmetic_f32", src="fn main(a, b) { (a + b, a - b, a * b, a / b, -a) }",
         args=dict(a=x23, b=pos[:2, :3]), expect=[x23 + pos[:2, :3], x23 - pos[:2, :3], x23 * pos[:2, :3], x23 / pos[:2, :3], -x23]),
    dict(name="power", src="fn main(x, p) { (p ** 2.0, p ** 0.5, p ** (-1.5), 2.0 ** x, p ** x) }",
         args=dict(x=x23, p=pos[:2, :3]),
         expect=[pos[:2, :3] ** 2, np.sqrt(pos[:2, :3]), pos[:2, :3] ** f32(-1.5), f32(2) ** x23, pos[:2, :3] ** x23]),
    dict(name="float_mod_sign_of_divisor", src="fn main(x) { (x % 1.5, x % -1.5) }",
         args=dict(x=a([-3.75, -1.5, -0.25, 0.0, 0.5, 2.5, 3.5, 7.25])),
         expect=[np.mod(a([-3.75, -1.5, -0.25, 0.0, 0.5, 2.5, 3.5, 7.25]), f32(1.5)),
                 np.mod(a([-3.75, -1.5, -0.25, 0.0, 0.5, 2.5, 3.5, 7.25]), f32(-1.5))]),
    dict(name="unary_math", src="fn main(x) { (exp(x), tanh(x), sigmoid(x), abs(x), sqrt(abs(x))) }",
         args=dict(x=x4), expect=[np.exp(x4), np.tanh(x4), sigmoid(x4), np.abs(x4), np.sqrt(np.abs(x4))]),
    dict(name="unary_math_more",
         src="fn main(x, p) { (neg(x), sign(x), log(p), rsqrt(p), sin(x), cos(x), erf(x), floor(x), ceil(x)) }",
         args=dict(x=m67, p=pos),
         expect=[-m67, np.sign(m67), np.log(pos), 1 / np.sqrt(pos), np.sin(m67), np.cos(m67),
                 erf(m67).astype(f32), np.floor(m67), np.ceil(m67)]),
    dict(name="round_half_to_even", src="fn main(x) { round(x) }",
         args=dict(x=a([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -3.7])),
         expect=[np.round(a([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997, -3.7]))]),
    dict(name="sigmoid_tanh_extremes", src="fn main(x) { (sigmoid(x), tanh(x), exp(x)) }",
         args=dict(x=a([-100, -20, -1e-3, 0, 1e-3, 20, 100])),
         expect=[sigmoid(a([-100, -20, -1e-3, 0, 1e-3, 20, 100]).astype(f64)).astype(f32),
                 np.tanh(a([-100, -20, -1e-3, 0, 1e-3, 20, 100])),
                 np.exp(a([-100, -20, -1e-3, 0, 1e-3, 20, 100]).astype(f64)).astype(f32)],
         rtol=1e-5, atol=1e-30),
    dict(name="maximum_minimum", src="fn main(a, b) { (maximum(a, b), minimum(a, b)) }",
         args=dict(a=x23, b=b3), expect=[np.maximum(x23, b3), np.minimum(x23, b3)]),
    dict(name="comparisons", src="fn main(a, b) { (a == b, a != b, a < b, a <= b, a > b, a >= b) }",
         args=dict(a=a([1, 2, 3, 4, 5, 6]), b=a([3, 2, 1, 4, 7, 0])),
         expect=[a([1, 2, 3, 4, 5, 6]) == a([3, 2, 1, 4, 7, 0]), a([1, 2, 3, 4, 5, 6]) != a([3, 2, 1, 4, 7, 0]),
                 a([1, 2, 3, 4, 5, 6]) < a([3, 2, 1, 4, 7, 0]), a([1, 2, 3, 4, 5, 6]) <= a([3, 2, 1, 4, 7, 0]),
                 a([1, 2, 3, 4, 5, 6]) > a([3, 2, 1, 4, 7, 0]), a([1, 2, 3, 4, 5, 6]) >= a([3, 2, 1, 4, 7, 0])]),
    dict(name="logical_ops", src="fn main(p, q) { (p && q, p || q, !p, !(p && q) == (!p || !q)) }",
         args=dict(p=a([True, True, False, False], bool), q=a([True, False, True, False], bool)),
         expect=[a([True, False, False, False], bool), a([True, True, True, False], bool),
                 a([False, False, True, True], bool), a([True] * 4, bool)]),
    dict(name="compare_where", src="fn main(x) { where(x > 0.0, x, 0.1 * x) }",
         args=dict(x=x23), expect=[np.where(x23 > 0, x23, f32(0.1) * x23)]),
    dict(name="where_broadcast", src="fn main(c, x, y) { (where(c, x, y), where(c, 1, 0)) }",
         args=dict(c=wc, x=wx, y=wy), expect=[np.where(wc, wx, wy), np.where(wc, 1, 0).astype(i32)]),
    # ------------------------------------------------------------ dtypes and casts
    dict(name="cast_and_int", src="fn main(x) { (x as i32, (x as i32) % 3) }",
         args=dict(x=(x4 * 5)), expect=[(x4 * 5).astype(i32), np.mod((x4 * 5).astype(i32), 3).astype(i32)]),
    dict(name="cast_float_to_int_saturates",
         src="fn main(x) { (x as i32, x as u8) }",
         args=dict(x=a([-1.7, -0.2, 0.5, 2.9, 255.9, 300, 1e10, -1e10, np.inf, -np.inf, np.nan])),
         expect=[a([-1, 0, 0, 2, 255, 300, 2147483647, -2147483648, 2147483647, -2147483648, 0], i32),
                 a([0, 0, 0, 2, 255, 255, 255, 0, 255, 0, 0], u8)],
         skip_backends={"iree": "bug: IREE's f64 demotion moves the MLIR form's clamp to 2147483520 "
                                "(the StableHLO form passes)"}),
    dict(name="cast_int_and_bool_to_float",
         src="fn main(i, u, b) { (i as f32, u as f32, b as f32, b as i32, u as i32, i as u8) }",
         args=dict(i=a([-3, 0, 7, 100000], i32), u=a([0, 1, 200, 255], u8), b=a([True, False, True, False], bool)),
         expect=[a([-3, 0, 7, 100000]), a([0, 1, 200, 255]), a([1, 0, 1, 0]), a([1, 0, 1, 0], i32),
                 a([0, 1, 200, 255], i32), a([-3, 0, 7, 100000], i32).astype(u8)]),
    dict(name="cast_to_bool", src="fn main(x, i) { (x as bool, i as bool) }",
         args=dict(x=a([0.0, -0.0, 0.5, -3.0, np.nan]), i=a([0, 1, -2, 0], i32)),
         expect=[a([False, False, True, True, True], bool), a([False, True, True, False], bool)]),
    dict(name="f16_arithmetic", src="fn main(x: f16[5], y: f16[5]) { (x * 2 + y, x / y, exp(x), x as f32) }",
         args=dict(x=a([1, 2.5, -3, 0.125, 7], f16), y=a([0.5, -1, 3, 2, 0.25], f16)),
         expect=[a([1, 2.5, -3, 0.125, 7], f16) * f16(2) + a([0.5, -1, 3, 2, 0.25], f16),
                 a([1, 2.5, -3, 0.125, 7], f16) / a([0.5, -1, 3, 2, 0.25], f16),
                 np.exp(a([1, 2.5, -3, 0.125, 7], f16)), a([1, 2.5, -3, 0.125, 7])], rtol=1e-3),
    dict(name="f16_rounding", src="fn main(x) { ((x as f16) as f32, sum(x as f16)) }",
         args=dict(x=a([0.1, 1 / 3, 65504, 70000, 1e-8, -2.0009765625])),
         expect=[a([0.1, 1 / 3, 65504, 70000, 1e-8, -2.0009765625]).astype(f16).astype(f32), f16(np.inf)], rtol=0, atol=0),
    dict(name="f64_exact_literals", src="fn main(x: f64[3]) { (x * 0.1, x + 1e-17, x / 3.0) }",
         args=dict(x=a([1, 3, 7], f64)),
         expect=[a([1, 3, 7], f64) * 0.1, a([1, 3, 7], f64) + 1e-17, a([1, 3, 7], f64) / 3.0],
         rtol=0, atol=0, skip_backends={**NO_WGPU_F64, "iree": IREE_F64}),
    dict(name="f64_math", src="fn main(x: f64[5]) { (exp(x), log(abs(x) + 1.0), sin(x), tanh(x), sum(x * x), x ** 3.0) }",
         args=dict(x=a([-2.5, -0.1, 0.0, 0.7, 3.3], f64)),
         expect=[np.exp(a([-2.5, -0.1, 0.0, 0.7, 3.3], f64)), np.log(np.abs(a([-2.5, -0.1, 0.0, 0.7, 3.3], f64)) + 1),
                 np.sin(a([-2.5, -0.1, 0.0, 0.7, 3.3], f64)), np.tanh(a([-2.5, -0.1, 0.0, 0.7, 3.3], f64)),
                 np.sum(a([-2.5, -0.1, 0.0, 0.7, 3.3], f64) ** 2), a([-2.5, -0.1, 0.0, 0.7, 3.3], f64) ** 3],
         rtol=1e-12, atol=1e-300, skip_backends={**NO_WGPU_F64, "iree": IREE_F64}),
    dict(name="bf16_rounding", src="fn main(x, y) { ((x as bf16) as f32, ((x as bf16) * (y as bf16)) as f32) }",
         args=dict(x=x23 * 10, y=pos[:2, :3]),
         expect=[to_bf16(x23 * 10), to_bf16(to_bf16(x23 * 10) * to_bf16(pos[:2, :3]))],
         rtol=0, atol=0, skip_backends={**NO_WGPU_BF16, "iree": "IREE folds the f32 -> bf16 -> f32 round trip "
                                         "(arith.truncf then arith.extf) away, keeping f32 precision"}),
    dict(name="i64_arithmetic", src="fn main(a: i64[4], b: i64[4]) { (a + 3000000000, a * b, a % b, floor_div(a, b), -a, a > b) }",
         args=dict(a=a([5, -5, 4000000000, -7], i64), b=a([3, 3, -7, 2], i64)),
         expect=[a([5, -5, 4000000000, -7], i64) + 3000000000, a([15, -15, -28000000000, -14], i64),
                 np.mod(a([5, -5, 4000000000, -7], i64), a([3, 3, -7, 2], i64)),
                 np.floor_divide(a([5, -5, 4000000000, -7], i64), a([3, 3, -7, 2], i64)),
                 a([-5, 5, -4000000000, 7], i64), a([True, False, True, False], bool)],
         skip_backends=NO_WGPU_I64),
    dict(name="integer_ops", src="fn main(a, b) { (a + b, a - b, a * b, a % b, floor_div(a, b), -a, abs(a), sign(a), maximum(a, b), minimum(a, b), a < b) }",
         args=dict(a=ia, b=ib - 4),
         expect=[ia + (ib - 4), ia - (ib - 4), ia * (ib - 4),
                 np.where(ib - 4 == 0, 0, np.mod(ia, np.where(ib - 4 == 0, 1, ib - 4))).astype(i32),
                 np.where(ib - 4 == 0, 0, np.floor_divide(ia, np.where(ib - 4 == 0, 1, ib - 4))).astype(i32),
                 -ia, np.abs(ia), np.sign(ia), np.maximum(ia, ib - 4), np.minimum(ia, ib - 4), ia < ib - 4]),
    dict(name="integer_division_by_zero", src="fn main(a, b) { (a % b, floor_div(a, b)) }",
         args=dict(a=a([7, -7, 0, -2147483648, -2147483648, 9], i32), b=a([0, 0, 0, -1, 0, -4], i32)),
         expect=[a([0, 0, 0, 0, 0, -3], i32), a([0, 0, 0, -2147483648, 0, -3], i32)]),
    dict(name="u8_wraps", src="fn main(u: u8[4], v: u8[4]) { (u + v, u - v, u * v, u % v, maximum(u, v), u > v) }",
         args=dict(u=a([200, 5, 255, 16], u8), v=a([100, 10, 1, 16], u8)),
         expect=[a([44, 15, 0, 32], u8), a([100, 251, 254, 0], u8), a([32, 50, 255, 0], u8), a([0, 5, 0, 0], u8),
                 a([200, 10, 255, 16], u8), a([True, False, True, False], bool)]),
    dict(name="weak_literals", src="fn main(h: f16[2], i: i32[2], u: u8[2]) { (h * 2, i + 3, u * 2, 1.5 * 2.0, 7 % 3) }",
         args=dict(h=a([1.5, -2], f16), i=a([1, -1], i32), u=a([100, 200], u8)),
         expect=[a([3, -4], f16), a([4, 2], i32), a([200, 144], u8), f32(3), i32(1)]),
    # ------------------------------------------------------------ reductions
    dict(name="reduce_all_and_axis", src="fn main(m) { (sum(m), sum(m, axis=0), mean(m, axis=-1, keepdims=true), max(m, axis=1)) }",
         args=dict(m=m67), expect=[m67.sum(dtype=f32), m67.sum(axis=0), m67.mean(axis=-1, keepdims=True), m67.max(axis=1)]),
    dict(name="reduce_axis_tuples",
         src="fn main(t) { (sum(t, axis=(0, 2)), max(t, axis=(0, -1), keepdims=true), min(t, axis=(1, 2)), prod(t, axis=1), mean(t, axis=(0, 1, 2))) }",
         args=dict(t=t234),
         expect=[t234.sum(axis=(0, 2)), t234.max(axis=(0, 2), keepdims=True), t234.min(axis=(1, 2)), t234.prod(axis=1), f32(t234.mean())]),
    dict(name="reduce_keepdims_all", src="fn main(t) { (sum(t, keepdims=true), min(t, axis=-2, keepdims=true)) }",
         args=dict(t=t234), expect=[t234.sum(keepdims=True), t234.min(axis=-2, keepdims=True)]),
    dict(name="reduce_integers", src="fn main(a) { (sum(a), sum(a, axis=0), max(a, axis=1), min(a), prod(a % 3 + 1, axis=1)) }",
         args=dict(a=ia),
         expect=[i32(ia.sum()), ia.sum(axis=0, dtype=i32), ia.max(axis=1), i32(ia.min()), np.prod(np.mod(ia, 3) + 1, axis=1).astype(i32)]),
    dict(name="reduce_long_row", src="fn main(x) { (sum(x), mean(x, axis=1), max(x)) }",
         args=dict(x=long_rows),
         expect=[f32(long_rows.astype(f64).sum()), long_rows.astype(f64).mean(axis=1).astype(f32), long_rows.max()]),
    dict(name="argmax_i32", src="fn main(m) { argmax(m, axis=1) }",
         args=dict(m=m67), expect=[m67.argmax(axis=1).astype(i32)]),
    dict(name="argmax_argmin_ties", src="fn main(m) { (argmax(m, axis=1), argmin(m, axis=0), argmax(m, axis=-1, keepdims=true), argmin(m)) }",
         args=dict(m=a([[1, 3, 3, 0], [2, 2, 1, 2], [-1, -5, -5, 4]])),
         expect=[a([1, 0, 3], i32), a([2, 2, 2, 0], i32), a([[1], [0], [3]], i32), i32(9)]),
    dict(name="reduce_f64", src="fn main(x: f64[3, 4]) { (sum(x, axis=1), mean(x), prod(x, axis=0)) }",
         args=dict(x=x34_f64), expect=[x34_f64.sum(axis=1), x34_f64.mean(), x34_f64.prod(axis=0)], rtol=1e-12,
         skip_backends={**NO_WGPU_F64, "iree": IREE_F64}),
    # ------------------------------------------------------------ linear algebra
    dict(name="matmul_2d", src="fn main(a: f32[M, K], b: f32[K, N]) -> f32[M, N] { a @ b }",
         args=dict(a=a45, b=b56), expect=[a45 @ b56]),
    dict(name="matmul_batched", src="fn main(a, b) { a @ b }",
         args=dict(a=batch_a, b=batch_b), expect=[batch_a @ batch_b]),
    dict(name="matmul_vectors", src="fn main(v, m, w) { (v @ m, m @ w, v @ v) }",
         args=dict(v=mv_v, m=mv_m, w=mv_w), expect=[mv_v @ mv_m, mv_m @ mv_w, f32(mv_v @ mv_v)]),
    dict(name="matmul_batch_broadcast", src="fn main(a, b) { a @ b }",
         args=dict(a=mb_a, b=mb_b), expect=[mb_a @ mb_b]),
    dict(name="matmul_large", src="fn main(a, b) { a @ b }",
         args=dict(a=ml_a, b=ml_b), expect=[(ml_a.astype(f64) @ ml_b).astype(f32)], rtol=1e-4, atol=1e-4),
    dict(name="matmul_integer", src="fn main(a, b) { a @ b }",
         args=dict(a=mi_a, b=mi_b), expect=[mi_a @ mi_b]),
    dict(name="matmul_f64", src="fn main(a: f64[4, 5], b: f64[5, 3]) { a @ b }",
         args=dict(a=md_a, b=md_b), expect=[md_a @ md_b], rtol=1e-12,
         skip_backends={**NO_WGPU_F64, "iree": IREE_F64}),
    # ------------------------------------------------------------ convolution and pooling
    dict(name="conv2d_padding", src="fn main(x, w) { conv2d(x, w, stride=1, padding=1) }",
         args=dict(x=img, w=ker), expect=[conv2d(img, ker, 1, 1).astype(f32)]),
    dict(name="conv2d_stride", src="fn main(x, w) { (conv2d(x, w, stride=2), conv2d(x, w)) }",
         args=dict(x=img9, w=ker2), expect=[conv2d(img9, ker2, 2, 0).astype(f32), conv2d(img9, ker2).astype(f32)]),
    dict(name="pooling", src="fn main(x) { (max_pool2d(x, 2), avg_pool2d(x, 2), max_pool2d(x, 3, stride=2), avg_pool2d(x, 3, stride=1)) }",
         args=dict(x=pool_in),
         expect=[pool(pool_in, 2, 2, np.max), pool(pool_in, 2, 2, np.mean), pool(pool_in, 3, 2, np.max), pool(pool_in, 3, 1, np.mean)]),
    # ------------------------------------------------------------ shape operations
    dict(name="reshape_transpose", src="fn main(m) { (reshape(m, (3, -1)), transpose(m, (1, 0)), m.T) }",
         args=dict(m=m67), expect=[m67.reshape(3, -1), m67.T, m67.T]),
    dict(name="transpose_3d_swapaxes", src="fn main(t) { (transpose(t, (2, 0, 1)), transpose(t), swapaxes(t, 0, -1), t.T) }",
         args=dict(t=t234), expect=[t234.transpose(2, 0, 1), t234.transpose(), np.swapaxes(t234, 0, -1), t234.T]),
    dict(name="broadcast_expand_squeeze",
         src="fn main(x, c) { (broadcast_to(x, (2, 4, 3)), expand_dims(x, -1), squeeze(c), squeeze(c, 0), flatten(c)) }",
         args=dict(x=b3, c=sq),
         expect=[np.broadcast_to(b3, (2, 4, 3)), b3[:, None], sq.reshape(3), sq[0], sq.reshape(3)]),
    dict(name="concat_stack", src="fn main(a, b) { (concat((a, b), 0), stack((a, b), 1)) }",
         args=dict(a=x23, b=x23 * 2), expect=[np.concatenate([x23, x23 * 2], 0), np.stack([x23, x23 * 2], 1)]),
    dict(name="concat_stack_more", src="fn main(a, b, c) { (concat((a, b, c), -1), stack((a, c)), stack((a, c), axis=-1)) }",
         args=dict(a=x23, b=cs_b, c=cs_c),
         expect=[np.concatenate([x23, cs_b, cs_c], -1), np.stack([x23, cs_c]), np.stack([x23, cs_c], -1)]),
    dict(name="pad", src="fn main(x) { (pad(x, ((1, 0), (2, 1)), value=0.5), pad(x, ((0, 2), (0, 0)))) }",
         args=dict(x=x23),
         expect=[np.pad(x23, ((1, 0), (2, 1)), constant_values=0.5), np.pad(x23, ((0, 2), (0, 0)))]),
    dict(name="shape_and_size", src="fn main(x) { let s = shape(x); (zeros(s) + size(x, 1), ones((s.0, 1)) * size(x, -2), s.1 * 1) }",
         args=dict(x=t234), expect=[np.full((2, 3, 4), 3, f32), np.full((2, 1), 3, f32), i32(3)]),
    dict(name="slice_index", src="fn main(m) { (m[1:3, :], m[0], m[-1, 2:]) }",
         args=dict(m=m67), expect=[m67[1:3, :], m67[0], m67[-1, 2:]]),
    dict(name="slice_more", src="fn main(t) { (t[1, :, 0], t[:, -2:, 1:3], t[0:1], t[-1, -1, -1], t[:, 1]) }",
         args=dict(t=t234), expect=[t234[1, :, 0], t234[:, -2:, 1:3], t234[0:1], t234[-1, -1, -1], t234[:, 1]]),
    dict(name="take_gather", src="fn main(m, i) { (take(m, i), take(m, i, axis=1), take(m, i, axis=-1)) }",
         args=dict(m=m67, i=a([0, 5, 2, 2], i32)),
         expect=[m67[[0, 5, 2, 2]], m67[:, [0, 5, 2, 2]], m67[:, [0, 5, 2, 2]]]),
    dict(name="take_clamps_runtime_indices", src="fn main(x, i) { take(x, i) }",
         args=dict(x=a([10, 11, 12, 13]), i=a([-1, -5, 4, 100, 1], i32)), expect=[a([13, 10, 13, 13, 11])]),
    dict(name="one_hot", src="fn main(y) { one_hot(y, 5) }",
         args=dict(y=labels), expect=[np.eye(5, dtype=f32)[labels]]),
    dict(name="one_hot_dtypes_out_of_range", src="fn main(y) { (one_hot(y, 4, dtype=i32), one_hot(y, 4, dtype=bool)) }",
         args=dict(y=a([0, 3, 4, -1, 2], i32)),
         expect=[np.vstack([np.eye(4, dtype=i32)[[0, 3]], np.zeros((2, 4), i32), np.eye(4, dtype=i32)[[2]]]),
                 np.vstack([np.eye(4, dtype=bool)[[0, 3]], np.zeros((2, 4), bool), np.eye(4, dtype=bool)[[2]]])]),
    dict(name="tensor_literals", src="fn main(x) { ([[1.0, 2.0], [3.0, 4.0]] @ x, [1, 2, 3], [true, false]) }",
         args=dict(x=lit_x), expect=[lit @ lit_x, a([1, 2, 3], i32), a([True, False], bool)]),
    # ------------------------------------------------------------ creation
    dict(name="creation", src="fn main() { (zeros((2, 3)), ones((3,), dtype=i32), full((2, 2), 7.5), full((2,), 3, dtype=u8), arange(5), arange(4, dtype=f32), eye(3), eye(2, dtype=i32)) }",
         expect=[np.zeros((2, 3), f32), np.ones(3, i32), np.full((2, 2), 7.5, f32), np.full(2, 3, u8), np.arange(5, dtype=i32),
                 np.arange(4, dtype=f32), np.eye(3, dtype=f32), np.eye(2, dtype=i32)]),
    dict(name="random_uniform_philox", src="fn main() { (random_uniform(7, (3, 4)), random_uniform(-1, (5,)), random_uniform(123456, (2, 2, 2))) }",
         expect=[random_uniform(7, (3, 4)), random_uniform(-1, (5,)), random_uniform(123456, (2, 2, 2))], rtol=0, atol=0),
    dict(name="random_normal_philox", src="fn main(x) { (random_normal(11, (5,)) + x, random_normal(0, (4, 3))) }",
         args=dict(x=rn_x), expect=[random_normal(11, (5,)) + rn_x, random_normal(0, (4, 3))], rtol=1e-5, atol=1e-6),
    dict(name="random_statistics",
         src="fn main() { let u = random_uniform(3, (100000,)); let n = random_normal(4, (100000,)); (min(u), max(u), mean(u), mean(n), mean(n * n), sum((random_uniform(3, (64,)) == random_uniform(3, (64,))) as i32), sum((random_uniform(3, (64,)) == random_uniform(5, (64,))) as i32)) }",
         expect=[random_uniform(3, (100000,)).min(), random_uniform(3, (100000,)).max(), f32(random_uniform(3, (100000,)).astype(f64).mean()),
                 f32(random_normal(4, (100000,)).astype(f64).mean()), f32((random_normal(4, (100000,)).astype(f64) ** 2).mean()),
                 i32(64), i32(0)], rtol=1e-4, atol=1e-5),
    dict(name="random_uniform_f64", src="fn main() { random_uniform(9, (6,), dtype=f64) }",
         expect=[random_uniform(9, (6,), f64)], rtol=0, atol=0,
         skip_backends={**NO_WGPU_F64, "iree": IREE_F64}),
    # ------------------------------------------------------------ language features
    dict(name="let_tuple_destructure",
         src="fn pair(x) { (x + 1.0, x * 2.0) }\nfn main(x) { let (a, b) = pair(x); let _ = a; a * b }",
         args=dict(x=x4), expect=[(x4 + 1) * (x4 * 2)]),
    dict(name="const_and_scalar_arg", src="const K = 3.0;\nfn main(x, s: f32) { x * K + s }",
         args=dict(x=x4, s=0.5), expect=[x4 * f32(3) + f32(0.5)]),
    dict(name="shape_vars_as_ints", src="fn main(x: f32[N, D]) -> f32[N] { sum(x, axis=1) / D }",
         args=dict(x=m67), expect=[m67.sum(axis=1) / f32(7)]),
    dict(name="defaults_and_keywords",
         src="fn scale(x, s = 2.0, shift = 0.0) { x * s + shift }\nfn main(x) { (scale(x), scale(x, shift=1.0), scale(x, 3.0, shift=-1.0), scale(s=0.5, x=x)) }",
         args=dict(x=x4), expect=[x4 * 2, x4 * 2 + 1, x4 * 3 - 1, x4 * f32(0.5)]),
    dict(name="generic_specialised_per_dtype",
         src="fn twice(x) { x + x }\nfn main(f, i) { (twice(f), twice(i), twice(2.5)) }",
         args=dict(f=x4, i=a([1, -2, 3], i32)), expect=[x4 + x4, a([2, -4, 6], i32), f32(5)]),
    dict(name="tuple_field_and_nested_results",
         src="fn main(x, y) { let p = (x, (y, x + y)); (p.1.0, p.1, p.0) }",
         args=dict(x=x4, y=x4 * 3), expect=[x4 * 3, x4 * 3, x4 + x4 * 3, x4]),
    dict(name="rest_dimensions", src="fn rowsum(x: f32[..B, D]) -> f32[..B] { sum(x, axis=-1) }\nfn main(a, b) { (rowsum(a), rowsum(b)) }",
         args=dict(a=t234, b=x4), expect=[t234.sum(axis=-1), f32(x4.sum())]),
    dict(name="blocks_and_shadowing", src="fn main(x) { let y = x + 1.0; let y = { let z = y * 2.0; z - x }; y }",
         args=dict(x=x4), expect=[(x4 + 1) * 2 - x4]),
    dict(name="other_entry", src="fn main(x) { x }\nfn other(x) { x * 4.0 }", entry="other",
         args=dict(x=x4), expect=[x4 * 4]),
    dict(name="scalar_argument_integer", src="fn main(x, n: i32) { (x * (n as f32), n + 1) }",
         args=dict(x=x4, n=3), expect=[x4 * 3, i32(4)]),
    # ------------------------------------------------------------ standard library
    dict(name="stdlib_softmax", src="use nn;\nfn main(z) { (nn::softmax(z), nn::softmax(z, axis=0)) }",
         args=dict(z=logits), expect=[softmax(logits), softmax(logits, axis=0)]),
    dict(name="stdlib_log_softmax_logsumexp", src="use nn::{log_softmax, logsumexp};\nfn main(z) { (log_softmax(z), logsumexp(z), logsumexp(z * 1000.0, axis=0)) }",
         args=dict(z=logits),
         expect=[log_softmax(logits), f32(1) * (logits.max(-1) + np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1))),
                 ((logits.astype(f64) * 1000).max(0) + np.log(np.exp(logits.astype(f64) * 1000 - (logits.astype(f64) * 1000).max(0)).sum(0))).astype(f32)],
         rtol=1e-4, atol=1e-4),
    dict(name="stdlib_cross_entropy", src="use nn::{cross_entropy};\nfn main(z, y) { cross_entropy(z, y) }",
         args=dict(z=logits, y=labels), expect=[f32(cross_entropy(logits, labels))]),
    dict(name="stdlib_activations", src="use nn;\nfn main(x) { (nn::relu(x), nn::gelu(x), nn::silu(x)) }",
         args=dict(x=m67), expect=[np.maximum(m67, 0), gelu(m67.astype(f64)).astype(f32), (m67 * sigmoid(m67.astype(f64))).astype(f32)]),
    dict(name="stdlib_layernorm", src="use nn;\nfn main(x, g, b) { (nn::layernorm(x, g, b), nn::layernorm(x, g, b, eps=0.5)) }",
         args=dict(x=ln_x, g=ln_g, b=ln_b),
         expect=[layernorm(ln_x.astype(f64), ln_g, ln_b).astype(f32), layernorm(ln_x.astype(f64), ln_g, ln_b, 0.5).astype(f32)]),
    dict(name="stdlib_linear_mse", src="use nn;\nfn main(x, w, b, t) { let y = nn::linear(x, w, b); (y, nn::mse(y, t)) }",
         args=dict(x=xb, w=w1, b=bias1, t=lm_t), expect=[xb @ w1 + bias1, f32(((xb @ w1 + bias1 - lm_t) ** 2).mean())]),
    dict(name="stdlib_attention", src="use nn;\nfn main(q, k, v) { nn::attention(q, k, v) }",
         args=dict(q=q, k=k, v=v), expect=[(softmax(q.astype(f64) @ k.transpose(0, 2, 1) / 2.0) @ v).astype(f32)]),
    dict(name="stdlib_dropout", src="use nn;\nfn main(x) { nn::dropout(x, 0.25, 5) }",
         args=dict(x=m67), expect=[np.where(random_uniform(5, (6, 7)) >= f32(0.25), m67 / f32(0.75), f32(0))]),
    dict(name="stdlib_optim",
         src="use optim;\nfn main(p, g, v, m) { (optim::sgd(p, g, 0.1), optim::momentum(p, g, v, 0.1), optim::adam(p, g, m, v, 3.0)) }",
         args=dict(p=op_p, g=op_g, v=op_v, m=op_m), expect=optim_oracle(op_p, op_g, op_v, op_m)),
    dict(name="stdlib_init", src="use init;\nfn main() { (init::glorot_uniform(3, (4, 6)), init::kaiming_normal(4, (5, 2)), init::kaiming_normal_conv(5, (2, 3, 3, 3))) }",
         expect=[(random_uniform(3, (4, 6)) * 2 - 1) * f32(math.sqrt(6 / 10)), random_normal(4, (5, 2)) * f32(math.sqrt(2 / 5)),
                 random_normal(5, (2, 3, 3, 3)) * f32(math.sqrt(2 / 27))], rtol=1e-5, atol=1e-6),
    # ------------------------------------------------------------ gradients
    dict(name="grad_square", src="fn main(x) { let y = sum(x * x); grad(y, x) }",
         args=dict(x=x23), expect=[2 * x23]),
    dict(name="grad_tuple_linear",
         src="fn main(w, b, x) { let l = sum(x @ w + b); grad(l, (w, b)) }",
         args=dict(w=b56, b=r(6), x=a45),
         expect=[a45.T @ np.ones((4, 6), f32), np.full(6, 4, f32)]),
    dict(name="grad_softmax_ce", src="use nn;\nfn main(z, y) { grad(nn::cross_entropy(z, y), z) }",
         args=dict(z=logits, y=labels), expect=[(softmax(logits) - np.eye(5, dtype=f32)[labels]) / f32(8)]),
    dict(name="grad_unary_closed_forms",
         src="fn main(x, p) { (grad(sum(exp(x)), x), grad(sum(log(p)), p), grad(sum(sin(x)), x), grad(sum(cos(x)), x), grad(sum(tanh(x)), x), grad(sum(sigmoid(x)), x), grad(sum(sqrt(p)), p), grad(sum(rsqrt(p)), p), grad(sum(erf(x)), x), grad(sum(abs(x)), x)) }",
         args=dict(x=m67, p=pos),
         expect=[np.exp(m67), 1 / pos, np.cos(m67), -np.sin(m67), 1 - np.tanh(m67) ** 2, sigmoid(m67) * (1 - sigmoid(m67)),
                 0.5 / np.sqrt(pos), -0.5 * pos ** f32(-1.5), (2 / np.sqrt(np.pi) * np.exp(-m67.astype(f64) ** 2)).astype(f32), np.sign(m67)]),
    dict(name="grad_binary_closed_forms",
         src="fn main(x, y) { (grad(sum(x / y), (x, y)), grad(sum(x ** 3.0), x), grad(sum(y ** x), x), grad(sum(x * y - y), y)) }",
         args=dict(x=x23, y=pos[:2, :3]),
         expect=[1 / pos[:2, :3], -x23 / pos[:2, :3] ** 2, 3 * x23 ** 2, pos[:2, :3] ** x23 * np.log(pos[:2, :3]), x23 - 1]),
    dict(name="grad_through_broadcast", src="fn main(x, b) { (grad(sum(x * b), b), grad(sum((x + b) * (x + b)), x)) }",
         args=dict(x=x23, b=b3), expect=[x23.sum(axis=0), 2 * (x23 + b3)]),
    dict(name="grad_matmul", src="fn main(a, b, g) { grad(sum((a @ b) * g), (a, b)) }",
         args=dict(a=a45, b=b56, g=mm_g), expect=[mm_g @ b56.T, a45.T @ mm_g]),
    dict(name="grad_reductions_ties",
         src="fn main(m) { (grad(sum(max(m, axis=1)), m), grad(mean(m), m), grad(max(m), m), grad(sum(min(m, axis=0) * [1.0, 2.0, 3.0]), m)) }",
         args=dict(m=a([[1, 5, 5], [2, 0, 2]])),
         expect=[a([[0, 0.5, 0.5], [0.5, 0, 0.5]]), np.full((2, 3), 1 / 6, f32), a([[0, 0.5, 0.5], [0, 0, 0]]), a([[1, 0, 0], [0, 2, 3]])]),
    dict(name="grad_where_maximum_relu",
         src="use nn;\nfn main(x) { (grad(sum(where(x > 0.0, x * x, 3.0 * x)), x), grad(sum(maximum(x, 0.0)), x), grad(sum(nn::relu(x)), x), grad(sum(minimum(x, x * 0.0 + 1.0)), x)) }",
         args=dict(x=a([-2, -0.5, 0, 0.5, 1, 3])),
         expect=[a([3, 3, 3, 1, 2, 6]), a([0, 0, 0.5, 1, 1, 1]), a([0, 0, 0, 1, 1, 1]), a([1, 1, 1, 1, 0.5, 0])]),
    dict(name="grad_shape_ops",
         src="fn main(x, g) { grad(sum(concat((reshape(x, (3, 2)).T, pad(x[:, 1:], ((0, 0), (1, 0)))), 0) * g), x) }",
         args=dict(x=x23, g=so_g), expect=[shape_ops_grad(x23, so_g)]),
    dict(name="grad_take_scatter_adds", src="fn main(x, i) { grad(sum(take(x, i) * [1.0, 2.0, 3.0, 4.0, 5.0]), x) }",
         args=dict(x=a([10, 11, 12, 13]), i=a([-1, -5, 4, 100, 1], i32)), expect=[a([2, 5, 0, 8])]),
    dict(name="grad_prod_with_zeros", src="fn main(x) { grad(sum(prod(x, axis=1)), x) }",
         args=dict(x=a([[2, 3, 4], [0, 2, 5], [0, 3, 0]])), expect=[a([[12, 8, 6], [10, 0, 0], [0, 0, 0]])]),
    dict(name="grad_second_order", src="fn main(x) { let g = sum(grad(sum(x * x * x), x)); (g, grad(g, x)) }",
         args=dict(x=x4), expect=[f32((3 * x4 ** 2).sum()), 6 * x4]),
    dict(name="grad_conv2d", src="fn main(x, w, g) { grad(sum(conv2d(x, w, padding=1) * g), (x, w)) }",
         args=dict(x=img, w=ker, g=g_conv),
         expect=[c.astype(f32) for c in conv2d_grads(img, ker, g_conv, 1, 1)], skip_backends={"iree": IREE_CONV_INPUT_GRAD}),
    dict(name="grad_conv2d_strided", src="fn main(x, w) { let y = conv2d(x, w, stride=2); grad(sum(y * y), (x, w)) }",
         args=dict(x=img9, w=ker2),
         expect=[c.astype(f32) for c in conv2d_grads(img9, ker2, 2 * conv2d(img9, ker2, 2), 2, 0)], rtol=1e-4, atol=1e-4,
         skip_backends={"iree": IREE_CONV_INPUT_GRAD}),
    dict(name="grad_pooling", src="fn main(x, g) { (grad(sum(max_pool2d(x, 2) * g), x), grad(sum(avg_pool2d(x, 2) * g), x), grad(sum(max_pool2d(x, 3, stride=1)), x)) }",
         args=dict(x=pool_in, g=pg_g),
         expect=[max_pool_grad(pool_in, 2, 2, pg_g).astype(f32), np.repeat(np.repeat(pg_g / 4, 2, 2), 2, 3),
                 max_pool_grad(pool_in, 3, 1, np.ones((2, 2, 4, 4))).astype(f32)]),
    dict(name="grad_mlp_closed_form",
         src="use nn;\nfn main(w1, b1, w2, x, y) { let l = nn::cross_entropy(nn::relu(x @ w1 + b1) @ w2, y); let (g1, gb, g2) = grad(l, (w1, b1, w2)); (l, g1, gb, g2) }",
         args=dict(w1=w1, b1=bias1, w2=w2, x=xb, y=yb), expect=mlp_oracle(w1, bias1, w2, xb, yb)),
    dict(name="grad_layernorm_finite_differences",
         src="use nn;\nfn main(x, g, b, t) { grad(sum(nn::layernorm(x, g, b) * t), (x, g)) }",
         args=dict(x=ln_x, g=ln_g, b=ln_b, t=ln_t), expect=layernorm_grads(ln_x, ln_g, ln_b, ln_t), rtol=1e-3, atol=1e-4),
    dict(name="grad_attention_finite_differences",
         src="use nn;\nfn main(q, k, v) { grad(sum(nn::attention(q, k, v) ** 2.0), (q, k, v)) }",
         args=dict(q=q, k=k, v=v), expect=attention_grads(q, k, v), rtol=1e-3, atol=1e-4),
    # ------------------------------------------------------------ IEEE special values
    dict(name="ieee_specials",
         src="fn main(x) { (x / 0.0, x * 0.0, x - x, exp(x * 1000.0), log(x), sqrt(x), x + x, -x) }",
         args=dict(x=specials), expect=ieee_oracle(specials)),
    dict(name="ieee_signed_zero_and_nan_compare",
         src="fn main(x) { let z = x * 0.0; (z != z, 1.0 / (x + 0.0) > 0.0, 1.0 / sign(x) > 0.0, x == x, x < 3.4e38, mean(x[0:0])) }",
         args=dict(x=a([0, -0.0, 1, -2, np.inf, np.nan])),
         expect=[a([False, False, False, False, True, True], bool), a([True, True, True, False, False, False], bool),
                 a([True, True, True, False, True, False], bool), a([True, True, True, True, True, False], bool),
                 a([True, True, True, True, False, False], bool), f32(np.nan)]),
    dict(name="inf_nan_constants", src="fn main(x, h: f16[2]) { (x + inf, nan * x, x < inf, -inf < x, h - inf, inf != nan) }",
         args=dict(x=a([1, -2, np.inf, np.nan]), h=a([1, 2], f16)),
         expect=[a([np.inf, np.inf, np.inf, np.nan]), a([np.nan] * 4), a([True, True, False, False], bool),
                 a([True, True, True, False], bool), a([-np.inf, -np.inf], f16), np.bool_(True)]),
    dict(name="nan_propagation", src="fn main(x, r) { (maximum(x, 1.0), minimum(0.0, x), max(x), min(r, axis=1), max(r, axis=0)) }",
         args=dict(x=a([np.nan, -1, 0, 2]), r=a([[np.nan, 1, 2], [0, 1, np.nan], [0, 9, -1]])),
         expect=[a([np.nan, 1, 1, 2]), a([np.nan, -1, 0, 0]), f32(np.nan), a([np.nan, np.nan, -1]), a([np.nan, 9, np.nan])]),
    dict(name="ieee_overflow_underflow", src="fn main(x) { (x * x, x * 1e-30 * 1e-30, exp(-x), sum(maximum(x, 3e38))) }",
         args=dict(x=extremes),
         expect=[extremes * extremes, extremes * f32(1e-30) * f32(1e-30), np.exp(-extremes), f32(np.inf)], rtol=1e-6, atol=0),
    dict(name="empty_tensors", src="fn main(x) { let e = x[0:0]; (sum(e), prod(e), e * 2.0, sum(x[:, 0:0], axis=1)) }",
         args=dict(x=x23), expect=[f32(0), f32(1), np.zeros((0, 3), f32), np.zeros(2, f32)]),
    # ------------------------------------------------------------ v1 elementwise
    dict(name="v1_trig_hyperbolic",
         src="fn main(x, u, p) { (tan(x), atan(x), asin(u), acos(u), atan2(x, u), sinh(x), cosh(x), tanh(x), asinh(x), acosh(p + 1.0), atanh(u)) }",
         args=dict(x=v1_x, u=v1_u, p=v1_p),
         expect=[np.tan(v1_x), np.arctan(v1_x), np.arcsin(v1_u), np.arccos(v1_u), np.arctan2(v1_x, v1_u), np.sinh(v1_x), np.cosh(v1_x),
                 np.tanh(v1_x), np.arcsinh(v1_x), np.arccosh(v1_p + f32(1)), np.arctanh(v1_u)]),
    dict(name="v1_exp_log_family",
         src="fn main(x, p) { (log1p(p), expm1(x), log2(p), exp2(x), square(x), reciprocal(p), log1p(x * 1e-6), expm1(x * 1e-6)) }",
         args=dict(x=v1_x, p=v1_p),
         expect=[np.log1p(v1_p), np.expm1(v1_x), np.log2(v1_p), np.exp2(v1_x), np.square(v1_x), np.reciprocal(v1_p),
                 np.log1p(v1_x.astype(f64) * 1e-6).astype(f32), np.expm1(v1_x.astype(f64) * 1e-6).astype(f32)], rtol=1e-5, atol=1e-12),
    dict(name="v1_elementwise_f64",
         src="fn main(x: f64[6], u: f64[6]) { (atan(x), atan2(x, u), asin(u), log1p(u), expm1(x), sinh(x), asinh(x), atanh(u), linspace(-2.5, 10, 7, dtype=f64)) }",
         args=dict(x=v1_x.astype(f64), u=v1_u.astype(f64)),
         expect=[np.arctan(v1_x.astype(f64)), np.arctan2(v1_x.astype(f64), v1_u.astype(f64)), np.arcsin(v1_u.astype(f64)),
                 np.log1p(v1_u.astype(f64)), np.expm1(v1_x.astype(f64)), np.sinh(v1_x.astype(f64)), np.arcsinh(v1_x.astype(f64)),
                 np.arctanh(v1_u.astype(f64)), np.linspace(-2.5, 10, 7)], rtol=1e-12, atol=1e-14,
         skip_backends={**NO_WGPU_F64, "iree": IREE_F64}),
    dict(name="v1_ieee_specials",
         src="fn main(s, y, x) { (atan(s), atan2(y, x), log1p(s), expm1(s), sinh(s), asinh(s), isnan(s), isinf(s), isfinite(s), clip(s, -1.0, 1.0), tan(s)) }",
         args=dict(s=v1_special, y=v1_ay, x=v1_ax),
         expect=[np.arctan(v1_special), np.arctan2(v1_ay, v1_ax), np.log1p(v1_special), np.expm1(v1_special), np.sinh(v1_special),
                 np.arcsinh(v1_special), np.isnan(v1_special), np.isinf(v1_special), np.isfinite(v1_special),
                 np.clip(v1_special, -1, 1), np.tan(v1_special)], rtol=1e-5, atol=0, skip_backends={"iree": IREE_HUGE_TAN}),
    # A zero's sign shows in its reciprocal: -0 gives -inf.
    dict(name="v1_signed_zeros",
         src="fn main(y, x) { (atan2(y, x), 1.0 / atan(y), 1.0 / asinh(y), 1.0 / sinh(y), 1.0 / expm1(y), 1.0 / log1p(y), 1.0 / atan2(y, x)) }",
         args=dict(y=a([0.0, -0.0, 0.0, -0.0]), x=a([0.0, 0.0, -0.0, -0.0])),
         expect=[np.arctan2(a([0.0, -0.0, 0.0, -0.0]), a([0.0, 0.0, -0.0, -0.0]))] + [a([np.inf, -np.inf, np.inf, -np.inf])] * 5
                + [1 / np.arctan2(a([0.0, -0.0, 0.0, -0.0]), a([0.0, 0.0, -0.0, -0.0]))]),
    dict(name="v1_clip_classify_ints",
         src="fn main(i, x) { (clip(i, 2, 6), clip(x, [-0.5, 0.0, 0.5], 1.0), isnan(i), isfinite(i), square(i)) }",
         args=dict(i=a([0, 3, 9, -4, 6, 2], i32), x=x23),
         expect=[np.clip(a([0, 3, 9, -4, 6, 2], i32), 2, 6), np.clip(x23, a([-0.5, 0.0, 0.5]), f32(1)), np.zeros(6, bool), np.ones(6, bool),
                 a([0, 9, 81, 16, 36, 4], i32)]),
    # ------------------------------------------------------------ v1 reductions
    dict(name="v1_any_all_bool_max",
         src="fn main(x) { let b = x > 0.5; (any(b), all(b), any(b, axis=1), all(b, axis=0, keepdims=true), max(b, axis=1), min(b)) }",
         args=dict(x=m67),
         expect=[np.any(m67 > 0.5), np.all(m67 > 0.5), np.any(m67 > 0.5, axis=1), np.all(m67 > 0.5, axis=0, keepdims=True),
                 np.max(m67 > 0.5, axis=1), np.min(m67 > 0.5)]),
    dict(name="v1_int_max_min", src="fn main(i) { (max(i), min(i, axis=0), max(i, axis=1, keepdims=true)) }",
         args=dict(i=v1_ints), expect=[v1_ints.max(), v1_ints.min(axis=0), v1_ints.max(axis=1, keepdims=True)]),
    dict(name="v1_var_std_logsumexp",
         src="fn main(x) { (var(x), var(x, axis=1), std(x, axis=0, keepdims=true), var(x, ddof=1), std(x, axis=(0, 1)), logsumexp(x), logsumexp(x, axis=1), logsumexp(x * 100.0, axis=0, keepdims=true)) }",
         args=dict(x=m67),
         expect=[m67.var(), m67.var(axis=1), m67.std(axis=0, keepdims=True), m67.var(ddof=1), m67.std(),
                 logsumexp_oracle(m67), logsumexp_oracle(m67, 1), logsumexp_oracle(m67 * 100, 0, True)]),
    dict(name="v1_logsumexp_infinities", src="fn main(x) { logsumexp(x, axis=1) }",
         args=dict(x=a([[-np.inf, -np.inf], [np.inf, 1.0], [np.nan, 0.0], [-np.inf, 0.0]])),
         expect=[a([-np.inf, np.inf, np.nan, 0.0])]),
    # ------------------------------------------------------------ v1 shape built-ins
    dict(name="v1_shape_builtins",
         src="fn main(x) { (moveaxis(x, 0, 2), moveaxis(x, (0, 1), (2, 0)), flip(x, 1), flip(x), swapaxes(x, 0, 2), roll(x, 2, 1), roll(x, -3), roll(x, (1, 2), (0, 2)), tile(x, 2), tile(x, (2, 1, 1, 2)), repeat(x, 3, 2), repeat(x, 2)) }",
         args=dict(x=v1_cube),
         expect=[np.moveaxis(v1_cube, 0, 2), np.moveaxis(v1_cube, (0, 1), (2, 0)), np.flip(v1_cube, 1), np.flip(v1_cube), np.swapaxes(v1_cube, 0, 2),
                 np.roll(v1_cube, 2, 1), np.roll(v1_cube, -3), np.roll(v1_cube, (1, 2), (0, 2)), np.tile(v1_cube, 2), np.tile(v1_cube, (2, 1, 1, 2)),
                 np.repeat(v1_cube, 3, 2), np.repeat(v1_cube, 2)], skip_backends={"iree": IREE_REVERSED_VIEW}),
    dict(name="v1_triangles_likes_linspace",
         src="fn main(x, b) { (tril(x), triu(x), tril(x, -1), triu(x, 2), tril(b), zeros_like(x), ones_like(x, dtype=i32), full_like(x, 7), size(x), linspace(0, 1, 5), linspace(3, 3, 1)) }",
         args=dict(x=m67, b=v1_cube),
         expect=[np.tril(m67), np.triu(m67), np.tril(m67, -1), np.triu(m67, 2), np.tril(v1_cube), np.zeros_like(m67), np.ones((6, 7), i32),
                 np.full((6, 7), 7, f32), np.int32(42), np.linspace(0, 1, 5, dtype=f32), a([3.0])]),
    dict(name="v1_take_along_axis",
         src="fn main(x, i, j) { (take_along_axis(x, i, 1), take_along_axis(x, j, 0), take_along_axis(x, argmax(x, axis=1, keepdims=true), 1)) }",
         args=dict(x=m67, i=v1_idx, j=v1_idx0),
         expect=[np.take_along_axis(m67, np.clip(np.where(v1_idx < 0, v1_idx + 7, v1_idx), 0, 6), 1),
                 np.take_along_axis(m67, v1_idx0, 0), m67.max(axis=1, keepdims=True)]),
    dict(name="v1_index_add",
         src="fn main(x, v, w) { (index_add(x, [0, 2, 0, 5], v), index_add(x, [6, 1], w, axis=1), index_add(x, [-1], 1.0)) }",
         args=dict(x=m67, v=v1_rows, w=v1_cols),
         expect=[index_add_oracle(m67, [0, 2, 0, 5], v1_rows, 0), index_add_oracle(m67, [6, 1], v1_cols, 1),
                 index_add_oracle(m67, [5], np.ones((1, 7), f32), 0)]),
    # ------------------------------------------------------------ v1 indexing
    dict(name="v1_step_slices",
         src="fn main(x) { (x[::2], x[::-1], x[1:8:3], x[3:0:-2], x[5:1:2], x[::-7, 0, ::4], x[-2::-3, 1:, ::5]) }",
         args=dict(x=v1_block),
         expect=[v1_block[::2], v1_block[::-1], v1_block[1:8:3], v1_block[3:0:-2], v1_block[5:1:2], v1_block[::-7, 0, ::4], v1_block[-2::-3, 1:, ::5]]),
    dict(name="v1_ellipsis_newaxis_shape",
         src="fn main(x) { let (a, b, c) = x.shape; (x[..., 0], x[None], x[:, None, 1], x[..., ::-2, None], x[-1, ..., 2:0:-1], x[...], a * b * c, x.T.shape.0) }",
         args=dict(x=v1_block),
         expect=[v1_block[..., 0], v1_block[None], v1_block[:, None, 1], v1_block[..., ::-2, None], v1_block[-1, ..., 2:0:-1], v1_block, np.int32(120),
                 np.int32(6)], skip_backends={"iree": IREE_REVERSED_VIEW}),
    dict(name="grad_v1_step_slice", src="fn main(x, g) { grad(sum(x[::2, ::-3] * g), x) }",
         args=dict(x=m67, g=v1_sg), expect=[step_slice_grad(v1_sg)]),
    dict(name="err_v1_two_ellipses", src="fn main(x) { x[..., 0, ...] }", args=dict(x=m67), exit=1, error="E0309", at="1:24"),
    dict(name="err_v1_zero_step", src="fn main(x) { x[::0] }", args=dict(x=x4), exit=1, error="E0309", at="1:18"),
    # ------------------------------------------------------------ v1 einsum
    dict(name="v1_einsum",
         src="fn main(a, b, q, k, m, v) { (einsum(\"ij,jk->ik\", a, b), einsum(\"ij->ji\", a), einsum(\"ij->\", a), einsum(\"bqhd,bkhd->bhqk\", q, k), einsum(\"ii->\", m), einsum(\"ii->i\", m), einsum(\"i,i->\", v, v), einsum(\"i,j->ij\", v, v), einsum(\"...ij,jk->...ik\", q, m), einsum(\"ij,jk,kl->il\", a, b, m), einsum(\"bij->bj\", a[None])) }",
         args=dict(a=ein_a, b=ein_b, q=ein_q, k=ein_k, m=ein_m, v=ein_v),
         expect=[np.einsum("ij,jk->ik", ein_a, ein_b), ein_a.T, ein_a.sum(), np.einsum("bqhd,bkhd->bhqk", ein_q, ein_k), np.trace(ein_m), np.diag(ein_m),
                 ein_v @ ein_v, np.outer(ein_v, ein_v), np.einsum("...ij,jk->...ik", ein_q, ein_m), ein_a @ ein_b @ ein_m, ein_a.sum(axis=0)[None]],
         rtol=1e-5, atol=1e-5),
    dict(name="v1_einsum_broadcast_ints", src="fn main(x, y) { (einsum(\"...i,...i->...\", x, y), einsum(\"ij,ij->j\", x[0:1], y[0])) }",
         args=dict(x=ein_x, y=ein_y),
         expect=[np.einsum("...i,...i->...", ein_x, ein_y), np.einsum("ij,ij->j", ein_x[0:1], ein_y[0])]),
    dict(name="grad_v1_einsum", src="fn main(q, k, g) { grad(sum(einsum(\"bqhd,bkhd->bhqk\", q, k) * g), (q, k)) }",
         args=dict(q=ein_q, k=ein_k, g=ein_g),
         expect=[np.einsum("bhqk,bkhd->bqhd", ein_g, ein_k), np.einsum("bhqk,bqhd->bkhd", ein_g, ein_q)], rtol=1e-5, atol=1e-5),
    dict(name="err_v1_einsum_char", src="fn main(a, b) { einsum(\"ij,j#->ik\", a, b) }", args=dict(a=a45, b=b56), exit=1, error="E0317", at="1:29"),
    dict(name="err_v1_einsum_rank", src="fn main(a) { einsum(\"ijk->i\", a) }", args=dict(a=a45), exit=1, error="E0317"),
    dict(name="err_v1_string_value", src="fn main(a) { let s = \"ij\"; a }", args=dict(a=a45), exit=1, error="E0310"),
    # ------------------------------------------------------------ v1 scans
    dict(name="v1_scans",
         src="fn main(x, i, e) { (cumsum(x, 1), cumprod(x, 0), cummax(x, 1), cummin(x, 0), cumsum(i), cumprod(x), cumsum(x[:, 0:1], 1), cumsum(x[:, 0:2], 1), cumsum(x[:, 0:3], -1), cummax(i, 0), cumsum(e, 0)) }",
         args=dict(x=scan_x, i=scan_i, e=np.zeros((0, 3), f32)),
         expect=[np.cumsum(scan_x, 1), np.cumprod(scan_x, 0), np.maximum.accumulate(scan_x, 1), np.minimum.accumulate(scan_x, 0), np.cumsum(scan_i).astype(i32),
                 np.cumprod(scan_x), np.cumsum(scan_x[:, 0:1], 1), np.cumsum(scan_x[:, 0:2], 1), np.cumsum(scan_x[:, 0:3], 1), np.maximum.accumulate(scan_i),
                 np.zeros((0, 3), f32)], rtol=1e-5, atol=1e-5),
    dict(name="v1_scans_long_nan", src="fn main(x) { (cumsum(x), cummax(x), cummin(x * 0.0 + x)) }", args=dict(x=scan_long),
         expect=[np.cumsum(scan_long.astype(f64)).astype(f32), np.maximum.accumulate(scan_long),
                 np.minimum.accumulate(scan_long)], rtol=1e-4, atol=1e-3),
    dict(name="grad_v1_scans", src="fn main(z, w, x) { (grad(sum(cumprod(z) * w), z), grad(sum(cummax(z) * w), z), grad(sum(cumsum(x, 1) * x), x)) }",
         args=dict(z=scan_z, w=scan_w, x=scan_x),
         expect=[cumprod_grad(scan_z, scan_w), cummax_grad(scan_z, scan_w), cumsum_self_grad(scan_x)], rtol=1e-5, atol=1e-5),
    # ------------------------------------------------------------ v1 sorting
    dict(name="v1_sort_argsort_top_k",
         src="fn main(x, i) { (sort(x), argsort(x), sort(x, axis=0), argsort(x, descending=true), sort(i), argsort(i, 0, true), top_k(x, 2), top_k(i, 3), sort(x, descending=true)) }",
         args=dict(x=sort_x, i=sort_i),
         expect=[np.sort(sort_x), np.argsort(sort_x, kind="stable").astype(i32), np.sort(sort_x, axis=0), argsort_desc(sort_x), np.sort(sort_i), argsort_desc(sort_i),
                 np.take_along_axis(sort_x, argsort_desc(sort_x)[:, :2], 1), argsort_desc(sort_x)[:, :2], sort_i[argsort_desc(sort_i)[:3]],
                 argsort_desc(sort_i)[:3], np.take_along_axis(sort_x, argsort_desc(sort_x), 1)]),
    dict(name="v1_sort_long_rows", src="fn main(x) { (sort(x), top_k(x, 10)) }", args=dict(x=sort_long),
         expect=[np.sort(sort_long), np.take_along_axis(sort_long, argsort_desc(sort_long)[:, :10], 1), argsort_desc(sort_long)[:, :10]]),
    dict(name="grad_v1_sort_top_k", src="fn main(x, w) { (grad(sum(sort(x) * w), x), grad(sum(top_k(x, 2).0), x)) }",
         args=dict(x=sort_x, w=a([1, 2, 3, 4, 5, 6])),
         expect=[sort_grad(sort_x, a([1, 2, 3, 4, 5, 6])), top_k_grad(sort_x, 2)]),
    dict(name="err_v1_top_k_too_many", src="fn main(x) { top_k(x, 7) }", args=dict(x=sort_x), exit=1, error="E0307", at="1:23"),
    dict(name="err_v1_sort_bool", src="fn main(x) { sort(x > 0.0) }", args=dict(x=sort_x), exit=1, error="E0305"),
    # ------------------------------------------------------------ v1 gradients
    dict(name="grad_v1_elementwise",
         src="fn main(x, u, p) { (grad(sum(tan(x)), x), grad(sum(atan(x)), x), grad(sum(asin(u)), u), grad(sum(acos(u)), u), grad(sum(sinh(x)), x), grad(sum(cosh(x)), x), grad(sum(asinh(x)), x), grad(sum(acosh(p + 1.0)), p), grad(sum(atanh(u)), u), grad(sum(log1p(p)), p), grad(sum(expm1(x)), x), grad(sum(log2(p)), p), grad(sum(exp2(x)), x), grad(sum(square(x)), x), grad(sum(reciprocal(p)), p)) }",
         args=dict(x=v1_x, u=v1_u, p=v1_p),
         expect=[1 / np.cos(v1_x) ** 2, 1 / (1 + v1_x ** 2), 1 / np.sqrt(1 - v1_u ** 2), -1 / np.sqrt(1 - v1_u ** 2), np.cosh(v1_x), np.sinh(v1_x),
                 1 / np.sqrt(v1_x ** 2 + 1), 1 / np.sqrt((v1_p + 1) ** 2 - 1), 1 / (1 - v1_u ** 2), 1 / (1 + v1_p), np.exp(v1_x),
                 1 / (v1_p * np.log(f32(2))), np.exp2(v1_x) * np.log(f32(2)), 2 * v1_x, -1 / v1_p ** 2], rtol=1e-4, atol=1e-5),
    dict(name="grad_v1_atan2_clip",
         src="fn main(y, x, c) { (grad(sum(atan2(y, x)), (y, x)), grad(sum(clip(c, -1.0, 1.0)), c)) }",
         args=dict(y=v1_ay2, x=v1_ax2, c=a([-2, -1, -0.5, 0, 0.5, 1, 2])),
         expect=[v1_ax2 / (v1_ax2 ** 2 + v1_ay2 ** 2), -v1_ay2 / (v1_ax2 ** 2 + v1_ay2 ** 2), a([0, 0.5, 1, 1, 1, 0.5, 0])]),
    dict(name="grad_v1_reductions",
         src="fn main(x) { (grad(var(x), x), grad(sum(std(x, axis=1)), x), grad(logsumexp(x), x), grad(sum(logsumexp(x, axis=0)), x)) }",
         args=dict(x=m67),
         expect=[2 * (m67 - m67.mean()) / m67.size, (m67 - m67.mean(axis=1, keepdims=True)) / (7 * m67.std(axis=1, keepdims=True)),
                 np.exp(m67 - logsumexp_oracle(m67)), softmax(m67, axis=0)], rtol=1e-4, atol=1e-5),
    dict(name="grad_v1_shape_gathers",
         src="fn main(x, i, g) { (grad(sum(flip(roll(tile(x, (1, 2)), 3, 1), 0) * g), x), grad(sum(take_along_axis(x, i, 1)), x), grad(sum(index_add(x, [0, 0], x[1:3, :] * 2.0)), x), grad(sum(tril(x) * triu(x)), x)) }",
         args=dict(x=m67, i=v1_idx, g=v1_g),
         expect=[v1_shape_grad(v1_g), take_along_grad(v1_idx), index_add_grad(), 2 * np.eye(6, 7, dtype=f32) * m67]),
    # Values JAX 0.10.2 gives for the same gradients at ties and kinks (jax.grad of
    # lax.cummax/cummin, jnp.clip, jnp.arccosh/arcsin/arccos at the domain's edge,
    # jnp.cumprod through zeros).
    dict(name="grad_v1_jax_conventions",
         src="fn main(z, w, m, c, o, u, p) { (grad(sum(cummax(z) * w), z), grad(sum(cummin(m) * w), m), grad(sum(clip(c, -1.0, 1.0)), c), grad(sum(acosh(o)), o), grad(sum(asin(u)), u), grad(sum(acos(u)), u), grad(sum(cumprod(p) * w), p)) }",
         args=dict(z=a([1, 3, 3, 2, 3, 5]), w=a([1, 2, 3, 4, 5, 6]), m=a([3, 1, 1, 2, 1, 0.5]), c=a([-2, -1, -0.5, 0, 0.5, 1, 2]),
                   o=a([1.0, 2.0]), u=a([1.0, -1.0, 0.5]), p=a([2.0, 0.5, 0.0, 3.0, 0.0, 1.5])),
         expect=[a([1, 6.75, 4.75, 0, 2.5, 6]), a([1, 6.75, 4.75, 0, 2.5, 6]), a([0, 0.5, 1, 1, 1, 0.5, 0]), a([np.inf, 1 / np.sqrt(3)]),
                 a([np.inf, np.inf, 1 / np.sqrt(0.75)]), a([-np.inf, -np.inf, -1 / np.sqrt(0.75)]), a([2, 4, 15, 0, 0, 0])]),
    # ------------------------------------------------------------ v1 errors
    dict(name="err_v1_any_of_floats", src="fn main(x) { any(x) }", args=dict(x=x4), exit=1, error="E0305", at="1:18"),
    dict(name="err_v1_tril_vector", src="fn main(x) { tril(x) }", args=dict(x=x4), exit=1, error="E0306"),
    dict(name="err_v1_take_along_rank", src="fn main(x, i) { take_along_axis(x, i, 1) }", args=dict(x=m67, i=a([1, 2], i32)),
         exit=1, error="E0306"),
    dict(name="err_v1_moveaxis_range", src="fn main(x) { moveaxis(x, 0, 3) }", args=dict(x=m67), exit=1, error="E0306"),
    dict(name="err_v1_atan2_ints", src="fn main(i) { atan2(i, i) }", args=dict(i=a([1, 2], i32)), exit=1, error="E0305"),
    # ------------------------------------------------------------ compile errors (exit 1)
    dict(name="err_broadcast", src="fn main(x: f32[2, 3], b: f32[4]) {\n    x + b\n}",
         args=dict(x=x23, b=x4), exit=1, error="E0301", at="2:5"),
    dict(name="err_parse", src="fn main(x) { x + }", args=dict(x=x4), exit=1, error="E0001", at="1:"),
    dict(name="err_unknown_name", src="fn main(x) {\n  x + y\n}", args=dict(x=x4), exit=1, error="E0201", at="2:7"),
    dict(name="err_mixed_dtypes", src="fn main(x, i) {\n    x * i\n}", args=dict(x=x4, i=a([1, 2, 3, 4], i32)),
         exit=1, error="E0302", at="2:5"),
    dict(name="err_matmul_dims", src="fn main(a, b) { a @ b }", args=dict(a=a45, b=a45), exit=1, error="E0308", at="1:17"),
    dict(name="err_no_entry", src="fn main(x) { x }", entry="missing", args=dict(x=x4), exit=1, error="E0102"),
    dict(name="err_axis_out_of_range", src="fn main(x) { sum(x, axis=2) }", args=dict(x=x23), exit=1, error="E0306"),
    dict(name="err_grad_of_non_scalar", src="fn main(x) { grad(x * x, x) }", args=dict(x=x4), exit=1, error="E0"),
    dict(name="err_mean_of_ints", src="fn main(i) { mean(i) }", args=dict(i=a([1, 2], i32)), exit=1, error="E0305"),
    # ------------------------------------------------------------ usage and runtime errors
    dict(name="usage_missing_argument", src="fn main(x, y) { x + y }", args=dict(x=x4), exit=2, stderr_has="y"),
    dict(name="usage_unknown_argument", src="fn main(x) { x }", args=dict(x=x4, zz=x4), exit=2, stderr_has="zz"),
    dict(name="bad_input_shape", src="fn main(x: f32[2, 3]) { x }", args=dict(x=x4), exit=3, stderr_has="x"),
    dict(name="bad_input_dtype", src="fn main(x: f32[4]) { x }", args=dict(x=x4.astype(f64)), exit=3, stderr_has="x"),
    dict(name="bad_input_file", src="fn main(x) { x }", args=dict(x=b"\x93NUMPY garbage"), exit=3, stderr_has="x"),
]

