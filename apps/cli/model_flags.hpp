#pragma once
// Which models a command fits and with what: --models lists and -p flags.
#include <map>
#include <string>
#include <vector>

namespace reckon::cli {

// One row of an evaluation: a label (unique; the model's name unless given), the model and
// its parameters as text.
struct ModelSpec {
  std::string label;
  std::string model;
  std::map<std::string, std::string> params;
};

// "ials,itemknn" or "ials:f64=ials(factors=64),ials:f128=ials(factors=128,alpha=20)": entries
// split at commas outside parentheses; "LABEL=" names a row, "(key=value,...)" gives its
// parameters. Then each -p "PREFIX.key=value" goes to the row labelled PREFIX, else to every
// row of model PREFIX; "key=value" needs exactly one row. Throws InvalidInput on an unknown
// model, a repeated label, unbalanced parentheses or a -p naming no row.
std::vector<ModelSpec> parse_model_specs(const std::string& models,
                                         const std::vector<std::string>& assignments);

// -p flags for rows named by their models: model -> key -> value.
using ModelParams = std::map<std::string, std::map<std::string, std::string>>;
ModelParams parse_model_params(const std::vector<std::string>& assignments,
                               const std::vector<std::string>& models);
std::vector<std::string> split_list(const std::string& text);

}  // namespace reckon::cli
