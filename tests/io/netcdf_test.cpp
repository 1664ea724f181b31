#include "sarseg/io/netcdf.h"

#include <gtest/gtest.h>
#include <netcdf.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <functional>

#include "io_test_util.h"
#include "netcdf_probe.h"
#include "sarseg/io/ai4arctic.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/io/window_reader.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "support/test_support.h"

namespace sarseg::io {
namespace detail {
extern const char* const kEmbeddedAi4ArcticStats;  // generated at build time
}
namespace {

namespace fs = std::filesystem;

// Expects a UserError whose message names every string in `needles`.
template <typename F>
void expect_user_error(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "expected a UserError";
  } catch (const UserError& e) {
    for (const auto& needle : needles)
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
          << "'" << e.what() << "' does not mention '" << needle << "'";
  }
}

void check(int status) {
  ASSERT_EQ(status, NC_NOERR) << nc_strerror(status);
}

// Writes a schema file by hand with libnetcdf: the variants real files come in.
struct RawFile {
  int ncid = -1;
  int lines = -1, samples = -1;
  RawFile(const fs::path& path, size_t h, size_t w) {
    check(nc_create(path.c_str(), NC_NETCDF4 | NC_CLOBBER, &ncid));
    check(nc_def_dim(ncid, "sar_lines", h, &lines));
    check(nc_def_dim(ncid, "sar_samples", w, &samples));
  }
  int def(const char* name, nc_type type, int d0, int d1) {
    int dims[2] = {d0, d1};
    int id = -1;
    check(nc_def_var(ncid, name, type, 2, dims, &id));
    return id;
  }
  void text(const char* name, const std::string& value) {
    check(nc_put_att_text(ncid, NC_GLOBAL, name, value.size(), value.c_str()));
  }
  void close() { check(nc_close(ncid)); }
};

// A minimal valid file: HH/HV (z-scores, one fill pixel), no charts, no AMSR2/ERA5, and the
// intro-notebook lat/lon spelling; dates in July at latitude `latitude`.
void write_minimal(const fs::path& path, float latitude, bool alternative_spelling) {
  RawFile f(path, 3, 4);
  const int hh = f.def("nersc_sar_primary", NC_FLOAT, f.lines, f.samples);
  const int hv = f.def("nersc_sar_secondary", NC_FLOAT, f.lines, f.samples);
  int gl = -1, gs = -1;
  check(nc_def_dim(f.ncid, "sar_line_2dgrid_points", 2, &gl));
  check(nc_def_dim(f.ncid, "sar_sample_2dgrid_points", 2, &gs));
  const int lat = f.def(alternative_spelling ? "sar_2dgrid_latitude" : "sar_grid2d_latitude",
                        NC_DOUBLE, gl, gs);
  const int lon = f.def(alternative_spelling ? "sar_2dgrid_longitude" : "sar_grid2d_longitude",
                        NC_DOUBLE, gl, gs);
  f.text("scene_id", "20180707T120000_dmi");
  const int spacing = 80;
  check(nc_put_att_int(f.ncid, NC_GLOBAL, "pixel_spacing", NC_INT, 1, &spacing));
  check(nc_enddef(f.ncid));
  std::vector<float> values(12);
  for (size_t i = 0; i < 12; ++i)
    values[i] = 0.5f + 0.1f * static_cast<float>(i);
  values[5] = 0.0f;  // SAR fill
  check(nc_put_var_float(f.ncid, hh, values.data()));
  check(nc_put_var_float(f.ncid, hv, values.data()));
  const double lats[4] = {latitude, latitude, latitude, latitude};
  const double lons[4] = {10, 11, 12, 13};
  check(nc_put_var_double(f.ncid, lat, lats));
  check(nc_put_var_double(f.ncid, lon, lons));
  f.close();
}

TEST(Netcdf, RoundTripInZScoresAndPhysicalUnits) {
  testing::TempDir dir;
  const Scene original = test::make_scene();
  write_scene(original, dir / "s.nc");

  const Scene z = read_scene(dir / "s.nc");
  ASSERT_EQ(z.height, original.height);
  ASSERT_EQ(z.width, original.width);
  EXPECT_EQ(z.band_names(), original.band_names());
  EXPECT_EQ(z.id, original.id);
  EXPECT_EQ(z.ice_service, "cis");
  EXPECT_EQ(z.pixel_spacing_m, 80);
  EXPECT_EQ(z.season, Season::kWinter);
  EXPECT_EQ(z.acquisition_time, original.acquisition_time);
  EXPECT_EQ(z.attributes.at("original_id"), original.attributes.at("original_id"));
  EXPECT_EQ(z.valid.data, original.valid.data);
  const MeanStd hh_stats = *ai4arctic_band_stats("hh_db");
  EXPECT_NEAR(hh_stats.mean, -14.5083, 1e-4);  // the published value
  for (const auto& band : z.bands) {
    EXPECT_EQ(band.units, "zscore");
    const auto stats = *ai4arctic_band_stats(band.name);
    const Band& source = original.band(band.name);
    for (size_t i = 0; i < band.pixels.data.size(); ++i) {
      const double expected =
          original.valid.data[i] ? (source.pixels.data[i] - stats.mean) / stats.std : 0.0;
      EXPECT_NEAR(band.pixels.data[i], expected, 1e-5) << band.name << " pixel " << i;
    }
  }
  for (const auto& [name, raster] : original.labels)
    EXPECT_EQ(z.labels.at(name).data, raster.data) << name;
  ASSERT_EQ(z.aux.size(), 2u);
  EXPECT_EQ(z.aux[0].name, "t2m");
  EXPECT_EQ(z.aux[1].pixels.data, original.aux[1].pixels.data);
  EXPECT_EQ(z.latitude_grid.data, original.latitude_grid.data);
  EXPECT_EQ(z.longitude_grid.data, original.longitude_grid.data);

  SceneReadOptions physical;
  physical.physical_units = true;
  const Scene p = read_scene(dir / "s.nc", physical);
  EXPECT_EQ(p.band("hh_db").units, "dB");
  EXPECT_EQ(p.band("incidence_deg").units, "deg");
  for (const auto& band : p.bands) {
    const Band& source = original.band(band.name);
    for (size_t i = 0; i < band.pixels.data.size(); ++i) {
      if (!original.valid.data[i]) continue;
      EXPECT_NEAR(band.pixels.data[i], source.pixels.data[i], 1e-4) << band.name;
    }
  }
  // Writing the z-scored scene again keeps the values (no double z-scoring).
  write_scene(z, dir / "again.nc");
  const Scene again = read_scene(dir / "again.nc");
  EXPECT_EQ(again.band("hv_db").pixels.data, z.band("hv_db").pixels.data);
}

TEST(Netcdf, SameSceneGivesIdenticalBytes) {
  testing::TempDir dir;
  const Scene scene = test::make_scene();
  write_scene(scene, dir / "a.nc");
  write_scene(scene, dir / "b.nc");
  EXPECT_EQ(read_file(dir / "a.nc"), read_file(dir / "b.nc"));
}

TEST(Netcdf, ReadsSchemaVariantsAndDerivesSeason) {
  testing::TempDir dir;
  for (bool alternative : {false, true}) {
    const auto path = dir / (alternative ? "alt.nc" : "std.nc");
    write_minimal(path, 75.0f, alternative);
    const Scene scene = read_scene(path);
    EXPECT_EQ(scene.band_names(), (std::vector<std::string>{"hh_db", "hv_db"}));
    EXPECT_TRUE(scene.labels.empty());
    EXPECT_TRUE(scene.aux.empty());
    ASSERT_EQ(scene.latitude_grid.data.size(), 4u) << path;
    EXPECT_EQ(scene.longitude_grid.data[3], 13.0f);
    EXPECT_EQ(scene.season, Season::kMelt);  // July in the north
    EXPECT_EQ(scene.acquisition_time, "2018-07-07T12:00:00Z");
    EXPECT_FALSE(scene.is_valid(1, 1));  // index 5 holds the fill value
    EXPECT_TRUE(scene.is_valid(1, 2));
  }
  write_minimal(dir / "south.nc", -70.0f, false);
  EXPECT_EQ(read_scene(dir / "south.nc").season, Season::kWinter);  // July in the south
  SceneReadOptions options;
  options.season = "freeze-up";
  EXPECT_EQ(read_scene(dir / "south.nc", options).season, Season::kFreezeUp);
}

TEST(Netcdf, RefusesFilesOutsideTheSchema) {
  testing::TempDir dir;
  {  // no HV
    RawFile f(dir / "no_hv.nc", 3, 4);
    f.def("nersc_sar_primary", NC_FLOAT, f.lines, f.samples);
    f.close();
  }
  expect_user_error([&] { read_scene(dir / "no_hv.nc"); }, {"no_hv.nc", "nersc_sar_secondary"});
  {  // HV on transposed dimensions
    RawFile f(dir / "dims.nc", 3, 4);
    f.def("nersc_sar_primary", NC_FLOAT, f.lines, f.samples);
    f.def("nersc_sar_secondary", NC_FLOAT, f.samples, f.lines);
    f.close();
  }
  expect_user_error([&] { read_scene(dir / "dims.nc"); }, {"dims.nc", "nersc_sar_secondary"});
  {  // a float chart
    RawFile f(dir / "type.nc", 3, 4);
    f.def("nersc_sar_primary", NC_FLOAT, f.lines, f.samples);
    f.def("nersc_sar_secondary", NC_FLOAT, f.lines, f.samples);
    f.def("SIC", NC_FLOAT, f.lines, f.samples);
    f.close();
  }
  expect_user_error([&] { read_scene(dir / "type.nc"); }, {"type.nc", "SIC"});
  {  // SAR as integers
    RawFile f(dir / "int.nc", 3, 4);
    f.def("nersc_sar_primary", NC_INT, f.lines, f.samples);
    f.def("nersc_sar_secondary", NC_FLOAT, f.lines, f.samples);
    f.close();
  }
  expect_user_error([&] { read_scene(dir / "int.nc"); }, {"int.nc", "nersc_sar_primary"});
  {  // zero size
    RawFile f(dir / "empty.nc", 0, 4);
    f.def("nersc_sar_primary", NC_FLOAT, f.lines, f.samples);
    f.def("nersc_sar_secondary", NC_FLOAT, f.lines, f.samples);
    f.close();
  }
  expect_user_error([&] { read_scene(dir / "empty.nc"); }, {"empty.nc", "zero"});

  write_file_atomically(dir / "text.nc", "this is not netCDF\n");
  expect_user_error([&] { read_scene(dir / "text.nc"); }, {"text.nc", "netCDF"});
  write_scene(test::make_scene(40, 50), dir / "full.nc");
  const std::string bytes = read_file(dir / "full.nc");
  write_file_atomically(dir / "truncated.nc", bytes.substr(0, bytes.size() / 2));
  expect_user_error([&] { read_scene(dir / "truncated.nc"); }, {"truncated.nc"});
  expect_user_error([&] { read_scene(dir / "missing.nc"); }, {"missing.nc"});
}

TEST(Netcdf, FailedWritesLeaveNothing) {
  testing::TempDir dir;
  Scene scene = test::make_scene();
  scene.bands.erase(scene.bands.begin() + 1);  // no hv_db
  expect_user_error([&] { write_scene(scene, dir / "x.nc"); }, {"x.nc", "hv_db"});
  Scene empty;
  EXPECT_THROW(write_scene(empty, dir / "y.nc"), UserError);
  expect_user_error([&] { write_scene(test::make_scene(), dir / "no/such/dir/z.nc"); }, {"z.nc"});
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// A corrupted netCDF-4 file on which Debian's libhdf5 1.10 crashes inside nc_open when the heap
// holds garbage (found by fuzz_ai4arctic_netcdf under AddressSanitizer; in this build it may
// fail cleanly instead): refused with exit 2 from a path, from memory and as a window reader,
// and the test process lives on. The file is opened in a child process only (the child's status
// is reported), so the crash, where it happens, happens there: "is damaged"; scripts/fuzz
// replays the file under ASan, where it does crash.
TEST(NetcdfHostileFile, AFileTheLibraryCrashesOnIsRefused) {
  const fs::path file = fs::path(SARSEG_FUZZ_DIR) / "regressions" / "fuzz_ai4arctic_netcdf" /
                        "hdf5-segv-link-release-table.nc";
  ASSERT_TRUE(fs::exists(file)) << file;
  const auto refused = [](const std::function<void()>& read, const std::string& name) {
    try {
      read();
      ADD_FAILURE() << "no error for " << name;
    } catch (const UserError& e) {
      const std::string text = e.what();
      EXPECT_NE(text.find(name), std::string::npos) << text;
      EXPECT_TRUE(text.find("is damaged") != std::string::npos ||
                  text.find("HDF error") != std::string::npos)
          << text;
    }
  };
  refused([&] { read_ai4arctic_netcdf(file); }, file.string());
  refused([&] { read_ai4arctic_netcdf_memory(read_file(file), "hostile.nc"); }, "hostile.nc");
  refused([&] { open_netcdf_window_reader(file, "nersc_sar_primary"); }, file.string());
}

// A file whose library crashes in the child is refused as damaged, naming it (the crash is
// forced here with a file the child check is given to open by a crashing open function).
TEST(NetcdfHostileFile, ACrashWhileOpeningIsRefusedAsDamaged) {
  try {
    detail::check_netcdf_in_child(
        [](int*) -> int {
          raise(SIGSEGV);
          return 0;
        },
        "crashing.nc", 1000);
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("netCDF file 'crashing.nc' is damaged"), std::string::npos) << text;
    EXPECT_NE(text.find("crashed (SIGSEGV)"), std::string::npos) << text;
  }
  EXPECT_EQ(detail::check_netcdf_in_child([](int*) { return int{NC_ENOTNC}; }, "x.nc", 1000),
            NC_ENOTNC);
}

// A corrupted 55 KiB netCDF-4 file on which libhdf5 1.10 reads one variable's DIMENSION_LIST
// attribute for over a minute (H5DSget_num_scales <- nc_inq_var; found by fuzz_ai4arctic_netcdf):
// refused as damaged once the child's walk has taken the small file's 5 s, not after the 60 s of a
// large file (which the fuzzer's 20 s per input, and a user, would not wait for).
TEST(NetcdfHostileFile, AFileTheLibraryLoopsOnIsRefusedWithinSeconds) {
  const fs::path file = fs::path(SARSEG_FUZZ_DIR) / "regressions" / "fuzz_ai4arctic_netcdf" /
                        "hdf5-loop-dimension-list-vlen.nc";
  ASSERT_TRUE(fs::exists(file)) << file;
  const auto start = std::chrono::steady_clock::now();
  try {
    read_ai4arctic_netcdf_memory(read_file(file), "looping.nc");
    ADD_FAILURE() << "no error";
  } catch (const UserError& e) {
    // A libhdf5 that no longer loops here may refuse the file as unreadable instead.
    const std::string text = e.what();
    EXPECT_TRUE(text.find("netCDF file 'looping.nc' is damaged") != std::string::npos ||
                text.find("'looping.nc' is not a readable netCDF file") != std::string::npos)
        << text;
    if (text.find("did not finish") != std::string::npos) {
      EXPECT_NE(text.find("within 5 s"), std::string::npos) << text;
    }
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

// A corrupted file on which the child's first inquiry (nc_inq) fails at once while the same
// variable's inquiry in the reading process then loops in libhdf5 as above (netCDF does not keep
// what a failed inquiry read; found by fuzz_ai4arctic_netcdf): the walk's failed inquiry refuses
// the file, which is never opened again, from a path, from memory and as a window reader.
TEST(NetcdfHostileFile, AFileWhoseInquiryFailsInTheChildIsRefusedAtOnce) {
  const fs::path file = fs::path(SARSEG_FUZZ_DIR) / "regressions" / "fuzz_ai4arctic_netcdf" /
                        "hdf5-loop-after-failed-inquiry.nc";
  ASSERT_TRUE(fs::exists(file)) << file;
  const auto refused_quickly = [](const std::function<void()>& read, const std::string& name) {
    const auto start = std::chrono::steady_clock::now();
    try {
      read();
      ADD_FAILURE() << "no error for " << name;
    } catch (const UserError& e) {
      const std::string text = e.what();
      EXPECT_NE(text.find("'" + name + "'"), std::string::npos) << text;
      EXPECT_TRUE(text.find("not a readable netCDF file") != std::string::npos ||
                  text.find("cannot open") != std::string::npos ||
                  text.find("is damaged") != std::string::npos)
          << text;
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << name;
  };
  refused_quickly([&] { read_ai4arctic_netcdf(file); }, file.string());
  refused_quickly([&] { read_ai4arctic_netcdf_memory(read_file(file), "inquiry.nc"); },
                  "inquiry.nc");
  refused_quickly([&] { open_netcdf_window_reader(file, "nersc_sar_primary"); }, file.string());
}

TEST(NetcdfHostileFile, TheWalkMayTakeLongerOnLargerFilesUpToAMinute) {
  using std::chrono::seconds;
  EXPECT_EQ(detail::structure_walk_time_limit(0), seconds(5));
  EXPECT_EQ(detail::structure_walk_time_limit(128 << 10), seconds(5));
  EXPECT_EQ(detail::structure_walk_time_limit(std::uintmax_t{80} << 20), seconds(15));
  EXPECT_EQ(detail::structure_walk_time_limit(std::uintmax_t{1} << 30), seconds(60));
  EXPECT_EQ(detail::structure_walk_time_limit(~std::uintmax_t{0}), seconds(60));
}

TEST(Ai4ArcticStats, MatchTheSharedFixture) {
  // The repo data file (and its built-in copy) carry the published values.
  const auto& stats = ai4arctic_global_stats();
  EXPECT_EQ(stats.size(), 24u);
  EXPECT_DOUBLE_EQ(stats.at("nersc_sar_primary").mean, -14.5082551552228);
  EXPECT_DOUBLE_EQ(stats.at("nersc_sar_secondary").std, 4.746759305258515);
  EXPECT_DOUBLE_EQ(stats.at("sar_incidenceangle").mean, 33.99801788456536);
  EXPECT_DOUBLE_EQ(stats.at("tclw").std, 0.07112806794202754);
  // The built-in fallback is the data file itself.
  ASSERT_TRUE(fs::exists(ai4arctic_stats_source())) << ai4arctic_stats_source();
  EXPECT_EQ(read_file(ai4arctic_stats_source()), std::string(detail::kEmbeddedAi4ArcticStats));
}

}  // namespace
}  // namespace sarseg::io
