// Layer throughput on synthetic compressible data (about 3:1 with gzip -6): the parallel gzip
// writer at both levels, multi-threaded zstd, SHA-256, and decompression. For figures on a real
// layer against gzip/pigz/zstd/sha256sum, run bench/layer-compress.sh.
#include <benchmark/benchmark.h>

#include "archive/compress.h"
#include "archive/layer_writer.h"
#include "archive/tar.h"
#include "archive/test_util.h"
#include "util/sha256.h"

namespace bonsai::archive {
namespace {

const std::string& input() {
  static const std::string data = testing::compressible(64 << 20, 42);
  return data;
}

void compress_bench(benchmark::State& state, Compression c, GzipLevel level) {
  const std::string& data = input();
  uint64_t out_bytes = 0;
  for (auto _ : state) {
    util::CountingWriter sink(nullptr);
    auto w = compressing_writer(c, sink, {.gzip_level = level}).value();
    for (size_t i = 0; i < data.size(); i += 1 << 20) {
      if (!w->write(std::string_view(data).substr(i, 1 << 20))) state.SkipWithError("write");
    }
    if (!w->close()) state.SkipWithError("close");
    out_bytes = sink.count();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  state.counters["ratio"] = static_cast<double>(data.size()) / static_cast<double>(out_bytes);
}

void BM_GzipFast(benchmark::State& s) { compress_bench(s, Compression::kGzip, GzipLevel::kFast); }
void BM_GzipHigh(benchmark::State& s) { compress_bench(s, Compression::kGzip, GzipLevel::kHigh); }
void BM_Zstd(benchmark::State& s) { compress_bench(s, Compression::kZstd, GzipLevel::kFast); }
BENCHMARK(BM_GzipFast)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_GzipHigh)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Zstd)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_Sha256(benchmark::State& state) {
  const std::string& data = input();
  for (auto _ : state) {
    util::Sha256 h;
    for (size_t i = 0; i < data.size(); i += 1 << 20)
      h.update(std::string_view(data).substr(i, 1 << 20));
    benchmark::DoNotOptimize(h.finish());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256)->Unit(benchmark::kMillisecond);

void decompress_bench(benchmark::State& state, Compression c) {
  const std::string& data = input();
  util::StringWriter packed;
  auto w = compressing_writer(c, packed).value();
  if (!w->write(data) || !w->close()) state.SkipWithError("compress");
  std::vector<char> buf(1 << 20);
  for (auto _ : state) {
    util::StringReader in(packed.str());
    auto r = decompressing_reader(c, in);
    while (r->read(buf).value_or(0) > 0) {
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
void BM_GunzipIsal(benchmark::State& s) { decompress_bench(s, Compression::kGzip); }
void BM_Unzstd(benchmark::State& s) { decompress_bench(s, Compression::kZstd); }
BENCHMARK(BM_GunzipIsal)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Unzstd)->Unit(benchmark::kMillisecond);

// A whole layer: tar of 4 KiB files -> gzip -> both hashes.
void BM_LayerWriterSmallFiles(benchmark::State& state) {
  const std::string body = testing::compressible(4096, 9);
  const int files = 16384;
  for (auto _ : state) {
    util::CountingWriter sink(nullptr);
    auto layer = LayerWriter::create(sink).value();
    TarWriter tar(*layer);
    for (int i = 0; i < files; ++i) {
      TarEntry e;
      e.path = "usr/share/doc/pkg" + std::to_string(i / 100) + "/file" + std::to_string(i);
      e.size = body.size();
      if (!tar.add(e) || !tar.write_body(body)) state.SkipWithError("tar");
    }
    if (!tar.finish() || !layer->finish()) state.SkipWithError("finish");
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * files));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * files * (body.size() + 512)));
}
BENCHMARK(BM_LayerWriterSmallFiles)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace bonsai::archive
