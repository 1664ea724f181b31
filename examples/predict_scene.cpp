// Predicts one scene with a trained sarseg model and writes its GeoTIFF class map.
//
//   predict_scene CHECKPOINT SCENE OUT_DIR
//
// CHECKPOINT: a checkpoint file or a training run directory; SCENE: a .tif or .nc scene file.
// Writes OUT_DIR/<scene id>_classes.tif. Prints nothing but errors; exit 2 on bad input.
#include <cstdio>
#include <exception>

#include "sarseg/eval/inference.h"
#include "sarseg/infer/predict.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/train/checkpoint.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: predict_scene CHECKPOINT SCENE OUT_DIR\n");
    return 2;
  }
  try {
    sarseg::log::init("warn");
    const auto bundle = sarseg::train::load_inference_bundle(argv[1]);
    const sarseg::eval::ScenePredictor predictor(bundle.model, bundle.normalization,
                                                 bundle.head_labels);

    // netCDF scenes are read in the units the model was trained on.
    sarseg::io::SceneReadOptions read_options;
    read_options.physical_units = sarseg::data::wants_physical_units(bundle.normalization);
    const sarseg::io::Scene scene = sarseg::io::read_scene(argv[2], read_options);
    predictor.check_scene(scene);
    const sarseg::eval::ScenePrediction prediction = predictor.predict(scene);

    sarseg::infer::PredictOutputOptions outputs;
    outputs.quicklook = false;  // the class map only
    outputs.autoice = false;
    sarseg::infer::write_prediction(scene, prediction, argv[3], outputs);
  } catch (const sarseg::UserError& error) {
    std::fprintf(stderr, "predict_scene: error: %s\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "predict_scene: internal error: %s\n", error.what());
    return 1;
  }
  return 0;
}
