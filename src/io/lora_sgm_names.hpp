#pragma once
// kohya sd-scripts' SDXL LoRA names the UNet's layers by the original (sgm / openaimodel) blocks:
//   lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q   (an attention block's layer)
//   lora_unet_middle_block_1_proj_in, lora_unet_output_blocks_0_1_ff_net_0_proj
//   lora_unet_input_blocks_1_0_in_layers_2                       (a resnet's conv1)
//   lora_unet_input_blocks_3_0_op, lora_unet_output_blocks_2_2_conv (down/upsamplers)
//   lora_unet_time_embed_0, lora_unet_label_emb_0_0, lora_unet_out_2, lora_unet_input_blocks_0_0
// The blocks map as the single-file reader maps them (io/ldm_checkpoint.cpp, ldm_unet_name).
#include <string>

#include "sdwalk/weights.hpp"

namespace sdwalk::io {

// The diffusers module that kohya's SDXL UNet module name `module` (without lora_unet_) adapts, with
// '.' -> '_' as kohya spells diffusers names ("" when `module` is no sgm name). `unet`: the model's
// UNet (diffusers names), which tells the layers per block.
std::string sgm_lora_module(const std::string& module, const Weights& unet);

}  // namespace sdwalk::io
