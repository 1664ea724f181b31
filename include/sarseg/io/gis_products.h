// GIS products beside a class map (no torch): a QGIS layer style and GeoPackage vectors.
//
//   QGIS style (.qml): a paletted renderer of one class band: the quicklook palette's colours and
//   class names (io/quicklook.h palette_for_label), value 255 (no prediction) fully transparent.
//   QGIS applies `{name}.qml` automatically when it opens `{name}.tif`.
//
//   GeoPackage (GDAL's GPKG driver), in the class map's CRS:
//     layer `{label}_classes`  one polygon per 4-connected region of one class (GDALPolygonize),
//                              fields class_id, class_name, pixels, area (CRS units squared, m2
//                              for projected CRSs), mean_entropy and mean_mutual_information
//                              (nats; null without uncertainty)
//     layer `ice_edge`         the boundary between ice and open water: for a SIC head where the
//                              concentration is 15 % or more (classes 2..10 of tenths; the usual
//                              ice-edge convention), else for a SOD head any ice class (>= 1), else
//                              for a two-class head class 1; one (multi)line per ice region, its
//                              shared edges with water regions (the scene border and nodata are
//                              not ice edge); fields class_name, head, length, ice_area,
//                              mean_entropy, mean_mutual_information of the ice region.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "sarseg/io/prediction_output.h"
#include "sarseg/io/scene.h"

namespace sarseg::io {

// The .qml text styling band `band` (1-based) of a class map of `label` with `class_count`
// classes.
std::string qgis_class_style(const std::string& label, int class_count, int band);

// Writes qgis_class_style atomically.
void write_qgis_style(const std::filesystem::path& path, const std::string& label, int class_count,
                      int band);

// The head the ice edge is drawn from (SIC, else SOD, else a two-class head), or null.
const LabelPrediction* ice_edge_head(const std::vector<LabelPrediction>& heads);

// Writes the GeoPackage (atomic). UserError without GDAL, or naming the file when GDAL fails.
void write_prediction_vectors(const std::filesystem::path& path,
                              const std::vector<LabelPrediction>& heads,
                              const std::optional<GeoReference>& geo);

}  // namespace sarseg::io
