"""The demo model's configs, written with the keys of diffusers'/transformers' config.json files."""

TEXT_ENCODER = {
    "architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0,
    "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 64, "initializer_factor": 1.0,
    "initializer_range": 0.02, "intermediate_size": 256, "layer_norm_eps": 1e-05, "max_position_embeddings": 77,
    "model_type": "clip_text_model", "num_attention_heads": 4, "num_hidden_layers": 2, "pad_token_id": 1,
    "projection_dim": 64, "torch_dtype": "float16", "transformers_version": "4.45.0", "vocab_size": 49408,
}

# 64x64 pictures -> 16x16x4 latents (three blocks: two downsamplers).
VAE = {
    "_class_name": "AutoencoderKL", "_diffusers_version": "0.30.3", "act_fn": "silu",
    "block_out_channels": [12, 24, 48],
    "down_block_types": ["DownEncoderBlock2D"] * 3, "up_block_types": ["UpDecoderBlock2D"] * 3,
    "force_upcast": False, "in_channels": 3, "latent_channels": 4, "latents_mean": None, "latents_std": None,
    "layers_per_block": 1, "mid_block_add_attention": True, "norm_num_groups": 4, "out_channels": 3,
    "sample_size": 64, "scaling_factor": None,  # measured after the VAE is trained: 1 / std(latents)
    "shift_factor": None, "use_post_quant_conv": True, "use_quant_conv": True,
}

# 16x16 latents; cross-attention at the 8x8 and 4x4 levels and in the 2x2 mid block. Features know
# where they are only near the borders (zero padding), so position words can act only at the coarse
# levels: with attention at 8x8 and a 4x4 mid block only, no UNet placed shapes by the caption.
UNET = {
    "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.30.3", "act_fn": "silu",
    "addition_embed_type": None, "addition_embed_type_num_heads": 64, "addition_time_embed_dim": None,
    "attention_head_dim": 2, "attention_type": "default", "block_out_channels": [32, 64, 128, 128],
    "center_input_sample": False, "class_embed_type": None, "class_embeddings_concat": False,
    "conv_in_kernel": 3, "conv_out_kernel": 3, "cross_attention_dim": 64, "cross_attention_norm": None,
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    "downsample_padding": 1, "dropout": 0.0, "dual_cross_attention": False, "encoder_hid_dim": None,
    "encoder_hid_dim_type": None, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
    "layers_per_block": 1, "mid_block_only_cross_attention": None, "mid_block_scale_factor": 1,
    "mid_block_type": "UNetMidBlock2DCrossAttn", "norm_eps": 1e-05, "norm_num_groups": 8,
    "num_attention_heads": None, "num_class_embeds": None, "only_cross_attention": False, "out_channels": 4,
    "projection_class_embeddings_input_dim": None, "resnet_out_scale_factor": 1.0, "resnet_skip_time_act": False,
    "resnet_time_scale_shift": "default", "reverse_transformer_layers_per_block": None, "sample_size": 16,
    "time_cond_proj_dim": None, "time_embedding_act_fn": None, "time_embedding_dim": None,
    "time_embedding_type": "positional", "timestep_post_act": None, "transformer_layers_per_block": 1,
    "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"], "upcast_attention": False,
    "use_linear_projection": False,
}

# DDPM's linear schedule (betas 1e-4 .. 0.02) rather than SD's scaled_linear: at t=999 it keeps
# sqrt(alpha_bar) = 0.006 of the picture (SD: 0.068). On 16x16 latents SD's leftover is enough for a
# model to read the layout (which side the shape is on) from the starting noise instead of the
# caption. There the picture is nearly all gone, so the UNet predicts v (diffusers' v_prediction:
# sqrt(a) noise - sqrt(1 - a) x0, which tends to -x0): predicting the noise would be trivial exactly
# where the caption has to set colours and layout. DPM-Solver++ (2M) samples it well in ~20 steps. lambda_min_clipped is left at its default
# (-inf), which JSON cannot spell.
SCHEDULER = {
    "_class_name": "DPMSolverMultistepScheduler", "_diffusers_version": "0.30.3", "algorithm_type": "dpmsolver++",
    "beta_end": 0.02, "beta_schedule": "linear", "beta_start": 0.0001, "clip_sample": False,
    "dynamic_thresholding_ratio": 0.995, "euler_at_final": False, "final_sigmas_type": "zero",
    "lower_order_final": True, "num_train_timesteps": 1000,
    "prediction_type": "v_prediction", "sample_max_value": 1.0, "set_alpha_to_one": False, "solver_order": 2,
    "solver_type": "midpoint", "steps_offset": 1, "thresholding": False, "timestep_spacing": "linspace",
    "trained_betas": None, "use_karras_sigmas": False, "use_lu_lambdas": False, "variance_type": None,
}

MODEL_INDEX = {
    "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.3",
    "feature_extractor": [None, None], "image_encoder": [None, None], "requires_safety_checker": False,
    "safety_checker": [None, None], "scheduler": ["diffusers", "DPMSolverMultistepScheduler"],
    "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"],
    "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
}
