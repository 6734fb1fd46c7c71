#pragma once
// UTF-8 <-> code points. Strict decoding for prompts (bad bytes are an input error); lenient decoding
// for detokenized bytes, which truncation may have cut inside a character.
#include <string>

namespace sdwalk::text {

// Throws Error "<what> is not valid UTF-8 (byte N)" on a malformed sequence.
std::u32string utf8_decode(const std::string& bytes, const std::string& what);
// Python's bytes.decode("utf-8", errors="replace"): each maximal invalid subpart becomes U+FFFD.
std::string utf8_repair(const std::string& bytes);
void utf8_append(std::string& out, char32_t cp);
std::string utf8_encode(const std::u32string& cps);

}  // namespace sdwalk::text
