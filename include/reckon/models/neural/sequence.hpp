#pragma once
// Histories as sequences, for the models whose input is the order of a history (sasrec,
// gru4rec): a UserContext's items by time, and a training matrix's rows by time.
#include <span>
#include <vector>

#include "reckon/core/csr_matrix.hpp"
#include "reckon/models/model.hpp"

namespace reckon::neural {

// The history of `user`, oldest first: by time when every entry has one (ties keep the given
// order), else in the given order (UserContext's convention). Items out of [0, items) are
// skipped; only the newest `max_len` are kept. Repeats are kept: they are part of a sequence.
std::vector<index_t> history_sequence(const UserContext& user, index_t items, std::size_t max_len);

// Every row of `m` in time order (ties, and rows without times, in item order): row r is
// items[indptr[r] .. indptr[r + 1]).
struct Sequences {
  std::vector<index_t> indptr{0};
  std::vector<index_t> items;

  index_t rows() const { return static_cast<index_t>(indptr.size()) - 1; }
  std::span<const index_t> row(index_t r) const {
    return {items.data() + indptr[static_cast<std::size_t>(r)],
            static_cast<std::size_t>(indptr[static_cast<std::size_t>(r) + 1] -
                                     indptr[static_cast<std::size_t>(r)])};
  }
};
Sequences time_ordered_rows(const CsrMatrix& m);

// Splits off, for each of `users`, their newest interaction (by time, as time_ordered_rows
// orders them) into `last`; everything else stays in `rest`. Users with fewer than `min_left` + 1
// interactions keep all of theirs. Both have the shape and times of `m`.
void split_newest(const CsrMatrix& m, std::span<const index_t> users, index_t min_left,
                  CsrMatrix& rest, CsrMatrix& last);

// The training parameters the sequence models share (epochs, patience, batch_size,
// learning_rate, l2, validation, max_validation_users, validation_k), with their own defaults.
std::vector<ParamSpec> sequence_training_params(const char* epochs, const char* patience,
                                                const char* batch_size, const char* batch_doc);

// The sequence models' early-stopping part of `train`: the newest interaction of a random share
// (parameter `validation`) of the users with 3 or more, at most `max_validation_users` of them,
// into `valid`, the rest into `fit` (the published protocol's validation item; never the test
// set). Warns, naming `model`, when the data has no times (item order then stands in).
void sequence_validation_part(const Dataset& train, const Params& params, const FitContext& ctx,
                              std::string_view model, CsrMatrix& fit, CsrMatrix& valid);

}  // namespace reckon::neural
