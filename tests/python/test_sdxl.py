"""The Python module on SDXL against diffusers' StableDiffusionXLPipeline (fixtures expected/sdxl, made
from mini-sdxl): encode_prompt with the pooled embeddings and the zeroed unconditional side, a loop of
encode_prompt / denoise with pooled embeddings from the stored latents, and generate with a negative
prompt and explicit size conditioning. Tolerances: the fixtures README's section 8."""
import numpy as np
import pytest

import sdwalk
from test_sdwalk import FIXTURES, read_safetensors

MODEL = FIXTURES / "mini-sdxl"
EXPECTED = FIXTURES / "expected" / "sdxl"
pytestmark = pytest.mark.skipif(not MODEL.is_dir(), reason=f"no SDXL fixture model at {MODEL}")

MODULE_TOL = (1e-4, 1e-4)   # (absolute, relative to the reference's largest magnitude)
LATENTS_TOL = (2e-3, 1e-4)
IMAGE_TOL = 1e-3 * 255 + 1  # images in [0, 1] to 1e-3, and our uint8 rounding


def close(ours, ref, tol):
    atol, rtol = tol
    return np.abs(ours - ref).max() <= atol + rtol * np.abs(ref).max()


def case(name):
    path = EXPECTED / f"{name}.safetensors"
    if not path.exists():
        pytest.skip(f"no {path}")
    return read_safetensors(path)


@pytest.fixture(scope="module")
def engine():
    return sdwalk.Engine(model=str(MODEL), threads=2, precision="f32")


def test_encode_prompt_pooled_and_zero_negatives(engine):
    ref, meta = case("pipeline_euler")
    embeds, pooled = engine.encode_prompt(meta["prompt"], return_pooled=True)
    assert close(embeds, ref["prompt_embeds"], MODULE_TOL)
    assert close(pooled, ref["pooled_prompt_embeds"], MODULE_TOL)
    # negative_prompt=None under force_zeros_for_empty_prompt: zeros, as diffusers passes them.
    neg, neg_pooled = engine.encode_prompt("", return_pooled=True, negative=True)
    assert not neg.any() and not neg_pooled.any()
    assert np.array_equal(neg, ref["negative_prompt_embeds"])
    # without return_pooled, the embeddings alone (as on SD 1.x)
    assert np.array_equal(engine.encode_prompt(meta["prompt"]), embeds)


def test_denoise_loop_with_pooled_embeddings(engine):
    ref, meta = case("pipeline_euler")
    cond, pooled = engine.encode_prompt(meta["prompt"], return_pooled=True)
    uncond, neg_pooled = engine.encode_prompt("", return_pooled=True, negative=True)
    noise = ref["latents_in"]  # diffusers' latents= (the pipeline scales it by init_noise_sigma)
    latents = engine.denoise(cond, uncond, noise, num_inference_steps=int(meta["num_inference_steps"]),
                             guidance_scale=float(meta["guidance_scale"]), pooled=pooled, negative_pooled=neg_pooled)
    assert close(latents, ref["latents_final"], LATENTS_TOL)
    image = engine.decode(latents)
    assert np.abs(image - ref["image"]).max() <= 1e-3
    with pytest.raises(sdwalk.Error, match="pooled"):
        engine.denoise(cond, uncond, noise, num_inference_steps=2)  # an SDXL UNet needs them


def test_generate_with_negative_prompt_and_size_conditioning(engine):
    ref, meta = case("pipeline_euler_negative_sizes")
    image = engine.generate(meta["prompt"], negative_prompt=meta["negative_prompt"], height=int(meta["height"]),
                            width=int(meta["width"]), num_inference_steps=int(meta["num_inference_steps"]),
                            guidance_scale=float(meta["guidance_scale"]), seed=int(meta["generator_seed"]),
                            original_size=tuple(meta["original_size"]),
                            crops_coords_top_left=tuple(meta["crops_coords_top_left"]))
    assert np.abs(image.astype(np.float64) - ref["image"][0] * 255).max() <= IMAGE_TOL
    # the default size conditioning is another picture
    plain = engine.generate(meta["prompt"], negative_prompt=meta["negative_prompt"], height=int(meta["height"]),
                            width=int(meta["width"]), num_inference_steps=int(meta["num_inference_steps"]),
                            guidance_scale=float(meta["guidance_scale"]), seed=int(meta["generator_seed"]))
    assert not np.array_equal(plain, image)
    with pytest.raises(sdwalk.Error, match="original_size: expected two numbers"):
        engine.generate("x", height=64, width=64, num_inference_steps=1, original_size=(96,))


def test_size_conditioning_refused_on_sd15():
    sd15 = FIXTURES / "mini-sd15"
    if not sd15.is_dir():
        pytest.skip(f"no {sd15}")
    e = sdwalk.Engine(model=str(sd15), threads=1, precision="f32")
    with pytest.raises(sdwalk.Error):
        e.generate("x", height=64, width=64, num_inference_steps=1, original_size=(96, 80))
    with pytest.raises(sdwalk.Error, match="not SDXL"):
        e.encode_prompt("x", return_pooled=True)
