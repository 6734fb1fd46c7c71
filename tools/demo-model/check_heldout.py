#!/usr/bin/python3
"""Draws the held-out captions (models/demo/heldout.json) with the PyTorch twins and scores them with the
pixel measures of tests/pipeline/demo_model_test.cpp; also writes a preview grid (PNG).

  /usr/bin/python3 tools/demo-model/check_heldout.py [--model models/demo] [--steps 20] [--guidance 2]

Sampler: diffusers' EulerDiscreteScheduler (linspace timesteps), classifier-free guidance with "".
"""
import argparse
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402
import safetensors_io  # noqa: E402
from clip_bpe import ClipBPE  # noqa: E402
from train import REPO, alphas_cumprod  # noqa: E402


def load(module, path):
    module.load_state_dict(safetensors_io.load(path)[0])
    return module.eval()


def load_model(m):
    cfg = {n: json.load(open(os.path.join(m, n, "config.json"))) for n in ("text_encoder", "unet", "vae")}
    te = load(nets.ClipTextModel(cfg["text_encoder"]), os.path.join(m, "text_encoder", "model.safetensors"))
    unet = load(nets.UNet2DConditionModel(cfg["unet"]), os.path.join(m, "unet", "diffusion_pytorch_model.safetensors"))
    vae = load(nets.AutoencoderKL(cfg["vae"]), os.path.join(m, "vae", "diffusion_pytorch_model.safetensors"))
    sched = json.load(open(os.path.join(m, "scheduler", "scheduler_config.json")))
    return te, unet, vae, cfg["vae"]["scaling_factor"], ClipBPE(os.path.join(m, "tokenizer")), sched


@torch.no_grad()
def generate(model, prompts, seed, steps=20, guidance=2.0, size=64):
    te, unet, vae, scaling, tok, sched = model
    cond = te(torch.tensor([tok.encode(p) for p in prompts]))
    uncond = te(torch.tensor([tok.encode("")] * len(prompts)))
    acp = alphas_cumprod(sched).double().numpy()
    all_sigmas = ((1 - acp) / acp) ** 0.5
    timesteps = np.linspace(0, 999, steps)[::-1].copy()
    sigmas = np.append(np.interp(timesteps, np.arange(1000), all_sigmas), 0.0)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(len(prompts), 4, size // 4, size // 4, generator=g) * float(sigmas[0])
    for i, t in enumerate(timesteps):
        xin = x / float((sigmas[i] ** 2 + 1) ** 0.5)
        eps = unet(torch.cat([xin, xin]), torch.full((2 * len(prompts),), float(t)), torch.cat([uncond, cond]))
        if sched.get("prediction_type") == "v_prediction":  # v -> epsilon at alpha_bar = 1 / (sigma^2 + 1)
            a = 1.0 / float(sigmas[i] ** 2 + 1)
            eps = a ** 0.5 * eps + (1 - a) ** 0.5 * torch.cat([xin, xin])
        eu, ec = eps.chunk(2)
        x = x + (eu + guidance * (ec - eu)) * float(sigmas[i + 1] - sigmas[i])
    img = vae.decode(x / scaling)
    return ((img.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def score(img, case, palette, sizes):
    """(ok, details): background, shape colour, mass centre (and size, reported) of one picture."""
    names = list(palette)
    pal = np.array([palette[n] for n in names], float)
    px = img.reshape(-1, 3).astype(float)
    nearest = np.abs(px[:, None] - pal[None]).sum(-1).argmin(1)
    counts = np.bincount(nearest, minlength=len(names))
    bg = names[counts.argmax()]
    mask = (nearest != counts.argmax()) & (np.abs(px - pal[counts.argmax()]).sum(-1) > 80)
    colour = names[np.bincount(nearest[mask], minlength=len(names)).argmax()] if mask.any() else None
    n = img.shape[0]
    ys, xs = np.divmod(np.nonzero(mask)[0], n)
    centre = [(xs.mean() + 0.5) / n, (ys.mean() + 0.5) / n] if mask.any() else [np.nan, np.nan]
    dist = float(np.hypot(centre[0] - case["centre"][0], centre[1] - case["centre"][1]))
    area = mask.mean()
    size = min(sizes, key=lambda s: abs(np.log(max(area, 1e-4) / sizes[s])))
    ok = bg == case["background"] and colour == case["colour"] and dist <= 0.1
    return ok, dict(background=bg, colour=colour, centre=[round(c, 3) for c in centre], centre_error=round(dist, 3),
                    area=round(float(area), 4), size=size)


def write_png(path, a):
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[i].tobytes() for i in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "models", "demo"))
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--guidance", type=float, default=2.0)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--png", default="")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.model)
    h = json.load(open(os.path.join(args.model, "heldout.json")))
    cases = h["cases"]
    rows, total, right = [], 0, 0
    for seed in range(args.seeds):
        imgs = generate(model, [c["caption"] for c in cases], seed, args.steps, args.guidance)
        rows.append(np.concatenate(list(imgs), 1))
        for c, img in zip(cases, imgs):
            ok, d = score(img, c, h["palette"], h["sizes"])
            total += 1
            right += ok
            print(f"seed {seed} {'OK ' if ok else 'BAD'} {c['caption']!r}: {d} want {c['colour']}/{c['background']} "
                  f"centre {c['centre']} size {c['size']}")
    print(f"held-out: {right}/{total} right")
    if args.png:
        write_png(args.png, np.concatenate(rows, 0))


if __name__ == "__main__":
    main()
