#!/usr/bin/env python3
"""References for SDXL single-file checkpoints and SDXL LoRAs, computed with diffusers 0.30.3 on mini-sdxl.

1. Single file.  diffusers' own converter, scripts/convert_diffusers_to_original_sdxl.py at v0.30.3, run as is
   (on a scratch folder whose plain file names point at mini-sdxl's fp16 variant files, the names the script
   reads), writes the original Stability "sgm" layout.  The script hard-codes SDXL base's four VAE levels
   (decoder.up_blocks.i -> decoder.up.{3-i}); mini-sdxl's VAE has two, so for it those keys come out as
   decoder.up.3 / up.2 where the original layout (and diffusers' own reader, convert_ldm_vae_checkpoint,
   up.{n-1-i}) has up.1 / up.0.  That one renaming is applied and recorded ("vae_decoder_renamed"); it is the
   identity for a four-level VAE.  Then `StableDiffusionXLPipeline.from_single_file(file, config=mini-sdxl)`
   must give back every weight of every component bit for bit (checked, and recorded; the unrenamed file is
   tried too and the outcome recorded).  Stored: tests/data/sdxl_single_file_keys.json, every key with dtype,
   shape and fingerprints (float64 sum, sum of squares, and sum of x[i] * (i % 251 + 1) over the flattened
   tensor, which a transpose or permutation changes).

2. LoRA.  A random rank-4 LoRA in kohya sd-scripts' SDXL layout: lora_te1_* (CLIP-L, HF names), lora_te2_*
   (the second encoder, HF names), lora_unet_* with the sgm block names sd-scripts' SDXL UNet has
   (input_blocks_4_1_transformer_blocks_0_attn1_to_q, middle_block_1_..., output_blocks_0_1_...; inside a
   block diffusers' names: proj_in, attn1/attn2 to_q/to_k/to_v/to_out_0, ff_net_0_proj, ff_net_2), i.e. what
   sd-scripts' networks/lora.py targets by default (Transformer2DModel, CLIPAttention, CLIPMLP).  Alphas: UNet
   2, te1 1, te2 2 (scalings 0.5, 0.25, 0.5, powers of two).  Loaded with pipe.load_lora_weights (diffusers'
   _maybe_map_sgm_blocks_to_diffusers + _convert_non_diffusers_lora_to_diffusers, PEFT); every kohya module is
   found again in the PEFT module that holds its tensor (key_map.json).  The same LoRA in diffusers/PEFT format
   (save_lora_weights; no alpha in that format, so lora_B = up * alpha / r) is written and loaded too: the
   pipeline output must be bit-identical.  The pipeline run is expected/sdxl's "euler" case (64 x 64, 4 Euler
   steps, guidance 5, the astronaut prompt, no negative, latents_in of seed 91201), stored in the layout of
   expected/sdxl/pipeline_euler.safetensors.

fp32, torch.set_num_threads(1), fixed seeds.  Environment: ../shared/reference-env/README.md (FIX_* variables,
fixenv.setup(peft=True)).  Run:  python3 tools/reference/sdxl_single_file_and_lora.py [--fixtures DIR] [--out DIR]
"""
import argparse
import json
import os
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFENV = os.environ.get("FIX_REFERENCE_ENV", os.path.join(ROOT, "..", "shared", "reference-env"))
sys.path.insert(0, REFENV)
import fixenv  # noqa: E402

fixenv.pin_hashseed()
SCRATCH = fixenv.setup(peft=True)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402  (the reference env's pure-Python shim)

import diffusers  # noqa: E402
from diffusers import EulerDiscreteScheduler, StableDiffusionXLPipeline  # noqa: E402

CONVERTER = os.path.join(os.environ["FIX_DIFFUSERS_SRC"], "scripts", "convert_diffusers_to_original_sdxl.py")
PARTS = [("unet", "diffusion_pytorch_model"), ("vae", "diffusion_pytorch_model"), ("text_encoder", "model"),
         ("text_encoder_2", "model")]
PROMPT = "a photo of an astronaut riding a horse on mars"
LORA_SEED = 91301
RANK = 4
ALPHA = {"unet": 2.0, "te1": 1.0, "te2": 2.0}


def git_blob(path):
    out = subprocess.run(["git", "hash-object", path], capture_output=True, text=True)
    return out.stdout.strip() or None


def fingerprint(t):
    x = t.detach().to(torch.float64).reshape(-1).numpy()
    w = (np.arange(x.size) % 251 + 1).astype(np.float64)
    return {"sum": float(x.sum()), "sum_sq": float((x * x).sum()), "weighted_sum": float((x * w).sum())}


def dtype_name(t):
    return {torch.float16: "F16", torch.float32: "F32", torch.bfloat16: "BF16"}[t.dtype]


def load_folder(mini):
    pipe = StableDiffusionXLPipeline.from_pretrained(mini, variant="fp16", torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def compare_components(a, b):
    """Every state-dict entry of each component of two pipelines: same keys, bit-identical values."""
    out = {}
    for name in ["unet", "vae", "text_encoder", "text_encoder_2"]:
        sa, sb = getattr(a, name).state_dict(), getattr(b, name).state_dict()
        sa = {k: v for k, v in sa.items() if not k.endswith("position_ids")}
        sb = {k: v for k, v in sb.items() if not k.endswith("position_ids")}
        missing, extra = sorted(set(sa) - set(sb)), sorted(set(sb) - set(sa))
        not_loaded = sorted(k for k in set(sa) & set(sb) if sb[k].is_meta)  # left on the meta device
        differ = sorted(k for k in set(sa) & set(sb) if not sb[k].is_meta and (
            sa[k].shape != sb[k].shape or not torch.equal(sa[k].float(), sb[k].float())))
        out[name] = {"tensors": len(sa), "missing": missing[:5], "extra": extra[:5], "not_loaded": not_loaded[:5],
                     "differ": len(differ), "differ_first": differ[:3],
                     "identical": not (missing or extra or differ or not_loaded)}
    return out


# ---------------------------------------------------------------------------------------------- 1. single file
def single_file(mini, out_dir):
    plain = os.path.join(SCRATCH, "mini-sdxl-plain-names")
    for part, stem in PARTS:
        os.makedirs(os.path.join(plain, part), exist_ok=True)
        link = os.path.join(plain, part, stem + ".safetensors")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.join(mini, part, stem + ".fp16.safetensors"), link)
    converted = os.path.join(SCRATCH, "mini-sdxl.converter.safetensors")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REFENV, "shims")] + sys.path))
    subprocess.run([sys.executable, CONVERTER, "--model_path", plain, "--checkpoint_path", converted,
                    "--use_safetensors"], check=True, env=env, stdout=subprocess.DEVNULL)
    sd = load_file(converted)

    vae_levels = len(json.load(open(os.path.join(mini, "vae", "config.json")))["block_out_channels"])
    renamed, fixed = {}, {}
    pre = "first_stage_model.decoder.up."
    for k, v in sd.items():
        new = k
        if k.startswith(pre):
            level, rest = k[len(pre):].split(".", 1)
            new = pre + str(int(level) - 4 + vae_levels) + "." + rest  # the converter's 3 - i -> n - 1 - i
            if new != k:
                renamed[k] = new
        fixed[new] = v
    fixed_path = os.path.join(SCRATCH, "mini-sdxl.safetensors")
    save_file(fixed, fixed_path)

    folder = load_folder(mini)
    roundtrip = {}
    for label, path in [("converter_output_as_is", converted), ("with_vae_levels_renamed", fixed_path)]:
        try:
            single = StableDiffusionXLPipeline.from_single_file(path, config=mini, torch_dtype=torch.float32)
            roundtrip[label] = compare_components(folder, single)
        except Exception as e:  # noqa: BLE001  (recorded: the converter's output for a two-level VAE)
            roundtrip[label] = {"error": (type(e).__name__ + ": " + str(e)).splitlines()[0][:300]}
        print(label, json.dumps(roundtrip[label])[:400])
    # diffusers picks the reader of text_encoder_2 by the width of the first encoder's position embedding
    # (create_diffusers_clip_model_from_ldm: is_clip_sdxl_model and width == this encoder's -> CLIP-L's keys);
    # mini-sdxl's two encoders are both 32 wide, so from_single_file fills text_encoder_2 from
    # conditioner.embedders.0 (and leaves text_projection unloaded).  The second encoder is checked with the
    # function from_single_file calls for SDXL base's (1280 != 768) instead: convert_open_clip_checkpoint.
    from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint
    te2 = folder.text_encoder_2
    te2_sd = convert_open_clip_checkpoint(te2, fixed, prefix="conditioner.embedders.1.model.")
    ref_sd = {k: v for k, v in te2.state_dict().items() if not k.endswith("position_ids")}
    te2_ok = set(te2_sd) == set(ref_sd) and all(torch.equal(te2_sd[k].float(), ref_sd[k]) for k in ref_sd)
    roundtrip["text_encoder_2_by_convert_open_clip_checkpoint"] = {"tensors": len(te2_sd), "identical": te2_ok}
    print("text_encoder_2 via convert_open_clip_checkpoint identical:", te2_ok)
    r = roundtrip["with_vae_levels_renamed"]
    ok = "error" not in r and te2_ok and all(r[n]["identical"] for n in ["unet", "vae", "text_encoder"])
    if not ok:
        raise SystemExit("from_single_file did not give back mini-sdxl's weights")

    tensors = {k: {"dtype": dtype_name(v), "shape": list(v.shape), **fingerprint(v)} for k, v in sorted(fixed.items())}
    doc = {
        "description": "mini-sdxl as an original (sgm) SDXL single file: every key diffusers' "
                       "convert_diffusers_to_original_sdxl.py writes (decoder levels renamed as vae_decoder_renamed "
                       "says), dtype, shape and float64 fingerprints (sum, sum_sq, weighted_sum = sum x[i]*(i%251+1) "
                       "over the flattened tensor). Made by tools/reference/sdxl_single_file_and_lora.py.",
        "source": "fixtures mini-sdxl/ (fp16 variant files)",
        "converter": {"script": "scripts/convert_diffusers_to_original_sdxl.py", "blob": git_blob(CONVERTER),
                      "args": "--use_safetensors"},
        "vae_decoder_renamed": renamed,
        "from_single_file_roundtrip": roundtrip,
        "versions": fixenv.versions(),
        "tensor_count": len(tensors),
        "tensors": tensors,
    }
    path = os.path.join(out_dir, "sdxl_single_file_keys.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{path}: {len(tensors)} tensors, {len(renamed)} VAE keys renamed")


# ---------------------------------------------------------------------------------------------------- 2. LoRA
def sgm_block(path, layers_per_block):
    """diffusers' attention block path -> the sgm (original) block path sd-scripts' SDXL UNet names it by."""
    p = path.split(".")
    n = layers_per_block + 1
    if p[0] == "down_blocks":
        return "input_blocks.%d.1" % (1 + int(p[1]) * n + int(p[3])), p[4:]
    if p[0] == "mid_block":
        return "middle_block.1", p[3:]
    if p[0] == "up_blocks":
        return "output_blocks.%d.1" % (int(p[1]) * n + int(p[3])), p[4:]
    raise ValueError(path)


def lora_targets(pipe):
    """(kohya module name, network, diffusers module path, Linear) for every layer the LoRA adapts."""
    out = []
    L = pipe.unet.config.layers_per_block
    for name, mod in pipe.unet.named_modules():
        if type(mod).__name__ != "Transformer2DModel":
            continue
        block, _ = sgm_block(name, L)
        for sub, lin in mod.named_modules():
            if isinstance(lin, torch.nn.Linear):
                out.append(("lora_unet_" + (block + "." + sub).replace(".", "_"), "unet", name + "." + sub, lin))
    for te, net in [("te1", "text_encoder"), ("te2", "text_encoder_2")]:
        for name, lin in getattr(pipe, net).named_modules():
            if isinstance(lin, torch.nn.Linear) and (".self_attn." in name or ".mlp." in name):
                out.append(("lora_%s_%s" % (te, name.replace(".", "_")), net, name, lin))
    return out


def make_kohya_lora(pipe):
    g = torch.Generator().manual_seed(LORA_SEED)
    sd = {}
    for kname, net, _, lin in lora_targets(pipe):
        part = "unet" if net == "unet" else kname.split("_")[1]
        fan_in = lin.in_features
        down = torch.randn((RANK, fan_in), generator=g) / fan_in ** 0.5
        up = torch.randn((lin.out_features, RANK), generator=g) * (0.5 / RANK ** 0.5)
        sd[kname + ".lora_down.weight"] = down.half()
        sd[kname + ".lora_up.weight"] = up.half()
        sd[kname + ".alpha"] = torch.tensor(ALPHA[part], dtype=torch.float16)
    return sd


def peft_layers(pipe, adapter):
    """(network, module path, module) for every PEFT LoRA layer holding `adapter`."""
    out = []
    for net in ["unet", "text_encoder", "text_encoder_2"]:
        for name, mod in getattr(pipe, net).named_modules():
            if hasattr(mod, "lora_A") and adapter in getattr(mod, "lora_A", {}):
                out.append((net, name, mod))
    return out


def key_map(pipe, kohya, adapter):
    """Where diffusers put each kohya module: the PEFT module whose lora_A is its lora_down (tensor identity)."""
    layers = peft_layers(pipe, adapter)
    entries = {}
    for k in sorted(kohya):
        if not k.endswith(".lora_down.weight"):
            continue
        mod_name = k[: -len(".lora_down.weight")]
        down = kohya[k].float()
        hits = [(net, name, m) for net, name, m in layers if torch.equal(m.lora_A[adapter].weight.float(), down)]
        assert len(hits) == 1, (k, [h[:2] for h in hits])
        net, name, m = hits[0]
        assert torch.equal(m.lora_B[adapter].weight.float(), kohya[mod_name + ".lora_up.weight"].float())
        entries[mod_name] = {"network": net, "module": name, "peft_class": type(m).__name__,
                             "r": m.r[adapter], "lora_alpha": m.lora_alpha[adapter], "scaling": m.scaling[adapter]}
    assert len(entries) == len(layers), (len(entries), len(layers))
    return entries


def run_euler(pipe, latents_in, ref_meta):
    """expected/sdxl's euler case; returns the tensors of a pipeline_*.safetensors file."""
    steps = []

    def on_step(p, i, t, kw):
        steps.append(kw["latents"].detach().clone())
        return kw

    height, width = int(ref_meta["height"]), int(ref_meta["width"])
    n, guidance = int(ref_meta["num_inference_steps"]), float(ref_meta["guidance_scale"])
    with torch.no_grad():
        pe, npe, ppe, nppe = pipe.encode_prompt(PROMPT, do_classifier_free_guidance=True)
        res = pipe(prompt=PROMPT, height=height, width=width, num_inference_steps=n, guidance_scale=guidance,
                   latents=latents_in.clone(), output_type="latent", callback_on_step_end=on_step,
                   callback_on_step_end_tensor_inputs=["latents"])
        latents_final = res.images
        image = pipe.vae.decode(latents_final / pipe.vae.config.scaling_factor).sample
        image = (image / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).contiguous()
    tids = torch.tensor([[height, width, 0, 0, height, width]], dtype=torch.float32)
    return {"latents_in": latents_in, "timesteps": pipe.scheduler.timesteps.float(),
            "sigmas": pipe.scheduler.sigmas.float(), "step_latents": torch.stack(steps), "latents_final": latents_final,
            "image": image, "prompt_embeds": pe, "negative_prompt_embeds": npe, "pooled_prompt_embeds": ppe,
            "negative_pooled_prompt_embeds": nppe, "add_time_ids": tids, "negative_add_time_ids": tids.clone()}


def read_metadata(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))["__metadata__"]


def lora(mini, fixtures, out_dir):
    ref_path = os.path.join(fixtures, "expected", "sdxl", "pipeline_euler.safetensors")
    ref = load_file(ref_path)
    meta = read_metadata(ref_path)
    ref_meta = {k: json.loads(v) for k, v in meta.items()}
    latents_in = ref["latents_in"]

    # The base run first: this environment must reproduce expected/sdxl's own file.
    base = run_euler(load_folder(mini), latents_in, ref_meta)
    base_diff = float((base["latents_final"] - ref["latents_final"]).abs().max())
    print("no LoRA vs expected/sdxl/pipeline_euler: max |diff| latents_final", base_diff)
    assert base_diff < 1e-4, base_diff

    d = os.path.join(out_dir, "sdxl_lora")
    os.makedirs(os.path.join(d, "diffusers"), exist_ok=True)
    pipe = load_folder(mini)
    kohya = make_kohya_lora(pipe)
    kohya_path = os.path.join(d, "kohya.safetensors")
    save_file(kohya, kohya_path, metadata={"ss_network_module": "networks.lora", "ss_network_dim": str(RANK),
                                           "ss_base_model_version": "sdxl_base_v1-0"})
    pipe.load_lora_weights(d, weight_name="kohya.safetensors", adapter_name="kohya")
    kmap = key_map(pipe, load_file(kohya_path), "kohya")
    out_kohya = run_euler(pipe, latents_in, ref_meta)

    # The same LoRA in diffusers/PEFT format: B * scaling (alpha / r, a power of two), no alpha.
    layers = {"unet": {}, "text_encoder": {}, "text_encoder_2": {}}
    for net, name, m in peft_layers(pipe, "kohya"):
        layers[net][name + ".lora_A.weight"] = m.lora_A["kohya"].weight.detach().clone()
        layers[net][name + ".lora_B.weight"] = m.lora_B["kohya"].weight.detach() * m.scaling["kohya"]
    StableDiffusionXLPipeline.save_lora_weights(os.path.join(d, "diffusers"), unet_lora_layers=layers["unet"],
                                                text_encoder_lora_layers=layers["text_encoder"],
                                                text_encoder_2_lora_layers=layers["text_encoder_2"],
                                                safe_serialization=True)
    pipe2 = load_folder(mini)
    pipe2.load_lora_weights(os.path.join(d, "diffusers"), weight_name="pytorch_lora_weights.safetensors",
                          adapter_name="diffusers")
    out_diffusers = run_euler(pipe2, latents_in, ref_meta)
    same = all(torch.equal(out_kohya[k], out_diffusers[k]) for k in out_kohya)
    print("diffusers-format copy bit-identical to the kohya file's run:", same)
    assert same

    lora_effect = float((out_kohya["latents_final"] - base["latents_final"]).abs().max())
    image_effect = float((out_kohya["image"] - base["image"]).abs().max())
    print("LoRA effect: max |diff| latents_final %.3g, image %.3g" % (lora_effect, image_effect))
    md = dict(meta)
    md.update({"generator": json.dumps("tools/reference/sdxl_single_file_and_lora.py"),
               "case": json.dumps("pipeline_euler_lora"), "lora": json.dumps("kohya.safetensors"),
               "lora_scale": json.dumps(1.0)})
    save_file({k: v.contiguous() for k, v in out_kohya.items()}, os.path.join(d, "pipeline_euler_lora.safetensors"),
              metadata=md)
    counts = {}
    for e in kmap.values():
        counts[e["network"]] = counts.get(e["network"], 0) + 1
    cases = {"base": "expected/sdxl/pipeline_euler.safetensors (its settings, prompt and latents_in)",
             "lora_seed": LORA_SEED, "rank": RANK, "alpha": ALPHA, "layers": counts,
             "no_lora_vs_expected_max_abs_diff": base_diff,
             "lora_effect_max_abs": {"latents_final": lora_effect, "image": image_effect},
             "diffusers_format_bit_identical": same, "versions": fixenv.versions(), "blas": fixenv.blas_library(),
             "peft": __import__("peft").__version__, "torch_threads": torch.get_num_threads()}
    with open(os.path.join(d, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1, sort_keys=True)
        f.write("\n")
    with open(os.path.join(d, "key_map.json"), "w") as f:
        json.dump(kmap, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{d}: {len(kmap)} modules {counts}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", default=os.environ.get("SDWALK_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures")))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "data"))
    ap.add_argument("--only", choices=["single_file", "lora"])
    a = ap.parse_args()
    mini = os.path.abspath(os.path.join(a.fixtures, "mini-sdxl"))
    torch.manual_seed(0)
    if a.only in (None, "single_file"):
        single_file(mini, a.out)
    if a.only in (None, "lora"):
        lora(mini, a.fixtures, a.out)
    print("diffusers", diffusers.__version__)


if __name__ == "__main__":
    main()
