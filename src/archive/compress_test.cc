#include "archive/compress.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

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
  EXPECT_EQ(detect_compression(std::string("\xfd"
                                           "7zXZ\0\0",
                                           7)),
            Compression::kXz);
  EXPECT_EQ(detect_compression("BZh91AY"), Compression::kBzip2);
  EXPECT_EQ(detect_compression("BZh0"), Compression::kNone);
  EXPECT_EQ(detect_compression("\xfd"
                               "7zXZ"),
            Compression::kNone);  // the magic's last byte is NUL
  EXPECT_EQ(detect_compression("usr/"), Compression::kNone);
  EXPECT_EQ(detect_compression(""), Compression::kNone);
  EXPECT_EQ(unsupported_compression(std::string("\xfd"
                                                "7zXZ\0",
                                                6)),
            "");
  EXPECT_EQ(unsupported_compression("BZh91AY"), "");
  EXPECT_EQ(unsupported_compression("\x04\x22\x4d\x18"), "lz4");
  EXPECT_EQ(unsupported_compression("PK\x03\x04"), "zip");
  EXPECT_EQ(compression_name(Compression::kXz), "xz");
  EXPECT_EQ(compression_name(Compression::kBzip2), "bzip2");
}

TEST(Compression, XzAndBzip2AreReadButNotWritten) {
  for (Compression c : {Compression::kXz, Compression::kBzip2}) {
    util::StringWriter out;
    auto w = compressing_writer(c, out);
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().kind(), ErrorKind::kUnsupported);
    EXPECT_FALSE(is_layer_compression(c));
  }
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

// Runs a compressor CLI over data.
std::string tool_compress(const std::string& cmd, std::string_view data) {
  TempDir dir;
  testing::write_file(dir.file("in"), data);
  auto [status, packed] = run(cmd + " < " + dir.file("in"));
  EXPECT_EQ(status, 0) << cmd;
  return packed;
}

TEST(XzReader, ReadsXzCliOutput) {
  expect_reads_tool_output("xz -6 -c", Compression::kXz);
  expect_reads_tool_output("xz -0 -c", Compression::kXz);
  expect_reads_tool_output("xz -9 --check=sha256 -c", Compression::kXz);
  expect_reads_tool_output("xz --check=none -c", Compression::kXz);
  expect_reads_tool_output("xz -T2 --block-size=300000 -c", Compression::kXz);  // many blocks
  EXPECT_EQ(decompress(Compression::kXz, tool_compress("xz -c", "")).value(), "");
}

TEST(XzReader, ReadsConcatenatedStreamsAndStreamPadding) {
  std::string a = compressible(300000, 1), b = compressible(200000, 2);
  std::string xa = tool_compress("xz -c", a), xb = tool_compress("xz -1 -c", b);
  EXPECT_EQ(decompress(Compression::kXz, xa + xb).value(), a + b);
  // Stream padding: NUL bytes in multiples of four, between and after streams.
  std::string padded = xa + std::string(8, '\0') + xb + std::string(4, '\0');
  EXPECT_EQ(decompress(Compression::kXz, padded).value(), a + b);
  // xz itself agrees.
  TempDir dir;
  testing::write_file(dir.file("p.xz"), padded);
  EXPECT_EQ(run("xz -t " + dir.file("p.xz")).first, 0);
}

TEST(XzReader, RejectsCorruptTruncatedAndTrailingGarbage) {
  std::string data = compressible(1 << 20);
  std::string xz = tool_compress("xz -c", data);
  auto expect_corrupt = [&](std::string_view bytes, std::string_view why) -> std::string {
    auto r = decompress(Compression::kXz, bytes);
    EXPECT_FALSE(r) << why;
    if (r) return "";
    EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt) << why << ": " << r.error().message();
    EXPECT_TRUE(r.error().message().starts_with("xz: ")) << r.error().message();
    return r.error().message();
  };
  std::string truncated = expect_corrupt(xz.substr(0, xz.size() / 2), "truncated");
  EXPECT_NE(truncated.find("unexpected end"), std::string::npos) << truncated;
  expect_corrupt(xz.substr(0, xz.size() - 1), "last byte missing");
  std::string flipped = xz;
  flipped[xz.size() / 2] ^= 0x10;
  expect_corrupt(flipped, "flipped data bit");
  std::string bad_check = xz;
  bad_check[bad_check.size() - 40] ^= 1;  // in the index or the block's CRC-64
  expect_corrupt(bad_check, "bad check");
  expect_corrupt(xz + "garbage!", "trailing garbage");
  expect_corrupt(xz + std::string(3, '\0'), "padding not a multiple of four");
  expect_corrupt("", "empty");
  expect_corrupt(std::string("\xfd"
                             "7zXZ\0\0\0\0\0\0\0",
                             12),
                 "bad stream header");
}

TEST(XzReader, RefusesStreamsNeedingMoreMemoryThanTheLimit) {
  std::string data = compressible(100000);
  std::string xz = tool_compress("xz -9 -c", data);  // 64 MiB dictionary
  auto r = decompress(Compression::kXz, xz, {.max_xz_memory = 16 << 20});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kLimit);
  EXPECT_NE(r.error().message().find("over the limit of 16777216"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(decompress(Compression::kXz, xz).value(), data);  // the default 256 MiB is enough
}

TEST(Bzip2Reader, ReadsBzip2CliOutputAndConcatenatedStreams) {
  expect_reads_tool_output("bzip2 -9 -c", Compression::kBzip2);
  expect_reads_tool_output("bzip2 -1 -c", Compression::kBzip2);
  std::string a = compressible(300000, 1), b = compressible(200000, 2);
  std::string two = tool_compress("bzip2 -c", a) + tool_compress("bzip2 -c", b);
  EXPECT_EQ(decompress(Compression::kBzip2, two).value(), a + b);
  EXPECT_EQ(decompress(Compression::kBzip2, tool_compress("bzip2 -c", "")).value(), "");
}

TEST(Bzip2Reader, RejectsCorruptTruncatedAndTrailingGarbage) {
  std::string bz = tool_compress("bzip2 -c", compressible(1 << 20));
  for (auto [bytes, why] : std::vector<std::pair<std::string, std::string>>{
           {bz.substr(0, bz.size() / 2), "unexpected end"},
           {bz + "garbage", "trailing garbage"},
           {"", "unexpected end"},
           {std::string(bz).replace(bz.size() / 2, 1, 1, static_cast<char>(bz[bz.size() / 2] ^ 4)),
            "corrupt"}}) {
    auto r = decompress(Compression::kBzip2, bytes);
    ASSERT_FALSE(r) << why;
    EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt) << why;
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
  }
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
  // xz and bzip2 bombs, from their CLIs (bzip2's run-length stage makes zeros ~45000:1).
  for (auto [cmd, c] : {std::pair{"xz -c", Compression::kXz}, {"bzip2 -c", Compression::kBzip2}}) {
    std::string bomb = tool_compress(cmd, zeros);
    ASSERT_LT(bomb.size(), zeros.size() / 500) << cmd;
    auto r = decompress(c, bomb, {.max_ratio = 100, .ratio_min_output = 1 << 20});
    ASSERT_FALSE(r) << cmd;
    EXPECT_EQ(r.error().kind(), ErrorKind::kLimit) << cmd;
    EXPECT_NE(r.error().message().find("ratio exceeds the limit of 100:1"), std::string::npos)
        << r.error().message();
    EXPECT_EQ(decompress(c, bomb, {.max_ratio = 1u << 30}).value().size(), zeros.size()) << cmd;
  }
}

TEST(DecompressLimits, MaxOutputStopsLongStreams) {
  std::string data = compressible(4 << 20);
  std::vector<std::pair<Compression, std::string>> packed;
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone})
    packed.emplace_back(c, compress(c, data));
  packed.emplace_back(Compression::kXz, tool_compress("xz -1 -c", data));
  packed.emplace_back(Compression::kBzip2, tool_compress("bzip2 -1 -c", data));
  for (const auto& [c, bytes] : packed) {
    auto r = decompress(c, bytes, {.max_output = 1 << 20});
    ASSERT_FALSE(r) << compression_name(c);
    EXPECT_EQ(r.error().kind(), ErrorKind::kLimit);
    EXPECT_NE(r.error().message().find("exceeds the limit of 1048576 bytes"), std::string::npos)
        << r.error().message();
  }
}

TEST(AutoDecompressReader, DetectsEachFormat) {
  std::string data = compressible(200000);
  std::vector<std::pair<Compression, std::string>> packed;
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd})
    packed.emplace_back(c, compress(c, data));
  packed.emplace_back(Compression::kXz, tool_compress("xz -c", data));
  packed.emplace_back(Compression::kBzip2, tool_compress("bzip2 -c", data));
  for (const auto& [c, bytes] : packed) {
    util::StringReader in(bytes);
    auto r = AutoDecompressReader::open(in, {}, AcceptedCompressions::kAll);
    ASSERT_TRUE(r) << compression_name(c) << ": " << r.error().message();
    EXPECT_EQ((*r)->compression(), c);
    EXPECT_EQ(util::read_all(**r, 1 << 20).value(), data);
  }
  util::StringReader lz4("\x04\x22\x4d\x18rest");
  auto r = AutoDecompressReader::open(lz4, {}, AcceptedCompressions::kAll);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kUnsupported);
  util::StringReader tiny("ab");
  auto t = AutoDecompressReader::open(tiny);
  ASSERT_TRUE(t);
  EXPECT_EQ(util::read_all(**t, 10).value(), "ab");
}

TEST(AutoDecompressReader, LayersRefuseXzAndBzip2) {
  std::string data = compressible(1000);
  for (std::string cmd : {"xz -c", "bzip2 -c"}) {
    std::string bytes = tool_compress(cmd, data);
    util::StringReader in(bytes);
    auto r = AutoDecompressReader::open(in);  // AcceptedCompressions::kLayer
    ASSERT_FALSE(r) << cmd;
    EXPECT_EQ(r.error().kind(), ErrorKind::kUnsupported);
    EXPECT_NE(r.error().message().find("compressed layers are not supported"), std::string::npos)
        << r.error().message();
  }
}

}  // namespace
}  // namespace bonsai::archive
