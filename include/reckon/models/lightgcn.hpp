#pragma once
// LightGCN (He et al., SIGIR 2020): user and item embeddings propagated over the normalised
// user-item graph, E_k+1 = A E_k with A = D^-1/2 [0 R; R^T 0] D^-1/2, the final embedding the
// mean of layers 0..K; a user's score for an item is the dot product of their final embeddings.
// Trained by BPR on the layer-0 embeddings with Adam, the gradient sent back through the
// propagation by hand (A is symmetric: the backward pass is the same propagation), in Eigen with
// the thread budget: no libtorch needed. A factor model once trained: a new history is folded in
// by one propagation step from its items' final embeddings.
#include <span>
#include <vector>

#include "reckon/models/factor_model.hpp"

namespace reckon {

namespace lightgcn {

// The normalised adjacency of the bipartite graph of `r` (users x items): nodes are the users,
// then the items; weight 1 / sqrt(deg(u) deg(i)) on each edge, both ways.
struct Graph {
  index_t users = 0, items = 0;
  std::vector<index_t> indptr, indices;
  std::vector<float> values;

  static Graph of(const CsrMatrix& r);
  index_t nodes() const { return users + items; }
  // out = A in (nodes x d each), rows split over `threads` threads.
  void multiply(const RowMatrix& in, RowMatrix& out, int threads) const;
};

// The final embeddings: the mean of A^k e0 for k = 0..layers.
RowMatrix propagate(const Graph& g, const RowMatrix& e0, int layers, int threads);

// A (user, seen item, unseen item) triple; items as item indexes (not node numbers).
struct Triple {
  index_t user, positive, negative;
};

// The mean BPR loss of `triples` on the final embeddings of e0, plus l2/2 times the mean
// squared norm of their layer-0 embeddings (the published regulariser), and its gradient with
// respect to e0 into `grad` (nodes x d; overwritten).
double bpr_loss_and_gradient(const Graph& g, const RowMatrix& e0, int layers,
                             std::span<const Triple> triples, float l2, int threads,
                             RowMatrix& grad);

}  // namespace lightgcn

class LightGcnModel final : public FactorModel {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "lightgcn"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  nlohmann::json describe() const override;

 protected:
  Eigen::VectorXf fold_in(const UserContext& user) const override;
  void save_extra(BinaryWriter& out) const override;
  void load_extra(BinaryReader& in) override;
  void validate_extra(const Dataset& train) const override;

 private:
  // Propagates layer-0 embeddings over the whole training graph into the factors that score.
  void set_final_factors(const CsrMatrix& train, const RowMatrix& e0, int layers, int threads);
  std::vector<float> item_degree_;  // training users per item (fold-in's normalisation)
  std::int32_t epochs_run_ = 0, best_epoch_ = 0;
  double best_validation_ = 0, seconds_per_epoch_ = 0;
};

}  // namespace reckon
