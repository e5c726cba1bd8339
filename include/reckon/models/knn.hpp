#pragma once
// Neighbourhood models. itemknn keeps the top-K most similar items of every item (a sparse
// matrix) and scores an item by the similarities to the user's history; userknn finds the K
// users most similar to the given history at scoring time and scores items by what they liked.
// Similarities: cosine, asymmetric cosine (Aiolli 2013), Jaccard, with shrinkage; the
// interactions can be BM25 or TF-IDF weighted first.
#include <cstdint>

#include "reckon/models/model.hpp"

namespace reckon {

enum class Similarity { kCosine, kAsymmetric, kJaccard };

struct KnnOptions {
  Similarity similarity = Similarity::kCosine;
  double asymmetric_alpha = 0.5;  // |a|^alpha |b|^(1-alpha) in the denominator
  double shrinkage = 0;           // added to the denominator: damps pairs with little support
  index_t neighbours = 100;
  std::string weighting = "none";  // none, bm25, tfidf
};
KnnOptions knn_options(const Params& params);
std::vector<ParamSpec> knn_param_specs(const std::string& neighbours, const std::string& similarity,
                                       const std::string& alpha);

// Similarity of two rows from their co-occurrence mass and their own masses.
double knn_similarity(const KnnOptions& o, double both, double a, double b);

class ItemKnnModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "itemknn"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  std::vector<std::vector<HistoryContribution>> explain_history(
      const UserContext& user, std::span<const index_t> items, std::size_t top) const override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;
  // Item i's neighbours (columns) and similarities (values), best first.
  const CsrMatrix& neighbours() const noexcept { return neighbours_; }

 private:
  CsrMatrix neighbours_;  // items x items, K entries per row, sorted by similarity
};

class UserKnnModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "userknn"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

 private:
  KnnOptions options_;
  CsrMatrix user_items_;  // weighted training interactions
  CsrMatrix item_users_;
  std::vector<float> user_mass_;  // per user: sum of squared weights (cosine) or count (jaccard)
};

}  // namespace reckon
