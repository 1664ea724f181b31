// A module's tensors by name, and copying a StateDict into a module.
#include <algorithm>
#include <map>
#include <set>

#include "dtypes.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/state_dict.h"

namespace sarseg::weights {
namespace {

void append_own_tensors(const torch::nn::Module& module, const std::string& prefix,
                        StateDict& out) {
  for (const auto& item : module.named_parameters(/*recurse=*/false))
    if (item.value().defined()) out.emplace_back(prefix + item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/false))
    if (item.value().defined()) out.emplace_back(prefix + item.key(), item.value());
}

// Module tensors in PyTorch's state_dict order: per module, parameters then buffers.
StateDict live_tensors(const torch::nn::Module& module) {
  StateDict tensors;
  append_own_tensors(module, "", tensors);
  // include_self=false: named_modules() with self needs the module to be owned by a shared_ptr.
  for (const auto& item : module.named_modules("", /*include_self=*/false))
    append_own_tensors(*item.value(), item.key() + ".", tensors);
  return tensors;
}

bool is_batch_counter(const std::string& name) {
  return ends_with(name, "num_batches_tracked");
}

std::string name_list(const std::vector<std::string>& names, size_t limit = 5) {
  std::vector<std::string> shown(names.begin(),
                                 names.begin() + static_cast<long>(std::min(limit, names.size())));
  std::string text = join(shown, ", ");
  if (names.size() > limit) text += " and " + std::to_string(names.size() - limit) + " more";
  return text;
}

}  // namespace

StateDict module_state(const torch::nn::Module& module) {
  StateDict tensors = live_tensors(module);
  for (auto& [name, tensor] : tensors)
    tensor = tensor.detach().to(torch::kCPU).clone();
  return tensors;
}

LoadResult load_state(torch::nn::Module& module, const StateDict& tensors, bool strict,
                      const std::string& source_name, const std::string& prefix) {
  const StateDict targets = live_tensors(module);
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& [name, tensor] : targets)
    by_name.emplace(name, tensor);

  LoadResult result;
  std::set<std::string> seen;
  torch::NoGradGuard no_grad;
  for (const auto& [file_name, source] : tensors) {
    if (!prefix.empty() && !starts_with(file_name, prefix)) {
      result.unexpected.push_back(file_name);
      continue;
    }
    const std::string name = file_name.substr(prefix.size());
    const auto found = by_name.find(name);
    if (found == by_name.end()) {
      result.unexpected.push_back(file_name);
      continue;
    }
    require(seen.insert(name).second,
            "weights '" + source_name + "': tensor '" + file_name + "' appears twice");
    torch::Tensor target = found->second;
    require(source.sizes() == target.sizes(),
            "weights '" + source_name + "': tensor '" + file_name + "' has shape " +
                detail::shape_text(source.sizes()) + " in the file but the model's '" + name +
                "' has shape " + detail::shape_text(target.sizes()) +
                "; use weights made for this architecture and band count");
    // Floating-point precision may differ (F16/F64 files into a float model); anything else must
    // match, since converting integer or boolean tensors would change their meaning.
    const bool both_floating =
        c10::isFloatingType(source.scalar_type()) && c10::isFloatingType(target.scalar_type());
    require(source.scalar_type() == target.scalar_type() || both_floating,
            "weights '" + source_name + "': tensor '" + file_name + "' has dtype " +
                std::string(c10::toString(source.scalar_type())) +
                " in the file but the model's '" + name + "' is " +
                std::string(c10::toString(target.scalar_type())));
    target.copy_(source);
    result.loaded.push_back(name);
  }
  for (const auto& [name, tensor] : targets) {
    // Files exported without BatchNorm batch counters (e.g. converted TF weights) are normal.
    if (!seen.count(name) && !is_batch_counter(name)) result.missing.push_back(name);
  }
  if (strict) {
    require(result.missing.empty(), "weights '" + source_name + "' lack " +
                                        std::to_string(result.missing.size()) +
                                        " tensor(s) of the model: " + name_list(result.missing) +
                                        "; use weights made for this architecture");
    require(result.unexpected.empty(),
            "weights '" + source_name + "' have " + std::to_string(result.unexpected.size()) +
                " tensor(s) the model does not: " + name_list(result.unexpected) +
                "; use weights made for this architecture");
  }
  sarseg::log::debug("loaded {} tensors from {} ({} missing, {} unexpected)", result.loaded.size(),
                     source_name, result.missing.size(), result.unexpected.size());
  return result;
}

}  // namespace sarseg::weights
