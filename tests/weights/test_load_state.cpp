// Copying a StateDict into a module by name: shape and dtype checks, strictness, prefixes,
// BatchNorm batch counters absent from converted files.
#include <gtest/gtest.h>

#include "sarseg/util/error.h"
#include "sarseg/weights/state_dict.h"

using sarseg::UserError;
using namespace sarseg::weights;

namespace {

struct SmallNet : torch::nn::Module {
  SmallNet() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
    bn = register_module("bn", torch::nn::BatchNorm2d(4));
    fc = register_module("fc", torch::nn::Linear(4, 2));
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::BatchNorm2d bn{nullptr};
  torch::nn::Linear fc{nullptr};
};

std::string load_error(SmallNet& net, const StateDict& state, bool strict) {
  try {
    load_state(net, state, strict, "test.safetensors");
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST(ModuleState, ListsParametersAndBuffersInPyTorchOrder) {
  SmallNet net;
  const StateDict state = module_state(net);
  std::vector<std::string> names;
  for (const auto& [name, tensor] : state)
    names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv.weight", "conv.bias", "bn.weight", "bn.bias",
                                             "bn.running_mean", "bn.running_var",
                                             "bn.num_batches_tracked", "fc.weight", "fc.bias"}));
  // A copy: changing it does not change the module.
  state[0].second.fill_(7);
  EXPECT_FALSE(torch::equal(net.conv->weight, state[0].second));
}

TEST(LoadState, CopiesByNameAndSkipsAbsentBatchCounters) {
  torch::manual_seed(1);
  SmallNet source, target;
  StateDict state;
  for (auto& [name, tensor] : module_state(source))
    if (name != "bn.num_batches_tracked") state.emplace_back(name, torch::randn_like(tensor));
  const LoadResult result = load_state(target, state, /*strict=*/true, "test.safetensors");
  EXPECT_EQ(result.loaded.size(), 8u);
  EXPECT_TRUE(result.missing.empty());  // num_batches_tracked is not reported missing
  EXPECT_TRUE(torch::equal(target.conv->weight, state[0].second));
  EXPECT_TRUE(torch::equal(target.bn->running_var, state[5].second));
  EXPECT_TRUE(target.conv->weight.requires_grad());  // still a trainable parameter
}

TEST(LoadState, ShapeMismatchNamesTensorAndBothShapes) {
  SmallNet net;
  StateDict state = module_state(net);
  state[0].second = torch::zeros({4, 1, 3, 3});  // a 1-band conv into a 3-band model
  const std::string message = load_error(net, state, true);
  EXPECT_NE(message.find("'conv.weight'"), std::string::npos) << message;
  EXPECT_NE(message.find("[4, 1, 3, 3]"), std::string::npos) << message;
  EXPECT_NE(message.find("[4, 3, 3, 3]"), std::string::npos) << message;
  EXPECT_NE(message.find("test.safetensors"), std::string::npos) << message;
}

TEST(LoadState, DtypeMismatchIsRefusedButFloatPrecisionConverts) {
  SmallNet net;
  StateDict state = module_state(net);
  state[6].second = torch::zeros({}, torch::kFloat32);  // num_batches_tracked as float
  EXPECT_NE(load_error(net, state, true).find("'bn.num_batches_tracked' has dtype Float"),
            std::string::npos);
  state = module_state(net);
  state[7].second = torch::full({2, 4}, 0.5, torch::kFloat16);
  EXPECT_EQ(load_error(net, state, true), "");
  EXPECT_TRUE(torch::equal(net.fc->weight, torch::full({2, 4}, 0.5)));
}

TEST(LoadState, StrictReportsMissingAndUnexpected) {
  SmallNet net;
  StateDict state = module_state(net);
  state.erase(state.begin());  // no conv.weight
  state.emplace_back("decoder.weight", torch::zeros({1}));
  EXPECT_NE(load_error(net, state, true).find("lack 1 tensor(s) of the model: conv.weight"),
            std::string::npos);
  const LoadResult result = load_state(net, state, /*strict=*/false, "test.safetensors");
  EXPECT_EQ(result.missing, std::vector<std::string>{"conv.weight"});
  EXPECT_EQ(result.unexpected, std::vector<std::string>{"decoder.weight"});
}

TEST(LoadState, StripsAPrefix) {
  SmallNet source, target;
  StateDict prefixed;
  for (auto& [name, tensor] : module_state(source))
    prefixed.emplace_back("encoder." + name, tensor);
  prefixed.emplace_back("head.weight", torch::zeros({1}));
  const LoadResult result = load_state(target, prefixed, false, "x", "encoder.");
  EXPECT_EQ(result.loaded.size(), 9u);
  EXPECT_EQ(result.unexpected, std::vector<std::string>{"head.weight"});
  EXPECT_TRUE(torch::equal(target.fc->weight, source.fc->weight));
}
