// Predicts one scene with a trained sarseg model and writes its GeoTIFF class map.
//
//   predict_scene CHECKPOINT SCENE OUT_DIR
//
// CHECKPOINT: a checkpoint file or a training run directory; SCENE: a .tif or .nc scene file.
// Writes OUT_DIR/<scene id>_classes.tif. Prints nothing but errors; exit 2 on bad input.
#include <cstdio>
#include <exception>

#include "sarseg/infer/checkpoint_loader.h"
#include "sarseg/io/prediction_output.h"
#include "sarseg/io/scene_io.h"
#include "sarseg/util/error.h"
#include "sarseg/util/log.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: predict_scene CHECKPOINT SCENE OUT_DIR\n");
    return 2;
  }
  try {
    sarseg::log::init("warn");
    const auto bundle = sarseg::infer::load_inference_bundle(argv[1]);
    const sarseg::infer::ScenePredictor predictor = sarseg::infer::make_predictor(bundle);

    // netCDF scenes are read in the units the model was trained on.
    const auto scene = sarseg::io::read_scene(argv[2], sarseg::infer::scene_read_options(bundle));
    predictor.check_scene(scene);
    const sarseg::infer::ScenePrediction prediction = predictor.predict(scene);

    sarseg::io::PredictOutputOptions outputs;
    outputs.quicklook = false;  // the class map only
    outputs.autoice = false;
    sarseg::io::write_prediction(scene, prediction.heads, argv[3], outputs);
  } catch (const sarseg::UserError& error) {
    std::fprintf(stderr, "predict_scene: error: %s\n", error.what());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "predict_scene: internal error: %s\n", error.what());
    return 1;
  }
  return 0;
}
