// Helpers shared by the store module's tests (not part of the library): scratch stores, layer
// tars, image configs and manifests built in memory.
#pragma once

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "archive/compress.h"
#include "archive/tar.h"
#include "oci/image.h"
#include "store/images.h"
#include "sys/fd.h"

namespace bonsai::store::testing {

// A scratch directory removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "bonsai-store-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) std::abort();
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Names in a directory, sorted, without "." and "..".
inline std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string slurp(const std::string& path) {
  auto r = sys::read_file(path, size_t{1} << 30);
  return r ? *r : std::string("<unreadable: ") + r.error().message() + ">";
}

inline void put_file(const std::string& path, std::string_view data) {
  auto r = sys::write_file_atomic(path, data);
  if (!r) std::abort();
}

// XORs one byte of a file in place.
inline void flip_byte(const std::string& path, size_t offset) {
  std::string data = slurp(path);
  ASSERT_LT(offset, data.size());
  data[offset] = static_cast<char>(data[offset] ^ 0x01);
  ::unlink(path.c_str());
  put_file(path, data);
}

// A layer tar holding the given regular files (path -> content), sorted, fixed metadata.
inline std::string layer_tar(const std::map<std::string, std::string>& files) {
  util::StringWriter out;
  archive::TarWriter tar(out);
  for (auto& [path, body] : files) {
    archive::TarEntry e;
    e.path = path;
    e.type = archive::EntryType::kFile;
    e.mode = 0644;
    e.size = body.size();
    if (!tar.add(e) || !tar.write_body(body)) std::abort();
  }
  if (!tar.finish()) std::abort();
  return out.str();
}

inline std::string gzip(std::string_view data) {
  util::StringWriter out;
  auto w = archive::gzip_writer(out);
  if (!w || !(*w)->write(data) || !(*w)->close()) std::abort();
  return out.str();
}

// An image config naming the layers' diff-ids (sha256 of each uncompressed tar).
inline std::string config_json(const std::vector<std::string>& uncompressed_layers,
                               const std::string& created = "2024-01-02T03:04:05Z") {
  oci::ImageConfig c;
  c.created = created;
  c.architecture = "amd64";
  c.os = "linux";
  c.config = oci::Json{{"Cmd", {"/bin/sh"}}};
  for (auto& l : uncompressed_layers) {
    c.diff_ids.push_back(oci::Digest::of(l));
    c.history.push_back({created, "ADD layer", "", "", false});
  }
  return oci::to_json(c);
}

// One member of an archive under construction.
struct Member {
  std::string path;
  std::string body;
  archive::EntryType type = archive::EntryType::kFile;
  std::string link_target;
};

inline std::string tar_of(const std::vector<Member>& members) {
  util::StringWriter out;
  archive::TarWriter tar(out);
  for (auto& m : members) {
    archive::TarEntry e;
    e.path = m.path;
    e.type = m.type;
    e.mode = m.type == archive::EntryType::kDirectory ? 0755 : 0644;
    e.size = m.body.size();
    e.link_target = m.link_target;
    if (!tar.add(e)) std::abort();
    if (m.type == archive::EntryType::kFile && !tar.write_body(m.body)) std::abort();
  }
  if (!tar.finish()) std::abort();
  return out.str();
}

// An image written straight into a store: its layers (as given, compressed or not), config and
// manifest blobs. Returns the manifest descriptor (not yet in index.json).
struct StoredImage {
  oci::Descriptor desc;
  oci::Digest config;
  std::vector<oci::Digest> layers;
};

inline StoredImage store_image(Store& s, const std::vector<std::string>& layer_contents,
                               const std::string& created = "2024-01-02T03:04:05Z") {
  StoredImage out;
  oci::Manifest m;
  m.media_type = std::string(oci::media::kOciManifest);
  std::vector<std::string> tars;
  for (auto& content : layer_contents) {
    std::string tar = layer_tar({{"file.txt", content}});
    tars.push_back(tar);
    oci::Digest d = *s.put_blob(tar);
    out.layers.push_back(d);
    m.layers.push_back(
        {std::string(oci::media::kOciLayer), d, static_cast<int64_t>(tar.size()), {}, {}, {}});
  }
  std::string config = config_json(tars, created);
  out.config = *s.put_blob(config);
  m.config = {std::string(oci::media::kOciConfig),
              out.config,
              static_cast<int64_t>(config.size()),
              {},
              {},
              {}};
  std::string mbytes = oci::to_json(m);
  out.desc = {std::string(oci::media::kOciManifest),
              *s.put_blob(mbytes),
              static_cast<int64_t>(mbytes.size()),
              {},
              {},
              {}};
  return out;
}

inline Reference ref(std::string_view name) {
  auto r = parse_reference(name);
  if (!r) std::abort();
  return *r;
}

}  // namespace bonsai::store::testing
