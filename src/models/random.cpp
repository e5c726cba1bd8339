#include "reckon/models/random.hpp"

#include "reckon/core/error.hpp"
#include "reckon/core/random.hpp"

namespace reckon {

std::vector<ParamSpec> RandomModel::param_specs() {
  return {{"seed", ParamType::kInt, "42", 0, 9.0e18, "seed of the random scores"}};
}

void RandomModel::fit(const Dataset& train, const Params& params, FitContext&) {
  seed_ = static_cast<std::uint64_t>(params.get_int("seed"));
  items_ = train.num_items();
}

void RandomModel::score(const UserContext& user, std::span<float> out) const {
  RECKON_ASSERT(static_cast<index_t>(out.size()) == items_);
  std::uint64_t key = seed_ * 0x9E3779B97F4A7C15ull;
  if (user.user) {
    key ^= static_cast<std::uint64_t>(*user.user) + 1;
  } else {
    for (index_t i : user.history) key = key * 31 + static_cast<std::uint64_t>(i) + 7;
  }
  Rng rng(key);
  for (auto& s : out) s = static_cast<float>(rng.uniform());
}

void RandomModel::save(BinaryWriter& out) const {
  out.put<std::uint64_t>(seed_);
  out.put<index_t>(items_);
}
void RandomModel::load(BinaryReader& in) {
  seed_ = in.get<std::uint64_t>();
  items_ = in.get<index_t>();
}

void RandomModel::validate(const Dataset& train) const {
  RECKON_CHECK(items_ == train.num_items(), "random model scores {} items, the data has {}", items_,
               train.num_items());
}

}  // namespace reckon
