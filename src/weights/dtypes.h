// Internal: element types shared by the safetensors and .pth readers.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

namespace sarseg::weights::detail {

// safetensors dtype string ("F32", "BF16", ...) <-> torch scalar type.
std::optional<torch::ScalarType> scalar_type_from_safetensors(const std::string& name);
std::optional<std::string> safetensors_name(torch::ScalarType type);

// "[32, 3, 3, 3]"
std::string shape_text(c10::IntArrayRef shape);

}  // namespace sarseg::weights::detail
