#pragma once
// reckon tune: a search over a model's parameters on a validation part carved from the
// training data, then one refit on all of it and one evaluation on test. The search is given
// the validation part only; the test part is opened through a callback after it ends.
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reckon/core/dataset.hpp"
#include "reckon/eval/evaluator.hpp"
#include "reckon/eval/report.hpp"
#include "reckon/prep/split.hpp"
#include "reckon/tune/search_space.hpp"

namespace reckon {

struct TuneOptions {
  std::string model;
  std::map<std::string, std::string> fixed;  // -p values every trial keeps
  SearchSpace space;
  std::string metric;          // e.g. "ndcg@20"; empty: ndcg@20, or rmse for rating models
  std::size_t max_trials = 0;  // 0: no limit (max_seconds then)
  double max_seconds = 0;      // 0: no limit; no trial starts that would likely overrun it
  std::string search = "tpe";  // tpe (Bayesian: tree-structured Parzen estimator) or random
  std::size_t startup_trials = 8;  // tpe: random trials before the model guides the search
  // Fit each trial on a quarter of its iterations/epochs first and stop it there when it
  // scores below the median of the trials before it at that point.
  bool early_stopping = true;
  std::uint64_t seed = 42;
  int threads = 0;
  bool progress = true;
  std::function<void(const struct Trial&)> on_trial;  // after each trial (tests, dashboards)
};

struct Trial {
  std::size_t number = 0;  // 1-based
  std::map<std::string, std::string> params;
  double score = std::numeric_limits<double>::quiet_NaN();  // on validation
  std::optional<double> early_score;                        // at the reduced budget
  bool stopped = false;                                     // stopped early
  double seconds = 0;
  std::string error;  // a trial whose parameters fail is recorded, not fatal
};

struct SearchResult {
  std::string metric;
  bool maximize = true;
  std::vector<Trial> trials;
  std::optional<std::size_t> best;  // index into trials
  double seconds = 0;
  std::string budget_param;  // the parameter early stopping reduced, if any
};

// The search alone: every trial fits on `train` and is scored on `validation`.
SearchResult search_parameters(const std::shared_ptr<const Dataset>& train,
                               const CsrMatrix& validation, const CsrMatrix& validation_foldin,
                               const TuneOptions& options);

struct TuneInputs {
  Dataset train;               // filtered, not weighted; the validation part is carved from it
  SplitOptions validation;     // kind (last, random, time, users), fraction, seed
  // Weights for a training part (identity when none).
  std::function<std::shared_ptr<const Dataset>(Dataset)> prepare;
  // The test part, in the id space of the dataset given: called once, after the search.
  std::function<std::pair<CsrMatrix, CsrMatrix>(const Dataset&)> open_test;
  EvalOptions test_eval;  // metrics and k of the final evaluation
};

struct TuneOutcome {
  SearchResult search;
  nlohmann::json validation_protocol;
  Report test;  // two rows: the best configuration and the defaults, refitted on all of train
};

TuneOutcome tune(TuneInputs inputs, const TuneOptions& options);

// The trials as a console table, Markdown, JSON and an SVG (score per trial, the best so far).
std::string trials_table(const SearchResult& result);
std::string trials_markdown(const SearchResult& result, const TuneOptions& options);
nlohmann::json trials_json(const SearchResult& result, const TuneOptions& options);
std::string trials_svg(const SearchResult& result, const TuneOptions& options);

}  // namespace reckon
