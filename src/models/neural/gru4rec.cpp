#include "reckon/models/neural/gru4rec.hpp"

#include <spdlog/spdlog.h>

#include "reckon/core/error.hpp"
#include "reckon/io/json.hpp"
#include "reckon/models/neural/sequence.hpp"
#include "trainers.hpp"

namespace reckon {

std::vector<ParamSpec> Gru4RecModel::param_specs() {
  return {
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
      {"epochs", ParamType::kInt, "50", 1, 100000, "the most passes over the sequences"},
      {"patience", ParamType::kInt, "5", 0, 100000,
       "stop after this many epochs without a better validation score (0: run every epoch)"},
      {"batch_size", ParamType::kInt, "64", 1, 1 << 16, "sequences walked side by side"},
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
  const CsrMatrix& x = train.interactions;
  RECKON_CHECK(train.num_items() > 0, "gru4rec: the training data has no items");
  if (!x.has_times() && ctx.verbose)
    spdlog::warn("gru4rec: the data has no timestamps, so item order stands in for time: "
                 "import it with --time-col for a real sequence");
  CsrMatrix fit_part, valid;
  neural::hold_out_newest(x, params.get_float("validation"), params.get_int("max_validation_users"),
                          ctx.seed, fit_part, valid);
  if (ctx.verbose && valid.nnz() > 0)
    spdlog::info("gru4rec: the newest interaction of {} users kept for early stopping",
                 valid.nnz());
  net_ = neural::train_gru4rec(fit_part, valid, o, ctx, run_);
}

void Gru4RecModel::score(const UserContext& user, std::span<float> out) const {
  net_.score(neural::history_sequence(user, net_.items, static_cast<std::size_t>(net_.max_len)),
             out);
}

std::vector<ScoredItem> Gru4RecModel::similar_items(index_t item, std::size_t k) const {
  return neural::similar_rows(net_.output_embedding, net_.items, net_.hidden, item, k);
}

nlohmann::json Gru4RecModel::describe() const {
  return {{"network",
           {{"items", net_.items},
            {"dim", net_.dim},
            {"hidden", net_.hidden},
            {"max_len", net_.max_len}}},
          {"training", neural::describe_run(
                           run_, fmt::format("validation_ndcg@{}", run_.validation_k))}};
}

void Gru4RecModel::save(BinaryWriter& w) const {
  net_.save(w);
  w.put(run_);
}

void Gru4RecModel::load(BinaryReader& r) {
  net_ = neural::GruNetwork::load(r);
  run_ = r.get<neural::TrainingRun>();  // shown by `reckon info` only
}

void Gru4RecModel::validate(const Dataset& train) const {
  RECKON_CHECK(net_.items == train.num_items(), "gru4rec model has {} items, the data has {}",
               net_.items, train.num_items());
}

}  // namespace reckon
