#pragma once
// CLIP byte-level BPE tokenizer, as Stable Diffusion 1.x pipelines call it: transformers' slow
// CLIPTokenizer in a default install (no ftfy), padding="max_length", max_length=77, truncation=True.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace sdwalk {

struct TokenizedPrompt {
  std::vector<int64_t> input_ids;        // exactly max_length: [bos] + tokens + [eos], truncated as SD does, padded with pad id
  std::vector<int64_t> untruncated_ids;  // [bos] + tokens + [eos], no truncation
  std::vector<std::string> tokens;       // token strings of untruncated_ids (byte-level unicode, "</w>" = end of word)
  bool truncated = false;
  std::string removed_text;              // the decoded text that truncation cut off ("" when none)
};

class ClipTokenizer {
 public:
  // dir holds vocab.json + merges.txt (and optionally tokenizer_config.json / special_tokens_map.json for
  // model_max_length and the special tokens). Throws sdwalk::Error naming the missing/malformed file.
  static ClipTokenizer load(const std::filesystem::path& dir);

  TokenizedPrompt encode(const std::string& text) const;
  // Token strings joined, bytes restored, "</w>" -> " ", stripped (transformers' decode, special tokens kept).
  // Throws Error on an id outside the vocabulary.
  std::string decode(const std::vector<int64_t>& ids) const;

  int max_length() const { return max_length_; }
  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }
  size_t vocab_size() const { return id_to_token_.size(); }
  // The token string of an id (throws Error when out of range).
  const std::string& token(int64_t id) const;

 private:
  ClipTokenizer() = default;
  // Token strings of one piece of pre-tokenized text (already byte-level encoded), merges applied.
  std::vector<std::string> bpe(const std::string& word) const;
  int64_t id_of(const std::string& token) const;
  void append_text(const std::string& text, std::vector<int64_t>& ids) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int> merge_ranks_;  // key "first second"
  std::vector<std::string> special_tokens_;          // split out of the text literally before cleaning
  int max_length_ = 77;
  int64_t bos_id_ = 0, eos_id_ = 0, pad_id_ = 0, unk_id_ = 0;

  struct Cache {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::string>> words;
  };
  std::shared_ptr<Cache> cache_ = std::make_shared<Cache>();  // BPE result per word
};

}  // namespace sdwalk
