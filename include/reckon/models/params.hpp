#pragma once
// Hyper-parameters, declared once per model: name, default, range, doc. The CLI (-p key=value),
// validation, the model file header and `reckon train --model NAME --help` all read these.
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace reckon {

enum class ParamType { kInt, kFloat, kString, kBool };

struct ParamSpec {
  std::string name;
  ParamType type;
  std::string default_value;  // as text, parsed like user input
  double min = 0, max = 0;    // numeric range (inclusive); ignored when min > max
  std::string doc;
  std::vector<std::string> choices;  // kString: allowed values (empty = any)
};

class Params {
 public:
  Params() = default;
  // Validates `values` (text, as from -p key=value) against `specs` and fills defaults.
  // Throws InvalidInput naming the model, the key and what is allowed.
  static Params resolve(std::string_view model, const std::vector<ParamSpec>& specs,
                        const std::map<std::string, std::string>& values);

  std::int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  bool get_bool(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  // The values given for MODEL.KEY names, which a spec named "*.*" admits (the ranker passes
  // them to its generators, which validate them): name -> value as text.
  std::map<std::string, std::string> dotted() const;
  // Typed values, for reports and model files.
  nlohmann::json to_json() const;
  static Params from_json(const nlohmann::json& j);

 private:
  nlohmann::json values_ = nlohmann::json::object();
};

// "key=value" -> (key, value); throws InvalidInput otherwise.
std::pair<std::string, std::string> parse_param_assignment(std::string_view text);
// The table `reckon train --model NAME --help` prints.
std::string describe_params(const std::vector<ParamSpec>& specs);

}  // namespace reckon
