// The AI4Arctic 2 km grids of a synthetic scene: AMSR2 brightness temperatures and ERA5 fields
// under the variable names of the ready-to-train files (paper-and-dataset.md section 3).
//
// Cell (i, j) of the 2 km grid covers SAR pixels [f*i, f*(i+1)) x [f*j, f*(j+1)), f = 2000 m /
// pixel spacing rounded (25 at 80 m), so its centre lies at SAR pixel coordinate f*i + (f-1)/2
// (pixel centres at integers); the last row and column of cells may be partial. Brightness
// temperatures mix open-water and ice values by the cell's mean chart SIC (land: a land value),
// with cell noise; ERA5 fields are smooth over the scene, the wind from the scene's wind speed.
// The grids are in physical units (AuxGrid::units: K, m/s, kg/m2); the netCDF writer z-scores them
// with the published statistics, as the ready-to-train files store them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sarseg/io/scene.h"

namespace sarseg::synth {

// SAR pixels per 2 km cell side at this pixel spacing (at least 1).
int64_t aux_cell_pixels(double pixel_spacing_m);

// The 14 AMSR2 channels (btemp_6_9h ... btemp_89_0v) and the 6 ERA5 fields (u10m_rotated,
// v10m_rotated, t2m, skt, tcwv, tclw), in that order.
std::vector<std::string> aux_grid_names();

// The grids for a scene of this size. `land` is 1 on land; `sic` is the chart SIC (0..10, 255 =
// none; empty = no chart, taken as 50 %).
std::vector<io::AuxGrid> make_aux_grids(const io::LabelRaster& land, const io::LabelRaster& sic,
                                        double pixel_spacing_m, double wind_ms, uint64_t seed);

}  // namespace sarseg::synth
