// LayerApplier's rules, checked in memory against MemTreeFs. The hostile tar corpus on a real
// directory is in layer_apply_hostile_test.cc.
#include "archive/layer_apply.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "archive/mem_tree_fs_test_util.h"

namespace bonsai::archive {
namespace {

using testing::MemTreeFs;
using util::ErrorKind;

struct Item {
  TarEntry entry;
  std::string body;
};

Item file(std::string path, std::string body, uint32_t mode = 0644) {
  Item it;
  it.entry.path = std::move(path);
  it.entry.type = EntryType::kFile;
  it.entry.mode = mode;
  it.entry.size = body.size();
  it.entry.mtime_sec = 100;
  it.body = std::move(body);
  return it;
}

Item dir(std::string path, uint32_t mode = 0755) {
  Item it;
  it.entry.path = std::move(path);
  it.entry.type = EntryType::kDirectory;
  it.entry.mode = mode;
  it.entry.mtime_sec = 200;
  return it;
}

Item symlink(std::string path, std::string target) {
  Item it;
  it.entry.path = std::move(path);
  it.entry.type = EntryType::kSymlink;
  it.entry.mode = 0777;
  it.entry.link_target = std::move(target);
  return it;
}

Item hardlink(std::string path, std::string target, uint32_t mode = 0644) {
  Item it;
  it.entry.path = std::move(path);
  it.entry.type = EntryType::kHardLink;
  it.entry.mode = mode;
  it.entry.link_target = std::move(target);
  return it;
}

Item node(std::string path, EntryType type, uint32_t major = 0, uint32_t minor = 0) {
  Item it;
  it.entry.path = std::move(path);
  it.entry.type = type;
  it.entry.mode = 0666;
  it.entry.dev_major = major;
  it.entry.dev_minor = minor;
  return it;
}

Result<ApplyStats> apply_items(util::TreeFs& fs, const std::vector<Item>& items,
                               ApplyOptions options = {}) {
  LayerApplier applier(fs, options);
  for (const Item& it : items) {
    util::StringReader body(it.body);
    TRY(applier.apply(it.entry, body));
  }
  return applier.finish();
}

void apply_ok(util::TreeFs& fs, const std::vector<Item>& items, ApplyOptions options = {}) {
  auto stats = apply_items(fs, items, options);
  ASSERT_TRUE(stats) << stats.error().message();
}

util::Error apply_error(util::TreeFs& fs, const std::vector<Item>& items) {
  auto stats = apply_items(fs, items);
  EXPECT_FALSE(stats) << "applied without error";
  return stats ? util::Error(ErrorKind::kInternal, "no error") : stats.error();
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// A lower layer most tests start from.
void lower(MemTreeFs& fs) {
  apply_ok(fs, {dir("etc"), file("etc/passwd", "root"), dir("usr"), dir("usr/lib"),
                file("usr/lib/a", "A"), file("usr/lib/b", "B"), dir("usr/lib/sub"),
                file("usr/lib/sub/c", "C")});
}

TEST(CleanLayerPath, ResolvesDotDotInsideAndRejectsEscapes) {
  EXPECT_EQ(*clean_layer_path("a/../b"), "b");
  EXPECT_EQ(*clean_layer_path("/etc/passwd"), "etc/passwd");
  EXPECT_EQ(*clean_layer_path("./a//b/./"), "a/b");
  EXPECT_EQ(*clean_layer_path("a/.."), "");
  EXPECT_EQ(clean_layer_path("../x").error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(clean_layer_path("a/../../x").error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(clean_layer_path("/..").error().kind(), ErrorKind::kCorrupt);
}

TEST(LayerApply, CreatesEntriesWithTheirMetadata) {
  MemTreeFs fs;
  Item f = file("bin/su", "elf", 04755);
  f.entry.uid = 0;
  f.entry.gid = 42;
  f.entry.mtime_sec = 123;
  f.entry.mtime_nsec = 456;
  Item d = dir("home", 0700);
  d.entry.uid = 1000;
  auto stats = apply_items(fs, {f, d, symlink("sh", "/bin/busybox"), node("p", EntryType::kFifo),
                                node("null", EntryType::kCharDevice, 1, 3)});
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(fs.dump(),
            "bin dir 0755 0:0\n"
            "bin/su file 4755 0:42 'elf'\n"
            "home dir 0700 1000:0\n"
            "null chr 0666 0:0 1,3\n"
            "p fifo 0666 0:0\n"
            "sh symlink 0777 0:0 -> /bin/busybox\n");
  EXPECT_EQ(fs.find("bin/su")->info.mtime_sec, 123);
  EXPECT_EQ(fs.find("bin/su")->info.mtime_nsec, 456u);
  EXPECT_EQ(stats->entries, 5u);
  EXPECT_EQ(stats->files, 1u);
  EXPECT_EQ(stats->directories, 1u);
  EXPECT_EQ(stats->symlinks, 1u);
  EXPECT_EQ(stats->nodes, 2u);
  EXPECT_EQ(stats->bytes, 3u);
}

TEST(LayerApply, SetuidAndCapabilitiesSurviveChown) {
  MemTreeFs fs;
  Item f = file("ping", "elf", 06755);
  f.entry.uid = 5;
  f.entry.gid = 5;
  f.entry.xattrs["security.capability"] = "cap_net_raw";
  apply_ok(fs, {f});
  EXPECT_EQ(fs.find("ping")->info.mode, 06755u);
  EXPECT_EQ(fs.find("ping")->xattrs.at("security.capability"), "cap_net_raw");
}

TEST(LayerApply, DirectoryMtimesAreSetAfterTheirChildren) {
  MemTreeFs fs;
  Item d = dir("d");
  d.entry.mtime_sec = 777;
  apply_ok(fs, {d, file("d/a", "a"), file("d/b", "b"), file("d/.wh.b", "")});
  EXPECT_EQ(fs.find("d")->info.mtime_sec, 777);
}

TEST(LayerApply, MissingParentsAreCreated) {
  MemTreeFs fs;
  apply_ok(fs, {file("a/b/c", "x")});
  EXPECT_EQ(fs.dump(),
            "a dir 0755 0:0\n"
            "a/b dir 0755 0:0\n"
            "a/b/c file 0644 0:0 'x'\n");
}

TEST(LayerApply, WhiteoutRemovesLowerFileAndDirectory) {
  MemTreeFs fs;
  lower(fs);
  auto stats = apply_items(
      fs, {file("usr/lib/.wh.a", ""), file("usr/lib/.wh.sub", ""), file("usr/.wh.absent", ""),
           file("nodir/.wh.x", ""), file("etc/passwd/.wh.x", ""), symlink("pw", "etc/passwd"),
           file("pw/.wh.x", "")});
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(fs.dump(),
            "etc dir 0755 0:0\n"
            "etc/passwd file 0644 0:0 'root'\n"
            "pw symlink 0777 0:0 -> etc/passwd\n"
            "usr dir 0755 0:0\n"
            "usr/lib dir 0755 0:0\n"
            "usr/lib/b file 0644 0:0 'B'\n");
  EXPECT_EQ(stats->whiteouts, 6u);
}

TEST(LayerApply, WhiteoutSparesSameLayerEntryInEitherOrder) {
  for (bool whiteout_first : {true, false}) {
    MemTreeFs fs;
    lower(fs);
    std::vector<Item> items = {file("usr/lib/a", "new"), dir("usr/lib/sub"),
                               file("usr/lib/sub/d", "D")};
    std::vector<Item> whiteouts = {file("usr/lib/.wh.a", ""), file("usr/lib/.wh.sub", "")};
    items.insert(whiteout_first ? items.begin() : items.end(), whiteouts.begin(), whiteouts.end());
    apply_ok(fs, items);
    EXPECT_EQ(fs.dump(),
              "etc dir 0755 0:0\n"
              "etc/passwd file 0644 0:0 'root'\n"
              "usr dir 0755 0:0\n"
              "usr/lib dir 0755 0:0\n"
              "usr/lib/a file 0644 0:0 'new'\n"
              "usr/lib/b file 0644 0:0 'B'\n"
              "usr/lib/sub dir 0755 0:0\n"
              "usr/lib/sub/d file 0644 0:0 'D'\n")
        << (whiteout_first ? "whiteouts first" : "whiteouts last");
  }
}

TEST(LayerApply, OpaqueDirectoryKeepsOnlyThisLayersEntries) {
  for (bool marker_first : {true, false}) {
    MemTreeFs fs;
    lower(fs);
    // usr/lib/sub/new implies usr/lib/sub without an entry of its own; the lower sub/c goes.
    std::vector<Item> items = {dir("usr/lib"), file("usr/lib/b", "B2"),
                               file("usr/lib/sub/new", "N")};
    Item marker = file("usr/lib/.wh..wh..opq", "");
    items.insert(marker_first ? items.begin() + 1 : items.end(), marker);
    auto stats = apply_items(fs, items);
    ASSERT_TRUE(stats) << stats.error().message();
    EXPECT_EQ(fs.dump(),
              "etc dir 0755 0:0\n"
              "etc/passwd file 0644 0:0 'root'\n"
              "usr dir 0755 0:0\n"
              "usr/lib dir 0755 0:0\n"
              "usr/lib/b file 0644 0:0 'B2'\n"
              "usr/lib/sub dir 0755 0:0\n"
              "usr/lib/sub/new file 0644 0:0 'N'\n")
        << (marker_first ? "marker first" : "marker last");
    EXPECT_EQ(stats->opaque_dirs, 1u);
  }
}

TEST(LayerApply, OpaqueMarkerAtRootHidesAllLowerContent) {
  MemTreeFs fs;
  lower(fs);
  apply_ok(fs, {file(".wh..wh..opq", ""), file("etc/hostname", "h")});
  EXPECT_EQ(fs.dump(),
            "etc dir 0755 0:0\n"
            "etc/hostname file 0644 0:0 'h'\n");
}

TEST(LayerApply, OpaqueMarkerOnMissingOrNonDirectoryIsHarmless) {
  MemTreeFs fs;
  lower(fs);
  apply_ok(fs, {file("nothing/.wh..wh..opq", ""), file("etc/passwd/.wh..wh..opq", "")});
  EXPECT_TRUE(fs.find("etc/passwd"));
  EXPECT_FALSE(fs.find("nothing"));
}

TEST(LayerApply, RejectsMisusedWhiteoutNames) {
  struct Case {
    const char* path;
    const char* message;
  };
  for (const Case& c :
       {Case{"a/.wh..wh.plnk", "reserved whiteout name"},
        Case{"a/.wh..wh..opq2", "reserved whiteout name"}, Case{"a/.wh...", "whiteout of \"..\""},
        Case{"a/.wh..", "whiteout of \".\""}, Case{".wh...", "whiteout of \"..\""},
        Case{"a/.wh.", "whiteout names nothing"}, Case{".wh.a/b", "used as a directory"},
        Case{"x/.wh..wh..opq/y", "used as a directory"}}) {
    MemTreeFs fs;
    lower(fs);
    std::string before = fs.dump();
    util::Error err = apply_error(fs, {file(c.path, "")});
    EXPECT_EQ(err.kind(), ErrorKind::kCorrupt) << c.path;
    EXPECT_TRUE(contains(err.message(), c.message)) << c.path << ": " << err.message();
    EXPECT_TRUE(contains(err.message(), std::string("(") + c.path + ")")) << err.message();
    EXPECT_EQ(fs.dump(), before) << c.path;
  }
}

TEST(LayerApply, FileReplacesDirectoryTree) {
  MemTreeFs fs;
  lower(fs);
  apply_ok(fs, {file("usr/lib", "now a file")});
  EXPECT_EQ(fs.find("usr/lib")->data, "now a file");
  EXPECT_FALSE(fs.find("usr/lib")->info.type == util::FileType::kDirectory);
}

TEST(LayerApply, DirectoryOverDirectoryMergesAndUpdatesMetadata) {
  MemTreeFs fs;
  lower(fs);
  Item d = dir("usr/lib", 0750);
  d.entry.uid = 3;
  apply_ok(fs, {d});
  EXPECT_EQ(fs.find("usr/lib")->info.mode, 0750u);
  EXPECT_EQ(fs.find("usr/lib")->info.uid, 3u);
  EXPECT_TRUE(fs.find("usr/lib/sub/c"));
}

TEST(LayerApply, DirectoryReplacesSymlinkToDirectory) {
  MemTreeFs fs;
  apply_ok(fs, {dir("real"), file("real/f", "f"), symlink("lib", "real")});
  apply_ok(fs, {dir("lib"), file("lib/g", "g")});
  EXPECT_EQ(fs.find("lib")->info.type, util::FileType::kDirectory);
  EXPECT_FALSE(fs.find("lib/f"));
  EXPECT_TRUE(fs.find("real/f"));
}

TEST(LayerApply, DuplicatePathsLastEntryWins) {
  MemTreeFs fs;
  auto stats = apply_items(fs, {file("x", "file"), dir("x"), file("x/inner", "i"),
                                symlink("x", "/etc"), file("y", "1"), file("y", "2")});
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(fs.dump(),
            "x symlink 0777 0:0 -> /etc\n"
            "y file 0644 0:0 '2'\n");
}

TEST(LayerApply, SymlinkedParentIsFollowedInsideRoot) {
  MemTreeFs fs;
  apply_ok(fs,
           {symlink("a", "/"), file("a/escape", "e"), symlink("b", "../../.."), file("b/up", "u")});
  EXPECT_EQ(fs.find("escape")->data, "e");
  EXPECT_EQ(fs.find("up")->data, "u");
}

TEST(LayerApply, ParentThatIsAFileIsAnError) {
  MemTreeFs fs;
  lower(fs);
  util::Error err = apply_error(fs, {file("etc/passwd/x", "")});
  EXPECT_TRUE(contains(err.message(), "parent etc/passwd is a regular file")) << err.message();
}

TEST(LayerApply, HardLinksToThisAndLowerLayersShareTheInode) {
  MemTreeFs fs;
  lower(fs);
  auto stats =
      apply_items(fs, {file("bin/a", "prog", 0755), hardlink("bin/b", "bin/a", 0755),
                       hardlink("bin/c", "/usr/lib/a"), hardlink("bin/d", "./usr/lib/../lib/b")});
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(fs.find("bin/a"), fs.find("bin/b"));
  EXPECT_EQ(fs.find("bin/c"), fs.find("usr/lib/a"));
  EXPECT_EQ(fs.find("bin/d"), fs.find("usr/lib/b"));
  EXPECT_EQ(fs.find("bin/a")->info.nlink, 2u);
  EXPECT_EQ(stats->hardlinks, 3u);
}

TEST(LayerApply, HardLinkToSymlinkLinksTheSymlink) {
  MemTreeFs fs;
  apply_ok(fs, {symlink("s", "/etc/shadow"), hardlink("t", "s", 0600)});
  EXPECT_EQ(fs.find("t"), fs.find("s"));
  EXPECT_EQ(fs.find("t")->info.mode, 0777u) << "no chmod through the link";
}

TEST(LayerApply, HardLinkErrors) {
  struct Case {
    std::vector<Item> items;
    ErrorKind kind;
    const char* message;
  };
  using Items = std::vector<Item>;
  std::vector<Case> cases;
  cases.push_back({Items{hardlink("x", "../outside")}, ErrorKind::kCorrupt, "escapes the root"});
  cases.push_back(
      {Items{hardlink("x", "a/../../outside")}, ErrorKind::kCorrupt, "escapes the root"});
  cases.push_back(
      {Items{hardlink("x", "missing")}, ErrorKind::kNotFound, "missing does not exist"});
  cases.push_back({Items{dir("d"), hardlink("x", "d")}, ErrorKind::kCorrupt, "is a directory"});
  cases.push_back({Items{hardlink("x", "")}, ErrorKind::kCorrupt, "hard link to the layer root"});
  cases.push_back(
      {Items{file("x", "keep"), hardlink("x", "/x")}, ErrorKind::kCorrupt, "hard link to itself"});
  for (const Case& c : cases) {
    MemTreeFs fs;
    util::Error err = apply_error(fs, c.items);
    EXPECT_EQ(err.kind(), c.kind) << err.message();
    EXPECT_TRUE(contains(err.message(), c.message)) << err.message();
  }
  MemTreeFs fs;
  EXPECT_EQ(apply_error(fs, {file("x", "keep"), hardlink("x", "/x")}).kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(fs.find("x")->data, "keep") << "a self link must not delete its target first";
}

TEST(LayerApply, PathsAreCleanedAndEscapesRejected) {
  MemTreeFs fs;
  apply_ok(fs, {file("a/../b", "b"), file("./c/./d", "d")});
  EXPECT_EQ(fs.dump(),
            "b file 0644 0:0 'b'\n"
            "c dir 0755 0:0\n"
            "c/d file 0644 0:0 'd'\n");
  for (const char* bad : {"../x", "a/../../x", "..", "a/.."}) {
    MemTreeFs empty;
    util::Error err = apply_error(empty, {file(bad, "")});
    EXPECT_EQ(err.kind(), ErrorKind::kCorrupt) << bad;
    EXPECT_EQ(empty.dump(), "") << bad;
  }
}

TEST(LayerApply, RootDirectoryEntryIsIgnoredAndOtherRootEntriesRejected) {
  MemTreeFs fs;
  Item root = dir("", 0700);
  root.entry.uid = 99;
  auto stats = apply_items(fs, {root, file("f", "")});
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(fs.find("")->info.mode, 0755u);
  EXPECT_EQ(fs.find("")->info.uid, 0u);
  EXPECT_EQ(stats->skipped, 1u);

  util::Error err = apply_error(fs, {symlink("", "/")});
  EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
  EXPECT_TRUE(contains(err.message(), "the root entry is a symlink")) << err.message();
  EXPECT_EQ(apply_error(fs, {file("", "x")}).kind(), ErrorKind::kCorrupt);
}

TEST(LayerApply, ErrorsNameTheEntryIndexAndPath) {
  MemTreeFs fs;
  util::Error err = apply_error(fs, {file("ok", ""), dir("d"), file("../evil", "")});
  EXPECT_TRUE(err.message().starts_with("layer entry 2 (../evil): ")) << err.message();
}

TEST(LayerApply, XattrsAreBestEffortOnlyWhereTheTargetCannotHoldThem) {
  MemTreeFs fs;
  fs.fault = [](std::string_view op, std::string_view path) {
    if (op != "setxattr") return 0;
    if (path == "nosupport") return EOPNOTSUPP;
    return EPERM;
  };
  Item a = file("nosupport", "");
  a.entry.xattrs["user.x"] = "1";
  Item b = file("sec", "");
  b.entry.xattrs["security.selinux"] = "ctx";
  b.entry.xattrs["trusted.t"] = "t";
  auto stats = apply_items(fs, {a, b});
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->xattrs_skipped, 3u);

  Item c = file("user", "");
  c.entry.xattrs["user.y"] = "1";
  util::Error err = apply_error(fs, {c});
  EXPECT_EQ(err.sys_errno(), EPERM);
  EXPECT_TRUE(contains(err.message(), "layer entry 0 (user)")) << err.message();
}

TEST(LayerApply, DeviceNodeFailureExplainsSkipDevices) {
  MemTreeFs fs;
  fs.fault = [](std::string_view op, std::string_view) { return op == "mknod" ? EPERM : 0; };
  util::Error err = apply_error(fs, {node("dev/null", EntryType::kCharDevice, 1, 3)});
  EXPECT_EQ(err.sys_errno(), EPERM);
  EXPECT_TRUE(contains(err.message(), "CAP_MKNOD")) << err.message();
  EXPECT_TRUE(contains(err.message(), "skip_devices")) << err.message();

  ApplyOptions skip;
  skip.skip_devices = true;
  MemTreeFs fs2;
  auto stats = apply_items(fs2,
                           {node("dev/null", EntryType::kCharDevice, 1, 3),
                            node("dev/sda", EntryType::kBlockDevice, 8, 0), file("dev/keep", "")},
                           skip);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(stats->skipped, 2u);
  EXPECT_FALSE(fs2.find("dev/null"));
  EXPECT_TRUE(fs2.find("dev/keep"));
}

TEST(LayerApply, OwnersAreKeptUnlessDisabled) {
  Item f = file("f", "");
  f.entry.uid = 1234;
  f.entry.gid = 5678;
  MemTreeFs fs;
  apply_ok(fs, {f});
  EXPECT_EQ(fs.find("f")->info.uid, 1234u);
  ApplyOptions no_owners;
  no_owners.preserve_owners = false;
  MemTreeFs fs2;
  fs2.fault = [](std::string_view op, std::string_view) { return op == "chown" ? EPERM : 0; };
  apply_ok(fs2, {f}, no_owners);
  EXPECT_EQ(fs2.find("f")->info.uid, 0u);
}

TEST(LayerApply, LimitsStopBombs) {
  ApplyOptions few;
  few.max_entries = 2;
  MemTreeFs fs;
  auto stats = apply_items(fs, {file("a", ""), file("b", ""), file("c", "")}, few);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::kLimit);
  EXPECT_TRUE(contains(stats.error().message(), "layer entry 2 (c)")) << stats.error().message();

  ApplyOptions small;
  small.max_bytes = 10;
  MemTreeFs fs2;
  stats = apply_items(fs2, {file("a", "123456"), file("b", "123456")}, small);
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::kLimit);
  EXPECT_FALSE(fs2.find("b")) << "checked before anything is written";
}

TEST(LayerApply, ShortBodyIsCorrupt) {
  MemTreeFs fs;
  Item f = file("f", "abc");
  f.entry.size = 10;
  util::Error err = apply_error(fs, {f});
  EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
  EXPECT_TRUE(contains(err.message(), "3 of 10 bytes")) << err.message();
}

TEST(LayerApply, WriteFailuresNameThePath) {
  MemTreeFs fs;
  fs.fault = [](std::string_view op, std::string_view) { return op == "write" ? ENOSPC : 0; };
  util::Error err = apply_error(fs, {file("big", "data")});
  EXPECT_EQ(err.sys_errno(), ENOSPC);
  EXPECT_TRUE(contains(err.message(), "write big")) << err.message();
}

TEST(LayerApply, ApplyLayerReadsATarStream) {
  util::StringWriter out;
  TarWriter w(out);
  for (const Item& it : {dir("etc"), file("etc/os-release", "bonsai"), symlink("e", "etc"),
                         hardlink("etc/os", "etc/os-release")}) {
    ASSERT_TRUE(w.add(it.entry));
    if (!it.body.empty()) {
      ASSERT_TRUE(w.write_body(it.body));
    }
  }
  ASSERT_TRUE(w.finish());
  util::StringReader in(out.str());
  TarReader tar(in);
  MemTreeFs fs;
  auto stats = apply_layer(tar, fs);
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(fs.dump(),
            "e symlink 0777 0:0 -> etc\n"
            "etc dir 0755 0:0\n"
            "etc/os file 0644 0:0 'bonsai' links=2\n"
            "etc/os-release file 0644 0:0 'bonsai' links=2\n");
  EXPECT_EQ(stats->entries, 4u);
}

// --- overlay_whiteouts ----------------------------------------------------------------------

ApplyOptions overlay_form() {
  ApplyOptions options;
  options.overlay_whiteouts = true;
  return options;
}

bool is_opaque_dir(MemTreeFs& fs, std::string_view path) {
  auto n = fs.find(path);
  if (!n) return false;
  auto it = n->xattrs.find("trusted.overlay.opaque");
  return it != n->xattrs.end() && it->second == "y";
}

TEST(LayerApplyOverlay, WhiteoutBecomesDeviceAndOpaqueMarkerBecomesXattr) {
  MemTreeFs fs;
  auto stats = apply_items(fs,
                           {dir("usr"), file("usr/.wh.gone", ""), dir("usr/lib"),
                            file("usr/lib/.wh..wh..opq", ""), file("usr/lib/b", "B2")},
                           overlay_form());
  ASSERT_TRUE(stats) << stats.error().message();
  EXPECT_EQ(fs.dump(),
            "usr dir 0755 0:0\n"
            "usr/gone chr 0000 0:0 0,0\n"
            "usr/lib dir 0755 0:0\n"
            "usr/lib/b file 0644 0:0 'B2'\n");
  EXPECT_TRUE(is_opaque_dir(fs, "usr/lib"));
  EXPECT_FALSE(is_opaque_dir(fs, "usr"));
  EXPECT_EQ(stats->whiteouts, 1u);
  EXPECT_EQ(stats->opaque_dirs, 1u);
}

TEST(LayerApplyOverlay, WhiteoutOfSameLayerEntryKeepsItAndHidesLowerDirectory) {
  for (bool whiteout_first : {true, false}) {
    MemTreeFs fs;
    std::vector<Item> items = {file("a", "new"), dir("sub"), file("sub/d", "D"),
                               file("implied/x", "X")};
    std::vector<Item> whiteouts = {file(".wh.a", ""), file(".wh.sub", ""), file(".wh.implied", "")};
    items.insert(whiteout_first ? items.begin() : items.end(), whiteouts.begin(), whiteouts.end());
    apply_ok(fs, items, overlay_form());
    std::string order = whiteout_first ? "whiteouts first" : "whiteouts last";
    EXPECT_EQ(fs.dump(),
              "a file 0644 0:0 'new'\n"
              "implied dir 0755 0:0\n"
              "implied/x file 0644 0:0 'X'\n"
              "sub dir 0755 0:0\n"
              "sub/d file 0644 0:0 'D'\n")
        << order;
    EXPECT_TRUE(is_opaque_dir(fs, "sub")) << order;
    EXPECT_TRUE(is_opaque_dir(fs, "implied")) << order;
  }
}

TEST(LayerApplyOverlay, DirectoryReplacingThisLayersFileIsOpaque) {
  MemTreeFs fs;
  apply_ok(fs, {file("a", "x"), dir("a"), dir("b"), dir("b")}, overlay_form());
  EXPECT_TRUE(is_opaque_dir(fs, "a"));
  EXPECT_FALSE(is_opaque_dir(fs, "b"));
}

TEST(LayerApplyOverlay, WhiteoutUnderNonDirectoryIsHarmless) {
  MemTreeFs fs;
  apply_ok(fs, {file("f", "x"), file("f/.wh.y", ""), file("f/.wh..wh..opq", "")}, overlay_form());
  EXPECT_EQ(fs.dump(), "f file 0644 0:0 'x'\n");
}

TEST(LayerApplyOverlay, LayerCannotSetOverlayXattrs) {
  MemTreeFs fs;
  Item d = dir("d");
  d.entry.xattrs = {{"trusted.overlay.redirect", "/etc"}, {"user.note", "kept"}};
  auto stats = apply_items(fs, {d}, overlay_form());
  ASSERT_TRUE(stats) << stats.error().message();
  auto n = fs.find("d");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->xattrs, (std::map<std::string, std::string>{{"user.note", "kept"}}));
  EXPECT_EQ(stats->xattrs_skipped, 1u);
}

TEST(LayerApplyOverlay, OpaqueMarkerAtRootIsUnsupported) {
  MemTreeFs fs;
  auto stats = apply_items(fs, {file(".wh..wh..opq", "")}, overlay_form());
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().kind(), ErrorKind::kUnsupported);
}

TEST(LayerApplyOverlay, OpaqueXattrFailureIsAnError) {
  MemTreeFs fs;
  fs.fault = [](std::string_view op, std::string_view) { return op == "setxattr" ? EPERM : 0; };
  auto stats = apply_items(fs, {dir("d"), file("d/.wh..wh..opq", "")}, overlay_form());
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().sys_errno(), EPERM);
}

}  // namespace
}  // namespace bonsai::archive
