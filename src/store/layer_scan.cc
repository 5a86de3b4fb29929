#include "store/layer_scan.h"

#include <cstring>
#include <map>

#include "archive/compress.h"
#include "archive/tar.h"
#include "archive/whiteout.h"
#include "util/sha256.h"

namespace bonsai::store {

namespace {

util::Status drain(util::Reader& in) {
  char buf[64 * 1024];
  for (;;) {
    size_t n = TRY(in.read(buf));
    if (n == 0) return {};
  }
}

// Walks a tar stream to its end and reads whatever follows the end-of-archive blocks, since
// the diff-id covers the whole stream.
util::Result<LayerInfo> walk_tar(util::Reader& plain) {
  archive::TarReader tar(plain);
  std::map<std::string, uint64_t> sizes;  // per path, so a path written twice counts once
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
  TRY(drain(plain));
  for (auto& [_, s] : sizes) info.content_size += s;
  return info;
}

}  // namespace

util::Result<std::unique_ptr<util::Reader>> decompressed(util::Reader& in) {
  auto r = TRY(archive::AutoDecompressReader::open(in));
  return std::unique_ptr<util::Reader>(std::move(r));
}

util::Result<LayerScan> scan_layer(util::Reader& blob) {
  auto plain = TRY(decompressed(blob));
  util::HashingReader hashed(*plain);
  LayerInfo info = TRY(walk_tar(hashed));
  info.tar_size = hashed.count();
  return LayerScan{oci::Digest::sha256_hex(hashed.finish_hex()), info};
}

util::Result<std::optional<LayerScan>> scan_if_layer(util::Reader& in) {
  // 1. Peek at the first block: a tar header ("ustar" at offset 257) or a compressed stream.
  std::string head(512, '\0');
  size_t n = TRY(util::read_full(in, std::span<char>(head.data(), head.size())));
  head.resize(n);
  auto compression = archive::detect_compression(head);
  bool is_tar = n == 512 && std::memcmp(head.data() + 257, "ustar", 5) == 0;
  util::PrefixReader whole(std::move(head), in);
  std::optional<LayerScan> scan;
  if (compression == archive::Compression::kNone && !is_tar) {
    TRY(drain(whole));
    return scan;
  }
  // 2. Read it as a layer. A stream that fails to is still stored; its facts are worked out
  //    (and any error reported with its place) when an image refers to it as a layer.
  if (compression == archive::Compression::kNone) {
    util::CountingReader counted(whole);
    if (auto info = walk_tar(counted)) {
      info->tar_size = counted.count();
      scan = LayerScan{oci::Digest(), *info};
    }
  } else if (auto s = scan_layer(whole)) {
    scan = *s;
  }
  TRY(drain(whole));
  return scan;
}

}  // namespace bonsai::store
