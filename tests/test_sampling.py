"""Named streams (block-seeded for estimate, counter-based for simulate): the same draws whatever
the chunking; distributions honour their knobs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from analysis.inputs.specs import Dist, LogNormal, LogUniform, Triangular, Uniform
from analysis.model.sampling import BLOCK, draw, uniforms


@given(split=st.integers(min_value=1, max_value=3 * BLOCK - 1))
def test_uniforms_do_not_depend_on_chunking(split):
    whole = uniforms(7, "q", 0, 3 * BLOCK)
    parts = np.concatenate([uniforms(7, "q", 0, split), uniforms(7, "q", split, 3 * BLOCK)])
    np.testing.assert_array_equal(whole, parts)


def test_streams_are_independent_and_seeded():
    a = uniforms(1, "alpha", 0, 1000)
    assert not np.array_equal(a, uniforms(1, "beta", 0, 1000))
    assert not np.array_equal(a, uniforms(2, "alpha", 0, 1000))
    np.testing.assert_array_equal(a, uniforms(1, "alpha", 0, 1000))
    assert 0 < a.min() and a.max() < 1


def test_lognormal_hits_its_p10_and_p90():
    d = LogNormal(p10=2.0, p90=8.0)
    x = draw(d, 0, "ln", 0, 400_000)
    p10, p50, p90 = np.quantile(x, [0.1, 0.5, 0.9])
    assert p10 == pytest.approx(2.0, rel=0.01)
    assert p90 == pytest.approx(8.0, rel=0.01)
    assert p50 == pytest.approx(4.0, rel=0.01)


@pytest.mark.parametrize(
    "dist", [Uniform(low=1, high=3), Triangular(low=0, mode=1, high=5), LogUniform(low=1, high=100)]
)
def test_bounded_distributions_stay_in_support(dist):
    x = draw(dist, 3, "b", 0, 100_000)
    lo, hi = dist.support()
    assert x.min() >= lo and x.max() <= hi
    assert np.median(x) == pytest.approx(dist.median(), rel=0.02)


def test_triangular_mode_is_the_most_likely_bin():
    x = draw(Triangular(low=0, mode=2, high=10), 0, "t", 0, 200_000)
    counts, edges = np.histogram(x, bins=10, range=(0, 10))
    assert (
        edges[np.argmax(counts)] == 2.0
    )  # density peaks at the mode and falls slower to the right


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"dist": "gamma", "k": 2}, "unknown distribution 'gamma'"),
        ({"low": 1, "high": 2}, "needs a 'dist' key"),
        ({"dist": "lognormal", "p10": 9, "p90": 3}, "p10 9.0 is above p90 3.0"),
        ({"dist": "uniform", "low": 5, "high": 1}, "low 5.0 is above high 1.0"),
        ({"dist": "triangular", "low": 0, "mode": 9, "high": 5}, "need low <= mode <= high"),
        ({"dist": "lognormal", "p10": -1, "p90": 3}, "greater than 0"),
    ],
)
def test_bad_distributions_say_what_is_wrong(raw, message):
    with pytest.raises(ValidationError, match=message):
        TypeAdapter(Dist).validate_python(raw)


def test_a_bare_number_is_a_fixed_value():
    d = TypeAdapter(Dist).validate_python(0.4)
    np.testing.assert_array_equal(d.ppf(np.array([0.1, 0.9])), [0.4, 0.4])


@pytest.mark.parametrize(
    "dist",
    [
        Uniform(low=1, high=3),
        Triangular(low=0, mode=1, high=5),
        Triangular(low=2, mode=2, high=4),
        Triangular(low=1, mode=3, high=3),
    ],
)
def test_fast_draws_are_the_inverse_cdf_at_the_streams_uniforms(dist):
    """`draw`'s vectorized forms compute the distribution's own ppf at the same uniforms."""
    u = uniforms(5, "same", 0, 50_000)
    np.testing.assert_allclose(
        draw(dist, 5, "same", 0, 50_000), dist.ppf(u), rtol=1e-12, atol=1e-12
    )


def test_lognormal_draws_do_not_depend_on_chunking():
    d = LogNormal(p10=1.0, p90=30.0)
    whole = draw(d, 9, "ln", 0, BLOCK + 77)
    parts = np.concatenate([draw(d, 9, "ln", 0, 1234), draw(d, 9, "ln", 1234, BLOCK + 77)])
    np.testing.assert_array_equal(whole, parts)
    assert np.all(whole > 0)


@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False), min_size=1, max_size=300))
def test_quantiles_by_selection_are_numpys_linear_quantiles(values):
    """results.select_quantiles (one partition, no np.quantile overhead) gives np.quantile's
    numbers."""
    from analysis.model.summary import quantiles, select_quantiles

    x = np.asarray(values, dtype=np.float64)
    levels = np.array([0.1, 0.5, 0.9])
    expected = np.quantile(x, levels)
    np.testing.assert_array_equal(select_quantiles(x, levels), expected)
    scratch = x.copy()
    np.testing.assert_array_equal(select_quantiles(scratch, levels, overwrite=True), expected)
    q = quantiles(x)
    assert (q["p10"], q["p50"], q["p90"]) == tuple(expected) and q["mean"] == pytest.approx(
        x.mean()
    )


_SPECIAL = st.sampled_from([np.inf, -np.inf, np.nan, -0.0, 0.0, 1e-45, -3.4e38])


@given(
    st.lists(
        st.one_of(st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False), _SPECIAL),
        min_size=1,
        max_size=300,
    ),
    st.sampled_from([np.float32, np.float64]),
)
def test_radix_selection_is_numpys_linear_quantile(values, dtype):
    """race_select (the compiled radix selection) gives np.quantile's numbers over the finite
    values, or over every value but NaN, with ties, infinities, signed zeros and subnormals; a NaN
    in the second mode hands the array back to the partition (None). The order statistics are the
    array's own values; the interpolation is in float64 (as select_quantiles'), so float32 input is
    compared with np.quantile of its float64 copy."""
    _lib()
    from analysis.model.summary import radix_quantiles

    x = np.asarray(values, dtype=dtype)
    levels = np.array([0.1, 0.5, 0.9])
    finite = x[np.isfinite(x)]
    got = radix_quantiles(x, levels, finite_only=True, min_size=1)
    assert got[1] == finite.size
    if finite.size:
        np.testing.assert_array_equal(got[0], np.quantile(finite.astype(np.float64), levels))
        assert got[2] == pytest.approx(float(finite.sum(dtype=np.float64)), rel=1e-12, abs=1e-300)
    with_inf = radix_quantiles(x, levels, finite_only=False, min_size=1)
    if np.isnan(x).any():
        assert with_inf is None
    else:
        with np.errstate(invalid="ignore"):
            np.testing.assert_array_equal(with_inf[0], np.quantile(x.astype(np.float64), levels))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantiles_of_a_large_array_come_from_the_radix_selection(dtype):
    """From RADIX_MIN values on, quantiles() takes the compiled path (nothing copied or reordered)
    and still gives np.quantile's numbers, here with heavy ties and a third of the values NaN."""
    _lib()
    from analysis.model.summary import RADIX_MIN, quantiles, radix_quantiles

    rng = np.random.default_rng(5)
    x = np.round(rng.lognormal(3.0, 1.0, 2 * RADIX_MIN + 3)).astype(dtype)
    x[::3] = np.nan
    before = x.copy()
    levels = np.array([0.1, 0.5, 0.9])
    assert radix_quantiles(x, levels, finite_only=True) is not None
    q = quantiles(x)
    finite = before[np.isfinite(before)].astype(np.float64)
    assert [q["p10"], q["p50"], q["p90"]] == np.quantile(finite, levels).tolist()
    assert q["mean"] == pytest.approx(finite.mean(dtype=np.float64), rel=1e-12)
    np.testing.assert_array_equal(x, before)


# ---------------------------------------------------------------------------------------------
# Counter-based streams (simulate's draws): sampling.sample_streams, compiled and NumPy forms
# ---------------------------------------------------------------------------------------------

from analysis.model.sampling import counter_uniforms, sample_streams  # noqa: E402

STREAMS = [
    ("raw", None),
    ("uni", Uniform(low=1, high=3)),
    ("tri", Triangular(low=0, mode=1, high=5)),
    ("tri-edge", Triangular(low=2, mode=2, high=4)),
    ("logn", LogNormal(p10=2.0, p90=8.0)),
    ("fixed", TypeAdapter(Dist).validate_python(0.4)),
    ("logu", LogUniform(low=1, high=100)),
]


def _lib():
    from analysis.model.kernels import native as race_cpu

    lib = race_cpu.library()
    assert lib is not None, f"the compiled extension is not in use: {race_cpu.status()}"
    return lib, race_cpu.ffi()


def test_counter_uniforms_are_numpys_philox_stream():
    """Draw i of a stream is output i of np.random.Philox keyed (seed, crc32(name)) as random()
    reads it."""
    import zlib

    gen = np.random.Generator(
        np.random.Philox(key=np.array([11, zlib.crc32(b"q")], dtype=np.uint64))
    )
    np.testing.assert_array_equal(
        counter_uniforms(11, "q", 0, 5000), np.clip(gen.random(5000), 1e-12, 1 - 1e-12)
    )


@given(start=st.integers(0, 1100), split=st.integers(0, 1300), length=st.integers(0, 1300))
def test_stream_ranges_do_not_depend_on_how_they_are_cut(start, split, length):
    """Cuts anywhere, race_sample's 512-draw pieces and Philox's 4-word blocks included."""
    stop = start + length
    split = min(start + split, stop)
    for compiled in (True, False):
        whole = sample_streams(3, STREAMS, start, stop, compiled=compiled)
        head = sample_streams(3, STREAMS, start, split, compiled=compiled)
        tail = sample_streams(3, STREAMS, split, stop, compiled=compiled)
        for name, _ in STREAMS:
            np.testing.assert_array_equal(
                whole[name], np.concatenate([head[name], tail[name]]), err_msg=name
            )


@pytest.mark.parametrize("start, stop", [(0, 20_000), (7, 9), (4093, 4099), (509, 1541)])
def test_compiled_and_numpy_streams_agree(start, stop):
    """Same 64-bit words, same operations (NumPy's exp for both): equal bits, but for the
    lognormal's ndtri."""
    _lib()
    got = sample_streams(9, STREAMS, start, stop, compiled=True)
    ref = sample_streams(9, STREAMS, start, stop, compiled=False)
    for name, _ in STREAMS:
        if name == "logn":
            np.testing.assert_allclose(got[name], ref[name], rtol=1e-14, atol=0)
        else:
            np.testing.assert_array_equal(got[name], ref[name], err_msg=name)


def test_compiled_inverse_normal_matches_scipy_in_the_centre_and_the_tails():
    from scipy.special import ndtri

    lib, ffi = _lib()
    u = np.concatenate(
        [
            np.linspace(1e-12, 1 - 1e-12, 100_001),
            np.geomspace(1e-12, 0.1, 2000),
            1 - np.geomspace(1e-12, 0.1, 2000),
            [0.075, 0.925, 0.5 - 0.425, 0.5 + 0.425],
        ]
    )
    out = np.empty_like(u)
    lib.race_ndtri(
        u.shape[0],
        ffi.cast("double *", ffi.from_buffer(u)),
        ffi.cast("double *", ffi.from_buffer(out)),
    )
    np.testing.assert_allclose(out, ndtri(u), rtol=1e-14, atol=1e-15)


def test_streams_have_their_distributions_and_are_independent():
    x = sample_streams(
        1, [("a", LogNormal(p10=2.0, p90=8.0)), ("b", None), ("c", None)], 0, 400_000
    )
    p10, p50, p90 = np.quantile(x["a"], [0.1, 0.5, 0.9])
    assert (p10, p50, p90) == (
        pytest.approx(2.0, rel=0.01),
        pytest.approx(4.0, rel=0.01),
        pytest.approx(8.0, rel=0.01),
    )
    assert abs(np.corrcoef(x["b"], x["c"])[0, 1]) < 0.01
    assert abs(x["b"].mean() - 0.5) < 0.002
    assert not np.array_equal(sample_streams(2, [("b", None)], 0, 100)["b"], x["b"][:100])


def test_compiled_sampler_refuses_to_run_without_the_extension(monkeypatch):
    from analysis.model.kernels import native as race_cpu

    monkeypatch.setattr(race_cpu, "library", lambda: None)
    with pytest.raises(RuntimeError, match="compiled sampler"):
        sample_streams(1, STREAMS, 0, 10, compiled=True)
    ref = sample_streams(1, STREAMS, 0, 10, compiled=False)
    auto = sample_streams(1, STREAMS, 0, 10)  # falls back to the NumPy form
    for name, _ in STREAMS:
        np.testing.assert_array_equal(auto[name], ref[name])
