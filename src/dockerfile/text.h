// Text helpers that reproduce the Go standard library behaviour the reference Dockerfile
// frontend relies on: UTF-8 decoding that maps each invalid byte to U+FFFD (utf8.DecodeRune),
// unicode.IsSpace / IsLetter / IsDigit, strings.TrimSpace and strconv.Quote.
//
// IsLetter, IsDigit and IsPrint are exact for ASCII and Latin-1 and approximate elsewhere (they
// use the common block ranges rather than the full Unicode tables); docs/dockerfile.md says so.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bonsai::dockerfile {

inline constexpr char32_t kRuneError = 0xFFFD;

struct DecodedRune {
  char32_t rune;  // kRuneError for an invalid sequence
  size_t width;   // bytes consumed, 1 for an invalid sequence, 0 only at end of input
};

// Decodes the rune starting at s[pos] as Go's utf8.DecodeRuneInString does.
DecodedRune decode_rune(std::string_view s, size_t pos);
// Appends the UTF-8 encoding of r (invalid code points become U+FFFD).
void append_rune(std::string& out, char32_t r);

bool is_space(char32_t r);   // unicode.IsSpace
bool is_letter(char32_t r);  // unicode.IsLetter
bool is_digit(char32_t r);   // unicode.IsDigit
// unicode.IsSpace applied to a single byte widened to a rune, as byte-wise Go loops do.
inline bool is_space_byte(unsigned char b) { return is_space(static_cast<char32_t>(b)); }

// strings.TrimSpace: trims leading and trailing Unicode white space.
std::string_view trim_space(std::string_view s);
// bytes.TrimLeftFunc(s, unicode.IsSpace).
std::string_view trim_left_space(std::string_view s);
// ASCII lower-casing (instruction names and flag keys are ASCII).
std::string ascii_lower(std::string_view s);
std::string ascii_upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

// strconv.Quote: a double-quoted Go string literal with Go escapes.
std::string go_quote(std::string_view s);

}  // namespace bonsai::dockerfile
