#pragma once
// The second stage: candidates from generators (any registered models), re-ranked by XGBoost
// LambdaMART over the generators' scores and ranks and the feature groups of
// ranker_features.hpp. Fitting never shows the ranker what the generators were fitted on:
//   1. each sampled user's latest interactions (or a random share) are held back;
//   2. the generators (and the feature statistics) are fitted on the rest;
//   3. each sampled user is a group: their candidates, labelled 1 when held back, with the
//      request's moment at the first held-back interaction; a share of the groups is kept for
//      early stopping;
//   4. the generators and statistics are refitted on all the training data.
// Scores: candidates get the booster's margin; every other item ranks below them, by
// popularity, so the whole catalogue stays ordered.
#include "reckon/models/model.hpp"
#include "reckon/rank/candidates.hpp"
#include "reckon/rank/ranker_features.hpp"
#include "reckon/rank/xgb_booster.hpp"

namespace reckon {

class RankerModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "ranker"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  std::vector<std::vector<FeatureContribution>> explain(const UserContext& user,
                                                        std::span<const index_t> items,
                                                        std::size_t top) const override;
  nlohmann::json describe() const override;
  bool uses_request_time() const noexcept override { return features_.uses_time(); }
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

  const std::vector<std::string>& feature_names() const noexcept { return features_.names(); }
  const std::vector<double>& importance() const noexcept { return importance_; }

 private:
  CandidateGenerators generators_;
  RankerFeatures features_;
  XgbBooster booster_;
  std::vector<double> importance_;  // gain, per feature
  std::vector<float> popularity_;   // per item, in [0, 1): orders the items that are not candidates
  BoosterTrainLog log_;
  std::uint64_t groups_train_ = 0, groups_valid_ = 0;

  // Candidates, their features and margins for one user.
  void rank(const UserContext& user, Candidates& c, std::vector<float>& rows,
            std::vector<float>& margins) const;
};

}  // namespace reckon
