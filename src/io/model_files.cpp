// load_model_files: picks the layout, gathers configs, checks weights against them, finds the tokenizer.
#include "sdwalk/model_files.hpp"

#include <cstring>
#include <set>

#include "io/model_loading.hpp"
#include "sdwalk/error.hpp"
#include "core/file_checks.hpp"

namespace sdwalk {
namespace {

using io::json;
namespace fs = std::filesystem;

bool is_float(DType d) { return d == DType::F32 || d == DType::F16 || d == DType::BF16 || d == DType::F64; }

// "" when `dir` holds a CLIP tokenizer, else what is missing.
std::string tokenizer_defect(const fs::path& dir) {
  if (!fs::is_directory(dir)) return "not a folder";
  for (const char* f : {"vocab.json", "merges.txt"}) {
    const std::string what = what_is_at(dir / f);
    if (what.empty()) return std::string("missing ") + f;
    if (!fs::is_regular_file(dir / f)) return std::string(f) + " is not a regular file (" + what + ")";
  }
  return "";
}

std::string summarize_dtypes(const ModelFiles& m) {
  std::set<DType> seen;
  for (const Weights* w : {&m.text_encoder, &m.text_encoder_2, &m.unet, &m.vae})
    for (const auto& name : w->names())
      if (is_float(w->get(name).dtype())) seen.insert(w->get(name).dtype());
  if (seen.empty()) return "none";
  return seen.size() == 1 ? dtype_name(*seen.begin()) : "mixed";
}

ModelFiles load_single_file(const fs::path& path, bool& open_clip) {
  const std::string ext = path.extension().string();
  if (ext == ".ckpt" || ext == ".pt" || ext == ".pth" || ext == ".bin")
    throw Error(path.string() + ": pickle checkpoints are not read (loading them can run code); use the .safetensors "
                                "version of the model");
  io::LdmNetworks nets = io::map_ldm_checkpoint(SafeTensors::open(path));
  ModelFiles m;
  m.layout = ModelLayout::LdmSingleFile;
  m.path = path;
  m.text_encoder = std::move(nets.text_encoder);
  m.unet = std::move(nets.unet);
  m.vae = std::move(nets.vae);
  io::InferredConfig text = io::infer_text_encoder_config(m.text_encoder), unet = io::infer_unet_config(m.unet);
  open_clip = nets.open_clip;
  if (open_clip) io::apply_sd2_defaults(unet, text);
  m.vae_config = io::infer_vae_config(m.vae).config;
  if (nets.sdxl) {
    // As diffusers' from_single_file without a config: SDXL base 1.0's configs where shapes cannot tell.
    m.text_encoder_2 = std::move(nets.text_encoder_2);
    const io::InferredConfig text_2 = io::infer_sdxl_text_encoder_2_config(m.text_encoder_2);
    io::apply_sdxl_defaults(unet, m.unet, text_2);
    m.text_encoder_2_config = text_2.config;
    for (const char* key : {"force_upcast", "sample_size", "scaling_factor"}) m.vae_config[key] = io::sdxl_vae_config()[key];
    m.scheduler_config = io::sdxl_scheduler_config();
    m.force_zeros_for_empty_prompt = true;
    m.config_source = "inferred from tensor shapes (+ SDXL base 1.0 defaults)";
  }
  m.text_encoder_config = text.config;
  m.unet_config = unet.config;
  if (nets.sdxl) return m;
  // As diffusers' from_single_file without a config: SD 2.x files get SD 2.1's (768-v) scheduler.
  m.scheduler_config = open_clip ? io::sd21_scheduler_config() : io::sd15_scheduler_config();
  m.config_source = open_clip ? "inferred from tensor shapes (+ SD 2.1 defaults)"
                              : "inferred from tensor shapes (+ SD 1.5 defaults)";
  return m;
}

// A value is NaN or Inf exactly when its exponent bits are all ones. Views into a file need not be
// aligned, hence memcpy loads.
template <class U>
bool any_nonfinite(const void* data, size_t n, U exponent_mask) {
  const auto* b = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    U v;
    std::memcpy(&v, b + i * sizeof(U), sizeof(U));
    if ((v & exponent_mask) == exponent_mask) return true;
  }
  return false;
}

}  // namespace

std::string layout_name(ModelLayout layout) {
  return layout == ModelLayout::DiffusersFolder ? "diffusers folder" : "single-file LDM checkpoint";
}

ModelFiles load_model_files(const fs::path& path, const fs::path& tokenizer_dir, const fs::path& config_dir) {
  if (!fs::exists(path))
    throw Error(path.string() + ": no such file or folder (expected a diffusers model folder or a .safetensors checkpoint)");
  bool open_clip = false;
  ModelFiles m = fs::is_directory(path) ? io::load_diffusers_folder(path) : load_single_file(path, open_clip);

  if (!config_dir.empty()) {
    if (!fs::is_directory(config_dir)) throw Error(config_dir.string() + ": --config must be a diffusers model folder");
    m.text_encoder_config = io::complete_text_encoder_config(io::read_json_file(config_dir / "text_encoder" / "config.json"));
    m.unet_config = io::complete_unet_config(io::read_json_file(config_dir / "unet" / "config.json"));
    m.vae_config = io::complete_vae_config(io::read_json_file(config_dir / "vae" / "config.json"));
    m.scheduler_config = io::read_json_file(config_dir / "scheduler" / "scheduler_config.json");
    m.config_source = config_dir.string() + " (given as config folder)";
  }

  if (open_clip && m.text_encoder_config.value("num_hidden_layers", json()).is_number_integer())
    m.text_encoder = io::keep_text_layers(m.text_encoder, m.text_encoder_config["num_hidden_layers"].get<int64_t>());

  const std::string label = path.string();
  if (!config_dir.empty() && m.is_sdxl()) {
    m.text_encoder_2_config =
        io::complete_text_encoder_config(io::read_json_file(config_dir / "text_encoder_2" / "config.json"));
    if (fs::is_regular_file(config_dir / "model_index.json")) {  // StableDiffusionXLPipeline's default: true
      const json index = io::read_json_file(config_dir / "model_index.json");
      const auto it = index.find("force_zeros_for_empty_prompt");
      m.force_zeros_for_empty_prompt = it == index.end() || !it->is_boolean() || it->get<bool>();
    }
  }
  io::check_supported(m.unet_config, m.text_encoder_config, m.text_encoder_2_config, label);
  io::check_config_values(m);
  try {
    io::check_weights(m.text_encoder, io::text_encoder_tensor_shapes(m.text_encoder_config), m.config_source);
    io::check_weights(m.unet, io::unet_tensor_shapes(m.unet_config), m.config_source);
    io::check_weights(m.vae, io::vae_tensor_shapes(m.vae_config), m.config_source);
    if (m.is_sdxl())
      io::check_weights(m.text_encoder_2, io::text_encoder_tensor_shapes(m.text_encoder_2_config), m.config_source);
  } catch (const Error& e) {
    if (m.layout == ModelLayout::LdmSingleFile && config_dir.empty())
      throw Error(std::string(e.what()) + "; if this is a non-standard SD 1.x/2.x/SDXL model, pass the folder of its diffusers "
                                          "configs (--config DIR)");
    throw;
  }

  if (!tokenizer_dir.empty()) {
    if (auto defect = tokenizer_defect(tokenizer_dir); !defect.empty())
      throw Error("tokenizer folder " + tokenizer_dir.string() + ": " + defect +
                  " (a CLIP tokenizer folder holds vocab.json and merges.txt)");
    m.tokenizer_dir = tokenizer_dir;
  } else if (m.layout == ModelLayout::DiffusersFolder) {
    for (const fs::path& dir : {m.tokenizer_dir, m.tokenizer_2_dir}) {
      if (dir.empty()) continue;  // tokenizer_2: SDXL only
      if (auto defect = tokenizer_defect(dir); !defect.empty())
        throw Error(dir.string() + ": " + defect + " (a CLIP tokenizer folder holds vocab.json and merges.txt)");
    }
  } else if (!config_dir.empty() && tokenizer_defect(config_dir / "tokenizer").empty()) {
    m.tokenizer_dir = config_dir / "tokenizer";
  }
  // A single SDXL file: the second tokenizer (SD 2's, padding with "!") from the config folder.
  if (m.layout == ModelLayout::LdmSingleFile && m.is_sdxl() && !config_dir.empty() &&
      tokenizer_defect(config_dir / "tokenizer_2").empty())
    m.tokenizer_2_dir = config_dir / "tokenizer_2";
  m.weights_dtype = summarize_dtypes(m);
  return m;
}

void check_finite(const Weights& w) {
  for (const auto& name : w.names()) {
    const Tensor& t = w.get(name);
    const size_t n = size_t(t.numel());
    bool bad = false;
    switch (t.dtype()) {
      case DType::F32: bad = any_nonfinite<uint32_t>(t.raw(), n, 0x7F800000u); break;
      case DType::F16: bad = any_nonfinite<uint16_t>(t.raw(), n, 0x7C00u); break;
      case DType::BF16: bad = any_nonfinite<uint16_t>(t.raw(), n, 0x7F80u); break;
      case DType::F64: bad = any_nonfinite<uint64_t>(t.raw(), n, 0x7FF0000000000000ull); break;
      default: break;
    }
    if (bad) throw Error(w.network() + ": tensor '" + name + "' contains NaN/Inf (" + w.source() + ")");
    release_mapped_pages(t);  // read once here; the models read it again when they convert it
  }
}

}  // namespace sdwalk
