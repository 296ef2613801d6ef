"""Tests of rfn.metrics against independent references.

PSNR/SSIM against scikit-image, LPIPS and I3D against the reference outputs committed in
``tests/fixtures/lpips`` and ``tests/fixtures/i3d`` (their README names the source), the Fréchet
distance against closed forms, FVD sanity on real and noise videos, best-of-N
on crafted samples, the protocol registry, and the errors for bad inputs and
bad weight files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from rfn import assets
from rfn.metrics import bestofn, fvd, i3d, image, lpips, protocol
from rfn.metrics.frames import check_frames

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _fixture(*parts: str) -> Path:
    path = FIXTURES.joinpath(*parts)
    assert path.exists(), f"reference fixture {path} is missing from the checkout (see tests/fixtures/*/README.md)"
    return path


def _asset(name: str) -> Path:
    try:
        return assets.path(name)
    except assets.AssetError as e:
        pytest.skip(f"offline asset {name!r} unavailable: {e}")


def _random_pair(shape, seed=0, spread=40):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)
    noise = torch.randint(-spread, spread + 1, shape, generator=g)
    return x, (x.int() + noise).clamp(0, 255).to(torch.uint8)


# ----------------------------------------------------------------------------- input checks


def test_bad_inputs_raise_clear_errors():
    x = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(TypeError, match="uint8"):
        image.psnr(x.int(), x.int())
    with pytest.raises(TypeError, match="torch.Tensor"):
        image.ssim(x.numpy(), x.numpy())
    with pytest.raises(ValueError, match=r"outside value_range \[-1, 1\]"):
        image.psnr(x.float() + 2, x.float(), value_range=(-1, 1))
    # floats in [0, 1] read as [-1, 1] gave +6 dB and an SSIM of 0.72 for identical frames: a scale is required
    with pytest.raises(ValueError, match=r"value_range=\(-1, 1\), \(0, 1\)"):
        image.psnr(x.float() / 255, x.float() / 255)
    with pytest.raises(ValueError, match="value_range"):
        image.ssim(x.float() / 255, x.float() / 255)
    with pytest.raises(ValueError, match="outside value_range"):
        image.ssim(torch.full((1, 1, 8, 8), float("nan")), torch.zeros(1, 1, 8, 8), value_range=(0, 1))
    with pytest.raises(ValueError, match="contradicts"):
        image.mse(x, x, value_range=(0, 1))
    with pytest.raises(ValueError, match="empty"):
        image.psnr(x[:0], x[:0])
    with pytest.raises(ValueError, match="same shape"):
        image.ssim(x, x[:1])
    with pytest.raises(ValueError, match="at least 7x7"):
        image.ssim(x[..., :6, :6], x[..., :6, :6])
    with pytest.raises(ValueError, match="dimensions"):
        image.psnr(x[0, 0], x[0, 0])
    with pytest.raises(ValueError, match="channels"):  # channels-last frames
        check_frames(torch.zeros(2, 8, 8, 3, dtype=torch.uint8), channels=(1, 3))
    with pytest.raises(ValueError, match=r"\[B, T, C, H, W\]"):
        fvd.fvd_features(x)
    with pytest.raises(ValueError, match="empty batch"):
        fvd.fvd_features(torch.zeros(0, 10, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="real_videos holds 1 videos"):
        fvd.fvd(torch.zeros(1, 10, 1, 8, 8, dtype=torch.uint8), torch.zeros(3, 10, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):  # NaN frames are refused, not averaged into a number
        fvd.fvd_features(torch.full((2, 10, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="fake features hold NaN"):
        fvd.fvd_from_features(np.zeros((4, 3)), np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="at least 9 frames"):
        fvd.fvd_features(torch.zeros(1, 8, 3, 8, 8, dtype=torch.uint8))


# ----------------------------------------------------------------------------- PSNR / SSIM


@pytest.mark.parametrize("channels", [1, 3])
def test_psnr_ssim_equal_scikit_image(channels):
    x, y = _random_pair((2, 3, channels, 20, 17), seed=channels)
    got_psnr, got_ssim = image.psnr(x, y), image.ssim(x, y)
    assert got_psnr.shape == got_ssim.shape == (2, 3)
    for i in range(2):
        for t in range(3):
            a, b = x[i, t].permute(1, 2, 0).numpy(), y[i, t].permute(1, 2, 0).numpy()
            ref_ssim = structural_similarity(a, b, channel_axis=-1, data_range=255)
            ref_psnr = peak_signal_noise_ratio(a, b, data_range=255)
            assert got_ssim[i, t].item() == pytest.approx(ref_ssim, abs=1e-6)
            assert got_psnr[i, t].item() == pytest.approx(ref_psnr, abs=1e-6)
            # The thesis code: scikit-image per channel, then the mean over channels.
            per_channel = np.mean(
                [peak_signal_noise_ratio(a[..., c], b[..., c], data_range=255) for c in range(channels)]
            )
            assert image.psnr(x[i, t], y[i, t], per_channel=True).item() == pytest.approx(per_channel, abs=1e-6)


def test_psnr_ssim_identical_frames_and_float_inputs():
    x, y = _random_pair((4, 3, 16, 16), seed=5)
    assert torch.isinf(image.psnr(x, x)).all() and (image.psnr(x, x) > 0).all()
    assert torch.allclose(image.ssim(x, x), torch.ones(4, dtype=torch.float64))
    assert torch.equal(image.mse(x, x), torch.zeros(4, dtype=torch.float64))
    # Floats are the same frames on another scale, once the scale is stated.
    xf, yf = x.double() / 127.5 - 1, y.double() / 127.5 - 1
    assert torch.allclose(image.psnr(xf, yf, value_range=(-1, 1)), image.psnr(x, y), atol=1e-9)
    assert torch.allclose(image.ssim(xf, yf, value_range=(-1, 1)), image.ssim(x, y), atol=1e-9)
    xu, yu = x.double() / 255, y.double() / 255
    assert torch.allclose(image.psnr(xu, yu, value_range=(0, 1)), image.psnr(x, y), atol=1e-9)
    assert torch.allclose(image.ssim(xu, xu, value_range=(0, 1)), torch.ones(4, dtype=torch.float64))
    # More noise, lower PSNR and SSIM.
    _, z = _random_pair((4, 3, 16, 16), seed=5, spread=120)
    assert (image.psnr(x, z) < image.psnr(x, y)).all() and (image.ssim(x, z) < image.ssim(x, y)).all()


# ----------------------------------------------------------------------------- LPIPS


def _lpips_images():
    from PIL import Image

    folder = _fixture("lpips")
    return {
        k: torch.from_numpy(np.array(Image.open(folder / f"{k}.png").convert("RGB"))).permute(2, 0, 1)
        for k in ("ex_ref", "ex_p0", "ex_p1")
    }


def test_lpips_reproduces_reference_distances():
    _asset("lpips_alex")
    im = _lpips_images()
    ref = torch.stack([im["ex_ref"], im["ex_ref"]])
    d = lpips.lpips(ref, torch.stack([im["ex_p0"], im["ex_p1"]]), device="cpu")
    print(f"LPIPS alex: ex_ref/ex_p0 {d[0]:.5f} (ref 0.72188), ex_ref/ex_p1 {d[1]:.5f} (ref 0.13757)")
    assert d[0].item() == pytest.approx(0.72188, abs=1e-3)
    assert d[1].item() == pytest.approx(0.13757, abs=1e-3)
    # Floats in [-1, 1] give the same distances; identical images give 0.
    d_float = lpips.lpips(ref.float() / 127.5 - 1, torch.stack([im["ex_p0"], im["ex_p1"]]).float() / 127.5 - 1)
    assert torch.allclose(d_float, d, atol=1e-6)
    assert torch.equal(lpips.lpips(ref, ref, device="cpu"), torch.zeros(2))


def test_lpips_grayscale_and_leading_dims():
    _asset("lpips_alex")
    x, y = _random_pair((2, 3, 1, 32, 32), seed=3)
    model = lpips.get_lpips("alex", "cpu")
    d = model(x, y)
    assert d.shape == (2, 3)
    rgb = model(x.expand(-1, -1, 3, -1, -1), y.expand(-1, -1, 3, -1, -1))
    assert torch.allclose(d, rgb, atol=1e-6)
    assert torch.allclose(model(x, y, batch_size=4), d, atol=1e-6)  # batching does not matter
    assert (d > 0).all()


def test_lpips_vgg_variant_orders_the_reference_pairs():
    """No published VGG reference number is at hand: check the ordering and identity only."""
    _asset("lpips_vgg")
    im = _lpips_images()
    model = lpips.LPIPS.from_assets("vgg")
    d0, d1 = model(im["ex_ref"], im["ex_p0"]).item(), model(im["ex_ref"], im["ex_p1"]).item()
    print(f"LPIPS vgg: ex_ref/ex_p0 {d0:.5f}, ex_ref/ex_p1 {d1:.5f}")
    assert 0 < d1 < d0
    assert model(im["ex_ref"], im["ex_ref"]).item() == 0.0


def test_lpips_matches_lpips_package_where_available():
    """The optional cross-check against the ``lpips`` package the design card names: it imports torchvision,
    which does not load beside the CPU torch wheel of this project's environment, so it runs only elsewhere."""
    im = _lpips_images()
    x, y = torch.stack([im["ex_ref"]] * 2), torch.stack([im["ex_p0"], im["ex_p1"]])
    try:
        ref = lpips.reference_lpips(x, y)
    except ImportError as e:
        pytest.skip(f"{e} (the lpips package needs a torchvision that loads beside this torch)")
    assert torch.allclose(lpips.lpips(x, y, device="cpu"), ref.flatten().float(), atol=1e-4)


def test_lpips_unknown_net():
    with pytest.raises(ValueError, match="alex"):
        lpips.LPIPS.from_assets("squeeze")


# ----------------------------------------------------------------------------- weights


@pytest.mark.parametrize("load", [lambda: lpips.LPIPS.from_assets("alex"), i3d.I3D.from_assets])
def test_missing_or_tampered_weights_raise_asset_error(load, tmp_path, monkeypatch):
    monkeypatch.setenv("RFN_ASSETS", str(tmp_path))
    with pytest.raises(assets.AssetError, match="missing"):
        load()
    for name in ("lpips_alex", "i3d"):
        (tmp_path / assets.ASSETS[name].filename).write_bytes(b"not the weights")
    with pytest.raises(assets.AssetError, match="sha256"):
        load()


def test_cached_networks_do_not_bypass_the_weight_check(tmp_path, monkeypatch):
    _asset("lpips_alex")
    lpips.get_lpips("alex", "cpu")  # cached for the real asset folder
    monkeypatch.setenv("RFN_ASSETS", str(tmp_path))
    with pytest.raises(assets.AssetError, match="missing"):
        lpips.get_lpips("alex", "cpu")
    with pytest.raises(assets.AssetError, match="missing"):
        fvd.fvd_features(torch.zeros(2, 9, 3, 8, 8, dtype=torch.uint8), device="cpu")


# ----------------------------------------------------------------------------- I3D


def test_i3d_reproduces_reference_logits():
    """The one full-size I3D forward: 2 clips x 16 frames x 224^2 (several seconds on 2 cores)."""
    reference = np.load(_fixture("i3d", "i3d_logits_seed0.npy"))
    _asset("i3d")
    video = np.random.default_rng(0).uniform(-1.0, 1.0, size=(2, 16, 224, 224, 3)).astype(np.float32)
    logits = i3d.get_i3d("cpu")(torch.from_numpy(video.transpose(0, 4, 1, 2, 3).copy())).numpy()
    err = np.abs(logits - reference).max()
    print(f"I3D logits max abs error {err:.2e} (max |logit| {np.abs(reference).max():.2f})")
    assert logits.shape == (2, 400)
    assert err < 1e-4


def test_i3d_takes_gray_clips_as_their_rgb_copies():
    _asset("i3d")
    gray = torch.rand(1, 1, 9, 224, 224, generator=torch.Generator().manual_seed(0)) * 2 - 1
    net = i3d.get_i3d("cpu")
    rgb_logits, gray_logits = net(gray.expand(-1, 3, -1, -1, -1)), net(gray)
    assert gray_logits.shape == (1, 400)
    assert torch.allclose(gray_logits, rgb_logits, atol=1e-4), (gray_logits - rgb_logits).abs().max()
    with pytest.raises(ValueError, match="expects clips"):
        net(gray.expand(-1, 2, -1, -1, -1))


@pytest.mark.parametrize(
    ("kernel", "stride", "size"),
    [((1, 1, 1), (1, 1, 1), (5, 6, 7)), ((3, 3, 3), (1, 1, 1), (4, 5, 6)), ((7, 7, 7), (2, 2, 2), (9, 11, 12))],
)
def test_i3d_units_equal_a_convolution_after_tensorflow_same_padding(kernel, stride, size):
    """The pointwise (matrix product) and symmetric (conv's own padding) fast paths change no number."""
    g = torch.Generator().manual_seed(1)
    weight = torch.randn(6, 4, *kernel, generator=g, dtype=torch.float64)
    bias = torch.randn(6, generator=g, dtype=torch.float64)
    unit = i3d.Unit3D(weight, bias, stride=stride).double().requires_grad_(False)
    weight, bias = unit.conv.weight, unit.conv.bias  # as stored (through float32)
    x = torch.randn(2, 4, *size, generator=g, dtype=torch.float64)
    want = torch.relu(torch.nn.functional.conv3d(
        torch.nn.functional.pad(x, i3d.same_padding(size, kernel, stride)), weight, bias, stride
    ))  # fmt: skip
    for layout in (torch.contiguous_format, torch.channels_last_3d):
        got = unit(x.contiguous(memory_format=layout))
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-12)


def test_same_padding_matches_tensorflow_rule():
    assert i3d.same_padding((16, 224, 224), (7, 7, 7), (2, 2, 2)) == [2, 3, 2, 3, 2, 3]
    assert i3d.same_padding((5,), (3,), (1,)) == [1, 1]
    assert i3d.same_padding((4,), (2,), (2,)) == [0, 0]
    assert i3d.same_padding((3,), (2,), (2,)) == [0, 1]  # odd total: the extra pixel goes after


# ----------------------------------------------------------------------------- Fréchet distance


def test_frechet_distance_closed_form_commuting_covariances():
    rng = np.random.default_rng(0)
    d = 6
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))  # shared eigenbasis: the covariances commute
    e1, e2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = q @ np.diag(e1) @ q.T, q @ np.diag(e2) @ q.T
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(e1) - np.sqrt(e2)) ** 2)
    assert fvd.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)
    assert fvd.frechet_distance(mu1, np.diag(e1), mu2, np.diag(e2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_symmetric_and_zero_on_itself():
    rng = np.random.default_rng(1)
    for n, d in ((50, 8), (20, 40)):  # full rank, and rank deficient (N < D) as FVD usually is
        a = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
        b = rng.normal(size=(n, d)) * 2 + 1
        ab, ba = fvd.fvd_from_features(a, b), fvd.fvd_from_features(b, a)
        assert ab > 0 and ab == pytest.approx(ba, rel=1e-8)
        _, sigma = fvd.feature_stats(a)
        # sqrt of round-off eigenvalues of a singular product: error ~ sqrt(machine eps) x scale
        assert abs(fvd.fvd_from_features(a, a)) < 1e-6 * np.trace(sigma)
    with pytest.raises(ValueError, match="N >= 2"):
        fvd.feature_stats(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="one D"):
        fvd.frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))


# ----------------------------------------------------------------------------- FVD preprocessing


def test_resize_torch_mode_equals_interpolate_and_tf1_mode_has_no_half_pixel_offset():
    x = torch.rand(2, 3, 5, 13, 9, dtype=torch.float64)
    ref = F.interpolate(x.flatten(0, 1), size=(224, 224), mode="bilinear", align_corners=False).view(2, 3, 5, 224, 224)
    assert torch.allclose(fvd.resize_frames(x, 224, "torch"), ref, atol=1e-12)
    # TF1 resize_bilinear samples source pixel i * in / out: integer upsampling keeps the input on the grid.
    y = fvd.resize_frames(x, (26, 18), "tf1")
    assert torch.allclose(y[..., ::2, ::2], x, atol=1e-12)
    assert torch.allclose(y[..., 1:-1:2, ::2], (x[..., :-1, :] + x[..., 1:, :]) / 2, atol=1e-12)
    assert torch.allclose(y[..., -1, ::2], x[..., -1, :], atol=1e-12)  # the last row repeats the edge
    with pytest.raises(ValueError, match="resize mode"):
        fvd.resize_matrix(3, 4, "nearest")


class _MeanNet(torch.nn.Module):
    """A stand-in for I3D that records its input and embeds a clip by pooled pixel statistics."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x)
        return torch.cat([x.mean(dim=(2, 3, 4)), x.std(dim=(2, 3, 4)), x.amax(dim=(2, 3, 4))], 1)


def test_fvd_features_preprocessing_and_batching():
    g = torch.Generator().manual_seed(0)
    videos = torch.randint(0, 256, (5, 9, 1, 16, 16), generator=g, dtype=torch.uint8)
    videos[0] = 0
    videos[1] = 255
    net = _MeanNet()
    feats = fvd.fvd_features(videos, batch_size=2, model=net, device="cpu")
    assert feats.shape == (5, 9) and feats.dtype == np.float64
    x = net.inputs[0]
    assert tuple(x.shape) == (2, 3, 9, 224, 224)  # [B, C, T, H, W], RGB, 224
    assert torch.equal(x[:, 0], x[:, 1]) and torch.equal(x[:, 0], x[:, 2])  # grayscale repeated
    assert x[0].max().item() == pytest.approx(-1.0, abs=1e-6)  # scaled to [-1, 1]
    assert x[1].min().item() == pytest.approx(1.0, abs=1e-6)
    again = fvd.fvd_features(videos, batch_size=5, model=_MeanNet(), device="cpu")
    assert np.allclose(feats, again, atol=1e-6)
    # fvd() is the Fréchet distance of the two feature sets.
    a, b = videos[:3], videos[2:]
    got = fvd.fvd(a, b, model=net, device="cpu")
    want = fvd.fvd_from_features(fvd.fvd_features(a, model=net), fvd.fvd_features(b, model=net))
    assert got == pytest.approx(want, rel=1e-10)


def test_fvd_videos_assembles_sets_per_protocol():
    p = protocol.get_protocol("bair-thesis-13")  # 3 context, 10 predicted, predicted frames only
    b, n = 3, 4
    videos = torch.arange(b * 13, dtype=torch.uint8).view(b, 13, 1, 1, 1).expand(-1, -1, 3, 8, 8)
    samples = torch.full((b, n, 10, 3, 8, 8), 200, dtype=torch.uint8)
    samples[:, 1] = 100
    real, fake = fvd.fvd_videos(videos, samples, p)
    assert real.shape == (3, 10, 3, 8, 8) and torch.equal(real, videos[:, 3:])
    assert fake.shape == (3, 10, 3, 8, 8) and (fake == 200).all()
    p2 = p.replace(fvd_include_context=True, fvd_samples_per_sequence=2)
    real, fake = fvd.fvd_videos(videos, samples, p2)
    assert real.shape == (3, 13, 3, 8, 8) and torch.equal(real, videos)
    assert fake.shape == (6, 13, 3, 8, 8)
    assert torch.equal(fake[2 * 1 + 1, :3], videos[1, :3])  # sequence 1, sample 1: true context ...
    assert (fake[2 * 1 + 1, 3:] == 100).all()  # ... then its own prediction
    with pytest.raises(ValueError, match="samples per sequence"):
        fvd.fvd_videos(videos, samples[:, :1], p2)
    with pytest.raises(ValueError, match="predicted frames"):
        fvd.fvd_videos(videos, samples[:, :, :9], p)
    with pytest.raises(ValueError, match="13 frames"):
        fvd.fvd_videos(videos[:, :12], samples, p)


def test_fvd_sanity_data_halves_versus_noise():
    """Real I3D on 18 small clips (64x64 upsampled to 224, 10 frames): about 20 s on 2 cores."""
    from rfn.data.smmnist import StochasticMovingMNIST

    _asset("i3d")
    _asset("mnist")
    data = StochasticMovingMNIST("test", seq_len=10).batch(range(12))  # two halves of the test split
    noise = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (6, 10, 1, 64, 64), dtype=np.uint8))
    f_data = fvd.fvd_features(data, device="cpu", batch_size=6)
    f_noise = fvd.fvd_features(noise, device="cpu", batch_size=6)
    halves = fvd.fvd_from_features(f_data[:6], f_data[6:])
    versus_noise = fvd.fvd_from_features(f_data[:6], f_noise)
    itself = fvd.fvd_from_features(f_data, f_data)
    print(
        f"FVD (SM-MNIST test, 6 vs 6 clips of 10 frames): halves {halves:.1f}, "
        f"data vs noise {versus_noise:.1f}, itself {itself:.2e}"
    )
    trace = np.trace(fvd.feature_stats(f_data)[1])
    assert abs(itself) < 1e-6 * trace
    assert halves == pytest.approx(fvd.fvd_from_features(f_data[6:], f_data[:6]), rel=1e-6)
    assert versus_noise > 4 * halves > 0  # 6-clip sets: the covariance term dominates both


# ----------------------------------------------------------------------------- best-of-N


def test_select_best_uses_the_mean_over_time():
    scores = torch.tensor([[[1.0, 1.0], [3.0, 0.0], [2.0, 2.0]], [[0.0, 0.0], [5.0, 5.0], [1.0, 1.0]]])
    best, index = bestofn.select_best(scores, higher_is_better=True)
    assert index.tolist() == [2, 1] and best.tolist() == [[2.0, 2.0], [5.0, 5.0]]
    best, index = bestofn.select_best(scores, higher_is_better=False)
    assert index.tolist() == [0, 0] and best.tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_best_of_n_picks_max_psnr_ssim_and_min_lpips():
    _asset("lpips_alex")
    g = torch.Generator().manual_seed(0)
    b, n, t = 2, 4, 3
    truth = torch.randint(0, 256, (b, t, 3, 32, 32), generator=g, dtype=torch.uint8)
    # Sample k of sequence i carries noise of amplitude level[i][k]: the least noisy one is the best for all metrics.
    levels = torch.tensor([[80, 5, 40, 120], [60, 100, 30, 2]])
    noise = torch.randint(-1, 2, (b, n, t, 3, 32, 32), generator=g) * levels.view(b, n, 1, 1, 1, 1)
    samples = (truth[:, None].int() + noise).clamp(0, 255).to(torch.uint8)
    res = bestofn.best_of_n(truth, samples, ("psnr", "ssim", "lpips", "mse"), device="cpu", chunk=5)
    for m in ("psnr", "ssim", "lpips", "mse"):
        assert res[m].best_index.tolist() == [1, 3], m
        assert res[m].scores.shape == (b, n, t)
    # The curves are the picked samples' own per-frame scores, and the mean over samples.
    direct = image.psnr(samples, truth[:, None].expand_as(samples))
    assert torch.allclose(res["psnr"].scores, direct)
    assert torch.allclose(res["psnr"].best, torch.stack([direct[0, 1], direct[1, 3]]))
    assert torch.allclose(res["psnr"].best_curve, (direct[0, 1] + direct[1, 3]) / 2)
    assert torch.allclose(res["psnr"].mean_curve, direct.mean((0, 1)))
    assert res["ssim"].best_per_sequence.shape == (b,)
    assert (res["lpips"].best_per_sequence < res["lpips"].mean_per_sequence).all()
    assert (res["psnr"].best_per_sequence > res["psnr"].mean_per_sequence).all()
    assert res["ssim"].summary()["samples"] == n
    with pytest.raises(ValueError, match="unknown metric"):
        bestofn.frame_scores(truth, samples, "fid")
    with pytest.raises(ValueError, match=r"\[2, N, 3, 3, 32, 32\]"):
        bestofn.frame_scores(truth, samples[:, :, :2], "psnr")


# ----------------------------------------------------------------------------- protocols


def test_protocol_registry_reproduces_thesis_rows():
    rows = {
        "smmnist-thesis": ("smmnist", 5, 25, 100, 1.0),
        "bair-thesis-13": ("bair", 3, 13, 100, 0.6),
        "bair-thesis-30": ("bair", 2, 30, 100, 0.6),
        "kth-thesis": ("kth", 10, 40, 100, 0.6),
    }
    for name, (ds, ctx, total, n, temp) in rows.items():
        p = protocol.get_protocol(name)
        assert (p.dataset, p.context_frames, p.total_frames, p.n_samples, p.emission_temperature) == (
            ds,
            ctx,
            total,
            n,
            temp,
        )
        assert not p.fvd_include_context and p.fvd_samples_per_sequence == 1
        line = p.describe()
        assert "\n" not in line and name in line and f"warm-up {ctx} -> {total} frames" in line
        assert f"best-of-{n}" in line
    for name in ("smoke", "quick", "bair-smoke", "kth-quick", "bair-srvp"):
        assert protocol.get_protocol(name).fvd_clip_frames >= i3d.MIN_FRAMES


def test_protocol_errors_and_round_trip():
    with pytest.raises(ValueError, match="valid protocols: .*bair-thesis-13"):
        protocol.get_protocol("bair-thesis")
    p = protocol.get_protocol("bair-thesis-13")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n_samples = 3
    assert protocol.Protocol.from_dict(p.to_dict()) == p
    with pytest.raises(ValueError, match="unknown protocol fields"):
        protocol.Protocol.from_dict({**p.to_dict(), "warmup": 3})
    with pytest.raises(ValueError, match="I3D needs at least 9"):
        p.replace(total_frames=10)
    with pytest.raises(ValueError, match="must exceed"):
        p.replace(total_frames=3)
    with pytest.raises(ValueError, match="positive"):
        p.replace(emission_temperature=0.0)
    q = p.replace(emission_temperature=0.7)
    assert q.name == "bair-thesis-13+emission_temperature=0.7" and "emission 0.7" in q.describe()
    # cached numbers stay keyed as before the rename; results written then still read
    assert q.cache_key()["flow_temperature"] == 0.7 and "emission_temperature" not in q.cache_key()
    old = {("flow_temperature" if k == "emission_temperature" else k): v for k, v in q.to_dict().items()}
    assert protocol.Protocol.from_dict(old) == q


def test_lpips_rejects_frames_too_small_for_the_backbone():
    from rfn.metrics.lpips import LPIPS, MIN_SIZE

    model = LPIPS.__new__(LPIPS)  # the size check runs before any weight is touched
    torch.nn.Module.__init__(model)
    model.register_buffer("shift", torch.zeros(1, 3, 1, 1))
    small = torch.zeros(2, 1, MIN_SIZE - 1, MIN_SIZE - 1, dtype=torch.uint8)
    with pytest.raises(ValueError, match="at least 32x32"):
        model(small, small)


def test_frechet_distance_with_fewer_samples_than_features_is_finite():
    """Rank-deficient covariances (8 clips, 400 features) fall back to a small ridge, never raise."""
    rng = np.random.default_rng(0)
    for shift in (0.0, 1.0):
        a, b = rng.normal(size=(8, 400)), rng.normal(size=(8, 400)) + shift
        d = fvd.frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
        assert np.isfinite(d) and d > 0


# ----------------------------------------------------------------------------- frame measures of the analysis pages


def test_centre_of_mass_tracks_a_moving_blob():
    from rfn.metrics.frames import centre_of_mass

    video = torch.zeros(3, 1, 8, 10, dtype=torch.uint8)
    for t in range(3):
        video[t, 0, 2 + t, 4 + 2 * t : 6 + 2 * t] = 255  # a 1x2 blob moving down 1 and right 2 per frame
    assert centre_of_mass(video).tolist() == [[2.0, 4.5], [3.0, 6.5], [4.0, 8.5]]
    weighted = torch.zeros(1, 1, 3, dtype=torch.uint8)
    weighted[0, 0] = torch.tensor([255, 0, 85], dtype=torch.uint8)  # mass 3:1 at columns 0 and 2
    assert centre_of_mass(weighted)[1].item() == pytest.approx(0.5)
    assert centre_of_mass(torch.zeros(1, 4, 4, dtype=torch.uint8)).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="channels"):
        centre_of_mass(torch.zeros(3, 4, 4, dtype=torch.uint8))


def test_speckle_is_zero_on_flat_frames_and_large_on_noise():
    from rfn.metrics.frames import speckle

    g = torch.Generator().manual_seed(0)
    noise = torch.randint(0, 256, (2, 3, 1, 16, 16), generator=g, dtype=torch.uint8)
    smooth = torch.arange(16, dtype=torch.uint8).mul(8).expand(2, 3, 1, 16, 16)
    assert speckle(torch.full((4, 1, 8, 8), 77, dtype=torch.uint8)) == 0.0
    assert speckle(noise) > 40 > 5 > speckle(smooth) > 0


def test_ink_overlap_shares():
    from rfn.metrics.frames import ink_overlap

    a = torch.zeros(3, 6, 6, dtype=torch.bool)
    b = torch.zeros(3, 6, 6, dtype=torch.bool)
    a[:, :2, :2] = True  # 4 pixels
    b[0, 4:, 4:] = True  # apart
    b[1, :3, :3] = True  # covers all of a
    b[2, 1:3, 1:3] = True  # 1 of its 4 pixels on a
    assert ink_overlap(a, b).tolist() == [0.0, 1.0, 0.25]
    assert ink_overlap(a, torch.zeros_like(b)).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="bool"):
        ink_overlap(a.float(), b)


def test_best_of_n_is_per_frame_by_default_and_per_sequence_as_best_sample():
    """The thesis's text: the best over samples at each time step; the stricter variant keeps one sample."""
    scores = torch.tensor([[[1.0, 1.0], [3.0, 0.0], [2.0, 2.0]]])
    _, index = bestofn.select_best(scores, higher_is_better=True)
    r = bestofn.BestOfN("ssim", True, scores, index)
    assert r.best.tolist() == [[3.0, 2.0]] and r.best_sample.tolist() == [[2.0, 2.0]]
    assert r.best_curve.tolist() == [3.0, 2.0] and r.best_sample_curve.tolist() == [2.0, 2.0]
    assert r.summary()["best"] == 2.5 and r.summary()["best_sample"] == 2.0
    _, index = bestofn.select_best(scores, higher_is_better=False)
    low = bestofn.BestOfN("lpips", False, scores, index)
    assert low.best.tolist() == [[1.0, 0.0]] and low.best_sample.tolist() == [[1.0, 1.0]]
    # per frame is never worse than per sequence, and both beat the mean
    g = torch.Generator().manual_seed(0)
    s = torch.rand(5, 7, 4, generator=g)
    rr = bestofn.BestOfN("psnr", True, s, bestofn.select_best(s, True)[1])
    assert bool((rr.best >= rr.best_sample).all()) and bool((rr.best_sample_per_sequence >= rr.mean_per_sequence).all())
