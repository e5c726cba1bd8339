#pragma once
// When and how a factor model searches its lists approximately (serve/evaluate --ann). No Eigen
// or FAISS here: the server and the CLI include this, the index itself is ann_index.hpp.
#include <optional>
#include <string>
#include <string_view>

#include "reckon/core/types.hpp"

namespace reckon {

class Model;

// Never (off, the default for evaluation: exact lists), from `min_items` items on (auto, the
// default for serving), or always (on).
enum class AnnMode { kOff, kAuto, kOn };

struct AnnOptions {
  AnnMode mode = AnnMode::kOff;
  index_t min_items = 200'000;  // auto: approximate from this catalogue size on
  int nlist = 0;                // inverted lists (0: 2 sqrt(items))
  int nprobe = 0;               // lists scanned per query (0: chosen from nlist)
};

// "off", "auto" or "on"; anything else is an error that names the choices.
AnnMode parse_ann_mode(std::string_view text);
std::string_view to_string(AnnMode mode);

// Whether this build has an approximate index (FAISS).
bool ann_available();

// Whether a catalogue of `items` items is searched approximately under `options`. Throws when
// the mode is on and the build has no FAISS.
bool ann_applies(const AnnOptions& options, index_t items);

// Sets a factor model's search (FactorModel::set_ann, which builds the index now) and returns
// how it searches ("exact" or the index); nullopt for a model that searches its own way
// (neighbourhood models, EASE, the neural ones). Defined with the factor models.
std::optional<std::string> use_ann(Model& model, const AnnOptions& options);

}  // namespace reckon
