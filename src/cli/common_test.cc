#include "cli/common.h"

#include <gtest/gtest.h>

namespace bonsai::cli {
namespace {

TEST(FormatTable, PadsColumnsLikeDockersTabwriter) {
  // minwidth 10, padding 3; the last column is not padded.
  std::string t =
      format_table({{"REPOSITORY", "TAG", "SIZE"}, {"distroless/static", "debian12", "1.65MB"}});
  EXPECT_EQ(t,
            "REPOSITORY          TAG        SIZE\n"
            "distroless/static   debian12   1.65MB\n");
}

TEST(FormatTable, CountsMultiByteCharactersOnce) {
  std::string t = format_table({{"a…", "x"}, {"abc", "y"}});
  EXPECT_EQ(t, "a…        x\nabc       y\n");
}

TEST(Rfc3339, ParsesZuluFractionsAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:10Z"), 10);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:10.123456789Z"), 10);
  EXPECT_EQ(parse_rfc3339("1970-01-01T01:00:10+01:00"), 10);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:00:10-01:00"), 10);
  EXPECT_EQ(parse_rfc3339("yesterday"), std::nullopt);
}

TEST(CreatedSince, MatchesGoUnitsHumanDuration) {
  const int64_t now = 1'000'000'000;
  auto ago = [&](int64_t secs) {
    time_t t = static_cast<time_t>(now - secs);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return created_since(buf, now);
  };
  EXPECT_EQ(ago(0), "Less than a second ago");
  EXPECT_EQ(ago(1), "1 second ago");
  EXPECT_EQ(ago(59), "59 seconds ago");
  EXPECT_EQ(ago(60), "About a minute ago");
  EXPECT_EQ(ago(59 * 60), "59 minutes ago");
  EXPECT_EQ(ago(3600), "About an hour ago");
  EXPECT_EQ(ago(47 * 3600), "47 hours ago");
  EXPECT_EQ(ago(3 * 86400), "3 days ago");
  EXPECT_EQ(ago(20 * 86400), "2 weeks ago");
  EXPECT_EQ(ago(90 * 86400), "3 months ago");
  EXPECT_EQ(ago(800 * 86400), "2 years ago");
  EXPECT_EQ(created_since("", now), "N/A");
}

TEST(Ellipsis, CutsToMaxRunesWithAnEllipsis) {
  EXPECT_EQ(ellipsis("short", 45), "short");
  EXPECT_EQ(ellipsis("abcdef", 4), "abc…");
  EXPECT_EQ(ellipsis("abcd", 4), "abcd");
}

}  // namespace
}  // namespace bonsai::cli
