#include "store/images.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "oci/media_types.h"
#include "store/layer_scan.h"

namespace bonsai::store {

using util::ErrorKind;
using util::fail;

namespace {

std::string ref_name(const oci::Descriptor& d) {
  auto it = d.annotations.find(std::string(oci::kRefNameAnnotation));
  return it == d.annotations.end() ? std::string() : it->second;
}

// Blobs reachable from one index entry: the manifest, its config and layers (or, for a nested
// index, everything below it).
Status collect_reachable(Store& store, const oci::Descriptor& d, std::set<oci::Digest>& out,
                         int depth = 0) {
  if (!out.insert(d.digest).second || depth > 8) return {};
  if (oci::media::is_index(d.media_type)) {
    std::string bytes = TRY(store.read_blob(d.digest));
    oci::Index idx = TRY(oci::parse_index(bytes, "index " + d.digest.str()));
    for (auto& m : idx.manifests) TRY(collect_reachable(store, m, out, depth + 1));
  } else if (oci::media::is_manifest(d.media_type)) {
    std::string bytes = TRY(store.read_blob(d.digest));
    oci::Manifest m = TRY(oci::parse_manifest(bytes, "manifest " + d.digest.str()));
    out.insert(m.config.digest);
    for (auto& l : m.layers) out.insert(l.digest);
  }
  return {};
}

}  // namespace

std::string human_size(uint64_t bytes) {
  static const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= 1000.0 && unit + 1 < std::size(kUnits)) {
    size /= 1000.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g%s", size, kUnits[unit]);
  return buf;
}

Result<std::unique_ptr<Images>> Images::open(const std::string& root) {
  auto s = TRY(Store::open(root));
  auto m = TRY(MetadataDb::open(root + "/bonsai.db"));
  return std::unique_ptr<Images>(new Images(std::move(s), std::move(m)));
}

Result<Image> Images::load_image(const oci::Descriptor& desc) {
  Image img;
  img.manifest_desc = desc;
  std::string what = "manifest " + desc.digest.str();
  std::string bytes = TRY(store_->read_blob(desc.digest));
  if (oci::media::is_index(desc.media_type)) {
    // A multi-platform image: use the linux/amd64 entry, as `docker` would on this machine.
    oci::Index idx = TRY(oci::parse_index(bytes, what));
    for (auto& m : idx.manifests) {
      if (!m.platform || (m.platform->os == "linux" && m.platform->architecture == "amd64")) {
        if (!store_->has_blob(m.digest)) continue;
        Image inner = TRY(load_image(m));
        inner.manifest_desc = desc;
        return inner;
      }
    }
    return fail(ErrorKind::kNotFound, what + ": no linux/amd64 image in this index");
  }
  img.manifest = TRY(oci::parse_manifest(bytes, what));
  img.id = img.manifest.config.digest;
  img.config_bytes = TRY_CTX(store_->read_blob(img.id), what);
  img.config = TRY(oci::parse_config(img.config_bytes, "config " + img.id.str()));
  if (img.config.diff_ids.size() != img.manifest.layers.size())
    return fail(ErrorKind::kCorrupt, what + ": " + std::to_string(img.manifest.layers.size()) +
                                         " layers but config has " +
                                         std::to_string(img.config.diff_ids.size()) + " diff_ids");
  return img;
}

Result<std::vector<Image>> Images::list() {
  oci::Index index = TRY(store_->read_index());
  std::map<oci::Digest, Image> by_manifest;
  for (auto& d : index.manifests) {
    auto it = by_manifest.find(d.digest);
    if (it == by_manifest.end()) {
      Image img = TRY(load_image(d));
      it = by_manifest.emplace(d.digest, std::move(img)).first;
    }
    if (std::string name = ref_name(d); !name.empty()) it->second.tags.push_back(name);
  }
  std::vector<Image> out;
  for (auto& [_, img] : by_manifest) {
    std::sort(img.tags.begin(), img.tags.end());
    out.push_back(std::move(img));
  }
  std::stable_sort(out.begin(), out.end(), [](const Image& a, const Image& b) {
    if (a.config.created != b.config.created) return a.config.created > b.config.created;
    return a.tags < b.tags;
  });
  return out;
}

Result<Image> Images::resolve(std::string_view name) {
  oci::Index index = TRY(store_->read_index());
  // 1. A tag.
  if (auto ref = parse_reference(name)) {
    for (auto& d : index.manifests)
      if (ref_name(d) == ref->str()) {
        Image img = TRY(load_image(d));
        img.tags.push_back(ref->str());
        return img;
      }
  }
  // 2. An image ID (config digest, full or a prefix of 4+ hex digits) or a manifest digest.
  std::string_view hex = name;
  if (hex.starts_with("sha256:")) hex.remove_prefix(7);
  bool is_hex =
      hex.size() >= 4 && hex.size() <= 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) &&
               !std::isupper(static_cast<unsigned char>(c));
      });
  if (is_hex) {
    auto images = TRY(list());
    for (auto& img : images)
      if (img.id.hex().starts_with(hex) || img.manifest_desc.digest.hex() == hex) return img;
  }
  return fail(ErrorKind::kNotFound, "No such image: " + std::string(name));
}

Result<LayerInfo> Images::layer_info(const oci::Descriptor& layer, const oci::Digest& diff_id) {
  // Cached only for a blob already read and found to have this diff-id.
  if (TRY(meta_->verified_diff_id(layer.digest)) == diff_id)
    if (auto cached = TRY(meta_->layer_info(diff_id))) return *cached;
  sys::UniqueFd fd = TRY(store_->open_blob(layer.digest));
  sys::FdReader in(fd.get(), store_->blob_path(layer.digest));
  util::BufferedReader buffered(in);
  LayerScan scan = TRY_CTX(scan_layer(buffered), "layer " + layer.digest.str());
  if (scan.diff_id != diff_id)
    return fail(ErrorKind::kCorrupt, "layer " + layer.digest.str() + ": uncompressed content is " +
                                         scan.diff_id.str() + ", config says " + diff_id.str());
  TRY(meta_->put_layer_info(diff_id, scan.info));
  TRY(meta_->put_verified_diff_id(layer.digest, diff_id));
  return scan.info;
}

Result<uint64_t> Images::image_size(const Image& image) {
  uint64_t total = 0;
  for (size_t i = 0; i < image.manifest.layers.size(); ++i)
    total += TRY(layer_info(image.manifest.layers[i], image.config.diff_ids[i])).content_size;
  return total;
}

Result<std::pair<oci::Digest, oci::Descriptor>> Images::put_image(
    const oci::ImageConfig& config, const std::vector<oci::Descriptor>& layers,
    const std::vector<Reference>& tags) {
  std::string config_bytes = oci::to_json(config);
  oci::Manifest m;
  m.media_type = std::string(oci::media::kOciManifest);
  m.config.media_type = std::string(oci::media::kOciConfig);
  m.config.digest = TRY(store_->put_blob(config_bytes));
  m.config.size = static_cast<int64_t>(config_bytes.size());
  m.layers = layers;
  std::string manifest_bytes = oci::to_json(m);
  oci::Descriptor desc;
  desc.media_type = m.media_type;
  desc.digest = TRY(store_->put_blob(manifest_bytes));
  desc.size = static_cast<int64_t>(manifest_bytes.size());
  TRY(add(desc, tags));
  return std::pair{m.config.digest, desc};
}

Status Images::add(const oci::Descriptor& manifest_desc, const std::vector<Reference>& tags) {
  return store_->update_index([&](oci::Index& index) -> Status {
    std::set<std::string> names;
    for (auto& t : tags) names.insert(t.str());
    // Tags move: drop them from other images; keep an image that loses its last tag as dangling.
    std::vector<oci::Descriptor> kept;
    std::set<oci::Digest> still_named;
    std::set<oci::Digest> lost_tag;
    std::set<std::string> in_place;  // tags that already name this manifest keep their entry
    for (auto& d : index.manifests) {
      std::string n = ref_name(d);
      if (!n.empty() && names.count(n) && d.digest == manifest_desc.digest && !in_place.count(n)) {
        in_place.insert(n);
        kept.push_back(d);
        still_named.insert(d.digest);
        continue;
      }
      if (!n.empty() && names.count(n)) {
        lost_tag.insert(d.digest);
        continue;
      }
      if (d.digest == manifest_desc.digest && n.empty() && !names.empty()) continue;  // now named
      kept.push_back(d);
      if (!n.empty()) still_named.insert(d.digest);
    }
    for (auto& dg : lost_tag) {
      bool present = dg == manifest_desc.digest || still_named.count(dg) ||
                     std::any_of(kept.begin(), kept.end(), [&](auto& d) { return d.digest == dg; });
      if (!present) {
        for (auto& d : index.manifests)
          if (d.digest == dg) {
            oci::Descriptor dangling = d;
            dangling.annotations.erase(std::string(oci::kRefNameAnnotation));
            kept.push_back(dangling);
            break;
          }
      }
    }
    for (auto& name : names) {
      if (in_place.count(name)) continue;
      oci::Descriptor d = manifest_desc;
      d.annotations[std::string(oci::kRefNameAnnotation)] = name;
      kept.push_back(d);
    }
    if (names.empty() && std::none_of(kept.begin(), kept.end(),
                                      [&](auto& d) { return d.digest == manifest_desc.digest; }))
      kept.push_back(manifest_desc);
    index.manifests = std::move(kept);
    return {};
  });
}

Status Images::untag(const Reference& ref) {
  bool found = false;
  TRY(store_->update_index([&](oci::Index& index) -> Status {
    std::erase_if(index.manifests, [&](const oci::Descriptor& d) {
      bool match = ref_name(d) == ref.str();
      found |= match;
      return match;
    });
    return {};
  }));
  if (!found) return fail(ErrorKind::kNotFound, "No such image: " + ref.str());
  return {};
}

Status Images::remove_image(const oci::Digest& manifest_digest) {
  return store_->update_index([&](oci::Index& index) -> Status {
    std::erase_if(index.manifests,
                  [&](const oci::Descriptor& d) { return d.digest == manifest_digest; });
    return {};
  });
}

Result<PruneReport> Images::prune() {
  PruneReport report;
  FileLock gc = TRY(store_->lock_gc_exclusive());
  // 1. Drop dangling images from the index.
  TRY(store_->update_index([&](oci::Index& index) -> Status {
    std::set<oci::Digest> named;
    for (auto& d : index.manifests)
      if (!ref_name(d).empty()) named.insert(d.digest);
    size_t before = index.manifests.size();
    std::erase_if(index.manifests, [&](const oci::Descriptor& d) {
      return ref_name(d).empty() && !named.count(d.digest);
    });
    report.images_removed = static_cast<int>(before - index.manifests.size());
    return {};
  }));
  // 2. Mark everything reachable from the index.
  oci::Index index = TRY(store_->read_index());
  std::set<oci::Digest> live;
  for (auto& d : index.manifests) TRY(collect_reachable(*store_, d, live));
  // 3. Sweep the rest.
  std::string dir = store_->root() + "/blobs/sha256";
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) return util::sys_fail("open " + dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dp)) names.emplace_back(e->d_name);
  ::closedir(dp);
  for (auto& n : names) {
    auto d = oci::Digest::parse("sha256:" + n);
    if (!d || live.count(*d)) continue;
    std::string path = dir + "/" + n;
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && ::unlink(path.c_str()) == 0) {
      ++report.blobs_removed;
      report.bytes_freed += static_cast<uint64_t>(st.st_size);
    }
  }
  TRY(store_->clean_stale_ingests());
  return report;
}

Result<FsckReport> Images::fsck() {
  FsckReport report;
  report.stale_ingests_removed = TRY(store_->clean_stale_ingests());
  auto problem = [&](std::string p) { report.problems.push_back(std::move(p)); };
  // The index is read before the blobs are listed: a concurrent load publishes blobs before the
  // index names them, so every blob named in this snapshot is in the listing. Holding gc.lock
  // keeps prune from deleting blobs of images removed from the index meanwhile.
  FileLock gc = TRY(store_->lock_gc_shared());
  auto index = store_->read_index();
  // 1. Every blob holds the content its name promises.
  std::string dir = store_->root() + "/blobs/sha256";
  DIR* dp = ::opendir(dir.c_str());
  if (!dp) return util::sys_fail("open " + dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(dp))
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
      names.emplace_back(e->d_name);
  ::closedir(dp);
  std::set<oci::Digest> present;
  for (auto& n : names) {
    auto d = oci::Digest::parse("sha256:" + n);
    if (!d) {
      problem("blobs/sha256/" + n + ": not a digest name");
      continue;
    }
    auto fd = store_->open_blob(*d);
    if (!fd) {
      problem(fd.error().message());
      continue;
    }
    sys::FdReader r(fd->get(), n);
    util::HashingWriter h(nullptr);
    auto copied = util::copy(r, h);
    if (!copied) {
      problem(copied.error().message());
      continue;
    }
    if (h.finish_hex() != d->hex())
      problem("blob " + d->str() + ": content does not match its digest");
    present.insert(*d);
    ++report.blobs_checked;
  }
  // 2. Every image in the index is complete and consistent.
  if (!index) {
    problem(index.error().message());
    return report;
  }
  for (auto& d : index->manifests) {
    std::string name = ref_name(d).empty() ? d.digest.str() : ref_name(d);
    if (!present.count(d.digest)) {
      problem(name + ": manifest " + d.digest.str() + " is missing");
      continue;
    }
    auto img = load_image(d);
    if (!img) {
      problem(name + ": " + img.error().message());
      continue;
    }
    for (auto& l : img->manifest.layers) {
      if (!present.count(l.digest)) {
        problem(name + ": layer " + l.digest.str() + " is missing");
        continue;
      }
      struct stat st;
      if (::stat(store_->blob_path(l.digest).c_str(), &st) == 0 && st.st_size != l.size)
        problem(name + ": layer " + l.digest.str() + " is " + std::to_string(st.st_size) +
                " bytes, manifest says " + std::to_string(l.size));
    }
  }
  return report;
}

}  // namespace bonsai::store
