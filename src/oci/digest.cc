#include "oci/digest.h"

#include "util/sha256.h"

namespace bonsai::oci {

using util::ErrorKind;
using util::fail;

namespace {
bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail(ErrorKind::kInvalidArgument,
                "invalid digest \"" + std::string(text) + "\": no algorithm");
  std::string_view alg = text.substr(0, colon), enc = text.substr(colon + 1);
  if (alg != "sha256")
    return fail(alg == "sha512" ? ErrorKind::kUnsupported : ErrorKind::kInvalidArgument,
                "unsupported digest algorithm \"" + std::string(alg) + "\"");
  if (enc.size() != 64 || !is_lower_hex(enc))
    return fail(ErrorKind::kInvalidArgument,
                "invalid digest \"" + std::string(text) + "\": want sha256:<64 lowercase hex>");
  return Digest(std::string(text));
}

Digest Digest::sha256_hex(std::string_view hex) { return Digest("sha256:" + std::string(hex)); }

Digest Digest::of(std::string_view data) { return sha256_hex(util::Sha256::hex_of(data)); }

}  // namespace bonsai::oci
