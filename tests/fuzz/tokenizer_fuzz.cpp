// libFuzzer target for a CLIP tokenizer folder (vocab.json, merges.txt, tokenizer_config.json) and
// the prompts it encodes. The input is the three files and a prompt, separated by NUL bytes (an
// empty tokenizer_config.json part means no such file). Loading returns or raises sdwalk::Error;
// a loaded tokenizer encodes any prompt (or raises Error) into exactly max_length ids inside the
// vocabulary, [bos] ... [eos] padded, truncated only when the untruncated ids do not fit.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "sdwalk/clip_tokenizer.hpp"
#include "sdwalk/error.hpp"

namespace {

using namespace sdwalk;

// Up to `n` parts split at NUL bytes; the last part keeps any further NULs.
std::vector<std::string> split(const uint8_t* data, size_t size, size_t n) {
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0 && parts.size() < n)
      parts.emplace_back();
    else
      parts.back().push_back(char(data[i]));
  }
  parts.resize(n);
  return parts;
}

void check_encoding(const ClipTokenizer& t, const TokenizedPrompt& p) {
  const size_t max = size_t(t.max_length());
  const auto in_vocab = [&](int64_t id) { return id >= 0 && size_t(id) < t.vocab_size(); };
  FUZZ_CHECK(p.input_ids.size() == max);
  FUZZ_CHECK(p.untruncated_ids.size() >= 2 && p.tokens.size() == p.untruncated_ids.size());
  FUZZ_CHECK(p.untruncated_ids.front() == t.bos_id() && p.untruncated_ids.back() == t.eos_id());
  FUZZ_CHECK(p.truncated == (p.untruncated_ids.size() > max));
  for (int64_t id : p.untruncated_ids) FUZZ_CHECK(in_vocab(id));
  for (int64_t id : p.input_ids) FUZZ_CHECK(in_vocab(id));
  FUZZ_CHECK(p.input_ids.front() == t.bos_id());
  if (p.truncated) FUZZ_CHECK(p.input_ids.back() == t.eos_id());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = split(data, size, 4);
  const auto& dir = fuzz::scratch_dir();
  fuzz::write_file(dir / "vocab.json", parts[0].data(), parts[0].size());
  fuzz::write_file(dir / "merges.txt", parts[1].data(), parts[1].size());
  if (parts[2].empty())
    std::filesystem::remove(dir / "tokenizer_config.json");
  else
    fuzz::write_file(dir / "tokenizer_config.json", parts[2].data(), parts[2].size());

  try {
    const ClipTokenizer t = ClipTokenizer::load(dir);
    FUZZ_CHECK(t.vocab_size() > 0 && t.max_length() >= 3);
    for (const std::string& prompt : {parts[3], std::string("a photo of an astronaut"), std::string()}) {
      try {
        const TokenizedPrompt p = t.encode(prompt);
        check_encoding(t, p);
        t.decode(p.input_ids);
      } catch (const Error&) {
      }
    }
  } catch (const Error&) {
    // a clear error is the expected answer to a malformed tokenizer folder
  }
  return 0;
}
