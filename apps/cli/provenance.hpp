#pragma once
// What a report records so that its figures can be reproduced.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "prep_flags.hpp"

namespace reckon::cli {

// main() records argv here for reports.
void set_command_line(int argc, char** argv);
const std::vector<std::string>& command_line();

// reckon's version, the command line, each data source (as given) with its SHA-256, the prep
// flags and weights.
nlohmann::json provenance(const std::vector<std::string>& sources, const PrepFlags& prep);

}  // namespace reckon::cli
