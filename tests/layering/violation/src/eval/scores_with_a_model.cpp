// Test fixture, never compiled: eval must not know models (CheckModuleLayering must fail here).
#include "sarseg/models/model.h"
