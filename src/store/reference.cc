#include "store/reference.h"

namespace bonsai::store {

using util::ErrorKind;
using util::fail;

namespace {

bool is_alnum_lower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One path component: alnum runs joined by '.', '_', '__' or one or more '-'.
bool valid_component(std::string_view c) {
  if (c.empty() || !is_alnum_lower(c.front()) || !is_alnum_lower(c.back())) return false;
  for (size_t i = 0; i < c.size(); ++i) {
    char ch = c[i];
    if (is_alnum_lower(ch) || ch == '-') continue;
    if (ch == '.' || ch == '_') {
      if (!is_alnum_lower(c[i - 1]) &&
          !(ch == '_' && c[i - 1] == '_' && i >= 2 && is_alnum_lower(c[i - 2])))
        return false;
      continue;
    }
    return false;
  }
  return true;
}

// host[:port]: dot-separated labels of letters, digits and inner '-', then optional digits.
bool valid_host(std::string_view h) {
  auto colon = h.find(':');
  std::string_view name = h.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = h.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  if (name.empty()) return false;
  for (size_t start = 0;;) {
    auto dot = name.find('.', start);
    std::string_view label = name.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
              (i > 0 && (c == '.' || c == '-'));
    if (!ok) return false;
  }
  return true;
}

}  // namespace

util::Result<Reference> parse_reference(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorKind::kInvalidArgument,
                "invalid reference format \"" + std::string(text) + "\": " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  if (text.find('@') != std::string_view::npos)
    return bad("digest references cannot be used as tags");
  Reference ref;
  std::string_view name = text;
  auto slash = text.rfind('/');
  auto colon = text.rfind(':');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(text.substr(colon + 1));
    name = text.substr(0, colon);
    if (!valid_tag(ref.tag)) return bad("invalid tag");
  } else {
    ref.tag = "latest";
  }
  // A first component with '.', ':' or "localhost" is a registry host.
  std::string_view rest = name;
  std::string host;
  auto first_slash = name.find('/');
  if (first_slash != std::string_view::npos) {
    std::string_view first = name.substr(0, first_slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost") {
      if (!valid_host(first)) return bad("invalid registry host");
      host = std::string(first);
      rest = name.substr(first_slash + 1);
    }
  }
  if (rest.empty()) return bad("empty repository name");
  for (size_t start = 0;;) {
    auto end = rest.find('/', start);
    std::string_view comp =
        rest.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (!valid_component(comp))
      return bad("repository name must be lowercase letters, digits and separators");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (host == "docker.io" || host == "index.docker.io") {
    host.clear();
    if (rest.starts_with("library/") && rest.find('/', 8) == std::string_view::npos)
      rest.remove_prefix(8);
  }
  ref.repository = host.empty() ? std::string(rest) : host + "/" + std::string(rest);
  if (ref.repository.size() > 255) return bad("repository name longer than 255 characters");
  return ref;
}

}  // namespace bonsai::store
