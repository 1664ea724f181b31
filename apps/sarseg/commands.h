// Subcommand registry. Each subcommand lives in its own cmd_<name>.cpp and registers itself:
//
//   static const sarseg::cli::CommandRegistration kRegistration{30, "train", add_train_command};
//
// main.cpp adds them to the root CLI::App sorted by `order` (the order --help lists them).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace sarseg::cli {

struct CommandEntry {
  int order;
  std::string name;
  std::function<void(CLI::App&)> add;
};

std::vector<CommandEntry>& command_registry();

// The `bench` parent command (created on first use); benchmark files add subcommands to it
// from registrations with order > 90.
CLI::App& bench_command(CLI::App& root);

struct CommandRegistration {
  CommandRegistration(int order, std::string name, std::function<void(CLI::App&)> add) {
    command_registry().push_back({order, std::move(name), std::move(add)});
  }
};

}  // namespace sarseg::cli
