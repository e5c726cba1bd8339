#pragma once
// The movie seed's denoising autoencoder over a user: the user's rating vector (scaled to
// [0, 1] by the largest training value, dropout on it in training) concatenated with their
// features (age bucketed or scaled, gender, occupation, any user column: FeatureEncoder) goes
// through an encoder and a decoder back to the items, whose sigmoid output is fitted to the
// ratings by squared error or binary cross-entropy, on the observed entries only (masked: it
// predicts ratings) or on every entry (unrated = 0: it predicts what the user rates). Scoring
// runs a history and features forward, so held-out users (--split users) and strangers fold in
// by construction, and a stranger with features only is scored from them. Trained on libtorch;
// scoring, saving and loading use the plain network (neural/mlp.hpp) and work in any build.
#include "reckon/models/feature_encoder.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/neural/mlp.hpp"

namespace reckon {

class DaeModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "dae"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  void score_batch(std::span<const UserContext> users, std::span<float> out) const override;
  bool scores_without_history(const UserContext& user) const override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  bool predicts_ratings() const noexcept override { return masked_; }
  nlohmann::json describe() const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

 private:
  // The encoder's input for a user: each distinct history item's scaled rating (the last one
  // given; missing weights: the mean training rating), then their features.
  void encode_input(const UserContext& user, std::vector<index_t>& index,
                    std::vector<float>& value) const;

  neural::Mlp encoder_;  // items + features -> ... -> code
  neural::Mlp decoder_;  // code -> ... -> items (sigmoid)
  FeatureEncoder user_encoder_;
  float value_scale_ = 1;    // 1 / the largest training value
  float default_input_ = 1;  // a rating given without a value, scaled
  bool masked_ = true;
  bool bce_ = false;
  neural::TrainingRun run_;
};

}  // namespace reckon
