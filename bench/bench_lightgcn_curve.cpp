// LightGCN's test recall against minutes of training on the Gowalla LightGCN split: after each
// epoch whose training clock has passed the next probe time, the model as it would be if
// training stopped there (the best validation epoch so far, propagated over the whole training
// graph) is scored on the test set. The test figures only draw the curve: nothing is chosen on
// them (the model stops and keeps its epoch by its own validation part, carved from training).
// The time spent probing is left out of the training clock.
// Prints one line per probe, "probe: epoch E, M min, test recall@20 R, ndcg@20 N", which
// bench/plot_curve.py reads beside the validation lines.
// Usage: bench_lightgcn_curve [--every MINUTES] [--threads T] [PARAM=VALUE]...
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/import.hpp"

using namespace reckon;

int main(int argc, char** argv) {
  double every = 5;
  int threads = 2;
  std::map<std::string, std::string> params;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--every" && a + 1 < argc) {
      every = std::atof(argv[++a]);
    } else if (arg == "--threads" && a + 1 < argc) {
      threads = std::atoi(argv[++a]);
    } else if (const auto eq = arg.find('='); eq != std::string::npos) {
      params[arg.substr(0, eq)] = arg.substr(eq + 1);
    } else {
      std::fprintf(stderr, "usage: bench_lightgcn_curve [--every MIN] [--threads T] [K=V]...\n");
      return 2;
    }
  }
  set_thread_budget(threads);
  const auto dir = data_dir() / "gowalla";
  const PredefinedSplit s = import_predefined_split(dir / "train.txt", dir / "test.txt", {});
  auto train = std::make_shared<const Dataset>(s.train);
  std::printf("gowalla: %lld users, %lld items, %lld train, %lld test; probe every %.1f min\n",
              static_cast<long long>(train->num_users()),
              static_cast<long long>(train->num_items()),
              static_cast<long long>(train->num_interactions()),
              static_cast<long long>(s.test.nnz()), every);
  std::fflush(stdout);

  EvalOptions o;
  o.ks = {20};
  o.metrics = {"recall", "ndcg"};
  o.progress = false;
  o.threads = threads;
  double next = every;
  FitContext ctx;
  ctx.threads = threads;
  ctx.on_epoch = [&](const Model& now, int epoch, double minutes) {
    if (minutes < next && epoch != 1) return;
    while (next <= minutes) next += every;
    const EvalResult r = evaluate(now, *train, s.test, CsrMatrix(), o);
    std::printf("probe: epoch %d, %.2f min, test recall@20 %.4f, ndcg@20 %.4f (%.1f s to score)\n",
                epoch, minutes, r.metrics.at("recall@20"), r.metrics.at("ndcg@20"), r.seconds);
    std::fflush(stdout);
  };
  const TrainedModel t = train_model("lightgcn", train, params, ctx);
  const EvalResult r = evaluate(*t.model, *train, s.test, CsrMatrix(), o);
  std::printf("final: test recall@20 %.4f, ndcg@20 %.4f, fit %.1f s (probes included)\n",
              r.metrics.at("recall@20"), r.metrics.at("ndcg@20"), t.fit_seconds);
  return 0;
}
