// libcurl downloads: into AtomicOutput's temporary file, hash checked, then renamed into place.
#include "sarseg/weights/download.h"

#include <cstdio>
#include <mutex>

#include "sarseg/build_config.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"
#include "sarseg/util/sha256.h"

#if SARSEG_HAVE_CURL
#include <curl/curl.h>
#endif

namespace fs = std::filesystem;

namespace sarseg::weights {
namespace {

#if SARSEG_HAVE_CURL
size_t write_to_file(char* data, size_t size, size_t count, void* file) {
  return std::fwrite(data, size, count, static_cast<FILE*>(file)) * size;
}

// Transfers `url` into the file `path` (created or truncated); returns "" or the reason it failed.
std::string fetch(const std::string& url, const fs::path& path) {
  static std::once_flag initialised;
  std::call_once(initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });

  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) return "cannot create " + path.string();
  CURL* curl = curl_easy_init();
  if (!curl) {
    std::fclose(file);
    return "libcurl could not start";
  }
  char error_text[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_to_file);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, file);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  // Give up on a stalled transfer (under 1 kB/s for a minute) rather than hang.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE);
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
  const CURLcode code = curl_easy_perform(curl);
  curl_easy_cleanup(curl);
  const bool closed = std::fclose(file) == 0;
  if (code != CURLE_OK) return error_text[0] ? error_text : curl_easy_strerror(code);
  if (!closed) return "writing " + path.string() + " failed";
  return "";
}
#endif

void download_checked(const std::string& url, const fs::path& target, const WeightSet* set) {
#if SARSEG_HAVE_CURL
  AtomicOutput output(target);
  sarseg::log::info("downloading {} to {}", url, target.string());
  const std::string problem = fetch(url, output.temp_path());
  require(problem.empty(), "download of " + url + " failed: " + problem);
  if (set) {
    const std::string mismatch = hash_problem(*set, sha256_file_hex(output.temp_path()));
    require(mismatch.empty(), "download of " + url + " " + mismatch + " (not kept)");
  }
  output.commit();
#else
  (void)target;
  (void)set;
  throw UserError("cannot download " + url + ": this build has no libcurl (SARSEG_WITH_CURL=OFF)");
#endif
}

}  // namespace

void download_file(const std::string& url, const fs::path& target) {
  download_checked(url, target, nullptr);
}

void download_verified(const std::string& url, const fs::path& target, const WeightSet& set) {
  download_checked(url, target, &set);
}

}  // namespace sarseg::weights
