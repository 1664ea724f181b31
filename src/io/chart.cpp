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

using gdal::DatasetPtr;

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

// Burns each geometry's (SIC, SOD, FLOE) on a height x width grid (GDAL: pixel centres inside).
std::map<std::string, LabelRaster> burn_polygons(
    const std::vector<std::unique_ptr<OGRGeometry> >& geometries, std::vector<double> burn,
    int64_t height, int64_t width, std::array<double, 6> transform, const OGRSpatialReference* srs,
    const std::string& where) {
  gdal::ErrorCapture errors;
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  require(mem != nullptr, "GDAL has no MEM driver");
  DatasetPtr grid(
      mem->Create("", static_cast<int>(width), static_cast<int>(height), 3, GDT_Byte, nullptr));
  require(grid != nullptr, "cannot allocate a " + std::to_string(height) + "x" +
                               std::to_string(width) + " label grid: " + errors.last());
  grid->SetGeoTransform(transform.data());
  if (srs) grid->SetSpatialRef(srs);
  for (int b = 1; b <= 3; ++b)
    grid->GetRasterBand(b)->Fill(kLabelFill);
  std::map<std::string, LabelRaster> result;
  if (!geometries.empty()) {
    std::vector<OGRGeometryH> handles;
    for (const auto& g : geometries)
      handles.push_back(OGRGeometry::ToHandle(g.get()));
    int bands[3] = {1, 2, 3};
    const CPLErr status = GDALRasterizeGeometries(
        GDALDataset::ToHandle(grid.get()), 3, bands, static_cast<int>(handles.size()),
        handles.data(), nullptr, nullptr, burn.data(), nullptr, nullptr, nullptr);
    require(status == CE_None, where + ": rasterisation failed (" + errors.last() + ")");
  }
  for (int b = 1; b <= 3; ++b) {
    LabelRaster raster(height, width);
    require(grid->GetRasterBand(b)->RasterIO(GF_Read, 0, 0, static_cast<int>(width),
                                             static_cast<int>(height), raster.data.data(),
                                             static_cast<int>(width), static_cast<int>(height),
                                             GDT_Byte, 0, 0) == CE_None,
            "reading the rasterised chart failed: " + errors.last());
    result[kChartNames[b - 1]] = std::move(raster);
  }
  return result;
}

// Latitude/longitude of pixel (row, col) by bilinear interpolation of the AI4Arctic subgrid,
// whose points are spread evenly from the first to the last line and sample.
std::pair<double, double> interpolate_lat_lon(const Scene& scene, int64_t row, int64_t col) {
  const FloatRaster& lat = scene.latitude_grid;
  const FloatRaster& lon = scene.longitude_grid;
  auto position = [](int64_t i, int64_t n, int64_t points, int64_t& index, double& frac) {
    const double p = n > 1 ? static_cast<double>(i) * static_cast<double>(points - 1) /
                                 static_cast<double>(n - 1)
                           : 0.0;
    index = std::min<int64_t>(static_cast<int64_t>(p), std::max<int64_t>(points - 2, 0));
    frac = points > 1 ? p - static_cast<double>(index) : 0.0;
  };
  int64_t r0, c0;
  double fr, fc;
  position(row, scene.height, lat.height, r0, fr);
  position(col, scene.width, lat.width, c0, fc);
  const int64_t r1 = std::min(r0 + 1, lat.height - 1), c1 = std::min(c0 + 1, lat.width - 1);
  // Longitudes are taken relative to the first corner so that the dateline does not average out.
  auto mix = [&](const FloatRaster& g, bool wrap) {
    const double ref = g.at(r0, c0);
    auto value = [&](int64_t r, int64_t c) {
      double v = g.at(r, c) - ref;
      if (wrap) v -= 360.0 * std::round(v / 360.0);
      return v;
    };
    const double top = value(r0, c0) * (1 - fc) + value(r0, c1) * fc;
    const double bottom = value(r1, c0) * (1 - fc) + value(r1, c1) * fc;
    return ref + top * (1 - fr) + bottom * fr;
  };
  return {mix(lat, false), mix(lon, true)};
}

// Swath scenes (AI4Arctic netCDF: no map grid, a lat/lon subgrid): burn the chart on a grid in
// the chart's own CRS at about half the scene's pixel size, then look each scene pixel up in it.
std::map<std::string, LabelRaster> rasterize_on_swath(
    const std::vector<std::unique_ptr<OGRGeometry> >& geometries, const std::vector<double>& burn,
    const OGRSpatialReference* chart_srs, const Scene& like, const std::string& where) {
  require(chart_srs != nullptr,
          where + " has no CRS, so it cannot be placed on the lat/lon grid of scene '" +
              like.source_path + "'");
  require(like.latitude_grid.height >= 1 && like.latitude_grid.width >= 1 &&
              like.longitude_grid.height == like.latitude_grid.height &&
              like.longitude_grid.width == like.latitude_grid.width,
          "scene '" + like.source_path + "' has an unusable lat/lon grid");
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  auto to_chart = gdal::make_transform(wgs84, *chart_srs, where);
  auto project = [&](std::vector<double>& x, std::vector<double>& y, std::vector<int>& ok) {
    ok.assign(x.size(), 1);
    if (to_chart) to_chart->Transform(x.size(), x.data(), y.data(), nullptr, ok.data());
  };

  // Chart coordinates of every scene pixel, one row at a time; the extent of all of them.
  const int64_t h = like.height, w = like.width;
  std::vector<float> xs(static_cast<size_t>(h * w)), ys(static_cast<size_t>(h * w));
  std::vector<uint8_t> placed(static_cast<size_t>(h * w), 0);
  double min_x = 1e300, max_x = -1e300, min_y = 1e300, max_y = -1e300;
  std::vector<double> x(static_cast<size_t>(w)), y(static_cast<size_t>(w));
  std::vector<int> ok;
  gdal::ErrorCapture errors;
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      const auto [lat, lon] = interpolate_lat_lon(like, r, c);
      x[static_cast<size_t>(c)] = lon;
      y[static_cast<size_t>(c)] = lat;
    }
    project(x, y, ok);
    for (int64_t c = 0; c < w; ++c) {
      const size_t k = static_cast<size_t>(c), i = static_cast<size_t>(r * w + c);
      if (!ok[k] || !std::isfinite(x[k]) || !std::isfinite(y[k])) continue;
      xs[i] = static_cast<float>(x[k]);
      ys[i] = static_cast<float>(y[k]);
      placed[i] = 1;
      min_x = std::min(min_x, x[k]), max_x = std::max(max_x, x[k]);
      min_y = std::min(min_y, y[k]), max_y = std::max(max_y, y[k]);
    }
  }
  require(min_x <= max_x, "no pixel of scene '" + like.source_path +
                              "' could be placed in the chart's coordinate system");
  // Half a scene pixel, at most 40 M cells per band.
  const double span = std::max(max_x - min_x, max_y - min_y);
  double spacing = std::max(span / (2.0 * static_cast<double>(std::max(h, w))), 1e-9);
  const double cells = ((max_x - min_x) / spacing + 3) * ((max_y - min_y) / spacing + 3);
  if (cells > 40e6) spacing *= std::sqrt(cells / 40e6);
  const int64_t gw = static_cast<int64_t>((max_x - min_x) / spacing) + 3;
  const int64_t gh = static_cast<int64_t>((max_y - min_y) / spacing) + 3;
  const std::array<double, 6> transform{min_x - spacing, spacing, 0, max_y + spacing, 0, -spacing};
  const auto burnt = burn_polygons(geometries, burn, gh, gw, transform, chart_srs, where);

  std::map<std::string, LabelRaster> result;
  for (const char* name : kChartNames) {
    const LabelRaster& source = burnt.at(name);
    LabelRaster raster(h, w, kLabelFill);
    for (size_t i = 0; i < raster.data.size(); ++i) {
      if (!placed[i]) continue;
      const auto col = static_cast<int64_t>((xs[i] - transform[0]) / spacing);
      const auto row = static_cast<int64_t>((transform[3] - ys[i]) / spacing);
      if (col >= 0 && row >= 0 && col < gw && row < gh) raster.data[i] = source.at(row, col);
    }
    result[name] = std::move(raster);
  }
  return result;
}
}  // namespace

std::map<std::string, LabelRaster> rasterize_chart(const std::filesystem::path& chart_path,
                                                   const Scene& like,
                                                   const ChartRasterizeOptions& options) {
  const std::string where = "ice chart '" + chart_path.string() + "'";
  require(std::filesystem::exists(chart_path), where + " does not exist");
  require(like.height > 0 && like.width > 0, "the --like scene has zero size");
  require(like.geo.has_value() || !like.latitude_grid.empty(),
          "scene '" + like.source_path +
              "' has neither a geotransform nor a lat/lon grid, so a chart cannot be placed on "
              "it; give a GeoTIFF or an AI4Arctic netCDF scene as --like");
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

  std::unique_ptr<OGRSpatialReference> chart_srs;
  if (const OGRSpatialReference* srs = layer->GetSpatialRef()) {
    chart_srs = std::make_unique<OGRSpatialReference>(*srs);
    chart_srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  }

  std::vector<std::unique_ptr<OGRGeometry> > geometries;  // in the chart's CRS
  std::vector<double> burn;                               // SIC, SOD, FLOE per geometry
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
    geometries.emplace_back(geometry->clone());
    burn.insert(burn.end(), {static_cast<double>(classes.sic), static_cast<double>(classes.sod),
                             static_cast<double>(classes.floe)});
  }
  require(features > 0, layer_where + " has no polygons");
  require(!geometries.empty(), layer_where + " has no polygon geometries");

  if (like.geo) {
    // Map grid: reproject the polygons into the scene's CRS and burn them on its pixels.
    std::unique_ptr<OGRSpatialReference> scene_srs =
        gdal::make_srs(like.geo->crs_wkt, "scene '" + like.source_path + "'");
    if (chart_srs) {
      require(scene_srs != nullptr, "scene '" + like.source_path +
                                        "' has no CRS, so the chart cannot be reprojected onto it");
      auto transform = gdal::make_transform(*chart_srs, *scene_srs, layer_where);
      if (transform) {
        std::vector<std::unique_ptr<OGRGeometry> > kept;
        std::vector<double> kept_burn;
        for (size_t i = 0; i < geometries.size(); ++i) {
          if (geometries[i]->transform(transform.get()) != OGRERR_NONE) continue;  // off-map
          kept.push_back(std::move(geometries[i]));
          kept_burn.insert(kept_burn.end(), burn.begin() + static_cast<std::ptrdiff_t>(3 * i),
                           burn.begin() + static_cast<std::ptrdiff_t>(3 * i + 3));
        }
        geometries = std::move(kept);
        burn = std::move(kept_burn);
      }
    }
    return burn_polygons(geometries, burn, like.height, like.width, like.geo->transform,
                         scene_srs.get(), layer_where);
  }
  return rasterize_on_swath(geometries, burn, chart_srs.get(), like, layer_where);
}

#endif

}  // namespace sarseg::io
