// reckon tune MODEL: search on a validation part carved from train, refit, test once.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "eval_data.hpp"
#include "model_flags.hpp"
#include "provenance.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/metrics.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/model.hpp"
#include "reckon/tune/tuner.hpp"

namespace reckon::cli {
namespace {

struct TuneFlags {
  std::string model;
  EvalDataFlags data;
  std::string budget = "20";
  std::string metric;
  std::string search = "tpe";
  std::string space;
  std::size_t startup = 8;
  bool no_early_stopping = false;
  std::vector<std::string> params;
  std::string ks;
  int threads = 0;
  std::string json, md, svg;
};

// The validation part's kind by default: the kind of the test split where it has one.
std::string default_validation(SplitKind test) {
  switch (test) {
    case SplitKind::kUsers:
    case SplitKind::kLastSessions: return "users";  // held-out users (sessions) in both
    case SplitKind::kMasks: return "masks";
    case SplitKind::kLeaveLastN: return "last";
    case SplitKind::kUserTime:
    case SplitKind::kGlobalTime: return "time";
    default: return "random";
  }
}

void run(TuneFlags& f) {
  TuneOptions o;
  o.model = f.model;
  find_model(o.model);
  {
    ModelParams fixed = parse_model_params(f.params, {o.model});
    o.fixed = std::move(fixed[o.model]);
  }
  o.space = default_search_space(o.model);
  if (!f.space.empty()) o.space = parse_search_space(f.space, o.model, std::move(o.space));
  for (const auto& d : o.space)
    RECKON_CHECK(!o.fixed.contains(d.param),
                 "-p {}: this parameter is searched; leave it out of -p, or narrow it with "
                 "--space {}=LO:HI",
                 d.param, d.param);
  if (auto n = parse_int(f.budget)) {
    RECKON_CHECK(*n >= 1 && *n <= 100000, "--budget: expected a number of trials >= 1, got {}",
                 f.budget);
    o.max_trials = static_cast<std::size_t>(*n);
  } else {
    auto s = parse_duration(f.budget);
    RECKON_CHECK(s && *s > 0, "--budget: expected N trials or a time (90s, 30m, 2h), got \"{}\"",
                 f.budget);
    o.max_seconds = *s;
  }
  o.metric = f.metric;
  o.search = f.search;
  o.startup_trials = f.startup;
  o.early_stopping = !f.no_early_stopping;
  o.seed = f.data.split_options.seed;
  o.threads = set_thread_budget(f.threads);
  o.progress = Progress::enabled();

  TrainPart part = load_train_part(f.data);
  TuneInputs in;
  in.train = std::move(part.train);
  in.validation = f.data.split_options;
  const std::string vkind =
      f.data.validation.empty() ? default_validation(part.kind) : f.data.validation;
  in.validation.kind = parse_split_kind(vkind);
  RECKON_CHECK(in.validation.kind == SplitKind::kLeaveLastN ||
                   in.validation.kind == SplitKind::kRandom ||
                   in.validation.kind == SplitKind::kUserTime ||
                   in.validation.kind == SplitKind::kUsers,
               "--validation: expected last, random, time or users, got \"{}\"", vkind);
  in.validation.test_fraction = f.data.validation_fraction;
  in.validation.last_n = 1;
  const PrepFlags prep = f.data.prep_flags;
  in.prepare = [prep](Dataset d) { return weighted(std::move(d), prep); };
  auto open_test = std::move(part.test);
  in.open_test = [open_test](const Dataset& train) {
    spdlog::info("search done: reading the test part (used once per row below)");
    HeldOut h = open_test(train);
    return std::pair<CsrMatrix, CsrMatrix>{std::move(h.test), std::move(h.foldin)};
  };
  in.test_eval.ks.clear();
  for (const auto& k : split_list(f.ks.empty() ? "10,20" : f.ks)) {
    auto v = parse_int(k);
    RECKON_CHECK(v && *v >= 1, "-k: expected positive integers, got \"{}\"", f.ks);
    in.test_eval.ks.push_back(static_cast<std::size_t>(*v));
  }
  if (make_model(o.model)->predicts_ratings()) in.test_eval.metrics = {"rmse", "mae"};
  in.test_eval.seed = o.seed;
  spdlog::info("tuning {} over {} ({} search, {})", o.model, describe(o.space), o.search,
               o.max_trials > 0 ? fmt::format("{} trials", o.max_trials)
                                : fmt::format("{:.0f} s", o.max_seconds));

  const auto ks = in.test_eval.ks;
  TuneOutcome out = tune(std::move(in), o);
  Report& r = out.test;
  const nlohmann::json users_evaluated = r.protocol.value("users_evaluated", nlohmann::json());
  r.protocol = part.protocol;
  r.protocol["users_evaluated"] = users_evaluated;
  r.protocol["k"] = ks;
  if (!make_model(o.model)->predicts_ratings()) r.protocol["candidates"] = "all-unseen";
  r.protocol["relevance"] = "binary";
  r.protocol["evaluated_on"] = "test";
  r.protocol["test_used"] =
      "once per row, after the search; nothing was chosen on it (the search saw only the "
      "validation part)";
  r.protocol["validation"] = out.validation_protocol;
  r.protocol["tuned_on"] = {{"metric", out.search.metric},
                            {"trials", out.search.trials.size()},
                            {"seconds", out.search.seconds},
                            {"budget", f.budget},
                            {"search", o.search}};
  r.provenance = provenance(part.sources, f.data.prep_flags);

  fmt::print("{}\n", trials_table(out.search));
  fmt::print("{}", to_console(r));
  fmt::print("\ntest was used once per row, after the search; {} trials in {:.0f} s chose the "
             "parameters on a validation part carved from train.\n",
             out.search.trials.size(), out.search.seconds);
  if (!f.json.empty()) {
    nlohmann::json j = {{"search", trials_json(out.search, o)}, {"test", to_json(r)}};
    write_file_atomic(f.json, j.dump(2) + "\n");
  }
  if (!f.md.empty())
    write_file_atomic(f.md, trials_markdown(out.search, o) + "\n" + to_markdown(r));
  if (!f.svg.empty()) write_file_atomic(f.svg, trials_svg(out.search, o));
}

}  // namespace

void add_tune_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "tune",
      "search a model's parameters on a validation part carved from train, refit the best on all "
      "of train, evaluate it once on test");
  static TuneFlags f;
  cmd->add_option("MODEL", f.model, "the model to tune (see reckon train --list)")->required();
  add_eval_data_flags(cmd, f.data);
  cmd->add_option("--budget", f.budget, "trials (20) or time (90s, 30m, 2h)")
      ->capture_default_str();
  cmd->add_option("--metric", f.metric,
                  "what the search optimises on validation (default: ndcg@20; rmse for rating "
                  "models)");
  cmd->add_option("--search", f.search, "tpe (Bayesian) or random")->capture_default_str();
  cmd->add_option("--space", f.space,
                  "override or add ranges: factors=16:256:log,alpha=1:100,similarity=cosine|jaccard");
  cmd->add_option("--startup", f.startup, "tpe: random trials before the model guides the search")
      ->capture_default_str();
  cmd->add_flag("--no-early-stopping", f.no_early_stopping,
                "fit every trial fully (default: stop trials that lag the median at a quarter of "
                "their iterations)");
  cmd->add_option("-p,--param", f.params, "a fixed parameter KEY=VALUE for every trial");
  cmd->add_option("-k", f.ks, "cut-offs of the test evaluation (default 10,20)");
  cmd->add_option(
      "--threads", f.threads,
      "threads: the whole budget, BLAS and Eigen included (0: the CPUs this process may use)");
  cmd->add_option("--json", f.json, "write the trials and the test report as JSON");
  cmd->add_option("--md", f.md, "write the trials and the test report as Markdown");
  cmd->add_option("--svg", f.svg, "write the trials as an SVG chart");
  cmd->callback([] { run(f); });
}

}  // namespace reckon::cli
