"""The demo model's data: one flat-coloured shape on a plain background, with a caption.

Grammar (every image has all five attributes; a caption may leave size, position or background out,
and the picture then still has one, drawn at random):
    a [size] <colour> <shape> [position] [on a <background> background]
Deterministic from a seed (numpy PCG64). Held-out attribute tuples never appear in training pictures.
"""
import itertools
import json

import numpy as np

SIZE = 64
SHAPES = ["circle", "square", "triangle", "star"]
COLOURS = {"red": (220, 30, 30), "green": (30, 170, 50), "blue": (40, 70, 230),
           "yellow": (245, 210, 30), "white": (250, 250, 250), "black": (15, 15, 15)}
BACKGROUNDS = {"white": (250, 250, 250), "black": (15, 15, 15), "gray": (128, 128, 128), "blue": (40, 70, 230)}
SIZES = {"small": 9.0, "large": 17.0}  # circumradius in pixels (before jitter)
POSITIONS = {"on the left": (18, 32), "on the right": (46, 32), "at the top": (32, 18),
             "at the bottom": (32, 46), "in the center": (32, 32)}
JITTER_PX, JITTER_SIZE = 2.0, 0.08
SUPERSAMPLE = 4


def all_tuples():
    """Every valid (shape, colour, size, position, background): the shape's colour differs from the background's."""
    return [t for t in itertools.product(SHAPES, COLOURS, SIZES, POSITIONS, BACKGROUNDS)
            if COLOURS[t[1]] != BACKGROUNDS[t[4]]]


def caption(shape, colour, size=None, position=None, background=None):
    words = ["a"] + ([size] if size else []) + [colour, shape]
    if position:
        words.append(position)
    if background:
        words += ["on a", background, "background"]
    return " ".join(words)


def _inside(shape, x, y, r):
    """Boolean mask of points (x, y) (relative to the centre, y down) inside the shape of circumradius r."""
    if shape == "circle":
        return x * x + y * y <= r * r
    if shape == "square":
        s = 0.8 * r
        return (np.abs(x) <= s) & (np.abs(y) <= s)
    if shape == "triangle":  # pointing up, vertices on the circle of radius 1.1 r (lifted to look centred)
        angles = np.radians([-90, 30, 150])
        poly = np.stack([1.1 * r * np.cos(angles), 1.1 * r * np.sin(angles) + 0.2 * r], 1)
    else:  # five-pointed star, inner radius 0.45 r
        a = np.radians(-90 + 36 * np.arange(10))
        rad = np.where(np.arange(10) % 2 == 0, 1.15 * r, 0.5 * r)
        poly = np.stack([rad * np.cos(a), rad * np.sin(a) + 0.08 * r], 1)
    # even-odd ray casting over the polygon's edges
    inside = np.zeros(x.shape, bool)
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, 0)):
        crosses = (y0 > y) != (y1 > y)
        xi = x0 + (y - y0) * (x1 - x0) / (y1 - y0 + 1e-12)
        inside ^= crosses & (x < xi)
    return inside


def render(shape, colour, size, position, background, rng=None):
    """uint8 [SIZE, SIZE, 3]; rng adds the position/size jitter (None: none, the canonical picture)."""
    cx, cy = POSITIONS[position]
    r = SIZES[size]
    if rng is not None:
        cx, cy = cx + rng.uniform(-JITTER_PX, JITTER_PX), cy + rng.uniform(-JITTER_PX, JITTER_PX)
        r *= 1 + rng.uniform(-JITTER_SIZE, JITTER_SIZE)
    # supersample only the shape's bounding box (the star reaches 1.15 r, the triangle 1.1 r + 0.2 r)
    reach = 1.35 * r + 1
    x0, x1 = max(0, int(cx - reach)), min(SIZE, int(np.ceil(cx + reach)))
    y0, y1 = max(0, int(cy - reach)), min(SIZE, int(np.ceil(cy + reach)))
    xs = x0 + (np.arange((x1 - x0) * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    ys = y0 + (np.arange((y1 - y0) * SUPERSAMPLE) + 0.5) / SUPERSAMPLE
    x, y = np.meshgrid(xs - cx, ys - cy)
    cover = np.zeros((SIZE, SIZE, 1))
    cover[y0:y1, x0:x1, 0] = _inside(shape, x, y, r).reshape(y1 - y0, SUPERSAMPLE, x1 - x0, SUPERSAMPLE).mean((1, 3))
    img = cover * np.array(COLOURS[colour], float) + (1 - cover) * np.array(BACKGROUNDS[background], float)
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def heldout_tuples(count=10, seed=6):
    """`count` tuples spread over shapes, colours and positions, chosen once from a fixed seed."""
    rng = np.random.default_rng(seed)
    tuples = all_tuples()
    order = rng.permutation(len(tuples))
    chosen, seen = [], set()
    for i in order:  # greedy: prefer tuples that add an unseen shape/colour/position/background
        t = tuples[i]
        key = {("s", t[0]), ("c", t[1]), ("p", t[3]), ("b", t[4])}
        if len(chosen) < count and (not key <= seen or len(seen) >= 19):
            chosen.append(t)
            seen |= key
    return chosen


def dataset(count, seed, exclude):
    """count pictures [count, SIZE, SIZE, 3] uint8 and their attribute tuples, none of them in `exclude`."""
    rng = np.random.default_rng(seed)
    tuples = [t for t in all_tuples() if t not in set(exclude)]
    images = np.empty((count, SIZE, SIZE, 3), np.uint8)
    attrs = []
    for k in range(count):
        t = tuples[rng.integers(len(tuples))]
        images[k] = render(*t, rng=rng)
        attrs.append(t)
    return images, attrs


def random_caption(t, rng, p_omit=0.25):
    """A caption of tuple t; size, position and background each left out with probability p_omit."""
    shape, colour, size, position, background = t
    keep = rng.random(3) >= p_omit
    return caption(shape, colour, size if keep[0] else None, position if keep[1] else None,
                   background if keep[2] else None)


def heldout_json(tuples):
    """What each held-out caption must look like, for the C++ test (pixels measured on the canonical picture)."""
    cases = []
    for t in tuples:
        shape, colour, size, position, background = t
        img = render(*t).astype(float)
        mask = np.abs(img - np.array(BACKGROUNDS[background])).sum(-1) > 60
        ys, xs = np.nonzero(mask)
        cases.append({
            "caption": caption(*t), "shape": shape, "colour": colour, "size": size, "position": position,
            "background": background, "colour_rgb": COLOURS[colour], "background_rgb": BACKGROUNDS[background],
            "centre": [round((xs.mean() + 0.5) / SIZE, 4), round((ys.mean() + 0.5) / SIZE, 4)],
            "area": round(mask.mean(), 4)})
    # A prompts walk that changes only the colour, for the monotonicity test.
    walk = {"from": caption("circle", "red", "large", "in the center", "white"),
            "to": caption("circle", "blue", "large", "in the center", "white"),
            "from_rgb": COLOURS["red"], "to_rgb": COLOURS["blue"], "background_rgb": BACKGROUNDS["white"]}
    return {"image_size": SIZE, "palette": {**COLOURS, "gray": BACKGROUNDS["gray"]},
            "sizes": {s: round(float(np.mean([heldout_area(s, sh) for sh in SHAPES])), 4) for s in SIZES},
            "cases": cases, "walk": walk}


def heldout_area(size, shape):
    img = render(shape, "black", size, "in the center", "white").astype(float)
    return (np.abs(img - np.array(BACKGROUNDS["white"])).sum(-1) > 60).mean()


if __name__ == "__main__":
    h = heldout_tuples()
    print(json.dumps(heldout_json(h), indent=1)[:3000])
