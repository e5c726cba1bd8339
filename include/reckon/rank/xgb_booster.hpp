#pragma once
// XGBoost's C API behind one small RAII class: learning to rank on grouped rows (LambdaMART:
// rank:ndcg, rank:pairwise, rank:map) with early stopping on a validation set, margins for
// scoring (in-place prediction, thread-safe), SHAP contributions for explanations, gain
// importance, and the model as JSON. Nothing outside src/rank/xgb_booster.cpp sees xgboost's
// headers.
//
// A model read back from a file is checked before XGBoost sees it: XGBoost checks array
// lengths, not child indexes or split features, and walks trees by those indexes.
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace reckon {

// Rows of features (row-major, NaN = missing) with a 0/1 (or graded) label each, in groups of
// consecutive rows (one group per user).
struct RankRows {
  std::size_t num_features = 0;
  std::vector<float> features;
  std::vector<float> labels;
  std::vector<unsigned> group_sizes;
  std::size_t rows() const noexcept { return labels.size(); }
};

struct BoosterOptions {
  std::string objective = "rank:ndcg";
  double eta = 0.1;
  int max_depth = 6;
  double min_child_weight = 1;
  double subsample = 1;
  double colsample = 1;
  double lambda = 1;
  int rounds = 300;
  int early_stopping = 20;  // rounds without improvement on the validation rows
  int eval_at = 10;         // the validation metric: ndcg@eval_at (map@ for rank:map)
  std::uint64_t seed = 42;
  int threads = 1;
};

// What training did, for the log and the model file.
struct BoosterTrainLog {
  int rounds_run = 0;
  int best_round = 0;  // rounds kept (1-based count)
  double best_validation = 0;
  std::string metric;
};

class XgbBooster {
 public:
  XgbBooster() = default;
  ~XgbBooster();
  XgbBooster(XgbBooster&& other) noexcept;
  XgbBooster& operator=(XgbBooster&& other) noexcept;
  XgbBooster(const XgbBooster&) = delete;
  XgbBooster& operator=(const XgbBooster&) = delete;

  // Trains on `train`, stopping early on `valid` (no early stopping when it has no rows), and
  // keeps the best round's trees. `on_round(round, validation score)` after each round.
  static XgbBooster train(const RankRows& train, const RankRows& valid, const BoosterOptions& o,
                          BoosterTrainLog& log,
                          const std::function<void(int, double)>& on_round = {});

  // Margins (higher ranks first) of `n_rows` rows of num_features() each. Thread-safe.
  void predict(std::span<const float> rows, std::size_t n_rows, std::span<float> out) const;
  // SHAP contributions: n_rows x (num_features() + 1), the last column the bias; they add up
  // to the margin. Thread-safe. Exact TreeSHAP: about 1.5 ms a row for 40 trees of depth 6.
  std::vector<float> contributions(std::span<const float> rows, std::size_t n_rows) const;
  // Average gain of the splits on each feature (0 for features never split on).
  std::vector<double> gain_importance() const;

  std::string to_json() const;
  // Checks the document (objective, tree structure: every child index in range and each node
  // reached once from the root, split features below `num_features`, array lengths) before
  // loading it. Throws InvalidInput naming `what`.
  static XgbBooster from_json(std::string_view json, std::size_t num_features,
                              const std::string& what);

  bool empty() const noexcept { return handle_ == nullptr; }
  std::size_t num_features() const noexcept { return num_features_; }

 private:
  void* handle_ = nullptr;
  std::size_t num_features_ = 0;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  void set_param(const char* key, const std::string& value);
};

}  // namespace reckon
