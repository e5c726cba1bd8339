#pragma once
// Most popular items: the number of training interactions of each item (or the sum of their
// weights), optionally counting only the last `window_days` of the training data.
// The same list for everyone; ties are broken by item index in top-k selection.
#include "reckon/models/model.hpp"

namespace reckon {

class PopularModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "popular"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;
  const std::vector<float>& popularity() const noexcept { return popularity_; }

 private:
  std::vector<float> popularity_;
};

}  // namespace reckon
