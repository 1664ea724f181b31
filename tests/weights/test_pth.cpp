// PyTorch .pth reading: real torch.save fixtures (scripts/make_pth_fixture.py), a torchvision
// resnet18-shaped state_dict written in torch.save's layout against its safetensors twin, and
// hostile or malformed pickles refused without executing anything.
#include <gtest/gtest.h>

#include <set>

#include "pickle_writer.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/state_dict.h"
#include "support/test_support.h"

namespace fs = std::filesystem;
using sarseg::UserError;
using sarseg::testing::PickleWriter;
using sarseg::testing::TempDir;
using namespace sarseg::weights;

namespace {

const fs::path kFixtures = SARSEG_WEIGHTS_FIXTURES;

void expect_same(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.scalar_type(), b[i].second.scalar_type()) << a[i].first;
    EXPECT_EQ(a[i].second.sizes(), b[i].second.sizes()) << a[i].first;
    EXPECT_TRUE(a[i].second.sizes() == b[i].second.sizes() &&
                torch::equal(a[i].second, b[i].second))
        << a[i].first;
  }
}

// torchvision resnet18's state_dict names and shapes, in torchvision's order.
StateDict resnet18_state(int64_t seed) {
  torch::manual_seed(seed);
  StateDict state;
  auto conv = [&](const std::string& name, int64_t out, int64_t in, int64_t k) {
    state.emplace_back(name + ".weight", torch::randn({out, in, k, k}));
  };
  auto bn = [&](const std::string& name, int64_t channels) {
    state.emplace_back(name + ".weight", torch::rand({channels}));
    state.emplace_back(name + ".bias", torch::randn({channels}));
    state.emplace_back(name + ".running_mean", torch::randn({channels}));
    state.emplace_back(name + ".running_var", torch::rand({channels}) + 0.5);
    state.emplace_back(name + ".num_batches_tracked", torch::tensor(int64_t{100}));
  };
  conv("conv1", 64, 3, 7);
  bn("bn1", 64);
  const int64_t widths[] = {64, 128, 256, 512};
  int64_t in = 64;
  for (int layer = 0; layer < 4; ++layer) {
    for (int block = 0; block < 2; ++block) {
      const std::string prefix = "layer" + std::to_string(layer + 1) + "." + std::to_string(block);
      const int64_t block_in = block == 0 ? in : widths[layer];
      conv(prefix + ".conv1", widths[layer], block_in, 3);
      bn(prefix + ".bn1", widths[layer]);
      conv(prefix + ".conv2", widths[layer], widths[layer], 3);
      bn(prefix + ".bn2", widths[layer]);
      if (block == 0 && layer > 0) {
        conv(prefix + ".downsample.0", widths[layer], block_in, 1);
        bn(prefix + ".downsample.1", widths[layer]);
      }
    }
    in = widths[layer];
  }
  state.emplace_back("fc.weight", torch::randn({1000, 512}));
  state.emplace_back("fc.bias", torch::randn({1000}));
  return state;
}

// A module tree whose parameters and buffers have exactly the names and shapes of `state`
// (BatchNorm statistics as buffers), zero-initialised.
std::shared_ptr<torch::nn::Module> module_like(const StateDict& state) {
  auto root = std::make_shared<torch::nn::Module>();
  for (const auto& [name, tensor] : state) {
    torch::nn::Module* module = root.get();
    const auto parts = sarseg::split(name, '.');
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      std::shared_ptr<torch::nn::Module> child;
      for (const auto& item : module->named_children())
        if (item.key() == parts[i]) child = item.value();
      if (!child) child = module->register_module(parts[i], std::make_shared<torch::nn::Module>());
      module = child.get();
    }
    const bool buffer =
        sarseg::starts_with(parts.back(), "running_") || parts.back() == "num_batches_tracked";
    if (buffer)
      module->register_buffer(parts.back(), torch::zeros_like(tensor));
    else
      module->register_parameter(parts.back(), torch::zeros_like(tensor));
  }
  return root;
}

std::string read_pth_error(const fs::path& path) {
  try {
    read_pth(path);
  } catch (const UserError& error) {
    return error.what();
  }
  return "";
}

// A pickle file in a torch.save archive with one storage, for malformed/hostile cases.
fs::path archive_with_pickle(const TempDir& dir, const std::string& name, const std::string& pickle,
                             const std::string& storage = std::string(16, '\0')) {
  const fs::path path = dir / name;
  sarseg::testing::write_zip(
      path,
      {{"archive/data.pkl", pickle}, {"archive/version", "3\n"}, {"archive/data/0", storage}});
  return path;
}

}  // namespace

TEST(Pth, RealTorchSaveFixtureMatchesItsSafetensorsTwin) {
  const StateDict from_pth = read_pth(kFixtures / "tiny_state_dict.pth");
  const StateDict from_safetensors = read_safetensors(kFixtures / "tiny_state_dict.safetensors");
  expect_same(from_pth, from_safetensors);
  // Spot checks that do not depend on either reader: the views and dtypes the script saved.
  std::map<std::string, torch::Tensor> by_name(from_pth.begin(), from_pth.end());
  const auto base = torch::arange(24, torch::kFloat32).reshape({4, 6});
  EXPECT_TRUE(torch::equal(by_name.at("view.transposed"), base.t()));
  EXPECT_TRUE(torch::equal(by_name.at("view.slice"), base.slice(0, 1, 3).slice(1, 2, 5)));
  EXPECT_EQ(by_name.at("bn.num_batches_tracked").item<int64_t>(), 17);
  EXPECT_EQ(by_name.at("extra.bfloat16").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(by_name.at("extra.int32")[2].item<int32_t>(), 2147483647);
  EXPECT_EQ(by_name.at("extra.scalar").dim(), 0);
  EXPECT_EQ(by_name.at("conv.weight").sizes(), (std::vector<int64_t>{3, 2, 3, 3}));
}

TEST(Pth, NestedProtocol4CheckpointYieldsItsStateDict) {
  const StateDict nested = read_pth(kFixtures / "tiny_checkpoint_p4.pth");
  const StateDict twin = read_safetensors(kFixtures / "tiny_state_dict.safetensors");
  std::map<std::string, torch::Tensor> expected(twin.begin(), twin.end());
  const std::vector<std::string> names = {"conv.weight",
                                          "conv.bias",
                                          "bn.weight",
                                          "bn.bias",
                                          "bn.running_mean",
                                          "bn.running_var",
                                          "bn.num_batches_tracked",
                                          "head.1.weight",
                                          "head.1.bias"};
  ASSERT_EQ(nested.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(nested[i].first, names[i]);
    EXPECT_TRUE(torch::equal(nested[i].second, expected.at(names[i]))) << names[i];
  }
}

TEST(Pth, Resnet18InTorchSaveLayoutLoadsLikeItsSafetensorsTwin) {
  TempDir dir;
  const StateDict state = resnet18_state(11);
  ASSERT_EQ(state.size(), 122u);  // torchvision resnet18 has 122 state_dict entries
  sarseg::testing::write_torch_save(dir / "resnet18-test.pth", state, "resnet18-test");
  write_safetensors(dir / "resnet18-test.safetensors", state);

  const StateDict from_pth = read_weights(dir / "resnet18-test.pth");
  const StateDict from_safetensors = read_weights(dir / "resnet18-test.safetensors");
  expect_same(from_pth, state);
  expect_same(from_safetensors, state);

  // Both load strictly into a module with those names and leave it in the same state.
  auto via_pth = module_like(state);
  auto via_safetensors = module_like(state);
  const LoadResult result = load_state(*via_pth, from_pth, true, "resnet18-test.pth");
  load_state(*via_safetensors, from_safetensors, true, "resnet18-test.safetensors");
  EXPECT_EQ(result.loaded.size(), 122u);
  EXPECT_TRUE(result.missing.empty());
  EXPECT_TRUE(result.unexpected.empty());
  expect_same(module_state(*via_pth), module_state(*via_safetensors));
  expect_same(module_state(*via_pth), state);  // module order = torchvision order
}

TEST(Pth, HostilePicklesAreRefusedAndNothingRuns) {
  TempDir dir;
  const fs::path canary = dir / "executed";
  const std::string command = "touch " + canary.string();

  struct Case {
    const char* what;
    std::string pickle;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"os.system via GLOBAL + REDUCE",
       PickleWriter()
           .proto(2)
           .global("os", "system")
           .text(command)
           .op(0x85)
           .op('R')
           .op('.')
           .bytes(),
       "names global os.system"},
      {"posix.system (what pickle writes for os.system on Linux)",
       PickleWriter()
           .proto(2)
           .global("posix", "system")
           .text(command)
           .op(0x85)
           .op('R')
           .op('.')
           .bytes(),
       "names global posix.system"},
      {"builtins.eval via STACK_GLOBAL",
       PickleWriter()
           .proto(4)
           .stack_global("builtins", "eval")
           .text("__import__('os').system('" + command + "')")
           .op(0x85)
           .op('R')
           .op('.')
           .bytes(),
       "names global builtins.eval"},
      {"hidden inside a state_dict entry",
       PickleWriter()
           .proto(2)
           .global("collections", "OrderedDict")
           .op(')')
           .op('R')
           .mark()
           .text("weight")
           .global("subprocess", "call")
           .text(command)
           .op(0x85)
           .op('R')
           .op('u')
           .op('.')
           .bytes(),
       "names global subprocess.call"},
      {"INST opcode (calls a class by name)",
       PickleWriter().proto(2).mark().byte('i').bytes() + "os\nsystem\n.", "opcode 0x69"},
      {"NEWOBJ opcode", PickleWriter().proto(2).op(0x81).op('.').bytes(), "opcode 0x81"},
      {"calling an allowed storage class",
       PickleWriter().proto(2).global("torch", "FloatStorage").op(')').op('R').op('.').bytes(),
       "REDUCE on torch.FloatStorage"},
  };
  for (const auto& test_case : cases) {
    const fs::path path = archive_with_pickle(dir, "hostile.pth", test_case.pickle);
    const std::string message = read_pth_error(path);
    EXPECT_NE(message.find(test_case.expected), std::string::npos)
        << test_case.what << ": '" << message << "'";
    EXPECT_NE(message.find("hostile.pth"), std::string::npos) << message;
    EXPECT_FALSE(fs::exists(canary)) << test_case.what << " executed something";
  }
}

TEST(Pth, MalformedArchivesAreUserErrors) {
  TempDir dir;
  const StateDict one = {{"w", torch::ones({4})}};
  const std::string good_pickle = sarseg::testing::torch_save_pickle(one);

  // Storage shorter than the pickle says (truncated file).
  EXPECT_NE(
      read_pth_error(archive_with_pickle(dir, "short.pth", good_pickle, std::string(12, '\0')))
          .find("storage '0' has 12 bytes but the pickle describes 4 elements of Float"),
      std::string::npos);
  // The pickle cut short at every byte: always a UserError naming the file, never a crash.
  for (size_t length = 0; length < good_pickle.size(); ++length) {
    const std::string message =
        read_pth_error(archive_with_pickle(dir, "cut.pth", good_pickle.substr(0, length)));
    EXPECT_NE(message.find("cut.pth"), std::string::npos) << length << ": " << message;
  }
  // A storage size far beyond the entry is refused before anything is allocated.
  PickleWriter huge;
  huge.proto(2).op('}').text("w").global("torch._utils", "_rebuild_tensor_v2").mark();
  huge.mark().text("storage").global("torch", "FloatStorage").text("0").text("cpu");
  huge.integer(int64_t{1} << 60).op('t').op('Q').integer(0).int_tuple({1}).int_tuple({1});
  huge.op(0x89).op('}').op('t').op('R').op('s').op('.');
  EXPECT_NE(read_pth_error(archive_with_pickle(dir, "huge.pth", huge.bytes()))
                .find("storage '0' has 16 bytes but the pickle describes 1152921504606846976"),
            std::string::npos);
  // A view reaching past its storage.
  PickleWriter view;
  view.proto(2).op('}').text("w").global("torch._utils", "_rebuild_tensor_v2").mark();
  view.mark().text("storage").global("torch", "FloatStorage").text("0").text("cpu").integer(4);
  view.op('t').op('Q').integer(2).int_tuple({3}).int_tuple({1}).op(0x89).op('}').op('t').op('R');
  view.op('s').op('.');
  EXPECT_NE(read_pth_error(archive_with_pickle(dir, "view.pth", view.bytes()))
                .find("reaches element 4 of a storage with 4"),
            std::string::npos);
  // Storage key escaping the archive directory.
  PickleWriter escape;
  escape.proto(2).op('}').text("w").global("torch._utils", "_rebuild_tensor_v2").mark();
  escape.mark().text("storage").global("torch", "FloatStorage").text("../x").text("cpu").integer(1);
  escape.op('t').op('Q').integer(0).int_tuple({1}).int_tuple({1}).op(0x89).op('}').op('t').op('R');
  escape.op('s').op('.');
  EXPECT_NE(read_pth_error(archive_with_pickle(dir, "escape.pth", escape.bytes()))
                .find("invalid storage key"),
            std::string::npos);
  // Not a dict of tensors.
  EXPECT_NE(read_pth_error(archive_with_pickle(dir, "list.pth",
                                               PickleWriter().proto(2).op(']').op('.').bytes()))
                .find("does not hold a dict"),
            std::string::npos);
  // No data.pkl.
  const fs::path empty_zip = dir / "nopkl.pth";
  sarseg::testing::write_zip(empty_zip, {{"archive/version", "3\n"}});
  EXPECT_NE(read_pth_error(empty_zip).find("no <name>/data.pkl"), std::string::npos);
  // Not a zip at all.
  const fs::path text = dir / "text.pth";
  sarseg::write_file_atomically(text, "hello, not a zip");
  EXPECT_NE(read_pth_error(text).find("not a readable zip"), std::string::npos);
  // Big-endian data.
  const fs::path big = dir / "big.pth";
  sarseg::testing::write_zip(big, {{"archive/data.pkl", good_pickle},
                                   {"archive/byteorder", "big"},
                                   {"archive/data/0", std::string(16, '\0')}});
  EXPECT_NE(read_pth_error(big).find("big-endian"), std::string::npos);
}

TEST(ReadWeights, PicksTheReaderByExtensionOrContent) {
  TempDir dir;
  const StateDict state = {{"a", torch::arange(6, torch::kFloat32)}};
  write_safetensors(dir / "weights.bin.st", state);
  sarseg::testing::write_torch_save(dir / "weights.noext", state);
  expect_same(read_weights(dir / "weights.bin.st"), state);
  expect_same(read_weights(dir / "weights.noext"), state);
  sarseg::write_file_atomically(dir / "junk.dat", "0123456789abcdef");
  EXPECT_THROW(read_weights(dir / "junk.dat"), UserError);
  EXPECT_THROW(read_weights(dir / "missing.pth"), UserError);
}
