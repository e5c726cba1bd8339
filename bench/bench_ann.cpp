// Approximate against exact retrieval for a factor model's catalogue: recall@k of the
// approximate lists (the share of each exact top-k they contain) and queries per second, one
// query at a time as an online request pays it, for several nprobe settings.
//
// The catalogue is synthetic (--items N): 64-factor items drawn around 1,000 taste centres
// whose sizes follow a power law, with log-normal lengths (a factor model's popular items are
// its long vectors) and a bias; users are drawn around the same centres. Or a saved factor
// model's items and users (--model FILE.rkm).
//
// Usage: bench_ann (--items N | --model FILE.rkm) [--factors 64] [--queries 1000] [--k 20]
//                  [--nprobe a,b,c] [--nlist L] [--threads T] [--seed S]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "reckon/core/random.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/models/factor_model.hpp"
#include "reckon/retrieval/ann_index.hpp"
#include "reckon/retrieval/inner_product.hpp"

using namespace reckon;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

float gaussian(Rng& rng) { return static_cast<float>(rng.normal()); }

struct Catalogue {
  RowMatrix items, users;
  std::vector<float> bias;
};

Catalogue synthetic(index_t n, index_t queries, index_t f, std::uint64_t seed) {
  constexpr index_t kCentres = 1000;
  Rng rng(seed);
  RowMatrix centres(kCentres, f);
  for (Eigen::Index i = 0; i < centres.size(); ++i)
    centres.data()[i] = gaussian(rng) / std::sqrt(static_cast<float>(f));
  // Centre c is drawn with probability ~ 1 / (c + 1) (Zipf): a few big tastes, a long tail.
  std::vector<double> cumulative(kCentres);
  double sum = 0;
  for (index_t c = 0; c < kCentres; ++c) cumulative[c] = sum += 1.0 / static_cast<double>(c + 1);
  auto centre = [&] {
    const double x = rng.uniform() * sum;
    return static_cast<Eigen::Index>(std::lower_bound(cumulative.begin(), cumulative.end(), x) -
                                     cumulative.begin());
  };
  Catalogue c;
  c.items.resize(n, f);
  c.bias.resize(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index g = centre();
    const float length = std::exp(0.5f * gaussian(rng));  // log-normal: a few long vectors
    for (Eigen::Index d = 0; d < f; ++d)
      c.items(i, d) = length * (centres(g, d) + 0.5f * gaussian(rng) / std::sqrt(float(f)));
    c.bias[static_cast<std::size_t>(i)] = 0.1f * gaussian(rng);
  }
  c.users.resize(queries, f);
  for (Eigen::Index u = 0; u < queries; ++u) {
    const Eigen::Index g = centre();
    for (Eigen::Index d = 0; d < f; ++d)
      c.users(u, d) = 3.0f * (centres(g, d) + 0.5f * gaussian(rng) / std::sqrt(float(f)));
  }
  return c;
}

// Answers one query at a time on the calling thread; returns the seconds and the lists.
double one_at_a_time(const ItemSearch& search, const RowMatrix& users, std::size_t k,
                     std::vector<std::vector<ScoredItem>>& lists) {
  lists.assign(static_cast<std::size_t>(users.rows()), {});
  std::vector<InnerProductQuery> q(1);
  std::vector<std::vector<ScoredItem>> out;
  const auto t0 = Clock::now();
  for (Eigen::Index u = 0; u < users.rows(); ++u) {
    const RowMatrix one = users.row(u);
    search.top_k(one, q, k, out);
    lists[static_cast<std::size_t>(u)] = std::move(out[0]);
  }
  return seconds_since(t0);
}

double recall(const std::vector<std::vector<ScoredItem>>& got,
              const std::vector<std::vector<ScoredItem>>& exact) {
  double found = 0, want = 0;
  for (std::size_t u = 0; u < got.size(); ++u) {
    std::set<index_t> e;
    for (const auto& s : exact[u]) e.insert(s.item);
    for (const auto& s : got[u]) found += static_cast<double>(e.count(s.item));
    want += static_cast<double>(e.size());
  }
  return want > 0 ? found / want : 1.0;
}

}  // namespace

int main(int argc, char** argv) {
  index_t items = 0, factors = 64, queries = 1000;
  std::size_t k = 20;
  int threads = 2, nlist = 0;
  std::uint64_t seed = 1;
  std::string model, nprobes;
  for (int a = 1; a + 1 < argc; a += 2) {
    const std::string flag = argv[a], value = argv[a + 1];
    if (flag == "--items") items = std::stoll(value);
    else if (flag == "--factors") factors = std::stoll(value);
    else if (flag == "--queries") queries = std::stoll(value);
    else if (flag == "--k") k = std::stoul(value);
    else if (flag == "--threads") threads = std::stoi(value);
    else if (flag == "--nlist") nlist = std::stoi(value);
    else if (flag == "--nprobe") nprobes = value;
    else if (flag == "--seed") seed = std::stoull(value);
    else if (flag == "--model") model = value;
    else {
      std::fprintf(stderr,
                   "usage: bench_ann (--items N | --model FILE.rkm) [--factors F] [--queries Q] "
                   "[--k K] [--nprobe a,b,c] [--nlist L] [--threads T] [--seed S]\n");
      return 2;
    }
  }
  if (!ann_available()) {
    std::fprintf(stderr, "bench_ann: this build has no FAISS\n");
    return 1;
  }
  set_thread_budget(threads);
  Catalogue c;
  std::string what;
  auto t0 = Clock::now();
  if (!model.empty()) {
    const TrainedModel t = load_model_file(model);
    const auto* fm = dynamic_cast<const FactorModel*>(t.model.get());
    if (!fm) {
      std::fprintf(stderr, "bench_ann: %s is not a factor model\n", model.c_str());
      return 1;
    }
    c.items = fm->item_factors();
    Rng rng(seed);
    const index_t n_users = fm->user_factors().rows();
    c.users.resize(std::min(queries, n_users), c.items.cols());
    for (Eigen::Index u = 0; u < c.users.rows(); ++u)
      c.users.row(u) = fm->user_factors().row(
          static_cast<Eigen::Index>(rng.below(static_cast<std::uint64_t>(n_users))));
    what = fmt::format("{} ({}, {} items, {} factors)", model, t.model->name(), c.items.rows(),
                       c.items.cols());
  } else {
    if (items <= 0) {
      std::fprintf(stderr, "bench_ann: give --items N or --model FILE.rkm\n");
      return 2;
    }
    c = synthetic(items, queries, factors, seed);
    what = fmt::format("synthetic, {} items, {} factors, seed {}", items, factors, seed);
  }
  std::printf("# %s; %lld queries one at a time on 1 thread, recall@%zu against exact; "
              "built on %d threads (%.1f s to make the catalogue)\n",
              what.c_str(), static_cast<long long>(c.users.rows()), k, threads,
              seconds_since(t0));
  std::fflush(stdout);

  t0 = Clock::now();
  double cpu0 = cpu_seconds();
  const InnerProductIndex exact(c.items, c.bias);
  std::printf("exact index (items by norm): %.2f s wall, %.2f s CPU to build\n",
              seconds_since(t0), cpu_seconds() - cpu0);
  std::vector<std::vector<ScoredItem>> truth;
  set_thread_budget(1);
  const double exact_s = one_at_a_time(exact, c.users, k, truth);
  const double exact_qps = static_cast<double>(c.users.rows()) / exact_s;

  set_thread_budget(threads);
  AnnOptions o;
  o.mode = AnnMode::kOn;
  o.nlist = nlist;
  t0 = Clock::now();
  cpu0 = cpu_seconds();
  AnnIndex ann(c.items, c.bias, o);
  const double build_s = seconds_since(t0), build_cpu = cpu_seconds() - cpu0;
  std::printf("ivf index: %d lists, %.1f s wall, %.1f s CPU to build; peak RSS %.0f MB\n",
              ann.nlist(), build_s, build_cpu, peak_rss_mb());

  std::vector<int> probes;
  if (nprobes.empty()) {
    const int d = AnnIndex::default_nprobe(ann.nlist());
    for (int p : {d / 4, d / 2, d, d * 2, d * 4})
      if (p >= 1 && p <= ann.nlist()) probes.push_back(p);
  } else {
    for (std::size_t at = 0; at < nprobes.size();) {
      const std::size_t comma = std::min(nprobes.find(',', at), nprobes.size());
      probes.push_back(std::stoi(nprobes.substr(at, comma - at)));
      at = comma + 1;
    }
  }
  std::printf("\n| search | nprobe | recall@%zu | queries/s | ms/query | speed-up |\n", k);
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
  std::printf("| exact | | 1.0000 | %.0f | %.3f | 1.0 |\n", exact_qps, 1000.0 / exact_qps);
  set_thread_budget(1);
  for (const int p : probes) {
    std::vector<std::vector<ScoredItem>> got;
    ann.set_nprobe(p);  // a search-time setting: the same lists for every row
    const double s = one_at_a_time(ann, c.users, k, got);
    const double qps = static_cast<double>(c.users.rows()) / s;
    std::printf("| ivf | %d | %.4f | %.0f | %.3f | %.1f |\n", p, recall(got, truth), qps,
                1000.0 / qps, qps / exact_qps);
    std::fflush(stdout);
  }
  std::printf("\npeak RSS %.0f MB\n", peak_rss_mb());
  return 0;
}
