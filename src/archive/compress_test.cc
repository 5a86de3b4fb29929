#include "archive/compress.h"

#include <gtest/gtest.h>

#include "archive/test_util.h"

namespace bonsai::archive {
namespace {

using testing::compressible;
using testing::run;
using testing::TempDir;
using util::ErrorKind;

std::string compress(Compression c, std::string_view data, CompressOptions o = {},
                     size_t chunk = 100000) {
  util::StringWriter out;
  auto w = compressing_writer(c, out, o);
  EXPECT_TRUE(w);
  for (size_t i = 0; i < data.size(); i += chunk) EXPECT_TRUE((*w)->write(data.substr(i, chunk)));
  EXPECT_TRUE((*w)->close());
  return out.str();
}

Result<std::string> decompress(Compression c, std::string_view data, DecompressLimits l = {}) {
  util::StringReader in(data);
  auto r = decompressing_reader(c, in, l);
  return util::read_all(*r, size_t{1} << 30);
}

TEST(Compression, DetectsByMagicBytes) {
  EXPECT_EQ(detect_compression("\x1f\x8b\x08\x00"), Compression::kGzip);
  EXPECT_EQ(detect_compression("\x28\xb5\x2f\xfd\x00"), Compression::kZstd);
  EXPECT_EQ(detect_compression("usr/"), Compression::kNone);
  EXPECT_EQ(detect_compression(""), Compression::kNone);
  EXPECT_EQ(unsupported_compression("\xfd"
                                    "7zXZ" +
                                    std::string(1, '\0')),
            "xz");
  EXPECT_EQ(unsupported_compression("BZh91AY"), "bzip2");
}

TEST(GzipWriter, ShardedOutputIsOneValidMultiMemberStream) {
  TempDir dir;
  std::string data = compressible(5 << 20);
  std::string gz = compress(Compression::kGzip, data, {.gzip_shard_size = 1 << 20});
  // Five shards, five members: count the member headers ISA-L writes.
  size_t members = 0;
  for (size_t p = gz.find("\x1f\x8b\x08"); p != std::string::npos;
       p = gz.find("\x1f\x8b\x08", p + 1))
    ++members;
  EXPECT_GE(members, 5u);
  testing::write_file(dir.file("a.gz"), gz);
  EXPECT_EQ(run("gzip -t " + dir.file("a.gz")).first, 0);
  auto [status, out] = run("gzip -dc " + dir.file("a.gz"));
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(out == data);
  EXPECT_EQ(decompress(Compression::kGzip, gz).value(), data);
}

TEST(GzipWriter, HighLevelIsSmallerThanGzip6) {
  // Real content rather than synthetic text: this test's own executable (code, data, DWARF).
  TempDir dir;
  std::string data = testing::read_file("/proc/self/exe");
  ASSERT_GT(data.size(), 1u << 20);
  std::string fast = compress(Compression::kGzip, data, {.gzip_level = GzipLevel::kFast});
  std::string high = compress(Compression::kGzip, data, {.gzip_level = GzipLevel::kHigh});
  testing::write_file(dir.file("d"), data);
  auto [status, gzip6] = run("gzip -6 -c " + dir.file("d"));
  ASSERT_EQ(status, 0);
  EXPECT_LT(high.size(), gzip6.size());
  EXPECT_LT(high.size(), fast.size());
  EXPECT_LT(fast.size(), gzip6.size() * 1.15);
  EXPECT_TRUE(decompress(Compression::kGzip, high).value() == data);
}

TEST(GzipWriter, OutputDoesNotDependOnThreadsOrWriteSizes) {
  std::string data = compressible(3 << 20, 3);
  CompressOptions one{.threads = 1, .gzip_shard_size = 512 << 10};
  CompressOptions two{.threads = 2, .gzip_shard_size = 512 << 10};
  EXPECT_EQ(compress(Compression::kGzip, data, one, 4096),
            compress(Compression::kGzip, data, two, 1 << 20));
  one.gzip_level = two.gzip_level = GzipLevel::kHigh;
  EXPECT_EQ(compress(Compression::kGzip, data, one, 777), compress(Compression::kGzip, data, two));
}

TEST(GzipWriter, EmptyInputIsAValidEmptyStream) {
  TempDir dir;
  std::string gz = compress(Compression::kGzip, "");
  ASSERT_FALSE(gz.empty());
  testing::write_file(dir.file("e.gz"), gz);
  EXPECT_EQ(run("gzip -t " + dir.file("e.gz")).first, 0);
  EXPECT_EQ(decompress(Compression::kGzip, gz).value(), "");
}

TEST(ZstdWriter, OutputPassesZstdTestAndIsDeterministic) {
  TempDir dir;
  std::string data = compressible(6 << 20, 5);
  std::string z1 = compress(Compression::kZstd, data, {.threads = 1});
  std::string z2 = compress(Compression::kZstd, data, {.threads = 2}, 1 << 20);
  EXPECT_EQ(z1, z2);
  testing::write_file(dir.file("a.zst"), z1);
  EXPECT_EQ(run("zstd -q -t " + dir.file("a.zst")).first, 0);
  auto [status, out] = run("zstd -q -dc " + dir.file("a.zst"));
  EXPECT_EQ(status, 0);
  EXPECT_TRUE(out == data);
  EXPECT_EQ(decompress(Compression::kZstd, z1).value(), data);
}

// Compresses with a command line tool and decompresses with bonsai.
void expect_reads_tool_output(const std::string& cmd, Compression c) {
  TempDir dir;
  std::string data = compressible(3 << 20, 11);
  testing::write_file(dir.file("in"), data);
  auto [status, packed] = run(cmd + " < " + dir.file("in"));
  ASSERT_EQ(status, 0) << cmd;
  auto got = decompress(c, packed);
  ASSERT_TRUE(got) << cmd << ": " << got.error().message();
  EXPECT_TRUE(*got == data) << cmd;
}

TEST(GzipReader, ReadsGzipPigzAndLibdeflateOutput) {
  expect_reads_tool_output("gzip -6 -c", Compression::kGzip);
  expect_reads_tool_output("gzip -1 -c", Compression::kGzip);
  expect_reads_tool_output("pigz -p2 -6 -c", Compression::kGzip);
  expect_reads_tool_output("pigz -p2 -i -c", Compression::kGzip);  // independent blocks
  expect_reads_tool_output("libdeflate-gzip -c", Compression::kGzip);
}

TEST(GzipReader, ReadsConcatenatedMembersAndZeroPadding) {
  std::string a = compressible(300000, 1), b = compressible(200000, 2);
  auto [s1, ga] = run("printf '%s' '" + std::string("hello ") + "' | gzip -c");
  ASSERT_EQ(s1, 0);
  std::string gz = ga + compress(Compression::kGzip, a) + compress(Compression::kGzip, b);
  EXPECT_EQ(decompress(Compression::kGzip, gz).value(), "hello " + a + b);
  EXPECT_EQ(decompress(Compression::kGzip, gz + std::string(1000, '\0')).value(), "hello " + a + b);
}

TEST(GzipReader, RejectsCorruptTruncatedAndTrailingGarbage) {
  std::string data = compressible(1 << 20);
  std::string gz = compress(Compression::kGzip, data);
  std::string bad_crc = gz;
  bad_crc[bad_crc.size() - 6] ^= 1;
  auto r = decompress(Compression::kGzip, bad_crc);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("CRC"), std::string::npos) << r.error().message();

  r = decompress(Compression::kGzip, gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("unexpected end"), std::string::npos) << r.error().message();

  r = decompress(Compression::kGzip, gz + "garbage");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("trailing garbage"), std::string::npos) << r.error().message();

  r = decompress(Compression::kGzip, "");
  EXPECT_FALSE(r);
}

TEST(ZstdReader, ReadsZstdCliOutputIncludingMultipleFrames) {
  expect_reads_tool_output("zstd -q -3 -c", Compression::kZstd);
  expect_reads_tool_output("zstd -q -19 -T2 -c", Compression::kZstd);
  std::string a = compressible(100000, 1), b = compressible(100000, 2);
  std::string two = compress(Compression::kZstd, a) + compress(Compression::kZstd, b);
  EXPECT_EQ(decompress(Compression::kZstd, two).value(), a + b);
}

TEST(ZstdReader, RejectsTruncatedAndCorruptStreams) {
  std::string z = compress(Compression::kZstd, compressible(1 << 20));
  auto r = decompress(Compression::kZstd, z.substr(0, z.size() - 10));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  std::string bad = z;
  bad[bad.size() - 2] ^= 0x55;  // the content checksum
  r = decompress(Compression::kZstd, bad);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_FALSE(decompress(Compression::kZstd, ""));
}

TEST(DecompressLimits, RatioLimitStopsABomb) {
  std::string zeros(64 << 20, '\0');
  for (Compression c : {Compression::kGzip, Compression::kZstd}) {
    std::string bomb = compress(c, zeros, {}, 1 << 20);
    ASSERT_LT(bomb.size(), zeros.size() / 500);
    auto r = decompress(c, bomb, {.max_ratio = 100, .ratio_min_output = 1 << 20});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), ErrorKind::kLimit);
    EXPECT_NE(r.error().message().find("ratio exceeds the limit of 100:1"), std::string::npos)
        << r.error().message();
    // Within the limits it decompresses.
    EXPECT_EQ(decompress(c, bomb, {.max_ratio = 1u << 30}).value().size(), zeros.size());
  }
}

TEST(DecompressLimits, MaxOutputStopsLongStreams) {
  std::string data = compressible(4 << 20);
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    auto r = decompress(c, compress(c, data), {.max_output = 1 << 20});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind(), ErrorKind::kLimit);
    EXPECT_NE(r.error().message().find("exceeds the limit of 1048576 bytes"), std::string::npos)
        << r.error().message();
  }
}

TEST(AutoDecompressReader, DetectsEachFormatAndRejectsXz) {
  std::string data = compressible(200000);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    std::string packed = compress(c, data);
    util::StringReader in(packed);
    auto r = AutoDecompressReader::open(in);
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)->compression(), c);
    EXPECT_EQ(util::read_all(**r, 1 << 20).value(), data);
  }
  const std::string xz_head(
      "\xfd"
      "7zXZ\0\0\0",
      8);
  util::StringReader xz(xz_head);
  auto r = AutoDecompressReader::open(xz);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnsupported);
  util::StringReader tiny("ab");
  auto t = AutoDecompressReader::open(tiny);
  ASSERT_TRUE(t);
  EXPECT_EQ(util::read_all(**t, 10).value(), "ab");
}

}  // namespace
}  // namespace bonsai::archive
