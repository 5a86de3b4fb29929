#include "archive/whiteout.h"

namespace bonsai::archive {

namespace {

// "a/b/c" => "a/b/", "c" => "".
std::string_view dir_prefix(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1);
}

}  // namespace

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_whiteout(std::string_view path) {
  std::string_view base = base_name(path);
  return base.size() > kWhiteoutPrefix.size() && base.starts_with(kWhiteoutPrefix) &&
         !base.starts_with(kWhiteoutMetaPrefix);
}

bool is_opaque(std::string_view path) { return base_name(path) == kOpaqueWhiteout; }

bool is_whiteout_meta(std::string_view path) {
  return base_name(path).starts_with(kWhiteoutMetaPrefix);
}

std::optional<std::string> whiteout_target(std::string_view path) {
  if (!is_whiteout(path)) return std::nullopt;
  return std::string(dir_prefix(path)) +
         std::string(base_name(path).substr(kWhiteoutPrefix.size()));
}

std::optional<std::string> opaque_dir(std::string_view path) {
  if (!is_opaque(path)) return std::nullopt;
  std::string_view dir = dir_prefix(path);
  if (!dir.empty()) dir.remove_suffix(1);
  return std::string(dir);
}

std::string whiteout_path(std::string_view path) {
  return std::string(dir_prefix(path)) + std::string(kWhiteoutPrefix) +
         std::string(base_name(path));
}

std::string opaque_path(std::string_view dir) {
  if (dir.empty()) return std::string(kOpaqueWhiteout);
  return std::string(dir) + "/" + std::string(kOpaqueWhiteout);
}

}  // namespace bonsai::archive
