"""The phases of an evaluation: bits per pixel and the importance-weighted bound, samples for best-of-N, FVD.

:func:`evaluate` loads the model, checks the protocol against its data, runs the
phases on the protocol's test sequences and returns JSON-ready results (written out
by :mod:`rfn.evaluation.report` when ``out_dir`` is given). Its settings beyond the
model and the protocol form one :class:`EvaluationOptions`.

Randomness: every batch of every phase reseeds the global torch generator with
:func:`~rfn.evaluation.inputs.phase_seed` (the protocol's seed, the phase, the batch
index), so a phase's numbers do not depend on which other phases ran; they do depend
on ``batch_size``, which is recorded. The first FVD estimate reuses the first samples
drawn for best-of-N (independent draws either way); further repeats draw fresh ones.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import platform
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from rfn import pixels
from rfn.evaluation.inputs import (
    batches,
    check_data,
    load_model,
    make_split,
    phase_seed,
    resolve_protocol,
    select_sequences,
)
from rfn.metrics.bestofn import CURVE_METRICS, HIGHER_IS_BETTER, BestOfN, frame_scores, select_best
from rfn.metrics.fvd import fvd_features, fvd_from_features, fvd_videos
from rfn.metrics.protocol import Protocol
from rfn.runtime import check_memory, git_commit, resolve_device, to_jsonable

__all__ = ["BASELINES", "CURVE_METRICS", "EvaluationOptions", "EvaluationWarning", "baseline_predictions", "evaluate"]


@dataclasses.dataclass(frozen=True)
class EvaluationOptions:
    """How to evaluate, beyond the model and the protocol.

    Attributes:
        samples: overrides the protocol's ``n_samples`` (best-of-N); the protocol's name records it.
        sequences: overrides the protocol's ``n_test_sequences``.
        iw_k: importance samples of the bound (20 in the thesis); 0 skips the bound.
        bpp_frames: sequence length of the bits-per-pixel evaluation (default: the training
            length from the data config, 10 for the thesis models), scored given its first frame.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:1"``, ...
        batch_size: videos per model call: sequences for bits per pixel, sequence copies for the
            bound, sequences times samples for sampling. Memory grows with it; numbers depend on
            it only through the random streams.
        layout: memory layout of the model (:data:`rfn.models.registry.LAYOUTS`): ``"auto"`` loads a
            checkpoint channels-last (the faster layout, as ``rfn.load`` does) and leaves a given model
            object as it is; ``"channels_last"`` or ``"contiguous"`` puts either in that layout.
        fvd: compute FVD (needs the I3D weights).
        data_root: data folder, replacing the one stored in the checkpoint.
        data_config: data config dict replacing the checkpoint's (``name``, ``seq_len``,
            ``root``, ``kwargs``, as :func:`rfn.data.make_datasets` takes it); required with a model object.
        progress: show tqdm progress bars.

    Example:
        >>> EvaluationOptions(iw_k=0, fvd=False).iw_k
        0
        >>> EvaluationOptions(batch_size=0)
        Traceback (most recent call last):
        ...
        ValueError: batch_size must be a positive integer, got 0
    """

    samples: int | None = None
    sequences: int | None = None
    iw_k: int = 20
    bpp_frames: int | None = None
    device: str | torch.device | None = "auto"
    batch_size: int = 32
    layout: str = "auto"
    fvd: bool = True
    data_root: str | os.PathLike | None = None
    data_config: dict | None = None
    progress: bool = True

    def __post_init__(self):
        for name, least in (("batch_size", 1), ("iw_k", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                kind = "positive" if least else "non-negative"
                raise ValueError(f"{name} must be a {kind} integer, got {value!r}")
        from rfn.models.registry import LAYOUTS

        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)} (auto: the fastest), got {self.layout!r}")

    def recorded(self, bpp_frames: int) -> dict[str, Any]:
        """The settings stored in the results (with the bits-per-pixel length actually used)."""
        return {
            "iw_k": self.iw_k,
            "bpp_frames": bpp_frames,
            "batch_size": self.batch_size,
            "layout": self.layout,  # samples depend on it through float rounding (benchmarks/RESULTS.md)
            "fvd": self.fvd,
        }


class EvaluationWarning(UserWarning):
    """A metric was not computed; the reason is also stored in ``results["skipped"]``."""


def _skip(skipped: dict, key: str, reason: str) -> None:
    skipped[key] = reason
    warnings.warn(f"rfn evaluate: {key} skipped: {reason}", EvaluationWarning, stacklevel=3)


# ----------------------------------------------------------------------------- bits per pixel


def _bits_per_pixel(model, data, protocol: Protocol, frames: int, opts: EvaluationOptions, device, skipped):
    from rfn.models.iwae import iw_bound
    from rfn.models.recurrent import RecurrentLatentModel

    latent = isinstance(model, RecurrentLatentModel)
    if not latent and not callable(getattr(model, "loss", None)):
        _skip(skipped, "bpp", f"a {type(model).__name__} has no likelihood")
        return None
    ds = make_split(data, protocol.split, frames, "bits per pixel")
    indices = select_sequences(len(ds), protocol.n_test_sequences, protocol.seed, f"protocol {protocol.name!r}")
    shape, iw_k, batch_size = model.config.frame_shape, opts.iw_k, opts.batch_size
    nll, kl, totals, iw, iw_elbo = [], [], [], [], []
    bar = tqdm(total=len(indices), desc="bits per pixel", unit="seq", disable=not opts.progress, leave=False)
    with torch.no_grad():
        for i, x in batches(ds, indices, batch_size):
            x = x.to(device)
            torch.manual_seed(phase_seed(protocol, "bpp", i))
            if latent:
                terms = model.elbo_terms(x)
                nll.append(pixels.bits_per_pixel(terms["nll"].double(), shape).cpu())
                kl.append(pixels.bits_per_pixel(terms["kl"].double(), shape).cpu())
                if iw_k:
                    torch.manual_seed(phase_seed(protocol, "iw", i))
                    out = iw_bound(model, x, k=iw_k, chunk=max(1, batch_size // x.shape[0]))
                    iw.append(out["bpp"].cpu())
                    iw_elbo.append(pixels.bits_per_pixel(-out["elbo_nats"], (frames - 1, *shape)).cpu())
            else:
                totals.append(float(model.loss(x)["bpp"]) * x.shape[0])
            bar.update(x.shape[0])
    bar.close()
    result: dict[str, Any] = {"frames": frames, "conditioning_frames": 1, "sequences": len(indices)}
    if not latent:
        result["nelbo"] = sum(totals) / len(indices)
        result["note"] = f"{type(model).__name__}: a likelihood bound without latent variables (no per-frame terms)"
        _skip(skipped, "iw", f"a {type(model).__name__} has no latent variables to importance-sample")
        return result
    nll_t, kl_t = torch.cat(nll), torch.cat(kl)  # [n, frames - 1]
    # per test sequence (in the order of ``indices``), for tests over sequences and seeds
    result["per_sequence"] = {"indices": [int(i) for i in indices], "nelbo": (nll_t + kl_t).mean(1).tolist()}
    result.update(
        nelbo=float((nll_t + kl_t).mean()),
        nll=float(nll_t.mean()),
        kl=float(kl_t.mean()),
        per_frame={
            "frame": list(range(2, frames + 1)),
            "nelbo": (nll_t + kl_t).mean(0).tolist(),
            "nll": nll_t.mean(0).tolist(),
            "kl": kl_t.mean(0).tolist(),
        },
    )
    if iw_k:
        bound = torch.cat(iw)
        result["per_sequence"]["iw"] = bound.tolist()
        result["iw"] = {
            "k": iw_k,
            "bound": float(bound.mean()),
            "sem": float(bound.std() / math.sqrt(len(bound))) if len(bound) > 1 else None,
            "elbo_mc": float(torch.cat(iw_elbo).mean()),
        }
    else:
        _skip(skipped, "iw", "--iw-k 0")
    return result


# ----------------------------------------------------------------------------- samples: best-of-N and FVD


def _lpips_problem(net: str, frame_shape, device) -> str | None:
    """Why LPIPS cannot score frames of this size (its backbone pools them away), or None."""
    from rfn.metrics.lpips import get_lpips

    model = get_lpips(net, device)
    h, w = frame_shape[-2:]
    probe = torch.zeros(1, 3, h, w, device=model.shift.device, dtype=model.shift.dtype)
    try:
        with torch.no_grad():
            model.features(probe)
    except RuntimeError as err:
        first = str(err).splitlines()[0][:160]
        return (
            f"LPIPS-{net} cannot score {h}x{w} frames: its backbone's pooling shrinks them to nothing ({first}); "
            f"evaluate a model of larger frames (AlexNet needs at least 31 px)"
        )
    return None


def predict_in_chunks(model, context: torch.Tensor, n_future: int, n: int, chunk: int, protocol: Protocol):
    """``model.predict`` of ``n`` samples per sequence, ``chunk`` at a time: ``uint8 [B, n, n_future, C, H, W]``."""
    out = []
    for start in range(0, n, chunk):
        out.append(
            model.predict(
                context,
                n_future=n_future,
                n_samples=min(chunk, n - start),
                emission_temperature=protocol.emission_temperature,
                prior_temperature=protocol.prior_temperature,
            )
        )
    return torch.cat(out, 1)


#: how "best" is read (rfn.metrics.bestofn): per frame, with the per-sequence variant as ``best_sample``;
#: part of the results so that cached numbers from the earlier per-sequence default are never mixed in
BEST_OF_N_DEFINITION = "per frame (best_sample: per sequence)"
#: predictions without a model, scored in the same call and on the same sequences as the samples
BASELINES = ("black frames", "last context frame")


def baseline_predictions(x: torch.Tensor, context: int) -> dict[str, torch.Tensor]:
    """The :data:`BASELINES` for test clips ``uint8 [B, T, C, H, W]``: ``{name: uint8 [B, T - context, C, H, W]}``.

    Example:
        >>> x = torch.arange(3, dtype=torch.uint8).view(1, 3, 1, 1, 1).expand(1, 3, 1, 2, 2)
        >>> [g[0, :, 0, 0, 0].tolist() for g in baseline_predictions(x, 2).values()]
        [[0], [1]]
    """
    future = x[:, context:]
    return {
        "black frames": torch.zeros_like(future),
        "last context frame": x[:, context - 1 : context].expand_as(future).contiguous(),
    }


def _best_of_n(
    scores: dict[str, list[torch.Tensor]],
    protocol: Protocol,
    indices: list[int],
    baselines: dict[str, dict[str, list[torch.Tensor]]] | None = None,
) -> dict[str, Any]:
    best: dict[str, Any] = {
        "frames": list(range(protocol.context_frames + 1, protocol.total_frames + 1)),
        "sequences": len(indices),
        "indices": [int(i) for i in indices],
        "definition": BEST_OF_N_DEFINITION,
        "samples": protocol.n_samples,
    }
    for m, parts in scores.items():
        s = torch.cat(parts).double()
        _, index = select_best(s, HIGHER_IS_BETTER[m])
        r = BestOfN(m, HIGHER_IS_BETTER[m], s, index)
        best[m] = {
            "higher_is_better": HIGHER_IS_BETTER[m],
            "best": float(r.best_per_sequence.mean()),
            "best_sample": float(r.best_sample_per_sequence.mean()),
            "mean": float(r.mean_per_sequence.mean()),
            "best_curve": r.best_curve.tolist(),
            "best_sample_curve": r.best_sample_curve.tolist(),
            "mean_curve": r.mean_curve.tolist(),
            # [sequence][frame] of the picked sample and the mean over samples: for tests over sequences
            "best_per_frame": r.best.tolist(),
            "mean_per_frame": r.mean.tolist(),
        }
    if baselines:
        per_frame = {
            name: {m: torch.cat(parts).double()[:, 0] for m, parts in per_metric.items()}
            for name, per_metric in baselines.items()
        }
        best["baselines"] = {name: {m: s.mean(0).tolist() for m, s in pm.items()} for name, pm in per_frame.items()}
        # [sequence][frame], the sequences of ``indices``: paired with the models' ``best_per_frame``/``mean_per_frame``
        best["baselines_per_frame"] = {name: {m: s.tolist() for m, s in pm.items()} for name, pm in per_frame.items()}
    return best


def _fvd(real_feats: list[np.ndarray], fake_feats: list[list[np.ndarray]], protocol: Protocol) -> dict[str, Any]:
    real = np.concatenate(real_feats)
    values = [fvd_from_features(real, np.concatenate(f)) for f in fake_feats]
    k = protocol.fvd_samples_per_sequence
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
        "repeats": values,
        "real_videos": int(real.shape[0]),
        "fake_videos": int(real.shape[0] * k),
        "clip_frames": protocol.fvd_clip_frames,
        "include_context": protocol.fvd_include_context,
        "samples_per_sequence": k,
        "resize": protocol.fvd_resize,
    }


def _samples_phase(model, data, protocol: Protocol, opts: EvaluationOptions, device, skipped):
    from rfn.metrics.i3d import get_i3d
    from rfn.metrics.lpips import get_lpips

    ds = make_split(data, protocol.split, protocol.total_frames, f"protocol {protocol.name!r}")
    indices = select_sequences(len(ds), protocol.n_test_sequences, protocol.seed, f"protocol {protocol.name!r}")
    if opts.fvd and len(indices) < 2:
        raise ValueError(f"FVD needs at least 2 test sequences, protocol {protocol.name!r} selects {len(indices)}")
    metrics = list(CURVE_METRICS)
    reason = _lpips_problem(protocol.lpips_net, model.config.frame_shape, device)
    if reason:
        metrics.remove("lpips")
        _skip(skipped, "lpips", reason)
    lpips_model = get_lpips(protocol.lpips_net, device) if "lpips" in metrics else None
    i3d = get_i3d(device) if opts.fvd else None
    c, n, tp = protocol.context_frames, protocol.n_samples, protocol.predicted_frames
    k, repeats, batch_size = protocol.fvd_samples_per_sequence, protocol.fvd_repeats, opts.batch_size
    chunk = min(n, batch_size)
    fvd_kw = dict(batch_size=max(1, min(8, batch_size)), device=device, resize=protocol.fvd_resize, model=i3d)
    scores: dict[str, list[torch.Tensor]] = {m: [] for m in metrics}
    baseline_scores: dict[str, dict[str, list[torch.Tensor]]] = {b: {m: [] for m in metrics} for b in BASELINES}
    real_feats: list[np.ndarray] = []
    fake_feats: list[list[np.ndarray]] = [[] for _ in range(repeats)]
    bar = tqdm(total=len(indices), desc=f"best-of-{n} samples", unit="seq", disable=not opts.progress, leave=False)
    with torch.no_grad():
        for i, x in batches(ds, indices, max(1, batch_size // n)):
            x = x.to(device)
            torch.manual_seed(phase_seed(protocol, "samples", i))
            samples = predict_in_chunks(model, x[:, :c], tp, n, chunk, protocol)  # [b, n, tp, C, H, W]
            kw = dict(device=device, lpips_model=lpips_model, psnr_per_channel=protocol.psnr_per_channel)
            for m in metrics:
                scores[m].append(frame_scores(x[:, c:], samples, m, **kw))
            for name, guess in baseline_predictions(x, c).items():
                for m in metrics:
                    baseline_scores[name][m].append(frame_scores(x[:, c:], guess[:, None], m, **kw))
            for r in range(repeats if opts.fvd else 0):
                fake = (
                    samples[:, :k]
                    if (r == 0 and n >= k)
                    else predict_in_chunks(model, x[:, :c], tp, k, chunk, protocol)
                )
                real_clips, fake_clips = fvd_videos(x, fake, protocol)
                if r == 0:
                    real_feats.append(fvd_features(real_clips, **fvd_kw))
                fake_feats[r].append(fvd_features(fake_clips, **fvd_kw))
            bar.update(x.shape[0])
    bar.close()
    best = _best_of_n(scores, protocol, indices, baseline_scores)
    if not opts.fvd:
        _skip(skipped, "fvd", "--no-fvd")
        return best, None
    return best, _fvd(real_feats, fake_feats, protocol)


# ----------------------------------------------------------------------------- the evaluation


def _check_memory(protocol: Protocol, opts: EvaluationOptions, shape: tuple[int, ...]) -> None:
    """Refuse, before any work, a request whose samples would not fit in the available memory."""
    n, tp, seqs = protocol.n_samples, protocol.predicted_frames, protocol.n_test_sequences
    frame = math.prod(shape)
    per_batch = max(1, opts.batch_size // n) * n * tp * frame * (1 + 2 * 4)  # uint8 samples and float32 scoring
    scores = seqs * n * tp * 4 * len(CURVE_METRICS)  # every frame's scores are kept for best-of-N
    check_memory(
        per_batch + scores,
        f"--samples {n} x --sequences {seqs} x {tp} predicted frames of {'x'.join(map(str, shape))} "
        f"(--batch-size {opts.batch_size})",
        "ask for fewer --samples or --sequences, or a smaller --batch-size",
    )


def evaluate(
    model_or_path: str | os.PathLike | torch.nn.Module,
    protocol: str | Protocol,
    options: EvaluationOptions | None = None,
    *,
    out_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Evaluate a trained model under a named protocol.

    Args:
        model_or_path: checkpoint file (or run folder holding ``last.pt``), or a model
            object (then ``options.data_config`` is required).
        protocol: a name of :data:`rfn.metrics.protocol.PROTOCOLS` or a :class:`Protocol`.
        options: everything else (:class:`EvaluationOptions`; default: its defaults).
        out_dir: if given, write ``results.json``, ``results.csv`` and the curve PNGs there.

    Returns:
        The JSON-ready results (``results["bpp"]``, ``results["best_of_n"]["psnr"]["best_curve"]``,
        ``results["fvd"]["mean"]``, ...; see :mod:`rfn.evaluation`).

    Raises:
        FileNotFoundError: missing checkpoint (or data files).
        ValueError: unknown protocol (the message lists them), a protocol for another data set,
            more frames than the data set's sequences, more sequences than the split holds,
            a model without ``predict``.

    Example:
        >>> results = evaluate("runs/quick/last.pt", "smmnist-quick", EvaluationOptions(fvd=False))  # doctest: +SKIP
        >>> results["bpp"]["iw"]["bound"]  # doctest: +SKIP
    """
    opts = options if options is not None else EvaluationOptions()
    proto = resolve_protocol(protocol, opts.samples, opts.sequences)
    dev = resolve_device(opts.device)
    started = time.perf_counter()
    model, data, ckpt = load_model(model_or_path, dev, opts.data_config, opts.layout)
    if opts.data_root is not None:
        data["root"] = str(opts.data_root)
    data.setdefault("kwargs", {})
    source = ckpt["path"] or f"the given {type(model).__name__}"
    check_data(proto, data, source)
    if not callable(getattr(model, "predict", None)):
        raise ValueError(f"the {ckpt['model_name']!r} model of {source} has no predict(); it cannot be evaluated")
    _check_memory(proto, opts, tuple(model.config.frame_shape))
    train_frames = data.get("seq_len")
    frames = opts.bpp_frames if opts.bpp_frames is not None else train_frames
    if not isinstance(frames, int) or frames < 2:
        raise ValueError(f"bits per pixel need sequences of at least 2 frames, got bpp_frames={frames!r}")

    skipped: dict[str, str] = {}
    t0 = time.perf_counter()
    bpp = _bits_per_pixel(model, data, proto, frames, opts, dev, skipped)
    timings = {"bpp_s": time.perf_counter() - t0}
    t0 = time.perf_counter()
    best, fvd_result = _samples_phase(model, data, proto, opts, dev, skipped)
    timings["samples_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started
    commit = git_commit(Path(__file__).resolve().parent)
    results: dict[str, Any] = {
        "protocol": proto.to_dict(),
        "protocol_description": proto.describe(),
        "checkpoint": {"path": ckpt["path"], "step": ckpt["step"]},
        "model": {
            "name": ckpt["model_name"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "config": to_jsonable(getattr(model, "config", None)),
        },
        "data_config": to_jsonable(data),
        "train_frames": train_frames,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": None if commit == "unknown" else commit,
        "dirty": None if commit == "unknown" else commit.endswith("-dirty"),
        "versions": {"rfn": _rfn_version(), "torch": torch.__version__},
        "settings": opts.recorded(frames),
        "bpp": bpp,
        "best_of_n": best,
        "fvd": fvd_result,
        "skipped": skipped,
        "timings": timings,
    }
    if out_dir is not None:
        from rfn.evaluation.report import write_outputs

        results["files"] = [str(p) for p in write_outputs(results, out_dir)]
    return results


def _rfn_version() -> str:
    import rfn

    return rfn.__version__
