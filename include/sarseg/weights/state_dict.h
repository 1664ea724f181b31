// Weight files: safetensors (read and write) and PyTorch .pth zip archives (read only, through a
// strict unpickler that executes nothing), plus loading a state dict into a module by name.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sarseg::weights {

// Ordered (file order) name -> tensor.
using StateDict = std::vector<std::pair<std::string, torch::Tensor>>;

// UserError naming the file and the problem for anything malformed.
StateDict read_safetensors(const std::filesystem::path& path);
void write_safetensors(const std::filesystem::path& path, const StateDict& tensors,
                       const std::map<std::string, std::string>& metadata = {});
StateDict read_pth(const std::filesystem::path& path);
// By extension (.safetensors, .pth, .pt) and magic bytes.
StateDict read_weights(const std::filesystem::path& path);

// The module's parameters and buffers as a StateDict (CPU tensors, module order).
StateDict module_state(const torch::nn::Module& module);

struct LoadResult {
  std::vector<std::string> loaded;
  std::vector<std::string> missing;     // in the module, not in the file
  std::vector<std::string> unexpected;  // in the file, not in the module
};

// Copies tensors into `module` by name (after stripping `prefix` from file names when given).
// A shape or dtype mismatch is a UserError naming the tensor; strict = missing/unexpected too.
LoadResult load_state(torch::nn::Module& module, const StateDict& tensors, bool strict,
                      const std::string& source_name, const std::string& prefix = "");

}  // namespace sarseg::weights
