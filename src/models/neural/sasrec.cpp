#include "reckon/models/neural/sasrec.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"
#include "reckon/models/neural/sequence.hpp"
#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> SasRecModel::param_specs() {
  std::vector<ParamSpec> specs = {
      {"dim", ParamType::kInt, "64", 1, 1024, "size of the item and position embeddings"},
      {"blocks", ParamType::kInt, "2", 1, 16, "self-attention blocks"},
      {"heads", ParamType::kInt, "1", 1, 64, "attention heads (must divide dim)"},
      {"max_len", ParamType::kInt, "50", 1, 4096,
       "the newest items of a history that are read (the paper: 200 on ML-1M, 50 elsewhere)"},
      {"ffn", ParamType::kInt, "0", 0, 1 << 16, "units of the feed-forward layers (0: dim)"},
      {"dropout", ParamType::kFloat, "0.2", 0, 0.9,
       "dropout of embeddings, attention and block outputs (the paper: 0.2 on ML-1M, 0.5 on "
       "sparse data)"},
      {"loss", ParamType::kString, "softmax", 0, 0,
       "softmax: cross-entropy over the whole catalogue (best on catalogues up to ~100k items); "
       "bce: the paper's binary cross-entropy against sampled negatives (cheaper per step)",
       {"softmax", "bce"}},
      {"negatives", ParamType::kInt, "1", 1, 1 << 16, "bce: negatives sampled per position"},
  };
  for (auto& spec :
       neural::sequence_training_params("200", "10", "128", "sequence windows per update"))
    specs.push_back(std::move(spec));
  return specs;
}

void SasRecModel::fit(const Dataset& train, const Params& params, FitContext& ctx) {
  neural::SasRecOptions o;
  o.dim = params.get_int("dim");
  o.blocks = static_cast<int>(params.get_int("blocks"));
  o.heads = params.get_int("heads");
  o.max_len = params.get_int("max_len");
  o.ffn = params.get_int("ffn") > 0 ? params.get_int("ffn") : o.dim;
  o.dropout = params.get_float("dropout");
  o.softmax = params.get_string("loss") == "softmax";
  o.negatives = params.get_int("negatives");
  o.epochs = static_cast<int>(params.get_int("epochs"));
  o.patience = static_cast<int>(params.get_int("patience"));
  o.batch_size = params.get_int("batch_size");
  o.learning_rate = params.get_float("learning_rate");
  o.l2 = params.get_float("l2");
  o.validation_k = params.get_int("validation_k");
  RECKON_CHECK(o.dim % o.heads == 0, "sasrec: heads ({}) must divide dim ({})", o.heads, o.dim);
  RECKON_CHECK(train.num_items() > 0, "sasrec: the training data has no items");
  net_ = neural::train_sasrec(neural::sequence_training_data(train, params, ctx, "sasrec"), o,
                              ctx, run_);
}

std::vector<ScoredItem> SasRecModel::similar_items(index_t item, std::size_t k) const {
  return neural::similar_rows(net_.item_embedding, net_.items, net_.dim, item, k);
}

nlohmann::json SasRecModel::network_description() const {
  return {{"items", net_.items}, {"dim", net_.dim},       {"blocks", net_.blocks.size()},
          {"heads", net_.heads}, {"max_len", net_.max_len}, {"ffn", net_.ffn}};
}
}  // namespace reckon
