// Export of images as docker-archive or oci-archive. See archive_io.h for the contract.
#include <set>

#include "archive/tar.h"
#include "store/archive_io.h"

namespace bonsai::store {

using util::ErrorKind;
using util::fail;

namespace {

archive::TarEntry file_entry(std::string path, uint64_t size) {
  archive::TarEntry e;
  e.path = std::move(path);
  e.type = archive::EntryType::kFile;
  e.mode = 0644;
  e.size = size;
  return e;
}

Status add_text(archive::TarWriter& tar, const std::string& path, std::string_view text) {
  TRY(tar.add(file_entry(path, text.size())));
  return tar.write_body(text);
}

Status add_blob(Images& images, archive::TarWriter& tar, const oci::Descriptor& d) {
  sys::UniqueFd fd = TRY(images.store().open_blob(d.digest));
  TRY(tar.add(
      file_entry("blobs/sha256/" + std::string(d.digest.hex()), static_cast<uint64_t>(d.size))));
  sys::FdReader in(fd.get(), images.store().blob_path(d.digest));
  util::LimitedReader body(in, static_cast<uint64_t>(d.size));
  std::string buf(1 << 20, '\0');
  uint64_t written = 0;
  for (;;) {
    size_t n = TRY(body.read(std::span<char>(buf.data(), buf.size())));
    if (n == 0) break;
    TRY(tar.write_body(std::string_view(buf.data(), n)));
    written += n;
  }
  if (written != static_cast<uint64_t>(d.size))
    return fail(ErrorKind::kCorrupt,
                "blob " + d.digest.str() + " is shorter than its descriptor says");
  return {};
}

}  // namespace

Status export_archive(Images& images, const std::vector<ExportItem>& items, ArchiveFormat format,
                      util::Writer& out) {
  // 1. Collect the blobs (each once, sorted) and the documents that name them.
  std::map<oci::Digest, oci::Descriptor> blobs;
  oci::Index index;
  oci::Json manifest_json = oci::Json::array();
  for (const auto& item : items) {
    const Image& img = item.image;
    oci::Descriptor mdesc = img.manifest_desc;
    mdesc.annotations.clear();
    blobs[mdesc.digest] = mdesc;
    blobs[img.manifest.config.digest] = img.manifest.config;
    oci::Json layers = oci::Json::array();
    for (auto& l : img.manifest.layers) {
      blobs[l.digest] = l;
      layers.push_back("blobs/sha256/" + std::string(l.digest.hex()));
    }
    if (item.tags.empty()) index.manifests.push_back(mdesc);
    for (auto& t : item.tags) {
      oci::Descriptor named = mdesc;
      named.annotations[std::string(oci::kRefNameAnnotation)] = t;
      index.manifests.push_back(named);
    }
    manifest_json.push_back(
        {{"Config", "blobs/sha256/" + std::string(img.manifest.config.digest.hex())},
         {"RepoTags", item.tags},
         {"Layers", layers}});
    // A nested index (multi-platform image) is exported with the one manifest bonsai uses.
    if (oci::media::is_index(img.manifest_desc.media_type))
      return fail(ErrorKind::kUnsupported, "exporting multi-platform images is not supported yet");
  }
  index.media_type = std::string(oci::media::kOciIndex);
  // 2. Write the layout: oci-layout, blobs, index.json (and manifest.json for Docker).
  archive::TarWriter tar(out);
  TRY(add_text(tar, "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  archive::TarEntry dir;
  dir.type = archive::EntryType::kDirectory;
  dir.mode = 0755;
  for (const char* d : {"blobs", "blobs/sha256"}) {
    dir.path = d;
    TRY(tar.add(dir));
  }
  for (auto& [_, d] : blobs) TRY(add_blob(images, tar, d));
  TRY(add_text(tar, "index.json", oci::to_json(index)));
  if (format == ArchiveFormat::kDocker) TRY(add_text(tar, "manifest.json", manifest_json.dump()));
  TRY(tar.finish());
  return out.close();
}

}  // namespace bonsai::store
