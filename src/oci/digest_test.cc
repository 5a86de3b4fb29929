#include "oci/digest.h"

#include <gtest/gtest.h>

namespace bonsai::oci {
namespace {

constexpr char kEmpty[] = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(Digest, OfEmptyStringIsWellKnown) { EXPECT_EQ(Digest::of("").str(), kEmpty); }

TEST(Digest, ParsesCanonicalForm) {
  auto d = Digest::parse(kEmpty);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(d->short_id(), "e3b0c44298fc");
}

TEST(Digest, RejectsPathTraversalAndBadHex) {
  EXPECT_FALSE(Digest::parse("sha256:../x"));
  EXPECT_FALSE(
      Digest::parse("sha256:../../../../etc/passwd0000000000000000000000000000000000000000"));
  EXPECT_FALSE(
      Digest::parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
  EXPECT_FALSE(Digest::parse("sha256:e3b0"));
  EXPECT_FALSE(Digest::parse("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
  EXPECT_FALSE(Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e"));
  EXPECT_FALSE(Digest::parse(std::string(kEmpty) + "0"));
}

}  // namespace
}  // namespace bonsai::oci
