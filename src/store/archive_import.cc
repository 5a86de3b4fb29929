// Import of docker-archive and oci-archive files. See archive_io.h for the contract.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "archive/tar.h"
#include "store/archive_io.h"
#include "store/layer_scan.h"

namespace bonsai::store {

using util::ErrorKind;
using util::fail;

namespace {

constexpr size_t kMaxSmallFile = 16 << 20;  // manifest.json, index.json, configs

// What the archive walk found: every file's blob, and every symlink.
struct ArchiveContents {
  std::map<std::string, std::pair<oci::Digest, int64_t>> files;
  std::map<std::string, std::string> links;   // path -> normalised target path
  std::map<std::string, std::string> layout;  // manifest.json, index.json, oci-layout: in memory
};

bool is_layout_file(const std::string& path) {
  return path == "manifest.json" || path == "index.json" || path == "oci-layout";
}

// "a/b" + "../c/layer.tar" => "c/layer.tar"; an escape yields "".
std::string resolve_link(const std::string& from, const std::string& target) {
  std::vector<std::string> parts;
  if (!target.starts_with("/")) {
    std::string dir =
        from.substr(0, from.find_last_of('/') == std::string::npos ? 0 : from.find_last_of('/'));
    for (size_t s = 0; !dir.empty();) {
      auto e = dir.find('/', s);
      parts.push_back(dir.substr(s, e - s));
      if (e == std::string::npos) break;
      s = e + 1;
    }
  }
  for (size_t s = 0;;) {
    auto e = target.find('/', s);
    std::string p = target.substr(s, e == std::string::npos ? std::string::npos : e - s);
    if (p == "..") {
      if (parts.empty()) return "";
      parts.pop_back();
    } else if (!p.empty() && p != ".") {
      parts.push_back(p);
    }
    if (e == std::string::npos) break;
    s = e + 1;
  }
  std::string out;
  for (auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

// Reads through to `in` and writes every byte read to `out`.
class TeeReader final : public util::Reader {
 public:
  TeeReader(util::Reader& in, util::Writer& out) : in_(in), out_(out) {}
  Result<size_t> read(std::span<char> buf) override {
    size_t n = TRY(in_.read(buf));
    TRY(out_.write(std::string_view(buf.data(), n)));
    return n;
  }

 private:
  util::Reader& in_;
  util::Writer& out_;
};

// Streams one archive member into the store. Members named blobs/sha256/<hex> must match.
Status ingest_member(Images& images, archive::TarReader& tar, const archive::TarEntry& e,
                     ArchiveContents& out) {
  std::optional<oci::Digest> expected;
  if (e.path.starts_with("blobs/sha256/"))
    expected = TRY(oci::Digest::parse("sha256:" + e.path.substr(13)));
  // One pass: the bytes go to the blob (hashed there) and, when they look like a layer,
  // through the tar walk that records its content size and diff-id.
  auto w = TRY(images.store().begin_blob());
  TeeReader tee(tar.body(), *w);
  auto scan = TRY(scan_if_layer(tee));
  auto [digest, size] = TRY(w->commit(expected, static_cast<int64_t>(e.size)));
  out.files[e.path] = {digest, size};
  if (scan) {
    // This blob's own bytes gave the diff-id, so the pair is verified (see layer_info()).
    oci::Digest diff_id = scan->diff_id.empty() ? digest : scan->diff_id;
    TRY(images.metadata().put_layer_info(diff_id, scan->info));
    TRY(images.metadata().put_verified_diff_id(digest, diff_id));
  }
  return {};
}

Result<ArchiveContents> walk_archive(Images& images, util::Reader& in) {
  ArchiveContents out;
  archive::TarReader tar(in);
  for (;;) {
    auto entry = TRY(tar.next());
    if (!entry) break;
    const auto& e = *entry;
    std::string where = "entry " + std::to_string(tar.index() + 1) + " (" + e.path + ")";
    // Docker 20.10's per-layer "json" and "VERSION" files and "repositories" are legacy
    // duplicates of what manifest.json and the configs say; they are not kept.
    bool legacy =
        e.path == "repositories" || e.path.ends_with("/json") || e.path.ends_with("/VERSION");
    if (e.type == archive::EntryType::kFile && is_layout_file(e.path)) {
      out.layout[e.path] = TRY_CTX(util::read_all(tar.body(), kMaxSmallFile), where);
    } else if (e.type == archive::EntryType::kFile && !legacy) {
      TRY_CTX(ingest_member(images, tar, e, out), where);
    } else if (e.type == archive::EntryType::kSymlink) {
      out.links[e.path] = resolve_link(e.path, e.link_target);
    } else if (e.type == archive::EntryType::kHardLink) {
      out.links[e.path] = e.link_target;
    }
  }
  return out;
}

// The blob of an archive member, following (a bounded chain of) symlinks.
Result<std::pair<oci::Digest, int64_t>> member_blob(const ArchiveContents& c,
                                                    const std::string& name) {
  std::string path = name;
  for (int hops = 0; hops < 16; ++hops) {
    path = archive::normalize_path(path);
    if (auto it = c.files.find(path); it != c.files.end()) return it->second;
    auto l = c.links.find(path);
    if (l == c.links.end()) break;
    if (l->second.empty())
      return fail(ErrorKind::kCorrupt, "\"" + name + "\" is a link leading out of the archive");
    path = l->second;
  }
  if (path != archive::normalize_path(name))
    return fail(ErrorKind::kCorrupt,
                "the archive has no file \"" + path + "\" (the target of \"" + name + "\")");
  return fail(ErrorKind::kCorrupt, "the archive has no file \"" + name + "\"");
}

Result<std::string> member_text(Images& images, const ArchiveContents& c, const std::string& path) {
  if (auto it = c.layout.find(path); it != c.layout.end()) return it->second;
  auto [digest, size] = TRY(member_blob(c, path));
  if (size > static_cast<int64_t>(kMaxSmallFile))
    return fail(ErrorKind::kLimit, path + " is larger than 16 MiB");
  return images.store().read_blob(digest, kMaxSmallFile);
}

// Media type of a stored layer blob, from its first bytes.
Result<std::string> layer_media_type(Images& images, const oci::Digest& d) {
  sys::UniqueFd fd = TRY(images.store().open_blob(d));
  unsigned char magic[4] = {};
  ssize_t n = ::pread(fd.get(), magic, sizeof magic, 0);
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) return std::string(oci::media::kOciLayerGzip);
  if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return std::string(oci::media::kOciLayerZstd);
  return std::string(oci::media::kOciLayer);
}

// A descriptor's size is the size of the blob it names, or the store would hold an image that
// fsck and any registry reject.
Status check_size(Images& images, const oci::Descriptor& d) {
  struct stat st;
  std::string path = images.store().blob_path(d.digest);
  if (::stat(path.c_str(), &st) != 0) return util::sys_fail("blob " + d.digest.str());
  if (st.st_size != d.size)
    return fail(ErrorKind::kCorrupt,
                "blob " + d.digest.str() + " is " + std::to_string(st.st_size) +
                    " bytes but its descriptor gives size " + std::to_string(d.size));
  return {};
}

// Checks every blob of a manifest against its descriptor's size and every layer against the
// config's diff-ids (recording content sizes).
Status verify_image(Images& images, const oci::Descriptor& manifest_desc) {
  TRY_CTX(check_size(images, manifest_desc), "manifest");
  Image img = TRY(images.load_image(manifest_desc));
  TRY_CTX(check_size(images, img.manifest.config), "config");
  for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
    std::string where = "layer " + std::to_string(i + 1);
    TRY_CTX(check_size(images, img.manifest.layers[i]), where);
    TRY_CTX(images.layer_info(img.manifest.layers[i], img.config.diff_ids[i]), where);
  }
  return {};
}

// An image verified and ready to be added to index.json.
struct Verified {
  oci::Descriptor desc;
  std::vector<Reference> refs;
};

// Adds the images only once all of them are verified, so a bad image in an archive leaves the
// index as it was.
Result<std::vector<LoadedImage>> add_all(Images& images, const std::vector<Verified>& verified,
                                         std::vector<LoadedImage> loaded) {
  for (auto& v : verified) TRY(images.add(v.desc, v.refs));
  return loaded;
}

// Docker >= 25 writes archives that are also OCI layouts, with the image's own manifest named in
// index.json. Using that manifest when it has the same config and layers as a manifest.json entry
// keeps the image's manifest digest (so `bonsai save` then `bonsai load` changes nothing). An
// unusable index.json is ignored here: manifest.json is what Docker itself reads.
std::optional<oci::Descriptor> layout_manifest(Images& images, const ArchiveContents& c,
                                               const oci::Manifest& built) {
  if (!c.layout.count("index.json")) return std::nullopt;
  auto text = member_text(images, c, "index.json");
  if (!text) return std::nullopt;
  auto index = oci::parse_index(*text, "index.json");
  if (!index) return std::nullopt;
  for (const auto& d : index->manifests) {
    if (!oci::media::is_manifest(d.media_type) || !images.store().has_blob(d.digest)) continue;
    auto bytes = images.store().read_blob(d.digest);
    if (!bytes) continue;
    auto m = oci::parse_manifest(*bytes, "manifest " + d.digest.str());
    if (!m || m->config.digest != built.config.digest || m->layers.size() != built.layers.size())
      continue;
    bool same = true;
    for (size_t i = 0; i < m->layers.size(); ++i)
      same = same && m->layers[i].digest == built.layers[i].digest;
    if (!same) continue;
    oci::Descriptor plain = d;
    plain.annotations.clear();
    return plain;
  }
  return std::nullopt;
}

// Docker's manifest.json: [{"Config": path, "RepoTags": [...], "Layers": [paths]}].
Result<std::vector<LoadedImage>> import_docker(Images& images, const ArchiveContents& c) {
  std::string text = TRY(member_text(images, c, "manifest.json"));
  auto doc = TRY(oci::parse_strict_json(text, "manifest.json"));
  if (!doc.is_array()) return fail(ErrorKind::kCorrupt, "manifest.json: not an array");
  std::vector<LoadedImage> loaded;
  std::vector<Verified> verified;
  for (size_t i = 0; i < doc.size(); ++i) {
    const auto& item = doc[i];
    std::string where = "manifest.json: image " + std::to_string(i + 1);
    if (!item.is_object()) return fail(ErrorKind::kCorrupt, where + ": not an object");
    std::string config_path = TRY(oci::get_string(item, "Config", where, true));
    auto [config_digest, config_size] = TRY_CTX(member_blob(c, config_path), where);
    std::string config_bytes = TRY_CTX(images.store().read_blob(config_digest), where);
    oci::ImageConfig config = TRY(oci::parse_config(config_bytes, config_path));
    auto layers = item.find("Layers");
    if (layers == item.end() || !layers->is_array())
      return fail(ErrorKind::kCorrupt, where + ": missing Layers");
    oci::Manifest m;
    m.media_type = std::string(oci::media::kOciManifest);
    m.config = {std::string(oci::media::kOciConfig), config_digest, config_size, {}, {}, {}};
    for (size_t l = 0; l < layers->size(); ++l) {
      std::string lwhere = where + ": layer " + std::to_string(l + 1);
      if (!(*layers)[l].is_string()) return fail(ErrorKind::kCorrupt, lwhere + ": not a path");
      auto [ld, lsize] = TRY_CTX(member_blob(c, (*layers)[l].get<std::string>()), lwhere);
      std::string mt = TRY(layer_media_type(images, ld));
      m.layers.push_back({mt, ld, lsize, {}, {}, {}});
    }
    if (m.layers.size() != config.diff_ids.size())
      return fail(ErrorKind::kCorrupt, where + ": " + std::to_string(m.layers.size()) +
                                           " layers but the config lists " +
                                           std::to_string(config.diff_ids.size()) + " diff_ids");
    oci::Descriptor desc;
    if (auto own = layout_manifest(images, c, m)) {
      desc = *own;
    } else {
      std::string mbytes = oci::to_json(m);
      oci::Digest md = TRY(images.store().put_blob(mbytes));
      desc = {std::string(oci::media::kOciManifest),
              md,
              static_cast<int64_t>(mbytes.size()),
              {},
              {},
              {}};
    }
    TRY_CTX(verify_image(images, desc), where);
    std::vector<Reference> refs;
    LoadedImage li{config_digest, {}};
    if (auto tags = item.find("RepoTags"); tags != item.end() && tags->is_array()) {
      for (auto& t : *tags) {
        if (!t.is_string()) continue;
        Reference r = TRY_CTX(parse_reference(t.get<std::string>()), where);
        refs.push_back(r);
        li.tags.push_back(r.str());
      }
    }
    verified.push_back({desc, std::move(refs)});
    loaded.push_back(std::move(li));
  }
  return add_all(images, verified, std::move(loaded));
}

// The tag an OCI index entry carries, if it names a repository (a bare "latest" does not).
std::optional<Reference> oci_entry_name(const oci::Descriptor& d) {
  for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
    auto it = d.annotations.find(key);
    if (it == d.annotations.end()) continue;
    bool has_repo =
        it->second.find(':') != std::string::npos || it->second.find('/') != std::string::npos;
    if (!has_repo) continue;
    if (auto r = parse_reference(it->second)) return *r;
  }
  return std::nullopt;
}

Result<std::vector<LoadedImage>> import_oci(Images& images, const ArchiveContents& c) {
  std::string text = TRY(member_text(images, c, "index.json"));
  oci::Index index = TRY(oci::parse_index(text, "index.json"));
  std::vector<LoadedImage> loaded;
  std::vector<Verified> verified;
  for (size_t i = 0; i < index.manifests.size(); ++i) {
    const auto& d = index.manifests[i];
    std::string where = "index.json: manifest " + std::to_string(i + 1);
    if (!images.store().has_blob(d.digest))
      return fail(ErrorKind::kCorrupt,
                  where + ": blob " + d.digest.str() + " is not in the archive");
    TRY_CTX(verify_image(images, d), where);
    Image img = TRY(images.load_image(d));
    LoadedImage li{img.id, {}};
    std::vector<Reference> refs;
    if (auto r = oci_entry_name(d)) {
      refs.push_back(*r);
      li.tags.push_back(r->str());
    }
    oci::Descriptor plain = d;
    plain.annotations.clear();
    verified.push_back({std::move(plain), std::move(refs)});
    loaded.push_back(std::move(li));
  }
  return add_all(images, verified, std::move(loaded));
}

}  // namespace

Result<std::vector<LoadedImage>> import_archive(Images& images, util::Reader& in) {
  // 1. Hold the GC lock shared so a concurrent prune cannot sweep blobs before they are tagged.
  FileLock gc = TRY(images.store().lock_gc_shared());
  // 2. Stream every member into the store, verifying blobs/sha256/* names.
  auto plain = TRY(decompressed(in));
  ArchiveContents contents = TRY(walk_archive(images, *plain));
  // 3. Assemble images from manifest.json (docker-archive) or index.json (OCI), verify, tag.
  if (contents.layout.count("manifest.json")) return import_docker(images, contents);
  if (contents.layout.count("index.json")) return import_oci(images, contents);
  return fail(ErrorKind::kCorrupt, "not an image archive: no manifest.json or index.json");
}

}  // namespace bonsai::store
