#pragma once
// Shared machinery of latent-factor models (ials, bpr, mf, svdpp): user and item factor
// matrices, scores as dot products (one matrix product per batch of users), fold-in of a user
// whose history changed, similar items by cosine of item factors, save/load.
#include <Eigen/Core>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "reckon/models/model.hpp"
#include "reckon/retrieval/inner_product.hpp"
#include "reckon/retrieval/item_search.hpp"

namespace reckon {

using FactorMatrix = RowMatrix;

class FactorModel : public Model {
 public:
  void score(const UserContext& user, std::span<float> out) const override;
  void score_batch(std::span<const UserContext> users, std::span<float> out) const override;
  bool top_k_batch(std::span<const UserContext> users, std::size_t k,
                   std::vector<std::vector<ScoredItem>>& out) const override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  void similar_items_batch(std::span<const index_t> items, std::size_t k,
                           std::vector<std::vector<ScoredItem>>& out) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

  const FactorMatrix& user_factors() const noexcept { return user_factors_; }
  const FactorMatrix& item_factors() const noexcept { return item_factors_; }
  // Items by cosine of their factors with `v` (a vector not in the model: a new item).
  std::vector<ScoredItem> similar_to_vector(Eigen::Ref<const Eigen::VectorXf> v,
                                            std::size_t k) const;
  // The factors this model would use for `user`: its learned ones when the history is its
  // training history, else a fold-in from the history.
  Eigen::VectorXf user_vector(const UserContext& user) const;

  // How top_k_batch and similar_items_batch search: exactly (the default) or, for a catalogue
  // the options put above their threshold, with an approximate index (AnnIndex), built here
  // on the thread budget and again whenever the factors change.
  void set_ann(const AnnOptions& options);
  // "exact", or the approximate index with its settings.
  std::string retrieval() const;

 protected:
  // Factors for a history the model has not trained on (a stranger, or a user with new events).
  virtual Eigen::VectorXf fold_in(const UserContext& user) const = 0;
  // Scores are user . item + item_biases()[item] + user_offset(user); default no biases.
  virtual std::span<const float> item_biases() const { return {}; }
  virtual float user_offset(const UserContext&) const { return 0.0f; }
  void add_biases(const UserContext& user, std::span<float> out) const;
  // Records how many training interactions each user had (to tell changed histories apart).
  void remember_history_sizes(const CsrMatrix& train);
  // After item factors change mid-training (a probe of lightgcn between epochs): the search
  // index of the old ones is stale. fit, load and remember_history_sizes reset it too.
  void factors_changed();
  // For subclasses with extra state.
  virtual void save_extra(BinaryWriter&) const {}
  virtual void load_extra(BinaryReader&) {}
  virtual void validate_extra(const Dataset&) const {}

  FactorMatrix user_factors_;
  FactorMatrix item_factors_;
  std::vector<std::int32_t> history_sizes_;

 private:
  // The search for top_k_batch, built on first use after fit or load: the items by decreasing
  // norm (exact), or an approximate index (see set_ann).
  const ItemSearch& search_index() const;
  // For similar_items_batch when the search is approximate: an index over the unit factors.
  const ItemSearch* similar_index() const;
  AnnOptions ann_;
  mutable std::mutex index_mutex_;
  mutable std::shared_ptr<const ItemSearch> index_;
  mutable std::shared_ptr<const ItemSearch> similar_index_;
};


// Y^T Y on `threads` threads of our own (rows in dynamic chunks, partial sums added): Eigen's
// own parallel product spins at its barriers, which doubled the ials fit beside a busy core.
// `y` may be a block of rows (a rank's share in distributed training).
Eigen::MatrixXf gram_matrix(Eigen::Ref<const FactorMatrix> y, int threads);

// Model-file serialisation of a factor matrix: shape, then values; read checks the shape.
void write_factor_matrix(BinaryWriter& w, const FactorMatrix& m);
FactorMatrix read_factor_matrix(BinaryReader& r);

// Fills a matrix with N(0, scale^2)-ish values from a seeded generator (Box-Muller).
void random_init(FactorMatrix& m, float scale, std::uint64_t seed);

}  // namespace reckon
