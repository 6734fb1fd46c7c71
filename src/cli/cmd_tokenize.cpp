// sdwalk tokenize [--tokenizer DIR | --model MODEL] TEXT: the CLIP tokens and the 77 input ids
// StableDiffusionPipeline would feed the text encoder, with diffusers' truncation warning.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.hpp"
#include "sdwalk/clip_tokenizer.hpp"
#include "sdwalk/error.hpp"

namespace sdwalk::cli {
namespace {

namespace fs = std::filesystem;

struct TokenizeOptions {
  std::string tokenizer, model, text;
};

fs::path tokenizer_dir(const TokenizeOptions& o) {
  check(!o.tokenizer.empty() || !o.model.empty(),
        "tokenize: pass --tokenizer DIR (vocab.json + merges.txt) or --model DIR (a diffusers folder)");
  if (!o.tokenizer.empty()) return o.tokenizer;
  check(fs::is_directory(o.model), "--model " + o.model +
                                       ": expected a diffusers folder with tokenizer/ (a single-file checkpoint "
                                       "holds no tokenizer; pass --tokenizer DIR)");
  const fs::path dir = fs::path(o.model) / "tokenizer";
  check(fs::is_directory(dir), "--model " + o.model + ": no tokenizer/ folder in it (expected a diffusers folder)");
  return dir;
}

void run(const TokenizeOptions& o) {
  const ClipTokenizer tok = ClipTokenizer::load(tokenizer_dir(o));
  const TokenizedPrompt t = tok.encode(o.text);
  std::string line;
  for (size_t i = 0; i < t.tokens.size(); ++i)
    line += (i ? " " : "") + t.tokens[i] + ":" + std::to_string(t.untruncated_ids[i]);
  std::cout << line << "\n";
  std::cout << t.untruncated_ids.size() - 2 << " tokens of " << tok.max_length() - 2 << "\n";
  std::cout.flush();
  if (t.truncated)
    std::fprintf(stderr, "warning: prompt is %zu tokens, truncated to %d; removed: '%s'\n", t.untruncated_ids.size(),
                 tok.max_length(), t.removed_text.c_str());
  std::cout << nlohmann::json(t.input_ids).dump() << std::endl;
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto opts = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Show the CLIP tokens of a prompt and the 77 input ids the text encoder gets (last line, JSON)");
  auto* tokenizer = cmd->add_option("--tokenizer", opts->tokenizer, "Tokenizer folder (vocab.json, merges.txt)");
  auto* model = cmd->add_option("--model", opts->model, "Diffusers model folder (its tokenizer/ is used)");
  tokenizer->excludes(model);
  cmd->add_option("text", opts->text, "The prompt")->required();
  cmd->callback([opts] { run(*opts); });
}

}  // namespace sdwalk::cli
