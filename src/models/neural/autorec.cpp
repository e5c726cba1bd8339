#include "reckon/models/neural/autorec.hpp"

#include <spdlog/spdlog.h>

#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> AutoRecModel::param_specs() {
  return {
      {"hidden", ParamType::kInt, "500", 1, 1 << 16, "units of the code (the paper: 500)"},
      // 100: the best validation RMSE (5% of ML-100K u1.base) of 1, 20, 100, 300 and 1000.
      {"lambda", ParamType::kFloat, "100", 0, 1e6,
       "L2 weight of the encoder and decoder weights (lambda/2 |W|^2 per pass over the items)"},
      {"epochs", ParamType::kInt, "500", 1, 100000, "the most passes over the items"},
      {"patience", ParamType::kInt, "20", 0, 100000,
       "stop after this many epochs without a better validation RMSE (0: run every epoch)"},
      {"batch_size", ParamType::kInt, "64", 1, 1 << 20, "items per update"},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"validation", ParamType::kFloat, "0.05", 0, 0.5,
       "share of the ratings held out of training for early stopping (0: none)"},
  };
}

void AutoRecModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::AutoRecOptions o;
  o.hidden = params.get_int("hidden");
  o.lambda = params.get_float("lambda");
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  const CsrMatrix& x = train.interactions;
  if (!train.explicit_ratings && ctx.verbose)
    spdlog::warn("autorec: the data's values are not ratings; it predicts them all the same");

  CsrMatrix fit_part, valid;
  carve_validation(x, params.get_float("validation"), ctx.seed, fit_part, valid);
  const neural::TrainedItemCodes t = neural::train_autorec(x, fit_part, valid, o, ctx);
  set_codes(t.item_codes, o.hidden, x, static_cast<float>(o.lambda), t.run);
}

}  // namespace reckon
