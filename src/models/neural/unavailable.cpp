// The neural trainers in a build without libtorch (RECKON_WITH_TORCH=OFF, or no libtorch-dev):
// fit() fails saying so; models trained elsewhere load and serve all the same.
#include "reckon/core/error.hpp"
#include "trainers.hpp"

namespace reckon::neural {
namespace {
[[noreturn]] void unavailable(const char* model) {
  throw NotSupported(fmt::format(
      "{} trains on libtorch, and this reckon was built without it (RECKON_WITH_TORCH=OFF or "
      "no libtorch-dev: scripts/install-deps installs it); a {} model file trained elsewhere "
      "still loads and serves",
      model, model));
}
}  // namespace

bool torch_available() { return false; }

TrainedNetwork train_multvae(const CsrMatrix&, const CsrMatrix&, const CsrMatrix&,
                             const MultVaeOptions&, FitContext&) {
  unavailable("multvae");
}

TrainedNetwork train_user_autoencoder(const CsrMatrix&, const CsrMatrix&, const CsrMatrix&,
                                      const UserAutoencoderOptions&, FitContext&) {
  unavailable("dae");
}

TrainedItemCodes train_autorec(const CsrMatrix&, const CsrMatrix&, const CsrMatrix&,
                             const AutoRecOptions&, FitContext&) {
  unavailable("autorec");
}

TrainedItemCodes train_glocalk(const CsrMatrix&, const CsrMatrix&, const CsrMatrix&,
                               const GLocalKOptions&, FitContext&) {
  unavailable("glocalk");
}

CausalTransformer train_sasrec(const SequenceData&, const SasRecOptions&, FitContext&,
                               TrainingRun&) {
  unavailable("sasrec");
}

std::vector<float> sasrec_scores_on_torch(const CausalTransformer&, std::span<const index_t>) {
  unavailable("sasrec");
}

GruNetwork train_gru4rec(const SequenceData&, const Gru4RecOptions&, FitContext&, TrainingRun&) {
  unavailable("gru4rec");
}

std::vector<float> gru4rec_scores_on_torch(const GruNetwork&, std::span<const index_t>) {
  unavailable("gru4rec");
}

}  // namespace reckon::neural
