#include "debian/package.h"

#include <fmt/format.h>

#include <charconv>

namespace bonsai::debian {
namespace {

using util::ErrorKind;
using util::fail;

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool safe_pool_path(std::string_view p) {
  if (p.empty() || p.front() == '/') return false;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    std::string_view part =
        p.substr(start, slash == std::string_view::npos ? p.npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

}  // namespace

Result<Package> package_from_paragraph(const Paragraph& p, std::string_view source,
                                       bool require_download) {
  auto where = [&] { return fmt::format("{}: paragraph at line {}", source, p.line); };
  Package pkg;
  auto take = [&](std::string_view name, std::string& out) {
    if (const std::string* v = p.get(name)) out = *v;
  };
  take("Package", pkg.name);
  take("Version", pkg.version);
  take("Architecture", pkg.architecture);
  if (pkg.name.empty() || pkg.version.empty() || pkg.architecture.empty()) {
    return fail(ErrorKind::kCorrupt,
                fmt::format("{}: Package, Version and Architecture are required", where()));
  }
  take("Multi-Arch", pkg.multi_arch);
  pkg.essential = p.get_or("Essential") == "yes";
  take("Priority", pkg.priority);
  take("Section", pkg.section);
  take("Source", pkg.source);
  if (size_t sp = pkg.source.find(' '); sp != std::string::npos) pkg.source.resize(sp);
  if (pkg.source.empty()) pkg.source = pkg.name;
  take("Depends", pkg.depends);
  take("Pre-Depends", pkg.pre_depends);
  take("Provides", pkg.provides);
  take("Conflicts", pkg.conflicts);
  take("Breaks", pkg.breaks);
  take("Replaces", pkg.replaces);
  take("Filename", pkg.filename);
  take("SHA256", pkg.sha256);
  std::string size = p.get_or("Size");
  if (!size.empty()) {
    auto [ptr, ec] = std::from_chars(size.data(), size.data() + size.size(), pkg.size);
    if (ec != std::errc() || ptr != size.data() + size.size()) {
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: {}: bad Size {:?}", where(), pkg.name, size));
    }
  }
  if (require_download) {
    if (!safe_pool_path(pkg.filename)) {
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: {}: bad Filename {:?}", where(), pkg.name, pkg.filename));
    }
    if (!is_hex64(pkg.sha256)) {
      return fail(ErrorKind::kCorrupt,
                  fmt::format("{}: {}: SHA256 is not 64 hex digits", where(), pkg.name));
    }
    if (size.empty()) {
      return fail(ErrorKind::kCorrupt, fmt::format("{}: {}: no Size", where(), pkg.name));
    }
  }
  return pkg;
}

}  // namespace bonsai::debian
