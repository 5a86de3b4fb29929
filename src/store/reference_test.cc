#include "store/reference.h"

#include <gtest/gtest.h>

namespace bonsai::store {
namespace {

std::string norm(std::string_view s) {
  auto r = parse_reference(s);
  return r ? r->str() : "ERROR";
}

TEST(Reference, DefaultsTagToLatest) { EXPECT_EQ(norm("golang"), "golang:latest"); }

TEST(Reference, KeepsTagsAndPaths) {
  EXPECT_EQ(norm("golang:bookworm"), "golang:bookworm");
  EXPECT_EQ(norm("distroless/static:debian12"), "distroless/static:debian12");
  EXPECT_EQ(norm("localhost:5000/team/app"), "localhost:5000/team/app:latest");
  EXPECT_EQ(norm("localhost:5000/app:v1.2"), "localhost:5000/app:v1.2");
}

TEST(Reference, ShortensDockerHubNames) {
  EXPECT_EQ(norm("docker.io/library/node:bookworm"), "node:bookworm");
  EXPECT_EQ(norm("docker.io/team/app:1"), "team/app:1");
}

TEST(Reference, RejectsInvalidNames) {
  EXPECT_EQ(norm("Golang"), "ERROR");
  EXPECT_EQ(norm(""), "ERROR");
  EXPECT_EQ(norm("a:"), "ERROR");
  EXPECT_EQ(norm("a:-x"), "ERROR");
  EXPECT_EQ(norm("a//b"), "ERROR");
  EXPECT_EQ(norm("a@sha256:abc"), "ERROR");
  EXPECT_EQ(norm("-a"), "ERROR");
  EXPECT_EQ(norm("a..b"), "ERROR");
  EXPECT_EQ(norm("../x"), "ERROR");
}

}  // namespace
}  // namespace bonsai::store
