#pragma once
// Content-based recommendation from item features: each item is a sparse TF-IDF vector over its
// labels (genres, tags, authors, language: one feature per column and label) and the terms of
// its text columns (titles, descriptions), L2-normalised; a user profile is the weighted mean of
// the vectors of the items in their history (ratings or interaction weights, optionally decayed
// by age), and an item's score is its vector's dot product with the profile. Similar items are
// by cosine of the vectors. It needs no interactions for an item, only features: new items with
// metadata are scored like the others.
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

  // Items x features, rows L2-normalised (an item without features has an empty row).
  const CsrMatrix& item_vectors() const noexcept { return vectors_; }

 private:
  CsrMatrix vectors_;
  CsrMatrix postings_;  // features x items: the transpose, for scoring through a profile
  float half_life_days_ = 0;
};

}  // namespace reckon
