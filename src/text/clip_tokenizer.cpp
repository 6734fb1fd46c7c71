#include "sdwalk/clip_tokenizer.hpp"
#include "core/file_checks.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "sdwalk/error.hpp"
#include "text/basic_clean.hpp"
#include "text/byte_unicode.hpp"
#include "text/pre_tokenizer.hpp"
#include "text/utf8.hpp"

namespace sdwalk {
namespace {

namespace fs = std::filesystem;

// transformers reads merges.txt as lines[1 : 49152 - 256 - 2 + 1]: the header line is skipped and
// only this many merges are used.
constexpr size_t kMaxMerges = 49152 - 256 - 2;

std::string read_file(const fs::path& path) {
  check_regular_file(path, "a CLIP tokenizer file");  // before opening: a FIFO would block
  std::ifstream in(path, std::ios::binary);
  check(bool(in), path.string() + ": cannot open (a CLIP tokenizer folder needs vocab.json and merges.txt)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

nlohmann::json read_json(const fs::path& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + ": malformed JSON: " + e.what());
  }
}

// A special token in tokenizer_config.json / special_tokens_map.json: "text" or {"content": "text", ...}.
std::optional<std::string> token_content(const nlohmann::json& j, const char* key, const fs::path& file) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  check(v.is_object() && v.contains("content") && v["content"].is_string(),
        file.string() + ": '" + key + "' must be a string or an object with a string 'content'");
  return v["content"].get<std::string>();
}

// Python's str.strip() for the ASCII whitespace decoding can leave at the ends.
std::string strip(const std::string& s) {
  const char* ws = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

ClipTokenizer ClipTokenizer::load(const fs::path& dir) {
  check(fs::is_directory(dir), dir.string() + ": tokenizer folder not found (expected vocab.json and merges.txt in it)");
  ClipTokenizer t;

  const fs::path vocab_path = dir / "vocab.json";
  const nlohmann::json vocab = read_json(vocab_path);
  check(vocab.is_object() && !vocab.empty(), vocab_path.string() + ": expected a JSON object token -> id");
  t.vocab_.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    check(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < int64_t(vocab.size()),
          vocab_path.string() + ": token '" + token + "' has id " + id.dump() + ", expected an integer in [0, " +
              std::to_string(vocab.size()) + ")");
    t.vocab_[token] = id.get<int64_t>();
  }
  t.id_to_token_.assign(vocab.size(), {});
  std::vector<bool> seen(vocab.size(), false);
  for (const auto& [token, id] : t.vocab_) {
    check(!seen[size_t(id)], vocab_path.string() + ": id " + std::to_string(id) + " is given to two tokens");
    seen[size_t(id)] = true;
    t.id_to_token_[size_t(id)] = token;
  }

  const fs::path merges_path = dir / "merges.txt";
  std::istringstream merges(strip(read_file(merges_path)));
  std::string line;
  std::getline(merges, line);  // "#version: 0.2"
  for (size_t rank = 0, line_no = 2; rank < kMaxMerges && std::getline(merges, line); ++rank, ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const size_t sp = line.find(' ');
    check(sp != std::string::npos && sp > 0 && sp + 1 < line.size() && line.find(' ', sp + 1) == std::string::npos,
          merges_path.string() + ": line " + std::to_string(line_no) + " is '" + line + "', expected two tokens 'a b'");
    t.merge_ranks_.insert_or_assign(line, int(rank));  // as Python's dict(): a repeated merge keeps its last rank
  }
  check(!t.merge_ranks_.empty(), merges_path.string() + ": no merges after the header line");

  // Defaults are SD 1.x's; tokenizer_config.json, then special_tokens_map.json, override them.
  std::string bos = "<|startoftext|>", eos = "<|endoftext|>", unk = "<|endoftext|>", pad = "<|endoftext|>";
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path path = dir / name;
    if (!fs::exists(path)) continue;
    const nlohmann::json j = read_json(path);
    check(j.is_object(), path.string() + ": expected a JSON object");
    if (auto v = token_content(j, "bos_token", path)) bos = *v;
    if (auto v = token_content(j, "eos_token", path)) eos = *v;
    if (auto v = token_content(j, "unk_token", path)) unk = *v;
    if (auto v = token_content(j, "pad_token", path)) pad = *v;
    if (j.contains("model_max_length")) {
      const auto& m = j["model_max_length"];
      // transformers writes a huge sentinel when unset; CLIP's position embeddings give 77 then.
      check(m.is_number(), path.string() + ": 'model_max_length' must be a number");
      const double v = m.get<double>();
      check(v >= 3, path.string() + ": 'model_max_length' is " + m.dump() + ", expected at least 3");
      t.max_length_ = v > 1e6 ? 77 : int(v);
    }
  }
  const auto special_id = [&](const std::string& token, const char* role) {
    // encode() splits special tokens out of the text; an empty one would match forever.
    check(!token.empty(), dir.string() + ": the " + role + " token is empty");
    auto it = t.vocab_.find(token);
    check(it != t.vocab_.end(), vocab_path.string() + ": " + role + " token '" + token + "' is not in the vocabulary");
    return it->second;
  };
  t.bos_id_ = special_id(bos, "bos");
  t.eos_id_ = special_id(eos, "eos");
  t.unk_id_ = special_id(unk, "unk");
  t.pad_id_ = special_id(pad, "pad");
  for (const std::string& s : {bos, eos, unk, pad})
    if (std::find(t.special_tokens_.begin(), t.special_tokens_.end(), s) == t.special_tokens_.end())
      t.special_tokens_.push_back(s);
  return t;
}

const std::string& ClipTokenizer::token(int64_t id) const {
  check(id >= 0 && id < int64_t(id_to_token_.size()),
        "token id " + std::to_string(id) + " is outside the vocabulary [0, " + std::to_string(id_to_token_.size()) + ")");
  return id_to_token_[size_t(id)];
}

int64_t ClipTokenizer::id_of(const std::string& token) const {
  auto it = vocab_.find(token);
  return it == vocab_.end() ? unk_id_ : it->second;
}

std::vector<std::string> ClipTokenizer::bpe(const std::string& word) const {
  {
    std::lock_guard<std::mutex> lock(cache_->mutex);
    if (auto it = cache_->words.find(word); it != cache_->words.end()) return it->second;
  }
  // One symbol per code point, "</w>" glued to the last one.
  std::vector<std::string> symbols;
  for (char32_t cp : text::utf8_decode(word, "BPE word")) {
    symbols.emplace_back();
    text::utf8_append(symbols.back(), cp);
  }
  if (symbols.empty()) return {};
  symbols.back() += "</w>";
  // Repeatedly merge every occurrence (left to right) of the lowest-ranked adjacent pair.
  while (symbols.size() > 1) {
    int best = std::numeric_limits<int>::max();
    std::string best_first, best_second;
    for (size_t k = 0; k + 1 < symbols.size(); ++k) {
      auto it = merge_ranks_.find(symbols[k] + " " + symbols[k + 1]);
      if (it != merge_ranks_.end() && it->second < best) {
        best = it->second;
        best_first = symbols[k];
        best_second = symbols[k + 1];
      }
    }
    if (best == std::numeric_limits<int>::max()) break;
    std::vector<std::string> merged;
    merged.reserve(symbols.size());
    for (size_t k = 0; k < symbols.size();) {
      if (k + 1 < symbols.size() && symbols[k] == best_first && symbols[k + 1] == best_second) {
        merged.push_back(best_first + best_second);
        k += 2;
      } else {
        merged.push_back(symbols[k]);
        k += 1;
      }
    }
    symbols = std::move(merged);
  }
  std::lock_guard<std::mutex> lock(cache_->mutex);
  cache_->words.emplace(word, symbols);
  return symbols;
}

void ClipTokenizer::append_text(const std::string& text, std::vector<int64_t>& ids) const {
  const std::u32string cleaned = text::basic_clean(text::utf8_decode(text, "prompt"));
  for (const std::u32string& piece : text::clip_pre_tokenize(cleaned)) {
    const std::string word = text::bytes_to_unicode(text::utf8_encode(piece));
    // CLIPTokenizer's BPE cache starts with the two special tokens: written in the text in any case
    // (the text is lowercased by now), they pass through whole.
    if (word == "<|startoftext|>" || word == "<|endoftext|>") {
      ids.push_back(id_of(word));
      continue;
    }
    for (const std::string& sym : bpe(word)) ids.push_back(id_of(sym));
  }
}

TokenizedPrompt ClipTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> content;
  // Special tokens written literally are split out before any cleaning (transformers' added-tokens trie:
  // the earliest occurrence, longest token first).
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t best_at = std::string::npos, best_len = 0;
    const std::string* best = nullptr;
    for (const std::string& s : special_tokens_) {
      const size_t at = text.find(s, pos);
      if (at != std::string::npos && (at < best_at || (at == best_at && s.size() > best_len))) {
        best_at = at;
        best_len = s.size();
        best = &s;
      }
    }
    append_text(text.substr(pos, best ? best_at - pos : std::string::npos), content);
    if (!best) break;
    content.push_back(vocab_.at(*best));
    pos = best_at + best_len;
  }

  TokenizedPrompt out;
  out.untruncated_ids.reserve(content.size() + 2);
  out.untruncated_ids.push_back(bos_id_);
  out.untruncated_ids.insert(out.untruncated_ids.end(), content.begin(), content.end());
  out.untruncated_ids.push_back(eos_id_);
  for (int64_t id : out.untruncated_ids) out.tokens.push_back(token(id));

  const size_t max = size_t(max_length_);
  out.input_ids = out.untruncated_ids;
  if (out.input_ids.size() > max) {
    out.truncated = true;
    // What diffusers' encode_prompt warns about: untruncated_ids[max - 1 : -1].
    out.removed_text =
        decode(std::vector<int64_t>(out.untruncated_ids.begin() + ptrdiff_t(max) - 1, out.untruncated_ids.end() - 1));
    out.input_ids.resize(max - 1);
    out.input_ids.push_back(eos_id_);
  }
  out.input_ids.resize(max, pad_id_);
  return out;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string joined;
  for (int64_t id : ids) joined += token(id);
  std::string bytes;
  for (char32_t cp : text::utf8_decode(joined, "vocabulary token")) {
    auto b = text::unicode_to_byte(cp);
    check(b.has_value(), "token with code point U+" + std::to_string(uint32_t(cp)) + " is not a byte-level token");
    bytes.push_back(char(*b));
  }
  std::string text = text::utf8_repair(bytes);
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 4, "</w>") == 0) {
      out.push_back(' ');
      i += 4;
    } else {
      out.push_back(text[i++]);
    }
  }
  return strip(out);
}

}  // namespace sdwalk
