// Content digests ("sha256:<64 hex>"), per the OCI image spec's descriptor grammar. Parsing is
// strict: only registered algorithms with their exact encoded length and lowercase hex, so a
// digest can be used as a file name (blobs/sha256/<hex>) without any further checks —
// "sha256:../x" and "sha256:ABC…" are rejected.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "util/error.h"

namespace bonsai::oci {

using util::Result;

class Digest {
 public:
  Digest() = default;
  static Result<Digest> parse(std::string_view text);
  // From a lowercase 64-character hex SHA-256 (as util::Sha256::finish_hex returns).
  static Digest sha256_hex(std::string_view hex);
  static Digest of(std::string_view data);

  const std::string& str() const { return value_; }
  std::string_view algorithm() const { return std::string_view(value_).substr(0, 6); }
  std::string_view hex() const { return std::string_view(value_).substr(7); }
  // The first 12 hex characters, as `docker images` shows IMAGE ID.
  std::string short_id() const { return std::string(hex().substr(0, 12)); }
  bool empty() const { return value_.empty(); }

  auto operator<=>(const Digest&) const = default;

 private:
  explicit Digest(std::string v) : value_(std::move(v)) {}
  std::string value_;
};

}  // namespace bonsai::oci

template <>
struct std::hash<bonsai::oci::Digest> {
  size_t operator()(const bonsai::oci::Digest& d) const noexcept {
    return std::hash<std::string>()(d.str());
  }
};
