// Typed OCI documents: descriptors, manifests (OCI and Docker schema 2), indexes (OCI index and
// Docker manifest list) and image configs with their history.
//
// parse_* functions take the exact bytes that were hashed and check types strictly; a document
// that carries both manifest fields (config/layers) and index fields (manifests) is rejected,
// since two readers could otherwise treat one digest as two different things. to_json()
// serialises in a fixed field order so the same value always yields the same bytes (and digest).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "oci/json.h"
#include "oci/media_types.h"

namespace bonsai::oci {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

struct Platform {
  std::string architecture, os, variant, os_version;
  bool operator==(const Platform&) const = default;
};

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
  std::vector<std::string> urls;
};

struct Manifest {
  std::string media_type;  // as written; may be empty in old OCI manifests
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

struct HistoryEntry {
  std::string created;  // RFC 3339, may be empty
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
};

// The fields of an image config that bonsai reads or writes. The raw document is kept so that
// fields bonsai does not model survive a load/save round trip byte for byte.
struct ImageConfig {
  std::string created, author, architecture, os, variant;
  Json config = Json::object();  // the "config" object: Env, Cmd, Entrypoint, WorkingDir, ...
  std::vector<Digest> diff_ids;
  std::vector<HistoryEntry> history;
};

util::Result<Descriptor> parse_descriptor(const Json& j, std::string_view what);
util::Result<Manifest> parse_manifest(std::string_view bytes, std::string_view what);
util::Result<Index> parse_index(std::string_view bytes, std::string_view what);
util::Result<ImageConfig> parse_config(std::string_view bytes, std::string_view what);

OrderedJson descriptor_json(const Descriptor& d);
std::string to_json(const Manifest& m);
std::string to_json(const Index& i);
std::string to_json(const ImageConfig& c);

}  // namespace bonsai::oci
