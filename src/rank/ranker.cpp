#include "reckon/rank/ranker.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>

#include "reckon/core/error.hpp"
#include "reckon/core/progress.hpp"
#include "reckon/core/random.hpp"
#include "reckon/io/text.hpp"
#include "reckon/models/user_context.hpp"

namespace reckon {
namespace {

constexpr std::size_t kMaxFeatures = 1u << 16;
constexpr std::size_t kMaxBoosterBytes = std::size_t{1} << 30;

std::vector<double> parse_windows(const std::string& text) {
  std::vector<double> out;
  std::vector<std::string_view> parts;
  split_plain(text, ",", parts);
  for (auto p : parts) {
    p = trim(p);
    if (p.empty()) continue;
    const auto v = parse_double(p);
    RECKON_CHECK(v && *v > 0 && *v <= 1e6,
                 "ranker: popularity_windows are days above 0 (\"7,30\"), got \"{}\"", excerpt(p));
    out.push_back(*v);
  }
  return out;
}

// One training group: a user's candidates with labels and features.
struct Group {
  std::vector<float> rows, labels;
};

}  // namespace

std::vector<ParamSpec> RankerModel::param_specs() {
  return {
      {"candidates", ParamType::kString, "ials:100,itemknn:50,popular:20", 0, -1,
       "candidate generators, model:count, any registered models (their parameters: -p "
       "MODEL.KEY=VALUE, e.g. ials.factors=128)"},
      {"features", ParamType::kString, "all", 0, -1,
       "feature groups: all (those the data supports), none (generator scores only), or a list "
       "of activity, popularity, age, genres, demographics, time, content, text_svd"},
      {"objective", ParamType::kString, "rank:ndcg", 0, -1, "XGBoost's LambdaMART objective",
       {"rank:ndcg", "rank:pairwise", "rank:map"}},
      {"holdout", ParamType::kFloat, "0.2", 0.01, 0.9,
       "share of each sampled user's interactions held back to train the ranker on"},
      {"holdout_by", ParamType::kString, "auto", 0, -1,
       "which interactions are held back: the latest (time), a random share (random); auto: "
       "time when the data has timestamps",
       {"auto", "time", "random"}},
      {"max_users", ParamType::kInt, "10000", 10, 1e8,
       "users sampled for the ranker's training groups (each with 2+ interactions)"},
      {"validation", ParamType::kFloat, "0.1", 0, 0.5,
       "share of the groups kept for early stopping (0: no early stopping)"},
      {"rounds", ParamType::kInt, "300", 1, 100000, "boosting rounds at most"},
      {"early_stopping", ParamType::kInt, "20", 1, 100000,
       "stop after this many rounds without a better validation score"},
      {"eval_at", ParamType::kInt, "10", 1, 10000, "the validation metric's cut-off (ndcg@K)"},
      {"eta", ParamType::kFloat, "0.1", 1e-4, 1, "learning rate"},
      {"max_depth", ParamType::kInt, "6", 1, 16, "tree depth"},
      {"min_child_weight", ParamType::kFloat, "1", 0, 1e6, "minimum hessian in a leaf"},
      {"subsample", ParamType::kFloat, "0.8", 0.05, 1, "rows sampled per tree"},
      {"colsample", ParamType::kFloat, "0.8", 0.05, 1, "features sampled per tree"},
      {"lambda", ParamType::kFloat, "1", 0, 1e6, "L2 regularisation of leaf weights"},
      {"popularity_windows", ParamType::kString, "7,30", 0, -1,
       "days of the recent-popularity features (popularity group)"},
      {"max_onehot", ParamType::kInt, "32", 0, 4096,
       "label columns with at most this many labels are one-hot features"},
      {"text_svd", ParamType::kInt, "0", 0, 256,
       "components of the items' text SVD as features (text_svd group; 0: off)"},
      {"refit", ParamType::kBool, "true", 0, -1,
       "refit the generators on all the training data after the ranker has learned"},
      {"*.*", ParamType::kString, "", 0, -1,
       "a generator's (or content's) own parameter, MODEL.KEY=VALUE"},
  };
}

void RankerModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  const auto specs = parse_generators(params.get_string("candidates"));
  // -p ials.factors=64: per generator (and the content model of the content features).
  std::map<std::string, std::map<std::string, std::string>> sub;
  for (const auto& [key, value] : params.dotted()) {
    const auto dot = key.find('.');
    const std::string model = key.substr(0, dot);
    const bool known = model == "content" || std::any_of(specs.begin(), specs.end(), [&](const auto& g) {
                         return g.model == model;
                       });
    RECKON_CHECK(known, "ranker: parameter {} names {}, which is not a generator (candidates: {})",
                 key, model, params.get_string("candidates"));
    sub[model][key.substr(dot + 1)] = value;
  }
  RankerFeatureOptions fo;
  fo.groups = params.get_string("features");
  parse_ranker_groups(fo.groups);  // refuse a bad list before any fitting
  fo.windows_days = parse_windows(params.get_string("popularity_windows"));
  fo.max_onehot = static_cast<std::size_t>(params.get_int("max_onehot"));
  fo.text_svd = params.get_int("text_svd");
  if (sub.count("content")) fo.content_params = sub["content"];

  const CsrMatrix& m = train.interactions;
  std::string by = params.get_string("holdout_by");
  if (by == "auto") by = m.has_times() ? "time" : "random";
  RECKON_CHECK(by == "random" || m.has_times(),
               "ranker: holdout_by=time needs timestamps, and this data has none");
  const double share = params.get_float("holdout");
  const int threads = ctx.threads > 0 ? ctx.threads : omp_get_max_threads();

  // 1. The held-back slice of sampled users.
  Rng rng(ctx.seed ^ 0x52414e4bull);
  std::vector<index_t> users;
  for (index_t u = 0; u < m.rows(); ++u)
    if (m.row_size(u) >= 2) users.push_back(u);
  rng.shuffle(std::span<index_t>(users));
  if (users.size() > static_cast<std::size_t>(params.get_int("max_users")))
    users.resize(static_cast<std::size_t>(params.get_int("max_users")));
  std::sort(users.begin(), users.end());
  RECKON_CHECK(!users.empty(), "ranker: no user has two interactions to hold one back");
  std::vector<bool> keep(static_cast<std::size_t>(m.nnz()), true);
  std::vector<std::int64_t> moment(users.size(), kNoTime);  // the first held-back time
  for (std::size_t s = 0; s < users.size(); ++s) {
    const index_t u = users[s];
    const index_t b = m.indptr()[u], size = m.row_size(u);
    const auto hold = std::clamp<index_t>(static_cast<index_t>(std::ceil(share * size)), 1,
                                          size - 1);
    std::vector<index_t> order(static_cast<std::size_t>(size));
    std::iota(order.begin(), order.end(), b);
    if (by == "time") {
      std::stable_sort(order.begin(), order.end(),
                       [&](index_t x, index_t y) { return m.times()[x] > m.times()[y]; });
    } else {
      rng.shuffle(std::span<index_t>(order));
    }
    for (index_t j = 0; j < hold; ++j) {
      const index_t k = order[static_cast<std::size_t>(j)];
      keep[static_cast<std::size_t>(k)] = false;
      if (m.has_times() && m.times()[k] != kNoTime &&
          (moment[s] == kNoTime || m.times()[k] < moment[s]))
        moment[s] = m.times()[k];
    }
  }
  const Dataset rest = train.with_interactions(m.filtered(keep));

  // 2. Generators and statistics without the slice.
  if (ctx.verbose)
    spdlog::info("ranker: fitting {} generators on {} of {} interactions ({} users hold back {})",
                 specs.size(), rest.num_interactions(), m.nnz(), users.size(),
                 by == "time" ? "their latest" : "a random share");
  FitContext quiet = ctx;
  generators_.fit(specs, sub, rest, quiet);
  features_.fit(rest, fo, specs, quiet);
  const std::size_t F = features_.size();
  RECKON_CHECK(F <= kMaxFeatures, "ranker: {} features, at most {}", F, kMaxFeatures);

  // 3. One group per sampled user: candidates, labels, features.
  std::vector<Group> groups(users.size());
  {
    Progress bar("ranker: candidates", static_cast<double>(users.size()), "users");
    std::exception_ptr error;
#pragma omp parallel num_threads(threads)
    {
      Candidates c;
      std::vector<index_t> held;
#pragma omp for schedule(dynamic, 16)
      for (std::size_t s = 0; s < users.size(); ++s) {
        if (error) continue;
        try {
          const index_t u = users[s];
          UserContext uc = training_context(rest, u);  // (rest has train's user features)
          if (moment[s] != kNoTime) uc.at = moment[s];
          generators_.propose(uc, c);
          held.clear();
          for (index_t k = m.indptr()[u]; k < m.indptr()[u + 1]; ++k)
            if (!keep[static_cast<std::size_t>(k)]) held.push_back(m.indices()[k]);
          std::sort(held.begin(), held.end());
          Group& g = groups[s];
          g.labels.resize(c.items.size());
          float positives = 0;
          for (std::size_t r = 0; r < c.items.size(); ++r) {
            g.labels[r] = std::binary_search(held.begin(), held.end(), c.items[r]) ? 1.0f : 0.0f;
            positives += g.labels[r];
          }
          // A group without a positive (or only positives) teaches a ranker nothing.
          if (positives == 0 || positives == static_cast<float>(c.items.size())) {
            g.labels.clear();
          } else {
            g.rows.resize(c.items.size() * F);
            features_.fill(uc, c, g.rows);
          }
        } catch (...) {
#pragma omp critical
          if (!error) error = std::current_exception();
        }
#pragma omp critical
        bar.add(1);
      }
    }
    if (error) std::rethrow_exception(error);
    bar.finish();
  }
  // A share of the groups (by seed) for early stopping.
  RankRows tr, va;
  tr.num_features = va.num_features = F;
  std::vector<std::size_t> useful;
  for (std::size_t s = 0; s < groups.size(); ++s)
    if (!groups[s].labels.empty()) useful.push_back(s);
  RECKON_CHECK(useful.size() >= 2,
               "ranker: only {} users had a held-back item among their candidates; more "
               "candidates or more data are needed",
               useful.size());
  rng.shuffle(std::span<std::size_t>(useful));
  const double vshare = params.get_float("validation");
  std::size_t n_valid = useful.size() >= 20 ? static_cast<std::size_t>(vshare * useful.size()) : 0;
  if (vshare > 0 && useful.size() >= 20) n_valid = std::max<std::size_t>(n_valid, 1);
  std::sort(useful.begin(), useful.begin() + static_cast<std::ptrdiff_t>(n_valid));
  std::sort(useful.begin() + static_cast<std::ptrdiff_t>(n_valid), useful.end());
  for (std::size_t j = 0; j < useful.size(); ++j) {
    Group& g = groups[useful[j]];
    RankRows& to = j < n_valid ? va : tr;
    to.features.insert(to.features.end(), g.rows.begin(), g.rows.end());
    to.labels.insert(to.labels.end(), g.labels.begin(), g.labels.end());
    to.group_sizes.push_back(static_cast<unsigned>(g.labels.size()));
    g = Group{};
  }
  groups_train_ = tr.group_sizes.size();
  groups_valid_ = va.group_sizes.size();
  if (ctx.verbose)
    spdlog::info("ranker: {} training groups ({} rows), {} validation groups, {} features",
                 groups_train_, tr.rows(), groups_valid_, F);

  BoosterOptions bo;
  bo.objective = params.get_string("objective");
  bo.eta = params.get_float("eta");
  bo.max_depth = static_cast<int>(params.get_int("max_depth"));
  bo.min_child_weight = params.get_float("min_child_weight");
  bo.subsample = params.get_float("subsample");
  bo.colsample = params.get_float("colsample");
  bo.lambda = params.get_float("lambda");
  bo.rounds = static_cast<int>(params.get_int("rounds"));
  bo.early_stopping = static_cast<int>(params.get_int("early_stopping"));
  bo.eval_at = static_cast<int>(params.get_int("eval_at"));
  bo.seed = ctx.seed;
  bo.threads = threads;
  {
    Progress bar("ranker: boosting", bo.rounds, "rounds");
    booster_ = XgbBooster::train(tr, va, bo, log_, [&](int round, double) { bar.update(round); });
    bar.finish();
  }
  importance_ = booster_.gain_importance();
  if (ctx.verbose) {
    spdlog::info("ranker: kept {} of {} rounds, validation {} {:.4f}", log_.best_round,
                 log_.rounds_run, log_.metric, log_.best_validation);
    std::vector<std::size_t> order(F);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return importance_[a] > importance_[b]; });
    std::string table;
    for (std::size_t j = 0; j < std::min<std::size_t>(15, F); ++j)
      table += fmt::format("\n  {:<32} {:>10.3f}", features_.names()[order[j]],
                           importance_[order[j]]);
    spdlog::info("ranker: feature importance (average gain){}", table);
  }

  // 4. Everything the ranker reads at scoring time, from all the training data.
  if (params.get_bool("refit")) {
    if (ctx.verbose) spdlog::info("ranker: refitting the generators on all the training data");
    generators_.fit(specs, sub, train, quiet);
    features_.fit(train, fo, specs, quiet);
  }
  // Interaction counts scaled into [0, 1): score() adds them below the lowest candidate.
  popularity_.assign(static_cast<std::size_t>(train.num_items()), 0.0f);
  for (index_t i : m.indices()) popularity_[static_cast<std::size_t>(i)] += 1;
  const float top = popularity_.empty()
                        ? 1.0f
                        : *std::max_element(popularity_.begin(), popularity_.end()) + 1.0f;
  for (float& p : popularity_) p /= top;
}

void RankerModel::rank(const UserContext& user, Candidates& c, std::vector<float>& rows,
                       std::vector<float>& margins) const {
  generators_.propose(user, c);
  rows.resize(c.items.size() * features_.size());
  features_.fill(user, c, rows);
  margins.resize(c.items.size());
  booster_.predict(rows, c.items.size(), margins);
}

void RankerModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(out.size() == popularity_.size());
  thread_local Candidates c;
  thread_local std::vector<float> rows, margins;
  rank(user, c, rows, margins);
  float lowest = 0;
  for (std::size_t r = 0; r < margins.size(); ++r) {
    if (!std::isfinite(margins[r])) margins[r] = -1e30f;
    lowest = r == 0 ? margins[r] : std::min(lowest, margins[r]);
  }
  // The rest below every candidate, by popularity (in [lowest - 2, lowest - 1)).
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = lowest - 2.0f + popularity_[i];
  for (std::size_t r = 0; r < c.items.size(); ++r)
    out[static_cast<std::size_t>(c.items[r])] = margins[r];
}

std::vector<std::vector<FeatureContribution>> RankerModel::explain(
    const UserContext& user, std::span<const index_t> items, std::size_t top) const {
  Candidates c;
  std::vector<float> rows, margins;
  rank(user, c, rows, margins);
  const std::size_t F = features_.size();
  // Contributions of the asked items only (a page of 10, not all 200 candidates: TreeSHAP
  // costs per row).
  std::vector<std::size_t> row_of(items.size(), SIZE_MAX);
  std::vector<float> asked;
  std::size_t n = 0;
  for (std::size_t j = 0; j < items.size(); ++j) {
    const auto it = std::find(c.items.begin(), c.items.end(), items[j]);
    if (it == c.items.end()) continue;  // not a candidate: placed by popularity
    const auto r = static_cast<std::size_t>(it - c.items.begin());
    asked.insert(asked.end(), rows.begin() + static_cast<std::ptrdiff_t>(r * F),
                 rows.begin() + static_cast<std::ptrdiff_t>((r + 1) * F));
    row_of[j] = n++;
  }
  const std::vector<float> contrib = booster_.contributions(asked, n);
  std::vector<std::vector<FeatureContribution>> out(items.size());
  std::vector<std::size_t> order(F);
  for (std::size_t j = 0; j < items.size(); ++j) {
    if (row_of[j] == SIZE_MAX) continue;
    const std::size_t r = row_of[j];
    const float* cr = contrib.data() + r * (F + 1);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return std::abs(cr[a]) > std::abs(cr[b]);
    });
    for (std::size_t k = 0; k < std::min(top, F); ++k) {
      const std::size_t f = order[k];
      if (cr[f] == 0) break;
      out[j].push_back({features_.names()[f], asked[r * F + f], cr[f]});
    }
  }
  return out;
}

nlohmann::json RankerModel::describe() const {
  nlohmann::json gens = nlohmann::json::array();
  for (const auto& g : generators_.specs()) gens.push_back({{"model", g.model}, {"count", g.count}});
  nlohmann::json imp = nlohmann::json::array();
  std::vector<std::size_t> order(importance_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return importance_[a] > importance_[b]; });
  for (std::size_t f : order)
    imp.push_back({{"feature", features_.names()[f]}, {"gain", importance_[f]}});
  return {{"generators", gens},
          {"feature_groups", features_.group_names()},
          {"features", features_.size()},
          {"rounds", log_.best_round},
          {"rounds_run", log_.rounds_run},
          {"validation_metric", log_.metric},
          {"validation_score", std::isfinite(log_.best_validation)
                                   ? nlohmann::json(log_.best_validation)
                                   : nlohmann::json(nullptr)},
          {"groups", {{"train", groups_train_}, {"validation", groups_valid_}}},
          {"importance", imp}};
}

std::vector<ScoredItem> RankerModel::similar_items(index_t item, std::size_t k) const {
  // The first generator that has a notion of similarity answers.
  for (std::size_t g = 0; g < generators_.size(); ++g) {
    try {
      return generators_.model(g).similar_items(item, k);
    } catch (const NotSupported&) {
    }
  }
  throw NotSupported("none of the ranker's generators computes similar items");
}

void RankerModel::save(BinaryWriter& out) const {
  generators_.save(out);
  features_.save(out);
  out.put_string(booster_.to_json());
  out.put_vector(importance_);
  out.put_vector(popularity_);
  out.put<std::int32_t>(log_.rounds_run);
  out.put<std::int32_t>(log_.best_round);
  out.put<double>(log_.best_validation);
  out.put_string(log_.metric);
  out.put<std::uint64_t>(groups_train_);
  out.put<std::uint64_t>(groups_valid_);
}

void RankerModel::load(BinaryReader& in) {
  generators_.load(in);
  features_.load(in);
  // The features' generator names must be the generators (they name the first columns).
  const auto& names = features_.names();
  RECKON_CHECK(features_.generators() == generators_.size() &&
                   names.size() >= 2 * generators_.size(),
               "{}: corrupt ranker: features for {} generators, {} generators",
               in.what(), features_.generators(), generators_.size());
  for (std::size_t g = 0; g < generators_.size(); ++g)
    RECKON_CHECK(names[2 * g] == generators_.specs()[g].model + ".score",
                 "{}: corrupt ranker: features disagree with the generators", in.what());
  const std::string json = in.get_string();
  RECKON_CHECK(json.size() <= kMaxBoosterBytes, "{}: corrupt ranker: booster of {} bytes",
               in.what(), json.size());
  booster_ = XgbBooster::from_json(json, features_.size(), in.what());
  importance_ = in.get_vector<double>();
  RECKON_CHECK(importance_.size() == features_.size(),
               "{}: corrupt ranker: {} importances for {} features", in.what(), importance_.size(),
               features_.size());
  for (double v : importance_)
    RECKON_CHECK(std::isfinite(v), "{}: corrupt ranker: importance {}", in.what(), v);
  popularity_ = in.get_vector<float>();
  for (float v : popularity_)
    RECKON_CHECK(v >= 0 && v < 1, "{}: corrupt ranker: popularity {} outside [0, 1)", in.what(),
                 v);
  log_.rounds_run = in.get<std::int32_t>();
  log_.best_round = in.get<std::int32_t>();
  log_.best_validation = in.get<double>();
  log_.metric = in.get_string();
  groups_train_ = in.get<std::uint64_t>();
  groups_valid_ = in.get<std::uint64_t>();
}

void RankerModel::validate(const Dataset& train) const {
  RECKON_CHECK(static_cast<index_t>(popularity_.size()) == train.num_items(),
               "the ranker has {} item popularities, the data has {} items", popularity_.size(),
               train.num_items());
  generators_.validate(train);
  features_.validate(train);
}

}  // namespace reckon
