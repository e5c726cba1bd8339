#include "reckon/models/neural/glocalk.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> GLocalKModel::param_specs() {
  return {
      {"hidden", ParamType::kInt, "500", 1, 1 << 16, "units of each kernel layer"},
      {"layers", ParamType::kInt, "2", 1, 8, "hidden kernel layers (then the output layer)"},
      {"kernel_dim", ParamType::kInt, "5", 1, 256, "dimension of the local kernel's embeddings"},
      {"lambda_2", ParamType::kFloat, "20", 0, 1e6,
       "L2 weight of the weights (the paper: 20 on ML-100K, 70 on ML-1M)"},
      {"lambda_s", ParamType::kFloat, "0.006", 0, 1e6,
       "L2 weight of the local kernels (the paper: 0.006 on ML-100K, 0.018 on ML-1M)"},
      {"pretrain_epochs", ParamType::kInt, "30", 0, 100000,
       "epochs of the local kernel net alone (the paper: 30 on ML-100K, 20 on ML-1M)"},
      {"finetune_epochs", ParamType::kInt, "60", 1, 100000,
       "the most epochs with the global kernel (the paper: 60 on ML-100K, 30 on ML-1M)"},
      {"iterations", ParamType::kInt, "5", 1, 1000, "L-BFGS iterations per epoch"},
      {"restart", ParamType::kBool, "false", 0, -1,
       "each epoch a new L-BFGS history, as the published code: slower to train, overfits later "
       "(ML-100K u1 RMSE 0.9012 against 0.9043; ML-1M at 5 iterations an epoch far from "
       "converged)"},
      {"patience", ParamType::kInt, "10", 0, 100000,
       "stop fine-tuning after this many epochs without a better validation RMSE (0: never)"},
      {"global_kernel", ParamType::kInt, "3", 1, 15, "side of the global convolution kernel (odd)"},
      {"dot_scale", ParamType::kFloat, "1", 0, 1e6,
       "scale of the global kernel (the paper: 1 on ML-100K, 0.5 on ML-1M)"},
      {"validation", ParamType::kFloat, "0.05", 0, 0.5,
       "share of the ratings held out of training for early stopping (0: none)"},
  };
}

void GLocalKModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::GLocalKOptions o;
  o.hidden = params.get_int("hidden");
  o.layers = static_cast<int>(params.get_int("layers"));
  o.kernel_dim = params.get_int("kernel_dim");
  o.lambda_2 = params.get_float("lambda_2");
  o.lambda_s = params.get_float("lambda_s");
  o.pretrain_epochs = static_cast<int>(params.get_int("pretrain_epochs"));
  o.finetune_epochs = static_cast<int>(params.get_int("finetune_epochs"));
  o.iterations = static_cast<int>(params.get_int("iterations"));
  o.restart = params.get_bool("restart");
  o.patience = static_cast<int>(params.get_int("patience"));
  o.global_kernel = params.get_int("global_kernel");
  o.dot_scale = params.get_float("dot_scale");
  RECKON_CHECK(o.global_kernel % 2 == 1, "glocalk: global_kernel must be odd, got {}",
               o.global_kernel);
  const CsrMatrix& x = train.interactions;
  if (!train.explicit_ratings && ctx.verbose)
    spdlog::warn("glocalk: the data's values are not ratings; it predicts them all the same");
  o.lowest = std::numeric_limits<float>::max();
  o.highest = std::numeric_limits<float>::lowest();
  for (index_t u = 0; u < x.rows(); ++u)
    for (float v : x.row_values(u)) o.lowest = std::min(o.lowest, v), o.highest = std::max(o.highest, v);
  // The whole rating matrix is one dense batch (as published): refuse what cannot fit.
  const double bytes = 4.0 * static_cast<double>(x.rows()) * static_cast<double>(x.cols());
  RECKON_CHECK(bytes <= 4e9,
               "glocalk: a dense {} x {} rating matrix ({:.1f} GB, several copies in training) is "
               "too large; it is made for catalogues like MovieLens'",
               x.cols(), x.rows(), bytes / 1e9);

  CsrMatrix fit_part, valid;
  carve_validation(x, params.get_float("validation"), ctx.seed, fit_part, valid);
  const neural::TrainedItemCodes t = neural::train_glocalk(x, fit_part, valid, o, ctx);
  // Training minimises 1/2 sum (r - r')^2 + lambda_2/2 |W|^2: a row's ridge weight is lambda_2,
  // which item_codes' lambda/2 convention writes as 2 lambda_2.
  set_codes(t.item_codes, o.hidden, x, static_cast<float>(2 * o.lambda_2), t.run);
}

}  // namespace reckon
