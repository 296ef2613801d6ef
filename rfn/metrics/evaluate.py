"""``rfn evaluate``: every number of a trained model under one named protocol.

Given a checkpoint and a protocol (:mod:`rfn.metrics.protocol`), this computes
on the test split of the data set the checkpoint was trained on:

* **bits per pixel**: the negative ELBO per frame and in total (split into
  reconstruction and KL) on sequences of the training length with one
  conditioning frame, the thesis's setting (its BPP tables score 10-frame
  sequences given the first frame), and the importance-weighted bound with
  ``K`` samples (:mod:`rfn.models.iwae`; ``K = 20`` in the thesis);
* **best-of-N PSNR, SSIM and LPIPS** per predicted frame after the
  protocol's warm-up, with its number of samples and temperatures
  (:mod:`rfn.metrics.bestofn`); the best and the mean over samples;
* **FVD** on the protocol's clips (:func:`rfn.metrics.fvd.fvd_videos`), repeated
  with fresh samples ``fvd_repeats`` times (mean and standard deviation).

It writes ``results.json`` (every number, the protocol's fields and its
one-line description, the checkpoint, model, data config, device, date and
commit), ``results.csv`` (tidy rows ``metric, frame, value, statistic, protocol``),
one PNG of per-frame curves per metric with a marker at the training length
(as thesis Figs 9.1 and 9.7), and prints a table headed by the protocol line.

Frames are numbered from 1 within each clip: the BPP of frame 2 is the first
scored frame, and the predicted frames of a protocol with ``c`` warm-up frames
are ``c + 1 .. total_frames``.

Randomness: every batch of every phase reseeds the global torch generator from
the protocol's seed, the phase and the batch index, so a phase's numbers do
not depend on which other phases ran; they do depend on ``batch_size``, which
is recorded. The first FVD estimate reuses the first samples drawn for
best-of-N (independent draws either way); further repeats draw fresh ones.

A metric that cannot be computed for the checkpoint (LPIPS on frames too small
for its backbone, bits per pixel of a model without a likelihood) is not left
out silently: the reason is stored under ``skipped``, printed in the table and
raised as a warning.

Example:
    >>> results = evaluate("runs/quick/last.pt", "smmnist-quick", out_dir="eval/quick")  # doctest: +SKIP
    >>> results["fvd"]["mean"], results["bpp"]["iw"]["bound"]  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import platform
import subprocess
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from rfn import pixels
from rfn.metrics.bestofn import HIGHER_IS_BETTER, BestOfN, frame_scores, select_best
from rfn.metrics.fvd import fvd_features, fvd_from_features, fvd_videos
from rfn.metrics.protocol import PROTOCOLS, Protocol, get_protocol, protocol_names

__all__ = ["EvaluationWarning", "evaluate", "format_table", "main", "write_outputs"]

#: The similarity metrics of the best-of-N curves, in table order.
CURVE_METRICS = ("psnr", "ssim", "lpips")
_PHASES = {"bpp": 1, "iw": 2, "samples": 3}
_UNITS = {"psnr": "dB", "ssim": "", "lpips": ""}


# ----------------------------------------------------------------------------- set-up


def _resolve_device(spec: str | torch.device | None) -> torch.device:
    from rfn.runtime import resolve_device

    return resolve_device("auto" if spec is None else spec)


def _git_commit() -> dict[str, Any]:
    """Commit of the code that ran (None outside a git checkout) and whether tracked files differ from it."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if sha.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=here, capture_output=True, timeout=10)
        return {"commit": sha.stdout.strip(), "dirty": dirty.returncode != 0}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def _load(model_or_path, device: torch.device, data_config: dict | None) -> tuple[torch.nn.Module, dict, dict]:
    """Model on ``device`` in eval mode, its data config, and what identifies the checkpoint."""
    from rfn.checkpoint import load_checkpoint
    from rfn.models.registry import model_from_checkpoint

    if isinstance(model_or_path, torch.nn.Module):
        if data_config is None:
            raise ValueError(
                "evaluate() was given a model object, so it also needs data_config= (the run's data config "
                "dict: name, seq_len, root, kwargs); or pass the checkpoint path instead"
            )
        from rfn.models.registry import MODELS

        model = model_or_path.to(device).eval()
        names = [n for n, (_, cls) in MODELS.items() if cls is type(model)]
        name = names[0] if names else type(model).__name__
        return model, dict(data_config), {"path": None, "step": None, "model_name": name}
    path = Path(model_or_path)
    ckpt = load_checkpoint(path)
    model = model_from_checkpoint(ckpt, device=device, source=str(path))
    data = dict(data_config if data_config is not None else ckpt.get("data_config") or {})
    if "name" not in data:
        raise ValueError(
            f"{path} stores no data config (it was not written by `rfn train`); pass data_config= to evaluate()"
        )
    info = {"path": str(path), "step": ckpt.get("step"), "model_name": ckpt["model_name"], "meta": ckpt.get("meta")}
    return model, data, info


def _protocol(protocol: str | Protocol, samples: int | None, sequences: int | None) -> Protocol:
    p = get_protocol(protocol)
    if samples is not None:
        p = p.replace(n_samples=samples)
    if sequences is not None:
        p = p.replace(n_test_sequences=sequences)
    return p


def _check_data(protocol: Protocol, data: dict, source: str) -> None:
    from rfn.data import dataset_info

    if data["name"] != protocol.dataset:
        fitting = sorted(n for n, p in PROTOCOLS.items() if p.dataset == data["name"])
        hint = f"protocols for {data['name']}: {', '.join(fitting)}" if fitting else "no named protocol fits it"
        raise ValueError(
            f"protocol {protocol.name!r} evaluates on the {protocol.dataset!r} data set but {source} was trained "
            f"on {data['name']!r}; {hint} (or pass protocol.replace(dataset=...) to evaluate())"
        )
    frames = dataset_info(data["name"])["frames"]
    if frames is not None and protocol.total_frames > frames:
        raise ValueError(
            f"protocol {protocol.name!r} needs {protocol.total_frames} frames per sequence "
            f"({protocol.context_frames} warm-up + {protocol.predicted_frames} predicted), but {data['name']} "
            f"sequences have only {frames}"
        )


def _dataset(data: dict, split: str, seq_len: int, what: str):
    from rfn.data import make_dataset

    kwargs = dict(data.get("kwargs") or {})
    try:
        return make_dataset(data["name"], split=split, seq_len=seq_len, root=data.get("root"), **kwargs)
    except ValueError as err:
        raise ValueError(f"cannot build the {data['name']} {split!r} split for {what}: {err}") from None


def _select(n_available: int, wanted: int | None, seed: int, what: str) -> list[int]:
    """Indices of the evaluated sequences: all, or ``wanted`` drawn without replacement by ``seed`` (sorted)."""
    if wanted is None:
        return list(range(n_available))
    if wanted > n_available:
        raise ValueError(f"{what}: {wanted} test sequences requested but the split holds only {n_available}")
    g = torch.Generator().manual_seed(seed)
    return sorted(torch.randperm(n_available, generator=g)[:wanted].tolist())


def _batches(ds, indices: list[int], batch: int):
    for start in range(0, len(indices), batch):
        idx = indices[start : start + batch]
        if hasattr(ds, "batch"):
            yield start // batch, ds.batch(idx)
        else:
            yield start // batch, torch.stack([ds[i] for i in idx])


def _seed(protocol: Protocol, phase: str, batch_index: int) -> None:
    torch.manual_seed(protocol.seed * 1_000_003 + _PHASES[phase] * 10_007 + batch_index)


class EvaluationWarning(UserWarning):
    """A metric was not computed; the reason is also stored in ``results["skipped"]``."""


def _skip(skipped: dict, key: str, reason: str) -> None:
    skipped[key] = reason
    warnings.warn(f"rfn evaluate: {key} skipped: {reason}", EvaluationWarning, stacklevel=3)


# ----------------------------------------------------------------------------- bits per pixel


def _bits_per_pixel(model, data, protocol, frames, iw_k, batch_size, device, progress, skipped) -> dict | None:
    from rfn.models.iwae import iw_bound
    from rfn.models.recurrent import RecurrentLatentModel

    latent = isinstance(model, RecurrentLatentModel)
    if not latent and not callable(getattr(model, "loss", None)):
        _skip(skipped, "bpp", f"a {type(model).__name__} has no likelihood")
        return None
    ds = _dataset(data, protocol.split, frames, "bits per pixel")
    indices = _select(len(ds), protocol.n_test_sequences, protocol.seed, f"protocol {protocol.name!r}")
    shape = model.config.frame_shape
    nll, kl, totals, iw, iw_elbo = [], [], [], [], []
    bar = tqdm(total=len(indices), desc="bits per pixel", unit="seq", disable=not progress, leave=False)
    with torch.no_grad():
        for i, x in _batches(ds, indices, batch_size):
            x = x.to(device)
            _seed(protocol, "bpp", i)
            if latent:
                terms = model.elbo_terms(x)
                nll.append(pixels.bits_per_pixel(terms["nll"].double(), shape).cpu())
                kl.append(pixels.bits_per_pixel(terms["kl"].double(), shape).cpu())
                if iw_k:
                    _seed(protocol, "iw", i)
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
    result.update(
        {
            "nelbo": float((nll_t + kl_t).mean()),
            "nll": float(nll_t.mean()),
            "kl": float(kl_t.mean()),
            "per_frame": {
                "frame": list(range(2, frames + 1)),
                "nelbo": (nll_t + kl_t).mean(0).tolist(),
                "nll": nll_t.mean(0).tolist(),
                "kl": kl_t.mean(0).tolist(),
            },
        }
    )
    if iw_k:
        bound = torch.cat(iw)
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


def _predict(model, context, n_future, n, chunk, protocol) -> torch.Tensor:
    out = []
    for start in range(0, n, chunk):
        out.append(
            model.predict(
                context,
                n_future=n_future,
                n_samples=min(chunk, n - start),
                flow_temperature=protocol.flow_temperature,
                prior_temperature=protocol.prior_temperature,
            )
        )
    return torch.cat(out, 1)


def _samples_phase(model, data, protocol, batch_size, device, use_fvd, progress, skipped) -> tuple[dict, dict | None]:
    from rfn.metrics.i3d import get_i3d
    from rfn.metrics.lpips import get_lpips

    ds = _dataset(data, protocol.split, protocol.total_frames, f"protocol {protocol.name!r}")
    indices = _select(len(ds), protocol.n_test_sequences, protocol.seed, f"protocol {protocol.name!r}")
    if use_fvd and len(indices) < 2:
        raise ValueError(f"FVD needs at least 2 test sequences, protocol {protocol.name!r} selects {len(indices)}")
    shape = model.config.frame_shape
    metrics = list(CURVE_METRICS)
    reason = _lpips_problem(protocol.lpips_net, shape, device)
    if reason:
        metrics.remove("lpips")
        _skip(skipped, "lpips", reason)
    lpips_model = get_lpips(protocol.lpips_net, device) if "lpips" in metrics else None
    i3d = get_i3d(device) if use_fvd else None
    c, n, tp = protocol.context_frames, protocol.n_samples, protocol.predicted_frames
    k, repeats = protocol.fvd_samples_per_sequence, protocol.fvd_repeats
    seq_batch = max(1, batch_size // n)
    chunk = min(n, batch_size)
    fvd_batch = max(1, min(8, batch_size))
    scores: dict[str, list[torch.Tensor]] = {m: [] for m in metrics}
    real_feats: list[np.ndarray] = []
    fake_feats: list[list[np.ndarray]] = [[] for _ in range(repeats)]
    bar = tqdm(total=len(indices), desc=f"best-of-{n} samples", unit="seq", disable=not progress, leave=False)
    with torch.no_grad():
        for i, x in _batches(ds, indices, seq_batch):
            x = x.to(device)
            _seed(protocol, "samples", i)
            samples = _predict(model, x[:, :c], tp, n, chunk, protocol)  # [b, n, tp, C, H, W]
            for m in metrics:
                scores[m].append(
                    frame_scores(
                        x[:, c:],
                        samples,
                        m,
                        device=device,
                        lpips_model=lpips_model,
                        psnr_per_channel=protocol.psnr_per_channel,
                    )
                )
            if use_fvd:
                kw = dict(batch_size=fvd_batch, device=device, resize=protocol.fvd_resize, model=i3d)
                for r in range(repeats):
                    fake = samples[:, :k] if (r == 0 and n >= k) else _predict(model, x[:, :c], tp, k, chunk, protocol)
                    real_clips, fake_clips = fvd_videos(x, fake, protocol)
                    if r == 0:
                        real_feats.append(fvd_features(real_clips, **kw))
                    fake_feats[r].append(fvd_features(fake_clips, **kw))
            bar.update(x.shape[0])
    bar.close()
    frames = list(range(c + 1, protocol.total_frames + 1))
    best: dict[str, Any] = {"frames": frames, "sequences": len(indices), "samples": n}
    for m in metrics:
        s = torch.cat(scores[m]).double()
        _, index = select_best(s, HIGHER_IS_BETTER[m])
        r = BestOfN(m, HIGHER_IS_BETTER[m], s, index)
        best[m] = {
            "higher_is_better": HIGHER_IS_BETTER[m],
            "best": float(r.best_per_sequence.mean()),
            "mean": float(r.mean_per_sequence.mean()),
            "best_curve": r.best_curve.tolist(),
            "mean_curve": r.mean_curve.tolist(),
        }
    if not use_fvd:
        _skip(skipped, "fvd", "--no-fvd")
        return best, None
    real = np.concatenate(real_feats)
    values = [fvd_from_features(real, np.concatenate(f)) for f in fake_feats]
    fvd_result = {
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
    return best, fvd_result


# ----------------------------------------------------------------------------- the evaluation


def evaluate(
    model_or_path: str | os.PathLike | torch.nn.Module,
    protocol: str | Protocol,
    *,
    samples: int | None = None,
    sequences: int | None = None,
    iw_k: int = 20,
    bpp_frames: int | None = None,
    device: str | torch.device | None = "auto",
    batch_size: int = 32,
    fvd: bool = True,
    data_root: str | os.PathLike | None = None,
    data_config: dict | None = None,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate a trained model under a named protocol.

    Args:
        model_or_path: checkpoint file (or run folder holding ``last.pt``), or a model
            object (then ``data_config`` is required).
        protocol: a name of :data:`rfn.metrics.protocol.PROTOCOLS` or a :class:`Protocol`.
        samples: overrides the protocol's ``n_samples`` (best-of-N); the protocol's name records it.
        sequences: overrides the protocol's ``n_test_sequences``.
        iw_k: importance samples of the bound (20 in the thesis); 0 skips the bound.
        bpp_frames: sequence length of the bits-per-pixel evaluation (default: the training
            length from the data config, 10 for the thesis models), scored given its first frame.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:1"``, ...
        batch_size: videos per model call: sequences for bits per pixel, sequence copies for the
            bound, sequences times samples for sampling. Memory grows with it; numbers depend on
            it only through the random streams.
        fvd: compute FVD (needs the I3D weights).
        data_root: data folder, replacing the one stored in the checkpoint.
        data_config: data config dict replacing the checkpoint's (``name``, ``seq_len``,
            ``root``, ``kwargs``, as :func:`rfn.data.make_datasets` takes it).
        out_dir: if given, write ``results.json``, ``results.csv`` and the curve PNGs there.
        progress: show tqdm progress bars.

    Returns:
        The JSON-ready results (see the module docstring; ``results["bpp"]``,
        ``results["best_of_n"]["psnr"]["best_curve"]``, ``results["fvd"]["mean"]``, ...).

    Raises:
        FileNotFoundError: missing checkpoint (or data files).
        ValueError: unknown protocol (the message lists them), a protocol for another data set,
            more frames than the data set's sequences, more sequences than the split holds,
            bad arguments.
    """
    for name, value in (("batch_size", batch_size), ("iw_k", iw_k)):
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if name == "batch_size" else 0):
            raise ValueError(
                f"{name} must be a {'positive' if name == 'batch_size' else 'non-negative'} integer, got {value!r}"
            )
    proto = _protocol(protocol, samples, sequences)
    dev = _resolve_device(device)
    started = time.perf_counter()
    model, data, ckpt = _load(model_or_path, dev, data_config)
    if data_root is not None:
        data["root"] = str(data_root)
    data.setdefault("kwargs", {})
    source = ckpt["path"] or f"the given {type(model).__name__}"
    _check_data(proto, data, source)
    if not callable(getattr(model, "predict", None)):
        raise ValueError(f"the {ckpt['model_name']!r} model of {source} has no predict(); it cannot be evaluated")
    train_frames = data.get("seq_len")
    frames = bpp_frames if bpp_frames is not None else train_frames
    if not isinstance(frames, int) or frames < 2:
        raise ValueError(f"bits per pixel need sequences of at least 2 frames, got bpp_frames={frames!r}")

    skipped: dict[str, str] = {}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    bpp = _bits_per_pixel(model, data, proto, frames, iw_k, batch_size, dev, progress, skipped)
    timings["bpp_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    best, fvd_result = _samples_phase(model, data, proto, batch_size, dev, fvd, progress, skipped)
    timings["samples_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - started

    results: dict[str, Any] = {
        "protocol": proto.to_dict(),
        "protocol_description": proto.describe(),
        "checkpoint": {"path": ckpt["path"], "step": ckpt["step"]},
        "model": {
            "name": ckpt["model_name"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "config": _jsonable(getattr(model, "config", None)),
        },
        "data_config": _jsonable(data),
        "train_frames": train_frames,
        "device": str(dev),
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else platform.processor() or "cpu",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **_git_commit(),
        "versions": {"rfn": _rfn_version(), "torch": torch.__version__},
        "settings": {"iw_k": iw_k, "bpp_frames": frames, "batch_size": batch_size, "fvd": fvd},
        "bpp": bpp,
        "best_of_n": best,
        "fvd": fvd_result,
        "skipped": skipped,
        "timings": timings,
    }
    if out_dir is not None:
        results["files"] = [str(p) for p in write_outputs(results, out_dir)]
    return results


def _rfn_version() -> str:
    import rfn

    return rfn.__version__


def _jsonable(obj: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


# ----------------------------------------------------------------------------- outputs


def _rows(results: dict) -> list[dict[str, Any]]:
    """Tidy rows ``metric, frame, value, statistic, protocol`` (``frame`` "all" for averages over frames)."""
    name = results["protocol"]["name"]
    rows: list[dict[str, Any]] = []

    def add(metric, frame, value, statistic):
        if value is not None:
            rows.append({"metric": metric, "frame": frame, "value": value, "statistic": statistic, "protocol": name})

    bpp = results.get("bpp")
    if bpp:
        for key in ("nelbo", "nll", "kl"):
            add(f"bpp_{key}", "all", bpp.get(key), "mean")
        per = bpp.get("per_frame")
        if per:
            for j, f in enumerate(per["frame"]):
                for key in ("nelbo", "nll", "kl"):
                    add(f"bpp_{key}", f, per[key][j], "mean")
        if bpp.get("iw"):
            add(f"bpp_iw_k{bpp['iw']['k']}", "all", bpp["iw"]["bound"], "mean")
    best = results.get("best_of_n") or {}
    for m in CURVE_METRICS:
        if m not in best:
            continue
        for stat in ("best", "mean"):
            add(m, "all", best[m][stat], stat)
            for f, v in zip(best["frames"], best[m][f"{stat}_curve"]):
                add(m, f, v, stat)
    fvd = results.get("fvd")
    if fvd:
        add("fvd", "all", fvd["mean"], "mean")
        add("fvd", "all", fvd["std"], "std")
        for r, v in enumerate(fvd["repeats"], 1):
            add("fvd", "all", v, f"repeat{r}")
    return rows


def _plot(path: Path, frames, curves: dict[str, list[float]], ylabel: str, title: str, train_frames) -> None:
    # Figure without pyplot: no global backend state, works headless
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(5.0, 3.4), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    for label, values in curves.items():
        ax.plot(frames, values, marker="o", markersize=3, label=label, linestyle="--" if "mean" in label else "-")
    if train_frames is not None:
        ax.axvline(train_frames, color="grey", linestyle=":", linewidth=1.2, label=f"training length ({train_frames})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def write_outputs(results: dict, out_dir: str | os.PathLike) -> list[Path]:
    """Write ``results.json``, ``results.csv`` and the per-frame curve PNGs into ``out_dir``; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    proto = results["protocol"]["name"]
    train_frames = results.get("train_frames")
    best = results.get("best_of_n") or {}
    n = best.get("samples")
    for m in CURVE_METRICS:
        if m not in best:
            continue
        unit = f" [{_UNITS[m]}]" if _UNITS[m] else ""
        path = out / f"{m}.png"
        curves = {f"best of {n}": best[m]["best_curve"], f"mean of {n}": best[m]["mean_curve"]}
        _plot(
            path,
            best["frames"],
            curves,
            f"{m.upper()}{unit}",
            f"{proto}: {m.upper()} per predicted frame",
            train_frames,
        )
        written.append(path)
    per = (results.get("bpp") or {}).get("per_frame")
    if per:
        path = out / "bpp.png"
        curves = {"negative ELBO": per["nelbo"], "reconstruction": per["nll"], "KL": per["kl"]}
        _plot(path, per["frame"], curves, "bits per pixel", f"{proto}: bits per pixel per frame", train_frames)
        written.append(path)
    rows = _rows(results)
    path = out / "results.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["metric", "frame", "value", "statistic", "protocol"])
        writer.writeheader()
        writer.writerows(rows)
    written.append(path)
    path = out / "results.json"
    files = [str(p) for p in written] + [str(path)]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({**results, "files": files}, indent=2) + "\n")
    os.replace(tmp, path)
    written.append(path)
    return written


def format_table(results: dict) -> str:
    """A compact plain-text table of the results, headed by the protocol line."""
    lines = [results["protocol_description"]]
    ck = results["checkpoint"]
    where = f"{ck['path']} (step {ck['step']})" if ck["path"] else "model object"
    lines.append(f"model {results['model']['name']} from {where}; device {results['device']}")
    rows: list[tuple[str, str]] = []
    bpp = results.get("bpp")
    if bpp:
        cond = f"{bpp['frames']} frames, 1 conditioning, {bpp['sequences']} sequences"
        if "nll" in bpp:
            rows.append(
                ("BPP, negative ELBO", f"{bpp['nelbo']:.4f}  (recon {bpp['nll']:.4f} + KL {bpp['kl']:.4f}; {cond})")
            )
        else:
            rows.append(("BPP, likelihood bound", f"{bpp['nelbo']:.4f}  ({cond})"))
        if bpp.get("iw"):
            iw = bpp["iw"]
            sem = f"  (standard error over sequences {iw['sem']:.4f})" if iw.get("sem") is not None else ""
            rows.append((f"BPP, IW bound K={iw['k']}", f"{iw['bound']:.4f}{sem}"))
    best = results.get("best_of_n") or {}
    for m in CURVE_METRICS:
        if m in best:
            arrow = "higher is better" if best[m]["higher_is_better"] else "lower is better"
            rows.append(
                (
                    f"{m.upper()} best / mean of {best['samples']}",
                    f"{best[m]['best']:.4f} / {best[m]['mean']:.4f}  ({arrow})",
                )
            )
    fvd = results.get("fvd")
    if fvd:
        spread = f" ± {fvd['std']:.1f} (std of {len(fvd['repeats'])})" if fvd.get("std") is not None else ""
        rows.append(
            (
                "FVD",
                f"{fvd['mean']:.1f}{spread}  ({fvd['real_videos']} real vs {fvd['fake_videos']} generated clips "
                f"of {fvd['clip_frames']} frames)",
            )
        )
    for key, reason in (results.get("skipped") or {}).items():
        rows.append((f"{key} skipped", reason))
    width = max((len(r[0]) for r in rows), default=0)
    lines += [f"  {name:<{width}}  {value}" for name, value in rows]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rfn evaluate",
        description=(
            "Evaluate a checkpoint under a named protocol: bits per pixel (negative ELBO and the importance-weighted "
            "bound), best-of-N PSNR/SSIM/LPIPS curves and FVD. Writes results.json, results.csv and curve PNGs."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  rfn evaluate --checkpoint runs/smoke/last.pt --protocol smoke --out eval/smoke\n"
        "  rfn evaluate --checkpoint runs/bair --protocol bair-thesis-13 --samples 10 --out eval/bair\n"
        "  rfn evaluate --list-protocols",
    )
    parser.add_argument("--checkpoint", help="checkpoint file (or run folder holding last.pt)")
    parser.add_argument("--protocol", help="protocol name (see --list-protocols)")
    parser.add_argument("--list-protocols", action="store_true", help="print the named protocols and exit")
    parser.add_argument("--samples", type=int, default=None, help="samples per sequence for best-of-N (overrides)")
    parser.add_argument("--sequences", type=int, default=None, help="test sequences to use (overrides)")
    parser.add_argument("--iw-k", type=int, default=20, help="importance samples of the bound (default 20; 0 skips)")
    parser.add_argument("--bpp-frames", type=int, default=None, help="frames of the BPP sequences (default: training)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ... (default auto)")
    parser.add_argument("--batch-size", type=int, default=32, help="videos per model call (default 32)")
    parser.add_argument("--no-fvd", action="store_true", help="skip FVD (no I3D)")
    parser.add_argument("--data-root", default=None, help="data folder (default: the one stored in the checkpoint)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    parser.add_argument("--out", help="output folder for results.json, results.csv and PNGs")
    return parser


def main(argv: list[str] | None = None) -> int:
    """``rfn evaluate`` (errors propagate to :func:`rfn.cli.main`, which prints them as one line)."""
    args = build_parser().parse_args(argv)
    if args.list_protocols:
        for name in protocol_names():
            print(PROTOCOLS[name].describe())
        return 0
    missing = [f"--{k}" for k in ("checkpoint", "protocol", "out") if getattr(args, k) is None]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}; see `rfn evaluate --help`")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EvaluationWarning)  # the table lists what was skipped and why
        results = _evaluate_args(args)
    print(format_table(results))
    print(f"wrote {args.out}: results.json, results.csv and {sum(f.endswith('.png') for f in results['files'])} PNGs")
    return 0


def _evaluate_args(args: argparse.Namespace) -> dict[str, Any]:
    return evaluate(
        args.checkpoint,
        args.protocol,
        samples=args.samples,
        sequences=args.sequences,
        iw_k=args.iw_k,
        bpp_frames=args.bpp_frames,
        device=args.device,
        batch_size=args.batch_size,
        fvd=not args.no_fvd,
        data_root=args.data_root,
        out_dir=args.out,
        progress=not args.no_progress,
    )


if __name__ == "__main__":
    import sys

    from rfn.cli import main as rfn_main

    sys.exit(rfn_main(["evaluate", *sys.argv[1:]]))
