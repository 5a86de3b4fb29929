#include "debian/control.h"

#include <fmt/format.h>
#include <strings.h>

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using util::fail;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

const std::string* Paragraph::get(std::string_view name) const {
  for (const Field& f : fields) {
    if (iequals(f.name, name)) return &f.value;
  }
  return nullptr;
}

std::string Paragraph::get_or(std::string_view name, std::string_view fallback) const {
  const std::string* v = get(name);
  return v ? *v : std::string(fallback);
}

std::string Paragraph::to_string() const {
  std::string out;
  for (const Field& f : fields) {
    out += f.name;
    out += ':';
    size_t start = 0;
    bool first = true;
    while (start <= f.value.size()) {
      size_t nl = f.value.find('\n', start);
      std::string_view line = std::string_view(f.value).substr(
          start, nl == std::string::npos ? std::string::npos : nl - start);
      if (first) {
        if (!line.empty()) out += ' ';
      } else {
        out += ' ';
        if (line.empty()) line = ".";  // an empty continuation line is written " ." (policy 5.6.13)
      }
      out += line;
      out += '\n';
      first = false;
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  return out;
}

Status for_each_paragraph(std::string_view text, std::string_view source,
                          const std::function<Status(Paragraph&&)>& fn) {
  Paragraph cur;
  int line_no = 0;
  size_t pos = 0;
  auto flush = [&]() -> Status {
    if (cur.fields.empty()) return {};
    Paragraph done = std::move(cur);
    cur = Paragraph{};
    return fn(std::move(done));
  };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (trim(line).empty()) {
      TRY(flush());
      continue;
    }
    if (line[0] == '#') continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (cur.fields.empty()) {
        return fail(ErrorKind::kCorrupt,
                    fmt::format("{}: line {}: continuation line outside a field", source, line_no));
      }
      std::string& v = cur.fields.back().value;
      v += '\n';
      std::string_view rest = line.substr(1);
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
      v += rest;
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: line {}: expected \"Name: value\", got {:?}", source, line_no,
                              line.substr(0, 80)));
    }
    std::string_view name = line.substr(0, colon);
    if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: line {}: bad field name {:?}", source, line_no, name));
    }
    if (cur.get(name) != nullptr) {
      return fail(ErrorKind::kCorrupt, fmt::format("{}: line {}: field {} repeated in a paragraph",
                                                   source, line_no, name));
    }
    if (cur.fields.empty()) cur.line = line_no;
    cur.fields.push_back(
        Field{std::string(name), std::string(trim(line.substr(colon + 1))), line_no});
  }
  return flush();
}

Result<std::vector<Paragraph>> parse_control(std::string_view text, std::string_view source) {
  std::vector<Paragraph> out;
  TRY(for_each_paragraph(text, source, [&](Paragraph&& p) -> Status {
    out.push_back(std::move(p));
    return {};
  }));
  return out;
}

}  // namespace bonsai::debian
