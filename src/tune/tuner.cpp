#include "reckon/tune/tuner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/eval/metrics.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/model.hpp"

namespace reckon {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// "ndcg@20" -> metric "ndcg", k 20; "rmse" -> k 0.
std::pair<std::string, std::size_t> split_metric(const std::string& metric) {
  const auto at = metric.find('@');
  const std::string base = metric.substr(0, at);
  const MetricInfo& info = find_metric(base);
  if (info.kind == MetricKind::kRating || info.kind == MetricKind::kScores) {
    RECKON_CHECK(at == std::string::npos, "--metric {}: {} takes no @k", metric, base);
    return {base, 0};
  }
  RECKON_CHECK(at != std::string::npos, "--metric {}: give a cut-off, e.g. {}@20", metric, base);
  auto k = parse_int(metric.substr(at + 1));
  RECKON_CHECK(k && *k >= 1 && *k <= 100000, "--metric {}: expected {}@K with K >= 1", metric,
               base);
  return {base, static_cast<std::size_t>(*k)};
}

bool lower_is_better(const std::string& base) { return base == "rmse" || base == "mae"; }

// Tree-structured Parzen estimator (Bergstra et al. 2011), dimensions independent: candidates
// drawn around the best quarter of the trials, kept where the density of good trials over that
// of the others is highest.
class Sampler {
 public:
  Sampler(const SearchSpace& space, const TuneOptions& o) : space_(space), o_(o), rng_(o.seed) {}

  // The next configuration not tried yet; nullopt when none can be found (a small space tried
  // out: integers, choices or ranges clamped at their ends).
  std::optional<std::map<std::string, std::string>> next(const std::vector<Trial>& done,
                                                         bool maximize) {
    const auto tried = [&](const std::map<std::string, std::string>& p) {
      return std::any_of(done.begin(), done.end(), [&](const Trial& t) { return t.params == p; });
    };
    auto guided = propose(done, maximize, tried);
    if (guided) return guided;
    for (int attempt = 0; attempt < 50; ++attempt) {
      auto u = uniform();
      if (!tried(u)) return u;
    }
    return std::nullopt;
  }

 private:
  template <typename Tried>
  std::optional<std::map<std::string, std::string>> propose(const std::vector<Trial>& done,
                                                            bool maximize, const Tried& tried) {
    std::vector<const Trial*> scored;
    for (const auto& t : done)
      if (std::isfinite(value_of(t))) scored.push_back(&t);
    if (o_.search == "random" || scored.size() < std::max<std::size_t>(o_.startup_trials, 2))
      return std::nullopt;
    std::sort(scored.begin(), scored.end(), [&](const Trial* a, const Trial* b) {
      return maximize ? value_of(*a) > value_of(*b) : value_of(*a) < value_of(*b);
    });
    const std::size_t n_good =
        std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(0.25 * scored.size())));
    std::vector<std::vector<double>> good, bad;
    for (std::size_t i = 0; i < scored.size(); ++i)
      (i < n_good ? good : bad).push_back(units(*scored[i]));
    const double bw = std::max(0.08, 0.5 / std::sqrt(static_cast<double>(scored.size())));
    std::uniform_real_distribution<double> unit(0, 1);
    std::normal_distribution<double> noise(0, bw);
    std::optional<std::map<std::string, std::string>> best;
    double best_ratio = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < 24; ++c) {
      std::vector<double> x(space_.size());
      const auto& centre = good[static_cast<std::size_t>(unit(rng_) * good.size()) % good.size()];
      for (std::size_t d = 0; d < space_.size(); ++d) {
        if (space_[d].type == ParamType::kString)
          x[d] = unit(rng_) < 0.8 ? centre[d] : unit(rng_);
        else
          x[d] = std::clamp(centre[d] + noise(rng_), 0.0, 1.0);
      }
      double ratio = 0;
      for (std::size_t d = 0; d < space_.size(); ++d)
        ratio += std::log(density(good, d, x[d], bw)) - std::log(density(bad, d, x[d], bw));
      if (ratio <= best_ratio) continue;
      std::map<std::string, std::string> params;
      for (std::size_t d = 0; d < space_.size(); ++d)
        params[space_[d].param] = from_unit(space_[d], x[d]);
      if (tried(params)) continue;
      best_ratio = ratio;
      best = std::move(params);
    }
    return best;
  }

  std::map<std::string, std::string> uniform() {
    std::uniform_real_distribution<double> unit(0, 1);
    std::map<std::string, std::string> out;
    for (const auto& d : space_) out[d.param] = from_unit(d, unit(rng_));
    return out;
  }

  // A stopped trial ranks by its reduced-budget score: it is among the bad ones.
  static double value_of(const Trial& t) {
    return t.stopped && t.early_score ? *t.early_score : t.score;
  }
  std::vector<double> units(const Trial& t) const {
    std::vector<double> x;
    for (const auto& d : space_) {
      auto it = t.params.find(d.param);
      x.push_back(it == t.params.end() ? 0.5 : to_unit(d, it->second));
    }
    return x;
  }
  // Parzen density at x of dimension d over `points`, with a uniform prior as one more point.
  double density(const std::vector<std::vector<double>>& points, std::size_t d, double x,
                 double bw) const {
    const double n = static_cast<double>(points.size()) + 1;
    if (space_[d].type == ParamType::kString) {
      const auto k = static_cast<double>(space_[d].choices.size());
      const auto bucket = [&](double u) { return std::min(k - 1, std::floor(u * k)); };
      double same = 1.0 / k;  // the uniform prior's share of this choice
      for (const auto& p : points) same += bucket(p[d]) == bucket(x) ? 1.0 : 0.0;
      return same / n + 1e-12;
    }
    double s = 1.0;  // uniform prior on [0, 1]
    for (const auto& p : points) {
      const double z = (x - p[d]) / bw;
      s += std::exp(-0.5 * z * z) / (bw * std::sqrt(2 * M_PI));
    }
    return s / n + 1e-12;
  }

  const SearchSpace& space_;
  const TuneOptions& o_;
  std::mt19937_64 rng_;
};

struct Scored {
  double score;
  double seconds;
};

Scored fit_and_score(const std::shared_ptr<const Dataset>& train, const CsrMatrix& validation,
                     const CsrMatrix& foldin, const std::map<std::string, std::string>& params,
                     const TuneOptions& o, const std::string& metric, const std::string& base,
                     std::size_t k) {
  const auto t0 = Clock::now();
  FitContext ctx;
  ctx.seed = o.seed;
  ctx.threads = o.threads;
  ctx.verbose = false;
  TrainedModel t = train_model(o.model, train, params, ctx);
  EvalOptions eo;
  eo.ks = {k == 0 ? 10 : k};
  eo.metrics = {base};
  eo.seed = o.seed;
  eo.threads = o.threads;
  eo.progress = false;
  EvalResult r = evaluate(*t.model, *train, validation, foldin, eo);
  auto it = r.metrics.find(metric);
  RECKON_CHECK(it != r.metrics.end(), "{} gives no {} (does it predict ratings?)", o.model,
               metric);
  return {it->second, since(t0)};
}

}  // namespace

SearchResult search_parameters(const std::shared_ptr<const Dataset>& train,
                               const CsrMatrix& validation, const CsrMatrix& foldin,
                               const TuneOptions& o) {
  RECKON_CHECK(!o.space.empty(),
               "{}: nothing to tune (no declared search space); give --space NAME=LO:HI,...",
               o.model);
  RECKON_CHECK(o.max_trials > 0 || o.max_seconds > 0,
               "tune: give a budget: a number of trials or a time (--budget 20 or 30m)");
  RECKON_CHECK(o.search == "tpe" || o.search == "random",
               "--search: expected tpe or random, got \"{}\"", o.search);
  validate_search_space(o.space, o.model);
  SearchResult res;
  const auto rating = make_model(o.model)->predicts_ratings();
  res.metric = o.metric.empty() ? (rating ? "rmse" : "ndcg@20") : o.metric;
  const auto [base, k] = split_metric(res.metric);
  res.maximize = !lower_is_better(base);
  res.budget_param = o.early_stopping ? budget_param(o.model) : std::string();
  for (const auto& d : o.space)
    if (d.param == res.budget_param) res.budget_param.clear();  // searched, not reduced
  std::int64_t full_budget = 0;
  if (!res.budget_param.empty()) {
    const Params defaults = Params::resolve(o.model, find_model(o.model).params, o.fixed);
    full_budget = defaults.get_int(res.budget_param);
    if (full_budget < 4) res.budget_param.clear();
  }
  const auto better = [&](double a, double b) { return res.maximize ? a > b : a < b; };

  Sampler sampler(o.space, o);
  const auto t0 = Clock::now();
  Progress bar(fmt::format("tune {}", o.model),
               o.max_trials > 0 ? static_cast<double>(o.max_trials) : o.max_seconds,
               o.max_trials > 0 ? "trials" : "s");
  std::vector<double> early_scores;
  for (std::size_t n = 1; o.max_trials == 0 || n <= o.max_trials; ++n) {
    if (o.max_seconds > 0) {
      // No trial starts that would likely end past the budget (the mean trial so far).
      const double spent = since(t0);
      const double mean = res.trials.empty() ? 0 : spent / static_cast<double>(res.trials.size());
      if (spent + mean > o.max_seconds) break;
    }
    auto proposal = sampler.next(res.trials, res.maximize);
    if (!proposal) {
      spdlog::info("every configuration of the space has been tried: the search ends at {} "
                   "trials", res.trials.size());
      break;
    }
    Trial trial;
    trial.number = n;
    trial.params = std::move(*proposal);
    std::map<std::string, std::string> params = o.fixed;
    for (const auto& [key, v] : trial.params) params[key] = v;
    const auto t1 = Clock::now();
    try {
      if (!res.budget_param.empty()) {
        auto early = params;
        early[res.budget_param] = std::to_string(std::max<std::int64_t>(1, full_budget / 4));
        trial.early_score =
            fit_and_score(train, validation, foldin, early, o, res.metric, base, k).score;
        if (early_scores.size() >= 3) {
          std::vector<double> sorted = early_scores;
          std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
          const double median = sorted[sorted.size() / 2];
          trial.stopped = !better(*trial.early_score, median) && *trial.early_score != median;
        }
        early_scores.push_back(*trial.early_score);
      }
      if (!trial.stopped)
        trial.score = fit_and_score(train, validation, foldin, params, o, res.metric, base, k).score;
    } catch (const InvalidInput& e) {
      trial.error = e.what();
    }
    trial.seconds = since(t1);
    res.trials.push_back(trial);
    const Trial& t = res.trials.back();
    if (o.on_trial) o.on_trial(t);
    if (std::isfinite(t.score) && (!res.best || better(t.score, res.trials[*res.best].score)))
      res.best = res.trials.size() - 1;
    std::string shown;
    for (const auto& [key, v] : t.params) shown += (shown.empty() ? "" : " ") + key + "=" + v;
    if (!t.error.empty())
      spdlog::warn("trial {}: {}: {}", n, shown, t.error);
    else if (t.stopped)
      spdlog::info("trial {}: {} -> stopped early at {} {} ({} {:.4f}) in {:.1f} s", n, shown,
                   full_budget / 4, res.budget_param, res.metric, *t.early_score, t.seconds);
    else
      spdlog::info("trial {}: {} -> {} {:.4f} (best {:.4f}) in {:.1f} s", n, shown, res.metric,
                   t.score, res.best ? res.trials[*res.best].score : t.score, t.seconds);
    bar.update(o.max_trials > 0 ? static_cast<double>(n) : since(t0));
  }
  bar.finish();
  res.seconds = since(t0);
  RECKON_CHECK(res.best.has_value(),
               "tune: no trial completed within the budget ({} tried; see the warnings)",
               res.trials.size());
  return res;
}

TuneOutcome tune(TuneInputs in, const TuneOptions& o) {
  TuneOutcome out;
  // 1. The validation part, carved from the training data; the search sees only these.
  Split carved = split_dataset(in.train, in.validation);
  RECKON_CHECK(carved.test.nnz() > 0, "tune: the validation part is empty");
  out.validation_protocol = {{"split", std::string(to_string(in.validation.kind))},
                             {"seed", in.validation.seed},
                             {"carved_from", "train"},
                             {"interactions", carved.test.nnz()}};
  if (in.validation.kind != SplitKind::kLeaveLastN)
    out.validation_protocol["fraction"] = in.validation.test_fraction;
  {
    auto inner = in.prepare(std::move(carved.train));
    out.search = search_parameters(inner, carved.test, carved.foldin, o);
  }
  // 2. The best configuration and the defaults, refitted on all of the training data, each
  // evaluated once on test: nothing is chosen on it.
  auto full = in.prepare(std::move(in.train));
  auto [test, foldin] = in.open_test(*full);
  Report& r = out.test;
  r.dataset = describe_dataset(full->name, full->num_users(), full->num_items(),
                               full->num_interactions(), test.nnz());
  const Trial& best = out.search.trials[*out.search.best];
  std::map<std::string, std::string> tuned = o.fixed;
  for (const auto& [k, v] : best.params) tuned[k] = v;
  const std::pair<std::string, std::map<std::string, std::string>> rows[] = {
      {o.model + " (tuned)", tuned}, {o.model + " (default)", o.fixed}};
  for (const auto& [label, params] : rows) {
    reset_peak_rss();
    FitContext ctx;
    ctx.seed = o.seed;
    ctx.threads = o.threads;
    spdlog::info("refitting {} on all of the training data", label);
    TrainedModel t = train_model(o.model, full, params, ctx);
    EvalOptions eo = in.test_eval;
    eo.progress = o.progress;
    eo.threads = o.threads;
    EvalResult e = evaluate(*t.model, *full, test, foldin, eo);
    r.protocol["users_evaluated"] = e.users;
    r.models.push_back(report_row(label, t, e));
  }
  return out;
}

}  // namespace reckon
