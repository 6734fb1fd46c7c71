#include "text/pre_tokenizer.hpp"

#include <unicode/uchar.h>

namespace sdwalk::text {
namespace {

enum class Class { Letter, Number, Space, Other, None };

Class classify(char32_t c) {
  // Under IGNORECASE the regex module lets U+0345 (which case-folds to a letter) match neither
  // [\p{L}] nor [^\s\p{L}\p{N}], so it is skipped like whitespace.
  if (c == 0x345) return Class::None;
  const uint32_t mask = U_GET_GC_MASK(UChar32(c));
  if (mask & U_GC_L_MASK) return Class::Letter;
  if (mask & U_GC_N_MASK) return Class::Number;
  if (u_hasBinaryProperty(UChar32(c), UCHAR_WHITE_SPACE)) return Class::Space;
  return Class::Other;
}

// Case-insensitive (simple case folding) match of an ASCII literal at text[pos]. The text is lowercased
// already; U+017F LATIN SMALL LETTER LONG S still folds to 's'.
bool matches_at(const std::u32string& text, size_t pos, std::u32string_view literal) {
  if (text.size() - pos < literal.size()) return false;
  for (size_t k = 0; k < literal.size(); ++k) {
    char32_t c = text[pos + k];
    if (c >= U'A' && c <= U'Z') c += 32;
    if (c == 0x17F) c = U's';
    if (c != literal[k]) return false;
  }
  return true;
}

}  // namespace

std::vector<std::u32string> clip_pre_tokenize(const std::u32string& text) {
  static constexpr std::u32string_view literals[] = {U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re",
                                                     U"'ve",             U"'m",             U"'ll", U"'d"};
  std::vector<std::u32string> pieces;
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (std::u32string_view lit : literals) {
      if (matches_at(text, i, lit)) {
        pieces.push_back(text.substr(i, lit.size()));
        i += lit.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    const Class cls = classify(text[i]);
    if (cls == Class::Space || cls == Class::None) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    if (cls != Class::Number)  // [\p{N}] takes one character; letters and others take a run
      while (j < text.size() && classify(text[j]) == cls) ++j;
    pieces.push_back(text.substr(i, j - i));
    i = j;
  }
  return pieces;
}

}  // namespace sdwalk::text
