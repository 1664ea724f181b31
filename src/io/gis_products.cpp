#include "sarseg/io/gis_products.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gdal_support.h"
#include "sarseg/io/quicklook.h"
#include "sarseg/util/atomic_file.h"
#include "sarseg/util/error.h"
#include "sarseg/util/find.h"
#include "sarseg/util/strings.h"

#if SARSEG_HAVE_GDAL
#include <gdal_alg.h>
#include <ogrsf_frmts.h>

#include <memory>
#endif

namespace sarseg::io {

namespace {

std::string hex_colour(const Rgb& rgb) {
  char text[8];
  std::snprintf(text, sizeof(text), "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  return text;
}

}  // namespace

std::string qgis_class_style(const std::string& label, int class_count, int band) {
  const Palette palette = palette_for_label(label, std::max(class_count, 1));
  std::string qml =
      "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
      "<qgis version=\"3.28\" styleCategories=\"AllStyleCategories\">\n"
      "  <pipe>\n"
      "    <provider>\n"
      "      <resampling enabled=\"false\" zoomedInResamplingMethod=\"nearestNeighbour\" "
      "zoomedOutResamplingMethod=\"nearestNeighbour\" maxOversampling=\"2\"/>\n"
      "    </provider>\n"
      "    <rasterrenderer type=\"paletted\" band=\"" +
      std::to_string(band) +
      "\" opacity=\"1\" alphaBand=\"-1\" nodataColor=\"\">\n"
      "      <rasterTransparency>\n"
      "        <singleValuePixelList>\n"
      "          <pixelListEntry min=\"255\" max=\"255\" percentTransparent=\"100\"/>\n"
      "        </singleValuePixelList>\n"
      "      </rasterTransparency>\n"
      "      <colorPalette>\n";
  for (int c = 0; c < std::max(class_count, 1) && c < static_cast<int>(palette.colours.size());
       ++c) {
    qml += "        <paletteEntry value=\"" + std::to_string(c) + "\" color=\"" +
           hex_colour(palette.colours[static_cast<size_t>(c)]) + "\" alpha=\"255\" label=\"" +
           escape_xml(palette.names[static_cast<size_t>(c)]) + "\"/>\n";
  }
  qml +=
      "      </colorPalette>\n"
      "    </rasterrenderer>\n"
      "  </pipe>\n"
      "  <layerGeometryType>-1</layerGeometryType>\n"
      "  <customproperties>\n"
      "    <Option type=\"Map\"><Option name=\"sarseg_label\" type=\"QString\" value=\"" +
      escape_xml(label) +
      "\"/></Option>\n"
      "  </customproperties>\n"
      "</qgis>\n";
  return qml;
}

void write_qgis_style(const std::filesystem::path& path, const std::string& label, int class_count,
                      int band) {
  write_file_atomically(path, qgis_class_style(label, class_count, band));
}

const LabelPrediction* ice_edge_head(const std::vector<LabelPrediction>& heads) {
  auto named = [&](const char* label) {
    return find_first(
        heads, [&](const LabelPrediction& h) { return to_lower(h.label) == to_lower(label); });
  };
  if (const auto* sic = named("SIC")) return sic;
  if (const auto* sod = named("SOD")) return sod;
  return find_first(heads,
                    [](const LabelPrediction& h) { return !h.regression && h.class_count == 2; });
}

#if !SARSEG_HAVE_GDAL

void write_prediction_vectors(const std::filesystem::path& path,
                              const std::vector<LabelPrediction>&,
                              const std::optional<GeoReference>&) {
  throw UserError("cannot write '" + path.string() +
                  "': this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF); rebuild with "
                  "GDAL for GeoPackage vectors");
}

#else

namespace {

using gdal::DatasetPtr;

struct FeatureDeleter {
  void operator()(OGRFeature* f) const { OGRFeature::DestroyFeature(f); }
};
using FeaturePtr = std::unique_ptr<OGRFeature, FeatureDeleter>;

// A MEM raster of one band on the class map's grid.
DatasetPtr memory_raster(int64_t height, int64_t width, GDALDataType type,
                         const std::optional<GeoReference>& geo, const std::string& where) {
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("MEM");
  require(driver != nullptr, where + ": GDAL has no MEM driver");
  DatasetPtr ds(
      driver->Create("", static_cast<int>(width), static_cast<int>(height), 1, type, nullptr));
  require(ds != nullptr, where + ": cannot create an in-memory raster");
  if (geo) {
    std::array<double, 6> transform = geo->transform;
    ds->SetGeoTransform(transform.data());
  }
  return ds;
}

void write_band(GDALDataset& ds, const void* data, GDALDataType type, const std::string& where) {
  gdal::ErrorCapture errors;
  require(ds.GetRasterBand(1)->RasterIO(GF_Write, 0, 0, ds.GetRasterXSize(), ds.GetRasterYSize(),
                                        const_cast<void*>(data), ds.GetRasterXSize(),
                                        ds.GetRasterYSize(), type, 0, 0) == CE_None,
          where + ": " + errors.last());
}

// Regions of `values` (4-connected, equal value) where `mask` is 1, as polygons in a Memory
// layer with field "value", and the index of each region's polygon at every pixel (-1 outside).
struct Regions {
  DatasetPtr store;
  OGRLayer* layer = nullptr;
  std::vector<std::unique_ptr<OGRGeometry> > polygons;
  std::vector<int> values;
  std::vector<int32_t> index;  // per pixel
};

Regions polygonize(const LabelRaster& values, const LabelRaster& mask,
                   const std::optional<GeoReference>& geo, const std::string& where) {
  Regions regions;
  auto raster = memory_raster(values.height, values.width, GDT_Byte, geo, where);
  write_band(*raster, values.data.data(), GDT_Byte, where);
  auto mask_raster = memory_raster(values.height, values.width, GDT_Byte, geo, where);
  write_band(*mask_raster, mask.data.data(), GDT_Byte, where);

  GDALDriver* memory = GetGDALDriverManager()->GetDriverByName("Memory");
  require(memory != nullptr, where + ": GDAL has no Memory vector driver");
  regions.store.reset(memory->Create("", 0, 0, 0, GDT_Unknown, nullptr));
  regions.layer = regions.store->CreateLayer("regions", nullptr, wkbPolygon, nullptr);
  OGRFieldDefn field("value", OFTInteger);
  regions.layer->CreateField(&field);
  gdal::ErrorCapture errors;
  require(
      GDALPolygonize(raster->GetRasterBand(1), mask_raster->GetRasterBand(1),
                     OGRLayer::ToHandle(regions.layer), 0, nullptr, nullptr, nullptr) == CE_None,
      where + ": polygonising failed (" + errors.last() + ")");

  regions.layer->ResetReading();
  std::vector<OGRGeometryH> geometries;
  std::vector<double> burn;
  while (FeaturePtr feature{regions.layer->GetNextFeature()}) {
    const OGRGeometry* geometry = feature->GetGeometryRef();
    if (geometry == nullptr) continue;
    regions.values.push_back(feature->GetFieldAsInteger(0));
    regions.polygons.emplace_back(geometry->clone());
    geometries.push_back(OGRGeometry::ToHandle(regions.polygons.back().get()));
    burn.push_back(static_cast<double>(regions.polygons.size() - 1));
  }
  // Which region each pixel belongs to: rasterising the polygons (pixel centres inside) gives
  // back exactly the pixels polygonize traced.
  auto index_raster = memory_raster(values.height, values.width, GDT_Int32, geo, where);
  index_raster->GetRasterBand(1)->Fill(-1);
  int band = 1;
  if (!geometries.empty()) {
    require(GDALRasterizeGeometries(GDALDataset::ToHandle(index_raster.get()), 1, &band,
                                    static_cast<int>(geometries.size()), geometries.data(), nullptr,
                                    nullptr, burn.data(), nullptr, nullptr, nullptr) == CE_None,
            where + ": rasterising the polygons failed (" + errors.last() + ")");
  }
  regions.index.resize(values.data.size());
  require(index_raster->GetRasterBand(1)->RasterIO(
              GF_Read, 0, 0, static_cast<int>(values.width), static_cast<int>(values.height),
              regions.index.data(), static_cast<int>(values.width), static_cast<int>(values.height),
              GDT_Int32, 0, 0) == CE_None,
          where + ": " + errors.last());
  return regions;
}

// Pixel counts and mean uncertainty of each region.
struct RegionStats {
  std::vector<int64_t> pixels;
  std::vector<double> entropy_sum, information_sum;
};

RegionStats region_stats(const Regions& regions, const LabelPrediction& head) {
  RegionStats stats;
  const size_t n = regions.polygons.size();
  stats.pixels.assign(n, 0);
  stats.entropy_sum.assign(n, 0.0);
  stats.information_sum.assign(n, 0.0);
  const bool uncertain = !head.entropy.empty();
  for (size_t i = 0; i < regions.index.size(); ++i) {
    const int32_t r = regions.index[i];
    if (r < 0) continue;
    ++stats.pixels[static_cast<size_t>(r)];
    if (uncertain) {
      const float e = head.entropy.data[i], m = head.mutual_information.data[i];
      if (std::isfinite(e)) stats.entropy_sum[static_cast<size_t>(r)] += e;
      if (std::isfinite(m)) stats.information_sum[static_cast<size_t>(r)] += m;
    }
  }
  return stats;
}

OGRLayer* create_layer(GDALDataset& ds, const std::string& name, OGRwkbGeometryType type,
                       const OGRSpatialReference* srs,
                       const std::vector<std::pair<std::string, OGRFieldType> >& fields,
                       const std::string& where) {
  gdal::ErrorCapture errors;
  OGRLayer* layer =
      ds.CreateLayer(name.c_str(), const_cast<OGRSpatialReference*>(srs), type, nullptr);
  require(layer != nullptr, where + ": cannot create layer " + name + " (" + errors.last() + ")");
  for (const auto& [field_name, field_type] : fields) {
    OGRFieldDefn field(field_name.c_str(), field_type);
    require(layer->CreateField(&field) == OGRERR_NONE,
            where + ": cannot add field " + field_name + " (" + errors.last() + ")");
  }
  return layer;
}

void set_mean(OGRFeature& feature, const char* field, double sum, int64_t pixels, bool known) {
  if (known && pixels > 0) {
    feature.SetField(field, sum / static_cast<double>(pixels));
  } else {
    feature.SetFieldNull(feature.GetFieldIndex(field));
  }
}

void add_feature(OGRLayer& layer, FeaturePtr feature, const std::string& where) {
  gdal::ErrorCapture errors;
  require(layer.CreateFeature(feature.get()) == OGRERR_NONE,
          where + ": cannot write a feature (" + errors.last() + ")");
}

LabelRaster valid_mask(const LabelRaster& classes) {
  LabelRaster mask(classes.height, classes.width, 0);
  for (size_t i = 0; i < classes.data.size(); ++i)
    mask.data[i] = classes.data[i] != kLabelFill ? 1 : 0;
  return mask;
}

void write_class_layer(GDALDataset& out, const LabelPrediction& head,
                       const std::optional<GeoReference>& geo, const OGRSpatialReference* srs,
                       const std::string& where) {
  const Regions regions = polygonize(head.classes, valid_mask(head.classes), geo, where);
  const RegionStats stats = region_stats(regions, head);
  int max_value = 0;
  for (int v : regions.values)
    max_value = std::max(max_value, v);
  const Palette palette = palette_for_label(
      head.label, static_cast<int>(std::max<int64_t>(head.class_count, max_value + 1)));
  OGRLayer* layer = create_layer(out, head.label + "_classes", wkbPolygon, srs,
                                 {{"class_id", OFTInteger},
                                  {"class_name", OFTString},
                                  {"pixels", OFTInteger64},
                                  {"area", OFTReal},
                                  {"mean_entropy", OFTReal},
                                  {"mean_mutual_information", OFTReal}},
                                 where);
  const bool uncertain = !head.entropy.empty();
  for (size_t r = 0; r < regions.polygons.size(); ++r) {
    FeaturePtr feature{OGRFeature::CreateFeature(layer->GetLayerDefn())};
    const int value = regions.values[r];
    feature->SetField("class_id", value);
    feature->SetField("class_name", value < static_cast<int>(palette.names.size())
                                        ? palette.names[static_cast<size_t>(value)].c_str()
                                        : ("class " + std::to_string(value)).c_str());
    feature->SetField("pixels", static_cast<GIntBig>(stats.pixels[r]));
    feature->SetField("area", regions.polygons[r]->toPolygon()->get_Area());
    set_mean(*feature, "mean_entropy", stats.entropy_sum[r], stats.pixels[r], uncertain);
    set_mean(*feature, "mean_mutual_information", stats.information_sum[r], stats.pixels[r],
             uncertain);
    feature->SetGeometry(regions.polygons[r].get());
    add_feature(*layer, std::move(feature), where);
  }
}

void write_ice_edge_layer(GDALDataset& out, const LabelPrediction& head,
                          const std::optional<GeoReference>& geo, const OGRSpatialReference* srs,
                          const std::string& where) {
  require(OGRGeometryFactory::haveGEOS(),
          where +
              ": this GDAL lacks GEOS, which the ice edge needs; install a GDAL built with "
              "GEOS (Debian's is)");
  const bool concentration = to_lower(head.label) == "sic";
  const int ice_from = concentration ? 2 : 1;  // SIC tenths: 2/10 is the first class >= 15 %
  LabelRaster ice(head.classes.height, head.classes.width, 0);
  for (size_t i = 0; i < ice.data.size(); ++i)
    ice.data[i] = head.classes.data[i] != kLabelFill && head.classes.data[i] >= ice_from ? 1 : 0;
  const Regions regions = polygonize(ice, valid_mask(head.classes), geo, where);
  const RegionStats stats = region_stats(regions, head);
  const std::string class_name =
      concentration ? "ice edge (SIC >= 15 %)" : "ice edge (" + head.label + " water/ice)";
  OGRLayer* layer = create_layer(out, "ice_edge", wkbMultiLineString, srs,
                                 {{"class_name", OFTString},
                                  {"head", OFTString},
                                  {"length", OFTReal},
                                  {"ice_area", OFTReal},
                                  {"mean_entropy", OFTReal},
                                  {"mean_mutual_information", OFTReal}},
                                 where);
  std::vector<size_t> water;
  for (size_t r = 0; r < regions.polygons.size(); ++r)
    if (regions.values[r] == 0) water.push_back(r);
  const bool uncertain = !head.entropy.empty();
  for (size_t r = 0; r < regions.polygons.size(); ++r) {
    if (regions.values[r] != 1) continue;
    const OGRGeometry& ice_region = *regions.polygons[r];
    OGREnvelope envelope;
    ice_region.getEnvelope(&envelope);
    OGRMultiPolygon neighbours;
    for (size_t w : water) {
      OGREnvelope other;
      regions.polygons[w]->getEnvelope(&other);
      if (envelope.Intersects(other)) neighbours.addGeometry(regions.polygons[w].get());
    }
    if (neighbours.IsEmpty()) continue;
    std::unique_ptr<OGRGeometry> boundary(ice_region.Boundary());
    std::unique_ptr<OGRGeometry> shared(boundary ? boundary->Intersection(&neighbours) : nullptr);
    if (!shared || shared->IsEmpty()) continue;
    // Keep the lines (the intersection also holds points where regions touch at a corner).
    OGRMultiLineString lines;
    auto add_lines = [&](const OGRGeometry* g) {
      const auto type = wkbFlatten(g->getGeometryType());
      if (type == wkbLineString) lines.addGeometry(g);
      if (type == wkbMultiLineString || type == wkbGeometryCollection)
        for (const auto* part : *g->toGeometryCollection())
          if (wkbFlatten(part->getGeometryType()) == wkbLineString) lines.addGeometry(part);
    };
    add_lines(shared.get());
    if (lines.IsEmpty()) continue;
    std::unique_ptr<OGRGeometry> merged(lines.clone());
    FeaturePtr feature{OGRFeature::CreateFeature(layer->GetLayerDefn())};
    feature->SetField("class_name", class_name.c_str());
    feature->SetField("head", head.label.c_str());
    feature->SetField("length", lines.get_Length());
    feature->SetField("ice_area", ice_region.toPolygon()->get_Area());
    set_mean(*feature, "mean_entropy", stats.entropy_sum[r], stats.pixels[r], uncertain);
    set_mean(*feature, "mean_mutual_information", stats.information_sum[r], stats.pixels[r],
             uncertain);
    feature->SetGeometry(merged.get());
    add_feature(*layer, std::move(feature), where);
  }
}

}  // namespace

void write_prediction_vectors(const std::filesystem::path& path,
                              const std::vector<LabelPrediction>& heads,
                              const std::optional<GeoReference>& geo) {
  const std::string where = "cannot write '" + path.string() + "'";
  require(!heads.empty(), where + ": no class maps");
  gdal::ensure_registered();
  std::unique_ptr<OGRSpatialReference> srs;
  if (geo && !geo->crs_wkt.empty()) srs = gdal::make_srs(geo->crs_wkt, where);
  AtomicOutput output(path);
  {
    gdal::ErrorCapture errors;
    GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GPKG");
    require(driver != nullptr, where + ": GDAL has no GeoPackage (GPKG) driver");
    DatasetPtr out(driver->Create(output.temp_path().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
    require(out != nullptr, where + ": " + errors.last());
    for (const auto& head : heads)
      write_class_layer(*out, head, geo, srs.get(), where);
    if (const auto* edge = ice_edge_head(heads))
      write_ice_edge_layer(*out, *edge, geo, srs.get(), where);
    GDALClose(GDALDataset::ToHandle(out.release()));
    require(CPLGetLastErrorType() < CE_Failure, where + ": " + errors.last());
  }
  output.commit();
}

#endif

}  // namespace sarseg::io
