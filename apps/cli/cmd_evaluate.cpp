#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "model_flags.hpp"
#include "prep_flags.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/eval/metrics.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/io/data_registry.hpp"
#include "reckon/io/text.hpp"
#include "reckon/prep/split.hpp"

namespace reckon::cli {
namespace {

struct EvaluateFlags {
  index_t foldin_count = -1;  // users: favourites given per held-out user (-1: the fraction)
  std::string data, train, test;
  std::string split = "random";
  SplitOptions split_options;
  std::string cutoff;
  std::string models;
  std::vector<std::string> params;
  std::string ks = "20";
  std::string metrics;
  std::string json, md, svg;
  index_t sampled = 0;
  std::string sampler = "uniform";
  bool graded = false;
  index_t cold_threshold = 5;
  int threads = 0;
  ImportFlags import_flags;
  PrepFlags prep_flags;
};

void run(const EvaluateFlags& f) {
  // The data: a predefined train/test pair, or one source split here.
  Split split;
  SplitKind kind;
  const bool predefined = !f.train.empty() || !f.test.empty();
  if (predefined) {
    RECKON_CHECK(!f.train.empty() && !f.test.empty(),
                 "a predefined split needs both --train and --test");
    RECKON_CHECK(f.data.empty(), "give either --data or --train/--test, not both");
    kind = SplitKind::kPredefined;
    PredefinedSplit p = import_predefined_split(
        resolve_data_source(f.train), resolve_data_source(f.test), f.import_flags.resolve());
    split.train = std::move(p.train);
    split.test = std::move(p.test);
  } else {
    RECKON_CHECK(!f.data.empty(), "give --data SOURCE, or --train FILE --test FILE");
    kind = parse_split_kind(f.split);
    Dataset d = read_data(f.data, f.import_flags);
    FilterOptions filters = f.prep_flags.filters;
    filters.min_rating = f.prep_flags.min_rating;
    if (filters.active()) d = apply_filters(d, filters);
    SplitOptions so = f.split_options;
    so.kind = kind;
    if (f.foldin_count >= 0) so.foldin_count = f.foldin_count;
    if (!f.cutoff.empty()) {
      auto t = parse_timestamp(f.cutoff);
      RECKON_CHECK(t.has_value(), "--cutoff: expected an ISO 8601 date or unix seconds, got \"{}\"",
                   f.cutoff);
      so.cutoff_time = *t;
    }
    split = split_dataset(d, so);
  }
  // Weights shape what models learn from; the test part keeps its raw values (ratings).
  PrepFlags weights_only = f.prep_flags;
  weights_only.filters = {};
  weights_only.min_rating.reset();
  auto train = std::make_shared<const Dataset>(apply_prep(std::move(split.train), weights_only));

  EvalOptions eo;
  eo.ks.clear();
  for (const auto& k : split_list(f.ks)) {
    auto v = parse_int(k);
    RECKON_CHECK(v && *v >= 1, "-k: expected positive integers separated by commas, got \"{}\"",
                 f.ks);
    eo.ks.push_back(static_cast<std::size_t>(*v));
  }
  eo.metrics = split_list(f.metrics);
  if (eo.metrics.size() == 1 && eo.metrics[0] == "all") {
    eo.metrics.clear();
    for (const auto& m : registered_metrics()) eo.metrics.push_back(m.name);
  }
  for (const auto& m : eo.metrics) find_metric(m);
  eo.sampled = f.sampled > 0;
  eo.negatives = f.sampled;
  RECKON_CHECK(f.sampler == "uniform" || f.sampler == "popularity",
               "--sampler: expected uniform or popularity, got \"{}\"", f.sampler);
  eo.popularity_negatives = f.sampler == "popularity";
  eo.seed = f.split_options.seed;
  eo.graded = f.graded;
  eo.cold_threshold = f.cold_threshold;
  eo.threads = set_thread_budget(f.threads);
  eo.progress = Progress::enabled();

  const auto models = split_list(f.models);
  RECKON_CHECK(!models.empty(), "--models: name at least one model (see reckon train --list)");
  for (const auto& m : models) find_model(m);
  const ModelParams params = parse_model_params(f.params, models);

  Report report;
  report.dataset = describe_dataset(train->name, train->num_users(), train->num_items(),
                                    train->num_interactions(), split.test.nnz());
  report.protocol = {{"split", std::string(to_string(kind))},
                     {"k", eo.ks},
                     {"candidates", candidates_label(eo)},
                     {"seed", eo.seed},
                     {"relevance", eo.graded ? "graded" : "binary"}};
  if (!predefined && kind != SplitKind::kLeaveLastN)
    report.protocol["test_fraction"] = f.split_options.test_fraction;
  if (kind == SplitKind::kUsers) {
    if (f.foldin_count >= 0)
      report.protocol["foldin_count"] = f.foldin_count;
    else
      report.protocol["foldin_fraction"] = f.split_options.foldin_fraction;
  }
  if (kind == SplitKind::kLeaveLastN) report.protocol["last_n"] = f.split_options.last_n;

  for (const auto& name : models) {
    reset_peak_rss();
    FitContext ctx;
    ctx.seed = f.split_options.seed;
    ctx.threads = eo.threads;
    auto it = params.find(name);
    spdlog::info("fitting {}", name);
    TrainedModel t = train_model(
        name, train, it == params.end() ? std::map<std::string, std::string>{} : it->second, ctx);
    EvalResult r = evaluate(*t.model, *train, split.test, split.foldin, eo);
    ModelReport m;
    m.name = name;
    m.params = t.params.to_json();
    m.fit_seconds = t.fit_seconds;
    m.evaluate_seconds = r.seconds;
    m.peak_rss_mb = peak_rss_mb();
    m.users = r.users;
    m.metrics = r.metrics;
    report.protocol["users_evaluated"] = r.users;
    report.models.push_back(std::move(m));
  }
  fmt::print("{}", to_console(report));
  if (!f.json.empty()) write_file_atomic(f.json, to_json(report).dump(2) + "\n");
  if (!f.md.empty()) write_file_atomic(f.md, to_markdown(report));
  if (!f.svg.empty()) write_file_atomic(f.svg, to_svg(report));
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("evaluate", "fit models on a train part and evaluate them on a test part");
  static EvaluateFlags f;
  cmd->add_option("--data", f.data, "a .rkd file, raw source or known dataset name, split here");
  cmd->add_option("--train", f.train, "predefined split: the training file");
  cmd->add_option("--test", f.test, "predefined split: the test file");
  cmd->add_option("--split", f.split, "random, time, last, global-time, users, cold-items")
      ->capture_default_str();
  cmd->add_option("--test-fraction", f.split_options.test_fraction,
                  "share of interactions (random, time, global-time), of users (users) or of items "
                  "(cold-items)")
      ->capture_default_str();
  cmd->add_option("--last-n", f.split_options.last_n, "last: interactions per user held out")
      ->capture_default_str();
  cmd->add_option("--cutoff", f.cutoff, "global-time: ISO 8601 date or unix seconds");
  cmd->add_option("--foldin-fraction", f.split_options.foldin_fraction,
                  "users: share of each held-out user's history given to the model")
      ->capture_default_str();
  cmd->add_option("--foldin-count", f.foldin_count,
                  "users: give exactly this many of each held-out user's earliest interactions "
                  "(0: none, only their features) instead of --foldin-fraction");
  cmd->add_option("--seed", f.split_options.seed, "seed of the split, the models and the sampler")
      ->capture_default_str();
  cmd->add_option("--models", f.models, "comma-separated model names")->required();
  cmd->add_option("-p,--param", f.params, "model parameter: MODEL.KEY=VALUE (repeatable)");
  cmd->add_option("-k", f.ks, "cut-offs, comma-separated, e.g. 5,10,20")->capture_default_str();
  cmd->add_option("--metrics", f.metrics,
                  "comma-separated metric names, or all (default: the contract's set)");
  cmd->add_option("--sampled", f.sampled,
                  "sampled ranking: N negatives per user (0: full ranking)");
  cmd->add_option("--sampler", f.sampler, "negatives for --sampled: uniform or popularity")
      ->capture_default_str();
  cmd->add_flag("--graded", f.graded, "NDCG with the test ratings as graded relevance");
  cmd->add_option("--cold-threshold", f.cold_threshold,
                  "coldcoverage: users with at most this many training items")
      ->capture_default_str();
  cmd->add_option(
      "--threads", f.threads,
      "threads: the whole budget, BLAS and Eigen included (0: the CPUs this process may use)");
  cmd->add_option("--json", f.json, "write the report as JSON");
  cmd->add_option("--md", f.md, "write the report as a Markdown table");
  cmd->add_option("--svg", f.svg, "write the report as an SVG bar chart");
  add_import_flags(cmd, f.import_flags);
  add_prep_flags(cmd, f.prep_flags);
  cmd->callback([] { run(f); });
}

}  // namespace reckon::cli
