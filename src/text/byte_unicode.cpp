#include "text/byte_unicode.hpp"

#include <array>

#include "text/utf8.hpp"

namespace sdwalk::text {
namespace {

struct Tables {
  std::array<char32_t, 256> code{};
  std::array<std::string, 256> utf8;
  Tables() {
    const auto printable = [](int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      code[size_t(b)] = printable(b) ? char32_t(b) : next++;
      utf8_append(utf8[size_t(b)], code[size_t(b)]);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& byte_to_unicode(unsigned char b) { return tables().utf8[b]; }

std::string bytes_to_unicode(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += byte_to_unicode(static_cast<unsigned char>(c));
  return out;
}

std::optional<unsigned char> unicode_to_byte(char32_t cp) {
  if (cp < 256) {
    if (tables().code[cp] == cp) return static_cast<unsigned char>(cp);
    return std::nullopt;
  }
  for (int b = 0; b < 256; ++b)
    if (tables().code[size_t(b)] == cp) return static_cast<unsigned char>(b);
  return std::nullopt;
}

}  // namespace sdwalk::text
