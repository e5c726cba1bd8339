// The model table: quality, fit time, time to recommend the top 20 to every user, and peak
// memory, for every collaborative-filtering model on Gowalla (LightGCN split) and MovieLens-100K.
// Each run is a forked child, so that its peak RSS is its own.
// Usage: bench_models [--only NAME] [--skip NAME]
//                     [--dataset gowalla|ml100k|ml100k-ratings|ml1m-ratings]
#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/import.hpp"
#include "reckon/prep/split.hpp"
#include "reckon/retrieval/topk.hpp"

using namespace reckon;
namespace fs = std::filesystem;

namespace {

struct Row {
  double fit_s = 0, topk_s = 0, q1 = 0, q2 = 0;
  long peak_kb = 0;
  bool ok = false;
};

// Runs `work` in a child: four numbers back, and its own peak memory.
Row in_child(const std::function<Row()>& work) {
  const auto c = bench::run_in_child<4>([&] {
    const Row r = work();
    return std::array<double, 4>{r.fit_s, r.topk_s, r.q1, r.q2};
  });
  if (!c.ok) return Row{};
  return Row{c.values[0], c.values[1], c.values[2], c.values[3], c.peak_kb, true};
}

// Top-20 unseen items for every training user, in blocks, as a batch job would: the model's own
// top-k when it has one (factor models), else scoring every item and selecting.
double top20_all_users(const Model& model, const Dataset& train) {
  const auto t0 = std::chrono::steady_clock::now();
  const index_t n = train.num_items();
  const index_t users = train.num_users();
  std::vector<std::vector<ScoredItem>> probe;
  const bool fast = model.top_k_batch({}, 20, probe);
  const index_t block = fast ? 256 : 32;
  std::vector<std::vector<ScoredItem>> lists(static_cast<std::size_t>(users));
#pragma omp parallel
  {
    std::vector<float> scores(fast ? 0 : static_cast<std::size_t>(block * n));
    std::vector<UserContext> ctx;
    std::vector<std::vector<ScoredItem>> got;
#pragma omp for schedule(dynamic, 1)
    for (index_t b = 0; b < (users + block - 1) / block; ++b) {
      ctx.clear();
      for (index_t u = b * block; u < std::min(users, (b + 1) * block); ++u) {
        UserContext c;
        c.user = u;
        c.history = train.interactions.row_indices(u);
        c.weights = train.interactions.row_values(u);
        ctx.push_back(c);
      }
      if (fast) {
        model.top_k_batch(ctx, 20, got);
        for (std::size_t k = 0; k < ctx.size(); ++k)
          lists[static_cast<std::size_t>(b * block) + k] = std::move(got[k]);
        continue;
      }
      model.score_batch(ctx,
                        std::span<float>(scores.data(), ctx.size() * static_cast<std::size_t>(n)));
      for (std::size_t k = 0; k < ctx.size(); ++k) {
        std::span<float> s(scores.data() + k * static_cast<std::size_t>(n),
                           static_cast<std::size_t>(n));
        mask(s, ctx[k].history);
        top_k(s, 20, lists[static_cast<std::size_t>(b * block) + k]);
      }
    }
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Config {
  std::string model;
  std::map<std::string, std::string> params;
  std::string label;
};

}  // namespace

int main(int argc, char** argv) {
  std::string only, skip, which = "all";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    if (!std::strcmp(argv[i], "--skip")) skip = argv[i + 1];
    if (!std::strcmp(argv[i], "--dataset")) which = argv[i + 1];
  }
  Progress::set_enabled(false);
  const fs::path data = data_dir();
  auto wanted = [&](const std::string& m) {
    return (only.empty() || only.find(m) != std::string::npos) &&
           (skip.empty() || skip.find(m) == std::string::npos);
  };

  // Implicit-feedback models on Gowalla and ML-100K.
  const std::vector<Config> ranking = {
      {"popular", {}, "popular"},
      {"itemknn", {}, "itemknn"},
      {"userknn", {}, "userknn"},
      {"ials", {}, "ials 64"},
      {"ials", {{"factors", "128"}}, "ials 128"},
      {"ials", {{"factors", "256"}, {"regularization", "20"}}, "ials 256"},
      {"bpr", {}, "bpr 64"},
      {"bpr", {{"factors", "256"}, {"regularization", "0.001"}}, "bpr 256"},
      {"ease", {}, "ease"},
      {"content", {}, "content"},  // item features: ML-100K's genres and titles
      {"hybrid", {}, "hybrid"},    // WARP, ids + item columns (none on Gowalla)
  };
  for (const std::string name : {"gowalla", "ml100k"}) {
    if (which != "all" && which != name) continue;
    PredefinedSplit split;
    if (name == "gowalla") {
      split = import_predefined_split(data / "gowalla" / "train.txt", data / "gowalla" / "test.txt",
                                      {});
    } else {
      Dataset d = import_dataset(data / "movielens-100k", {});
      SplitOptions so;
      so.kind = SplitKind::kUserTime;
      Split s = split_dataset(d, so);
      split.train = std::move(s.train);
      split.test = std::move(s.test);
    }
    auto train = std::make_shared<const Dataset>(split.train);
    const std::size_t k = name == "gowalla" ? 20 : 10;
    std::printf(
        "\n%s: %lld users, %lld items, %lld train, %lld test; full ranking, k=%zu, %d threads\n",
        name.c_str(), static_cast<long long>(train->num_users()),
        static_cast<long long>(train->num_items()),
        static_cast<long long>(train->num_interactions()), static_cast<long long>(split.test.nnz()),
        k, omp_get_max_threads());
    std::printf("%-10s %10s %10s %10s %10s %10s\n", "model", "fit s", "top20 s", "peak MB",
                ("recall@" + std::to_string(k)).c_str(), ("ndcg@" + std::to_string(k)).c_str());
    for (const auto& c : ranking) {
      if (!wanted(c.model) || (name == "gowalla" && c.model == "content")) continue;
      if (name == "gowalla" && c.model == "ease" && !wanted("ease-gowalla") && only.empty()) {
        std::printf("%-10s (skipped: ~5 min and 6.7 GB; run with --only ease-gowalla)\n",
                    c.label.c_str());
        continue;
      }
      // EASE's lambda: 100 on sparse Gowalla (0.1764 vs 0.1693 at the default 500).
      auto params = c.params;
      if (c.model == "ease" && name == "gowalla") params["lambda"] = "100";
      const Row r = in_child([&] {
        FitContext ctx;
        TrainedModel t = train_model(c.model, train, params, ctx);
        Row row;
        row.fit_s = t.fit_seconds;
        row.topk_s = top20_all_users(*t.model, *train);
        EvalOptions o;
        o.ks = {k};
        o.metrics = {"recall", "ndcg"};
        o.progress = false;
        const EvalResult e = evaluate(*t.model, *train, split.test, CsrMatrix(), o);
        row.q1 = e.metrics.at("recall@" + std::to_string(k));
        row.q2 = e.metrics.at("ndcg@" + std::to_string(k));
        return row;
      });
      if (!r.ok) {
        std::printf("%-10s failed\n", c.label.c_str());
        continue;
      }
      std::printf("%-10s %10.2f %10.2f %10.0f %10.4f %10.4f\n", c.label.c_str(), r.fit_s, r.topk_s,
                  static_cast<double>(r.peak_kb) / 1024.0, r.q1, r.q2);
    }
  }

  // Rating models on the official ML-100K split and on ML-1M 90/10 (random, seed 42).
  const std::vector<Config> rating = {
      {"mf", {}, "mf mcmc"},
      {"mf", {{"solver", "sgd"}}, "mf sgd"},
      {"mf", {{"solver", "als"}}, "mf als"},
      {"svdpp", {}, "svdpp"},
  };
  for (const std::string name : {"ml100k-ratings", "ml1m-ratings"}) {
    if (which != "all" && which != name) continue;
    PredefinedSplit split;
    if (name == "ml100k-ratings") {
      split = import_predefined_split(data / "movielens-100k" / "u1.base",
                                      data / "movielens-100k" / "u1.test", {});
      std::printf("\nml100k u1.base/u1.test: rating prediction\n");
    } else {
      ImportOptions io;
      io.format = ImportFormat::kMovieLens;
      Dataset d = import_dataset(data / "movielens-1m" / "ratings-notime.dat.gz", io);
      SplitOptions so;
      so.kind = SplitKind::kRandom;
      so.test_fraction = 0.1;
      Split s = split_dataset(d, so);
      split.train = std::move(s.train);
      split.test = std::move(s.test);
      std::printf("\nml1m 90/10 random split: rating prediction\n");
    }
    auto train = std::make_shared<const Dataset>(split.train);
    std::printf("%-10s %10s %10s %10s %10s\n", "model", "fit s", "peak MB", "rmse", "mae");
    for (const auto& c : rating) {
      if (!wanted(c.model) || (name == "ml1m-ratings" && c.model == "svdpp")) continue;
      const Row r = in_child([&] {
        FitContext ctx;
        ctx.verbose = false;
        TrainedModel t = train_model(c.model, train, c.params, ctx);
        EvalOptions o;
        o.metrics = {"rmse", "mae"};
        o.progress = false;
        const EvalResult e = evaluate(*t.model, *train, split.test, CsrMatrix(), o);
        return Row{t.fit_seconds, 0, e.metrics.at("rmse"), e.metrics.at("mae"), 0, true};
      });
      std::printf("%-10s %10.2f %10.0f %10.4f %10.4f\n", c.label.c_str(), r.fit_s,
                  static_cast<double>(r.peak_kb) / 1024.0, r.q1, r.q2);
      std::fflush(stdout);
    }
  }
  return 0;
}
