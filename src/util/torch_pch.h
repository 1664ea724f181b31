// Precompiled header shared by every module that uses torch.
#pragma once
#include <torch/torch.h>
