"""Random building blocks of the simulator: seeded generators, smooth noise, parcels.

Everything random in the synthetic data goes through :func:`rng_for`, whose streams
depend only on the global seed and stable keys (region, window, tile id, year),
never on process scheduling: the output is the same with 1 or 8 workers.
"""

from __future__ import annotations

import zlib

import numpy as np
from scipy import ndimage

#: Global seed of the synthetic data (part of the manifest).
SEED = 20260101


def rng_for(*keys: object, seed: int = SEED) -> np.random.Generator:
    """A generator seeded from the global seed and stable keys (strings or integers)."""
    words = [seed]
    for key in keys:
        words.append(int(key) if isinstance(key, (int, np.integer)) else zlib.crc32(str(key).encode()))
    return np.random.default_rng(np.random.SeedSequence(words))


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale_px: float) -> np.ndarray:
    """Gaussian-like random field with features about ``scale_px`` pixels across (mean 0, std ~1).

    Random values on a coarse lattice, upsampled (cubic then linear): cheap even
    for 4 million pixels.
    """
    height, width = shape
    scale = max(float(scale_px), 1.0)
    coarse = rng.standard_normal((int(np.ceil(height / scale)) + 4, int(np.ceil(width / scale)) + 4))
    if scale >= 8:
        fine = ndimage.zoom(coarse, scale / 4.0, order=3, mode="nearest", grid_mode=False)
        fine = ndimage.zoom(fine, 4.0, order=1, mode="nearest", grid_mode=False)
    else:
        fine = ndimage.zoom(coarse, scale, order=1, mode="nearest", grid_mode=False)
    oy = int(rng.integers(0, max(1, fine.shape[0] - height - int(scale)))) + int(scale) // 2
    ox = int(rng.integers(0, max(1, fine.shape[1] - width - int(scale)))) + int(scale) // 2
    out = fine[oy : oy + height, ox : ox + width]
    if out.shape != (height, width):  # tiny shapes: pad by edge values
        out = np.pad(out, ((0, height - out.shape[0]), (0, width - out.shape[1])), mode="edge")
    out = out.astype(np.float32)
    std = float(out.std())
    return (out - float(out.mean())) / (std if std > 0 else 1.0)


def fractal_noise(
    rng: np.random.Generator, shape: tuple[int, int], scale_px: float, octaves: int = 3, gain: float = 0.5
) -> np.ndarray:
    """Sum of :func:`smooth_noise` octaves (each half the scale, ``gain`` times the weight); std ~1."""
    total = np.zeros(shape, np.float32)
    weight, norm = 1.0, 0.0
    for octave in range(octaves):
        total += weight * smooth_noise(rng, shape, scale_px / (2**octave))
        norm += weight**2
        weight *= gain
    return total / np.float32(np.sqrt(norm))


def smoothstep(edge0: float, edge1: float, x: np.ndarray) -> np.ndarray:
    """0 below ``edge0``, 1 above ``edge1``, a smooth S in between."""
    t = np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def jittered_voronoi(
    rng: np.random.Generator,
    shape: tuple[int, int],
    spacing_u: float,
    spacing_v: float,
    angle_deg: float,
    jitter: float = 0.8,
    merge_prob: float = 0.0,
) -> np.ndarray:
    """Voronoi cells around jittered lattice seeds, in a rotated frame (parcels, blocks, stands).

    The lattice has spacing ``spacing_u`` along the direction ``angle_deg`` and
    ``spacing_v`` across it (pixels), so cells are elongated like field parcels.
    With ``merge_prob`` > 0 neighbouring cells along ``u`` are merged at random,
    which spreads the sizes (one, two, three... lattice cells). Returns int32 ids,
    unique per cell, below ``ids.max() + 1`` (not every id in that range is used).
    """
    height, width = shape
    theta = np.deg2rad(angle_deg)
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    u = (cols * np.float32(np.cos(theta)) + rows * np.float32(np.sin(theta))) / np.float32(spacing_u)
    v = (-cols * np.float32(np.sin(theta)) + rows * np.float32(np.cos(theta))) / np.float32(spacing_v)
    iu0, iv0 = np.floor(u).astype(np.int32), np.floor(v).astype(np.int32)
    umin, vmin = int(iu0.min()) - 1, int(iv0.min()) - 1
    nu, nv = int(iu0.max()) - umin + 2, int(iv0.max()) - vmin + 2
    offsets = rng.uniform(0.5 - jitter / 2, 0.5 + jitter / 2, size=(2, nv, nu)).astype(np.float32)
    best = np.full(shape, np.inf, np.float32)
    best_u = np.zeros(shape, np.int32)
    best_v = np.zeros(shape, np.int32)
    for du in (-1, 0, 1):
        for dv in (-1, 0, 1):
            cu, cv = iu0 + du, iv0 + dv
            su = cu + offsets[0, cv - vmin, cu - umin]
            sv = cv + offsets[1, cv - vmin, cu - umin]
            dist = ((u - su) * np.float32(spacing_u)) ** 2 + ((v - sv) * np.float32(spacing_v)) ** 2
            closer = dist < best
            best = np.where(closer, dist, best)
            best_u = np.where(closer, cu, best_u)
            best_v = np.where(closer, cv, best_v)
    lu, lv = best_u - umin, best_v - vmin
    if merge_prob > 0:
        starts = rng.random((nv, nu)) >= merge_prob
        starts[:, 0] = True
        group = np.cumsum(starts, axis=1) - 1  # merged run index within each lattice row
        ids = lv * nu + group[lv, lu]
    else:
        ids = lv * nu + lu
    return ids.astype(np.int32)


def strip_parcels(
    rng: np.random.Generator,
    shape: tuple[int, int],
    length_px: float,
    width_px: float,
    angle_deg: float,
    warp_px: float = 0.0,
) -> np.ndarray:
    """Field parcels as strips cut into segments, like open-field farmland seen from above.

    Strips of random width (about ``width_px``) run along ``angle_deg``; each strip
    is cut every ``length_px`` or so, with its own period and offset, so that cuts
    are staggered between neighbouring strips. ``warp_px`` bends the pattern with a
    smooth displacement so that edges are not ruler-straight. Returns int32 ids.
    """
    height, width = shape
    theta = np.deg2rad(angle_deg)
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    u = cols * np.float32(np.cos(theta)) + rows * np.float32(np.sin(theta))
    v = -cols * np.float32(np.sin(theta)) + rows * np.float32(np.cos(theta))
    if warp_px > 0:
        u = u + np.float32(warp_px) * smooth_noise(rng, shape, 80)
        v = v + np.float32(warp_px) * smooth_noise(rng, shape, 80)
    vmin, vmax = float(v.min()), float(v.max())
    umin = float(u.min())
    n_strips = int((vmax - vmin) / (0.5 * width_px)) + 3
    edges = np.float32(vmin - 1.0) + np.cumsum(rng.uniform(0.5, 1.5, n_strips) * width_px).astype(np.float32)
    strip = np.searchsorted(edges, v).astype(np.int32)
    lengths = (rng.uniform(0.5, 1.8, n_strips + 1) * length_px).astype(np.float32)
    offsets = (rng.uniform(0, 1, n_strips + 1) * lengths).astype(np.float32)
    segment = np.floor((u - np.float32(umin) + offsets[strip]) / lengths[strip]).astype(np.int32)
    return (strip * (int(segment.max()) + 1) + segment).astype(np.int32)


def boundaries(labels: np.ndarray) -> np.ndarray:
    """True on pixels whose right or lower neighbour has another label (1-px lines)."""
    edge = np.zeros(labels.shape, bool)
    edge[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    edge[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return edge
