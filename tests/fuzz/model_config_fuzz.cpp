// libFuzzer target for the diffusers config.json readers (unet/, vae/, text_encoder/): the text is
// read as each network's config, completed with diffusers' defaults, checked for SD 1.x and turned
// into the tensor schema; every step returns or raises sdwalk::Error. An accepted schema has only
// positive dimensions; ConfigReader, the models' typed reads, never changes an integer it returns.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "io/model_loading.hpp"
#include "models/config_reader.hpp"
#include "sdwalk/error.hpp"

namespace {

using namespace sdwalk;
using nlohmann::json;

// Completion keeps every key the file has and adds each default.
json completed(const json& doc, json (*complete)(json), const json& defaults) {
  const json c = complete(doc);
  for (const auto& [key, value] : doc.items()) FUZZ_CHECK(c.at(key) == value);
  for (const auto& [key, value] : defaults.items()) FUZZ_CHECK(c.contains(key));
  return c;
}

void schema(io::TensorShapes (*shapes)(const json&), const json& config) {
  try {
    for (const auto& [name, shape] : shapes(config)) {
      FUZZ_CHECK(!name.empty() && !shape.empty());
      for (int64_t d : shape) FUZZ_CHECK(d > 0);
    }
  } catch (const Error&) {
  }
}

void supported(const json& unet, const json& text) {
  try {
    io::check_supported(unet, text, nullptr, "fuzz");
    FUZZ_CHECK(unet.at("cross_attention_dim").is_number_integer() && text.at("hidden_size") == unet["cross_attention_dim"]);
  } catch (const Error&) {
  }
}

template <typename F>
void or_error(F f) {
  try {
    f();
  } catch (const Error&) {
  }
}

// Every typed read of every key: a value or Error. Integers come back unchanged or not at all.
void typed_reads(const json& doc) {
  const models::ConfigReader c(doc, "fuzz config");
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    const std::string& k = it.key();
    const json& value = it.value();
    or_error([&] {
      const int v = c.integer(k, 7);
      FUZZ_CHECK(value.is_null() ? v == 7 : value.get<double>() == double(v));
    });
    or_error([&] { c.number(k, 0.5); });
    or_error([&] { c.boolean(k, false); });
    or_error([&] { c.string(k, "x"); });
    or_error([&] {
      const auto v = c.integers(k, {});
      if (value.is_array()) {
        FUZZ_CHECK(v.size() == value.size());
        for (size_t i = 0; i < v.size(); ++i) FUZZ_CHECK(value[i].get<double>() == double(v[i]));
      }
    });
    or_error([&] { c.strings(k, {}); });
    or_error([&] { FUZZ_CHECK(c.per_block(k, 1, 3).size() == 3); });
    or_error([&] { c.require_null(k, "fuzz"); });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  json doc;
  try {
    doc = io::parse_json_object(std::string(reinterpret_cast<const char*>(data), size), "fuzz config.json");
  } catch (const Error&) {
    return 0;  // a clear error is the expected answer to a malformed file
  }
  FUZZ_CHECK(doc.is_object());
  const json unet = completed(doc, io::complete_unet_config, io::complete_unet_config(json::object()));
  const json vae = completed(doc, io::complete_vae_config, io::complete_vae_config(json::object()));
  const json text = completed(doc, io::complete_text_encoder_config, io::complete_text_encoder_config(json::object()));
  schema(io::unet_tensor_shapes, unet);
  schema(io::vae_tensor_shapes, vae);
  schema(io::text_encoder_tensor_shapes, text);
  supported(unet, io::sd15_text_encoder_config());
  supported(io::sd15_unet_config(), text);
  supported(unet, text);
  typed_reads(doc);
  return 0;
}
