// Sentinel-1 products: finding the SAFE folder (plain or inside a zip), its manifest and the files
// of each polarisation; reading every XML up front so that a damaged product fails before any
// output is written.
#include <algorithm>
#include <cctype>
#include <map>

#include "gdal_support.h"
#include "sarseg/build_config.h"
#include "sarseg/io/sentinel1.h"
#include "sarseg/util/error.h"
#include "sarseg/util/strings.h"
#include "sentinel1_xml.h"

#if SARSEG_HAVE_GDAL
#include <cpl_vsi.h>
#endif

namespace sarseg::io::s1 {

namespace fs = std::filesystem;

bool Product::has_azimuth_noise() const {
  for (const auto& p : polarisations)
    if (!p.noise.azimuth.empty()) return true;
  return false;
}

bool is_product_path(const fs::path& path) {
  const std::string name = to_lower(path.filename().string());
  const std::string trimmed =
      name.empty() ? to_lower(path.parent_path().filename().string()) : name;
  return ends_with(trimmed, ".safe") || ends_with(trimmed, ".zip") || trimmed == "manifest.safe";
}

#if SARSEG_HAVE_GDAL
namespace {

bool vsi_exists(const std::string& path) {
  VSIStatBufL stat;
  return VSIStatL(path.c_str(), &stat) == 0;
}

std::string read_vsi_file(const std::string& path, const std::string& product) {
  VSILFILE* file = VSIFOpenL(path.c_str(), "rb");
  require(file != nullptr, "Sentinel-1 product '" + product + "': file '" + path +
                               "' is missing or unreadable; the product is incomplete");
  std::string bytes;
  VSIFSeekL(file, 0, SEEK_END);
  const vsi_l_offset size = VSIFTellL(file);
  VSIFSeekL(file, 0, SEEK_SET);
  bytes.resize(static_cast<size_t>(size));
  const size_t read = size == 0 ? 0 : VSIFReadL(bytes.data(), 1, bytes.size(), file);
  VSIFCloseL(file);
  require(read == bytes.size(), "Sentinel-1 product '" + product + "': cannot read file '" + path +
                                    "' (" + std::to_string(read) + " of " +
                                    std::to_string(bytes.size()) + " bytes)");
  return bytes;
}

// The SAFE folder of `path` as a GDAL path.
std::string find_root(const fs::path& path, std::string& name) {
  const std::string given = path.string();
  std::error_code error;
  require(fs::exists(path, error), "Sentinel-1 product '" + given + "' does not exist");
  fs::path folder = path;
  if (to_lower(path.filename().string()) == "manifest.safe") folder = path.parent_path();
  if (fs::is_directory(folder, error)) {
    folder = fs::absolute(folder).lexically_normal();
    if (folder.filename().empty()) folder = folder.parent_path();
    name = folder.filename().string();
    require(fs::exists(folder / "manifest.safe", error),
            "Sentinel-1 product '" + given + "': file '" + (folder / "manifest.safe").string() +
                "' is missing; give a Sentinel-1 .SAFE folder or its zip");
    return folder.string();
  }
  require(ends_with(to_lower(given), ".zip"),
          "'" + given + "' is not a Sentinel-1 product; give a .SAFE folder or a .zip of one");
  const std::string zip = "/vsizip/" + fs::absolute(path).lexically_normal().string();
  gdal::ErrorCapture errors;
  char** entries = VSIReadDir(zip.c_str());
  require(entries != nullptr, "Sentinel-1 product '" + given +
                                  "': cannot read it as a zip archive (" +
                                  errors.last("not a zip file") + ")");
  std::string root;
  for (char** entry = entries; *entry; ++entry) {
    const std::string item = *entry;
    if (ends_with(to_lower(item), ".safe") && vsi_exists(zip + "/" + item + "/manifest.safe")) {
      root = zip + "/" + item;
      name = item;
      break;
    }
  }
  CSLDestroy(entries);
  require(!root.empty(),
          "zip '" + given + "' is not a Sentinel-1 product: it holds no <name>.SAFE/manifest.safe");
  return root;
}

// Polarisation and the file kinds, from the manifest's data objects.
struct ManifestFiles {
  std::map<std::string, PolarisationFiles> by_key;  // key: annotation stem (pol in it)
};

// "calibration-s1b-iw-grd-vv-...-001.xml" -> "s1b-iw-grd-vv-...-001".
std::string stem_key(const std::string& href) {
  std::string stem = fs::path(href).stem().string();
  for (const char* prefix : {"calibration-", "noise-"})
    if (starts_with(stem, prefix)) stem = stem.substr(std::string(prefix).size());
  return to_lower(stem);
}

std::string polarisation_of(const std::string& key) {
  // s1b-iw-grd-vv-<start>-<stop>-<orbit>-<take>-<image>
  const auto parts = split(key, '-');
  std::string polarisation = parts.size() > 3 ? parts[3] : "";
  for (char& c : polarisation)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return polarisation;
}

ManifestFiles manifest_files(std::string_view bytes, const std::string& where,
                             const std::string& root) {
  pugi::xml_document document;
  xml::parse(document, bytes, where);
  const pugi::xml_node section =
      xml::child(document.document_element(), "dataObjectSection", where);
  ManifestFiles files;
  for (const pugi::xml_node object : section.children("dataObject")) {
    const std::string rep = object.attribute("repID").value();
    const pugi::xml_node location = object.child("byteStream").child("fileLocation");
    const std::string href = location.attribute("href").value();
    if (href.empty()) continue;
    const std::string path = root + "/" + (starts_with(href, "./") ? href.substr(2) : href);
    std::string PolarisationFiles::*kind = nullptr;
    if (rep == "s1Level1ProductSchema") kind = &PolarisationFiles::annotation;
    if (rep == "s1Level1CalibrationSchema") kind = &PolarisationFiles::calibration;
    if (rep == "s1Level1NoiseSchema") kind = &PolarisationFiles::noise;
    if (rep == "s1Level1MeasurementSchema") kind = &PolarisationFiles::measurement;
    if (kind == nullptr) continue;  // previews, RFI, schemas
    const std::string key = stem_key(href);
    auto& entry = files.by_key[key];
    entry.polarisation = polarisation_of(key);
    entry.*kind = path;
  }
  return files;
}

int polarisation_rank(const std::string& p) {
  static const char* order[] = {"HH", "VV", "HV", "VH"};
  for (int i = 0; i < 4; ++i)
    if (p == order[i]) return i;
  return 4;
}

void check_measurement(const Polarisation& p, const std::string& product) {
  gdal::ensure_registered();
  gdal::ErrorCapture errors;
  GDALDatasetUniquePtr dataset(
      GDALDataset::Open(p.files.measurement.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  require(dataset != nullptr, "Sentinel-1 product '" + product + "': measurement file '" +
                                  p.files.measurement + "' cannot be read (" + errors.last() + ")");
  require(dataset->GetRasterCount() >= 1 && dataset->GetRasterXSize() == p.annotation.samples &&
              dataset->GetRasterYSize() == p.annotation.lines,
          "Sentinel-1 product '" + product + "': measurement file '" + p.files.measurement +
              "' is " + std::to_string(dataset->GetRasterXSize()) + " x " +
              std::to_string(dataset->GetRasterYSize()) + " pixels but its annotation '" +
              p.files.annotation + "' (imageAnnotation/imageInformation) says " +
              std::to_string(p.annotation.samples) + " x " + std::to_string(p.annotation.lines));
}

}  // namespace

Product open_product(const fs::path& path) {
  Product product;
  product.path = path.string();
  product.root = find_root(path, product.name);
  if (ends_with(to_lower(product.name), ".safe"))
    product.name = product.name.substr(0, product.name.size() - 5);
  const std::string manifest_path = product.root + "/manifest.safe";
  const std::string manifest_bytes = read_vsi_file(manifest_path, product.path);
  product.manifest = parse_manifest(manifest_bytes, manifest_path);
  const ManifestFiles files = manifest_files(manifest_bytes, manifest_path, product.root);

  for (const auto& [key, entry] : files.by_key) {
    const std::vector<std::pair<const char*, const std::string*>> kinds = {
        {"annotation", &entry.annotation},
        {"calibration", &entry.calibration},
        {"noise", &entry.noise},
        {"measurement", &entry.measurement}};
    int present = 0;
    for (const auto& [kind, file] : kinds)
      present += !file->empty() && vsi_exists(*file) ? 1 : 0;
    // The manifest lists every polarisation acquired; one whose files are all absent was not
    // delivered (a product cut down to one polarisation) and is left out.
    if (present == 0) continue;
    for (const auto& [kind, file] : kinds) {
      require(!file->empty(), "Sentinel-1 product '" + product.path + "': file '" + manifest_path +
                                  "': element 'dataObjectSection' names no " + kind +
                                  " file for polarisation " + entry.polarisation +
                                  "; the product is incomplete");
      require(vsi_exists(*file), "Sentinel-1 product '" + product.path + "': " + kind + " file '" +
                                     *file +
                                     "' (named in manifest.safe) is missing; the product is "
                                     "incomplete");
    }
    Polarisation p;
    p.files = entry;
    p.annotation =
        parse_annotation(read_vsi_file(entry.annotation, product.path), entry.annotation);
    p.calibration =
        parse_calibration(read_vsi_file(entry.calibration, product.path), entry.calibration);
    p.noise = parse_noise(read_vsi_file(entry.noise, product.path), entry.noise);
    if (!p.annotation.polarisation.empty()) p.files.polarisation = p.annotation.polarisation;
    LineLut(p.calibration.sigma0, entry.calibration, "/calibration/calibrationVectorList")
        .require_covers(p.annotation.lines, p.annotation.samples);
    check_measurement(p, product.path);
    product.polarisations.push_back(std::move(p));
  }
  require(!product.polarisations.empty(),
          "Sentinel-1 product '" + product.path + "': file '" + manifest_path +
              "': element 'dataObjectSection' names no polarisation whose annotation and "
              "measurement files are present; the product has no measurement files");
  std::stable_sort(product.polarisations.begin(), product.polarisations.end(),
                   [](const Polarisation& a, const Polarisation& b) {
                     return polarisation_rank(a.files.polarisation) <
                            polarisation_rank(b.files.polarisation);
                   });
  product.lines = product.polarisations.front().annotation.lines;
  product.samples = product.polarisations.front().annotation.samples;
  for (const auto& p : product.polarisations) {
    require(p.annotation.lines == product.lines && p.annotation.samples == product.samples,
            "Sentinel-1 product '" + product.path + "': polarisation " + p.files.polarisation +
                " has another image size than " + product.polarisations.front().files.polarisation);
  }
  return product;
}

#else

Product open_product(const fs::path& path) {
  throw UserError("cannot read Sentinel-1 product '" + path.string() +
                  "': this sarseg was built without GDAL (SARSEG_WITH_GDAL=OFF)");
}

#endif

}  // namespace sarseg::io::s1
