// `sarseg bench windows SCENE --store STORE`: time to read training windows (every input band and
// the first task's label) straight from the scene file (netCDF hyperslabs; GDAL RasterIO on a
// GeoTIFF copy) and from the scene store, at the same random positions, with the files' pages
// in the page cache (warm) and evicted first (cold).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "sarseg/data/random.h"
#include "sarseg/data/scene_store.h"
#include "sarseg/io/geotiff.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/window_reader.h"
#include "sarseg/train/config.h"
#include "sarseg/util/error.h"
#include "sarseg/util/process.h"

namespace fs = std::filesystem;

namespace sarseg::cli {
namespace {

struct BenchWindowsArgs {
  std::string scene;
  std::string store;
  std::string config_file;
  std::vector<std::string> overrides;
  int64_t window = 256;
  int64_t count = 200;
  bool geotiff = true;
};

// Drops a file's pages from the page cache (a cold read without touching other files).
void evict(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

double time_windows(const std::vector<std::pair<int64_t, int64_t>>& positions,
                    const std::function<void(int64_t, int64_t)>& read) {
  const auto start = std::chrono::steady_clock::now();
  for (const auto& [row, col] : positions)
    read(row, col);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run_bench_windows(const BenchWindowsArgs& args) {
  std::optional<fs::path> file;
  if (!args.config_file.empty()) file = args.config_file;
  const train::TrainConfig config = train::load_train_config(file, args.overrides);
  const fs::path scene_file = args.scene;
  const auto settings = data::store_settings(config.data.bands, train::tasks_of(config),
                                             static_cast<int>(config.data.ignore_label),
                                             config.data.physical_units, config.data.downsample);
  data::StoreOptions store;
  store.dir = args.store;
  const auto entry = data::open_store({scene_file}, settings, store, "bench windows").front();
  const int64_t p = args.window;
  require(p > 0 && p <= entry->height() && p <= entry->width(),
          "--window must fit the scene (" + std::to_string(entry->height()) + "x" +
              std::to_string(entry->width()) + ")");
  require(args.count > 0, "--count must be positive");
  data::Rng rng(7);
  std::vector<std::pair<int64_t, int64_t>> positions;
  for (int64_t k = 0; k < args.count; ++k)
    positions.emplace_back(rng.uniform_int(0, entry->height() - p),
                           rng.uniform_int(0, entry->width() - p));
  std::vector<float> floats(static_cast<size_t>(p * p));
  std::vector<uint8_t> bytes(static_cast<size_t>(p * p));
  const size_t planes = entry->bands().size() + (entry->labels().empty() ? 0 : 1);

  std::printf("machine        %s\n", cpu_description().c_str());
  std::printf("scene          %s (%lldx%lld), %zu input bands + %s\n", scene_file.c_str(),
              static_cast<long long>(entry->height()), static_cast<long long>(entry->width()),
              entry->bands().size(),
              entry->labels().empty() ? "no label" : entry->labels().front().name.c_str());
  std::printf("windows        %lld of %lldx%lld, %zu planes each\n",
              static_cast<long long>(args.count), static_cast<long long>(p),
              static_cast<long long>(p), planes);
  auto report = [&](const char* what, double cold, double warm) {
    std::printf("%-14s cold %8.2f ms/window   warm %8.2f ms/window\n", what,
                1000.0 * cold / static_cast<double>(args.count),
                1000.0 * warm / static_cast<double>(args.count));
  };

  auto store_read = [&](int64_t row, int64_t col) {
    for (size_t b = 0; b < entry->bands().size(); ++b)
      entry->read_band(b, floats.data(), row, col, p, p);
    if (!entry->labels().empty()) entry->read_target(0, bytes.data(), row, col, p, p);
  };
  evict(entry->file());
  const double store_cold = time_windows(positions, store_read);
  report("store", store_cold, time_windows(positions, store_read));

  // The scene file's own rasters: AI4Arctic variable names for netCDF.
  const std::vector<std::pair<std::string, std::string>> nc_names = {
      {"hh_db", "nersc_sar_primary"},
      {"hv_db", "nersc_sar_secondary"},
      {"incidence_deg", "sar_incidenceangle"},
      {"distance_map", "distance_map"}};
  auto raster_readers = [&](const fs::path& path, bool netcdf) {
    std::vector<std::unique_ptr<io::RasterWindowReader>> readers;
    int index = 1;
    for (const auto& band : entry->bands()) {
      std::string name = band.name;
      if (netcdf)
        for (const auto& [ours, theirs] : nc_names)
          if (ours == band.name) name = theirs;
      readers.push_back(io::open_window_reader(path, netcdf ? name : std::to_string(index++)));
    }
    if (netcdf && !entry->labels().empty())
      readers.push_back(io::open_window_reader(path, entry->labels().front().name));
    return readers;
  };
  // One window of every raster of a scene, into the same buffer.
  const auto read_every = [&](std::vector<std::unique_ptr<io::RasterWindowReader>>& readers) {
    return [&](int64_t row, int64_t col) {
      for (auto& reader : readers)
        reader->read(floats.data(), row, col, p, p);
    };
  };
  if (io::is_scene_file(scene_file) && scene_file.extension() == ".nc") {
    evict(scene_file);
    auto readers = raster_readers(scene_file, true);
    const auto nc_read = read_every(readers);
    const double cold = time_windows(positions, nc_read);
    report("netcdf", cold, time_windows(positions, nc_read));
  }
  if (args.geotiff) {
    // A GeoTIFF copy of the scene as sarseg writes it (bands in one file).
    io::SceneReadOptions read;
    read.physical_units = config.data.physical_units;
    const fs::path copy = fs::path(args.store) / "bench-windows-copy.tif";
    io::write_scene(io::read_scene(scene_file, read), copy);
    evict(copy);
    auto readers = raster_readers(copy, false);
    const auto tif_read = read_every(readers);
    const double cold = time_windows(positions, tif_read);
    report("geotiff", cold, time_windows(positions, tif_read));
    std::printf("geotiff copy   %.1f MiB (labels in a sibling file, not read here)\n",
                static_cast<double>(fs::file_size(copy)) / (1 << 20));
    fs::remove(copy);
    fs::remove(io::geotiff_labels_path(copy));
  }
  std::printf("scene file     %.1f MiB; store entry %.1f MiB\n",
              static_cast<double>(fs::file_size(scene_file)) / (1 << 20),
              static_cast<double>(fs::file_size(entry->file())) / (1 << 20));
}

void add_bench_windows_command(CLI::App& root) {
  auto args = std::make_shared<BenchWindowsArgs>();
  auto* cmd = bench_command(root).add_subcommand(
      "windows",
      "window reads from a scene file (netCDF hyperslab, GeoTIFF RasterIO) against "
      "the scene store");
  cmd->add_option("scene", args->scene, "scene file (.nc)")->required();
  cmd->add_option("--store", args->store, "scene store folder (the entry is prepared if missing)")
      ->required();
  cmd->add_option("--config,-c", args->config_file, "YAML training config (bands, tasks)");
  cmd->add_option("--set", args->overrides, "override a config key (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--window", args->window, "window side in pixels");
  cmd->add_option("--count", args->count, "windows read per method");
  cmd->add_flag("!--no-geotiff", args->geotiff, "skip the GeoTIFF copy");
  cmd->callback([args] { run_bench_windows(*args); });
}

const CommandRegistration kRegistration{96, "bench windows", add_bench_windows_command};

}  // namespace
}  // namespace sarseg::cli
