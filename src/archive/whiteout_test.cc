#include "archive/whiteout.h"

#include <gtest/gtest.h>

namespace bonsai::archive {
namespace {

TEST(Whiteout, RecognisesWhiteoutsAndTheirTargets) {
  EXPECT_TRUE(is_whiteout("etc/.wh.passwd"));
  EXPECT_TRUE(is_whiteout(".wh.top"));
  EXPECT_EQ(whiteout_target("etc/.wh.passwd"), "etc/passwd");
  EXPECT_EQ(whiteout_target(".wh.top"), "top");
  EXPECT_FALSE(is_whiteout("etc/passwd"));
  EXPECT_FALSE(is_whiteout("etc/.wh."));
  EXPECT_FALSE(is_whiteout(".wh.dir/file"));  // only the base name counts
  EXPECT_EQ(whiteout_target("etc/x.wh.y"), std::nullopt);
}

TEST(Whiteout, OpaqueMarkerIsNotAPlainWhiteout) {
  EXPECT_TRUE(is_opaque("var/cache/.wh..wh..opq"));
  EXPECT_TRUE(is_opaque(".wh..wh..opq"));
  EXPECT_FALSE(is_whiteout("var/cache/.wh..wh..opq"));
  EXPECT_EQ(opaque_dir("var/cache/.wh..wh..opq"), "var/cache");
  EXPECT_EQ(opaque_dir(".wh..wh..opq"), "");
  EXPECT_EQ(opaque_dir("var/.wh.cache"), std::nullopt);
}

TEST(Whiteout, ReservedMetaNamesAreNeitherWhiteoutsNorOpaque) {
  EXPECT_TRUE(is_whiteout_meta(".wh..wh.plnk"));
  EXPECT_TRUE(is_whiteout_meta("a/.wh..wh.aufs"));
  EXPECT_FALSE(is_whiteout("a/.wh..wh.aufs"));
  EXPECT_FALSE(is_opaque("a/.wh..wh.aufs"));
}

TEST(Whiteout, BuildsPathsThatRoundTrip) {
  EXPECT_EQ(whiteout_path("usr/bin/gcc"), "usr/bin/.wh.gcc");
  EXPECT_EQ(whiteout_path("top"), ".wh.top");
  EXPECT_EQ(whiteout_target(whiteout_path("usr/bin/gcc")), "usr/bin/gcc");
  EXPECT_EQ(opaque_path("var/lib"), "var/lib/.wh..wh..opq");
  EXPECT_EQ(opaque_path(""), ".wh..wh..opq");
  EXPECT_EQ(opaque_dir(opaque_path("var/lib")), "var/lib");
}

}  // namespace
}  // namespace bonsai::archive
