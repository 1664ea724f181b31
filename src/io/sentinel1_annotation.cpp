// Sentinel-1 manifest and product annotation: parsing (from buffers) and the geolocation grid.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>

#include "sarseg/io/sentinel1.h"
#include "sarseg/util/error.h"
#include "sentinel1_xml.h"

namespace sarseg::io::s1 {
namespace {

// Element name without its namespace prefix ("safe:software" -> "software").
const char* local_name(const pugi::xml_node& node) {
  const char* name = node.name();
  const char* colon = std::strrchr(name, ':');
  return colon ? colon + 1 : name;
}

// The first element under `root` (depth-first) with this local name, or an empty node.
pugi::xml_node find_local(const pugi::xml_node& root, const char* name) {
  return root.find_node([name](const pugi::xml_node& node) {
    return node.type() == pugi::node_element && std::strcmp(local_name(node), name) == 0;
  });
}

}  // namespace

ManifestInfo parse_manifest(std::string_view bytes, const std::string& where) {
  pugi::xml_document document;
  xml::parse(document, bytes, where);
  const pugi::xml_node root = document.document_element();
  require(std::strcmp(local_name(root), "XFDU") == 0,
          "Sentinel-1 file '" + where + "': root element '" + root.name() +
              "' is not a SAFE manifest (xfdu:XFDU); give a Sentinel-1 .SAFE folder or zip");
  ManifestInfo info;
  const pugi::xml_node family = find_local(root, "platform");
  if (family) {
    const pugi::xml_node number = find_local(family, "number");
    if (number) info.mission = std::string("S1") + number.child_value();
    const pugi::xml_node mode = find_local(family, "mode");
    if (mode) info.mode = mode.child_value();
  }
  const pugi::xml_node type = find_local(root, "productType");
  if (type) info.product_type = type.child_value();
  const pugi::xml_node software = root.find_node([](const pugi::xml_node& node) {
    return std::strcmp(local_name(node), "software") == 0 &&
           std::string(node.attribute("name").value()) == "Sentinel-1 IPF";
  });
  if (software) {
    info.ipf_version = software.attribute("version").value();
    info.ipf = std::atof(info.ipf_version.c_str());
  }
  require(info.product_type.empty() || info.product_type == "GRD",
          "Sentinel-1 file '" + where + "': productType is '" + info.product_type +
              "'; sarseg imports GRD products only");
  return info;
}

Annotation parse_annotation(std::string_view bytes, const std::string& where) {
  pugi::xml_document document;
  xml::parse(document, bytes, where);
  const pugi::xml_node product = document.child("product");
  require(static_cast<bool>(product), "Sentinel-1 file '" + where + "': root element '" +
                                          document.document_element().name() +
                                          "' is not a product annotation (<product>)");
  Annotation a;
  const pugi::xml_node header = xml::child(product, "adsHeader", where);
  a.polarisation = xml::text(header, "polarisation", where);
  a.mode = xml::text(header, "mode", where);
  a.start_time = xml::text(header, "startTime", where);
  a.stop_time = xml::text(header, "stopTime", where);
  const pugi::xml_node info = xml::descend(product, "generalAnnotation/productInformation", where);
  a.pass = info.child("pass").child_value();
  const pugi::xml_node image = xml::descend(product, "imageAnnotation/imageInformation", where);
  a.lines = xml::integer(image, "numberOfLines", where);
  a.samples = xml::integer(image, "numberOfSamples", where);
  a.range_spacing_m = xml::number(image, "rangePixelSpacing", where);
  a.azimuth_spacing_m = xml::number(image, "azimuthPixelSpacing", where);
  require(a.lines > 0 && a.samples > 0 && a.range_spacing_m > 0 && a.azimuth_spacing_m > 0,
          "Sentinel-1 file '" + where +
              "': element 'imageAnnotation/imageInformation' gives a non-positive image size or "
              "pixel spacing");
  const pugi::xml_node list =
      xml::descend(product, "geolocationGrid/geolocationGridPointList", where);
  for (const pugi::xml_node point : list.children("geolocationGridPoint")) {
    GeolocationPoint p;
    p.line = xml::number(point, "line", where);
    p.pixel = xml::number(point, "pixel", where);
    p.latitude = xml::number(point, "latitude", where);
    p.longitude = xml::number(point, "longitude", where);
    p.incidence_deg = xml::number(point, "incidenceAngle", where);
    a.geolocation.push_back(p);
  }
  require(a.geolocation.size() >= 4,
          "Sentinel-1 file '" + where +
              "': element '/product/geolocationGrid/geolocationGridPointList' has fewer than 4 "
              "geolocationGridPoint elements");
  return a;
}

GeolocationGrid::GeolocationGrid(const std::vector<GeolocationPoint>& points,
                                 const std::string& where) {
  for (const auto& p : points) {
    lines_.push_back(p.line);
    pixels_.push_back(p.pixel);
  }
  auto unique_sorted = [](std::vector<double>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  unique_sorted(lines_);
  unique_sorted(pixels_);
  const std::string element = "Sentinel-1 file '" + where +
                              "': element '/product/geolocationGrid/geolocationGridPointList'";
  require(lines_.size() >= 2 && pixels_.size() >= 2,
          element + " needs at least 2 lines and 2 pixels of tie points");
  require(lines_.size() * pixels_.size() == points.size(),
          element + " is not a regular grid (" + std::to_string(points.size()) + " points on " +
              std::to_string(lines_.size()) + " lines x " + std::to_string(pixels_.size()) +
              " pixels)");
  const size_t n = points.size();
  latitude_.assign(n, NAN);
  longitude_.assign(n, NAN);
  incidence_.assign(n, NAN);
  for (const auto& p : points) {
    const size_t r = static_cast<size_t>(std::lower_bound(lines_.begin(), lines_.end(), p.line) -
                                         lines_.begin());
    const size_t c = static_cast<size_t>(std::lower_bound(pixels_.begin(), pixels_.end(), p.pixel) -
                                         pixels_.begin());
    const size_t i = r * pixels_.size() + c;
    require(std::isnan(latitude_[i]), element + " repeats the point at line " +
                                          std::to_string(p.line) + ", pixel " +
                                          std::to_string(p.pixel));
    latitude_[i] = p.latitude;
    longitude_[i] = p.longitude;
    incidence_[i] = p.incidence_deg;
  }
}

namespace {

// Index i of the cell [v[i], v[i+1]] for x (clamped to the outer cells) and the weight of v[i+1].
std::pair<size_t, double> cell(const std::vector<double>& v, double x) {
  size_t i = static_cast<size_t>(std::upper_bound(v.begin(), v.end(), x) - v.begin());
  i = i == 0 ? 0 : i - 1;
  i = std::min(i, v.size() - 2);
  return {i, (x - v[i]) / (v[i + 1] - v[i])};
}

}  // namespace

double GeolocationGrid::interpolate(const std::vector<double>& values, double line,
                                    double pixel) const {
  const auto [r, tr] = cell(lines_, line);
  const auto [c, tc] = cell(pixels_, pixel);
  const size_t w = pixels_.size();
  const double top = values[r * w + c] * (1 - tc) + values[r * w + c + 1] * tc;
  const double bottom = values[(r + 1) * w + c] * (1 - tc) + values[(r + 1) * w + c + 1] * tc;
  return top * (1 - tr) + bottom * tr;
}

void GeolocationGrid::incidence_row(double line, const double* pixels, int64_t count,
                                    float* out) const {
  const auto [r, tr] = cell(lines_, line);
  const size_t w = pixels_.size();
  // The line's values at the tie-point pixels, then linear in pixel (= bilinear).
  std::vector<double> row(w);
  for (size_t c = 0; c < w; ++c)
    row[c] = incidence_[r * w + c] * (1 - tr) + incidence_[(r + 1) * w + c] * tr;
  size_t c = 0;
  for (int64_t k = 0; k < count; ++k) {
    const double p = pixels[k];
    while (c + 2 < w && p >= pixels_[c + 1])
      ++c;
    const double t = (p - pixels_[c]) / (pixels_[c + 1] - pixels_[c]);
    out[k] = static_cast<float>(row[c] * (1 - t) + row[c + 1] * t);
  }
}

double GeolocationGrid::incidence_deg(double line, double pixel) const {
  return interpolate(incidence_, line, pixel);
}
double GeolocationGrid::latitude(double line, double pixel) const {
  return interpolate(latitude_, line, pixel);
}
double GeolocationGrid::longitude(double line, double pixel) const {
  return interpolate(longitude_, line, pixel);
}

}  // namespace sarseg::io::s1
