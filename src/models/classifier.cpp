// ImageNetClassifier: a registry encoder plus torchvision's classification head, under the full
// torchvision model names (the encoder's children are registered directly on this module).
#include "sarseg/models/classifier.h"

#include "backbones.h"
#include "sarseg/models/encoders.h"
#include "sarseg/util/error.h"

namespace sarseg::models {

ImageNetClassifierImpl::ImageNetClassifierImpl(const std::string& encoder, int64_t num_classes) {
  require(num_classes >= 1, "classifier: num_classes must be at least 1");
  const auto& info = find_encoder(encoder);
  encoder_ = build_encoder(encoder, 3, static_cast<int64_t>(info.stage_channels.size()));
  for (const auto& child : encoder_->named_children())
    register_module(child.key(), child.value());
  const int64_t features = info.stage_channels.back();
  if (encoder == "mobilenet_v2") {
    // torchvision: classifier = Sequential(Dropout(0.2), Linear(1280, num_classes)).
    detail::SequentialBlock classifier(torch::nn::Dropout(0.2),
                                       torch::nn::Linear(features, num_classes));
    apply_torchvision_init(*classifier, TorchvisionInit::kMobileNetV2);
    head_ = torch::nn::AnyModule(register_module("classifier", classifier));
  } else {
    head_ = torch::nn::AnyModule(register_module("fc", torch::nn::Linear(features, num_classes)));
  }
  network_ = torch::nn::AnyModule(encoder_);
}

torch::Tensor ImageNetClassifierImpl::forward(const torch::Tensor& x) {
  auto features = network_.forward<std::vector<torch::Tensor>>(x).back();
  return head_.forward(torch::adaptive_avg_pool2d(features, {1, 1}).flatten(1));
}

std::vector<torch::Tensor> ImageNetClassifierImpl::encoder_features(const torch::Tensor& x) {
  return network_.forward<std::vector<torch::Tensor>>(x);
}

weights::LoadResult load_classifier_weights(ImageNetClassifierImpl& classifier,
                                            const weights::StateDict& tensors,
                                            const std::string& source_name) {
  auto result = weights::load_state(classifier, tensors, /*strict=*/false, source_name);
  std::vector<std::string> missing;
  for (const auto& name : result.missing) {
    // Converted files carry no BatchNorm batch counters; they do not affect eval or training.
    const std::string suffix = "num_batches_tracked";
    if (name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
      missing.push_back(name);
  }
  if (!missing.empty() || !result.unexpected.empty()) {
    throw UserError(
        source_name + " does not fit the classifier: " + std::to_string(missing.size()) +
        " tensors missing (first: " + (missing.empty() ? std::string("-") : missing.front()) +
        "), " + std::to_string(result.unexpected.size()) + " unexpected (first: " +
        (result.unexpected.empty() ? std::string("-") : result.unexpected.front()) +
        "); is it a torchvision classifier state_dict of this architecture?");
  }
  result.missing = missing;
  return result;
}

}  // namespace sarseg::models
