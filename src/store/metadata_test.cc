#include "store/metadata.h"

#include <gtest/gtest.h>

#include "store/test_util.h"

namespace bonsai::store {
namespace {

using testing::TempDir;

TEST(MetadataDb, BuildStepsAreRememberedAcrossOpens) {
  TempDir dir;
  {
    auto db = MetadataDb::open(dir.path() + "/bonsai.db");
    ASSERT_TRUE(db);
    auto missing = (*db)->build_step("abc");
    ASSERT_TRUE(missing);
    EXPECT_FALSE(*missing);
    ASSERT_TRUE((*db)->put_build_step("abc", R"({"created":"x"})"));
    ASSERT_TRUE((*db)->put_build_step("abc", R"({"created":"y"})"));
  }
  auto db = MetadataDb::open(dir.path() + "/bonsai.db");
  ASSERT_TRUE(db);
  auto got = (*db)->build_step("abc");
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(**got, R"({"created":"y"})") << "the newer record replaces the older";
}

TEST(MetadataDb, FileDigestNeedsTheSameFingerprint) {
  TempDir dir;
  auto db = MetadataDb::open(dir.path() + "/bonsai.db");
  ASSERT_TRUE(db);
  ASSERT_TRUE((*db)->put_file_digest("/ctx/a", "10:5:7", "aa"));
  auto hit = (*db)->file_digest("/ctx/a", "10:5:7");
  ASSERT_TRUE(hit && *hit);
  EXPECT_EQ(**hit, "aa");
  auto changed = (*db)->file_digest("/ctx/a", "11:5:7");
  ASSERT_TRUE(changed);
  EXPECT_FALSE(*changed) << "a file whose stat changed must be hashed again";
  ASSERT_TRUE((*db)->put_file_digest("/ctx/a", "11:5:7", "bb"));
  auto old = (*db)->file_digest("/ctx/a", "10:5:7");
  ASSERT_TRUE(old);
  EXPECT_FALSE(*old) << "one row per path";
}

}  // namespace
}  // namespace bonsai::store
