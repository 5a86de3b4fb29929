#include "archive/layer_writer.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "archive/tar.h"
#include "archive/test_util.h"

namespace bonsai::archive {
namespace {

using testing::compressible;
using testing::run;
using testing::TempDir;
using util::ErrorKind;

// A small layer: a directory, a few files (one large enough for several gzip shards), a symlink.
Status write_layer(util::Writer& out) {
  TarWriter tar(out, {.clamp_mtime = 1700000000});
  TarEntry dir;
  dir.path = "usr/lib";
  dir.type = EntryType::kDirectory;
  dir.mode = 0755;
  dir.mtime_sec = 1800000000;
  TRY(tar.add(dir));
  for (int i = 0; i < 3; ++i) {
    std::string body = compressible(static_cast<size_t>(1 + i * (3 << 20)), i);
    TarEntry f;
    f.path = "usr/lib/f" + std::to_string(i);
    f.size = body.size();
    TRY(tar.add(f));
    TRY(tar.write_body(body));
  }
  TarEntry sym;
  sym.path = "usr/lib/link";
  sym.type = EntryType::kSymlink;
  sym.link_target = "f1";
  TRY(tar.add(sym));
  return tar.finish();
}

std::string sha256sum(const std::string& cmd) {
  auto [status, out] = run(cmd + " | sha256sum");
  EXPECT_EQ(status, 0);
  return "sha256:" + out.substr(0, 64);
}

class LayerWriterTest : public ::testing::TestWithParam<Compression> {};

TEST_P(LayerWriterTest, DigestsEqualSha256sumOfBothStreams) {
  TempDir dir;
  const std::string blob_path = dir.file("blob");
  auto fd = sys::open_file(blob_path, O_WRONLY | O_CREAT | O_TRUNC);
  ASSERT_TRUE(fd);
  sys::FdWriter file(fd->get(), blob_path);
  auto layer = LayerWriter::create(
      file, {.compression = GetParam(), .compress = {.gzip_shard_size = 1 << 20}});
  ASSERT_TRUE(layer);
  ASSERT_TRUE(write_layer(**layer));
  auto d = (*layer)->finish();
  ASSERT_TRUE(d) << d.error().message();

  const std::string decompress = GetParam() == Compression::kGzip   ? "gzip -dc "
                                 : GetParam() == Compression::kZstd ? "zstd -q -dc "
                                                                    : "cat ";
  EXPECT_EQ(d->digest.str(), sha256sum("cat " + blob_path));
  EXPECT_EQ(d->diff_id.str(), sha256sum(decompress + blob_path));
  EXPECT_EQ(d->size, testing::read_file(blob_path).size());
  EXPECT_EQ(d->uncompressed_size % 512, 0u);
  EXPECT_EQ(d->compression, GetParam());
  if (GetParam() == Compression::kNone) {
    EXPECT_EQ(d->digest, d->diff_id);
  } else {
    EXPECT_LT(d->size, d->uncompressed_size / 2);
  }

  // The reader finds the same digests, and the entries.
  std::string blob = testing::read_file(blob_path);
  util::StringReader in(blob);
  auto reader = LayerReader::open(in);
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->compression(), GetParam());
  TarReader tar(**reader);
  std::vector<std::string> paths;
  while (auto e = tar.next().value()) paths.push_back(e->path);
  EXPECT_EQ(paths, (std::vector<std::string>{"usr/lib", "usr/lib/f0", "usr/lib/f1", "usr/lib/f2",
                                             "usr/lib/link"}));
  auto verified = (*reader)->verify(d->diff_id, d->digest);
  ASSERT_TRUE(verified) << verified.error().message();
  EXPECT_EQ(verified->uncompressed_size, d->uncompressed_size);
  EXPECT_EQ(verified->size, d->size);
}

INSTANTIATE_TEST_SUITE_P(AllCompressions, LayerWriterTest,
                         ::testing::Values(Compression::kGzip, Compression::kZstd,
                                           Compression::kNone),
                         [](const auto& info) {
                           return std::string(compression_name(info.param));
                         });

TEST(LayerWriter, SameEntriesGiveSameDigests) {
  oci::Digest first;
  for (unsigned threads : {1u, 2u}) {
    util::StringWriter out;
    auto layer = LayerWriter::create(out, {.compress = {.threads = threads}});
    ASSERT_TRUE(layer);
    ASSERT_TRUE(write_layer(**layer));
    auto d = (*layer)->finish();
    ASSERT_TRUE(d);
    if (first.empty()) first = d->digest;
    EXPECT_EQ(d->digest, first);
  }
}

TEST(LayerReader, WrongDiffIdIsCorrupt) {
  util::StringWriter out;
  auto layer = LayerWriter::create(out).value();
  ASSERT_TRUE(write_layer(*layer));
  auto d = layer->finish().value();
  util::StringReader in(out.str());
  auto reader = LayerReader::open(in).value();
  auto r = reader->verify(oci::Digest::of("something else"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(r.error().message().find("diff-id is " + d.diff_id.str()), std::string::npos);
}

TEST(LayerReader, AppliesDecompressLimits) {
  util::StringWriter out;
  auto layer = LayerWriter::create(out, {.compression = Compression::kZstd}).value();
  ASSERT_TRUE(write_layer(*layer));
  ASSERT_TRUE(layer->finish());
  util::StringReader in(out.str());
  auto reader = LayerReader::open(in, {.max_output = 1 << 20}).value();
  auto r = reader->finish();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind(), ErrorKind::kLimit);
}

}  // namespace
}  // namespace bonsai::archive
