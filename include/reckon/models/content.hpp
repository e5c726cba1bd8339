#pragma once
// Content-based recommendation from item features: each item is a sparse TF-IDF vector over its
// labels (genres, tags, authors, language: one feature per column and label) and the terms of
// its text columns (titles, descriptions), L2-normalised; a user profile is the weighted mean of
// the vectors of the items in their history (ratings or interaction weights, optionally decayed
// by age), and an item's score is its vector's dot product with the profile. Similar items are
// by cosine of the vectors. It needs no interactions for an item, only features: new items with
// metadata are scored like the others.
#include "reckon/models/factor_model.hpp"
#include "reckon/models/feature_encoder.hpp"
#include "reckon/models/model.hpp"

namespace reckon {

class ContentModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "content"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;
  std::optional<NewItemVector> embed_new_item(const FeatureTable& features,
                                              index_t row) const override;
  void score_new_items(const UserContext& user, std::span<const NewItemVector> items,
                       std::span<float> out) const override;
  std::vector<ScoredItem> similar_to_new_item(const NewItemVector& item,
                                              std::size_t k) const override;

  // Items x features, rows L2-normalised (an item without features has an empty row).
  const CsrMatrix& item_vectors() const noexcept { return vectors_; }
  // With svd: each item's unit vector on the components (items x components); else empty.
  const FactorMatrix& item_components() const noexcept { return dense_; }

 private:
  CsrMatrix vectors_;
  CsrMatrix postings_;  // features x items: the transpose, for scoring through a profile
  float half_life_days_ = 0;
  // How a new item's features become a vector (files from 0.5.0 have neither: no new items).
  FeatureEncoder encoder_;
  std::vector<float> idf_;
  // With svd: features x components (V of the truncated SVD), and each item's unit vector on
  // them (computed from the sparse vectors and V, so only V is saved).
  FactorMatrix projection_, dense_;

  void reduce(index_t components, const FitContext& ctx);
  void rebuild_dense();
  bool dense_profile(const UserContext& user, Eigen::VectorXf& p) const;
  std::vector<ScoredItem> by_dense(const Eigen::VectorXf& v, index_t skip, std::size_t k) const;

  // Each history entry's normalised weight in the profile (0 for indexes out of range).
  std::vector<float> history_weights(const UserContext& user) const;
  // The user's profile over the features (the weighted mean of the history's vectors), and the
  // features it touches; false when it is empty.
  bool profile(const UserContext& user, std::vector<float>& out,
               std::vector<index_t>& touched) const;
  // Items by the dot product of their vectors with a sparse query vector.
  std::vector<ScoredItem> by_vector(std::span<const col_t> features,
                                    std::span<const float> values, index_t skip,
                                    std::size_t k) const;
};

}  // namespace reckon
