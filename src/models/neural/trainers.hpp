#pragma once
// The neural models' training, the one part of them that runs on libtorch. These declarations
// use no torch type: the torch translation units (*_train.cpp, built with RECKON_WITH_TORCH)
// define them, and without libtorch unavailable.cpp defines them to throw NotSupported.
#include <string>

#include "reckon/core/csr_matrix.hpp"
#include "reckon/models/model.hpp"
#include "reckon/models/neural/availability.hpp"
#include "reckon/models/neural/gru.hpp"
#include "reckon/models/neural/mlp.hpp"
#include "reckon/models/neural/sequence.hpp"
#include "reckon/models/neural/transformer.hpp"

namespace reckon::neural {

// What a trained network and its run look like.
struct TrainedNetwork {
  Mlp encoder, decoder;
  TrainingRun run;
};

struct MultVaeOptions {
  bool variational = true;  // false: Mult-DAE
  index_t hidden = 600;     // 0: no hidden layer ([items -> latent -> items])
  index_t latent = 200;
  double dropout = 0.5;
  int epochs = 200;  // the most
  int patience = 10;
  index_t batch_size = 500;
  double learning_rate = 1e-3;
  double l2 = 0;
  double anneal_cap = 0.2;
  double anneal_steps = 200000;
  index_t validation_k = 100;
};

// Fits on the rows of `train` (users x items; empty rows are skipped). When `valid_test` has
// entries, every epoch scores ndcg@validation_k of its rows given the same rows of
// `valid_foldin`, keeps the best epoch's network and stops after `patience` epochs without a
// better one.
TrainedNetwork train_multvae(const CsrMatrix& train, const CsrMatrix& valid_foldin,
                             const CsrMatrix& valid_test, const MultVaeOptions& options,
                             FitContext& ctx);

struct UserAutoencoderOptions {
  index_t hidden = 0;   // units of a hidden layer on each side of the code (0: none)
  index_t latent = 200;
  Activation activation = Activation::kSigmoid;  // of the hidden layers and the code
  bool bce = true;      // loss: binary cross-entropy (else squared error)
  bool masked = false;  // the loss on the observed entries only (else on every entry)
  double dropout = 0.5; // share of the input ratings dropped in training (denoising)
  int epochs = 300;     // the most
  int patience = 15;
  index_t batch_size = 64;  // users per update
  double learning_rate = 1e-3;
  double l2 = 0;
  index_t validation_k = 10;
  bool sigmoid_output = true;    // false: a linear output fitted to raw ratings (U-AutoRec)
  bool rmse_validation = false;  // validated by the RMSE of the held-out values (else ndcg@k)
  std::string name = "dae";  // in the progress bar and messages
};

// The movie seed's denoising autoencoder: each row of `fit` (users x items, values scaled to
// [0, 1]) concatenated with the same row of `features` (users x F; F may be 0) is encoded and
// decoded back to the items through a sigmoid (or linearly: U-AutoRec). When `valid` (users x
// items) has entries, every epoch scores ndcg@validation_k of its rows given the fit rows (their
// items left out of the ranking), or the RMSE of its values, keeps the best epoch and stops
// after `patience` epochs without a better one.
TrainedNetwork train_user_autoencoder(const CsrMatrix& fit, const CsrMatrix& features,
                                      const CsrMatrix& valid, const UserAutoencoderOptions& options,
                                      FitContext& ctx);

struct AutoRecOptions {
  index_t hidden = 500;
  double lambda = 100;  // L2 weight: + lambda/2 (|V|^2 + |W|^2) per pass over the items
  int epochs = 500;   // the most
  int patience = 20;
  index_t batch_size = 64;  // items per update
  double learning_rate = 1e-3;
};

// An item-based rating autoencoder's item codes (the users' output rows are then solved for
// them exactly: neural/item_codes.hpp), and how the run went.
struct TrainedItemCodes {
  std::vector<float> item_codes;  // items x hidden, row-major: sigmoid(V r_i + mu)
  TrainingRun run;                // best_validation: the validation RMSE
};

// Fits on the ratings of `fit` (users x items); when `valid` (same shape) has entries, every
// epoch measures their RMSE, keeps the best epoch and stops after `patience` epochs without a
// better one. The codes returned are computed from `full` (fit + validation ratings).
TrainedItemCodes train_autorec(const CsrMatrix& full, const CsrMatrix& fit, const CsrMatrix& valid,
                             const AutoRecOptions& options, FitContext& ctx);

struct GLocalKOptions {
  index_t hidden = 500;      // units of each kernel layer
  int layers = 2;            // hidden kernel layers (then the output layer)
  index_t kernel_dim = 5;    // dimension of the local kernel's embeddings
  double lambda_2 = 20;      // L2 weight of the weights
  double lambda_s = 0.006;   // L2 weight of the local kernels (sparsity)
  int pretrain_epochs = 30;  // epochs of the local kernel net alone
  int finetune_epochs = 60;  // the most epochs with the global kernel
  int iterations = 5;        // L-BFGS iterations per epoch
  bool restart = false;      // each epoch a new L-BFGS history (as published)
  int patience = 10;         // fine-tuning epochs without a better validation RMSE
  index_t global_kernel = 3; // side of the global convolution kernel
  double dot_scale = 1;      // scale of the global kernel
  float lowest = 1, highest = 5;  // the rating scale, predictions clipped to it for validation
};

// GLocal-K: pre-training of the local kernel net on the rating matrix, then fine-tuning on the
// matrix convolved with the global kernel; early stopping on `valid`'s RMSE.
TrainedItemCodes train_glocalk(const CsrMatrix& full, const CsrMatrix& fit, const CsrMatrix& valid,
                               const GLocalKOptions& options, FitContext& ctx);

struct SasRecOptions {
  index_t dim = 64;       // embedding and hidden size
  index_t heads = 1;
  int blocks = 2;
  index_t max_len = 50;   // the newest items read of a history
  index_t ffn = 0;        // feed-forward units (0: dim, as published)
  double dropout = 0.2;
  bool softmax = true;    // full softmax over the catalogue (else BCE with sampled negatives)
  index_t negatives = 1;  // BCE: negatives per position
  int epochs = 200;       // the most
  int patience = 10;
  index_t batch_size = 128;  // sequences per update
  double learning_rate = 1e-3;
  double l2 = 0;
  index_t validation_k = 10;
};

// Fits on the sequences of `data` (each cut into windows of max_len + 1, so every transition
// is trained once an epoch). When data.valid has entries (each user's next item after their
// sequence), every epoch scores ndcg@validation_k of them given the sequences (data.seen not
// ranked), keeps the best epoch and stops after `patience` epochs without a better one.
CausalTransformer train_sasrec(const SequenceData& data, const SasRecOptions& options,
                               FitContext& ctx, TrainingRun& run);

enum class SessionLoss { kSoftmax, kCrossEntropy, kBprMax };

struct Gru4RecOptions {
  index_t dim = 64;       // input embedding size
  index_t hidden = 100;   // GRU units
  index_t max_len = 200;  // the newest items read when scoring (training reads every step)
  double dropout = 0.1;   // on the input embeddings and the GRU's output
  SessionLoss loss = SessionLoss::kSoftmax;
  index_t negatives = 64;  // cross-entropy, bpr-max: sampled negatives beside the batch's targets
  double sample_alpha = 0.75;  // their sampling: popularity^alpha
  double bpr_reg = 1.0;        // bpr-max: score regularisation
  int epochs = 50;        // the most
  int patience = 5;
  index_t batch_size = 64;  // sequences walked side by side
  double learning_rate = 1e-3;
  double l2 = 0;
  index_t validation_k = 10;
};

// Fits on the sequences of `data`; early stopping as train_sasrec's.
GruNetwork train_gru4rec(const SequenceData& data, const Gru4RecOptions& options,
                         FitContext& ctx, TrainingRun& run);

// The scores the training network (libtorch) gives every item after `sequence`: the test that
// the plain network does the same arithmetic.
std::vector<float> gru4rec_scores_on_torch(const GruNetwork& g, std::span<const index_t> sequence);

// The scores `t` gives every item after `sequence`, computed by the training network (libtorch)
// instead of the plain one: the test that both do the same arithmetic.
std::vector<float> sasrec_scores_on_torch(const CausalTransformer& t,
                                          std::span<const index_t> sequence);

}  // namespace reckon::neural
