# The fuzz targets and the sarseg libraries each one exercises (fuzz/ and tests/fuzz/).
set(SARSEG_FUZZ_TARGETS
    fuzz_safetensors fuzz_pth fuzz_unpickler fuzz_config fuzz_egg_code fuzz_ai4arctic_netcdf
    fuzz_sentinel1_xml)
set(SARSEG_FUZZ_LIBS_fuzz_safetensors sarseg_weights)
set(SARSEG_FUZZ_LIBS_fuzz_pth sarseg_weights)
set(SARSEG_FUZZ_LIBS_fuzz_unpickler sarseg_weights)
set(SARSEG_FUZZ_LIBS_fuzz_config sarseg_config)
set(SARSEG_FUZZ_LIBS_fuzz_egg_code sarseg_io)
set(SARSEG_FUZZ_LIBS_fuzz_ai4arctic_netcdf sarseg_io)
set(SARSEG_FUZZ_LIBS_fuzz_sentinel1_xml sarseg_io)
