// Import and reload speed, and import peak memory, on the shared datasets and a synthetic 10M-row
// CSV. Each case runs in a forked child so that its peak RSS is its own.
// Usage: bench_import [--rows N] [--repeat R]    (RECKON_DATA_DIR: where the datasets are)
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/dataset_file.hpp"
#include "reckon/io/import.hpp"

namespace fs = std::filesystem;
using namespace reckon;

namespace {

struct Result {
  double seconds = 0;
  long peak_kb = 0;
  index_t interactions = 0;
};

// Runs `work` in a child: its time, its row count and its own peak memory.
Result run_child(const std::function<index_t()>& work) {
  const auto c = bench::run_in_child<2>([&] {
    const auto t0 = std::chrono::steady_clock::now();
    const index_t n = work();
    return std::array<double, 2>{
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
        static_cast<double>(n)};
  });
  Result r;
  if (!c.ok) {
    r.seconds = -1;
    return r;
  }
  r.seconds = c.values[0];
  r.interactions = static_cast<index_t>(c.values[1]);
  r.peak_kb = c.peak_kb;
  return r;
}

// Best of `repeat` runs (time), largest peak memory.
Result best_of(int repeat, const std::function<index_t()>& work) {
  Result best;
  best.seconds = 1e30;
  for (int i = 0; i < repeat; ++i) {
    Result r = run_child(work);
    if (r.seconds < 0) return r;
    if (r.seconds < best.seconds) best.seconds = r.seconds, best.interactions = r.interactions;
    best.peak_kb = std::max(best.peak_kb, r.peak_kb);
  }
  return best;
}

void write_synthetic_csv(const fs::path& path, std::int64_t rows) {
  std::ofstream out(path);
  out << "user_id,item_id,rating,timestamp\n";
  Rng rng(7);
  std::string line;
  for (std::int64_t i = 0; i < rows; ++i) {
    // 200k users, 50k items, skewed towards popular items.
    const auto u = rng.below(200000);
    const auto r = rng.uniform();
    const auto item = static_cast<std::uint64_t>(50000.0 * r * r);
    line = "u" + std::to_string(u) + ",i" + std::to_string(item) + "," +
           std::to_string(1 + rng.below(5)) + "," +
           std::to_string(1500000000 + rng.below(100000000)) + "\n";
    out << line;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t rows = 10'000'000;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--rows") rows = std::atoll(argv[i + 1]);
    if (std::string(argv[i]) == "--repeat") repeat = std::atoi(argv[i + 1]);
  }
  Progress::set_enabled(false);
  const fs::path data = data_dir();
  const fs::path tmp = fs::temp_directory_path() / ("reckon-bench-" + std::to_string(getpid()));
  fs::create_directories(tmp);

  struct Case {
    std::string name;
    fs::path source;
    double target_import_s;
  };
  std::vector<Case> cases;
  fs::path ml1m = data / "movielens-1m" / "ratings.dat";
  if (!fs::exists(ml1m)) ml1m = data / "movielens-1m" / "ratings.dat.gz";
  if (!fs::exists(ml1m)) ml1m = data / "movielens-1m" / "ratings-notime.dat.gz";
  if (fs::exists(ml1m)) cases.push_back({"movielens-1m " + ml1m.filename().string(), ml1m, 1.0});
  if (fs::exists(data / "gowalla" / "train.txt"))
    cases.push_back({"gowalla train.txt", data / "gowalla" / "train.txt", 0.5});
  if (fs::exists(data / "movielens-100k"))
    cases.push_back({"movielens-100k dir", data / "movielens-100k", 0});
  const fs::path synth = tmp / "synthetic.csv";
  std::fprintf(stderr, "writing %lld-row synthetic CSV...\n", static_cast<long long>(rows));
  write_synthetic_csv(synth, rows);
  cases.push_back({"synthetic csv " + std::to_string(rows / 1000000) + "M rows", synth, 8.0});

  // The process itself (libraries, allocator) before any data: subtracted from peaks.
  const Result baseline = run_child([] { return index_t{0}; });
  std::printf("process baseline RSS %.1f MB (subtracted from peaks)\n", baseline.peak_kb / 1e3);
  std::printf("%-34s %12s %10s %10s %10s %10s %8s %s\n", "case", "interactions", "import s",
              "reload s", "peak MB", "rkd MB", "peak/rkd", "targets");
  for (const auto& c : cases) {
    const fs::path rkd = tmp / "out.rkd";
    const Result imp = best_of(repeat, [&] {
      Dataset d = import_dataset(c.source, {});
      save_dataset(d, rkd);
      return d.num_interactions();
    });
    // The save is part of the child's work; time the import alone too.
    const Result imp_only =
        best_of(repeat, [&] { return import_dataset(c.source, {}).num_interactions(); });
    const Result reload = best_of(repeat, [&] { return load_dataset(rkd).num_interactions(); });
    const double rkd_mb = static_cast<double>(fs::file_size(rkd)) / 1e6;
    const double peak_mb = static_cast<double>(imp_only.peak_kb - baseline.peak_kb) / 1e3;
    std::string targets;
    if (c.target_import_s > 0)
      targets += std::string(imp_only.seconds < c.target_import_s ? "ok" : "MISS") + " import<" +
                 std::to_string(c.target_import_s).substr(0, 3) + "s ";
    targets += std::string(reload.seconds < 0.2 ? "ok" : "MISS") + " reload<0.2s ";
    targets += std::string(peak_mb < 3 * rkd_mb ? "ok" : "MISS") + " peak<3x";
    std::printf("%-34s %12lld %10.3f %10.3f %10.1f %10.1f %8.2f %s\n", c.name.c_str(),
                static_cast<long long>(imp_only.interactions), imp_only.seconds, reload.seconds,
                peak_mb, rkd_mb, peak_mb / rkd_mb, targets.c_str());
    (void)imp;
  }
  fs::remove_all(tmp);
  return 0;
}
