#pragma once
// The text normalisation transformers' CLIPTokenizer applies when ftfy is not installed:
// " ".join(BasicTokenizer(do_lower_case=True, strip_accents=False, do_split_on_punc=False,
// tokenize_chinese_chars=True).tokenize(text)). Unicode data comes from ICU.
#include <string>

namespace sdwalk::text {

// Drops U+0000, U+FFFD and category C* (except \t \n \r), maps whitespace (incl. Zs) to ' ', spaces
// out CJK ideographs, NFC-normalises, splits on whitespace and lowercases each piece (Python's
// str.lower(): full Unicode mapping, final sigma). Returns the pieces joined by single spaces.
std::u32string basic_clean(const std::u32string& text);

}  // namespace sdwalk::text
