"""Clouds and cloud shadows for the unlabelled year (2024).

Real summer scenes that pass a cloud filter still carry a few small cumulus
fields. Here a handful of cloud systems (soft-edged, lumpy blobs of 0.5-2 km)
are dropped on a window, so that roughly one tile in seven is touched; each
cloud casts a darker copy of itself offset to the north-north-west (the sun
stands in the south-south-east at the 10:30 overpass).
"""

from __future__ import annotations

import numpy as np

from landcover.synthetic.noise import fractal_noise, smoothstep

#: Mean number of cloud systems per tile-sized cell of a window.
CLOUD_SYSTEMS_PER_CELL = 0.05
#: Shadow offset in pixels (rows, cols): north is up, so negative rows.
SHADOW_OFFSET = (-32, -12)


def cloud_fields(
    rng: np.random.Generator, shape: tuple[int, int], n_cells: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cloud opacity and shadow strength (0..1, float32) over a window of ``shape`` pixels."""
    height, width = shape
    opacity = np.zeros(shape, np.float32)
    n_systems = max(1, int(rng.poisson(CLOUD_SYSTEMS_PER_CELL * n_cells)))
    lumps = fractal_noise(rng, shape, 30.0, octaves=3)
    for _ in range(n_systems):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(30, 85)
        thickness = rng.uniform(0.55, 1.0)
        r0, r1 = int(max(0, cy - 2 * radius)), int(min(height, cy + 2 * radius))
        c0, c1 = int(max(0, cx - 2 * radius)), int(min(width, cx + 2 * radius))
        if r1 <= r0 or c1 <= c0:
            continue
        rows = np.arange(r0, r1, dtype=np.float32)[:, None]
        cols = np.arange(c0, c1, dtype=np.float32)[None, :]
        dist = np.sqrt((rows - cy) ** 2 + (cols - cx) ** 2) / radius
        core = 1.0 - dist + 0.45 * lumps[r0:r1, c0:c1]
        blob = thickness * smoothstep(0.05, 0.55, core)
        opacity[r0:r1, c0:c1] = np.maximum(opacity[r0:r1, c0:c1], blob)
    shadow = np.zeros(shape, np.float32)
    dy, dx = SHADOW_OFFSET
    src = opacity[max(0, -dy) : height - max(0, dy), max(0, -dx) : width - max(0, dx)]
    shadow[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return opacity, np.clip(shadow * 1.2, 0.0, 1.0)
