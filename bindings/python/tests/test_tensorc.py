"""The tensorc Python package: compiling, calling with arrays, scalars and tuples, arrays
read in place, errors, threads, and a training loop written in Python around a `.tc`
`step`."""

import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import tensorc

MODEL = pathlib.Path(__file__).parent / "model.tc"
ADAM_MODEL = pathlib.Path(__file__).resolve().parents[3] / "examples" / "fashion_mlp.tc"


def test_functions_are_attributes_and_results_are_arrays():
    m = tensorc.compile("fn add_one(x) { x + 1.0 }\nfn pair(x, y) { (x * 2.0, (y, x + y)) }")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = m.add_one(x)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float32 and out.shape == (2, 3)
    np.testing.assert_array_equal(out, x + 1)
    assert m.call("add_one", x=x).tolist() == (x + 1).tolist()
    a, (b, c) = m.pair(np.ones(2, np.float32), np.full(2, 3, np.float32))
    assert a.tolist() == [2, 2] and b.tolist() == [3, 3] and c.tolist() == [4, 4]
    assert m.functions() == ["add_one", "pair"]
    with pytest.raises(AttributeError):
        m.missing


def test_every_numpy_dtype_round_trips():
    m = tensorc.compile("fn id(x) { x }")
    for dtype in [np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8, np.bool_]:
        x = np.array([[0, 1, 1], [1, 0, 1]], dtype=dtype)
        y = m.id(x)
        assert y.dtype == x.dtype and y.shape == x.shape, dtype
        np.testing.assert_array_equal(y, x)
    with pytest.raises(tensorc.Error, match="not a tensorc dtype"):
        m.id(np.zeros(3, dtype=np.int16))


def test_other_layouts_are_converted():
    m = tensorc.compile("fn double(x) { x * 2.0 }")
    base = np.arange(12, dtype=np.float32).reshape(3, 4)
    for view in [base.T, base[:, ::2], np.asfortranarray(base)]:
        np.testing.assert_array_equal(m.double(view), view * 2)
    # Lists go through numpy.asarray.
    np.testing.assert_array_equal(m.double([1.5]), [3.0])


def test_python_scalars_are_weak():
    m = tensorc.compile("fn scale(x, s) { x * s }\nfn typed(x, s: f64) { x + (s as f32) }")
    x = np.ones(3, np.float64)
    # A float scalar takes the dtype of the array it meets: f64 here, not f32.
    y = m.scale(x, 0.5)
    assert y.dtype == np.float64 and y.tolist() == [0.5, 0.5, 0.5]
    assert m.scale(np.ones(2, np.float16), 2).dtype == np.float16
    assert m.scale(np.int32(3), 2).item() == 6
    # A scalar annotation gives the number its dtype.
    assert m.typed(np.zeros(2, np.float32), 1.25).tolist() == [1.25, 1.25]


def test_tuples_for_tuple_parameters_and_results():
    m = tensorc.compile_file(MODEL)
    p = m.init(0)
    assert isinstance(p, tuple) and [t.shape for t in p] == [(8, 16), (16,), (16, 3), (3,)]
    x = np.random.default_rng(0).normal(size=(5, 8)).astype(np.float32)
    logits = m.predict(p, x)
    w1, b1, w2, b2 = p
    expected = np.maximum(x @ w1 + b1, 0) @ w2 + b2
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(m.call("predict", p=p, x=x), logits)


def test_compile_errors_carry_diagnostics_and_codes():
    with pytest.raises(tensorc.CompileError) as info:
        tensorc.compile("fn f(x) {\n    x + undefined_name\n}\n", name="broken.tc")
    error = info.value
    assert isinstance(error, tensorc.Error)
    assert "undefined_name" in error.diagnostics and "broken.tc:2:" in error.diagnostics
    assert error.codes and all(c.startswith("E") for c in error.codes)
    assert error.codes[0] in str(error)


def test_other_failures_are_tensorc_errors():
    with pytest.raises(tensorc.Error, match="unknown backend"):
        tensorc.compile("fn f(x) { x }", backend="tpu")
    with pytest.raises(tensorc.Error):
        tensorc.compile_file("/nonexistent/model.tc")
    m = tensorc.compile("fn f(x: f32[N]) -> f32[N] { x }")
    with pytest.raises(tensorc.Error, match="no parameter `y`"):
        m.f(y=np.zeros(2, np.float32))
    with pytest.raises(tensorc.Error, match="takes 1 arguments"):
        m.f(np.zeros(2, np.float32), np.zeros(2, np.float32))
    with pytest.raises(tensorc.Error, match="missing argument"):
        m.f()
    # A wrong dtype for an annotated parameter.
    with pytest.raises(tensorc.Error, match="f32"):
        m.f(np.zeros(2, np.int32))


def test_interp_backend_agrees():
    x = np.linspace(-1, 1, 7, dtype=np.float32)
    source = "fn f(x) { exp(x) * 2.0 - x }"
    cpu = tensorc.compile(source, backend="cpu").f(x)
    interp = tensorc.compile(source, backend="interp").f(x)
    np.testing.assert_allclose(cpu, interp, rtol=1e-6)


def test_calls_from_several_threads():
    m = tensorc.compile("fn f(x) { x * x + 1.0 }")
    errors = []

    def work(k):
        try:
            for i in range(20):
                x = np.full((k % 3 + 1, 4), k + i, np.float32)
                np.testing.assert_array_equal(m.f(x), x * x + 1)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    # One specialisation per input shape, whichever thread came first.
    assert m.compile_count() == 3


def test_a_training_loop_in_python_lowers_the_loss():
    m = tensorc.compile_file(MODEL)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(256, 8)).astype(np.float32)
    y = np.argmax(x[:, :3], axis=1).astype(np.int32)
    p = m.init(7)
    losses = []
    for epoch in range(30):
        for batch in range(0, 256, 64):
            p, loss = m.step(p, x[batch:batch + 64], y[batch:batch + 64], 0.2)
        losses.append(float(loss))
    assert losses[-1] < 0.5 * losses[0], losses
    accuracy = np.mean(np.argmax(m.predict(p, x), axis=1) == y)
    assert accuracy > 0.9, accuracy
    # Same types every step: compiled once for step, once each for init and predict.
    assert m.compile_count() == 3


def flatten(tree):
    return [leaf for item in tree for leaf in (flatten(item) if isinstance(item, tuple) else [item])]


def test_a_donating_step_writes_its_results_into_the_donated_arrays():
    # The Fashion-MNIST MLP's Adam step: weights, both moments and the step count.
    m = tensorc.compile_file(ADAM_MODEL)
    rng = np.random.default_rng(2)
    x = rng.random((64, 784), dtype=np.float32)
    y = rng.integers(0, 10, 64, dtype=np.int32)
    step = m.step.donating("p")
    assert "donating p" in repr(step)
    p = m.init(3)
    x_before = x.copy()
    for _ in range(3):
        expected, expected_loss = m.step(p, x, y, 0.01)
        given = flatten(p)
        addresses = [a.ctypes.data for a in given]
        new, loss = step(p, x, y, 0.01)
        # Each new parameter is the very array given for it, now holding the result.
        assert all(a is b for a, b in zip(flatten(new), given))
        assert [a.ctypes.data for a in flatten(new)] == addresses
        for a, b in zip(flatten(new), flatten(expected)):
            np.testing.assert_array_equal(a, b)
        assert float(loss) == float(expected_loss)
        p = new
    # Arguments that are not donated are only read.
    np.testing.assert_array_equal(x, x_before)
    with pytest.raises(tensorc.Error, match="no parameter `q`"):
        m.step.donating("q")


def test_donated_arrays_that_cannot_be_written_are_only_read():
    m = tensorc.compile("fn step(p, g) { let (a, b) = p; ((a - g, b - g), sum(g)) }")
    g = np.full(4, 0.5, np.float32)
    step = m.step.donating("p")
    a, b = np.ones(4, np.float32), np.full(4, 2.0, np.float32)
    (na, nb), s = step((a, b), g)
    assert na is a and nb is b and a.tolist() == [0.5] * 4 and b.tolist() == [1.5] * 4 and float(s) == 2.0
    # Read-only, passed twice, overlapping another argument, or converted from another
    # layout: each such array is left alone and its result is a new array.
    readonly = np.ones(4, np.float32)
    readonly.flags.writeable = False
    other = np.ones(4, np.float32)
    (na, nb), _ = step((readonly, other), g)
    assert na is not readonly and readonly.tolist() == [1.0] * 4 and na.tolist() == [0.5] * 4
    assert nb is other and other.tolist() == [0.5] * 4
    twice = np.ones(4, np.float32)
    (na, nb), s = step((twice, twice), g)
    assert twice.tolist() == [1.0] * 4 and na.tolist() == nb.tolist() == [0.5] * 4
    shared = np.arange(6, dtype=np.float32)
    (na, _), _ = step((shared[:4], np.ones(4, np.float32)), shared[2:])
    assert shared.tolist() == [0, 1, 2, 3, 4, 5] and na.tolist() == [-2.0] * 4
    strided = np.arange(8, dtype=np.float32)[::2]
    (na, _), _ = step((strided, np.ones(4, np.float32)), g)
    assert strided.tolist() == [0, 2, 4, 6] and na.tolist() == [-0.5, 1.5, 3.5, 5.5]
    # Donation on a backend that cannot write host memory in place gives new arrays.
    interp = tensorc.compile("fn step(p, g) { (p - g, 1.0) }", backend="interp").step.donating("p")
    a = np.ones(4, np.float32)
    na, _ = interp(a, g)
    assert na.tolist() == [0.5] * 4 and a.tolist() == [1.0] * 4


# Run in a fresh interpreter, so that its peak resident size starts with this test: a
# call on a C-contiguous array must not raise it by anything like the array's size (no
# copy), while a transposed view, which has to be gathered, raises it by the whole array
# (showing that the measure sees a copy).
ZERO_COPY = r"""
import resource, numpy as np, tensorc
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
m = tensorc.compile("fn total(x) { sum(x) }")
size = 64 << 20
x = np.ones((size // 4 // 1024, 1024), np.float32)
before = peak(); in_place = m.total(x); contiguous = peak() - before
before = peak(); gathered = m.total(x.T); transposed = peak() - before
print(contiguous / size, transposed / size, float(in_place), float(gathered))
"""


def test_contiguous_arrays_are_read_without_a_copy():
    out = subprocess.run([sys.executable, "-c", ZERO_COPY], check=True, capture_output=True, text=True).stdout
    contiguous, transposed, in_place, gathered = map(float, out.split())
    assert in_place == gathered == (64 << 20) // 4
    assert contiguous < 0.25, f"a C-contiguous argument raised the peak by {contiguous:.2f}x its size"
    assert transposed > 0.9, f"the copy of a transposed argument went unseen ({transposed:.2f}x)"


def test_layouts_that_cannot_be_read_in_place_are_converted():
    m = tensorc.compile("fn twice(x) { x * 2 }")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    # Big-endian, unaligned (a float32 view one byte into a buffer), empty, read-only.
    big = x.astype(">f4")
    raw = np.zeros(x.nbytes + 1, np.uint8)
    unaligned = raw[1:].view(np.float32).reshape(2, 3)
    unaligned[...] = x
    assert not unaligned.flags.aligned
    readonly = x.copy()
    readonly.flags.writeable = False
    for arg in [big, unaligned, readonly]:
        out = m.twice(arg)
        assert out.dtype == np.float32 and out.tolist() == (x * 2).tolist()
    assert m.twice(np.zeros((0, 3), np.float32)).shape == (0, 3)
    # The argument is only read.
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]]
    bad = np.array([0, 1, 2], np.uint8).view(np.bool_)
    with pytest.raises(tensorc.Error, match="other than 0 or 1"):
        m.call("twice", bad)


def test_bf16_arrays_through_ml_dtypes():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    m = tensorc.compile("fn twice(x) { x * 2.0 }\nfn narrow(x) { x as bf16 }")
    x = np.array([[1.5, -2.0], [0.25, 3.0]], dtype=ml_dtypes.bfloat16)
    y = m.twice(x)
    assert y.dtype == ml_dtypes.bfloat16 and y.shape == (2, 2)
    assert y.astype(np.float32).tolist() == [[3.0, -4.0], [0.5, 6.0]]
    # Rounded to nearest even, as ml_dtypes rounds.
    f = np.array([1.0, 1.00390625, 1.01171875, 3.14159], np.float32)
    np.testing.assert_array_equal(m.narrow(f), f.astype(ml_dtypes.bfloat16))
    # A transposed bf16 view is converted like any other layout.
    assert m.twice(x.T).astype(np.float32).tolist() == [[3.0, 0.5], [-4.0, 6.0]]


def test_a_bf16_result_without_ml_dtypes_is_a_clear_error(monkeypatch):
    m = tensorc.compile("fn narrow(x) { x as bf16 }")
    # As if ml_dtypes were not installed: importing it fails.
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)
    with pytest.raises(tensorc.Error, match=r"needs the package ml_dtypes \(pip install ml_dtypes\)"):
        m.narrow(np.ones(2, np.float32))
