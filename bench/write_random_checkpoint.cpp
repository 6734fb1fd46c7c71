// Writes an SD 1.5-sized model with random weights as a diffusers folder, for end-to-end runs
// (peak memory of `sdwalk generate` on a full-sized checkpoint). Its output is never committed.
//   write_random_checkpoint OUT_DIR [--dtype f32|f16|bf16] [--tokenizer DIR]
// --tokenizer: a CLIP tokenizer folder (vocab.json, merges.txt) copied into OUT_DIR/tokenizer.
#include <cstdio>
#include <filesystem>
#include <string>

#include "sdwalk/error.hpp"
#include "models/random_weights.hpp"

namespace {

using namespace sdwalk;

int run(int argc, char** argv) {
  check(argc >= 2, "usage: write_random_checkpoint OUT_DIR [--dtype f32|f16|bf16] [--tokenizer DIR]");
  const std::filesystem::path out = argv[1];
  RandomWeightOptions o;
  o.dtype = DType::F16;
  std::filesystem::path tokenizer;
  for (int i = 2; i < argc; i += 2) {
    const std::string flag = argv[i];
    check(i + 1 < argc, flag + ": missing its value");
    const std::string value = argv[i + 1];
    if (flag == "--dtype") {
      check(value == "f32" || value == "f16" || value == "bf16", "--dtype " + value + ": expected f32, f16 or bf16");
      o.dtype = value == "f32" ? DType::F32 : value == "f16" ? DType::F16 : DType::BF16;
    } else if (flag == "--tokenizer") {
      tokenizer = value;
    } else {
      throw Error("unknown flag " + flag);
    }
  }
  write_random_sd15_folder(out, o, tokenizer);
  std::printf("random SD 1.5 checkpoint in %s\n", out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "write_random_checkpoint: %s\n", e.what());
    return 1;
  }
}
