// The AI4Arctic netCDF schema checks on a file opened from memory (nc_open_mem): dimensions,
// variables, attributes, fill values, the geolocation subgrid, the season.
#include "fuzz_support.h"
#include "sarseg/io/netcdf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sarseg::fuzz::refusals_only([&] {
    sarseg::io::read_ai4arctic_netcdf_memory(sarseg::fuzz::as_text(data, size), "fuzz.nc");
  });
  return 0;
}
