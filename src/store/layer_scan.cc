#include "store/layer_scan.h"

#include <map>
#include <set>

#include "archive/compress.h"
#include "archive/tar.h"
#include "archive/whiteout.h"
#include "util/sha256.h"

namespace bonsai::store {

util::Result<std::unique_ptr<util::Reader>> decompressed(util::Reader& in) {
  auto r = TRY(archive::AutoDecompressReader::open(in));
  return std::unique_ptr<util::Reader>(std::move(r));
}

util::Result<LayerScan> scan_layer(util::Reader& blob) {
  // 1. One pass: decompress -> hash (diff-id) -> tar walk.
  auto plain = TRY(decompressed(blob));
  util::HashingReader hashed(*plain);
  archive::TarReader tar(hashed);
  // 2. Sizes per path, so a path written twice counts once (its last version), as on disk.
  std::map<std::string, uint64_t> sizes;
  LayerInfo info;
  for (;;) {
    auto entry = TRY(tar.next());
    if (!entry) break;
    ++info.entries;
    const auto& e = *entry;
    if (archive::is_whiteout(e.path)) continue;
    if (e.type == archive::EntryType::kFile)
      sizes[e.path] = e.size;
    else if (e.type == archive::EntryType::kSymlink)
      sizes[e.path] = e.link_target.size();
    else
      sizes.erase(e.path);
  }
  // 3. Drain what follows the end-of-archive blocks: the diff-id covers the whole stream.
  char buf[64 * 1024];
  for (;;) {
    size_t n = TRY(hashed.read(buf));
    if (n == 0) break;
  }
  for (auto& [_, s] : sizes) info.content_size += s;
  info.tar_size = hashed.count();
  return LayerScan{oci::Digest::sha256_hex(hashed.finish_hex()), info};
}

}  // namespace bonsai::store
