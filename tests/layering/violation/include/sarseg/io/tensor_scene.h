// Test fixture, never compiled: io is torch-free (CheckModuleLayering must fail here).
#include <torch/torch.h>
