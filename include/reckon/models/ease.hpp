#pragma once
// EASE (Steck 2019): an item-item weight matrix B with zero diagonal, in closed form:
// P = (X^T X + lambda I)^-1, B_ij = -P_ij / P_jj. Scores are x_u B. Dense float32, the inverse
// computed in place (LAPACK Cholesky + inverse from OpenBLAS); refuses cleanly, saying how much
// memory it would need, when the catalogue is too large for the machine.
#include "reckon/models/model.hpp"

namespace reckon {

class EaseModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "ease"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  std::vector<std::vector<HistoryContribution>> explain_history(
      const UserContext& user, std::span<const index_t> items, std::size_t top) const override;
  std::vector<ScoredItem> similar_items(index_t item, std::size_t k) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

  // Bytes the dense item-item matrix needs for `items` items.
  static double memory_needed(index_t items) {
    return 4.0 * static_cast<double>(items) * static_cast<double>(items);
  }

 private:
  index_t n_ = 0;
  std::vector<float> b_;  // n x n row-major; row i = weights from item i to every item
};

}  // namespace reckon
