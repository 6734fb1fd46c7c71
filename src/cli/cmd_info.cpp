// sdwalk info MODEL: what the loader found (layout, dtype, parameter counts, the main config values).
#include <cstdio>
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "sdwalk/error.hpp"
#include "sdwalk/model_family.hpp"
#include "sdwalk/model_files.hpp"

#include "sdwalk/lora.hpp"

namespace sdwalk::cli {
namespace {

struct InfoOptions {
  std::string model, tokenizer, config;
  std::vector<std::string> loras;
  bool json = false;
};

std::string thousands(int64_t n) {
  std::string s = std::to_string(n), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

std::string value(const nlohmann::json& config, const char* key) {
  auto it = config.find(key);
  if (it == config.end()) return "?";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// diffusers' legacy naming: with num_attention_heads null, attention_head_dim is the head count.
nlohmann::json unet_heads(const nlohmann::json& unet) {
  const auto heads = unet.value("num_attention_heads", nlohmann::json());
  return heads.is_null() ? unet.value("attention_head_dim", nlohmann::json()) : heads;
}

nlohmann::json network_json(const Weights& w) {
  return {{"tensors", w.size()}, {"parameters", w.parameter_count()}, {"source", w.source()}};
}

nlohmann::json summary_json(const ModelFiles& m) {
  const auto& u = m.unet_config;
  const auto& v = m.vae_config;
  const auto& t = m.text_encoder_config;
  nlohmann::json j;
  j["path"] = m.path.string();
  j["layout"] = layout_name(m.layout);
  j["weights_dtype"] = m.weights_dtype;
  j["tokenizer_dir"] = m.tokenizer_dir.string();
  j["config_source"] = m.config_source;
  j["text_encoder"] = network_json(m.text_encoder);
  j["text_encoder"]["hidden_size"] = t["hidden_size"];
  j["text_encoder"]["num_hidden_layers"] = t["num_hidden_layers"];
  j["text_encoder"]["num_attention_heads"] = t["num_attention_heads"];
  j["text_encoder"]["intermediate_size"] = t["intermediate_size"];
  j["text_encoder"]["max_position_embeddings"] = t["max_position_embeddings"];
  if (m.is_sdxl()) {
    const auto& t2 = m.text_encoder_2_config;
    j["tokenizer_2_dir"] = m.tokenizer_2_dir.string();
    j["text_encoder_2"] = network_json(m.text_encoder_2);
    for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                            "max_position_embeddings", "projection_dim"})
      j["text_encoder_2"][key] = t2[key];
    j["force_zeros_for_empty_prompt"] = m.force_zeros_for_empty_prompt;
  }
  j["unet"] = network_json(m.unet);
  j["unet"]["block_out_channels"] = u["block_out_channels"];
  j["unet"]["layers_per_block"] = u["layers_per_block"];
  j["unet"]["attention_heads"] = unet_heads(u);
  j["unet"]["cross_attention_dim"] = u["cross_attention_dim"];
  j["unet"]["in_channels"] = u["in_channels"];
  j["vae"] = network_json(m.vae);
  j["vae"]["block_out_channels"] = v["block_out_channels"];
  j["vae"]["latent_channels"] = v["latent_channels"];
  j["vae"]["scaling_factor"] = v["scaling_factor"];
  j["scheduler"] = value(m.scheduler_config, "_class_name");
  const ModelFamily family = model_family(m);
  j["family"] = family.label();
  j["prediction_type"] = family.prediction_type;
  j["timestep_spacing"] = family.timestep_spacing;
  if (const auto few = few_step_defaults(m))
    j["few_step"] = {{"why", few->why}, {"scheduler", few->scheduler}, {"num_inference_steps", few->num_inference_steps},
                     {"guidance_scale", few->guidance_scale}};
  j["total"] = {{"tensors", m.text_encoder.size() + m.text_encoder_2.size() + m.unet.size() + m.vae.size()},
                {"parameters", m.text_encoder.parameter_count() + m.text_encoder_2.parameter_count() +
                                   m.unet.parameter_count() + m.vae.parameter_count()}};
  return j;
}

void print_text(const ModelFiles& m) {
  const auto& u = m.unet_config;
  const auto& v = m.vae_config;
  const auto& t = m.text_encoder_config;
  auto counts = [](const Weights& w) {
    return std::to_string(w.size()) + " tensors, " + thousands(w.parameter_count()) + " parameters";
  };
  const ModelFamily family = model_family(m);
  std::printf("model:         %s\n", m.path.string().c_str());
  std::printf("family:        %s\n", family.label().c_str());
  std::printf("layout:        %s\n", layout_name(m.layout).c_str());
  std::printf("weights dtype: %s\n", m.weights_dtype.c_str());
  std::printf("configs:       %s\n", m.config_source.c_str());
  std::printf("tokenizer:     %s\n",
              m.tokenizer_dir.empty() ? "none found (pass --tokenizer DIR)" : m.tokenizer_dir.string().c_str());
  std::printf("text_encoder:  %s\n", counts(m.text_encoder).c_str());
  std::printf("               CLIPTextModel: hidden_size %s, %s layers, %s heads, intermediate_size %s, %s positions\n",
              value(t, "hidden_size").c_str(), value(t, "num_hidden_layers").c_str(),
              value(t, "num_attention_heads").c_str(), value(t, "intermediate_size").c_str(),
              value(t, "max_position_embeddings").c_str());
  if (m.is_sdxl()) {
    const auto& t2 = m.text_encoder_2_config;
    std::printf("text_encoder_2: %s\n", counts(m.text_encoder_2).c_str());
    std::printf("               CLIPTextModelWithProjection: hidden_size %s, %s layers, %s heads, projection_dim %s "
                "(tokenizer %s)\n",
                value(t2, "hidden_size").c_str(), value(t2, "num_hidden_layers").c_str(),
                value(t2, "num_attention_heads").c_str(), value(t2, "projection_dim").c_str(),
                m.tokenizer_2_dir.empty() ? "none found (pass --config DIR)" : m.tokenizer_2_dir.string().c_str());
  }
  std::printf("unet:          %s\n", counts(m.unet).c_str());
  std::printf("               block_out_channels %s, layers_per_block %s, attention heads %s, cross_attention_dim %s, "
              "in_channels %s\n",
              value(u, "block_out_channels").c_str(), value(u, "layers_per_block").c_str(), unet_heads(u).dump().c_str(),
              value(u, "cross_attention_dim").c_str(), value(u, "in_channels").c_str());
  std::printf("vae:           %s\n", counts(m.vae).c_str());
  std::printf("               block_out_channels %s, latent_channels %s, scaling_factor %s\n",
              value(v, "block_out_channels").c_str(), value(v, "latent_channels").c_str(),
              value(v, "scaling_factor").c_str());
  std::printf("scheduler:     %s, prediction_type %s, timestep_spacing %s\n",
              value(m.scheduler_config, "_class_name").c_str(), family.prediction_type.c_str(),
              family.timestep_spacing.c_str());
  if (const auto few = few_step_defaults(m))
    std::printf("few-step:      %s: walks default to %s, %d step(s), guidance %g\n", few->why.c_str(),
                few->scheduler.c_str(), few->num_inference_steps, few->guidance_scale);
  std::printf("total:         %zu tensors, %s parameters, all finite\n",
              m.text_encoder.size() + m.text_encoder_2.size() + m.unet.size() + m.vae.size(),
              thousands(m.text_encoder.parameter_count() + m.text_encoder_2.parameter_count() + m.unet.parameter_count() +
                        m.vae.parameter_count())
                  .c_str());
  if (m.layout == ModelLayout::LdmSingleFile && m.config_source.rfind("inferred", 0) == 0)
    std::printf("note:          attention heads, norm groups, scaling_factor and the scheduler are %s's values "
                "(tensor shapes cannot tell them); pass --config DIR for other models\n",
                family.name == "SDXL" ? "SDXL base 1.0" : family.name == "SD 2.x" ? "SD 2.1" : "SD 1.5");
}

}  // namespace

void add_info_command(CLI::App& app) {
  auto opts = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Show what a model holds: layout, dtype, parameter counts, configs");
  cmd->add_option("MODEL", opts->model, "diffusers model folder or single-file .safetensors LDM checkpoint")->required();
  cmd->add_option("--tokenizer", opts->tokenizer, "folder with vocab.json + merges.txt (for single files)");
  cmd->add_option("--config", opts->config, "diffusers model folder whose configs to use (for non-standard single files)");
  cmd->add_option("--lora", opts->loras, "LoRA FILE[:SCALE] to check against the model: the layers it patches (repeatable)");
  cmd->add_flag("--json", opts->json, "print the summary as one JSON document");
  cmd->callback([opts] {
    std::vector<LoraSpec> specs;
    for (const std::string& text : opts->loras) specs.push_back(parse_lora_spec(text, "--lora"));
    const ModelFiles m = load_model_files(opts->model, opts->tokenizer, opts->config);
    // Read and matched against the model as generate/walk do: unknown keys and shape mismatches fail here.
    std::vector<LoraAdapter> adapters;
    for (const LoraSpec& spec : specs)
      adapters.push_back(load_lora(spec, m.unet, m.text_encoder, m.is_sdxl() ? &m.text_encoder_2 : nullptr));
    for (const Weights* w : {&m.text_encoder, &m.text_encoder_2, &m.unet, &m.vae}) check_finite(*w);
    if (opts->json) {
      nlohmann::json j = summary_json(m);
      if (!adapters.empty()) {
        j["loras"] = nlohmann::json::array();
        for (const LoraAdapter& a : adapters)
          j["loras"].push_back({{"file", a.spec.file.string()}, {"scale", a.spec.scale}, {"format", a.format},
                                {"unet_layers", a.layers_in("unet")}, {"text_encoder_layers", a.layers_in("text_encoder")},
                                {"text_encoder_2_layers", a.layers_in("text_encoder_2")}, {"layers", a.layers.size()}});
      }
      std::cout << j.dump(2) << "\n";
    } else {
      print_text(m);
      for (const LoraAdapter& a : adapters) {
        const std::string te2 =
            m.is_sdxl() ? ", text_encoder_2 " + std::to_string(a.layers_in("text_encoder_2")) : std::string();
        std::printf("lora:          %s (%s, scale %g): %zu layers patched (unet %zu, text_encoder %zu%s)\n",
                    a.spec.file.string().c_str(), a.format.c_str(), a.spec.scale, a.layers.size(),
                    a.layers_in("unet"), a.layers_in("text_encoder"), te2.c_str());
      }
    }
  });
}

}  // namespace sdwalk::cli
