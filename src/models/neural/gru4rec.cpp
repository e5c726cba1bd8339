#include "reckon/models/neural/gru4rec.hpp"

#include <spdlog/spdlog.h>

#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"
#include "reckon/models/neural/sequence.hpp"
#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> Gru4RecModel::param_specs() {
  std::vector<ParamSpec> specs = {
      {"dim", ParamType::kInt, "64", 1, 4096, "size of the input item embeddings"},
      {"hidden", ParamType::kInt, "100", 1, 4096, "GRU units (the published 100)"},
      {"max_len", ParamType::kInt, "200", 1, 65536,
       "the newest items of a history read when scoring (training walks every step)"},
      {"dropout", ParamType::kFloat, "0.1", 0, 0.9, "dropout of the input embeddings and the state"},
      {"loss", ParamType::kString, "softmax", 0, 0,
       "softmax: cross-entropy over the whole catalogue; cross-entropy or bpr-max: over the "
       "batch's other targets plus `negatives` sampled items (the improved recipe, for catalogues "
       "too large for a full softmax)",
       {"softmax", "cross-entropy", "bpr-max"}},
      {"negatives", ParamType::kInt, "64", 0, 1 << 16,
       "cross-entropy, bpr-max: extra negatives per batch, sampled by popularity^sample_alpha"},
      {"sample_alpha", ParamType::kFloat, "0.75", 0, 1, "popularity exponent of the negatives"},
      {"bpr_reg", ParamType::kFloat, "1", 0, 100, "bpr-max: weight of its score regulariser"},
  };
  for (auto& spec :
       neural::sequence_training_params("50", "5", "64", "sequences walked side by side"))
    specs.push_back(std::move(spec));
  return specs;
}

void Gru4RecModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::Gru4RecOptions o;
  o.dim = params.get_int("dim");
  o.hidden = params.get_int("hidden");
  o.max_len = params.get_int("max_len");
  o.dropout = params.get_float("dropout");
  const std::string loss = params.get_string("loss");
  o.loss = loss == "softmax"         ? neural::SessionLoss::kSoftmax
           : loss == "cross-entropy" ? neural::SessionLoss::kCrossEntropy
                                     : neural::SessionLoss::kBprMax;
  o.negatives = params.get_int("negatives");
  o.sample_alpha = params.get_float("sample_alpha");
  o.bpr_reg = params.get_float("bpr_reg");
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  o.l2 = params.get_float("l2");
  o.validation_k = params.get_int("validation_k");
  RECKON_CHECK(train.num_items() > 0, "gru4rec: the training data has no items");
  net_ = neural::train_gru4rec(neural::sequence_training_data(train, params, ctx, "gru4rec"), o,
                              ctx, run_);
}

std::vector<ScoredItem> Gru4RecModel::similar_items(index_t item, std::size_t k) const {
  return neural::similar_rows(net_.output_embedding, net_.items, net_.hidden, item, k);
}

nlohmann::json Gru4RecModel::network_description() const {
  return {{"items", net_.items}, {"dim", net_.dim}, {"hidden", net_.hidden},
          {"max_len", net_.max_len}};
}
}  // namespace reckon
