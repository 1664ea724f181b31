// SHA-256 digests (OpenSSL) as lowercase hex.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace sarseg {

std::string sha256_hex(std::string_view bytes);
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace sarseg
