#include "text/basic_clean.hpp"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include "sdwalk/error.hpp"

namespace sdwalk::text {
namespace {

// BasicTokenizer._is_whitespace
bool is_whitespace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || u_charType(UChar32(c)) == U_SPACE_SEPARATOR;
}

// BasicTokenizer._is_control: Cc, Cf, Cs, Co, Cn except \t \n \r.
bool is_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  return (U_GET_GC_MASK(UChar32(c)) & U_GC_C_MASK) != 0;
}

// BasicTokenizer._is_chinese_char: the CJK Unified Ideographs blocks (not kana, not hangul).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Python's str.isspace(), which str.split() uses: bidi class WS, B or S, or category Zs.
bool is_python_space(char32_t c) {
  if (u_charType(UChar32(c)) == U_SPACE_SEPARATOR) return true;
  const UCharDirection d = u_charDirection(UChar32(c));
  return d == U_WHITE_SPACE_NEUTRAL || d == U_BLOCK_SEPARATOR || d == U_SEGMENT_SEPARATOR;
}

icu::UnicodeString to_icu(const std::u32string& s) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()), int32_t(s.size()));
}

std::u32string from_icu(const icu::UnicodeString& s) {
  UErrorCode status = U_ZERO_ERROR;
  std::u32string out(size_t(s.countChar32()), U'\0');
  s.toUTF32(reinterpret_cast<UChar32*>(out.data()), int32_t(out.size()), status);
  check(U_SUCCESS(status), std::string("ICU UTF-32 conversion failed: ") + u_errorName(status));
  return out;
}

std::u32string nfc(const std::u32string& s) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(status);
  check(U_SUCCESS(status), std::string("ICU NFC normaliser unavailable: ") + u_errorName(status));
  const icu::UnicodeString out = n->normalize(to_icu(s), status);
  check(U_SUCCESS(status), std::string("ICU NFC normalisation failed: ") + u_errorName(status));
  return from_icu(out);
}

// Root-locale full lowercasing = Python's str.lower() ('İ' -> "i̇", final sigma in context).
std::u32string lower(const std::u32string& s) {
  icu::UnicodeString u = to_icu(s);
  u.toLower(icu::Locale::getRoot());
  return from_icu(u);
}

}  // namespace

std::u32string basic_clean(const std::u32string& text) {
  std::u32string cleaned;
  cleaned.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      cleaned.push_back(U' ');
    } else if (is_cjk_ideograph(c)) {
      cleaned.push_back(U' ');
      cleaned.push_back(c);
      cleaned.push_back(U' ');
    } else {
      cleaned.push_back(c);
    }
  }
  const std::u32string normalized = nfc(cleaned);
  std::u32string out;
  for (size_t i = 0; i < normalized.size();) {
    while (i < normalized.size() && is_python_space(normalized[i])) ++i;
    size_t j = i;
    while (j < normalized.size() && !is_python_space(normalized[j])) ++j;
    if (j > i) {
      if (!out.empty()) out.push_back(U' ');
      out += lower(normalized.substr(i, j - i));
    }
    i = j;
  }
  return out;
}

}  // namespace sdwalk::text
