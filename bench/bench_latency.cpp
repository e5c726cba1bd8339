// Latency of one recommendation from a saved model, as an online request pays it: a history of
// N items (the newest N of a random training user with at least N, in time order, with their
// times), scored and cut to the top 10 on one thread. Prints percentiles over the queries.
// Usage: bench_latency MODEL.rkm [--history 50] [--queries 2000] [--seed 1]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <vector>

#include "reckon/core/random.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/models/model.hpp"
#include "reckon/retrieval/topk.hpp"

using namespace reckon;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_latency MODEL.rkm [--history N] [--queries Q] [--seed S]\n");
    return 2;
  }
  std::size_t history = 50, queries = 2000;
  std::uint64_t seed = 1;
  for (int a = 2; a + 1 < argc; a += 2) {
    if (!std::strcmp(argv[a], "--history")) history = std::strtoul(argv[a + 1], nullptr, 10);
    if (!std::strcmp(argv[a], "--queries")) queries = std::strtoul(argv[a + 1], nullptr, 10);
    if (!std::strcmp(argv[a], "--seed")) seed = std::strtoull(argv[a + 1], nullptr, 10);
  }
  set_thread_budget(1);
  const TrainedModel t = load_model_file(argv[1]);
  const CsrMatrix& x = t.train->interactions;
  std::vector<index_t> users;
  for (index_t u = 0; u < x.rows(); ++u)
    if (static_cast<std::size_t>(x.row_size(u)) >= history) users.push_back(u);
  if (users.empty()) {
    std::fprintf(stderr, "no training user has %zu interactions\n", history);
    return 1;
  }
  Rng rng(seed);
  std::vector<float> scores(static_cast<std::size_t>(t.train->num_items()));
  std::vector<double> ms;
  std::vector<col_t> items;
  std::vector<std::int64_t> times;
  std::vector<std::size_t> order;
  for (std::size_t q = 0; q < queries + 50; ++q) {  // the first 50 warm the caches, not counted
    const index_t u = users[rng.below(users.size())];
    const auto idx = x.row_indices(u);
    const auto tms = x.row_times(u);
    order.resize(idx.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    if (!tms.empty())
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return tms[a] < tms[b]; });
    items.clear(), times.clear();
    for (std::size_t k = order.size() - history; k < order.size(); ++k) {
      items.push_back(idx[order[k]]);
      if (!tms.empty()) times.push_back(tms[order[k]]);
    }
    UserContext c;  // a changed user: the history is read as given, not the stored row
    c.history = items;
    c.times = times;
    const auto t0 = std::chrono::steady_clock::now();
    const auto rec = recommend(*t.model, c, 10, Filter{}, scores);
    const double d = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (rec.empty()) return 1;
    if (q >= 50) ms.push_back(d);
  }
  std::sort(ms.begin(), ms.end());
  const auto pct = [&](double p) { return ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * ms.size()))]; };
  std::printf("%s: %s, %lld items, history %zu, %zu queries on 1 thread\n", argv[1],
              std::string(t.model->name()).c_str(), static_cast<long long>(t.train->num_items()),
              history, ms.size());
  std::printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  (%.0f queries/s)\n", pct(0.5),
              pct(0.9), pct(0.99), ms.back(),
              1000.0 * static_cast<double>(ms.size()) / std::accumulate(ms.begin(), ms.end(), 0.0));
  return 0;
}
