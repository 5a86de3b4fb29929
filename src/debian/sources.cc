#include "debian/sources.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "debian/control.h"
#include "sys/fd.h"

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using util::fail;

// Splits on whitespace and any of `extra`.
std::vector<std::string> split(std::string_view s, std::string_view extra = "") {
  std::vector<std::string> out;
  auto sep = [&](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  };
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && sep(s[i])) ++i;
    size_t start = i;
    while (i < s.size() && !sep(s[i])) ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

std::string strip_slash(std::string uri) {
  while (uri.size() > 1 && uri.back() == '/') uri.pop_back();
  return uri;
}

bool known_type(std::string_view t) { return t == "deb" || t == "deb-src"; }

// The path of a URI ("http://host/debian/" -> "/debian").
std::string_view uri_path(std::string_view uri) {
  auto scheme = uri.find("://");
  if (scheme == std::string_view::npos) return uri;
  auto slash = uri.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view() : uri.substr(slash);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// The options of a one-line entry, "[arch=amd64,arm64 signed-by=/k.gpg]".
void apply_option(std::string_view opt, SourceEntry& e) {
  auto eq = opt.find('=');
  if (eq == std::string_view::npos) return;
  std::string_view key = opt.substr(0, eq), value = opt.substr(eq + 1);
  if (key == "arch") e.architectures = split(value, ",");
  if (key == "signed-by") e.signed_by = split(value, ",");
}

// An armored key given as a deb822 multi-line value: "." lines stand for empty ones.
std::string armored_key(std::string_view value) {
  std::string key;
  size_t pos = 0;
  for (;;) {
    size_t nl = value.find('\n', pos);
    std::string_view line = value.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front())))
      line.remove_prefix(1);
    if (!key.empty() || !line.empty()) {
      if (line != ".") key.append(line);
      key += '\n';
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return key;
}

Result<SourceEntry> parse_one_line(std::string_view line, std::string_view source, int line_no) {
  auto bad = [&](std::string_view why) {
    return fail(ErrorKind::kCorrupt, fmt::format("{}:{}: {}", source, line_no, why));
  };
  SourceEntry e;
  e.origin = fmt::format("{}:{}", source, line_no);
  auto words = split(line);
  size_t i = 0;
  if (!known_type(words[i])) return bad(fmt::format("unknown type \"{}\"", words[i]));
  e.types.push_back(words[i++]);
  // Options: "[a=b c=d]", "[ a=b ]", with the brackets attached to words or standing alone.
  if (i < words.size() && words[i].starts_with("[")) {
    words[i].erase(0, 1);
    for (;; ++i) {
      if (i == words.size()) return bad("unclosed '['");
      bool last = words[i].ends_with("]");
      if (last) words[i].pop_back();
      if (!words[i].empty()) apply_option(words[i], e);
      if (last) break;
    }
    ++i;
  }
  if (i + 2 > words.size()) return bad("expected a URI and a suite");
  e.uris.push_back(strip_slash(words[i++]));
  e.suites.push_back(words[i++]);
  e.components.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
  bool exact = e.suites[0].ends_with("/");
  if (exact && !e.components.empty()) return bad("components after an exact suite path");
  if (!exact && e.components.empty()) return bad("no components");
  return e;
}

}  // namespace

Result<std::vector<SourceEntry>> parse_one_line_sources(std::string_view text,
                                                        std::string_view source) {
  std::vector<SourceEntry> out;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    if (split(line).empty()) continue;
    out.push_back(TRY(parse_one_line(line, source, line_no)));
  }
  return out;
}

Result<std::vector<SourceEntry>> parse_deb822_sources(std::string_view text,
                                                      std::string_view source) {
  std::vector<SourceEntry> out;
  TRY(for_each_paragraph(text, source, [&](Paragraph&& p) -> util::Status {
    SourceEntry e;
    e.origin = fmt::format("{}:{}", source, p.line);
    auto required = [&](std::string_view name) -> Result<std::vector<std::string>> {
      auto v = split(p.get_or(name));
      if (v.empty())
        return fail(ErrorKind::kCorrupt, fmt::format("{}: no {} in this stanza", e.origin, name));
      return v;
    };
    e.types = TRY(required("Types"));
    for (const auto& t : e.types) {
      if (!known_type(t))
        return fail(ErrorKind::kCorrupt, fmt::format("{}: unknown type \"{}\"", e.origin, t));
    }
    for (auto& u : TRY(required("URIs"))) e.uris.push_back(strip_slash(std::move(u)));
    e.suites = TRY(required("Suites"));
    e.components = split(p.get_or("Components"));
    bool exact = std::all_of(e.suites.begin(), e.suites.end(),
                             [](const std::string& s) { return s.ends_with("/"); });
    if (!exact && e.components.empty())
      return fail(ErrorKind::kCorrupt, fmt::format("{}: no Components in this stanza", e.origin));
    e.architectures = split(p.get_or("Architectures"));
    std::string signed_by = p.get_or("Signed-By");
    if (signed_by.find("-----BEGIN PGP PUBLIC KEY BLOCK-----") != std::string::npos) {
      e.signed_by_key = armored_key(signed_by);
    } else {
      e.signed_by = split(signed_by, ",");
    }
    std::string enabled = p.get_or("Enabled", "yes");
    e.enabled = !(enabled == "no" || enabled == "false" || enabled == "0");
    out.push_back(std::move(e));
    return {};
  }));
  return out;
}

Result<std::vector<SourceEntry>> read_host_sources(const std::string& etc_apt) {
  std::vector<SourceEntry> out;
  auto add = [&](const std::string& path, bool deb822) -> util::Status {
    auto text = sys::read_file(path, 4 << 20);
    if (!text && text.error().kind() == ErrorKind::kNotFound) return {};
    if (!text) return std::unexpected(text.error());
    auto entries =
        TRY(deb822 ? parse_deb822_sources(*text, path) : parse_one_line_sources(*text, path));
    for (auto& e : entries) out.push_back(std::move(e));
    return {};
  };
  TRY(add(etc_apt + "/sources.list", false));

  std::string dir = etc_apt + "/sources.list.d";
  std::error_code ec;
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    names.push_back(it->path().filename().string());
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail(ErrorKind::kIo, fmt::format("list {}: {}", dir, ec.message()));
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    // apt ignores other names (backups, "*.disabled", "*.dpkg-old") and so do we.
    bool list = name.ends_with(".list"), sources = name.ends_with(".sources");
    if (list || sources) TRY(add(dir + "/" + name, sources));
  }
  return out;
}

namespace {

Mirror to_mirror(const SourceEntry& e, const std::string& uri) {
  return Mirror{uri, e.suites, e.components, e.signed_by, e.origin};
}

bool usable(const SourceEntry& e) { return e.enabled && contains(e.types, "deb"); }

}  // namespace

std::optional<Mirror> debian_mirror(const std::vector<SourceEntry>& entries,
                                    std::string_view suite) {
  std::optional<Mirror> best;
  int best_score = 0;
  for (const auto& e : entries) {
    if (!usable(e) || !contains(e.components, "main")) continue;
    bool lists_suite = contains(e.suites, suite);
    for (const auto& uri : e.uris) {
      bool debian_path = uri_path(uri).ends_with("/debian");
      int score = (lists_suite ? 2 : 0) + (debian_path ? 1 : 0);
      if (score > best_score) {
        best_score = score;
        best = to_mirror(e, uri);
      }
    }
  }
  return best;
}

std::optional<Mirror> security_mirror(const std::vector<SourceEntry>& entries,
                                      std::string_view suite) {
  std::string wanted = std::string(suite) + "-security";
  std::optional<Mirror> fallback;
  for (const auto& e : entries) {
    if (!usable(e) || e.uris.empty()) continue;
    if (contains(e.suites, wanted)) return to_mirror(e, e.uris[0]);
    bool any = std::any_of(e.suites.begin(), e.suites.end(),
                           [](const std::string& s) { return s.ends_with("-security"); });
    if (any && !fallback) fallback = to_mirror(e, e.uris[0]);
  }
  return fallback;
}

}  // namespace bonsai::debian
