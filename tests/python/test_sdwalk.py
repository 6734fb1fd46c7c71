"""The Python module against the CLI and the cookbook: same pixels as `sdwalk generate` and `sdwalk
walk`, and the notebook's example 2 (slerp between two noises) written in Python with
encode_prompt / denoise / decode reproduces the stored diffusers frames."""
import json
import os
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sdwalk

SOURCE = Path(os.environ.get("SDWALK_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BINARY = Path(os.environ.get("SDWALK_BINARY_DIR", SOURCE / "build"))
FIXTURES = Path(os.environ.get("SDWALK_FIXTURES") or SOURCE.parent / "shared" / "fixtures")
MODEL = FIXTURES / "mini-sd15"
pytestmark = pytest.mark.skipif(not MODEL.is_dir(), reason=f"no fixture model at {MODEL}")


def read_safetensors(path):
    """{name: numpy array} and the metadata (values JSON-decoded), without the safetensors package."""
    raw = Path(path).read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + n])
    meta = {k: json.loads(v) for k, v in header.pop("__metadata__", {}).items()}
    dtypes = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        data = np.frombuffer(raw[8 + n + begin : 8 + n + end], dtype=dtypes[info["dtype"]])
        tensors[name] = data.reshape(info["shape"])
    return tensors, meta


@pytest.fixture(scope="module")
def engine():
    return sdwalk.Engine(model=str(MODEL), threads=2, precision="f32")


def run_cli(*args):
    subprocess.run([str(BINARY / "sdwalk"), *args, "--model", str(MODEL), "--precision", "f32"], check=True,
                   capture_output=True)


def test_generate_gives_the_clis_pixels(engine, tmp_path):
    out = tmp_path / "cli.png"
    run_cli("generate", "-p", "a red circle", "--seed", "11", "--steps", "4", "--height", "64", "--width", "64",
            "-o", str(out))
    image = engine.generate("a red circle", seed=11, num_inference_steps=4, height=64, width=64)
    assert image.dtype == np.uint8 and image.shape == (64, 64, 3)
    assert np.array_equal(image, np.asarray(Image.open(out).convert("RGB")))


def test_walk_gives_the_clis_frames(engine, tmp_path):
    run_cli("walk", "prompts", "-p", "a red circle", "-p", "a blue square", "--seed", "4", "--num-interpolation-steps",
            "3", "--num-inference-steps", "3", "--height", "64", "--width", "64", "--pacing", "uniform", "--format", "png",
            "-o", str(tmp_path / "cli_frames"))
    frames = engine.walk("prompts", ["a red circle", "a blue square"], seed=4, frames=3, num_inference_steps=3,
                         height=64, width=64, run_dir=str(tmp_path / "py_run"))
    cli = sorted((tmp_path / "cli_frames").glob("frame_*.png"))
    assert len(frames) == len(cli) == 3
    for mine, theirs in zip(frames, cli):
        assert np.array_equal(mine, np.asarray(Image.open(theirs).convert("RGB")))


def test_encode_animation_gives_the_clis_gif(engine, tmp_path):
    run_cli("walk", "prompts", "-p", "a red circle", "-p", "a blue square", "--seed", "4", "--num-interpolation-steps",
            "3", "--num-inference-steps", "3", "--height", "64", "--width", "64", "--pacing", "uniform", "--ping-pong",
            "-o", str(tmp_path / "cli.gif"))
    frames = engine.walk("prompts", ["a red circle", "a blue square"], seed=4, frames=3, num_inference_steps=3,
                         height=64, width=64, run_dir=str(tmp_path / "py_run"))
    gif = sdwalk.encode_animation(frames, "gif", ping_pong=True)
    assert gif == (tmp_path / "cli.gif").read_bytes()
    with pytest.raises(sdwalk.Error, match="gif, webp, mp4 or webm"):
        sdwalk.encode_animation(frames, "png")


def test_cancel_from_the_callback(engine):
    steps = []
    with pytest.raises(sdwalk.Cancelled):
        engine.generate("x", num_inference_steps=5, height=64, width=64,
                        callback=lambda step, total: steps.append(step) or step < 2)
    assert steps == [1, 2]


def slerp(t, v0, v1, dot_threshold=0.9995):
    """The cookbook's slerp (numpy, float32 inputs)."""
    dot = np.sum(v0 * v1 / (np.linalg.norm(v0) * np.linalg.norm(v1)))
    if np.abs(dot) > dot_threshold:
        return (1 - t) * v0 + t * v1
    theta_0 = np.arccos(dot)
    sin_theta_0 = np.sin(theta_0)
    theta_t = theta_0 * t
    s0 = np.sin(theta_0 - theta_t) / sin_theta_0
    s1 = np.sin(theta_t) / sin_theta_0
    return s0 * v0 + s1 * v1


def test_cookbook_example_2_in_python(engine):
    path = FIXTURES / "expected" / "interpolation" / "walk2_latent_slerp.safetensors"
    if not path.exists():
        pytest.skip(f"no {path}")
    ref, meta = read_safetensors(path)
    cond = engine.encode_prompt(meta["prompt"])
    uncond = engine.encode_prompt(meta["negative_prompt"])
    assert np.abs(cond - ref["prompt_embeds"]).max() < 1e-4
    noises = ref["latents_pair"]
    ts = np.linspace(0, 1, meta["num_interpolation_steps"])
    for i, t in enumerate(ts):
        latents = slerp(np.float32(t), noises[0], noises[1]).astype(np.float32)[None]
        assert np.abs(latents[0] - ref["interpolated_latents"][i]).max() < 1e-5
        out = engine.denoise(cond, uncond, latents, num_inference_steps=meta["num_inference_steps"],
                             guidance_scale=meta["guidance_scale"], scheduler="LMSDiscreteScheduler")
        image = engine.decode(out)
        assert np.abs(image[0] - ref["frames"][i]).max() < 2e-3, f"frame {i}"
