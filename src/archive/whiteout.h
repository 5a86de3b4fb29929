// OCI whiteouts (image-spec layer.md, "Whiteouts"). In a layer tar a whiteout is an ordinary
// entry (usually an empty regular file) whose base name is ".wh.<name>": applying the layer
// deletes <name> from the lower layers. The opaque marker "<dir>/.wh..wh..opq" hides everything
// the lower layers had in <dir>. Other ".wh..wh." names are reserved (AUFS metadata) and are
// neither whiteouts nor content. The tar reader does not interpret whiteouts; callers applying a
// layer do, with these helpers. Paths are normalised tar paths (see tar.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bonsai::archive {

inline constexpr std::string_view kWhiteoutPrefix = ".wh.";
inline constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
inline constexpr std::string_view kOpaqueWhiteout = ".wh..wh..opq";

// The last component of a normalised path ("a/b" => "b", "a" => "a").
std::string_view base_name(std::string_view path);

// True for "<dir>/.wh.<name>" with a non-empty <name> that is not a ".wh..wh." meta name.
bool is_whiteout(std::string_view path);
// True for "<dir>/.wh..wh..opq" (and ".wh..wh..opq" for the root directory).
bool is_opaque(std::string_view path);
// True for any ".wh..wh.*" name, the opaque marker included: reserved, never content.
bool is_whiteout_meta(std::string_view path);

// The path a whiteout deletes ("a/.wh.b" => "a/b"), or nullopt if path is not a whiteout.
std::optional<std::string> whiteout_target(std::string_view path);
// The directory an opaque marker applies to ("a/b/.wh..wh..opq" => "a/b", root => ""), or
// nullopt if path is not an opaque marker.
std::optional<std::string> opaque_dir(std::string_view path);

// The whiteout entry path that deletes path ("a/b" => "a/.wh.b").
std::string whiteout_path(std::string_view path);
// The opaque marker path for directory dir ("a" => "a/.wh..wh..opq", "" => ".wh..wh..opq").
std::string opaque_path(std::string_view dir);

}  // namespace bonsai::archive
