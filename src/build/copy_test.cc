// COPY and ADD rules, checked in memory: both trees are MemTreeFs, which resolves symlinks as
// RESOLVE_IN_ROOT does, so the confinement tests exercise the same semantics as sys::RootFs.
#include "build/copy.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <memory>

#include "archive/compress.h"
#include "archive/mem_tree_fs_test_util.h"
#include "archive/tar.h"
#include "archive/test_util.h"

namespace bonsai::build {
namespace {

using archive::testing::MemTreeFs;
using util::ErrorKind;

#define ASSERT_OK(expr)                                    \
  do {                                                     \
    auto ok_ = (expr);                                     \
    ASSERT_TRUE(ok_.has_value()) << ok_.error().message(); \
  } while (0)

// mkdir -p with mode 0755 for what is missing.
void mkdirs(MemTreeFs& fs, std::string_view path) {
  std::string cur;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    cur = std::string(path.substr(0, slash));
    if (!fs.find(cur)) {
      ASSERT_TRUE(fs.mkdir(cur, 0755));
    }
    start = slash + 1;
  }
}

std::string_view parent_of(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? "" : path.substr(0, slash);
}

void put_file(MemTreeFs& fs, const std::string& path, std::string_view data, uint32_t mode = 0644) {
  mkdirs(fs, parent_of(path));
  auto w = fs.create_file(path, mode);
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(data));
  ASSERT_TRUE((*w)->close());
  ASSERT_TRUE(fs.set_mode(path, mode));
}

void put_dir(MemTreeFs& fs, const std::string& path, uint32_t mode = 0755) {
  mkdirs(fs, path);
  ASSERT_TRUE(fs.set_mode(path, mode));
}

void put_link(MemTreeFs& fs, const std::string& target, const std::string& path) {
  mkdirs(fs, parent_of(path));
  ASSERT_TRUE(fs.symlink(target, path));
}

CopyRequest request(std::vector<std::string> sources, std::string dest) {
  CopyRequest r;
  r.sources = std::move(sources);
  r.dest = std::move(dest);
  return r;
}

class CopyFiles : public ::testing::Test {
 protected:
  util::Status copy(const CopyRequest& r) { return copy_files(src_, dst_, r); }
  std::string line(std::string_view path) {
    std::string dump = dst_.dump();
    std::string prefix = std::string(path) + " ";
    for (size_t at = 0; at < dump.size();) {
      size_t nl = dump.find('\n', at);
      std::string l = dump.substr(at, nl - at);
      if (l.starts_with(prefix)) return l;
      at = nl + 1;
    }
    return "<absent>";
  }

  MemTreeFs src_, dst_;
};

TEST_F(CopyFiles, FileToFilePath) {
  put_file(src_, "a.txt", "A", 0640);
  ASSERT_OK(copy(request({"a.txt"}, "/b.txt")));
  EXPECT_EQ(dst_.dump(), "b.txt file 0640 0:0 'A'\n");
}

// Regression: the walk kept a reference into its output vector across the recursive call, which
// dangled once the vector grew past its capacity (a context of a few thousand files crashed).
TEST_F(CopyFiles, ManyFilesInNestedDirectories) {
  for (int d = 0; d < 30; ++d) {
    put_dir(src_, "ctx/d" + std::to_string(d));
    for (int f = 0; f < 70; ++f)
      put_file(src_, "ctx/d" + std::to_string(d) + "/f" + std::to_string(f), "x");
  }
  ASSERT_OK(copy(request({"ctx"}, "/app/")));
  EXPECT_EQ(line("app/d29/f69"), "app/d29/f69 file 0644 0:0 'x'");
  auto hash = hash_copy_sources(src_, request({"ctx"}, "/app/"));
  ASSERT_TRUE(hash) << hash.error().message();
}

TEST_F(CopyFiles, FileIntoExistingDirectory) {
  put_file(src_, "a.txt", "A");
  put_dir(dst_, "app", 0700);
  ASSERT_OK(copy(request({"/a.txt"}, "/app")));
  EXPECT_EQ(dst_.dump(), "app dir 0700 0:0\napp/a.txt file 0644 0:0 'A'\n");
}

TEST_F(CopyFiles, FileIntoSymlinkToDirectory) {
  put_file(src_, "a.txt", "A");
  put_dir(dst_, "srv/app");
  put_link(dst_, "/srv/app", "app");
  ASSERT_OK(copy(request({"a.txt"}, "/app")));
  EXPECT_EQ(line("srv/app/a.txt"), "srv/app/a.txt file 0644 0:0 'A'");
}

TEST_F(CopyFiles, TrailingSlashMakesDirectoryWithParents) {
  put_file(src_, "a.txt", "A");
  ASSERT_OK(copy(request({"a.txt"}, "/new/dir/")));
  EXPECT_EQ(dst_.dump(),
            "new dir 0755 0:0\nnew/dir dir 0755 0:0\nnew/dir/a.txt file 0644 0:0 'A'\n");
}

TEST_F(CopyFiles, DirectoryCopiesItsContentsNotItself) {
  put_file(src_, "d/x", "X");
  put_file(src_, "d/sub/y", "Y", 0600);
  ASSERT_TRUE(src_.set_mode("d", 0750));
  ASSERT_OK(copy(request({"d"}, "/out")));
  EXPECT_EQ(dst_.dump(),
            "out dir 0750 0:0\n"
            "out/sub dir 0755 0:0\n"
            "out/sub/y file 0600 0:0 'Y'\n"
            "out/x file 0644 0:0 'X'\n");
}

TEST_F(CopyFiles, DirectoryIntoExistingDestinationKeepsItsModeAndMtime) {
  put_file(src_, "d/x", "X");
  put_dir(dst_, "out", 0700);
  ASSERT_TRUE(dst_.set_mtime("out", 42, 7));
  ASSERT_OK(copy(request({"d/"}, "/out/")));
  EXPECT_EQ(line("out"), "out dir 0700 0:0");
  EXPECT_EQ(dst_.find("out")->info.mtime_sec, 42);
  EXPECT_EQ(dst_.find("out")->info.mtime_nsec, 7u);
  EXPECT_EQ(line("out/x"), "out/x file 0644 0:0 'X'");
}

TEST_F(CopyFiles, MtimesAreKeptIncludingDirectoriesWrittenInto) {
  put_file(src_, "d/sub/f", "F");
  ASSERT_TRUE(src_.set_mtime("d/sub/f", 1000, 5));
  ASSERT_TRUE(src_.set_mtime("d/sub", 2000, 0));
  ASSERT_OK(copy(request({"d"}, "/out")));
  EXPECT_EQ(dst_.find("out/sub/f")->info.mtime_sec, 1000);
  EXPECT_EQ(dst_.find("out/sub/f")->info.mtime_nsec, 5u);
  EXPECT_EQ(dst_.find("out/sub")->info.mtime_sec, 2000);
}

TEST_F(CopyFiles, WildcardWithSeveralMatchesMakesDestinationADirectory) {
  put_file(src_, "a1.txt", "1");
  put_file(src_, "a2.txt", "2");
  put_file(src_, "b.txt", "b");
  put_file(src_, "x/a3.txt", "3");
  ASSERT_OK(copy(request({"a*.txt", "*/a?.txt"}, "/out")));
  EXPECT_EQ(dst_.dump(),
            "out dir 0755 0:0\n"
            "out/a1.txt file 0644 0:0 '1'\n"
            "out/a2.txt file 0644 0:0 '2'\n"
            "out/a3.txt file 0644 0:0 '3'\n");
}

TEST_F(CopyFiles, WildcardWithOneMatchCopiesToThePath) {
  put_file(src_, "only.txt", "O");
  ASSERT_OK(copy(request({"on[a-z]?.*"}, "/renamed")));
  EXPECT_EQ(dst_.dump(), "renamed file 0644 0:0 'O'\n");
}

TEST_F(CopyFiles, WildcardMatchingNothingIsNotFound) {
  put_file(src_, "a.txt", "A");
  auto r = copy(request({"a.txt", "z*.txt"}, "/out/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("\"z*.txt\""), std::string::npos) << r.error().message();
}

TEST_F(CopyFiles, MissingSourceIsNotFound) {
  auto r = copy(request({"nope/x"}, "/out/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
  EXPECT_NE(r.error().message().find("nope/x"), std::string::npos);
  put_file(src_, "file", "F");
  r = copy(request({"file/x"}, "/out/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
}

TEST_F(CopyFiles, MalformedPatternIsInvalidArgument) {
  put_file(src_, "a.txt", "A");
  auto r = copy(request({"a[.txt"}, "/out/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
}

TEST_F(CopyFiles, SymlinkNamedAsSourceIsFollowedButSymlinksInsideAreKept) {
  put_file(src_, "real/f", "F");
  put_link(src_, "f", "real/inner");
  put_link(src_, "real", "link");
  put_link(src_, "real/f", "flink");
  ASSERT_OK(copy(request({"link"}, "/out")));
  ASSERT_OK(copy(request({"flink"}, "/out/")));
  EXPECT_EQ(dst_.dump(),
            "out dir 0755 0:0\n"
            "out/f file 0644 0:0 'F'\n"
            "out/flink file 0644 0:0 'F'\n"
            "out/inner symlink 0777 0:0 -> f\n");
}

TEST_F(CopyFiles, SymlinkCannotLeadOutOfTheSourceRoot) {
  put_file(src_, "etc/passwd", "inside");
  put_link(src_, "/../../etc", "abs");
  put_link(src_, "../../../etc", "rel");
  put_link(src_, "../../../etc/passwd", "file");
  ASSERT_OK(copy(request({"abs"}, "/a")));
  ASSERT_OK(copy(request({"rel/"}, "/r")));
  ASSERT_OK(copy(request({"file"}, "/f")));
  EXPECT_EQ(line("a/passwd"), "a/passwd file 0644 0:0 'inside'");
  EXPECT_EQ(line("r/passwd"), "r/passwd file 0644 0:0 'inside'");
  EXPECT_EQ(line("f"), "f file 0644 0:0 'inside'");
}

TEST_F(CopyFiles, DestinationSymlinkCannotLeadOutOfTheImageRoot) {
  put_file(src_, "a.txt", "A");
  put_link(dst_, "/../../../tmp", "escape");
  ASSERT_OK(copy(request({"a.txt"}, "/escape/")));
  EXPECT_EQ(line("tmp/a.txt"), "tmp/a.txt file 0644 0:0 'A'");
}

TEST_F(CopyFiles, SymlinkLoopIsAnError) {
  put_link(src_, "b", "a");
  put_link(src_, "a", "b");
  auto r = copy(request({"a"}, "/out"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().sys_errno(), ELOOP);
}

TEST_F(CopyFiles, WildcardDoesNotEnterSymlinkedDirectoriesButFollowsMatches) {
  put_file(src_, "real/f.txt", "F");
  put_link(src_, "real", "lnk");
  put_link(src_, "real/f.txt", "g.txt");
  put_link(src_, "nowhere", "dangling.txt");
  ASSERT_OK(copy(request({"*/f.txt"}, "/one")));
  EXPECT_EQ(line("one"), "one file 0644 0:0 'F'");  // a single match: lnk/f.txt is not one
  ASSERT_OK(copy(request({"g*.txt"}, "/two")));
  EXPECT_EQ(line("two"), "two file 0644 0:0 'F'");
  auto r = copy(request({"d*.txt"}, "/three"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kNotFound);
}

TEST_F(CopyFiles, FifosAndDevicesAreRecreatedSocketsSkipped) {
  put_dir(src_, "d");
  ASSERT_TRUE(src_.mknod("d/fifo", util::FileType::kFifo, 0620, 0, 0));
  ASSERT_TRUE(src_.mknod("d/null", util::FileType::kCharDevice, 0666, 1, 3));
  auto sock = std::make_shared<MemTreeFs::Node>();
  sock->info.type = util::FileType::kSocket;
  sock->info.mode = 0755;
  src_.find("d")->children["sock"] = sock;
  ASSERT_OK(copy(request({"d"}, "/out")));
  EXPECT_EQ(dst_.dump(),
            "out dir 0755 0:0\n"
            "out/fifo fifo 0620 0:0\n"
            "out/null chr 0666 0:0 1,3\n");
}

TEST_F(CopyFiles, ParentsWithNothingKeptCopiesContents) {
  put_file(src_, "x/f", "F");
  put_dir(dst_, "p", 0700);
  CopyRequest r = request({"x/./"}, "/p");
  r.parents = true;
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(), "p dir 0700 0:0\np/f file 0644 0:0 'F'\n");
}

TEST_F(CopyFiles, MissingParentsAreCreated0755OwnedByChown) {
  put_file(src_, "c.txt", "C", 0600);
  CopyRequest r = request({"c.txt"}, "/a/b/c.txt");
  r.uid = 1000;
  r.gid = 1001;
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "a dir 0755 1000:1001\n"
            "a/b dir 0755 1000:1001\n"
            "a/b/c.txt file 0600 1000:1001 'C'\n");
}

TEST_F(CopyFiles, ChmodReplacesBitsOfFilesAndDirectories) {
  put_file(src_, "d/x", "X", 0644);
  put_file(src_, "d/sub/y", "Y", 04755);
  put_link(src_, "x", "d/l");
  CopyRequest r = request({"d"}, "/out");
  r.chmod = ChmodSpec::octal(0750);
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "out dir 0750 0:0\n"
            "out/l symlink 0777 0:0 -> x\n"
            "out/sub dir 0750 0:0\n"
            "out/sub/y file 0750 0:0 'Y'\n"
            "out/x file 0750 0:0 'X'\n");
}

TEST_F(CopyFiles, SymbolicChmodAppliesToEachFilesOwnBits) {
  put_file(src_, "d/x", "X", 0644);
  put_file(src_, "d/run", "R", 0700);
  CopyRequest r = request({"d"}, "/out");
  r.chmod = *ChmodSpec::parse("go+rX,u+w");
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "out dir 0755 0:0\n"
            "out/run file 0755 0:0 'R'\n"
            "out/x file 0644 0:0 'X'\n");
}

TEST_F(CopyFiles, SetuidBitsSurviveTheChown) {
  put_file(src_, "tool", "T", 04755);
  CopyRequest r = request({"tool"}, "/bin/tool");
  r.uid = 5;
  r.gid = 5;
  ASSERT_OK(copy(r));
  EXPECT_EQ(line("bin/tool"), "bin/tool file 4755 5:5 'T'");
}

TEST_F(CopyFiles, OwnersArePreservedOnlyWhenAsked) {
  put_file(src_, "d/f", "F");
  ASSERT_TRUE(src_.set_owner("d/f", 5, 6));
  ASSERT_TRUE(src_.set_owner("d", 7, 8));
  CopyRequest r = request({"d"}, "/ctx");
  ASSERT_OK(copy(r));
  r.dest = "/from";
  r.preserve_owners = true;
  ASSERT_OK(copy(r));
  r.dest = "/chown";
  r.uid = 100;
  r.gid = 200;
  ASSERT_OK(copy(r));
  EXPECT_EQ(line("ctx/f"), "ctx/f file 0644 0:0 'F'");
  EXPECT_EQ(line("from"), "from dir 0755 7:8");
  EXPECT_EQ(line("from/f"), "from/f file 0644 5:6 'F'");
  EXPECT_EQ(line("chown/f"), "chown/f file 0644 100:200 'F'");
}

// Patterns match below each source ("tmp" in app/, "*.log" at any depth with **), as BuildKit's
// copier matches them; a file named as a source (top.log, matched by "*.log") is never excluded.
TEST_F(CopyFiles, ExcludesLeaveOutFilesAndWholeDirectories) {
  put_file(src_, "app/main.go", "m");
  put_file(src_, "app/debug.log", "l");
  put_file(src_, "app/sub/deep.log", "d");
  put_file(src_, "app/tmp/cache", "c");
  put_file(src_, "app/app/tmp", "not excluded: app/tmp is below the source");
  put_file(src_, "top.log", "t");
  put_file(src_, "keep.txt", "k");
  CopyRequest r = request({"app", "*.log", "keep.txt"}, "/out/");
  r.excludes = {"**/*.log", "tmp"};
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "out dir 0755 0:0\n"
            "out/app dir 0755 0:0\n"
            "out/app/tmp file 0644 0:0 'not excluded: app/tmp is below the source'\n"
            "out/keep.txt file 0644 0:0 'k'\n"
            "out/main.go file 0644 0:0 'm'\n"
            "out/sub dir 0755 0:0\n"
            "out/top.log file 0644 0:0 't'\n");
}

TEST_F(CopyFiles, ExcludesAreRelativeToEachSourceNotTheContext) {
  put_file(src_, "docs/a.md", "a");
  put_file(src_, "docs/b.txt", "b");
  put_file(src_, "docs/sub/c.md", "c");
  CopyRequest r = request({"docs"}, "/d/");
  r.excludes = {"*.md"};
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "d dir 0755 0:0\n"
            "d/b.txt file 0644 0:0 'b'\n"
            "d/sub dir 0755 0:0\n"
            "d/sub/c.md file 0644 0:0 'c'\n");
}

TEST_F(CopyFiles, DockerignoreHidesPathsWithExceptionsBroughtBack) {
  put_file(src_, "secret/key", "K");
  put_file(src_, "secret/keep.txt", "ok");
  put_file(src_, "README.md", "r");
  put_file(src_, "main.c", "c");
  auto ignore = dockerfile::IgnoreMatcher::parse("secret\n!secret/keep.txt\n*.md\n");
  ASSERT_TRUE(ignore);
  CopyRequest r = request({"."}, "/src");
  r.ignore = &*ignore;
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "src dir 0755 0:0\n"
            "src/main.c file 0644 0:0 'c'\n"
            "src/secret dir 0755 0:0\n"
            "src/secret/keep.txt file 0644 0:0 'ok'\n");
  // An ignored path named as a source does not exist in the context.
  r.sources = {"README.md"};
  auto missing = copy(r);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind(), ErrorKind::kNotFound);
  r.sources = {"*.md", "main.c"};
  auto none = copy(r);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind(), ErrorKind::kNotFound);
}

TEST_F(CopyFiles, ExcludedDirectoryWithExceptionsIsWalked) {
  put_file(src_, "d/logs/a.log", "a");
  put_file(src_, "d/logs/keep", "k");
  put_file(src_, "d/empty/x.log", "x");
  CopyRequest r = request({"d"}, "/out");
  r.excludes = {"logs", "empty", "!logs/keep"};
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "out dir 0755 0:0\n"
            "out/logs dir 0755 0:0\n"
            "out/logs/keep file 0644 0:0 'k'\n");
}

TEST_F(CopyFiles, ParentsKeepTheSourcePath) {
  put_file(src_, "x/y/f.txt", "F");
  put_file(src_, "x/z/g.txt", "G");
  ASSERT_TRUE(src_.set_mode("x", 0750));
  CopyRequest r = request({"x/y/f.txt", "x/z"}, "/p");
  r.parents = true;
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "p dir 0755 0:0\n"
            "p/x dir 0750 0:0\n"
            "p/x/y dir 0755 0:0\n"
            "p/x/y/f.txt file 0644 0:0 'F'\n"
            "p/x/z dir 0755 0:0\n"
            "p/x/z/g.txt file 0644 0:0 'G'\n");
}

TEST_F(CopyFiles, ParentsPivotKeepsOnlyWhatFollowsDotSlash) {
  put_file(src_, "x/y/f.txt", "F");
  put_file(src_, "x/w/f.txt", "W");
  put_file(src_, "x/y/other", "O");
  CopyRequest r = request({"./x/./*/f.txt"}, "/p/");
  r.parents = true;
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.dump(),
            "p dir 0755 0:0\n"
            "p/w dir 0755 0:0\n"
            "p/w/f.txt file 0644 0:0 'W'\n"
            "p/y dir 0755 0:0\n"
            "p/y/f.txt file 0644 0:0 'F'\n");
}

TEST_F(CopyFiles, HardLinksStayHardLinks) {
  put_file(src_, "d/f", "same");
  ASSERT_TRUE(src_.link("d/f", "d/g"));
  ASSERT_OK(copy(request({"d"}, "/out")));
  EXPECT_EQ(line("out/f"), "out/f file 0644 0:0 'same' links=2");
  EXPECT_EQ(line("out/g"), "out/g file 0644 0:0 'same' links=2");
  EXPECT_EQ(dst_.find("out/f"), dst_.find("out/g"));
}

TEST_F(CopyFiles, ExistingFileOrSymlinkAtTheTargetIsReplaced) {
  put_file(src_, "d/a", "new");
  put_file(src_, "d/b", "new b");
  put_file(dst_, "out/a", "old");
  put_link(dst_, "/etc/shadow", "out/b");
  ASSERT_OK(copy(request({"d"}, "/out")));
  EXPECT_EQ(line("out/a"), "out/a file 0644 0:0 'new'");
  EXPECT_EQ(line("out/b"), "out/b file 0644 0:0 'new b'");
  EXPECT_EQ(line("etc/shadow"), "<absent>");
}

TEST_F(CopyFiles, DirectoryOntoExistingFileFails) {
  put_file(src_, "d/x", "X");
  put_file(dst_, "out", "file");
  auto r = copy(request({"d"}, "/out"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(r.error().message().find("out"), std::string::npos) << r.error().message();
  put_file(src_, "e/sub/x", "X");
  put_file(dst_, "out2/sub", "file");
  EXPECT_FALSE(copy(request({"e"}, "/out2")));
}

TEST_F(CopyFiles, FileOntoExistingDirectoryInsideACopyFails) {
  put_file(src_, "d/x", "X");
  put_dir(dst_, "out/x");
  auto r = copy(request({"d"}, "/out"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kAlreadyExists);
}

TEST_F(CopyFiles, TrailingSlashOntoExistingFileFails) {
  put_file(src_, "a", "A");
  put_file(dst_, "f", "F");
  auto r = copy(request({"a"}, "/f/"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kAlreadyExists);
}

// --- ADD archives ---

std::string make_tar() {
  util::StringWriter out;
  archive::TarWriter tar(out);
  archive::TarEntry d;
  d.path = "pkg";
  d.type = archive::EntryType::kDirectory;
  d.mode = 0750;
  d.uid = 7;
  d.gid = 8;
  EXPECT_TRUE(tar.add(d));
  archive::TarEntry f;
  f.path = "pkg/bin";
  f.mode = 0755;
  f.uid = 7;
  f.gid = 8;
  f.size = 5;
  EXPECT_TRUE(tar.add(f));
  EXPECT_TRUE(tar.write_body("hello"));
  EXPECT_TRUE(tar.finish());
  return out.str();
}

std::string gzip(std::string_view data) {
  util::StringWriter out;
  auto w = archive::gzip_writer(out, {.threads = 1});
  EXPECT_TRUE(w);
  EXPECT_TRUE((*w)->write(data));
  EXPECT_TRUE((*w)->close());
  return out.str();
}

TEST_F(CopyFiles, AddExtractsATarGzKeepingItsOwnersAndModes) {
  put_file(src_, "app.tar.gz", gzip(make_tar()));
  put_file(src_, "plain.tar", make_tar());
  CopyRequest r = request({"app.tar.gz"}, "/opt");
  r.unpack_archives = true;
  r.uid = 1;  // --chown does not apply to extracted entries
  ASSERT_OK(copy(r));
  r.sources = {"plain.tar"};
  r.dest = "/plain/";
  ASSERT_OK(copy(r));
  EXPECT_EQ(line("opt"), "opt dir 0755 1:0");
  EXPECT_EQ(line("opt/pkg"), "opt/pkg dir 0750 7:8");
  EXPECT_EQ(line("opt/pkg/bin"), "opt/pkg/bin file 0755 7:8 'hello'");
  EXPECT_EQ(line("plain/pkg/bin"), "plain/pkg/bin file 0755 7:8 'hello'");
}

TEST_F(CopyFiles, AddCopiesWhatIsNotATarArchive) {
  put_file(src_, "notes.gz", gzip("just text, not a tar archive"));
  put_file(src_, "a.tar.gz", gzip(make_tar()));
  CopyRequest r = request({"notes.gz"}, "/n.gz");
  r.unpack_archives = true;
  ASSERT_OK(copy(r));
  EXPECT_EQ(dst_.find("n.gz")->data, gzip("just text, not a tar archive"));
  // COPY never extracts.
  ASSERT_OK(copy(request({"a.tar.gz"}, "/copied.tar.gz")));
  ASSERT_NE(dst_.find("copied.tar.gz"), nullptr);
  EXPECT_EQ(dst_.find("copied.tar.gz")->data, src_.find("a.tar.gz")->data);
}

// What the xz or bzip2 command makes of data, as in a user's app.tar.xz.
std::string compress_with(const std::string& tool, std::string_view data) {
  archive::testing::TempDir dir;
  archive::testing::write_file(dir.file("in"), data);
  auto [status, out] = archive::testing::run(tool + " -c < " + dir.file("in"));
  EXPECT_EQ(status, 0) << tool;
  return out;
}

TEST_F(CopyFiles, AddExtractsXzAndBzip2Archives) {
  put_file(src_, "app.tar.xz", compress_with("xz", make_tar()));
  put_file(src_, "app.tar.bz2", compress_with("bzip2", make_tar()));
  CopyRequest r = request({"app.tar.xz"}, "/xz");
  r.unpack_archives = true;
  ASSERT_OK(copy(r));
  r.sources = {"app.tar.bz2"};
  r.dest = "/bz/";
  ASSERT_OK(copy(r));
  EXPECT_EQ(line("xz/pkg"), "xz/pkg dir 0750 7:8");
  EXPECT_EQ(line("xz/pkg/bin"), "xz/pkg/bin file 0755 7:8 'hello'");
  EXPECT_EQ(line("bz/pkg/bin"), "bz/pkg/bin file 0755 7:8 'hello'");
}

TEST_F(CopyFiles, AddCopiesXzStreamsThatAreNotTarArchives) {
  // As BuildKit does: a stream that does not decompress to a tar header is copied as it is.
  const std::string text_xz = compress_with("xz", "just text");
  const std::string broken(
      "\xfd"
      "7zXZ\0\0rest",
      11);
  put_file(src_, "notes.xz", text_xz);
  put_file(src_, "broken.tar.xz", broken);
  CopyRequest r = request({"notes.xz", "broken.tar.xz"}, "/x/");
  r.unpack_archives = true;
  ASSERT_OK(copy(r));
  ASSERT_NE(dst_.find("x/notes.xz"), nullptr);
  EXPECT_EQ(dst_.find("x/notes.xz")->data, text_xz);
  ASSERT_NE(dst_.find("x/broken.tar.xz"), nullptr);
  EXPECT_EQ(dst_.find("x/broken.tar.xz")->data, broken);
}

TEST_F(CopyFiles, ArchiveEntriesCannotClimbOutOfTheDestination) {
  util::StringWriter out;
  archive::TarWriter tar(out);
  archive::TarEntry f;
  f.path = "../../evil";
  f.size = 1;
  ASSERT_TRUE(tar.add(f));
  ASSERT_TRUE(tar.write_body("x"));
  ASSERT_TRUE(tar.finish());
  put_file(src_, "evil.tar", out.str());
  CopyRequest r = request({"evil.tar"}, "/a/b/");
  r.unpack_archives = true;
  EXPECT_FALSE(copy(r));
  EXPECT_EQ(line("evil"), "<absent>");
  EXPECT_EQ(line("a/evil"), "<absent>");
}

// --- hashing ---

// Counts open_read calls on the tree it wraps.
class CountingFs final : public util::TreeFs {
 public:
  explicit CountingFs(util::TreeFs& fs) : fs_(fs) {}
  int opens = 0;

  util::Result<std::optional<util::FileInfo>> lstat(std::string_view p) override {
    return fs_.lstat(p);
  }
  util::Result<std::vector<std::string>> list(std::string_view p) override { return fs_.list(p); }
  util::Result<std::string> read_link(std::string_view p) override { return fs_.read_link(p); }
  util::Result<std::unique_ptr<util::Reader>> open_read(std::string_view p) override {
    ++opens;
    return fs_.open_read(p);
  }
  util::Status mkdir(std::string_view p, uint32_t m) override { return fs_.mkdir(p, m); }
  util::Result<std::unique_ptr<util::Writer>> create_file(std::string_view p, uint32_t m) override {
    return fs_.create_file(p, m);
  }
  util::Status symlink(std::string_view t, std::string_view p) override {
    return fs_.symlink(t, p);
  }
  util::Status link(std::string_view e, std::string_view p) override { return fs_.link(e, p); }
  util::Status mknod(std::string_view p, util::FileType t, uint32_t m, uint32_t a,
                     uint32_t b) override {
    return fs_.mknod(p, t, m, a, b);
  }
  util::Status remove(std::string_view p) override { return fs_.remove(p); }
  util::Status remove_all(std::string_view p) override { return fs_.remove_all(p); }
  util::Status set_owner(std::string_view p, uint32_t u, uint32_t g) override {
    return fs_.set_owner(p, u, g);
  }
  util::Status set_mode(std::string_view p, uint32_t m) override { return fs_.set_mode(p, m); }
  util::Status set_mtime(std::string_view p, int64_t s, uint32_t n) override {
    return fs_.set_mtime(p, s, n);
  }
  util::Status set_xattr(std::string_view p, std::string_view n, std::string_view v) override {
    return fs_.set_xattr(p, n, v);
  }

 private:
  util::TreeFs& fs_;
};

// Keyed by path, size and mtime, as the build's metadata-database cache is.
class MapCache final : public ContentHashCache {
 public:
  std::optional<std::string> get(const std::string& path, const util::FileInfo& info) override {
    auto it = map_.find(key(path, info));
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  void put(const std::string& path, const util::FileInfo& info, const std::string& hex) override {
    map_[key(path, info)] = hex;
    ++puts;
  }
  int puts = 0;

 private:
  static std::string key(const std::string& path, const util::FileInfo& info) {
    return path + "|" + std::to_string(info.size) + "|" + std::to_string(info.mtime_sec);
  }
  std::map<std::string, std::string> map_;
};

class CopyHash : public ::testing::Test {
 protected:
  void SetUp() override {
    put_file(src_, "d/a.txt", "alpha");
    put_file(src_, "d/sub/b.txt", "beta");
    put_link(src_, "a.txt", "d/link");
  }
  std::string hash(const CopyRequest& r, ContentHashCache* cache = nullptr) {
    auto h = hash_copy_sources(src_, r, cache);
    EXPECT_TRUE(h) << h.error().message();
    return h ? *h : "";
  }
  MemTreeFs src_;
};

TEST_F(CopyHash, IsAStableHexDigest) {
  std::string h = hash(request({"d"}, "/out"));
  EXPECT_EQ(h.size(), 64u);
  EXPECT_EQ(h, hash(request({"d"}, "/out")));
}

TEST_F(CopyHash, ChangesWithContent) {
  std::string before = hash(request({"d"}, "/out"));
  ASSERT_TRUE(src_.remove("d/a.txt"));
  put_file(src_, "d/a.txt", "alphA");
  EXPECT_NE(before, hash(request({"d"}, "/out")));
}

TEST_F(CopyHash, ChangesWithMode) {
  std::string before = hash(request({"d"}, "/out"));
  ASSERT_TRUE(src_.set_mode("d/sub/b.txt", 0755));
  EXPECT_NE(before, hash(request({"d"}, "/out")));
}

TEST_F(CopyHash, ChangesWithPath) {
  std::string before = hash(request({"d"}, "/out"));
  put_file(src_, "d/sub/c.txt", "beta");
  ASSERT_TRUE(src_.remove("d/sub/b.txt"));
  EXPECT_NE(before, hash(request({"d"}, "/out")));
}

TEST_F(CopyHash, ChangesWithSymlinkTarget) {
  std::string before = hash(request({"d"}, "/out"));
  ASSERT_TRUE(src_.remove("d/link"));
  put_link(src_, "sub", "d/link");
  EXPECT_NE(before, hash(request({"d"}, "/out")));
}

TEST_F(CopyHash, IgnoresMtime) {
  std::string before = hash(request({"d"}, "/out"));
  ASSERT_TRUE(src_.set_mtime("d/a.txt", 12345, 6));
  ASSERT_TRUE(src_.set_mtime("d", 999, 0));
  EXPECT_EQ(before, hash(request({"d"}, "/out")));
}

TEST_F(CopyHash, OwnersCountOnlyWhenPreserved) {
  CopyRequest r = request({"d"}, "/out");
  std::string ctx = hash(r);
  r.preserve_owners = true;
  std::string from = hash(r);
  ASSERT_TRUE(src_.set_owner("d/a.txt", 1, 1));
  EXPECT_NE(from, hash(r));
  r.preserve_owners = false;
  EXPECT_EQ(ctx, hash(r));
}

TEST_F(CopyHash, ExcludedFilesDoNotCount) {
  CopyRequest r = request({"d"}, "/out");
  r.excludes = {"sub"};
  std::string before = hash(r);
  ASSERT_TRUE(src_.remove("d/sub/b.txt"));
  put_file(src_, "d/sub/b.txt", "changed");
  EXPECT_EQ(before, hash(r));
}

TEST_F(CopyHash, ReportsCopyErrors) {
  EXPECT_EQ(hash_copy_sources(src_, request({"missing"}, "/x")).error().kind(),
            ErrorKind::kNotFound);
  EXPECT_EQ(hash_copy_sources(src_, request({"d/[", "d"}, "/x/")).error().kind(),
            ErrorKind::kInvalidArgument);
}

TEST_F(CopyHash, CacheHitSkipsReadingTheFile) {
  CountingFs counting(src_);
  MapCache cache;
  CopyRequest r = request({"d"}, "/out");
  auto first = hash_copy_sources(counting, r, &cache);
  ASSERT_TRUE(first);
  EXPECT_EQ(counting.opens, 2);
  EXPECT_EQ(cache.puts, 2);
  auto second = hash_copy_sources(counting, r, &cache);
  ASSERT_TRUE(second);
  EXPECT_EQ(counting.opens, 2);  // both digests came from the cache
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(*first, hash(r));  // same digest as without a cache
  ASSERT_TRUE(src_.set_mtime("d/a.txt", 5, 0));
  ASSERT_TRUE(hash_copy_sources(counting, r, &cache));
  EXPECT_EQ(counting.opens, 3);  // only the changed file is read again
}

// --- filepath.Match ---

struct MatchCase {
  const char* pattern;
  const char* name;
  bool match;
  bool bad = false;
};

// From Go's path/filepath match_test.go.
const MatchCase kMatchCases[] = {
    {"abc", "abc", true},
    {"*", "abc", true},
    {"*c", "abc", true},
    {"a*", "a", true},
    {"a*", "abc", true},
    {"a*", "ab/c", false},
    {"a*/b", "abc/b", true},
    {"a*/b", "a/c/b", false},
    {"a*b*c*d*e*/f", "axbxcxdxe/f", true},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false},
    {"a*b?c*x", "abxbbxdbxebxczzx", true},
    {"a*b?c*x", "abxbbxdbxebxczzy", false},
    {"ab[c]", "abc", true},
    {"ab[b-d]", "abc", true},
    {"ab[e-g]", "abc", false},
    {"ab[^c]", "abc", false},
    {"ab[^b-d]", "abc", false},
    {"ab[^e-g]", "abc", true},
    {"a\\*b", "a*b", true},
    {"a\\*b", "ab", false},
    {"a?b",
     "a\xe2\x98\xba"
     "b",
     true},
    {"a[^a]b",
     "a\xe2\x98\xba"
     "b",
     true},
    {"a???b",
     "a\xe2\x98\xba"
     "b",
     false},
    {"a[^a][^a][^a]b",
     "a\xe2\x98\xba"
     "b",
     false},
    {"[a-\xce\xb6]*", "\xce\xb1", true},
    {"*[a-\xce\xb6]", "A", false},
    {"a?b", "a/b", false},
    {"a*b", "a/b", false},
    {"[\\]a]", "]", true},
    {"[\\-]", "-", true},
    {"[x\\-]", "x", true},
    {"[x\\-]", "-", true},
    {"[x\\-]", "z", false},
    {"[\\-x]", "x", true},
    {"[\\-x]", "-", true},
    {"[\\-x]", "a", false},
    {"[]a]", "]", false, true},
    {"[-]", "-", false, true},
    {"[x-]", "x", false, true},
    {"[x-]", "-", false, true},
    {"[x-]", "z", false, true},
    {"[-x]", "x", false, true},
    {"[-x]", "-", false, true},
    {"[-x]", "a", false, true},
    {"\\", "a", false, true},
    {"[a-b-c]", "a", false, true},
    {"[", "a", false, true},
    {"[^", "a", false, true},
    {"[^bc", "a", false, true},
    {"a[", "a", false, true},
    {"a[", "ab", false, true},
    {"a[", "x", false, true},
    {"a/b[", "x", false, true},
    {"*x", "xxx", true},
};

TEST(MatchPattern, AgreesWithGoFilepathMatch) {
  for (const MatchCase& c : kMatchCases) {
    auto r = match_pattern(c.pattern, c.name);
    if (c.bad) {
      ASSERT_FALSE(r) << c.pattern;
      EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
    } else {
      ASSERT_TRUE(r) << c.pattern << ": " << r.error().message();
      EXPECT_EQ(*r, c.match) << c.pattern << " vs " << c.name;
    }
  }
}

}  // namespace
}  // namespace bonsai::build
