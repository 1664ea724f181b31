#include "netcdf_probe.h"

#include "sarseg/build_config.h"

#if SARSEG_HAVE_NETCDF
#include <netcdf.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "sarseg/util/error.h"
#include "sarseg/util/isolated.h"

namespace sarseg::io::detail {
namespace {

constexpr std::chrono::seconds kShortestWalkLimit{5};
constexpr std::chrono::seconds kLongestWalkLimit{60};
constexpr std::uintmax_t kWalkLimitBytesPerSecond = std::uintmax_t{8} << 20;
// Attribute values larger than this are not read in the walk (AI4Arctic's are a few KiB).
constexpr size_t kLargestAttributeRead = size_t{1} << 20;

void read_attributes(int ncid, int varid, int count) {
  std::vector<unsigned char> value;
  for (int a = 0; a < count; ++a) {
    char name[NC_MAX_NAME + 1] = {};
    nc_type type = NC_NAT;
    size_t length = 0;
    if (nc_inq_attname(ncid, varid, a, name) != NC_NOERR) continue;
    if (nc_inq_att(ncid, varid, name, &type, &length) != NC_NOERR) continue;
    if (type == NC_STRING) {
      if (length > kLargestAttributeRead / sizeof(char*)) continue;
      std::vector<char*> strings(length);
      if (nc_get_att_string(ncid, varid, name, strings.data()) == NC_NOERR)
        nc_free_string(length, strings.data());
      continue;
    }
    size_t type_size = 0;
    if (nc_inq_type(ncid, type, nullptr, &type_size) != NC_NOERR || type_size == 0) continue;
    if (length > kLargestAttributeRead / type_size) continue;
    value.resize(length * type_size + 1);
    nc_get_att(ncid, varid, name, value.data());
  }
}

// The first value of a variable: decoding its first chunk runs the filter pipeline.
void read_first_value(int ncid, int varid, int dim_count, const int* dim_ids) {
  std::vector<size_t> index(static_cast<size_t>(dim_count), 0);
  for (int d = 0; d < dim_count; ++d) {
    size_t length = 0;
    if (nc_inq_dimlen(ncid, dim_ids[d], &length) != NC_NOERR || length == 0) return;
  }
  double value = 0;
  nc_get_var1_double(ncid, varid, index.data(), &value);
}

// What nc_open and the schema checks of netcdf.cpp touch: dimensions, variables, attributes.
// The status of the first failed inquiry of the file, a dimension or a variable is returned, and
// the file is refused as the open's failure would be: netCDF does not keep what a failed inquiry
// read, so the caller's same call would read the damaged part again, and one that failed here in
// milliseconds has been seen to loop there. Attribute and value reads only need to finish.
int walk_structure(int ncid) {
  int var_count = 0, global_count = 0;
  if (const int status = nc_inq(ncid, nullptr, &var_count, &global_count, nullptr);
      status != NC_NOERR)
    return status;
  // netCDF-4 dimension ids need not run from 0 in a group: ask for them (count first).
  int dim_count = 0;
  if (const int status = nc_inq_dimids(ncid, &dim_count, nullptr, 0); status != NC_NOERR)
    return status;
  std::vector<int> dim_ids(static_cast<size_t>(std::max(dim_count, 0)));
  if (const int status = nc_inq_dimids(ncid, &dim_count, dim_ids.data(), 0); status != NC_NOERR)
    return status;
  for (const int d : dim_ids) {
    char name[NC_MAX_NAME + 1] = {};
    size_t length = 0;
    if (const int status = nc_inq_dim(ncid, d, name, &length); status != NC_NOERR) return status;
  }
  read_attributes(ncid, NC_GLOBAL, global_count);
  for (int v = 0; v < var_count; ++v) {
    char name[NC_MAX_NAME + 1] = {};
    nc_type type = NC_NAT;
    int var_dims = 0, attribute_count = 0;
    int dim_ids[NC_MAX_VAR_DIMS] = {};
    if (const int status = nc_inq_var(ncid, v, name, &type, &var_dims, dim_ids, &attribute_count);
        status != NC_NOERR)
      return status;
    read_attributes(ncid, v, attribute_count);
    read_first_value(ncid, v, var_dims, dim_ids);
  }
  return NC_NOERR;
}

}  // namespace

std::chrono::seconds structure_walk_time_limit(std::uintmax_t file_bytes) {
  const std::uintmax_t extra = file_bytes / kWalkLimitBytesPerSecond;
  const std::uintmax_t headroom = kLongestWalkLimit.count() - kShortestWalkLimit.count();
  return kShortestWalkLimit + std::chrono::seconds(std::min(extra, headroom));
}

int check_netcdf_in_child(const std::function<int(int*)>& open_file, const std::string& name,
                          std::uintmax_t file_bytes) {
  const std::chrono::seconds limit = structure_walk_time_limit(file_bytes);
  const IsolatedOutcome outcome = run_isolated(
      [&] {
        int ncid = -1;
        const int status = open_file(&ncid);
        if (status != NC_NOERR) return status;
        const int walk_status = walk_structure(ncid);
        nc_close(ncid);
        return walk_status;
      },
      limit);
  if (outcome.kind == IsolatedOutcome::Kind::kCrashed)
    throw UserError("netCDF file '" + name + "' is damaged: the HDF5 library " +
                    outcome.describe() +
                    " reading it (checked in a child process); re-download or re-create it");
  if (outcome.kind == IsolatedOutcome::Kind::kTimedOut)
    throw UserError("netCDF file '" + name + "' is damaged: the HDF5 library did not finish " +
                    "reading its structure within " + std::to_string(limit.count()) +
                    " s (checked in a child process); re-download or re-create it");
  return outcome.kind == IsolatedOutcome::Kind::kFinished ? outcome.value : NC_NOERR;
}

}  // namespace sarseg::io::detail
#endif
