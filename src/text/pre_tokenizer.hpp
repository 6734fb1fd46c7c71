#pragma once
// CLIP's pre-tokenizer: the pieces that
//   regex.findall(r"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
//                 text, regex.IGNORECASE)
// returns (the `regex` module's semantics: leftmost alternative that matches at each position).
#include <string>
#include <vector>

namespace sdwalk::text {

std::vector<std::u32string> clip_pre_tokenize(const std::u32string& text);

}  // namespace sdwalk::text
