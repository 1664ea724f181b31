// `sarseg weights`: list the named weight sets, inspect weight files, check them on a photo with
// their ImageNet classifier, and convert .pth files to safetensors.
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <map>

#include "commands.h"
#include "sarseg/io/image.h"
#include "sarseg/models/classifier.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/sha256.h"
#include "sarseg/util/strings.h"
#include "sarseg/weights/state_dict.h"
#include "sarseg/weights/weight_sets.h"

namespace fs = std::filesystem;

namespace sarseg::cli {
namespace {

using weights::WeightSet;

std::string shape_text(c10::IntArrayRef shape) {
  std::vector<std::string> parts;
  for (auto size : shape)
    parts.push_back(std::to_string(size));
  return "[" + join(parts, ", ") + "]";
}

std::string grouped(int64_t number) {
  std::string digits = std::to_string(number);
  for (int i = static_cast<int>(digits.size()) - 3; i > 0; i -= 3)
    digits.insert(static_cast<size_t>(i), ",");
  return digits;
}

std::string format_name(const fs::path& path) {
  std::ifstream stream(path, std::ios::binary);
  char head[4] = {};
  stream.read(head, 4);
  return std::string(head, 4) == std::string("PK\x03\x04", 4) ? "PyTorch .pth (zip + pickle)"
                                                              : "safetensors";
}

// ---- list ----------------------------------------------------------------------------------

void run_list() {
  const fs::path dir = weights::weights_dir();
  std::printf("weights directory: %s%s\n", dir.string().c_str(),
              weights::offline_mode() ? " (SARSEG_OFFLINE: no downloads)" : "");
  for (const auto& set : weights::weight_sets()) {
    const bool present = fs::exists(dir / set.file_name);
    std::printf("\n%s\n", set.name.c_str());
    std::printf("  architecture   %s\n", set.architecture.c_str());
    std::printf("  file           %s (%s)\n", set.file_name.c_str(),
                present ? "present" : "not in the weights directory");
    std::printf("  hash           %s\n", set.sha256.empty()
                                             ? ("sha256 prefix " + set.hash_prefix).c_str()
                                             : ("sha256 " + set.sha256).c_str());
    std::printf("  source         %s\n", set.source.c_str());
    std::printf("  download       %s\n", set.urls.empty()
                                             ? "none (copy the file into the weights directory)"
                                             : join(set.urls, " ").c_str());
    std::printf("  normalisation  %s\n", set.normalisation.c_str());
    std::printf("  licence        %s\n", set.licence.c_str());
  }
}

// ---- inspect -------------------------------------------------------------------------------

struct InspectOptions {
  std::string file;
  bool tensors = true;
};

void run_inspect(const InspectOptions& options) {
  const fs::path path = options.file;
  const weights::StateDict tensors = weights::read_weights(path);
  const std::string sha256 = sha256_file_hex(path);
  int64_t values = 0;
  std::map<std::string, int> by_dtype;
  size_t name_width = 4;
  for (const auto& [name, tensor] : tensors)
    name_width = std::max(name_width, name.size());
  if (options.tensors) {
    std::printf("%-*s  %-9s  %s\n", static_cast<int>(name_width), "name", "dtype", "shape");
  }
  for (const auto& [name, tensor] : tensors) {
    values += tensor.numel();
    const std::string dtype = c10::toString(tensor.scalar_type());
    ++by_dtype[dtype];
    if (options.tensors)
      std::printf("%-*s  %-9s  %s\n", static_cast<int>(name_width), name.c_str(), dtype.c_str(),
                  shape_text(tensor.sizes()).c_str());
  }
  std::vector<std::string> dtype_counts;
  for (const auto& [dtype, count] : by_dtype)
    dtype_counts.push_back(dtype + " " + std::to_string(count));
  std::printf("file     %s\n", path.string().c_str());
  std::printf("format   %s, %s bytes\n", format_name(path).c_str(),
              grouped(static_cast<int64_t>(fs::file_size(path))).c_str());
  std::printf("tensors  %zu (%s), %s values\n", tensors.size(), join(dtype_counts, ", ").c_str(),
              grouped(values).c_str());
  std::printf("sha256   %s\n", sha256.c_str());
  if (const WeightSet* set = weights::weight_set_for_file(path)) {
    const std::string problem = weights::hash_problem(*set, sha256);
    std::printf("set      %s (%s)\n", set->name.c_str(),
                problem.empty() ? "hash matches" : ("hash MISMATCH: " + problem).c_str());
  }
}

// ---- check ---------------------------------------------------------------------------------

struct CheckOptions {
  std::string weights;
  std::string image;
  std::string arch = "mobilenet_v2";
  std::string labels;
  int top = 5;
  double crop = 0.875;
  int size = 224;
};

// [1,3,size,size] float: central crop, antialiased bilinear resize (as PIL's), normalised.
torch::Tensor preprocess(const io::RgbImage& image, const CheckOptions& options,
                         const WeightSet& set) {
  torch::Tensor pixels = torch::from_blob(const_cast<uint8_t*>(image.rgb.data()),
                                          {image.height, image.width, 3}, torch::kUInt8)
                             .permute({2, 0, 1})
                             .to(torch::kFloat32)
                             .unsqueeze(0);
  const int64_t crop_h = std::max<int64_t>(1, std::llround(image.height * options.crop));
  const int64_t crop_w = std::max<int64_t>(1, std::llround(image.width * options.crop));
  pixels = pixels.slice(2, (image.height - crop_h) / 2, (image.height - crop_h) / 2 + crop_h)
               .slice(3, (image.width - crop_w) / 2, (image.width - crop_w) / 2 + crop_w);
  namespace F = torch::nn::functional;
  pixels = F::interpolate(pixels, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>{options.size, options.size})
                                      .mode(torch::kBilinear)
                                      .align_corners(false)
                                      .antialias(true));
  const auto mean = torch::tensor(set.mean, torch::kFloat64).to(torch::kFloat32).view({1, 3, 1, 1});
  const auto std = torch::tensor(set.std, torch::kFloat64).to(torch::kFloat32).view({1, 3, 1, 1});
  return (pixels / 255.0 - mean) / std;
}

// Label names: line c+1 of a 1001-line file (background first), or line c of a 1000-line one.
std::vector<std::string> class_names(const CheckOptions& options, const fs::path& weight_file,
                                     int64_t num_classes) {
  std::vector<fs::path> candidates;
  if (!options.labels.empty()) {
    require(fs::is_regular_file(options.labels),
            "--labels: '" + options.labels + "' does not exist");
    candidates.push_back(options.labels);
  } else {
    candidates.push_back(weight_file.parent_path() / "imagenet_labels_1001.txt");
    candidates.push_back(weights::weights_dir() / "imagenet_labels_1001.txt");
  }
  for (const auto& candidate : candidates) {
    std::ifstream stream(candidate);
    if (!stream) continue;
    std::vector<std::string> lines;
    for (std::string line; std::getline(stream, line);)
      lines.push_back(trim(line));
    if (static_cast<int64_t>(lines.size()) == num_classes + 1) lines.erase(lines.begin());
    if (static_cast<int64_t>(lines.size()) == num_classes) return lines;
    sarseg::log::warn("{} has {} lines, which does not fit {} classes; printing class numbers only",
                      candidate.string(), lines.size(), num_classes);
    return {};
  }
  sarseg::log::warn(
      "no imagenet_labels_1001.txt beside the weights or in {}; printing class numbers "
      "only (use --labels)",
      weights::weights_dir().string());
  return {};
}

int64_t classifier_outputs(const weights::StateDict& tensors, const std::string& source) {
  for (const auto& [name, tensor] : tensors)
    if ((name == "classifier.1.weight" || name == "fc.weight") && tensor.dim() == 2)
      return tensor.size(0);
  throw UserError(source +
                  " has no classifier.1.weight or fc.weight; 'weights check' needs a "
                  "full torchvision classifier state_dict");
}

void run_check(const CheckOptions& options) {
  require(options.top >= 1, "--top must be at least 1");
  require(options.crop > 0.0 && options.crop <= 1.0, "--crop must be in (0, 1]");
  require(options.size >= 32, "--size must be at least 32");
  const fs::path path = weights::resolve_weights(options.weights);
  // The weight set gives the architecture and normalisation; a plain file uses --arch's set.
  // The resolved file's own set first: a set's fallback file has its own normalisation.
  const WeightSet* set = weights::weight_set_for_file(path);
  for (const auto& candidate : weights::weight_sets())
    if (!set && candidate.name == options.weights) set = &candidate;
  if (!set) set = weights::default_weight_set(options.arch);
  require(set != nullptr, "--arch " + options.arch +
                              " has no ImageNet weight set, so its input normalisation is unknown");
  const std::string architecture = set->architecture;

  const weights::StateDict tensors = weights::read_weights(path);
  const int64_t num_classes = classifier_outputs(tensors, path.string());
  models::ImageNetClassifier classifier(architecture, num_classes);
  const auto loaded = models::load_classifier_weights(*classifier, tensors, path.string());
  classifier->eval();

  const io::RgbImage image = io::read_image(options.image);
  const torch::Tensor input = preprocess(image, options, *set);
  torch::Tensor probabilities;
  {
    torch::NoGradGuard no_grad;
    probabilities = torch::softmax(classifier->forward(input), 1)[0];
  }
  const auto names = class_names(options, path, num_classes);
  const auto top = probabilities.topk(std::min<int64_t>(options.top, num_classes));
  const auto values = std::get<0>(top);
  const auto indices = std::get<1>(top);

  std::printf("weights  %s (%s, %s, %zu tensors loaded)\n", path.string().c_str(),
              set->name.c_str(), architecture.c_str(), loaded.loaded.size());
  std::printf("image    %s (%dx%d), central crop %.1f%%, resized to %dx%d, normalised %s\n",
              options.image.c_str(), image.width, image.height, options.crop * 100.0, options.size,
              options.size, set->normalisation.c_str());
  std::printf("top-%lld:\n", static_cast<long long>(values.size(0)));
  for (int64_t i = 0; i < values.size(0); ++i) {
    const int64_t index = indices[i].item<int64_t>();
    const std::string label = names.empty() ? std::string("-") : names[static_cast<size_t>(index)];
    std::printf("  %lld. %6.4f  %4lld  %s\n", static_cast<long long>(i + 1),
                values[i].item<float>(), static_cast<long long>(index), label.c_str());
  }
}

// ---- convert -------------------------------------------------------------------------------

struct ConvertOptions {
  std::string input;
  std::string output;
};

void run_convert(const ConvertOptions& options) {
  const fs::path input = options.input;
  const fs::path output = options.output;
  require(to_lower(output.extension().string()) == ".safetensors",
          "output '" + options.output + "' must end in .safetensors");
  std::error_code error;
  require(!fs::equivalent(input, output, error),
          "output '" + options.output + "' is the input file; choose another name");
  const weights::StateDict tensors = weights::read_weights(input);
  weights::write_safetensors(output, tensors,
                             {{"format", "pt"},
                              {"converted_from", input.filename().string()},
                              {"source_sha256", sha256_file_hex(input)}});
  int64_t values = 0;
  for (const auto& [name, tensor] : tensors)
    values += tensor.numel();
  std::printf("wrote %s: %zu tensors, %s values\n", output.string().c_str(), tensors.size(),
              grouped(values).c_str());
}

void add_weights_command(CLI::App& root) {
  auto* command = root.add_subcommand(
      "weights", "list named weight sets; inspect, check and convert weight files");
  command->require_subcommand(1);

  auto* list = command->add_subcommand("list", "the named weight sets and where their files are");
  list->callback(run_list);

  auto inspect_options = std::make_shared<InspectOptions>();
  auto* inspect = command->add_subcommand(
      "inspect", "tensor names, shapes and dtypes, value count and sha256 of a weight file");
  inspect->add_option("file", inspect_options->file, "a .safetensors or .pth file")->required();
  inspect->add_flag("!--no-tensors", inspect_options->tensors, "print only the summary");
  inspect->callback([inspect_options] { run_inspect(*inspect_options); });

  auto check_options = std::make_shared<CheckOptions>();
  auto* check = command->add_subcommand(
      "check", "classify a photo with the weights' ImageNet classifier and print the top classes");
  check
      ->add_option("weights", check_options->weights,
                   "weight-set name (see 'sarseg weights list') or weight file")
      ->required();
  check->add_option("--image", check_options->image, "photo (BMP or PNG)")->required();
  check->add_option("--arch", check_options->arch,
                    "architecture of a weight file that is not a named set");
  check->add_option("--labels", check_options->labels,
                    "class names, one a line (default: imagenet_labels_1001.txt beside the "
                    "weights or in the weights directory)");
  check->add_option("--top", check_options->top, "how many classes to print");
  check->add_option("--crop", check_options->crop, "central crop fraction before resizing");
  check->add_option("--size", check_options->size, "network input size (pixels)");
  check->callback([check_options] { run_check(*check_options); });

  auto convert_options = std::make_shared<ConvertOptions>();
  auto* convert =
      command->add_subcommand("convert", "write a weight file (e.g. a .pth) as safetensors");
  convert->add_option("input", convert_options->input, "a .pth or .safetensors file")->required();
  convert->add_option("output", convert_options->output, "the .safetensors file to write")
      ->required();
  convert->callback([convert_options] { run_convert(*convert_options); });
}

const CommandRegistration kRegistration{35, "weights", add_weights_command};

}  // namespace
}  // namespace sarseg::cli
