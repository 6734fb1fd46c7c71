#!/usr/bin/python3
"""Runs the PyTorch twins (nets.py) of the demo model on fixed inputs and writes their outputs to
models/demo/reference.safetensors, which tests/models/demo_model_test.cpp compares sdwalk against.

  /usr/bin/python3 tools/demo-model/export_reference.py [--model models/demo]

Weights are read from the shipped fp16 files and computed in float32, as sdwalk does.
Tensor names: <network>.<what>; the C++ test pairs inputs and outputs by these names.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nets  # noqa: E402
import safetensors_io  # noqa: E402
import shapes  # noqa: E402
from clip_bpe import ClipBPE  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(module, path):
    state, _ = safetensors_io.load(path)
    module.load_state_dict(state, strict=True)
    return module.eval()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(REPO, "models", "demo"))
    ap.add_argument("--out", default="", help="where to write (default: MODEL/reference.safetensors)")
    args = ap.parse_args()
    m = args.model
    cfg = {n: json.load(open(os.path.join(m, n, "config.json"))) for n in ("text_encoder", "unet", "vae")}
    te = load(nets.ClipTextModel(cfg["text_encoder"]), os.path.join(m, "text_encoder", "model.safetensors"))
    unet = load(nets.UNet2DConditionModel(cfg["unet"]), os.path.join(m, "unet", "diffusion_pytorch_model.safetensors"))
    vae = load(nets.AutoencoderKL(cfg["vae"]), os.path.join(m, "vae", "diffusion_pytorch_model.safetensors"))
    heldout = json.load(open(os.path.join(m, "heldout.json")))["cases"]
    prompt = heldout[0]["caption"]
    g = torch.Generator().manual_seed(0)
    f = 2 ** (len(cfg["vae"]["block_out_channels"]) - 1)
    h = w = shapes.SIZE // f
    out = {}
    with torch.no_grad():
        ids = torch.tensor([ClipBPE(os.path.join(m, "tokenizer")).encode(t) for t in (prompt, "")])
        out["text_encoder.input_ids"] = ids
        out["text_encoder.last_hidden_state"] = te(ids)

        sample = torch.randn(2, cfg["unet"]["in_channels"], h, w, generator=g)
        timestep = 601.0
        out["unet.sample"] = sample
        out["unet.timestep"] = torch.tensor([timestep])
        out["unet.encoder_hidden_states"] = out["text_encoder.last_hidden_state"]
        out["unet.out"] = unet(sample, torch.full((2,), timestep), out["unet.encoder_hidden_states"])

        latents = torch.randn(1, cfg["vae"]["latent_channels"], h, w, generator=g)
        out["vae.latents"] = latents
        out["vae.decoded"] = vae.decode(latents)
        c = heldout[0]
        t = (c["shape"], c["colour"], c["size"], c["position"], c["background"])
        image = torch.from_numpy(shapes.render(*t)).permute(2, 0, 1)[None].float() / 127.5 - 1
        out["vae.image"] = image
        out["vae.mean"], out["vae.logvar"] = vae.encode(image)
    path = args.out or os.path.join(m, "reference.safetensors")
    safetensors_io.save(path, {k: v.contiguous() for k, v in out.items()},
                        {"prompt": prompt, "generator": "torch.Generator().manual_seed(0)", "dtype": "float32"})
    for k, v in out.items():
        print(f"{k}: {list(v.shape)} max|x| {v.abs().max().item():.4g}")
    print("wrote", path)


if __name__ == "__main__":
    main()
