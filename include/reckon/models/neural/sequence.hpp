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

// What a sequence model trains on: the sequences it fits and the held-out next items it stops
// on (the published protocol's validation item; never the test set).
struct SequenceData {
  index_t items = 0;
  Sequences fit;    // every user's training sequence, oldest first
  CsrMatrix valid;  // users x items: the held-out next item of the validation users
  // users x items: the items validation does not rank (the fit part's, or none when the data
  // kept its repeats: a re-click is then a next item like any other).
  CsrMatrix seen;
  // users x items: the items of each fit sequence (sorted; sampled negatives avoid them).
  CsrMatrix fit_items;
  // Occurrences of each item in the fit sequences (popularity-sampled negatives).
  std::vector<index_t> item_counts() const;
};

// The newest interaction (or, with an event log, the last event) of a random share (parameter
// `validation`) of the users with 3 or more, at most `max_validation_users` of them, is held
// out; the rest are the fit sequences: with an event log, its events with their repeats, else
// the matrix rows by time. Warns, naming `model`, when the data has no times and no event log
// (item order then stands in).
SequenceData sequence_training_data(const Dataset& train, const Params& params,
                                    const FitContext& ctx, std::string_view model);

}  // namespace reckon::neural
