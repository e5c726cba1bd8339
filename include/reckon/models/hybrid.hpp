#pragma once
// LightFM-style hybrid factorisation (Kula 2015): a user is the weighted sum of the embeddings
// of its features (its id, its demographics), an item likewise (its id, genres, tags, authors,
// title terms, numeric buckets), each feature with a bias; the score is the dot product of the
// two sums plus the item's bias. Trained by multi-threaded lock-free SGD (Hogwild) with the
// WARP, k-OS WARP, BPR or logistic loss and AdaGrad or AdaDelta steps, weighted by the prepared
// interaction weights.
//
// Because an item is its features, an item without interactions (a new book with its tags and
// author) gets a vector, scores and similar items; a user without interactions gets one from
// demographics, and a new history is folded in by SGD on a free vector added to it.
#include "reckon/models/factor_model.hpp"
#include "reckon/models/feature_encoder.hpp"

namespace reckon {

class HybridModel final : public FactorModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "hybrid"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  bool scores_without_history(const UserContext& user) const override;
  std::optional<NewItemVector> embed_new_item(const FeatureTable& features,
                                              index_t row) const override;
  void score_new_items(const UserContext& user, std::span<const NewItemVector> items,
                       std::span<float> out) const override;
  std::vector<ScoredItem> similar_to_new_item(const NewItemVector& item,
                                              std::size_t k) const override;
  // The item's features (and its id) by their part in its score, from
  // UserContext::item_features (NotSupported without them): weight x (embedding . user + bias).
  std::vector<std::vector<FeatureContribution>> explain(const UserContext& user,
                                                        std::span<const index_t> items,
                                                        std::size_t top) const override;

  const FeatureEncoder& item_encoder() const noexcept { return item_encoder_; }
  const FeatureEncoder& user_encoder() const noexcept { return user_encoder_; }
  // The vector and bias of an item from its features alone (row `row` of `features`): what a
  // new item gets without retraining.
  std::pair<Eigen::VectorXf, float> item_from_features(const FeatureTable& features,
                                                       index_t row) const;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  std::span<const float> item_biases() const override { return item_bias_; }
  void save_extra(BinaryWriter& out) const override;
  void load_extra(BinaryReader& in) override;
  void validate_extra(const Dataset& train) const override;

 private:
  // The features-only part of a user (no id): demographics of a stranger or a cold user.
  Eigen::VectorXf user_from_features(const UserContext& user) const;

  FeatureEncoder item_encoder_, user_encoder_;
  bool user_ids_ = true, item_ids_ = true, normalize_ = true;
  // Embeddings and biases of the encoded features (ids are folded into the factor matrices).
  FactorMatrix item_feature_factors_, user_feature_factors_;
  std::vector<float> item_feature_bias_;
  std::vector<float> item_bias_;  // per item: its features' biases, weighted
  std::vector<float> item_scale_, user_scale_;  // per encoded feature: its IDF (or 1)
  std::uint8_t loss_ = 0;         // fold-in uses the same loss
  float learning_rate_ = 0.05f, regularization_ = 0;
  std::int32_t max_sampled_ = 10, foldin_steps_ = 3000;
};

}  // namespace reckon
