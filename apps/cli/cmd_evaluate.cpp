#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <utility>

#include "commands.hpp"
#include "distributed_run.hpp"
#include "eval_data.hpp"
#include "model_flags.hpp"
#include "prep_flags.hpp"
#include "provenance.hpp"
#include "reckon/core/distributed.hpp"
#include "reckon/core/error.hpp"
#include "reckon/core/files.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/threads.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/eval/metrics.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/io/text.hpp"
#include "reckon/retrieval/ann_options.hpp"

namespace reckon::cli {
namespace {

struct EvaluateFlags {
  EvalDataFlags data;
  std::vector<std::string> saved;  // --model FILE.rkm
  std::string models;
  std::vector<std::string> params;
  std::string ks = "20";
  std::string metrics;
  std::string json, md, svg;
  index_t sampled = 0;
  std::string sampler = "uniform";
  bool graded = false;
  bool include_seen = false;
  index_t cold_threshold = 5;
  int threads = 0;
  std::string ann = "off";
  AnnOptions ann_options;
  bool distributed = false;
};

// --ann: factor models search their lists with an approximate index where the options say so;
// the row records which.
void search_as_asked(const EvaluateFlags& f, Model& model, ModelReport& row) {
  AnnOptions o = f.ann_options;
  o.mode = parse_ann_mode(f.ann);
  if (o.mode == AnnMode::kOff) return;
  const auto how = use_ann(model, o);
  if (how && *how != "exact") row.retrieval = *how;
  spdlog::info("{}: {} search", row.name, how ? *how : "its own");
}

EvalOptions eval_options(const EvaluateFlags& f) {
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
  eo.seed = f.data.split_options.seed;
  eo.graded = f.graded;
  eo.include_seen = f.include_seen;
  eo.cold_threshold = f.cold_threshold;
  eo.threads = set_thread_budget(f.threads);
  eo.progress = Progress::enabled();
  return eo;
}

// Test interactions that repeat an item of the user's history (an event log's "last" split)
// are never ranked unless --include-seen: say so once, and in the report.
void note_repeats(const EvalResult& r, const EvalOptions& eo, index_t test_size,
                  nlohmann::json& protocol) {
  if (r.test_in_history == 0) return;
  protocol["test_in_history"] = r.test_in_history;
  static bool warned = false;
  if (eo.include_seen || std::exchange(warned, true)) return;
  spdlog::warn("{} of {} test interactions repeat an item of the user's history: they are not "
               "ranked, so they count as misses; --include-seen ranks seen items too",
               r.test_in_history, test_size);
}

// Whether any metric asked for ranks (else the report has no "candidates").
bool ranks(const EvalOptions& eo) {
  const auto names = eo.metrics.empty() ? default_metrics() : eo.metrics;
  for (const auto& n : names)
    if (find_metric(n).kind != MetricKind::kRating) return true;
  return false;
}

// Metrics asked for by name that `model` cannot produce (RMSE of a ranking model): a warning
// before minutes of fitting, and no row at all when nothing asked for applies.
bool applies(const Model& model, const std::string& label, const EvalOptions& eo) {
  if (eo.metrics.empty() || model.predicts_ratings()) return true;
  std::vector<std::string> rating;
  for (const auto& n : eo.metrics)
    if (find_metric(n).kind == MetricKind::kRating) rating.push_back(n);
  if (rating.empty()) return true;
  const bool any_other = rating.size() < eo.metrics.size();
  std::string list;
  for (const auto& r : rating) list += (list.empty() ? "" : ", ") + r;
  spdlog::warn("{}: {} {} not apply to {} (it ranks items, it does not predict ratings){}", label,
               list, rating.size() == 1 ? "does" : "do", model.name(),
               any_other ? ": left out of its row" : ": skipped");
  return any_other;
}

void write_outputs(const EvaluateFlags& f, const Report& report) {
  // Distributed: every rank holds the same report; rank 0 writes it.
  if (const Communicator* comm = distributed(); comm && comm->rank() != 0) return;
  fmt::print("{}", to_console(report));
  if (!f.json.empty()) write_file_atomic(f.json, to_json(report).dump(2) + "\n");
  if (!f.md.empty()) write_file_atomic(f.md, to_markdown(report));
  if (!f.svg.empty()) write_file_atomic(f.svg, to_svg(report));
}

// Saved models on a test file: each model's own training data (inside its .rkm) is the
// history, the test part is matched to it by id.
void run_saved(const EvaluateFlags& f, const EvalOptions& eo) {
  RECKON_CHECK(!f.data.test.empty(), "--model FILE.rkm: give the --test data to evaluate on");
  RECKON_CHECK(f.data.data.empty() && f.data.train.empty() && f.models.empty(),
               "--model FILE.rkm evaluates saved models on --test; --data, --train and --models "
               "fit new ones: use one or the other");
  const Dataset test = read_data(f.data.test, f.data.import_flags);
  Report report;
  std::vector<std::string> sources = {f.data.test};
  for (const auto& file : f.saved) {
    reset_peak_rss();
    TrainedModel t = load_model_file(file);
    const std::string label = fmt::format("{} ({})", t.model->name(),
                                          std::filesystem::path(file).filename().string());
    if (!applies(*t.model, label, eo)) continue;
    const CsrMatrix matrix = aligned_to(test, *t.train, f.data.test);
    CsrMatrix foldin;
    if (!f.data.foldin.empty())
      foldin = aligned_to(read_data(f.data.foldin, f.data.import_flags), *t.train, f.data.foldin);
    ModelReport searched;
    searched.name = label;
    search_as_asked(f, *t.model, searched);
    EvalResult r = evaluate(*t.model, *t.train, matrix, foldin, eo);
    note_repeats(r, eo, matrix.nnz(), report.protocol);
    t.fit_seconds = 0;  // fitted elsewhere
    report.models.push_back(report_row(label, t, r));
    report.models.back().retrieval = searched.retrieval;
    if (report.dataset.is_null())
      report.dataset = describe_dataset(t.train->name, t.train->num_users(), t.train->num_items(),
                                        t.train->num_interactions(), matrix.nnz());
    report.protocol["users_evaluated"] = r.users;
  }
  RECKON_CHECK(!report.models.empty(), "no model left to evaluate (see the warnings above)");
  report.protocol["split"] = "saved-model";
  report.protocol["k"] = eo.ks;
  if (ranks(eo)) report.protocol["candidates"] = candidates_label(eo);
  report.protocol["seed"] = eo.seed;
  report.protocol["relevance"] = eo.graded ? "graded" : "binary";
  report.protocol["models_from"] = f.saved;
  report.provenance = provenance(sources, f.data.prep_flags);
  write_outputs(f, report);
}

void run_here(const EvaluateFlags& f);

// mpirun -np N reckon evaluate ... --distributed: each rank scores its share of the test users
// (and ials trains across the ranks; other models fit on each rank alike); rank 0 writes the
// report. An error on any rank ends the job.
void run(const EvaluateFlags& f) {
  if (!f.distributed) return run_here(f);
  run_distributed([&](Communicator&) { run_here(f); });
}

void run_here(const EvaluateFlags& f) {
  const EvalOptions eo = eval_options(f);
  if (!f.saved.empty()) return run_saved(f, eo);
  const auto specs = parse_model_specs(f.models, f.params);

  TrainPart part = load_train_part(f.data);
  nlohmann::json protocol = part.protocol;
  HeldOut held;
  Dataset train = std::move(part.train);
  if (!f.data.validation.empty()) {
    // Tuning by hand: the figures come from a part of the training data; test is never read.
    Carved c = carve_validation(train, f.data);
    train = std::move(c.train);
    held = std::move(c.validation);
    protocol["evaluated_on"] = "validation";
    part.sources.resize(1);  // the training data only: the test part was not read
    protocol["validation"] = c.protocol;
  } else {
    held = part.test(train);
    protocol["evaluated_on"] = "test";
  }
  const auto data = weighted(std::move(train), f.data.prep_flags);

  Report report;
  report.dataset = describe_dataset(data->name, data->num_users(), data->num_items(),
                                    data->num_interactions(), held.test.nnz());
  report.protocol = protocol;
  report.protocol["k"] = eo.ks;
  if (ranks(eo)) report.protocol["candidates"] = candidates_label(eo);
  report.protocol["relevance"] = eo.graded ? "graded" : "binary";

  for (const auto& spec : specs) {
    if (!applies(*make_model(spec.model), spec.label, eo)) continue;
    reset_peak_rss();
    FitContext ctx;
    ctx.seed = f.data.split_options.seed;
    ctx.threads = eo.threads;
    spdlog::info("fitting {}", spec.label);
    TrainedModel t = train_model(spec.model, data, spec.params, ctx);
    ModelReport searched;
    searched.name = spec.label;
    search_as_asked(f, *t.model, searched);
    EvalResult r = evaluate(*t.model, *data, held.test, held.foldin, eo, &held.foldin_events);
    note_repeats(r, eo, held.test.nnz(), report.protocol);
    report.protocol["users_evaluated"] = r.users;
    report.models.push_back(report_row(spec.label, t, r));
    report.models.back().retrieval = searched.retrieval;
  }
  RECKON_CHECK(!report.models.empty(), "no model left to evaluate (see the warnings above)");
  report.provenance = provenance(part.sources, f.data.prep_flags);
  write_outputs(f, report);
}

}  // namespace

void add_evaluate_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "evaluate", "fit models on a train part and evaluate them on a test part, or evaluate saved "
                  "models");
  static EvaluateFlags f;
  add_eval_data_flags(cmd, f.data);
  cmd->add_option("--models", f.models,
                  "models, comma-separated; a row may be labelled and given parameters: "
                  "ials:f64=ials(factors=64),ials:f128=ials(factors=128)");
  cmd->add_option("--model", f.saved,
                  "a saved model (.rkm) to evaluate on --test instead of fitting (repeatable)");
  cmd->add_option("-p,--param", f.params,
                  "model parameter: LABEL.KEY=VALUE or MODEL.KEY=VALUE (repeatable)");
  cmd->add_option("-k", f.ks, "cut-offs, comma-separated, e.g. 5,10,20")->capture_default_str();
  cmd->add_option("--metrics", f.metrics,
                  "comma-separated metric names, or all (default: the contract's set)");
  cmd->add_option("--sampled", f.sampled,
                  "sampled ranking: N negatives per user (0: full ranking)");
  cmd->add_option("--sampler", f.sampler, "negatives for --sampled: uniform or popularity")
      ->capture_default_str();
  cmd->add_flag("--graded", f.graded, "NDCG with the test ratings as graded relevance");
  cmd->add_flag("--include-seen", f.include_seen,
                "rank every item, the user's history included (session logs with repeats: the "
                "next click may be a re-click); by default seen items are not ranked");
  cmd->add_option("--cold-threshold", f.cold_threshold,
                  "coldcoverage: users with at most this many training items")
      ->capture_default_str();
  cmd->add_option(
      "--threads", f.threads,
      "threads: the whole budget, BLAS and Eigen included (0: the CPUs this process may use)");
  cmd->add_option("--ann", f.ann,
                  "approximate search of the factor models' lists: off (exact), auto (from "
                  "--ann-min-items items on) or on")
      ->capture_default_str();
  cmd->add_option("--ann-min-items", f.ann_options.min_items,
                  "--ann auto: the catalogue size from which the search is approximate")
      ->capture_default_str();
  cmd->add_option("--ann-nlist", f.ann_options.nlist,
                  "inverted lists of the approximate index (0: 2 sqrt(items))")
      ->capture_default_str();
  cmd->add_option("--ann-nprobe", f.ann_options.nprobe,
                  "lists scanned per query (0: nlist / 32, at least 16): more is slower and "
                  "finds more of the exact list")
      ->capture_default_str();
  cmd->add_flag("--distributed", f.distributed,
                "evaluate across the processes of an MPI job (mpirun -np N reckon evaluate ... "
                "--distributed): each scores a share of the users, ials trains across them");
  cmd->add_option("--json", f.json, "write the report as JSON");
  cmd->add_option("--md", f.md, "write the report as a Markdown table");
  cmd->add_option("--svg", f.svg, "write the report as an SVG bar chart");
  cmd->callback([] {
    RECKON_CHECK(!f.models.empty() || !f.saved.empty(),
                 "give --models NAMES to fit, or --model FILE.rkm to evaluate saved models");
    run(f);
  });
}

}  // namespace reckon::cli
