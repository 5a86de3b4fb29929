// Parallel gzip: the input is cut into fixed-size shards, each compressed on a thread pool into
// a complete gzip member (header, deflate stream, CRC-32/size trailer), and the members are
// written in input order. Concatenated members are one valid gzip stream (RFC 1952 §2.2).
//
// Memory is bounded: at most max_in_flight shards (each its input and output buffer; 2 * threads
// + 1, within 128 MiB) are in flight, and write() waits for the oldest when the queue is full.
// Each shard restarts the 32 KiB deflate window, which costs under 0.05% in size at 4 MiB.
#include <isa-l/igzip_lib.h>
#include <libdeflate.h>

#include <deque>
#include <future>
#include <memory>
#include <vector>

#include "archive/compress.h"
#include "util/big_buffer.h"
#include "util/thread_pool.h"

namespace bonsai::archive {

using util::ErrorKind;
using util::fail;

namespace {

// Level choices, measured on a 764 MB golang:bookworm layer (docs/layers.md).
constexpr int kIsalLevel = 2;
constexpr int kLibdeflateLevel = 6;
// Bytes of shard buffers (input + output) the writer may hold in flight.
constexpr size_t kMemoryBudget = 128 << 20;

// One shard: its input and its compressed gzip member. Shards are recycled, so that steady
// state allocates nothing and touches no fresh pages; their buffers move to huge pages once
// they pass 256 KiB, so that a large layer does not pay a page fault per 4 KiB of them.
struct Shard {
  util::BigBuffer input;
  util::BigBuffer member;
  size_t member_size = 0;
};

// ISA-L stateless deflate of one whole shard into a gzip member.
Status isal_member(Shard& shard) {
  // Not zeroed (ISA-L clears the hash tables it uses itself): 324 KiB set to zero is 81 page
  // faults on each compression thread's first shard.
  thread_local auto level_buf = std::make_unique_for_overwrite<uint8_t[]>(ISAL_DEF_LVL2_DEFAULT);
  const util::BigBuffer& in = shard.input;
  // Stored blocks cost 5 bytes per 64 KiB and the gzip wrapper 18, so this always fits.
  const size_t cap = in.size() + in.size() / 64 + 4096;
  if (shard.member.size() < cap) shard.member.resize(cap);
  isal_zstream s;
  isal_deflate_stateless_init(&s);
  s.level = kIsalLevel;
  s.level_buf = level_buf.get();
  s.level_buf_size = ISAL_DEF_LVL2_DEFAULT;
  s.gzip_flag = IGZIP_GZIP;
  s.end_of_stream = 1;
  s.flush = NO_FLUSH;
  s.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uint32_t>(in.size());
  s.next_out = reinterpret_cast<uint8_t*>(shard.member.data());
  s.avail_out = static_cast<uint32_t>(shard.member.size());
  const int ret = isal_deflate_stateless(&s);
  if (ret != COMP_OK)
    return fail(ErrorKind::kInternal, "igzip: deflate error " + std::to_string(ret));
  shard.member_size = s.total_out;
  return {};
}

Status libdeflate_member(Shard& shard) {
  struct Free {
    void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
  };
  thread_local std::unique_ptr<libdeflate_compressor, Free> c(
      libdeflate_alloc_compressor(kLibdeflateLevel));
  if (!c) return fail(ErrorKind::kInternal, "libdeflate: out of memory");
  const util::BigBuffer& in = shard.input;
  const size_t cap = libdeflate_gzip_compress_bound(c.get(), in.size());
  if (shard.member.size() < cap) shard.member.resize(cap);
  shard.member_size = libdeflate_gzip_compress(c.get(), in.data(), in.size(), shard.member.data(),
                                               shard.member.size());
  if (shard.member_size == 0) return fail(ErrorKind::kInternal, "libdeflate: output overflow");
  return {};
}

class ParallelGzipWriter final : public util::Writer {
 public:
  ParallelGzipWriter(util::Writer& out, CompressOptions o)
      : out_(out), options_(o), pool_(o.threads) {
    if (options_.gzip_shard_size == 0) options_.gzip_shard_size = 4 << 20;
    // Members stay far below 4 GiB, the limit of ISA-L's 32-bit counters.
    options_.gzip_shard_size = std::min<size_t>(options_.gzip_shard_size, 1 << 30);
    // Two shards per thread keep every thread busy while the oldest is written, within a memory
    // budget (each shard holds its input and its output). Past ~16 shards the single-threaded
    // SHA-256 of the stream (~2 GB/s) is the bottleneck anyway.
    const size_t budget = size_t{kMemoryBudget} / (2 * options_.gzip_shard_size);
    max_in_flight_ = std::max<size_t>(2, std::min<size_t>(2 * pool_.size() + 1, budget));
    current_ = take_shard();
  }

  ~ParallelGzipWriter() override {
    // Abandoned (close() not called or failed): shards still being compressed must finish
    // before their buffers go.
    for (auto& f : in_flight_) f.done.wait();
  }

  Status write(std::string_view data) override {
    while (!data.empty()) {
      util::BigBuffer& in = current_->input;
      size_t take = std::min(data.size(), options_.gzip_shard_size - in.size());
      in.append(data.substr(0, take));
      data.remove_prefix(take);
      if (in.size() == options_.gzip_shard_size) TRY(submit());
    }
    return {};
  }

  Status close() override {
    if (!current_->input.empty() || !submitted_any_) TRY(submit());
    while (!in_flight_.empty()) TRY(write_oldest());
    return out_.close();
  }

 private:
  struct InFlight {
    std::unique_ptr<Shard> shard;
    std::future<Status> done;
  };

  std::unique_ptr<Shard> take_shard() {
    if (free_.empty()) {
      auto s = std::make_unique<Shard>();
      s->input.reserve(options_.gzip_shard_size);
      return s;
    }
    auto s = std::move(free_.back());
    free_.pop_back();
    s->input.clear();
    return s;
  }

  Status submit() {
    while (in_flight_.size() >= max_in_flight_) TRY(write_oldest());
    Shard* shard = current_.get();
    const bool high = options_.gzip_level == GzipLevel::kHigh;
    auto done = pool_.submit(
        [shard, high] { return high ? libdeflate_member(*shard) : isal_member(*shard); });
    in_flight_.push_back({std::move(current_), std::move(done)});
    submitted_any_ = true;
    current_ = take_shard();
    return {};
  }

  Status write_oldest() {
    InFlight f = std::move(in_flight_.front());
    in_flight_.pop_front();
    TRY(f.done.get());
    TRY(out_.write(std::string_view(f.shard->member.data(), f.shard->member_size)));
    free_.push_back(std::move(f.shard));
    return {};
  }

  util::Writer& out_;
  CompressOptions options_;
  util::ThreadPool pool_;
  size_t max_in_flight_ = 2;
  std::unique_ptr<Shard> current_;
  std::vector<std::unique_ptr<Shard>> free_;
  bool submitted_any_ = false;
  std::deque<InFlight> in_flight_;
};

}  // namespace

Result<std::unique_ptr<util::Writer>> gzip_writer(util::Writer& out, CompressOptions options) {
  return std::make_unique<ParallelGzipWriter>(out, options);
}

}  // namespace bonsai::archive
