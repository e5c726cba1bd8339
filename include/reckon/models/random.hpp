#pragma once
// Uniformly random scores, fixed per (seed, user, item) so that repeated calls agree. For a
// stranger (no known user) the history seeds the draw.
#include "reckon/models/model.hpp"

namespace reckon {

class RandomModel final : public Model {
 public:
  static std::vector<ParamSpec> param_specs();
  std::string_view name() const noexcept override { return "random"; }
  void fit(const Dataset& train, const Params& params, FitContext& ctx) override;
  void score(const UserContext& user, std::span<float> out) const override;
  void save(BinaryWriter& out) const override;
  void load(BinaryReader& in) override;
  void validate(const Dataset& train) const override;

 private:
  std::uint64_t seed_ = 0;
  index_t items_ = 0;
};

}  // namespace reckon
