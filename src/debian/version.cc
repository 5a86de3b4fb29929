#include "debian/version.h"

#include <fmt/format.h>

#include <climits>

namespace bonsai::debian {
namespace {

using util::ErrorKind;

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

std::unexpected<util::Error> bad_version(std::string_view text, std::string_view why) {
  return util::fail(ErrorKind::kInvalidArgument, fmt::format("version \"{}\": {}", text, why));
}

// The sort weight of one character of a non-digit run (dpkg's order()); 0 is the end of the run.
int order(int c) {
  if (is_digit(static_cast<char>(c))) return 0;
  if (is_alpha(static_cast<char>(c))) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

// dpkg's verrevcmp, on string_views (reading past the end yields '\0' as in C).
int verrevcmp(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  // As in dpkg on x86, characters are signed: bytes >= 0x80 sort between letters and the
  // other ASCII characters. Only malformed versions can hold them.
  auto at = [](std::string_view s, size_t k) -> int {
    return k < s.size() ? static_cast<signed char>(s[k]) : 0;
  };
  while (i < a.size() || j < b.size()) {
    // Non-digit runs, character by character.
    while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
      int ac = order(at(a, i)), bc = order(at(b, j));
      if (ac != bc) return ac - bc;
      ++i, ++j;
    }
    // Digit runs, numerically: skip leading zeros, then the longer run wins, then the first
    // differing digit.
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    int first_diff = 0;
    while (i < a.size() && is_digit(a[i]) && j < b.size() && is_digit(b[j])) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i, ++j;
    }
    if (i < a.size() && is_digit(a[i])) return 1;
    if (j < b.size() && is_digit(b[j])) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

int sign(int v) { return (v > 0) - (v < 0); }

// Finds a character outside `allowed` (besides letters and digits); npos when none.
size_t find_invalid(std::string_view s, std::string_view allowed) {
  for (size_t k = 0; k < s.size(); ++k) {
    if (!is_digit(s[k]) && !is_alpha(s[k]) && allowed.find(s[k]) == std::string_view::npos) {
      return k;
    }
  }
  return std::string_view::npos;
}

std::string describe_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) return fmt::format("byte 0x{:02x}", u);
  return fmt::format("character '{}'", c);
}

// dpkg's split without its checks, for malformed versions: an epoch when the text before the
// first ':' is 1 to 9 digits, a revision after the last '-', the rest is upstream.
Version split_lenient(std::string_view text) {
  Version v;
  text = trim_blanks(text);
  size_t colon = text.find(':');
  if (colon != std::string_view::npos && colon > 0 && colon < 10) {
    uint32_t epoch = 0;
    bool digits = true;
    for (char c : text.substr(0, colon)) {
      digits = digits && is_digit(c);
      epoch = epoch * 10 + static_cast<uint32_t>(c - '0');
    }
    if (digits) {
      v.epoch = epoch;
      text.remove_prefix(colon + 1);
    }
  }
  size_t hyphen = text.rfind('-');
  if (hyphen != std::string_view::npos) {
    v.revision = std::string(text.substr(hyphen + 1));
    text = text.substr(0, hyphen);
  }
  v.upstream = std::string(text);
  return v;
}

}  // namespace

std::string Version::to_string() const {
  std::string out;
  // A zero epoch must still be written when the upstream part has a colon ("0:1:2").
  if (epoch != 0 || upstream.find(':') != std::string::npos) out = fmt::format("{}:", epoch);
  out += upstream;
  if (!revision.empty()) out += "-" + revision;
  return out;
}

util::Result<Version> parse_version(std::string_view text) {
  // Positions in messages count from 1 in `text` as given; `lead` is the blanks trimmed off.
  std::string_view s = trim_blanks(text);
  if (s.empty()) return bad_version(text, "empty");
  size_t lead = static_cast<size_t>(s.data() - text.data());
  for (size_t k = 0; k < s.size(); ++k) {
    if (is_blank(s[k])) {
      return bad_version(text, fmt::format("blank at position {}", lead + k + 1));
    }
  }

  // Step 1: the epoch, up to the first colon.
  Version v;
  size_t colon = s.find(':');
  if (colon != std::string_view::npos) {
    std::string_view epoch = s.substr(0, colon);
    if (epoch.empty()) return bad_version(text, "empty epoch before ':'");
    uint64_t value = 0;
    for (char c : epoch) {
      if (!is_digit(c)) return bad_version(text, "epoch is not a number");
      value = value * 10 + static_cast<uint64_t>(c - '0');
      if (value > INT_MAX) return bad_version(text, "epoch is too big");
    }
    if (colon + 1 == s.size()) return bad_version(text, "nothing after the epoch");
    v.epoch = static_cast<uint32_t>(value);
    s.remove_prefix(colon + 1);
  }

  // Step 2: the revision, after the last hyphen.
  size_t upstream_start = colon == std::string_view::npos ? 0 : colon + 1;
  size_t hyphen = s.rfind('-');
  if (hyphen != std::string_view::npos) {
    if (hyphen + 1 == s.size()) return bad_version(text, "empty revision after '-'");
    v.revision = std::string(s.substr(hyphen + 1));
    s = s.substr(0, hyphen);
  }
  if (s.empty()) return bad_version(text, "empty upstream version");
  v.upstream = std::string(s);

  // Step 3: the characters.
  if (size_t k = find_invalid(v.upstream, ".-+~:"); k != std::string_view::npos) {
    return bad_version(
        text, fmt::format("{} at position {} in the upstream version", describe_char(v.upstream[k]),
                          lead + upstream_start + k + 1));
  }
  if (size_t k = find_invalid(v.revision, ".+~"); k != std::string_view::npos) {
    return bad_version(
        text, fmt::format("{} at position {} in the revision", describe_char(v.revision[k]),
                          lead + upstream_start + hyphen + 1 + k + 1));
  }
  return v;
}

int compare_versions(const Version& a, const Version& b) {
  if (a.epoch != b.epoch) return a.epoch > b.epoch ? 1 : -1;
  if (int rc = verrevcmp(a.upstream, b.upstream)) return sign(rc);
  return sign(verrevcmp(a.revision, b.revision));
}

int compare_versions(std::string_view a, std::string_view b) {
  auto va = parse_version(a);
  auto vb = parse_version(b);
  return compare_versions(va ? *va : split_lenient(a), vb ? *vb : split_lenient(b));
}

}  // namespace bonsai::debian
