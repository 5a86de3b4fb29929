#include "archive/tar.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "archive/tar_format.h"
#include "sys/fd.h"

namespace bonsai::archive {
namespace {

using util::ErrorKind;

struct Item {
  TarEntry entry;
  std::string body;
};

std::string write_tar(const std::vector<Item>& items, TarWriterOptions options = {}) {
  util::StringWriter out;
  TarWriter w(out, options);
  for (const Item& it : items) {
    auto added = w.add(it.entry);
    EXPECT_TRUE(added) << added.error().message();
    if (!it.body.empty()) {
      EXPECT_TRUE(w.write_body(it.body));
    }
  }
  EXPECT_TRUE(w.finish());
  return out.str();
}

std::vector<Item> read_tar(std::string_view data, TarLimits limits = {}) {
  util::StringReader in(data);
  TarReader r(in, limits);
  std::vector<Item> items;
  for (;;) {
    auto e = r.next();
    EXPECT_TRUE(e) << e.error().message();
    if (!e || !*e) break;
    auto body = util::read_all(r.body(), 1 << 20);
    EXPECT_TRUE(body) << body.error().message();
    items.push_back({**e, body ? *body : ""});
  }
  return items;
}

// The error of the first failing next() or body read.
util::Error read_error(std::string_view data, TarLimits limits = {}) {
  util::StringReader in(data);
  TarReader r(in, limits);
  for (;;) {
    auto e = r.next();
    if (!e) return e.error();
    if (!*e) return util::Error(ErrorKind::kInternal, "no error");
    auto body = util::read_all(r.body(), 1 << 20);
    if (!body) return body.error();
  }
}

TarEntry file(std::string path, uint64_t size) {
  TarEntry e;
  e.path = std::move(path);
  e.size = size;
  e.mtime_sec = 1700000000;
  return e;
}

std::string fixture(const std::string& name) {
  auto data = sys::read_file(std::string(BONSAI_SOURCE_DIR) + "/tests/data/archive/" + name);
  EXPECT_TRUE(data) << name;
  return data ? *data : "";
}

TEST(NormalizePath, FollowsTheHeaderRules) {
  EXPECT_EQ(normalize_path("./"), "");
  EXPECT_EQ(normalize_path("/"), "");
  EXPECT_EQ(normalize_path("."), "");
  EXPECT_EQ(normalize_path("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(normalize_path("/etc/passwd"), "etc/passwd");
  EXPECT_EQ(normalize_path("a/../b"), "a/../b");
  EXPECT_EQ(normalize_path("../x"), "../x");
  EXPECT_EQ(normalize_path("usr/bin/"), "usr/bin");
}

TEST(TarRoundTrip, KeepsEveryEntryType) {
  std::vector<Item> items;
  TarEntry root;
  root.path = "";
  root.type = EntryType::kDirectory;
  root.mode = 0755;
  items.push_back({root, ""});
  TarEntry dir = root;
  dir.path = "etc";
  dir.mode = 01777;
  dir.uid = 1000;
  dir.gid = 1001;
  items.push_back({dir, ""});
  TarEntry f = file("etc/hosts", 5);
  f.mode = 04755;
  items.push_back({f, "hello"});
  TarEntry empty = file("etc/empty", 0);
  items.push_back({empty, ""});
  TarEntry hard;
  hard.path = "etc/hosts2";
  hard.type = EntryType::kHardLink;
  hard.link_target = "etc/hosts";
  items.push_back({hard, ""});
  TarEntry sym;
  sym.path = "etc/localtime";
  sym.type = EntryType::kSymlink;
  sym.mode = 0777;
  sym.link_target = "../usr/share/zoneinfo/UTC";
  items.push_back({sym, ""});
  TarEntry chr;
  chr.path = "dev/null";
  chr.type = EntryType::kCharDevice;
  chr.dev_major = 1;
  chr.dev_minor = 3;
  items.push_back({chr, ""});
  TarEntry blk = chr;
  blk.path = "dev/sda";
  blk.type = EntryType::kBlockDevice;
  blk.dev_major = 8;
  blk.dev_minor = 0;
  items.push_back({blk, ""});
  TarEntry fifo;
  fifo.path = "run/fifo";
  fifo.type = EntryType::kFifo;
  items.push_back({fifo, ""});

  std::string data = write_tar(items);
  EXPECT_EQ(data.size() % 512, 0u);
  std::vector<Item> got = read_tar(data);
  ASSERT_EQ(got.size(), items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const TarEntry& want = items[i].entry;
    const TarEntry& e = got[i].entry;
    SCOPED_TRACE(want.path);
    EXPECT_EQ(e.path, want.path);
    EXPECT_EQ(e.type, want.type);
    EXPECT_EQ(e.mode, want.mode);
    EXPECT_EQ(e.uid, want.uid);
    EXPECT_EQ(e.gid, want.gid);
    EXPECT_EQ(e.size, want.size);
    EXPECT_EQ(e.mtime_sec, want.mtime_sec);
    EXPECT_EQ(e.link_target, want.link_target);
    EXPECT_EQ(e.dev_major, want.dev_major);
    EXPECT_EQ(e.dev_minor, want.dev_minor);
    EXPECT_EQ(got[i].body, items[i].body);
    EXPECT_TRUE(e.uname.empty());
  }
}

TEST(TarWriter, SplitsPathsUpTo255BytesIntoUstarPrefix) {
  std::string path = std::string(120, 'a') + "/" + std::string(90, 'b');
  std::string data = write_tar({{file(path, 1), "x"}});
  EXPECT_EQ(data.size(), 512u * 4);  // header, body, two zero blocks: no PAX header
  auto got = read_tar(data);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.path, path);
}

TEST(TarWriter, LongNameUsesPaxHeader) {
  std::string path = "usr/" + std::string(300, 'n');
  std::string link(200, 'l');
  TarEntry sym;
  sym.path = path + "-link";
  sym.type = EntryType::kSymlink;
  sym.link_target = link;
  std::string data = write_tar({{file(path, 3), "abc"}, {sym, ""}});
  EXPECT_EQ(data[156], 'x');
  EXPECT_NE(data.find("path=" + path + "\n"), std::string::npos);
  EXPECT_NE(data.find("linkpath=" + link + "\n"), std::string::npos);
  auto got = read_tar(data);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].entry.path, path);
  EXPECT_EQ(got[0].body, "abc");
  EXPECT_EQ(got[1].entry.path, path + "-link");
  EXPECT_EQ(got[1].entry.link_target, link);
}

TEST(TarWriter, PaxRecordLengthCountsItsOwnDigits) {
  // A record whose length crosses a power of ten when its own digits are added.
  for (size_t n = 80; n < 120; ++n) {
    std::string path(n, 'p');
    path += "/" + std::string(150, 'q');
    auto got = read_tar(write_tar({{file(path, 0), ""}}));
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].entry.path, path);
  }
}

TEST(TarWriter, XattrsRoundTripThroughPaxSchilyRecords) {
  TarEntry f = file("bin/ping", 0);
  f.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x20\x00\x00", 8);
  f.xattrs["user.note"] = "a=b\nc";
  std::string data = write_tar({{f, ""}});
  EXPECT_NE(data.find("SCHILY.xattr.security.capability="), std::string::npos);
  auto got = read_tar(data);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.xattrs, f.xattrs);
}

TEST(TarWriter, LargeIdsUseBase256AndPax) {
  TarEntry f = file("big-ids", 0);
  f.uid = 3000000000u;
  f.gid = 2097152;  // one past the octal maximum of 7 digits
  std::string data = write_tar({{f, ""}});
  EXPECT_NE(data.find("uid=3000000000\n"), std::string::npos);
  auto got = read_tar(data);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.uid, 3000000000u);
  EXPECT_EQ(got[0].entry.gid, 2097152u);
}

TEST(TarWriter, NegativeMtimeRoundTrips) {
  TarEntry f = file("old", 0);
  f.mtime_sec = -86400;
  auto got = read_tar(write_tar({{f, ""}}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.mtime_sec, -86400);
}

TEST(TarWriter, DropsSubsecondMtimeUnlessAsked) {
  TarEntry f = file("t", 0);
  f.mtime_nsec = 250000000;
  std::string plain = write_tar({{f, ""}});
  EXPECT_EQ(plain.size(), 512u * 3);
  EXPECT_EQ(read_tar(plain)[0].entry.mtime_nsec, 0u);

  std::string kept = write_tar({{f, ""}}, {.keep_subsecond_mtime = true});
  EXPECT_NE(kept.find("mtime=1700000000.25\n"), std::string::npos);
  auto got = read_tar(kept);
  EXPECT_EQ(got[0].entry.mtime_sec, 1700000000);
  EXPECT_EQ(got[0].entry.mtime_nsec, 250000000u);
}

TEST(TarWriter, ClampsMtimesToSourceDateEpoch) {
  TarEntry newer = file("new", 0);
  newer.mtime_sec = 2000000000;
  TarEntry older = file("old", 0);
  older.mtime_sec = 1000;
  auto got = read_tar(write_tar({{newer, ""}, {older, ""}}, {.clamp_mtime = 1500000000}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].entry.mtime_sec, 1500000000);
  EXPECT_EQ(got[1].entry.mtime_sec, 1000);
}

TEST(TarWriter, SameEntriesGiveSameBytesAndNoOwnerNames) {
  TarEntry f = file("a/b", 3);
  f.uname = "root";
  f.gname = "wheel";
  f.xattrs["user.z"] = "1";
  f.xattrs["user.a"] = "2";
  std::string one = write_tar({{f, "abc"}});
  std::string two = write_tar({{f, "abc"}});
  EXPECT_EQ(one, two);
  EXPECT_EQ(one.find("root"), std::string::npos);
  EXPECT_EQ(one.find("wheel"), std::string::npos);
  EXPECT_LT(one.find("user.a"), one.find("user.z"));
}

TEST(TarWriter, RejectsMissingAndExcessBody) {
  util::StringWriter out;
  TarWriter w(out);
  ASSERT_TRUE(w.add(file("f", 4)));
  EXPECT_EQ(w.write_body("12345").error().kind(), ErrorKind::kInvalidArgument);
  ASSERT_TRUE(w.write_body("12"));
  auto r = w.add(file("g", 0));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.error().message().find("(f)"), std::string::npos) << r.error().message();
  EXPECT_FALSE(w.finish());
}

TEST(TarWriter, RejectsAnEmptyPathForAFileAndAnEmptyHardLink) {
  util::StringWriter out;
  TarWriter w(out);
  EXPECT_FALSE(w.add(file("./", 0)));
  TarEntry link;
  link.path = "l";
  link.type = EntryType::kHardLink;
  EXPECT_FALSE(w.add(link));
}

TEST(TarWriter, OutputIsReadByGnuTar) {
  auto dir = std::filesystem::temp_directory_path() / ("bonsai-tar-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string long_path = "d/" + std::string(200, 'x');
  TarEntry d;
  d.path = "d";
  d.type = EntryType::kDirectory;
  d.mode = 0755;
  TarEntry sym;
  sym.path = "d/link";
  sym.type = EntryType::kSymlink;
  sym.link_target = long_path.substr(2);
  std::string data = write_tar({{d, ""}, {file(long_path, 6), "gnutar"}, {sym, ""}});
  auto tar_path = (dir / "out.tar").string();
  ASSERT_TRUE(sys::write_file_atomic(tar_path, data));
  std::string cmd = "tar -xf " + tar_path + " -C " + dir.string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto body = sys::read_file((dir / "d" / "link").string());
  ASSERT_TRUE(body);
  EXPECT_EQ(*body, "gnutar");
  std::filesystem::remove_all(dir);
}

TEST(TarReader, ReadsGnuLongNamesAndLinksFromGnuTar) {
  auto got = read_tar(fixture("gnu-longnames.tar"));
  const std::string long_path =
      std::string(60, 'd') + "/" + std::string(60, 'e') + "/" + std::string(70, 'f');
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[0].entry.path, "");
  EXPECT_EQ(got[0].entry.type, EntryType::kDirectory);
  EXPECT_EQ(got[3].entry.path, long_path);
  EXPECT_EQ(got[3].body, "hello long\n");
  EXPECT_EQ(got[3].entry.mtime_sec, 1700000000);
  EXPECT_EQ(got[5].entry.path, "hardlong");
  EXPECT_EQ(got[5].entry.type, EntryType::kHardLink);
  EXPECT_EQ(got[5].entry.link_target, long_path);
  EXPECT_EQ(got[6].entry.type, EntryType::kSymlink);
  EXPECT_EQ(got[6].entry.link_target, "/" + std::string(150, 't'));
  EXPECT_EQ(got[7].entry.path, "small");
  EXPECT_EQ(got[7].body, "x");
}

TEST(TarReader, ReadsGnuTarPaxArchives) {
  auto got = read_tar(fixture("gnu-tar-pax.tar"));
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[3].entry.path.size(), 60u + 1 + 60 + 1 + 70);
  EXPECT_EQ(got[3].body, "hello long\n");
  EXPECT_EQ(got[6].entry.link_target, "/" + std::string(150, 't'));
  EXPECT_EQ(got[7].entry.path, "small");
  EXPECT_EQ(got[7].body, "x");
}

TEST(TarReader, ReadsV7Archives) {
  auto got = read_tar(fixture("v7.tar"));
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].entry.type, EntryType::kDirectory);
  EXPECT_EQ(got[1].entry.path, "a");
  EXPECT_EQ(got[1].entry.type, EntryType::kDirectory);
  EXPECT_EQ(got[2].entry.path, "a/file");
  EXPECT_EQ(got[2].body, "v7 body\n");
  EXPECT_EQ(got[3].entry.type, EntryType::kSymlink);
  EXPECT_EQ(got[3].entry.link_target, "file");
}

// Rewrites a numeric field of the first header and fixes its checksum.
void patch_field(std::string& data, tar_format::Field f, std::string_view bytes) {
  data.replace(f.offset, f.size, bytes);
  data.replace(tar_format::kChecksum.offset, 8, 8, ' ');
  auto sum = tar_format::checksums(data.data()).unsigned_sum;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%06o", static_cast<unsigned>(sum));
  data.replace(tar_format::kChecksum.offset, 7, std::string(buf, 6) + '\0');
}

TEST(TarReader, ReadsBase256Numbers) {
  std::string data = write_tar({{file("b256", 5), "12345"}});
  patch_field(data, tar_format::kSize, std::string("\x80\0\0\0\0\0\0\0\0\0\0\x05", 12));
  patch_field(data, tar_format::kUid, std::string("\x80\0\0\0\xb2\xd0\x5e\x00", 8));
  patch_field(data, tar_format::kMtime, std::string(12, '\xff'));
  auto got = read_tar(data);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.size, 5u);
  EXPECT_EQ(got[0].body, "12345");
  EXPECT_EQ(got[0].entry.uid, 3000000000u);
  EXPECT_EQ(got[0].entry.mtime_sec, -1);
}

TEST(TarFormat, ParsesOctalAndBase256Fields) {
  using tar_format::parse_number;
  EXPECT_EQ(parse_number(std::string_view("0000644\0", 8)), 0644);
  EXPECT_EQ(parse_number("  644 "), 0644);
  EXPECT_EQ(parse_number(std::string(8, '\0')), 0);
  EXPECT_EQ(parse_number(std::string("\x80\0\0\0\0\0\0\x01\0\0\0\0", 12)), int64_t{1} << 32);
  EXPECT_EQ(parse_number(std::string("\xff\xff\xff\xff\xff\xff\xff\xfe", 8)), -2);
  EXPECT_FALSE(parse_number("12x4"));
  EXPECT_FALSE(parse_number(std::string("\x80\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 12)));
}

TEST(TarReader, RootAndDotEntriesAreNormalised) {
  TarEntry root;
  root.path = "./";
  root.type = EntryType::kDirectory;
  TarEntry f = file("./usr//bin/./env", 0);
  auto got = read_tar(write_tar({{root, ""}, {f, ""}}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].entry.path, "");
  EXPECT_EQ(got[1].entry.path, "usr/bin/env");
}

TEST(TarReader, KeepsDotDotComponentsForTheCallerToReject) {
  std::string data = write_tar({{file("a/../../etc/shadow", 0), ""}});
  EXPECT_EQ(read_tar(data)[0].entry.path, "a/../../etc/shadow");
}

TEST(TarReader, SkipsUnreadBodies) {
  std::string data = write_tar({{file("a", 700), std::string(700, 'a')}, {file("b", 2), "bb"}});
  util::StringReader in(data);
  TarReader r(in);
  ASSERT_TRUE(r.next().value());
  auto b = r.next();
  ASSERT_TRUE(b && *b);
  EXPECT_EQ((*b)->path, "b");
  EXPECT_EQ(r.index(), 1u);
  EXPECT_EQ(util::read_all(r.body(), 100).value(), "bb");
  EXPECT_FALSE(r.next().value());
  EXPECT_FALSE(r.next().value());
}

TEST(TarReader, ToleratesMissingEndBlocksAndTrailingGarbage) {
  std::string data = write_tar({{file("a", 1), "a"}});
  auto no_end = read_tar(data.substr(0, 1024));
  ASSERT_EQ(no_end.size(), 1u);
  EXPECT_EQ(no_end[0].body, "a");
  auto garbage = read_tar(data + std::string(1000, '\x42'));
  EXPECT_EQ(garbage.size(), 1u);
  auto one_zero_block = read_tar(data.substr(0, 1536) + "junk");
  EXPECT_EQ(one_zero_block.size(), 1u);
}

TEST(TarReader, TruncatedBodyNamesTheEntry) {
  std::string data =
      write_tar({{file("x", 0), ""}, {file("etc/big", 2000), std::string(2000, 'z')}});
  util::Error err = read_error(data.substr(0, 512 + 512 + 1000));
  EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
  EXPECT_NE(err.message().find("tar entry 1 (etc/big)"), std::string::npos) << err.message();
  EXPECT_NE(err.message().find("truncated"), std::string::npos) << err.message();
}

TEST(TarReader, TruncatedHeaderIsCorrupt) {
  std::string data = write_tar({{file("a", 0), ""}, {file("b", 0), ""}});
  util::Error err = read_error(data.substr(0, 512 + 100));
  EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
  EXPECT_NE(err.message().find("tar entry 1: truncated header"), std::string::npos)
      << err.message();
}

TEST(TarReader, BadChecksumIsCorrupt) {
  std::string data = write_tar({{file("a", 0), ""}});
  data[0] = 'b';
  util::Error err = read_error(data);
  EXPECT_EQ(err.kind(), ErrorKind::kCorrupt);
  EXPECT_NE(err.message().find("checksum"), std::string::npos);
}

TEST(TarReader, HugePaxHeaderHitsTheLimitBeforeReadingIt) {
  TarEntry f = file("a", 0);
  f.xattrs["user.big"] = std::string(3000, 'v');
  std::string data = write_tar({{f, ""}});
  util::Error err = read_error(data, {.max_pax_header = 1024});
  EXPECT_EQ(err.kind(), ErrorKind::kLimit);
  EXPECT_NE(err.message().find("PAX header of 3"), std::string::npos) << err.message();

  // A header claiming 1 TiB: refused from its size field alone.
  patch_field(data, tar_format::kSize, std::string("20000000000\0", 12));
  err = read_error(data);
  EXPECT_EQ(err.kind(), ErrorKind::kLimit);
}

TEST(TarReader, LongGnuNameAndLongPathHitLimits) {
  util::Error err = read_error(fixture("gnu-longnames.tar"), {.max_long_name = 100});
  EXPECT_EQ(err.kind(), ErrorKind::kLimit);
  EXPECT_NE(err.message().find("GNU long name"), std::string::npos);
  err = read_error(write_tar({{file(std::string(300, 'p'), 0), ""}}), {.max_path = 200});
  EXPECT_EQ(err.kind(), ErrorKind::kLimit);
}

TEST(TarReader, RejectsSparseFiles) {
  std::string data = write_tar({{file("s", 0), ""}});
  patch_field(data, tar_format::kTypeflag, "S");
  EXPECT_EQ(read_error(data).kind(), ErrorKind::kUnsupported);
}

TEST(TarReader, AppliesGlobalPaxRecords) {
  // A 'g' header setting uid for every following entry, then an entry overriding it.
  std::string records = "12 uid=4242\n";
  std::string g = write_tar({{file("g", records.size()), records}});
  g.resize(1024);
  patch_field(g, tar_format::kTypeflag, "g");
  std::string rest = write_tar({{file("a", 0), ""}});
  auto got = read_tar(g + rest);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.path, "a");
  EXPECT_EQ(got[0].entry.uid, 4242u);
}

TEST(TarReader, MutatedArchivesFailCleanlyOrParse) {
  // Random byte flips in headers, PAX records and bodies: every outcome must be an entry list or
  // an Error (run under ASan/UBSan in CI to catch anything worse).
  TarEntry f = file("usr/" + std::string(150, 'n'), 700);
  f.xattrs["user.x"] = "y";
  TarEntry sym;
  sym.path = "l";
  sym.type = EntryType::kSymlink;
  sym.link_target = std::string(120, 't');
  const std::string base = write_tar({{f, std::string(700, 'b')}, {sym, ""}});
  uint32_t seed = 12345;
  auto rnd = [&seed] { return (seed = seed * 1103515245u + 12345u) >> 8; };
  int parsed = 0, failed = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string data = base;
    for (int flips = 1 + static_cast<int>(rnd() % 4); flips > 0; --flips) {
      data[rnd() % 2048] = static_cast<char>(rnd());
    }
    util::StringReader in(data);
    TarReader r(in, {.max_pax_header = 4096});
    for (;;) {
      auto e = r.next();
      if (!e) {
        ++failed;
        EXPECT_NE(e.error().message().find("tar entry"), std::string::npos);
        break;
      }
      if (!*e) {
        ++parsed;
        break;
      }
      if (!util::read_all(r.body(), 1 << 20)) {
        ++failed;
        break;
      }
    }
  }
  EXPECT_GT(failed, 0);
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace bonsai::archive
