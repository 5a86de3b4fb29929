// The .deb reader against dpkg-deb, the real peer: packages built with `dpkg-deb --build` in
// every compression it writes, the packages in apt's cache when there are any, and tampered
// copies of them.
#include "debian/deb.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "archive/ar.h"
#include "archive/test_util.h"

namespace bonsai::debian {
namespace {

using archive::EntryType;
using archive::TarEntry;
using archive::testing::run;
using archive::testing::TempDir;
using util::ErrorKind;

// Records what read_deb hands out.
class Recorder final : public DebVisitor {
 public:
  Status on_control(DebControl&& c) override {
    if (control) return util::fail(ErrorKind::kInternal, "on_control called twice");
    control = std::move(c);
    return {};
  }
  Status on_data_entry(const TarEntry& e, util::Reader& body) override {
    if (!control) data_before_control = true;
    std::string data = TRY(util::read_all(body, 64 << 20));
    entries.emplace_back(e, std::move(data));
    return {};
  }
  const std::pair<TarEntry, std::string>* find(std::string_view path) const {
    for (const auto& e : entries)
      if (e.first.path == path) return &e;
    return nullptr;
  }

  std::optional<DebControl> control;
  std::vector<std::pair<TarEntry, std::string>> entries;
  bool data_before_control = false;
};

// Hands out at most 7 bytes per read, as a slow pipe would.
class TrickleReader final : public util::Reader {
 public:
  explicit TrickleReader(std::string_view data) : data_(data) {}
  Result<size_t> read(std::span<char> buf) override {
    size_t n = std::min({buf.size(), data_.size(), size_t{7}});
    std::copy_n(data_.data(), n, buf.data());
    data_.remove_prefix(n);
    return n;
  }

 private:
  std::string_view data_;
};

Status read_bytes(std::string_view deb, Recorder& r, DebLimits limits = {}) {
  util::StringReader in(deb);
  return read_deb(in, "t.deb", r, limits);
}

util::Error error_of(std::string_view deb, DebLimits limits = {}) {
  Recorder r;
  auto st = read_bytes(deb, r, limits);
  EXPECT_FALSE(st);
  return st ? util::Error(ErrorKind::kInternal, "no error") : st.error();
}

std::string shell_quote(const std::string& s) { return "'" + s + "'"; }

std::string run_ok(const std::string& cmd) {
  auto [status, out] = run(cmd);
  EXPECT_EQ(status, 0) << cmd;
  return out;
}

// A data.tar entry as `tar -tv` (and so `dpkg-deb -c`) lists it, without date and time:
// "drwxr-xr-x root/root 0 ./usr/", "lrwxrwxrwx root/root 0 ./usr/bin/x -> y",
// "hrwxr-xr-x root/root 0 ./usr/bin/b link to ./usr/bin/a".
std::string tar_tv_line(const TarEntry& e) {
  char type = '-';
  switch (e.type) {
    case EntryType::kFile:
      break;
    case EntryType::kDirectory:
      type = 'd';
      break;
    case EntryType::kSymlink:
      type = 'l';
      break;
    case EntryType::kHardLink:
      type = 'h';
      break;
    case EntryType::kCharDevice:
      type = 'c';
      break;
    case EntryType::kBlockDevice:
      type = 'b';
      break;
    case EntryType::kFifo:
      type = 'p';
      break;
  }
  std::string perms = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (!(e.mode & (0400u >> i))) perms[i] = '-';
  if (e.mode & 04000) perms[2] = perms[2] == 'x' ? 's' : 'S';
  if (e.mode & 02000) perms[5] = perms[5] == 'x' ? 's' : 'S';
  if (e.mode & 01000) perms[8] = perms[8] == 'x' ? 't' : 'T';
  std::string owner = (e.uname.empty() ? std::to_string(e.uid) : e.uname) + "/" +
                      (e.gname.empty() ? std::to_string(e.gid) : e.gname);
  bool device = e.type == EntryType::kCharDevice || e.type == EntryType::kBlockDevice;
  std::string size = device ? std::to_string(e.dev_major) + "," + std::to_string(e.dev_minor)
                            : std::to_string(e.size);
  std::string name = e.path.empty() ? "./" : e.path;
  if (e.type == EntryType::kDirectory && !e.path.empty()) name += "/";
  if (e.type == EntryType::kSymlink) name += " -> " + e.link_target;
  if (e.type == EntryType::kHardLink) name += " link to " + e.link_target;
  return type + perms + " " + owner + " " + size + " " + name;
}

// `dpkg-deb -c` in the same form (leading "./" dropped but from the root itself).
std::vector<std::string> dpkg_listing(const std::string& deb) {
  static const std::regex kLine(R"(^(\S+) (\S+) +(\S+) (\S+) (\S+) (.*)$)");
  std::vector<std::string> lines;
  std::istringstream in(run_ok("dpkg-deb -c " + shell_quote(deb)));
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, kLine)) {
      ADD_FAILURE() << "unexpected dpkg-deb -c line: " << line;
      continue;
    }
    std::string name = m[6].str();
    if (name.starts_with("./") && name != "./") name.erase(0, 2);
    if (size_t at = name.find(" link to ./"); at != std::string::npos) name.erase(at + 9, 2);
    lines.push_back(m[1].str() + " " + m[2].str() + " " + m[3].str() + " " + name);
  }
  return lines;
}

std::vector<std::string> our_listing(const Recorder& r) {
  std::vector<std::string> lines;
  for (const auto& [e, _] : r.entries) lines.push_back(tar_tv_line(e));
  return lines;
}

// The file names in a .deb's control.tar, as tar lists them.
std::vector<std::string> dpkg_control_members(const std::string& deb) {
  std::vector<std::string> names;
  std::istringstream in(
      run_ok("dpkg-deb --ctrl-tarfile " + shell_quote(deb) + " | tar -t --exclude=./"));
  for (std::string line; std::getline(in, line);) {
    if (line == "./") continue;
    names.push_back(line.starts_with("./") ? line.substr(2) : line);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> keys(const DebControl& c) {
  std::vector<std::string> out;
  for (const auto& [name, _] : c.members) out.push_back(name);
  return out;  // std::map: sorted
}

// The members of an ar archive, to take apart and reassemble packages.
std::vector<std::pair<std::string, std::string>> ar_members(std::string_view ar_bytes) {
  util::StringReader in(ar_bytes);
  archive::ArReader ar(in);
  std::vector<std::pair<std::string, std::string>> out;
  for (;;) {
    auto m = ar.next();
    EXPECT_TRUE(m) << m.error().message();
    if (!m || !*m) return out;
    out.emplace_back((*m)->name, util::read_all(ar.body(), 1 << 30).value());
  }
}

std::string ar_member(const std::string& name, std::string_view body) {
  auto field = [](std::string s, size_t width) {
    s.resize(width, ' ');
    return s;
  };
  std::string out = field(name, 16) + field("0", 12) + field("0", 6) + field("0", 6) +
                    field("100644", 8) + field(std::to_string(body.size()), 10) + "`\n";
  out += body;
  if (body.size() % 2) out += '\n';
  return out;
}

std::string ar_archive(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out = "!<arch>\n";
  for (const auto& [name, body] : members) out += ar_member(name, body);
  return out;
}

std::string tar_of(const std::vector<std::pair<TarEntry, std::string>>& entries) {
  util::StringWriter out;
  archive::TarWriter tar(out);
  for (const auto& [e, body] : entries) {
    EXPECT_TRUE(tar.add(e));
    if (e.type == EntryType::kFile) {
      EXPECT_TRUE(tar.write_body(body));
    }
  }
  EXPECT_TRUE(tar.finish());
  return out.str();
}

TarEntry file_entry(const std::string& path, size_t size, uint32_t mode = 0644) {
  TarEntry e;
  e.path = path;
  e.size = size;
  e.mode = mode;
  return e;
}

constexpr std::string_view kControl =
    "Package: bonsai-test\n"
    "Version: 1.2-3\n"
    "Architecture: all\n"
    "Maintainer: Bonsai Tests <tests@bonsai.invalid>\n"
    "Installed-Size: 12\n"
    "Description: a package for read_deb's tests\n"
    " Built by deb_test with dpkg-deb.\n";

// A package tree with files, directories, a symlink, a hard link, maintainer scripts, conffiles
// and md5sums, built by dpkg-deb.
class BuiltDeb : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.file("pkg");
    for (const char* d :
         {"DEBIAN", "usr/bin", "usr/share/doc/bonsai-test", "etc", "var/lib/bonsai-test"})
      std::filesystem::create_directories(root_ + "/" + d);
    put("DEBIAN/control", kControl);
    put("DEBIAN/postinst", "#!/bin/sh\nset -e\necho configured\n", 0755);
    put("DEBIAN/prerm", "#!/bin/sh\nexit 0\n", 0755);
    put("DEBIAN/triggers", "interest-noawait bonsai-test-trigger\n");
    put("DEBIAN/conffiles", "/etc/bonsai-test.conf\n");
    put("usr/bin/hello", "#!/bin/sh\necho hello\n", 0755);
    put("usr/share/doc/bonsai-test/blob", run_ok("seq 1 60000"));
    put("usr/share/doc/bonsai-test/README", "read me\n", 04755);
    put("etc/bonsai-test.conf", "setting=1\n");
    ASSERT_EQ(::chmod(root_.c_str(), 0755), 0);
    ASSERT_EQ(::chmod((root_ + "/var/lib/bonsai-test").c_str(), 0750), 0);
    ASSERT_EQ(::link((root_ + "/usr/bin/hello").c_str(), (root_ + "/usr/bin/hello-again").c_str()),
              0);
    ASSERT_EQ(::symlink("hello", (root_ + "/usr/bin/hi").c_str()), 0);
    md5sums_ = run_ok("cd " + root_ + " && find usr etc -type f | sort | xargs md5sum");
    put("DEBIAN/md5sums", md5sums_);
  }

  void put(const std::string& path, std::string_view data, uint32_t mode = 0644) {
    archive::testing::write_file(root_ + "/" + path, data);
    ASSERT_EQ(::chmod((root_ + "/" + path).c_str(), mode), 0);
  }

  std::string build(const std::string& compression) {
    std::string deb = dir_.file("bonsai-test-" + compression + ".deb");
    auto [status, out] = run("dpkg-deb --root-owner-group -Z" + compression + " --build " + root_ +
                             " " + deb + " 2>&1");
    EXPECT_EQ(status, 0) << out;
    return deb;
  }

  TempDir dir_;
  std::string root_;
  std::string md5sums_;
};

void expect_package_read(const std::string& deb, const std::string& md5sums) {
  std::string bytes = archive::testing::read_file(deb);
  Recorder r;
  TrickleReader in(bytes);
  auto st = read_deb(in, deb, r);
  ASSERT_TRUE(st) << st.error().message();
  ASSERT_TRUE(r.control);
  EXPECT_FALSE(r.data_before_control);

  // Control: every file, with modes.
  EXPECT_EQ(r.control->control, kControl);
  EXPECT_EQ(r.control->md5sums, md5sums);
  EXPECT_EQ(r.control->conffiles, "/etc/bonsai-test.conf\n");
  EXPECT_EQ(keys(*r.control), (std::vector<std::string>{"conffiles", "control", "md5sums",
                                                        "postinst", "prerm", "triggers"}));
  EXPECT_EQ(r.control->members.at("postinst").data, "#!/bin/sh\nset -e\necho configured\n");
  EXPECT_EQ(r.control->members.at("postinst").mode, 0755u);
  EXPECT_EQ(r.control->members.at("triggers").mode, 0644u);
  EXPECT_EQ(r.control->members.at("control").data, kControl);

  // Data: what dpkg-deb lists, entry for entry, and the bodies.
  EXPECT_EQ(our_listing(r), dpkg_listing(deb));
  auto* hello = r.find("usr/bin/hello");
  ASSERT_NE(hello, nullptr);
  EXPECT_EQ(hello->second, "#!/bin/sh\necho hello\n");
  EXPECT_EQ(hello->first.mode, 0755u);
  auto* again = r.find("usr/bin/hello-again");
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->first.type, EntryType::kHardLink);
  EXPECT_EQ(again->first.link_target, "usr/bin/hello");
  auto* hi = r.find("usr/bin/hi");
  ASSERT_NE(hi, nullptr);
  EXPECT_EQ(hi->first.type, EntryType::kSymlink);
  EXPECT_EQ(hi->first.link_target, "hello");
  auto* dir = r.find("var/lib/bonsai-test");
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(dir->first.type, EntryType::kDirectory);
  EXPECT_EQ(dir->first.mode, 0750u);
  EXPECT_EQ(r.find("usr/share/doc/bonsai-test/README")->first.mode, 04755u);
  EXPECT_EQ(r.find("usr/share/doc/bonsai-test/blob")->second, run_ok("seq 1 60000"));
  EXPECT_EQ(r.find("etc/bonsai-test.conf")->second, "setting=1\n");
  ASSERT_NE(r.find(""), nullptr);  // the root "./"
  for (const auto& [e, _] : r.entries) EXPECT_EQ(e.uid, 0u) << e.path;
}

TEST_F(BuiltDeb, ReadsEveryCompressionDpkgDebWrites) {
  for (std::string z : {"xz", "gzip", "zstd", "none"}) {
    SCOPED_TRACE(z);
    std::string deb = build(z);
    auto members = ar_members(archive::testing::read_file(deb));
    ASSERT_EQ(members.size(), 3u);
    const std::string ext = z == "xz" ? ".xz" : z == "gzip" ? ".gz" : z == "zstd" ? ".zst" : "";
    EXPECT_EQ(members[1].first, "control.tar" + ext);
    EXPECT_EQ(members[2].first, "data.tar" + ext);
    expect_package_read(deb, md5sums_);
  }
}

TEST_F(BuiltDeb, ReadsDataTarBz2AsDpkgDoes) {
  // dpkg-deb reads bzip2 members but no longer writes them: recompress an uncompressed one.
  auto members = ar_members(archive::testing::read_file(build("none")));
  ASSERT_EQ(members.size(), 3u);
  archive::testing::write_file(dir_.file("data.tar"), members[2].second);
  members[2] = {"data.tar.bz2", run_ok("bzip2 -c < " + dir_.file("data.tar"))};
  std::string deb = dir_.file("bz2.deb");
  archive::testing::write_file(deb, ar_archive(members));
  expect_package_read(deb, md5sums_);
}

TEST_F(BuiltDeb, SkipsUnderscoreMembersAndIgnoresWhatFollowsData) {
  auto members = ar_members(archive::testing::read_file(build("xz")));
  ASSERT_EQ(members.size(), 3u);
  members.insert(members.begin() + 1, {"_gpgorigin", "signature"});
  members.insert(members.begin() + 3, {"_extra", "x"});
  members.push_back({"trailing-member", "ignored"});
  Recorder r;
  auto st = read_bytes(ar_archive(members), r);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_NE(r.find("usr/bin/hello"), nullptr);
}

TEST_F(BuiltDeb, TruncatedPackagesAreCorrupt) {
  std::string deb = archive::testing::read_file(build("xz"));
  // Cut in the ar magic, a header, debian-binary, control.tar, data.tar and its last byte.
  for (size_t cut : {size_t{4}, size_t{30}, size_t{70}, size_t{200}, deb.size() / 2,
                     deb.size() - 100, deb.size() - 1}) {
    SCOPED_TRACE(cut);
    util::Error e = error_of(std::string_view(deb).substr(0, cut));
    EXPECT_EQ(e.kind(), ErrorKind::kCorrupt) << e.message();
    EXPECT_TRUE(e.message().starts_with("t.deb: ")) << e.message();
  }
  util::Error e = error_of(std::string_view(deb).substr(0, deb.size() / 2));
  EXPECT_TRUE(e.message().starts_with("t.deb: data.tar.xz: ")) << e.message();
}

TEST_F(BuiltDeb, TamperedMembersAreCorrupt) {
  auto members = ar_members(archive::testing::read_file(build("xz")));
  ASSERT_EQ(members.size(), 3u);
  // A flipped byte inside data.tar.xz's compressed blocks.
  auto flipped = members;
  flipped[2].second[flipped[2].second.size() / 2] ^= 0x20;
  util::Error e = error_of(ar_archive(flipped));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_TRUE(e.message().starts_with("t.deb: data.tar.xz: ")) << e.message();
  // A flipped byte in control.tar.xz.
  flipped = members;
  flipped[1].second[flipped[1].second.size() / 2] ^= 0x20;
  e = error_of(ar_archive(flipped));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_TRUE(e.message().starts_with("t.deb: control.tar.xz: ")) << e.message();
  // Content that does not match the name's compression.
  auto renamed = members;
  renamed[2].first = "data.tar.gz";
  e = error_of(ar_archive(renamed));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(),
            "t.deb: data.tar.gz: the content is xz-compressed, but the name says gzip-compressed");
}

TEST_F(BuiltDeb, MembersOutOfOrderOrMissingAreCorrupt) {
  auto m = ar_members(archive::testing::read_file(build("gzip")));
  ASSERT_EQ(m.size(), 3u);
  util::Error e = error_of(ar_archive({m[1], m[0], m[2]}));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(),
            "t.deb: not a Debian package: the first member is \"control.tar.gz\", not "
            "debian-binary");
  e = error_of(ar_archive({m[0], m[2], m[1]}));
  EXPECT_EQ(e.message(),
            "t.deb: expected control.tar after debian-binary, found member \"data.tar.gz\"");
  e = error_of(ar_archive({m[0], m[1]}));
  EXPECT_EQ(e.message(), "t.deb: no data.tar member after control.tar.gz");
  e = error_of(ar_archive({}));
  EXPECT_EQ(e.message(), "t.deb: not a Debian package: an empty ar archive");
  e = error_of("PK\x03\x04 a zip file");
  EXPECT_EQ(e.message(), "t.deb: not an ar archive: bad magic");
}

TEST_F(BuiltDeb, FormatVersionMustBeTwo) {
  auto m = ar_members(archive::testing::read_file(build("gzip")));
  ASSERT_EQ(m.size(), 3u);
  for (std::string ok : {"2.0\n", "2.1\n", "2.0\nanything after the first line"}) {
    m[0].second = ok;
    Recorder r;
    EXPECT_TRUE(read_bytes(ar_archive(m), r)) << ok;
  }
  m[0].second = "3.0\n";
  util::Error e = error_of(ar_archive(m));
  EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(e.message(), "t.deb: debian-binary: format version 3.0 is not supported (2.x is)");
  for (std::string bad : {"2.0", "2\n", "two\n", "", "2.0 \n", "0.939000\n x"}) {
    m[0].second = bad;
    e = error_of(ar_archive(m));
    EXPECT_EQ(e.kind(), bad.starts_with("0.") ? ErrorKind::kUnsupported : ErrorKind::kCorrupt)
        << bad;
    EXPECT_TRUE(e.message().starts_with("t.deb: debian-binary: ")) << e.message();
  }
}

TEST_F(BuiltDeb, UnsupportedCompressionsAreNamed) {
  auto m = ar_members(archive::testing::read_file(build("none")));
  ASSERT_EQ(m.size(), 3u);
  auto lzma = m;
  lzma[2].first = "data.tar.lzma";
  util::Error e = error_of(ar_archive(lzma));
  EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(e.message(), "t.deb: data.tar.lzma: \"lzma\" compression is not supported");
  auto bz2_control = m;
  bz2_control[1].first = "control.tar.bz2";  // dpkg allows bzip2 for data.tar only
  e = error_of(ar_archive(bz2_control));
  EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
  auto odd = m;
  odd[2].first = "data.tarball";
  e = error_of(ar_archive(odd));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
}

// Packages assembled by hand around a control.tar.
std::string deb_with_control(const std::vector<std::pair<TarEntry, std::string>>& control) {
  return ar_archive(
      {{"debian-binary", "2.0\n"}, {"control.tar", tar_of(control)}, {"data.tar", tar_of({})}});
}

TEST(ReadDeb, ControlTarHoldsOnlyTopLevelRegularFiles) {
  TarEntry root;
  root.type = EntryType::kDirectory;
  const std::string control = "Package: x\n";
  auto ok = deb_with_control({{root, ""}, {file_entry("control", control.size()), control}});
  Recorder r;
  ASSERT_TRUE(read_bytes(ok, r));
  EXPECT_EQ(r.control->control, control);
  EXPECT_TRUE(r.entries.empty());

  util::Error e = error_of(deb_with_control({{file_entry("md5sums", 0), ""}}));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(), "t.deb: control.tar: no control file");

  e = error_of(deb_with_control(
      {{file_entry("control", control.size()), control}, {file_entry("sub/x", 1), "x"}}));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(e.message(),
            "t.deb: control.tar: tar entry 1 (sub/x): not a regular file at the top of "
            "control.tar");

  e = error_of(deb_with_control(
      {{file_entry("control", control.size()), control}, {file_entry("control", 1), "x"}}));
  EXPECT_EQ(e.kind(), ErrorKind::kCorrupt);
  EXPECT_NE(e.message().find("a second file of that name"), std::string::npos) << e.message();

  TarEntry link;
  link.path = "postinst";
  link.type = EntryType::kSymlink;
  link.link_target = "/etc/passwd";
  e = error_of(deb_with_control({{file_entry("control", control.size()), control}, {link, ""}}));
  EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
}

TEST(ReadDeb, ControlTarIsLimited) {
  const std::string control = "Package: x\n";
  const std::string big(200000, 'a');
  std::string deb = deb_with_control({{file_entry("control", control.size()), control},
                                      {file_entry("templates", big.size()), big}});
  util::Error e = error_of(deb, {.max_control = 100000});
  EXPECT_EQ(e.kind(), ErrorKind::kLimit);
  EXPECT_TRUE(e.message().starts_with("t.deb: control.tar: ")) << e.message();
  Recorder r;
  ASSERT_TRUE(read_bytes(deb, r));
  EXPECT_EQ(r.control->members.at("templates").data, big);
}

TEST(ReadDeb, VisitorErrorsStopReadingAndNameTheMember) {
  class Failing final : public DebVisitor {
   public:
    Status on_control(DebControl&&) override { return {}; }
    Status on_data_entry(const TarEntry& e, util::Reader&) override {
      ++calls;
      return util::fail(ErrorKind::kIo, "write " + e.path + ": disk full");
    }
    int calls = 0;
  };
  const std::string control = "Package: x\n";
  std::string deb =
      ar_archive({{"debian-binary", "2.0\n"},
                  {"control.tar", tar_of({{file_entry("control", control.size()), control}})},
                  {"data.tar", tar_of({{file_entry("a", 1), "a"}, {file_entry("b", 1), "b"}})}});
  util::StringReader in(deb);
  Failing v;
  auto st = read_deb(in, "x.deb", v);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind(), ErrorKind::kIo);
  EXPECT_EQ(st.error().message(), "x.deb: data.tar: write a: disk full");
  EXPECT_EQ(v.calls, 1);
}

// --- the packages in apt's cache, against dpkg-deb ---

std::string md5_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr), 1);
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    static const char kHex[] = "0123456789abcdef";
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

// "control.tar.xz data.tar.xz" from the ar headers alone, without reading the members.
std::string member_layout(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::string names;
  uint64_t at = 8;
  for (int i = 0; i < 3 && f; ++i) {
    char h[60];
    f.seekg(static_cast<std::streamoff>(at));
    if (!f.read(h, sizeof h)) break;
    std::string name(h, 16);
    name.erase(name.find_last_not_of(" /") + 1);
    if (i > 0) names += (names.empty() ? "" : " ") + name;
    at += 60 + std::strtoull(std::string(h + 48, 10).c_str(), nullptr, 10);
    at += at % 2;
  }
  return names;
}

// Up to two packages per member layout, the first by name under 4 MiB, at most six in all.
std::vector<std::string> cached_packages() {
  std::vector<std::string> all;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/var/cache/apt/archives", ec)) {
    if (e.path().extension() == ".deb" && e.is_regular_file() && e.file_size() < (4u << 20))
      all.push_back(e.path().string());
  }
  std::sort(all.begin(), all.end());
  std::map<std::string, int> per_layout;
  std::vector<std::string> picked;
  for (const std::string& p : all) {
    if (picked.size() == 6) break;
    if (per_layout[member_layout(p)]++ < 2) picked.push_back(p);
  }
  return picked;
}

TEST(ReadDeb, ReadsPackagesFromAptsCacheAsDpkgDebDoes) {
  std::vector<std::string> debs = cached_packages();
  if (debs.empty()) GTEST_SKIP() << "no .deb under 4 MiB in /var/cache/apt/archives";
  for (const std::string& deb : debs) {
    SCOPED_TRACE(deb + " (" + member_layout(deb) + ")");
    std::string bytes = archive::testing::read_file(deb);
    Recorder r;
    util::StringReader in(bytes);
    auto st = read_deb(in, deb, r);
    ASSERT_TRUE(st) << st.error().message();
    ASSERT_TRUE(r.control);
    EXPECT_EQ(r.control->control, run_ok("dpkg-deb -I " + shell_quote(deb) + " control"));
    EXPECT_EQ(keys(*r.control), dpkg_control_members(deb));
    if (r.control->members.contains("md5sums")) {
      EXPECT_EQ(r.control->md5sums, run_ok("dpkg-deb -I " + shell_quote(deb) + " md5sums"));
    }
    EXPECT_EQ(our_listing(r), dpkg_listing(deb));
    // Bodies: every regular file's bytes against md5sums, when the package has them.
    size_t checked = 0;
    std::istringstream sums(r.control->md5sums);
    for (std::string line; std::getline(sums, line);) {
      if (line.size() < 35) continue;
      auto* f = r.find(line.substr(34));
      if (!f || f->first.type != EntryType::kFile) continue;
      EXPECT_EQ(md5_hex(f->second), line.substr(0, 32)) << f->first.path;
      ++checked;
    }
    if (!r.control->md5sums.empty()) {
      EXPECT_GT(checked, 0u);
    }
  }
}

}  // namespace
}  // namespace bonsai::debian
