#include "oci/image.h"

#include <gtest/gtest.h>

namespace bonsai::oci {
namespace {

const std::string kDigest =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string manifest_json() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
         R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         kDigest +
         R"(","size":0},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":")" +
         kDigest + R"(","size":0}]})";
}

TEST(Manifest, ParsesAndRoundTripsToSameBytes) {
  auto m = parse_manifest(manifest_json(), "m");
  ASSERT_TRUE(m) << m.error().message();
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(to_json(*m), manifest_json());
}

TEST(Manifest, RejectsDuplicateKeys) {
  std::string doc = manifest_json();
  doc.insert(1, R"("schemaVersion":2,)");
  auto m = parse_manifest(doc, "m");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("duplicate key \"schemaVersion\""), std::string::npos);
}

TEST(Manifest, RejectsDocumentThatIsAlsoAnIndex) {
  std::string doc = manifest_json();
  doc.insert(1, R"("manifests":[],)");
  EXPECT_FALSE(parse_manifest(doc, "m"));
  EXPECT_FALSE(parse_index(doc, "m"));
}

TEST(Manifest, RejectsBadDigestInLayer) {
  std::string doc = manifest_json();
  doc.replace(doc.rfind(kDigest), kDigest.size(), "sha256:../../etc/passwd");
  auto m = parse_manifest(doc, "m");
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().message().find("layer 1"), std::string::npos) << m.error().message();
}

TEST(Manifest, RejectsWrongTypesAndTrailingGarbage) {
  EXPECT_FALSE(parse_manifest(R"({"schemaVersion":"2"})", "m"));
  EXPECT_FALSE(parse_manifest(manifest_json() + "x", "m"));
  EXPECT_FALSE(parse_manifest("[]", "m"));
  std::string deep(200, '[');
  EXPECT_FALSE(parse_manifest(deep, "m"));
}

TEST(Index, ParsesRefNames) {
  std::string doc =
      R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      kDigest +
      R"(","size":7,"annotations":{"org.opencontainers.image.ref.name":"golang:bookworm"}}]})";
  auto i = parse_index(doc, "index.json");
  ASSERT_TRUE(i) << i.error().message();
  EXPECT_EQ(i->manifests[0].annotations.at(std::string(kRefNameAnnotation)), "golang:bookworm");
}

TEST(Config, ParsesDiffIdsAndHistory) {
  std::string doc =
      R"({"architecture":"amd64","os":"linux","config":{"Env":["A=1"]},"rootfs":{"type":"layers","diff_ids":[")" +
      kDigest +
      R"("]},"history":[{"created_by":"RUN x"},{"created_by":"ENV A=1","empty_layer":true}]})";
  auto c = parse_config(doc, "config");
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->diff_ids.size(), 1u);
  ASSERT_EQ(c->history.size(), 2u);
  EXPECT_TRUE(c->history[1].empty_layer);
  auto again = parse_config(to_json(*c), "config");
  ASSERT_TRUE(again);
  EXPECT_EQ(to_json(*again), to_json(*c));
}

TEST(Config, RejectsMissingRootfs) { EXPECT_FALSE(parse_config(R"({"os":"linux"})", "config")); }

}  // namespace
}  // namespace bonsai::oci
