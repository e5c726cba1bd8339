#pragma once
// One function per command; each adds its subcommand to the app and runs from its callback.
#include <CLI/CLI.hpp>

namespace reckon::cli {

void add_data_command(CLI::App& app);
void add_import_command(CLI::App& app);
void add_info_command(CLI::App& app);
void add_split_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_retrain_command(CLI::App& app);
void add_recommend_command(CLI::App& app);
void add_interactive_command(CLI::App& app);
void add_evaluate_command(CLI::App& app);
void add_tune_command(CLI::App& app);
void add_export_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace reckon::cli
