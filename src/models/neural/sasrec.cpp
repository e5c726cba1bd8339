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
  return {
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
      {"epochs", ParamType::kInt, "200", 1, 100000, "the most passes over the sequences"},
      {"patience", ParamType::kInt, "10", 0, 100000,
       "stop after this many epochs without a better validation score (0: run every epoch)"},
      {"batch_size", ParamType::kInt, "128", 1, 1 << 20, "sequence windows per update"},
      {"learning_rate", ParamType::kFloat, "0.001", 1e-7, 1, "Adam's step size"},
      {"l2", ParamType::kFloat, "0", 0, 10, "weight decay (L2) of every weight"},
      {"validation", ParamType::kFloat, "1", 0, 1,
       "share of the users (with 3 or more interactions) whose newest training interaction is "
       "held out to stop on, by ndcg@validation_k of it given the rest (0: no early stopping)"},
      {"max_validation_users", ParamType::kInt, "5000", 1, 1 << 30,
       "the most users held out for validation"},
      {"validation_k", ParamType::kInt, "10", 1, 100000, "the cut-off of validation ndcg"},
  };
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
  const CsrMatrix& x = train.interactions;
  RECKON_CHECK(train.num_items() > 0, "sasrec: the training data has no items");
  if (!x.has_times() && ctx.verbose)
    spdlog::warn("sasrec: the data has no timestamps, so item order stands in for time: "
                 "import it with --time-col for a real sequence");

  CsrMatrix fit_part, valid;
  neural::hold_out_newest(x, params.get_float("validation"), params.get_int("max_validation_users"),
                          ctx.seed, fit_part, valid);
  if (ctx.verbose && valid.nnz() > 0)
    spdlog::info("sasrec: the newest interaction of {} users kept for early stopping",
                 valid.nnz());
  net_ = neural::train_sasrec(fit_part, valid, o, ctx, run_);
}

void SasRecModel::score(const UserContext& user, std::span<float> out) const {
  const std::vector<index_t> seq =
      neural::history_sequence(user, net_.items, static_cast<std::size_t>(net_.max_len));
  net_.score(seq, out);
}

std::vector<ScoredItem> SasRecModel::similar_items(index_t item, std::size_t k) const {
  return neural::similar_rows(net_.item_embedding, net_.items, net_.dim, item, k);
}

nlohmann::json SasRecModel::describe() const {
  return {{"network",
           {{"items", net_.items},
            {"dim", net_.dim},
            {"blocks", net_.blocks.size()},
            {"heads", net_.heads},
            {"max_len", net_.max_len},
            {"ffn", net_.ffn}}},
          {"training", neural::describe_run(
                           run_, fmt::format("validation_ndcg@{}", run_.validation_k))}};
}

void SasRecModel::save(BinaryWriter& w) const {
  net_.save(w);
  w.put(run_);
}

void SasRecModel::load(BinaryReader& r) {
  net_ = neural::CausalTransformer::load(r);
  run_ = r.get<neural::TrainingRun>();  // shown by `reckon info` only
}

void SasRecModel::validate(const Dataset& train) const {
  RECKON_CHECK(net_.items == train.num_items(), "sasrec model has {} items, the data has {}",
               net_.items, train.num_items());
}

}  // namespace reckon
