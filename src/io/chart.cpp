#include "sarseg/io/chart.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "gdal_support.h"
#include "sarseg/io/ai4arctic.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"

#if SARSEG_HAVE_GDAL
#include <gdal_alg.h>
#include <ogrsf_frmts.h>
#endif

namespace sarseg::io {

int parse_egg_field(std::string_view text) {
  const std::string t = trim(text);
  if (t.empty()) return kEggEmpty;
  size_t start = (t[0] == '-' || t[0] == '+') ? 1 : 0;
  if (start == t.size()) return kEggEmpty;
  for (size_t i = start; i < t.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(t[i]))) return kEggEmpty;
  if (t.size() > 6) return kEggEmpty;
  return std::stoi(t);
}

uint8_t sic_class_of_code(int code) {
  switch (code) {
    case 0:
    case 1:
    case 2:
    case 55:
      return 0;
    case 91:
    case 92:
      return 10;
    default:
      break;
  }
  if (code >= 10 && code <= 90 && code % 10 == 0) return static_cast<uint8_t>(code / 10);
  return kLabelFill;  // empty, unknown or a range code (e.g. 79), which AI4Arctic does not map
}

uint8_t sod_class_of_code(int code) {
  switch (code) {
    case 0:
    case 80:
      return 0;
    case 81:
    case 82:
      return 1;
    case 83:
    case 84:
    case 85:
      return 2;
    case 87:
    case 88:
    case 89:
      return 3;
    case 86:
    case 91:
    case 93:
      return 4;
    case 95:
    case 96:
    case 97:
      return 5;
    default:
      return kLabelFill;  // 98 glacier ice, 99 unknown, empty
  }
}

uint8_t floe_class_of_code(int code) {
  switch (code) {
    case 0:
      return 0;
    case 2:
      return 1;
    case 3:
      return 2;
    case 4:
      return 3;
    case 5:
      return 4;
    case 6:
    case 7:
      return 5;
    case 9:
    case 10:
      return 6;
    default:
      return kLabelFill;  // 1 shuga, 8 fast ice, 21 level, 22 pancake, 99 unknown, empty
  }
}

namespace {

constexpr int kFastIceForm = 8;

// Sums the partial concentrations (in tenths) of the partials whose class matches, and keeps the
// dominant class when it holds at least kDominantShare of the total.
uint8_t dominant_class(const std::array<int, 3>& partial_tenths,
                       const std::array<uint8_t, 3>& partial_class, int total_tenths) {
  std::array<int, 256> sums{};
  for (size_t i = 0; i < 3; ++i) {
    if (partial_tenths[i] > 0) sums[partial_class[i]] += partial_tenths[i];
  }
  int best = -1;
  for (int c = 0; c < 256; ++c) {
    if (sums[static_cast<size_t>(c)] > 0 &&
        (best < 0 || sums[static_cast<size_t>(c)] > sums[static_cast<size_t>(best)]))
      best = c;
  }
  if (best < 0 || total_tenths <= 0) return kLabelFill;
  const double share =
      static_cast<double>(sums[static_cast<size_t>(best)]) / static_cast<double>(total_tenths);
  return share >= kDominantShare - 1e-9 ? static_cast<uint8_t>(best) : kLabelFill;
}

}  // namespace

ChartClasses egg_code_to_classes(const EggCode& code) {
  const std::string type = to_lower(trim(code.poly_type));
  if (type == "w") return {0, 0, 0};
  if (type != "i") return {};  // land, no data, ice shelf, unknown: masked

  ChartClasses classes;
  classes.sic = sic_class_of_code(code.ct);
  if (classes.sic == kLabelFill) return classes;
  if (classes.sic == 0) return {0, 0, 0};

  std::array<int, 3> tenths{};
  const std::array<int, 3> concentration{code.ca, code.cb, code.cc};
  for (size_t i = 0; i < 3; ++i) {
    const uint8_t c = sic_class_of_code(concentration[i]);
    tenths[i] = c == kLabelFill ? 0 : c;
  }
  if (code.ca == kEggEmpty) tenths[0] = classes.sic;  // a single ice type: CA is CT
  const std::array<uint8_t, 3> stage{sod_class_of_code(code.sa), sod_class_of_code(code.sb),
                                     sod_class_of_code(code.sc)};
  const std::array<uint8_t, 3> form{floe_class_of_code(code.fa), floe_class_of_code(code.fb),
                                    floe_class_of_code(code.fc)};
  classes.sod = dominant_class(tenths, stage, classes.sic);
  classes.floe = dominant_class(tenths, form, classes.sic);
  if (code.fa == kFastIceForm || code.fb == kFastIceForm || code.fc == kFastIceForm)
    classes.floe = kLabelFill;
  return classes;
}

#if !SARSEG_HAVE_GDAL

std::map<std::string, LabelRaster> rasterize_chart(const std::filesystem::path& chart_path,
                                                   const Scene&, const ChartRasterizeOptions&) {
  throw UserError("cannot read chart '" + chart_path.string() +
                  "': this sarseg was built without GDAL/OGR (SARSEG_WITH_GDAL=OFF)");
}

#else

namespace {

struct DatasetCloser {
  void operator()(GDALDataset* ds) const {
    if (ds) GDALClose(GDALDataset::ToHandle(ds));
  }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

OGRLayer* choose_layer(GDALDataset& ds, const std::string& wanted, const std::string& where) {
  std::vector<std::string> names;
  for (int i = 0; i < ds.GetLayerCount(); ++i)
    names.emplace_back(ds.GetLayer(i)->GetName());
  require(!names.empty(), where + " has no vector layers");
  if (!wanted.empty()) {
    OGRLayer* layer = ds.GetLayerByName(wanted.c_str());
    require(layer != nullptr,
            where + " has no layer '" + wanted + "'; its layers are: " + join(names, ", "));
    return layer;
  }
  for (int i = 0; i < ds.GetLayerCount(); ++i) {
    OGRLayer* layer = ds.GetLayer(i);
    const auto type = wkbFlatten(layer->GetGeomType());
    if (type == wkbPolygon || type == wkbMultiPolygon) return layer;
  }
  return ds.GetLayer(0);
}

int field_index(OGRFeatureDefn* defn, const char* name) {
  for (int i = 0; i < defn->GetFieldCount(); ++i) {
    if (to_lower(defn->GetFieldDefn(i)->GetNameRef()) == to_lower(name)) return i;
  }
  return -1;
}

}  // namespace

std::map<std::string, LabelRaster> rasterize_chart(const std::filesystem::path& chart_path,
                                                   const Scene& like,
                                                   const ChartRasterizeOptions& options) {
  const std::string where = "ice chart '" + chart_path.string() + "'";
  require(std::filesystem::exists(chart_path), where + " does not exist");
  require(like.height > 0 && like.width > 0, "the --like scene has zero size");
  require(like.geo.has_value(),
          "scene '" + like.source_path +
              "' has no geotransform, so a chart cannot be placed on its grid; give a GeoTIFF "
              "scene (or one written by sarseg) as --like");
  gdal::ensure_registered();
  gdal::ErrorCapture errors;
  DatasetPtr ds(GDALDataset::Open(chart_path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
  require(ds != nullptr, where + " is not a readable vector file (" +
                             errors.last("unknown format") + "); give a GeoPackage or Shapefile");
  OGRLayer* layer = choose_layer(*ds, options.layer, where);
  const std::string layer_where = where + " layer '" + layer->GetName() + "'";
  OGRFeatureDefn* defn = layer->GetLayerDefn();

  const char* kFields[] = {"CT", "CA", "SA", "FA", "CB", "SB", "FB", "CC", "SC", "FC"};
  std::array<int, 10> index{};
  std::vector<std::string> missing;
  for (size_t i = 0; i < 10; ++i) {
    index[i] = field_index(defn, kFields[i]);
    if (index[i] < 0) missing.emplace_back(kFields[i]);
  }
  require(index[0] >= 0 && index[1] >= 0 && index[2] >= 0,
          layer_where + " has no SIGRID-3 egg-code fields (missing " + join(missing, ", ") +
              "); a chart needs at least CT, CA and SA");
  const int poly_type_index = field_index(defn, "POLY_TYPE");
  layer->ResetReading();
  require(layer->GetFeatureCount(TRUE) > 0, layer_where + " has no polygons");

  // Scene grid and the transformation from the chart's CRS into it.
  std::unique_ptr<OGRSpatialReference> scene_srs =
      gdal::make_srs(like.geo->crs_wkt, "scene '" + like.source_path + "'");
  std::unique_ptr<OGRCoordinateTransformation> transform;
  if (const OGRSpatialReference* chart_srs = layer->GetSpatialRef()) {
    require(scene_srs != nullptr, "scene '" + like.source_path +
                                      "' has no CRS, so the chart cannot be reprojected onto it");
    OGRSpatialReference chart_copy(*chart_srs);
    chart_copy.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    transform = gdal::make_transform(chart_copy, *scene_srs, layer_where);
  }

  std::vector<std::unique_ptr<OGRGeometry> > geometries;
  std::vector<double> burn;  // SIC, SOD, FLOE per geometry
  int64_t features = 0;
  for (auto& feature : *layer) {
    ++features;
    const OGRGeometry* geometry = feature->GetGeometryRef();
    if (!geometry || geometry->IsEmpty()) continue;
    const auto type = wkbFlatten(geometry->getGeometryType());
    if (type != wkbPolygon && type != wkbMultiPolygon && type != wkbGeometryCollection) continue;
    EggCode code;
    std::array<int*, 10> targets{&code.ct, &code.ca, &code.sa, &code.fa, &code.cb,
                                 &code.sb, &code.fb, &code.cc, &code.sc, &code.fc};
    for (size_t i = 0; i < 10; ++i) {
      if (index[i] >= 0 && feature->IsFieldSetAndNotNull(index[i]))
        *targets[i] = parse_egg_field(feature->GetFieldAsString(index[i]));
    }
    if (poly_type_index >= 0 && feature->IsFieldSetAndNotNull(poly_type_index)) {
      code.poly_type = feature->GetFieldAsString(poly_type_index);
    } else {
      code.poly_type = code.ct == kEggEmpty ? "N" : "I";
    }
    const ChartClasses classes = egg_code_to_classes(code);
    std::unique_ptr<OGRGeometry> copy(geometry->clone());
    if (transform) {
      if (copy->transform(transform.get()) != OGRERR_NONE) continue;  // outside the projection
    }
    geometries.push_back(std::move(copy));
    burn.insert(burn.end(), {static_cast<double>(classes.sic), static_cast<double>(classes.sod),
                             static_cast<double>(classes.floe)});
  }
  require(features > 0, layer_where + " has no polygons");
  require(!geometries.empty(), layer_where + " has no polygon geometries");

  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  require(mem != nullptr, "GDAL has no MEM driver");
  DatasetPtr grid(mem->Create("", static_cast<int>(like.width), static_cast<int>(like.height), 3,
                              GDT_Byte, nullptr));
  require(grid != nullptr, "cannot allocate a " + std::to_string(like.height) + "x" +
                               std::to_string(like.width) + " label grid: " + errors.last());
  std::array<double, 6> t = like.geo->transform;
  grid->SetGeoTransform(t.data());
  if (scene_srs) grid->SetSpatialRef(scene_srs.get());
  for (int b = 1; b <= 3; ++b)
    grid->GetRasterBand(b)->Fill(kLabelFill);
  std::vector<OGRGeometryH> handles;
  for (auto& g : geometries)
    handles.push_back(OGRGeometry::ToHandle(g.get()));
  int bands[3] = {1, 2, 3};
  const CPLErr status = GDALRasterizeGeometries(
      GDALDataset::ToHandle(grid.get()), 3, bands, static_cast<int>(handles.size()), handles.data(),
      nullptr, nullptr, burn.data(), nullptr, nullptr, nullptr);
  require(status == CE_None, layer_where + ": rasterisation failed (" + errors.last() + ")");

  std::map<std::string, LabelRaster> result;
  for (int b = 1; b <= 3; ++b) {
    LabelRaster raster(like.height, like.width);
    require(grid->GetRasterBand(b)->RasterIO(
                GF_Read, 0, 0, static_cast<int>(like.width), static_cast<int>(like.height),
                raster.data.data(), static_cast<int>(like.width), static_cast<int>(like.height),
                GDT_Byte, 0, 0) == CE_None,
            "reading the rasterised chart failed: " + errors.last());
    result[kChartNames[b - 1]] = std::move(raster);
  }
  return result;
}

#endif

}  // namespace sarseg::io
