// The Sentinel-1 SAFE XML readers (pugixml): manifest.safe, the product annotation, the
// calibration and the noise annotation, each given the same input.
#include "fuzz_support.h"
#include "sarseg/io/sentinel1.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sarseg::io::s1;
  const std::string_view xml = sarseg::fuzz::as_text(data, size);
  sarseg::fuzz::refusals_only([&] { parse_manifest(xml, "manifest.safe"); });
  sarseg::fuzz::refusals_only([&] { parse_annotation(xml, "annotation.xml"); });
  sarseg::fuzz::refusals_only([&] {
    const Calibration calibration = parse_calibration(xml, "calibration.xml");
    // The look-up tables built from it, as the importer builds them.
    for (auto target :
         {CalibrationTarget::kSigma0, CalibrationTarget::kBeta0, CalibrationTarget::kGamma0}) {
      const LineLut lut(calibration.vectors(target), "calibration.xml", "calibrationVector");
      lut.at(0, 0);
    }
  });
  sarseg::fuzz::refusals_only([&] {
    Noise noise = parse_noise(xml, "noise.xml");
    const NoiseModel model(std::move(noise), true, "noise.xml");
    model.at(0, 0);
  });
  return 0;
}
