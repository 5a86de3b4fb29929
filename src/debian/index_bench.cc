// The hot path of `bonsai base build` before any cache: reading a Packages index (Debian 12's
// main/amd64 index has 63,440 entries, 50 MB) and ordering versions while resolving. Synthetic
// entries shaped like the real ones; for the real index, time `bonsai base lock` on a fresh store.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <random>

#include "debian/control.h"
#include "debian/package.h"
#include "debian/resolver.h"
#include "debian/version.h"

namespace bonsai::debian {
namespace {

// n Packages entries with the fields (and sizes) of real ones.
const std::string& index_text(size_t n) {
  static std::map<size_t, std::string> cache;
  std::string& text = cache[n];
  if (!text.empty()) return text;
  for (size_t i = 0; i < n; ++i) {
    text += fmt::format(
        "Package: pkg{0}\nSource: src{1}\nVersion: 1:{2}.{3}-{4}+deb12u1\nInstalled-Size: {5}\n"
        "Maintainer: Debian Team <team{1}@lists.debian.org>\nArchitecture: amd64\n"
        "Depends: libc6 (>= 2.34), pkg{6} (>= 1.0), pkg{7} | pkg{8}\nPre-Depends: pkg{9}\n"
        "Description: package number {0}\nMulti-Arch: same\n"
        "Homepage: https://example.org/{0}\nDescription-md5: {10:032x}\nTag: role::shared-lib\n"
        "Section: libs\nPriority: optional\nFilename: "
        "pool/main/p/pkg{0}/pkg{0}_{2}.{3}-{4}_amd64.deb\n"
        "Size: {5}\nMD5sum: {10:032x}\nSHA256: {10:064x}\n\n",
        i, i / 3, i % 7, i % 100, i % 5, 1000 + i, (i * 7) % n, (i * 13) % n, (i * 17) % n,
        (i * 19) % n, i * 2654435761u);
  }
  return text;
}

void BM_ParsePackagesIndex(benchmark::State& state) {
  const std::string& text = index_text(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    std::vector<Package> out;
    auto st = for_each_paragraph(text, "Packages", [&](Paragraph&& p) -> Status {
      out.push_back(TRY(package_from_paragraph(p, "Packages", true)));
      return {};
    });
    if (!st) state.SkipWithError(st.error().message().c_str());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ParsePackagesIndex)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_CompareVersions(benchmark::State& state) {
  std::mt19937 rng(7);
  std::vector<std::string> versions;
  for (int i = 0; i < 1024; ++i)
    versions.push_back(fmt::format("{}:{}.{}~rc{}-{}+deb12u{}", rng() % 3, rng() % 40, rng() % 400,
                                   rng() % 5, rng() % 9, rng() % 20));
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(compare_versions(versions[i % 1024], versions[(i * 31 + 7) % 1024]));
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CompareVersions);

void BM_ResolveClosure(benchmark::State& state) {
  std::vector<Package> pkgs;
  auto st = for_each_paragraph(index_text(10000), "Packages", [&](Paragraph&& p) -> Status {
    pkgs.push_back(TRY(package_from_paragraph(p, "Packages", true)));
    return {};
  });
  Package libc;
  libc.name = "libc6";
  libc.version = "2.36-9";
  libc.architecture = "amd64";
  pkgs.push_back(libc);
  if (!st) state.SkipWithError(st.error().message().c_str());
  ResolveOptions ro;
  for (int i = 0; i < 20; ++i) ro.requested.push_back(fmt::format("pkg{}", i * 97));
  size_t chosen = 0;
  for (auto _ : state) {
    auto r = resolve(pkgs, ro);
    if (!r) {
      state.SkipWithError(r.error().message().c_str());
      break;
    }
    chosen = r->packages.size();
  }
  state.counters["packages"] = static_cast<double>(chosen);
}
BENCHMARK(BM_ResolveClosure)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace bonsai::debian
