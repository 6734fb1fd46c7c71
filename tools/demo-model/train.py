#!/usr/bin/python3
"""Trains the demo model from scratch (fixed seeds) and writes it as a diffusers folder (fp16).

  OPENBLAS_NUM_THREADS=1 nice -n 10 /usr/bin/python3 tools/demo-model/train.py [--out models/demo]

Phases: pictures (shapes.py) -> AutoencoderKL -> latents -> CLIP text encoder (taught to state each
caption's attributes, then frozen, as SD's CLIP) -> UNet2DConditionModel (v-prediction on DDPM's linear
noise schedule, 10% empty captions for classifier-free guidance, EMA weights) -> fp16 export.
Experiments: --set KEY=VALUE overrides a recipe value, --snapshot-every N also writes the model so far.
Needs Debian's python3-torch and python3-numpy (libopenblas0 makes it ~3x faster than reference BLAS).
"""
import argparse
import contextlib
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configs  # noqa: E402
import nets  # noqa: E402
import safetensors_io  # noqa: E402
import shapes  # noqa: E402
from clip_bpe import ClipBPE  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOKENIZER_SRC = os.path.join(os.path.dirname(REPO), "shared", "fixtures", "clip_tokenizer")
TOKENIZER_FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]

# The recipe (the defaults are what models/demo was trained with).
RECIPE = dict(images=10000, vae_steps=800, vae_batch=16, vae_lr=2e-3, kl_weight=1e-6,
              unet_steps=6000, unet_batch=32, unet_lr=1e-3, warmup=100, ema=0.999, uncond_prob=0.1,
              p_omit=0.25, t_high=0.0, te_steps=300, te_batch=64, te_lr=1e-3, te_joint=0, seed=0)


def log(msg, t0=[time.time()]):  # noqa: B006 (start time of the run)
    print(f"[{time.time() - t0[0]:7.1f}s] {msg}", flush=True)


def lr_at(step, total, base, warmup):
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup))))


def to_pixels(images_u8):
    return torch.from_numpy(images_u8).permute(0, 3, 1, 2).float() / 127.5 - 1


def train_vae(images, r):
    vae = nets.AutoencoderKL(configs.VAE)
    # Start the posterior narrow (std ~0.05): Adam moves a bias by at most ~lr per step, so from
    # logvar 0 it cannot get there in a short run, and a wide posterior blurs what the decoder learns.
    L = configs.VAE["latent_channels"]
    with torch.no_grad():
        vae.quant_conv.bias[L:] -= 6.0
    opt = torch.optim.AdamW(vae.parameters(), lr=r["vae_lr"], weight_decay=0.0)
    g = np.random.default_rng(r["seed"] + 1)
    for step in range(r["vae_steps"]):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, r["vae_steps"], r["vae_lr"], 20)
        x = to_pixels(images[g.integers(len(images), size=r["vae_batch"])])
        mean, logvar = vae.encode(x)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        rec = vae.decode(z)
        # L1 keeps the edges sharp, MSE the flat colours exact; the small KL keeps the latents tame.
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).mean()
        rec_loss = (rec - x).abs().mean() + (rec - x).pow(2).mean()
        loss = rec_loss + r["kl_weight"] * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        if step % 25 == 0 or step == r["vae_steps"] - 1:
            log(f"vae step {step}: reconstruction {rec_loss.item():.4f} kl {kl.item():.2f}")
    return vae.eval()


@torch.no_grad()
def encode_all(vae, images):
    means, logvars = [], []
    for i in range(0, len(images), 256):
        m, lv = vae.encode(to_pixels(images[i:i + 256]))
        means.append(m)
        logvars.append(lv)
    return torch.cat(means), torch.cat(logvars)


def alphas_cumprod(scheduler=configs.SCHEDULER):
    """The training noise schedule of a scheduler_config (diffusers computes it in float32)."""
    n, b0, b1 = scheduler["num_train_timesteps"], scheduler["beta_start"], scheduler["beta_end"]
    if scheduler["beta_schedule"] == "linear":
        betas = torch.linspace(b0, b1, n, dtype=torch.float32)
    else:  # scaled_linear
        betas = torch.linspace(b0 ** 0.5, b1 ** 0.5, n, dtype=torch.float32) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


class Ema:
    def __init__(self, modules):
        self.params = [p for m in modules for p in m.parameters()]
        self.shadow = [p.detach().clone() for p in self.params]

    @torch.no_grad()
    def update(self, step, decay):
        d = min(decay, (1 + step) / (10 + step))
        for s, p in zip(self.shadow, self.params):
            s.mul_(d).add_(p.detach(), alpha=1 - d)

    @torch.no_grad()
    def copy_to_params(self):
        for s, p in zip(self.shadow, self.params):
            p.copy_(s)

    @contextlib.contextmanager
    def swapped_in(self):
        """The parameters hold the EMA weights inside the block, their own after it."""
        own = [p.detach().clone() for p in self.params]
        self.copy_to_params()
        try:
            yield
        finally:
            with torch.no_grad():
                for o, p in zip(own, self.params):
                    p.copy_(o)


def make_text_encoder():
    te = nets.ClipTextModel(configs.TEXT_ENCODER)
    # transformers' CLIP initialisation for the embeddings
    torch.nn.init.normal_(te.text_model.embeddings.token_embedding.weight, std=0.02)
    torch.nn.init.normal_(te.text_model.embeddings.position_embedding.weight, std=0.01)
    return te


def caption_labels(t, text):
    """Classes of tuple t as its caption `text` states them; an attribute the caption leaves out gets
    the extra class 'unsaid' (the last)."""
    shape, colour, size, position, background = t
    said = [True, True, size in text, position in text, "background" in text]
    choices = [shapes.SHAPES, list(shapes.COLOURS), list(shapes.SIZES), list(shapes.POSITIONS), list(shapes.BACKGROUNDS)]
    return [c.index(v) if ok else len(c) for v, ok, c in zip(t, said, choices)]


def pretrain_text_encoder(te, attrs, tok, r):
    """Teaches the text encoder to state every attribute of a caption in the tokens from its end-of-text
    on (where the UNet's cross-attention finds them), as SD gets a pretrained CLIP. Trained jointly from
    scratch instead, the encoder learnt colours and backgrounds but kept position words nearly
    invisible: the UNet could not tell "on the left" from "on the right"."""
    heads = torch.nn.ModuleList(torch.nn.Linear(configs.TEXT_ENCODER["hidden_size"], n + 1) for n in (
        len(shapes.SHAPES) - 1, len(shapes.COLOURS) - 1, len(shapes.SIZES), len(shapes.POSITIONS), len(shapes.BACKGROUNDS)))
    params = list(te.parameters()) + list(heads.parameters())
    opt = torch.optim.AdamW(params, lr=r["te_lr"], weight_decay=0.0, foreach=True)
    eos = tok.eos
    g = np.random.default_rng(r["seed"] + 4)
    for step in range(r["te_steps"]):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, r["te_steps"], r["te_lr"], 20)
        batch = [attrs[i] for i in g.integers(len(attrs), size=r["te_batch"])]
        texts = [shapes.random_caption(t, g, r["p_omit"]) for t in batch]
        ids = torch.tensor([tok.encode(t) for t in texts])
        labels = torch.tensor([caption_labels(t, x) for t, x in zip(batch, texts)])
        # mean of the hidden states from the first end-of-text token to the end
        tail = (ids == eos).float().cumsum(1).clamp(max=1).unsqueeze(-1)
        pooled = (te(ids) * tail).sum(1) / tail.sum(1)
        logits = [h(pooled) for h in heads]
        loss = sum(F.cross_entropy(lg, labels[:, k]) for k, lg in enumerate(logits))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 50 == 0 or step == r["te_steps"] - 1:
            acc = torch.stack([(lg.argmax(1) == labels[:, k]).float().mean() for k, lg in enumerate(logits)])
            log(f"text encoder step {step}: loss {loss.item():.4f}, accuracy per attribute {[round(a, 2) for a in acc.tolist()]}")
    return te


def train_unet(latent_mean, latent_logvar, attrs, scaling, tok, te, r, snapshot=None):
    """UNet on the latents; the text encoder frozen (te_joint=0, as SD) or trained along (1)."""
    unet = nets.UNet2DConditionModel(configs.UNET)
    te.requires_grad_(bool(r["te_joint"]))
    trained = [unet, te] if r["te_joint"] else [unet]
    params = [p for m in trained for p in m.parameters()]
    opt = torch.optim.AdamW(params, lr=r["unet_lr"], weight_decay=0.0, foreach=True)
    ema = Ema(trained)
    acp = alphas_cumprod()
    g = np.random.default_rng(r["seed"] + 2)
    cache = {}

    def ids_of(text):
        if text not in cache:
            cache[text] = tok.encode(text)
        return cache[text]

    for step in range(r["unet_steps"]):
        for group in opt.param_groups:
            group["lr"] = lr_at(step, r["unet_steps"], r["unet_lr"], r["warmup"])
        idx = g.integers(len(attrs), size=r["unet_batch"])
        texts = ["" if g.random() < r["uncond_prob"] else shapes.random_caption(attrs[i], g, r["p_omit"]) for i in idx]
        ids = torch.tensor([ids_of(t) for t in texts])
        idx_t = torch.from_numpy(idx)
        x0 = (latent_mean[idx_t] + torch.exp(0.5 * latent_logvar[idx_t]) * torch.randn_like(latent_mean[idx_t])) * scaling
        # t_high of the batch is drawn from t >= 400 (where the layout is decided), the rest uniformly.
        t = torch.randint(0, 1000, (len(idx),))
        if r["t_high"] > 0:
            t = torch.where(torch.rand(len(idx)) < r["t_high"], torch.randint(400, 1000, (len(idx),)), t)
        noise = torch.randn_like(x0)
        a = acp[t].view(-1, 1, 1, 1)
        noisy = a.sqrt() * x0 + (1 - a).sqrt() * noise
        target = a.sqrt() * noise - (1 - a).sqrt() * x0  # v (configs.SCHEDULER's prediction_type)
        with torch.set_grad_enabled(bool(r["te_joint"])):
            context = te(ids)
        loss = F.mse_loss(unet(noisy, t, context), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema.update(step, r["ema"])
        if step % 25 == 0 or step == r["unet_steps"] - 1:
            log(f"unet step {step}: loss {loss.item():.4f} (distinct captions so far {len(cache)})")
        if snapshot:
            snapshot(step + 1, ema, unet, te)
    ema.copy_to_params()
    return unet.eval(), te.eval()


def half_state(module):
    return {k: v.detach().to(torch.float16) for k, v in module.state_dict().items()}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def export(out, vae, unet, te, scaling, heldout):
    for sub in ("text_encoder", "tokenizer", "unet", "vae", "scheduler"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    write_json(os.path.join(out, "model_index.json"), configs.MODEL_INDEX)
    write_json(os.path.join(out, "scheduler", "scheduler_config.json"), configs.SCHEDULER)
    write_json(os.path.join(out, "text_encoder", "config.json"), configs.TEXT_ENCODER)
    write_json(os.path.join(out, "unet", "config.json"), configs.UNET)
    write_json(os.path.join(out, "vae", "config.json"), {**configs.VAE, "scaling_factor": scaling})
    safetensors_io.save(os.path.join(out, "text_encoder", "model.safetensors"), half_state(te), {"format": "pt"})
    safetensors_io.save(os.path.join(out, "unet", "diffusion_pytorch_model.safetensors"), half_state(unet), {"format": "pt"})
    safetensors_io.save(os.path.join(out, "vae", "diffusion_pytorch_model.safetensors"), half_state(vae), {"format": "pt"})
    for name in TOKENIZER_FILES:
        shutil.copyfile(os.path.join(TOKENIZER_SRC, name), os.path.join(out, "tokenizer", name))
    write_json(os.path.join(out, "heldout.json"), shapes.heldout_json(heldout))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "models", "demo"))
    ap.add_argument("--smoke", action="store_true", help="a few steps of everything, to check the plumbing")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe value (experiments)")
    ap.add_argument("--snapshot-every", type=int, default=0, help="also write the EMA model every N UNet steps")
    args = ap.parse_args()
    r = dict(RECIPE)
    for kv in args.set:
        key, value = kv.split("=", 1)
        if key not in r:
            sys.exit(f"train.py: --set {key}: not a recipe key ({', '.join(r)})")
        r[key] = type(r[key])(value)
    if args.smoke:
        r.update(images=256, vae_steps=3, te_steps=3, unet_steps=3)
    torch.set_num_threads(1)  # the build machine is shared; one thread is also the fastest under load
    torch.manual_seed(r["seed"])
    t_start = time.time()

    heldout = shapes.heldout_tuples()
    images, attrs = shapes.dataset(r["images"], seed=r["seed"] + 3, exclude=heldout)
    log(f"{len(images)} pictures, {len(set(attrs))} attribute tuples, {len(heldout)} held out")
    t_data = time.time()

    vae = train_vae(images, r)
    mean, logvar = encode_all(vae, images)
    sample = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
    scaling = float(f"{1.0 / sample.std().item():.5g}")
    log(f"latents {tuple(mean.shape)}, scaling_factor {scaling}")
    t_vae = time.time()

    tok = ClipBPE(TOKENIZER_SRC)
    def snapshot(step, ema, unet, te):  # every --snapshot-every steps: the EMA weights so far, beside --out
        if not args.snapshot_every or step % args.snapshot_every or step == r["unet_steps"]:
            return
        with ema.swapped_in():
            export(f"{args.out}-step{step}", vae, unet, te, scaling, heldout)
        log(f"snapshot {args.out}-step{step}")

    te = pretrain_text_encoder(make_text_encoder(), attrs, tok, r)
    t_te = time.time()
    unet, te = train_unet(mean, logvar, attrs, scaling, tok, te, r, snapshot)
    t_unet = time.time()

    # Round-trip through fp16 so the self-check sees the shipped weights.
    for m in (vae, unet, te):
        m.load_state_dict({k: v.float() for k, v in half_state(m).items()})
    export(args.out, vae, unet, te, scaling, heldout)
    timing = {"data_s": round(t_data - t_start), "vae_s": round(t_vae - t_data), "text_encoder_s": round(t_te - t_vae),
              "unet_s": round(t_unet - t_te),
              "total_s": round(time.time() - t_start)}
    write_json(os.path.join(args.out, "training.json"), {"recipe": r, "timing": timing, "torch": torch.__version__})
    log(f"wrote {args.out}: {timing}")


if __name__ == "__main__":
    main()
