#pragma once
// GPT-2/CLIP bytes_to_unicode: every byte gets a printable code point so that BPE works on strings
// without whitespace or control characters (printable Latin-1 bytes map to themselves, the other 68
// bytes to U+0100..U+0143 in byte order).
#include <optional>
#include <string>

namespace sdwalk::text {

// UTF-8 of the code point standing for byte b.
const std::string& byte_to_unicode(unsigned char b);
// Each byte of `bytes` replaced by its stand-in.
std::string bytes_to_unicode(const std::string& bytes);
// The byte a stand-in code point represents, or nullopt for any other code point.
std::optional<unsigned char> unicode_to_byte(char32_t cp);

}  // namespace sdwalk::text
