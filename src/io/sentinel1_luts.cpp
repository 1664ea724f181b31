// Sentinel-1 calibration and thermal-noise annotation: parsing (from buffers) and the look-up
// tables' interpolation.
#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "sarseg/io/sentinel1.h"
#include "sarseg/util/error.h"
#include "sentinel1_xml.h"

namespace sarseg::io::s1 {

std::string to_string(CalibrationTarget target) {
  switch (target) {
    case CalibrationTarget::kSigma0:
      return "sigma0";
    case CalibrationTarget::kBeta0:
      return "beta0";
    case CalibrationTarget::kGamma0:
      return "gamma0";
  }
  return "sigma0";
}

CalibrationTarget parse_calibration_target(std::string_view text) {
  if (text == "sigma0") return CalibrationTarget::kSigma0;
  if (text == "beta0") return CalibrationTarget::kBeta0;
  if (text == "gamma0") return CalibrationTarget::kGamma0;
  throw UserError("unknown backscatter '" + std::string(text) + "'; use sigma0, beta0 or gamma0");
}

const std::vector<LutVector>& Calibration::vectors(CalibrationTarget target) const {
  switch (target) {
    case CalibrationTarget::kBeta0:
      return beta0;
    case CalibrationTarget::kGamma0:
      return gamma0;
    case CalibrationTarget::kSigma0:
      break;
  }
  return sigma0;
}

namespace {

std::string vector_where(const std::string& where, const pugi::xml_node& vector, size_t index) {
  return where + "': element '" + xml::path_of(vector) + "[" + std::to_string(index + 1) + "]";
}

// The root element `name` of a parsed annotation file.
pugi::xml_node root_named(const pugi::xml_document& document, const char* name,
                          const std::string& where) {
  const pugi::xml_node root = document.child(name);
  require(static_cast<bool>(root), "Sentinel-1 file '" + where + "': root element '" +
                                       document.document_element().name() + "' is not <" + name +
                                       ">");
  return root;
}

}  // namespace

Calibration parse_calibration(std::string_view bytes, const std::string& where) {
  pugi::xml_document document;
  xml::parse(document, bytes, where);
  const pugi::xml_node root = root_named(document, "calibration", where);
  const pugi::xml_node list = xml::child(root, "calibrationVectorList", where);
  Calibration calibration;
  size_t index = 0;
  for (const pugi::xml_node vector : list.children("calibrationVector")) {
    LutVector base;
    base.line = xml::integer(vector, "line", where);
    base.pixels = xml::numbers(vector, "pixel", where);
    LutVector sigma = base, beta = base, gamma = base;
    sigma.values = xml::numbers(vector, "sigmaNought", where);
    beta.values = xml::numbers(vector, "betaNought", where);
    gamma.values = xml::numbers(vector, "gamma", where);
    for (const auto* v : {&sigma, &beta, &gamma}) {
      require(v->values.size() == base.pixels.size(),
              "Sentinel-1 file '" + vector_where(where, vector, index) + "' has " +
                  std::to_string(base.pixels.size()) + " pixels but " +
                  std::to_string(v->values.size()) + " calibration values");
      for (double a : v->values) {
        require(a > 0, "Sentinel-1 file '" + vector_where(where, vector, index) +
                           "' has a calibration value <= 0");
      }
    }
    calibration.sigma0.push_back(std::move(sigma));
    calibration.beta0.push_back(std::move(beta));
    calibration.gamma0.push_back(std::move(gamma));
    ++index;
  }
  require(index >= 1, "Sentinel-1 file '" + where + "': element '" + xml::path_of(list) +
                          "' has no calibrationVector");
  return calibration;
}

Noise parse_noise(std::string_view bytes, const std::string& where) {
  pugi::xml_document document;
  xml::parse(document, bytes, where);
  const pugi::xml_node root = root_named(document, "noise", where);
  Noise noise;
  // IPF 2.9 and later: noiseRangeVectorList + noiseAzimuthVectorList; before: noiseVectorList.
  const bool modern = static_cast<bool>(root.child("noiseRangeVectorList"));
  const pugi::xml_node list =
      xml::child(root, modern ? "noiseRangeVectorList" : "noiseVectorList", where);
  noise.range_element = xml::path_of(list);
  size_t index = 0;
  for (const pugi::xml_node vector : list.children(modern ? "noiseRangeVector" : "noiseVector")) {
    LutVector v;
    v.line = xml::integer(vector, "line", where);
    v.pixels = xml::numbers(vector, "pixel", where);
    v.values = xml::numbers(vector, modern ? "noiseRangeLut" : "noiseLut", where);
    require(v.values.size() == v.pixels.size(),
            "Sentinel-1 file '" + vector_where(where, vector, index) + "' has " +
                std::to_string(v.pixels.size()) + " pixels but " + std::to_string(v.values.size()) +
                " noise values");
    noise.range.push_back(std::move(v));
    ++index;
  }
  require(index >= 1, "Sentinel-1 file '" + where + "': element '" + xml::path_of(list) +
                          "' has no noise vector");
  index = 0;
  for (const pugi::xml_node vector :
       root.child("noiseAzimuthVectorList").children("noiseAzimuthVector")) {
    NoiseAzimuthBlock block;
    block.swath = xml::text(vector, "swath", where);
    block.first_line = xml::integer(vector, "firstAzimuthLine", where);
    block.first_sample = xml::integer(vector, "firstRangeSample", where);
    block.last_line = xml::integer(vector, "lastAzimuthLine", where);
    block.last_sample = xml::integer(vector, "lastRangeSample", where);
    block.lines = xml::numbers(vector, "line", where);
    block.values = xml::numbers(vector, "noiseAzimuthLut", where);
    const std::string element = "Sentinel-1 file '" + vector_where(where, vector, index) + "'";
    require(block.values.size() == block.lines.size(),
            element + " has " + std::to_string(block.lines.size()) + " lines but " +
                std::to_string(block.values.size()) + " noiseAzimuthLut values");
    require(std::is_sorted(block.lines.begin(), block.lines.end()),
            element + ": its lines are not in ascending order");
    require(block.first_line <= block.last_line && block.first_sample <= block.last_sample,
            element + ": its first line/sample is after its last");
    noise.azimuth.push_back(std::move(block));
    ++index;
  }
  return noise;
}

// ---- LineLut ------------------------------------------------------------------------------------

LineLut::LineLut(std::vector<LutVector> vectors, std::string where, std::string element)
    : vectors_(std::move(vectors)), where_(std::move(where)), element_(std::move(element)) {
  require(!vectors_.empty(), context() + " has no vectors");
  for (size_t i = 0; i < vectors_.size(); ++i) {
    const auto& v = vectors_[i];
    const std::string element =
        context() + ", vector " + std::to_string(i + 1) + " (line " + std::to_string(v.line) + ")";
    require(v.pixels.size() == v.values.size() && !v.pixels.empty(),
            element + " has unequal pixel and value counts");
    require(std::adjacent_find(v.pixels.begin(), v.pixels.end(), std::greater_equal<double>()) ==
                v.pixels.end(),
            element + ": its pixels are not strictly ascending");
    require(i == 0 || v.line > vectors_[i - 1].line,
            element + ": the vectors' lines are not strictly ascending");
  }
}

std::string LineLut::context() const {
  return "Sentinel-1 file '" + where_ + "': element '" + element_ + "'";
}

void LineLut::require_covers(int64_t lines, int64_t samples) const {
  const auto& first = vectors_.front();
  const auto& last = vectors_.back();
  require(first.line <= 0 && last.line >= lines - 1,
          context() + ": the vectors span lines " + std::to_string(first.line) + ".." +
              std::to_string(last.line) + " but the image has lines 0.." +
              std::to_string(lines - 1) + "; the annotation does not match the image");
  for (const auto& v : vectors_) {
    require(v.pixels.front() <= 0 && v.pixels.back() >= static_cast<double>(samples - 1),
            context() + ": the vector at line " + std::to_string(v.line) + " spans pixels " +
                std::to_string(static_cast<int64_t>(v.pixels.front())) + ".." +
                std::to_string(static_cast<int64_t>(v.pixels.back())) +
                " but the image has pixels 0.." + std::to_string(samples - 1) +
                "; the annotation does not match the image");
  }
}

namespace {

// Linear interpolation of (x, y) nodes at `at`, holding the end values outside.
double linear(const std::vector<double>& x, const std::vector<double>& y, double at) {
  if (at <= x.front()) return y.front();
  if (at >= x.back()) return y.back();
  const size_t j = static_cast<size_t>(std::upper_bound(x.begin(), x.end(), at) - x.begin());
  const double t = (at - x[j - 1]) / (x[j] - x[j - 1]);
  return y[j - 1] + (y[j] - y[j - 1]) * t;
}

// Values of one vector at pixels p0 .. p0 + count - 1 (one pass over the nodes).
void expand(const LutVector& v, int64_t p0, int64_t count, std::vector<float>& out) {
  out.resize(static_cast<size_t>(count));
  const auto& x = v.pixels;
  const auto& y = v.values;
  size_t j = 0;
  for (int64_t k = 0; k < count; ++k) {
    const double p = static_cast<double>(p0 + k);
    while (j + 1 < x.size() && x[j + 1] <= p)
      ++j;
    double value;
    if (p <= x.front()) {
      value = y.front();
    } else if (j + 1 >= x.size()) {
      value = y.back();
    } else {
      value = y[j] + (y[j + 1] - y[j]) * (p - x[j]) / (x[j + 1] - x[j]);
    }
    out[static_cast<size_t>(k)] = static_cast<float>(value);
  }
}

// The vectors around `line`: index of the lower one (clamped) and the weight of the upper one.
std::pair<size_t, double> bracket(const std::vector<LutVector>& vectors, double line) {
  if (vectors.size() == 1 || line <= static_cast<double>(vectors.front().line)) return {0, 0.0};
  if (line >= static_cast<double>(vectors.back().line)) return {vectors.size() - 2, 1.0};
  const auto upper = std::upper_bound(
      vectors.begin(), vectors.end(), line,
      [](double l, const LutVector& v) { return l < static_cast<double>(v.line); });
  const size_t i = static_cast<size_t>(upper - vectors.begin()) - 1;
  const double l0 = static_cast<double>(vectors[i].line);
  const double l1 = static_cast<double>(vectors[i + 1].line);
  return {i, (line - l0) / (l1 - l0)};
}

}  // namespace

double LineLut::at(double line, double pixel) const {
  const auto [i, t] = bracket(vectors_, line);
  const double a = linear(vectors_[i].pixels, vectors_[i].values, pixel);
  if (vectors_.size() == 1) return a;
  const double b = linear(vectors_[i + 1].pixels, vectors_[i + 1].values, pixel);
  return a + (b - a) * t;
}

void LineLut::fill(int64_t line0, int64_t line_count, int64_t p0, int64_t count, float* out) const {
  std::map<size_t, std::vector<float>> rows;  // expanded vectors, each computed once
  auto row_of = [&](size_t k) -> const std::vector<float>& {
    auto it = rows.find(k);
    if (it == rows.end()) {
      it = rows.emplace(k, std::vector<float>()).first;
      expand(vectors_[k], p0, count, it->second);
    }
    return it->second;
  };
  for (int64_t r = 0; r < line_count; ++r) {
    const auto [i, t] = bracket(vectors_, static_cast<double>(line0 + r));
    const std::vector<float>& a = row_of(i);
    const std::vector<float>& b = vectors_.size() == 1 ? a : row_of(i + 1);
    const float wb = static_cast<float>(t);
    const float wa = 1.0f - wb;
    float* target = out + r * count;
    for (int64_t k = 0; k < count; ++k)
      target[k] = wa * a[static_cast<size_t>(k)] + wb * b[static_cast<size_t>(k)];
    // Vectors below the window's lines are not needed again.
    while (!rows.empty() && rows.begin()->first < i)
      rows.erase(rows.begin());
  }
}

// ---- NoiseModel ---------------------------------------------------------------------------------

NoiseModel::NoiseModel(Noise noise, bool use_azimuth, const std::string& where)
    : range_(std::move(noise.range), where, noise.range_element),
      blocks_(std::move(noise.azimuth)),
      use_azimuth_(use_azimuth && !blocks_.empty()) {}

double NoiseModel::at(double line, double pixel) const {
  const double range = range_.at(line, pixel);
  if (!use_azimuth_) return range;
  for (const auto& b : blocks_) {
    if (line >= static_cast<double>(b.first_line) && line <= static_cast<double>(b.last_line) &&
        pixel >= static_cast<double>(b.first_sample) &&
        pixel <= static_cast<double>(b.last_sample)) {
      return range * linear(b.lines, b.values, line);
    }
  }
  return 0.0;
}

void NoiseModel::fill(int64_t line0, int64_t line_count, int64_t p0, int64_t count,
                      float* out) const {
  range_.fill(line0, line_count, p0, count, out);
  if (!use_azimuth_) return;
  std::vector<uint8_t> covered(static_cast<size_t>(count));
  for (int64_t r = 0; r < line_count; ++r) {
    const int64_t line = line0 + r;
    float* row = out + r * count;
    std::fill(covered.begin(), covered.end(), 0);
    for (const auto& b : blocks_) {
      if (line < b.first_line || line > b.last_line) continue;
      const int64_t from = std::max(b.first_sample, p0);
      const int64_t to = std::min(b.last_sample, p0 + count - 1);
      if (from > to) continue;
      const float factor = static_cast<float>(linear(b.lines, b.values, static_cast<double>(line)));
      for (int64_t p = from; p <= to; ++p) {
        const size_t k = static_cast<size_t>(p - p0);
        if (covered[k]) continue;  // the first block holding a pixel wins, as in at()
        row[k] *= factor;
        covered[k] = 1;
      }
    }
    for (int64_t k = 0; k < count; ++k)
      if (!covered[static_cast<size_t>(k)]) row[k] = 0.0f;
  }
}

}  // namespace sarseg::io::s1
