#include "store/archive_io.h"

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace bonsai::store {
namespace {

using archive::EntryType;
using testing::config_json;
using testing::layer_tar;
using testing::list_dir;
using testing::Member;
using testing::slurp;
using testing::tar_of;
using testing::TempDir;
using util::ErrorKind;

// An image as an archive carries it: the uncompressed layer tars (for diff-ids), the layer
// files as stored (maybe gzip-compressed) and the config.
struct ImageFiles {
  std::vector<std::string> tars;
  std::vector<std::string> stored;
  std::string config;
  oci::Digest id() const { return oci::Digest::of(config); }
};

ImageFiles make_image(const std::vector<std::string>& contents, bool gzip_layers = false,
                      const std::string& created = "2024-01-02T03:04:05Z") {
  ImageFiles img;
  for (size_t i = 0; i < contents.size(); ++i) {
    std::string tar = layer_tar({{"data/file", contents[i]}, {"etc/os-release", "ID=test\n"}});
    img.tars.push_back(tar);
    img.stored.push_back(gzip_layers ? testing::gzip(tar) : tar);
  }
  img.config = config_json(img.tars, created);
  return img;
}

std::string hex_of(std::string_view data) { return std::string(oci::Digest::of(data).hex()); }

// Docker 20.10's `docker save`: one directory per layer (legacy VERSION and json beside
// layer.tar), a layer already saved stored as a symlink to the first copy, <config hex>.json,
// manifest.json and the legacy repositories file.
std::vector<Member> docker_2010_members(const ImageFiles& img, const std::string& tag,
                                        const std::string& manifest_override = "") {
  std::vector<Member> m;
  std::map<std::string, std::string> first_dir;  // layer digest -> directory holding it
  std::string layers_json;
  for (size_t i = 0; i < img.stored.size(); ++i) {
    std::string id = hex_of("v1 layer " + std::to_string(i) + tag);
    m.push_back({id, "", EntryType::kDirectory});
    m.push_back({id + "/VERSION", "1.0"});
    m.push_back({id + "/json", R"({"id":")" + id + R"("})"});
    std::string dg = hex_of(img.stored[i]);
    if (auto it = first_dir.find(dg); it != first_dir.end()) {
      m.push_back({id + "/layer.tar", "", EntryType::kSymlink, "../" + it->second + "/layer.tar"});
    } else {
      first_dir[dg] = id;
      m.push_back({id + "/layer.tar", img.stored[i]});
    }
    layers_json += std::string(i ? "," : "") + "\"" + id + "/layer.tar\"";
  }
  m.push_back({hex_of(img.config) + ".json", img.config});
  std::string manifest = manifest_override.empty()
                             ? R"([{"Config":")" + hex_of(img.config) + R"(.json","RepoTags":[")" +
                                   tag + R"("],"Layers":[)" + layers_json + "]}]"
                             : manifest_override;
  m.push_back({"manifest.json", manifest});
  m.push_back({"repositories", R"({"app":{"1":"x"}})"});
  return m;
}

// An OCI manifest for the image, as bytes, in the field order Go's image-spec types use.
std::string oci_manifest(const ImageFiles& img, bool gzip_layers,
                         const std::string& annotations = "") {
  std::string layers;
  for (size_t i = 0; i < img.stored.size(); ++i)
    layers +=
        std::string(i ? "," : "") + R"({"mediaType":"application/vnd.oci.image.layer.v1.tar)" +
        (gzip_layers ? "+gzip" : "") + R"(","digest":")" + oci::Digest::of(img.stored[i]).str() +
        R"(","size":)" + std::to_string(img.stored[i].size()) + "}";
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         img.id().str() + R"(","size":)" + std::to_string(img.config.size()) + R"(},"layers":[)" +
         layers + "]" + annotations + "}";
}

// An OCI image layout holding the image (blobs, oci-layout, index.json naming `ref_name`), and,
// when `docker_manifest` is set, Docker 25's manifest.json beside it.
std::vector<Member> oci_layout_members(const ImageFiles& img, const std::string& ref_name,
                                       bool docker_manifest, bool gzip_layers = false,
                                       const std::string& manifest_annotations = "") {
  std::string manifest = oci_manifest(img, gzip_layers, manifest_annotations);
  std::vector<Member> m = {{"blobs", "", EntryType::kDirectory},
                           {"blobs/sha256", "", EntryType::kDirectory}};
  std::map<std::string, std::string> blobs;
  for (auto& s : img.stored) blobs[hex_of(s)] = s;
  blobs[hex_of(img.config)] = img.config;
  blobs[hex_of(manifest)] = manifest;
  for (auto& [hex, body] : blobs) m.push_back({"blobs/sha256/" + hex, body});
  m.push_back({"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"});
  m.push_back({"index.json",
               R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",)"
               R"("manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
               R"("digest":")" +
                   oci::Digest::of(manifest).str() + R"(","size":)" +
                   std::to_string(manifest.size()) +
                   R"(,"annotations":{"io.containerd.image.name":"docker.io/library/)" + ref_name +
                   R"(","org.opencontainers.image.ref.name":")" + ref_name + R"("}}]})"});
  if (docker_manifest) {
    std::string layers;
    for (size_t i = 0; i < img.stored.size(); ++i)
      layers += std::string(i ? "," : "") + "\"blobs/sha256/" + hex_of(img.stored[i]) + "\"";
    m.push_back({"manifest.json", R"([{"Config":"blobs/sha256/)" + hex_of(img.config) +
                                      R"(","RepoTags":[")" + ref_name + R"("],"Layers":[)" +
                                      layers + "]}]"});
  }
  return m;
}

// A store in a scratch directory.
struct TestStore {
  TestStore() {
    auto i = Images::open(dir.path());
    EXPECT_TRUE(i) << i.error().message();
    if (i) images = std::move(*i);
  }
  Result<std::vector<LoadedImage>> load(std::string_view archive_bytes) {
    util::StringReader in(archive_bytes);
    return import_archive(*images, in);
  }
  std::string save(ArchiveFormat format) {
    auto list = images->list();
    EXPECT_TRUE(list);
    std::vector<ExportItem> items;
    for (auto& img : *list) items.push_back({img, img.tags});
    util::StringWriter out;
    auto st = export_archive(*images, items, format, out);
    EXPECT_TRUE(st) << st.error().message();
    return out.str();
  }
  // image ID -> (manifest digest, tags) for every image.
  std::map<oci::Digest, std::pair<oci::Digest, std::vector<std::string>>> summary() {
    std::map<oci::Digest, std::pair<oci::Digest, std::vector<std::string>>> out;
    auto list = images->list();
    EXPECT_TRUE(list) << list.error().message();
    if (list)
      for (auto& img : *list) out[img.id] = {img.manifest_desc.digest, img.tags};
    return out;
  }
  void expect_clean() {
    auto r = images->fsck();
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(r->problems.empty()) << r->problems.front();
    EXPECT_TRUE(list_dir(dir.file("ingest")).empty());
  }
  TempDir dir;
  std::unique_ptr<Images> images;
};

TEST(ImportArchive, LoadsDocker2010ArchiveWithASymlinkedDuplicateLayer) {
  ImageFiles img = make_image({"base", "app", "base"});
  ASSERT_EQ(img.stored[0], img.stored[2]);
  TestStore s;
  auto loaded = s.load(tar_of(docker_2010_members(img, "app:1")));
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, img.id());
  EXPECT_EQ((*loaded)[0].tags, std::vector<std::string>{"app:1"});
  auto got = s.images->resolve("app:1");
  ASSERT_TRUE(got) << got.error().message();
  ASSERT_EQ(got->manifest.layers.size(), 3u);
  EXPECT_EQ(got->manifest.layers[0].digest, oci::Digest::of(img.stored[0]));
  EXPECT_EQ(got->manifest.layers[2].digest, got->manifest.layers[0].digest);
  EXPECT_EQ(got->manifest.layers[1].media_type, oci::media::kOciLayer);
  EXPECT_EQ(got->config_bytes, img.config);
  s.expect_clean();
}

TEST(ImportArchive, LoadsDocker25ArchiveThatIsAlsoAnOciLayout) {
  ImageFiles img = make_image({"one", "two"});
  TestStore s;
  auto loaded = s.load(tar_of(oci_layout_members(img, "web:2", true)));
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, img.id());
  EXPECT_EQ((*loaded)[0].tags, std::vector<std::string>{"web:2"});
  auto got = s.images->resolve("web:2");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->manifest_desc.digest, oci::Digest::of(oci_manifest(img, false)));
  s.expect_clean();
}

TEST(ImportArchive, LoadsOciArchiveTaggedByRefName) {
  ImageFiles img = make_image({"one"});
  TestStore s;
  auto loaded = s.load(tar_of(oci_layout_members(img, "name:tag", false)));
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].id, img.id());
  EXPECT_EQ((*loaded)[0].tags, std::vector<std::string>{"name:tag"});
  auto got = s.images->resolve("name:tag");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->manifest_desc.digest, oci::Digest::of(oci_manifest(img, false)));
  // index.json keeps only bonsai's own annotation.
  auto index = s.images->store().read_index();
  ASSERT_TRUE(index);
  ASSERT_EQ(index->manifests.size(), 1u);
  EXPECT_EQ(
      index->manifests[0].annotations,
      (std::map<std::string, std::string>{{std::string(oci::kRefNameAnnotation), "name:tag"}}));
  s.expect_clean();
}

TEST(ImportArchive, LoadsAGzipCompressedArchive) {
  ImageFiles img = make_image({"base", "app"});
  TestStore s;
  auto loaded = s.load(testing::gzip(tar_of(docker_2010_members(img, "app:1"))));
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ((*loaded)[0].id, img.id());
  s.expect_clean();
}

TEST(ImportArchive, LoadsGzipCompressedLayersCheckingDiffIdsOfTheirContent) {
  ImageFiles img = make_image({"base", "app"}, /*gzip_layers=*/true);
  for (bool oci : {false, true}) {
    TestStore s;
    auto loaded = s.load(tar_of(oci ? oci_layout_members(img, "app:1", false, true)
                                    : docker_2010_members(img, "app:1")));
    ASSERT_TRUE(loaded) << loaded.error().message();
    auto got = s.images->resolve("app:1");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->manifest.layers[0].media_type, oci::media::kOciLayerGzip);
    EXPECT_EQ(got->manifest.layers[0].digest, oci::Digest::of(img.stored[0]));
    EXPECT_EQ(got->config.diff_ids[0], oci::Digest::of(img.tars[0]));
    s.expect_clean();
  }
}

TEST(ImportArchive, LoadsEveryImageOfAnArchiveWithSeveral) {
  ImageFiles a = make_image({"a"}), b = make_image({"b"});
  std::vector<Member> m = docker_2010_members(a, "a:1");
  std::vector<Member> mb = docker_2010_members(b, "b:1");
  m.pop_back();  // repositories
  std::string first = m.back().body;
  m.pop_back();  // manifest.json
  for (auto& x : mb)
    if (x.path != "manifest.json" && x.path != "repositories") m.push_back(x);
  std::string second = mb[mb.size() - 2].body;
  m.push_back({"manifest.json", first.substr(0, first.size() - 1) + "," + second.substr(1)});
  TestStore s;
  auto loaded = s.load(tar_of(m));
  ASSERT_TRUE(loaded) << loaded.error().message();
  ASSERT_EQ(loaded->size(), 2u);
  auto sum = s.summary();
  EXPECT_EQ(sum[a.id()].second, std::vector<std::string>{"a:1"});
  EXPECT_EQ(sum[b.id()].second, std::vector<std::string>{"b:1"});
}

// Every input form, loaded, saved in both formats and loaded into a fresh store, keeps its image
// IDs and manifest digests; saving is deterministic.
TEST(ExportArchive, RoundTripKeepsImageIdsAndManifestDigests) {
  ImageFiles a = make_image({"base", "app", "base"}, false, "2024-01-01T00:00:00Z");
  ImageFiles b = make_image({"gz1", "gz2"}, true, "2023-01-01T00:00:00Z");
  ImageFiles c = make_image({"oci"}, false, "2022-01-01T00:00:00Z");
  const std::vector<std::pair<std::string, std::string>> inputs = {
      {"docker 20.10", tar_of(docker_2010_members(a, "app:1"))},
      {"docker 25", tar_of(oci_layout_members(b, "gz:1", true, true))},
      {"oci", tar_of(oci_layout_members(c, "oci:1", false, false,
                                        R"(,"annotations":{"org.example":"kept"})"))},
  };
  TestStore first;
  for (auto& [name, bytes] : inputs) {
    auto loaded = first.load(bytes);
    ASSERT_TRUE(loaded) << name << ": " << loaded.error().message();
  }
  auto want = first.summary();
  ASSERT_EQ(want.size(), 3u);
  for (ArchiveFormat format : {ArchiveFormat::kDocker, ArchiveFormat::kOci}) {
    SCOPED_TRACE(format == ArchiveFormat::kDocker ? "docker" : "oci");
    std::string saved = first.save(format);
    EXPECT_EQ(first.save(format), saved);  // deterministic
    TestStore second;
    auto loaded = second.load(saved);
    ASSERT_TRUE(loaded) << loaded.error().message();
    EXPECT_EQ(second.summary(), want);
    second.expect_clean();
    // Saving what was loaded from a save gives the same bytes again.
    EXPECT_EQ(second.save(format), saved);
  }
}

// --- Malformed input ---

// Loads `archive_bytes` into a store that already holds an image and expects a failure whose
// message contains every string of `want`, with the store left as it was.
void expect_rejected(std::string_view archive_bytes, const std::vector<std::string>& want,
                     TestStore* existing = nullptr) {
  TestStore fresh;
  TestStore& s = existing ? *existing : fresh;
  if (!existing) {
    auto good = s.load(tar_of(docker_2010_members(make_image({"kept"}), "kept:1")));
    ASSERT_TRUE(good) << good.error().message();
  }
  std::string index_before = slurp(s.dir.file("index.json"));
  auto loaded = s.load(archive_bytes);
  ASSERT_FALSE(loaded) << "loaded " << loaded->size() << " image(s)";
  for (auto& w : want)
    EXPECT_NE(loaded.error().message().find(w), std::string::npos)
        << "want \"" << w << "\" in: " << loaded.error().message();
  EXPECT_EQ(slurp(s.dir.file("index.json")), index_before);
  s.expect_clean();
}

std::vector<Member> replace_member(std::vector<Member> m, const std::string& path,
                                   const std::string& body) {
  for (auto& x : m)
    if (x.path == path) x.body = body;
  return m;
}

TEST(ImportArchive, RejectsATruncatedArchiveNamingTheMember) {
  ImageFiles img = make_image({std::string(20000, 'x'), "app"});
  std::string full = tar_of(docker_2010_members(img, "app:1"));
  // Cut inside the first layer's body: after its header and 4 KiB of content.
  std::string first_layer = hex_of("v1 layer 0app:1") + "/layer.tar";
  size_t at = full.find(img.stored[0].substr(0, 512));
  ASSERT_NE(at, std::string::npos);
  expect_rejected(full.substr(0, at + 4096), {first_layer});
}

TEST(ImportArchive, RejectsAnArchiveCutAtAMemberBoundary) {
  ImageFiles img = make_image({"base"});
  std::vector<Member> m = docker_2010_members(img, "app:1");
  m.resize(m.size() - 2);  // no manifest.json, no repositories
  expect_rejected(tar_of(m), {"no manifest.json or index.json"});
}

TEST(ImportArchive, RejectsGarbage) {
  std::string garbage;
  for (int i = 0; i < 200; ++i) garbage += "this is not an image archive ";
  expect_rejected(garbage, {"tar entry 0", "bad header checksum"});
}

TEST(ImportArchive, RejectsManifestJsonThatIsNotJson) {
  ImageFiles img = make_image({"base"});
  expect_rejected(tar_of(replace_member(docker_2010_members(img, "app:1"), "manifest.json",
                                        R"([{"Config": "x.json",)")),
                  {"manifest.json", "invalid JSON"});
}

TEST(ImportArchive, RejectsManifestJsonWithDuplicateKeys) {
  ImageFiles img = make_image({"base"});
  std::string dup = R"([{"Config":")" + hex_of(img.config) + R"(.json","Config":"other.json",)" +
                    R"("RepoTags":["app:1"],"Layers":[]}])";
  expect_rejected(tar_of(docker_2010_members(img, "app:1", dup)),
                  {"manifest.json", "duplicate key \"Config\""});
}

TEST(ImportArchive, RejectsManifestJsonWithoutConfig) {
  ImageFiles img = make_image({"base"});
  expect_rejected(
      tar_of(docker_2010_members(img, "app:1", R"([{"RepoTags":["app:1"],"Layers":[]}])")),
      {"manifest.json: image 1", "missing \"Config\""});
}

TEST(ImportArchive, RejectsManifestJsonNamingAMissingFile) {
  ImageFiles img = make_image({"base"});
  std::string m = R"([{"Config":")" + hex_of(img.config) +
                  R"(.json","RepoTags":["app:1"],"Layers":["nope/layer.tar"]}])";
  expect_rejected(tar_of(docker_2010_members(img, "app:1", m)),
                  {"manifest.json: image 1: layer 1", "nope/layer.tar"});
  m = R"([{"Config":"missing.json","RepoTags":["app:1"],"Layers":[]}])";
  expect_rejected(tar_of(docker_2010_members(img, "app:1", m)),
                  {"manifest.json: image 1", "missing.json"});
}

TEST(ImportArchive, RejectsALayerWhoseContentDoesNotMatchItsDiffId) {
  ImageFiles img = make_image({"base", "app"});
  ImageFiles altered = img;
  altered.stored[1] = layer_tar({{"data/file", "tampered"}});
  expect_rejected(
      tar_of(docker_2010_members(altered, "app:1")),
      {"manifest.json: image 1: layer 2", "config says " + oci::Digest::of(img.tars[1]).str()});
}

TEST(ImportArchive, RejectsAnAlteredLayerEvenWhenTheGenuineImageIsAlreadyLoaded) {
  ImageFiles img = make_image({"base", "app"});
  TestStore s;
  ASSERT_TRUE(s.load(tar_of(docker_2010_members(img, "app:1"))));
  ImageFiles altered = img;
  altered.stored[1] = layer_tar({{"data/file", "tampered"}});
  expect_rejected(tar_of(docker_2010_members(altered, "evil:1")),
                  {"manifest.json: image 1: layer 2", "config says"}, &s);
}

TEST(ImportArchive, RejectsABlobWhoseContentDoesNotMatchItsName) {
  ImageFiles img = make_image({"base"});
  std::vector<Member> m = oci_layout_members(img, "app:1", false);
  std::string path = "blobs/sha256/" + hex_of(img.stored[0]);
  m = replace_member(m, path, layer_tar({{"other", "content"}}));
  expect_rejected(tar_of(m), {path, "digest mismatch"});
}

TEST(ImportArchive, RejectsLayerCountDifferentFromDiffIds) {
  ImageFiles img = make_image({"base", "app", "more"});
  std::vector<Member> m = docker_2010_members(img, "app:1");
  std::string l0 = hex_of("v1 layer 0app:1") + "/layer.tar";
  std::string l1 = hex_of("v1 layer 1app:1") + "/layer.tar";
  std::string manifest = R"([{"Config":")" + hex_of(img.config) +
                         R"(.json","RepoTags":["app:1"],"Layers":[")" + l0 + R"(",")" + l1 +
                         R"("]}])";
  expect_rejected(tar_of(replace_member(m, "manifest.json", manifest)),
                  {"manifest.json: image 1", "2 layers but the config lists 3 diff_ids"});
}

TEST(ImportArchive, RejectsBlobNamesThatLeaveTheBlobDirectory) {
  ImageFiles img = make_image({"base"});
  std::vector<Member> m = oci_layout_members(img, "app:1", false);
  m.insert(m.begin() + 2, Member{"blobs/sha256/../../x", "escape"});
  expect_rejected(tar_of(m), {"blobs/sha256/../../x"});
}

TEST(ImportArchive, RejectsASymlinkThatLeavesTheArchive) {
  ImageFiles img = make_image({"base", "app"});
  std::vector<Member> m = docker_2010_members(img, "app:1");
  std::string l1 = hex_of("v1 layer 1app:1") + "/layer.tar";
  for (auto& x : m)
    if (x.path == l1) x = {l1, "", EntryType::kSymlink, "../../../etc/passwd"};
  expect_rejected(tar_of(m), {"manifest.json: image 1: layer 2", l1});
}

TEST(ImportArchive, RejectsAnOciManifestWhoseLayerSizeIsWrong) {
  ImageFiles img = make_image({"base"});
  std::vector<Member> m = oci_layout_members(img, "app:1", false);
  // Rewrite the manifest with a wrong layer size, and index.json to point at it.
  std::string good = oci_manifest(img, false);
  std::string size = std::to_string(img.stored[0].size());
  std::string bad = good;
  bad.replace(bad.rfind(size), size.size(), std::to_string(img.stored[0].size() + 1));
  for (auto& x : m) {
    if (x.path == "blobs/sha256/" + hex_of(good)) x = {"blobs/sha256/" + hex_of(bad), bad};
    if (x.path == "index.json") {
      auto at = x.body.find(oci::Digest::of(good).str());
      x.body.replace(at, oci::Digest::of(good).str().size(), oci::Digest::of(bad).str());
    }
  }
  expect_rejected(tar_of(m), {"index.json: manifest 1", "layer 1",
                              oci::Digest::of(img.stored[0]).str(), "size"});
}

TEST(ImportArchive, RejectsAnOciIndexNamingAManifestNotInTheArchive) {
  ImageFiles img = make_image({"base"});
  std::vector<Member> m = oci_layout_members(img, "app:1", false);
  std::string manifest_path = "blobs/sha256/" + hex_of(oci_manifest(img, false));
  std::erase_if(m, [&](const Member& x) { return x.path == manifest_path; });
  expect_rejected(tar_of(m), {"index.json: manifest 1", "is not in the archive"});
}

TEST(ImportArchive, RejectsAnArchiveWhoseSecondImageIsBrokenWithoutAddingTheFirst) {
  ImageFiles a = make_image({"a"}), b = make_image({"b"});
  std::vector<Member> m = docker_2010_members(a, "a:1");
  m.pop_back();
  m.pop_back();
  for (auto& x : docker_2010_members(b, "b:1"))
    if (x.path != "manifest.json" && x.path != "repositories") m.push_back(x);
  std::string manifest = R"([{"Config":")" + hex_of(a.config) +
                         R"(.json","RepoTags":["a:1"],"Layers":[")" + hex_of("v1 layer 0a:1") +
                         R"(/layer.tar"]},{"Config":")" + hex_of(b.config) +
                         R"(.json","RepoTags":["b:1"],"Layers":[]}])";
  m.push_back({"manifest.json", manifest});
  expect_rejected(tar_of(m), {"manifest.json: image 2", "0 layers but the config lists 1"});
}

TEST(ImportArchive, RejectsAnInvalidRepoTag) {
  ImageFiles img = make_image({"base"});
  std::string m = R"([{"Config":")" + hex_of(img.config) +
                  R"(.json","RepoTags":["Bad Name"],"Layers":[")" + hex_of("v1 layer 0app:1") +
                  R"(/layer.tar"]}])";
  expect_rejected(tar_of(docker_2010_members(img, "app:1", m)), {"manifest.json: image 1"});
}

}  // namespace
}  // namespace bonsai::store
