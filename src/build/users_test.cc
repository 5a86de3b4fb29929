// USER and --chown resolution against an in-memory image tree.
#include "build/users.h"

#include <gtest/gtest.h>

#include "archive/mem_tree_fs_test_util.h"

namespace bonsai::build {
namespace {

using archive::testing::MemTreeFs;
using util::ErrorKind;

constexpr std::string_view kPasswd =
    "# comment line\n"
    "root:x:0:0:root:/root:/bin/bash\n"
    "\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "  app:x:1000:1000::/home/app:/bin/sh  \r\n"
    "web:x:1001:50::/srv:/bin/false\n"
    "broken:x:notanumber:1::/:/bin/false\n"
    "short:x:7\n"
    "2000:x:3000:3000::/:/bin/false\n";

constexpr std::string_view kGroup =
    "root:x:0:\n"
    "# another comment\n"
    "staff:x:50:web,app\n"
    "app:x:1000:\n"
    "docker:x:999:app\n"
    "audio:x:29:web\n"
    "bad:x:x:app\n";

class Users : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(root_.mkdir("etc", 0755));
    write("etc/passwd", kPasswd);
    write("etc/group", kGroup);
  }
  void write(const std::string& path, std::string_view data) {
    auto w = root_.create_file(path, 0644);
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(data));
    ASSERT_TRUE((*w)->close());
  }
  UserIds user(std::string_view spec) {
    auto r = resolve_user(root_, spec);
    EXPECT_TRUE(r) << spec << ": " << r.error().message();
    return r ? *r : UserIds{};
  }
  std::pair<uint32_t, uint32_t> chown(std::string_view spec) {
    auto r = resolve_chown(root_, spec);
    EXPECT_TRUE(r) << spec << ": " << r.error().message();
    return r ? *r : std::make_pair(~0u, ~0u);
  }
  MemTreeFs root_;
};

TEST_F(Users, NameGivesPasswdIdsAndSupplementaryGroups) {
  UserIds app = user("app");
  EXPECT_EQ(app.uid, 1000u);
  EXPECT_EQ(app.gid, 1000u);
  EXPECT_EQ(app.groups, (std::vector<uint32_t>{50, 999}));
  UserIds web = user("web");
  EXPECT_EQ(web.gid, 50u);
  EXPECT_EQ(web.groups, (std::vector<uint32_t>{50, 29}));
  EXPECT_TRUE(user("root").groups.empty());
}

TEST_F(Users, HomeComesFromThePasswdEntryElseSlash) {
  EXPECT_EQ(user("root").home, "/root");
  EXPECT_EQ(user("0").home, "/root");
  EXPECT_EQ(user("web").home, "/srv");
  EXPECT_EQ(user("4242").home, "/") << "runc's default for a user with no entry";
}

TEST_F(Users, NumberFoundInPasswdActsAsThatUser) {
  UserIds app = user("1000");
  EXPECT_EQ(app.uid, 1000u);
  EXPECT_EQ(app.gid, 1000u);
  EXPECT_EQ(app.groups, (std::vector<uint32_t>{50, 999}));
}

TEST_F(Users, UnknownNumberGetsGidZero) {
  UserIds u = user("4242");
  EXPECT_EQ(u.uid, 4242u);
  EXPECT_EQ(u.gid, 0u);
  EXPECT_TRUE(u.groups.empty());
}

TEST_F(Users, NumericUserIsAlwaysAUidNeverAName) {
  // "2000" is a user name in passwd, but a number is looked up as a uid.
  UserIds u = user("2000");
  EXPECT_EQ(u.uid, 2000u);
  EXPECT_EQ(u.gid, 0u);
}

TEST_F(Users, ExplicitGroupByNameOrNumber) {
  UserIds a = user("app:staff");
  EXPECT_EQ(a.uid, 1000u);
  EXPECT_EQ(a.gid, 50u);
  EXPECT_TRUE(a.groups.empty());  // supplementary groups only in the implicit form
  UserIds b = user("web:123");
  EXPECT_EQ(b.uid, 1001u);
  EXPECT_EQ(b.gid, 123u);
  UserIds c = user("4242:docker");
  EXPECT_EQ(c.uid, 4242u);
  EXPECT_EQ(c.gid, 999u);
  UserIds d = user("5:6");
  EXPECT_EQ(d.uid, 5u);
  EXPECT_EQ(d.gid, 6u);
}

TEST_F(Users, MissingUserIsNotFoundWithDockersMessage) {
  auto r = resolve_user(root_, "nobody");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(r.error().message(), "unable to find user nobody: no matching entries in passwd file");
  EXPECT_FALSE(resolve_user(root_, "broken"));  // a line with a bad uid is not an entry
}

TEST_F(Users, MissingGroupIsNotFound) {
  auto r = resolve_user(root_, "app:wheel");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(r.error().message(), "unable to find group wheel: no matching entries in group file");
}

TEST_F(Users, MissingFilesCountAsEmpty) {
  MemTreeFs empty;
  auto numeric = resolve_user(empty, "10:20");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->uid, 10u);
  EXPECT_EQ(numeric->gid, 20u);
  auto named = resolve_user(empty, "app");
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(resolve_chown(empty, "7"), (std::pair<uint32_t, uint32_t>{7, 7}));
}

TEST_F(Users, SymlinkedPasswdIsFollowedInsideTheRoot) {
  MemTreeFs image;
  ASSERT_TRUE(image.mkdir("etc", 0755));
  ASSERT_TRUE(image.mkdir("data", 0755));
  auto w = image.create_file("data/passwd", 0644);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write("svc:x:77:88::/:/bin/sh\n"));
  ASSERT_TRUE(image.symlink("/../../../data/passwd", "etc/passwd"));
  auto r = resolve_user(image, "svc");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->uid, 77u);
  EXPECT_EQ(r->gid, 88u);
}

TEST_F(Users, OversizedPasswdIsALimitError) {
  MemTreeFs image;
  ASSERT_TRUE(image.mkdir("etc", 0755));
  auto w = image.create_file("etc/passwd", 0644);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(std::string((4 << 20) + 1, '#')));
  auto r = resolve_user(image, "root");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kLimit);
}

TEST_F(Users, MalformedSpecIsInvalidArgument) {
  for (std::string_view spec : {"", ":1", "a:b:c"}) {
    auto r = resolve_user(root_, spec);
    ASSERT_FALSE(r) << spec;
    EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument) << spec;
    EXPECT_FALSE(resolve_chown(root_, spec)) << spec;
  }
}

TEST_F(Users, ChownUserWithoutGroupUsesTheUidAsGid) {
  EXPECT_EQ(chown("web"), (std::pair<uint32_t, uint32_t>{1001, 1001}));
  EXPECT_EQ(chown("1001"), (std::pair<uint32_t, uint32_t>{1001, 1001}));
  EXPECT_EQ(chown("55"), (std::pair<uint32_t, uint32_t>{55, 55}));
}

TEST_F(Users, ChownMixesNamesAndNumbers) {
  EXPECT_EQ(chown("app:staff"), (std::pair<uint32_t, uint32_t>{1000, 50}));
  EXPECT_EQ(chown("app:7"), (std::pair<uint32_t, uint32_t>{1000, 7}));
  EXPECT_EQ(chown("9:docker"), (std::pair<uint32_t, uint32_t>{9, 999}));
  EXPECT_EQ(chown("9:10"), (std::pair<uint32_t, uint32_t>{9, 10}));
}

TEST_F(Users, ChownUnknownNamesAreNotFound) {
  auto u = resolve_chown(root_, "ghost:staff");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(u.error().message(), "unable to find user ghost: no matching entries in passwd file");
  auto g = resolve_chown(root_, "app:ghosts");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().kind(), ErrorKind::kNotFound);
}

}  // namespace
}  // namespace bonsai::build
